// Test helpers shared by the views' tests: a fake anywidget model and a view rendered on it.
// Not a test file itself (vitest runs tests/**/*.test.ts).

import { vi } from "vitest";
import type { RenderProps } from "@anywidget/types";
import type { DType, WireArray } from "../src/lib/buffers";

/** An array trait's value as Python sends it: `values`' bytes with their dtype, shape and scale. */
export function wireArray(dtype: DType, shape: number[], values: ArrayBufferView, scale = 1): WireArray {
  return { dtype, shape, scale, buffer: new DataView(values.buffer, values.byteOffset, values.byteLength) };
}

type Handler = () => void;

/** Just enough of an anywidget model: get/set/on/off/save_changes, and `update` to play Python. */
export class FakeModel<T extends object> {
  handlers = new Map<string, Set<Handler>>();
  /** What each `save_changes()` sent, oldest first. */
  saved: Partial<T>[] = [];
  private pending: Partial<T> = {};
  constructor(public state: T) {}
  get<K extends keyof T>(key: K): T[K] {
    return this.state[key];
  }
  set<K extends keyof T>(key: K, value: T[K]): void {
    this.state[key] = value;
    this.pending[key] = value;
  }
  save_changes(): void {
    this.saved.push(this.pending);
    this.pending = {};
  }
  on(event: string, handler: Handler): void {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)?.add(handler);
  }
  off(event: string, handler: Handler): void {
    this.handlers.get(event)?.delete(handler);
  }
  /** Set several traits at once, then fire their change events (like one comm message). */
  update(changes: Partial<T>): void {
    Object.assign(this.state, changes);
    for (const key of Object.keys(changes)) this.handlers.get(`change:${key}`)?.forEach((h) => h());
  }
  listenerCount(): number {
    return [...this.handlers.values()].reduce((total, set) => total + set.size, 0);
  }
}

/** A view module's default export, as far as the tests use it. */
interface ViewModule<T extends object> {
  render(props: RenderProps<T>): unknown;
}

export interface RenderOptions {
  /** Stands in for `experimental.invoke` (default: a mock that resolves to nothing). */
  invoke?: (...args: never[]) => unknown;
  /** Put the view's element into `document.body` (for code that measures or focuses). */
  attach?: boolean;
}

/** Render `view` on a FakeModel holding `state`; `q(id)` finds the element with that data-testid. */
export function renderView<T extends object>(view: ViewModule<T>, state: T, { invoke = vi.fn(), attach = false }: RenderOptions = {}) {
  const model = new FakeModel<T>(state);
  const el = document.createElement("div");
  if (attach) document.body.append(el);
  const props = { model, el, signal: new AbortController().signal, experimental: { invoke }, host: {} } as unknown as RenderProps<T>;
  const cleanup = view.render(props) as () => void;
  const q = (id: string) => el.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  return { model, el, cleanup, q };
}
