// Small helpers over an anywidget model that every view uses: change handlers and index selections.

import type { AnyModel } from "@anywidget/types";

/** anywidget's constraint on a model's traits (`Record<string, any>`), which it does not export. */
type ObjectHash = AnyModel extends AnyModel<infer T> ? T : never;

/** `[event, handler]` pairs a view subscribes to, e.g. `["change:_data_id", onData]`. */
export type ChangeHandlers<T> = [`change:${keyof T & string}`, () => void][];

/** Subscribe every handler to its event; returns the function that unsubscribes them all. */
export function listen<T extends ObjectHash>(model: AnyModel<T>, handlers: ChangeHandlers<T>): () => void {
  for (const [event, handler] of handlers) model.on(event, handler);
  return () => {
    for (const [event, handler] of handlers) model.off(event, handler);
  };
}

/** Select `index` in the trait `name`, or clear it (-1) when it is selected already, and send it to Python. */
export function toggleIndex<T extends ObjectHash & { [P in K]: number }, K extends keyof T & string>(model: AnyModel<T>, name: K, index: number): void {
  model.set(name, (index === model.get(name) ? -1 : index) as T[K]);
  model.save_changes();
}
