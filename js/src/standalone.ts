// The page of a standalone HTML export (src/deepseek_viz/export/standalone.py writes it): the widgets'
// state embedded in the page, drawn with no kernel and no network. Each anywidget view is drawn by the
// package's own view module (the same `render` as in Jupyter, bundled into this file) on an in-page
// model; ipywidgets boxes become flex rows/columns and labels text; other widgets are named, not drawn.

import type { AnyModel, AnyWidget, Experimental, Host } from "@anywidget/types";
import { element } from "./lib/dom";

/** Any event handler (a view's own handlers take no arguments, or the model and the new value). */
type Handler = (...args: never[]) => void;
type State = Record<string, unknown>;

/** A binary value of a model's state, as Jupyter's widget-state JSON holds it (base64 at `path`). */
export interface EmbeddedBuffer {
  path: (string | number)[];
  encoding: "base64";
  data: string;
}

/** One widget of the page: its widget-state entry and, for an anywidget, the view module drawing it. */
export interface EmbeddedModel {
  model_name: string;
  module?: string | null;
  state: State;
  buffers?: EmbeddedBuffer[];
}

/** What the page embeds: every model by id, and the ids of the widgets shown, in order. */
export interface PageState {
  roots: string[];
  models: Record<string, EmbeddedModel>;
}

/** A view module's default export, looked up by name (e.g. "attention" for attention.ts). */
export type LoadView = (name: string) => Promise<{ default: AnyWidget }>;

/** Why every command (`experimental.invoke`) of a view fails in an export. */
export const NO_KERNEL = "static export: no kernel";
/** Traits a user's choice in one view sets in the other views of the same text (the dashboard's links). */
export const SHARED_TRAITS = ["selected_token"];
const REF = "IPY_MODEL_";

const experimental: Experimental = {
  invoke: () => Promise.reject(new Error(NO_KERNEL)),
};

/** base64 → the DataView anywidget hands a view for a bytes trait. */
export function decodeBase64(data: string): DataView {
  const bytes = Uint8Array.from(atob(data), (char) => char.charCodeAt(0));
  return new DataView(bytes.buffer);
}

/** The entry's state with each buffer put back at its path as a DataView. */
export function withBuffers(entry: EmbeddedModel): State {
  for (const { path, data } of entry.buffers ?? []) {
    let target = entry.state as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
    target[path[path.length - 1]] = decodeBase64(data);
  }
  return entry.state;
}

/** An anywidget model held in the page: get/set/on/off and change events as in Jupyter; `save_changes`
 * hands the traits set since the last one to `onSave` instead of a kernel; `send` has no one to reach. */
export class StaticModel implements AnyModel<State> {
  private readonly handlers = new Map<string, Set<Handler>>();
  private changed = new Set<string>();

  constructor(
    private readonly state: State,
    readonly widget_manager: AnyModel["widget_manager"],
    private readonly onSave: (model: StaticModel, names: string[]) => void = () => undefined,
  ) {}

  has(name: string): boolean {
    return name in this.state;
  }

  get(name: string): unknown {
    return this.state[name];
  }

  /** Set a trait; its `change:<name>` handlers (then `change`) run when the value is new. */
  set(name: string, value: unknown): void {
    if (this.state[name] === value) return;
    this.state[name] = value;
    this.changed.add(name);
    this.emit(`change:${name}`, this, value);
    this.emit("change", this);
  }

  on(event: string, handler: Handler): void {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)?.add(handler);
  }

  off(event?: string | null, handler?: Handler | null): void {
    const events = event ? [event] : [...this.handlers.keys()];
    for (const name of events) {
      if (handler) this.handlers.get(name)?.delete(handler);
      else this.handlers.delete(name);
    }
  }

  save_changes(): void {
    const names = [...this.changed];
    this.changed = new Set();
    this.onSave(this, names);
  }

  send(): void {
    // no kernel to send custom messages to
  }

  private emit(event: string, ...args: unknown[]): void {
    for (const handler of [...(this.handlers.get(event) ?? [])]) (handler as (...values: unknown[]) => void)(...args);
  }
}

/** ipywidgets boxes laid out as rows; GridBox is a grid, VBox and other models with `children` columns. */
const ROWS = ["HBoxModel", "BoxModel"];

/** The widgets of one exported page: models built from the embedded state, drawn into the DOM. */
export class StaticPage {
  readonly models = new Map<string, StaticModel>();
  private readonly initialised = new Map<string, Promise<unknown>>();
  private readonly host: Host = {
    getModel: async <T extends State>(ref: string) => this.model(ref) as unknown as AnyModel<T>,
    getWidget: async (ref: string) => ({ exports: undefined as never, render: ({ el }: { el: HTMLElement }) => this.draw(ref, el) }),
  };

  constructor(
    private readonly page: PageState,
    private readonly load: LoadView,
  ) {
    const manager = { get_model: this.host.getModel };
    for (const [id, entry] of Object.entries(page.models)) {
      this.models.set(id, new StaticModel(withBuffers(entry), manager, (model, names) => this.share(model, names)));
    }
  }

  /** Draw every root widget into `container`, one after the other. */
  async render(container: HTMLElement): Promise<void> {
    for (const id of this.page.roots) await this.draw(id, container.appendChild(element("div")));
  }

  private model(ref: string): StaticModel {
    const model = this.models.get(ref.replace(REF, ""));
    if (!model) throw new Error(`no widget ${ref} in this export`);
    return model;
  }

  /** A choice made in one view (e.g. a clicked token) shown by the other views of the same text. */
  private share(source: StaticModel, names: string[]): void {
    for (const name of names.filter((n) => SHARED_TRAITS.includes(n))) {
      for (const model of this.models.values()) {
        if (model !== source && model.has(name) && model.get("text") === source.get("text")) model.set(name, source.get(name));
      }
    }
  }

  /** Draw widget `ref` into `el`; a widget that fails says so in its place, the others still draw. */
  private async draw(ref: string, el: HTMLElement): Promise<void> {
    const id = ref.replace(REF, "");
    const entry = this.page.models[id];
    try {
      if (!entry) throw new Error(`no widget ${ref} in this export`);
      const { layout, children, _dom_classes: classes } = entry.state;
      const box = !entry.module && Array.isArray(children);
      if (box) boxStyle(el, entry.model_name);
      if (typeof layout === "string") applyLayout(el, this.page.models[layout.replace(REF, "")]?.state ?? {});
      el.classList.add(...((classes as string[] | undefined) ?? []));
      if (entry.module) await this.drawView(id, entry.module, el);
      else if (box) await this.drawChildren(children as string[], el);
      else if (entry.model_name === "LabelModel") el.textContent = String(entry.state.value ?? "");
      else el.replaceChildren(element("div", { className: "dsv-export-note", text: `${entry.model_name}: not part of the static export` }));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      el.replaceChildren(element("div", { className: "dsv-export-note", text: `${entry?.model_name ?? ref} could not be drawn: ${message}` }));
      console.error(error);
    }
  }

  private async drawView(id: string, module: string, el: HTMLElement): Promise<void> {
    const { default: definition } = await this.load(module);
    const widget = typeof definition === "function" ? await definition() : definition;
    const model = this.model(id) as unknown as AnyModel;
    const signal = new AbortController().signal;
    if (!this.initialised.has(id)) this.initialised.set(id, Promise.resolve(widget.initialize?.({ model, signal, experimental })));
    await this.initialised.get(id);
    await widget.render?.({ model, el, signal, experimental, host: this.host });
    for (const area of el.querySelectorAll("textarea")) area.readOnly = true; // no kernel to answer edits
  }

  private async drawChildren(children: string[], el: HTMLElement): Promise<void> {
    // a row shares its width among the children; each child's own layout (applied in `draw`) wins
    const style = el.style.flexDirection === "row" ? "flex: 1 1 0; min-width: 0; overflow-x: auto" : "min-width: 0; overflow-x: auto";
    for (const child of children) await this.draw(child, el.appendChild(element("div", { attrs: { style } })));
  }
}

/** A box's default look (its Layout, applied after, may change it). */
function boxStyle(el: HTMLElement, modelName: string): void {
  el.style.display = modelName === "GridBoxModel" ? "grid" : "flex";
  el.style.flexDirection = ROWS.includes(modelName) ? "row" : "column";
  el.style.gap = "8px";
}

/** The CSS properties an ipywidgets Layout sets (`grid_template_columns` → `grid-template-columns`). */
export function applyLayout(el: HTMLElement, layout: State): void {
  for (const [name, value] of Object.entries(layout)) {
    if (!name.startsWith("_") && typeof value === "string" && value) el.style.setProperty(name.replace(/_/g, "-"), value);
  }
}

/** A view module by file name ("attention": js/src/attention.ts). esbuild bundles every module this
 * pattern matches into this file (text_box.ts included), so nothing is fetched. */
export const loadView: LoadView = (name) => import(/* @vite-ignore */ `./${name}.ts`);

const embedded = document.getElementById("dsv-state");
const container = document.getElementById("dsv-page");
if (embedded?.textContent && container) {
  const page = new StaticPage(JSON.parse(embedded.textContent) as PageState, loadView);
  void page.render(container).then(() => {
    container.dataset.ready = "true";
  });
}
