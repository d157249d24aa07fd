// The interventions in force, listed in a view (data-testid `interventions`): one `intervention-I` per
// entry (its label as DOM text) with a × (`intervention-remove-I`), "clear all" (`interventions-clear`),
// the "ablate on click" toggle (`ablate-mode`: for touch and keyboard users, a plain click or Enter then
// turns off what alt-click does) and the error of the last failed change (`interventions-error`).

import { CommandErrorLine } from "../commands";
import { element } from "../dom";
import type { InterventionEntry } from "./format";

/** What the panel sends: `{action: "remove", index}` or `{action: "clear"}` (the views add toggles). */
export type InterventionAction =
  | { action: "toggle_head"; layer: number; head: number }
  | { action: "toggle_expert"; layer: number; expert: number }
  | { action: "remove"; index: number }
  | { action: "clear" };

export class InterventionsPanel {
  readonly root: HTMLDivElement;
  private readonly list: HTMLSpanElement;
  private readonly clearButton: HTMLButtonElement;
  private readonly mode: HTMLInputElement;
  private readonly hint: HTMLSpanElement;
  readonly error = new CommandErrorLine("interventions-error");

  /** `send` runs an action through the view's `_intervene` command (rejected with its error); `what`
   * the view turns off ("a head"), or null for a view that only lists them (no toggle). */
  constructor(
    private readonly send: (action: InterventionAction) => Promise<unknown>,
    private readonly what: string | null,
  ) {
    this.mode = element("input", { testid: "ablate-mode", attrs: { type: "checkbox" } });
    this.list = element("span", { className: "dsv-interventions-list", attrs: { role: "list" } });
    this.clearButton = element("button", { testid: "interventions-clear", className: "dsv-interventions-clear", text: "clear all", attrs: { type: "button" } });
    this.hint = element("span", { className: "dsv-note" });
    this.root = element(
      "div",
      { testid: "interventions", className: "dsv-interventions" },
      element("label", { attrs: { title: `a click turns ${what ?? "it"} off (or on again), as alt-click does` } }, this.mode, document.createTextNode(` ablate on click`)),
      this.hint,
      this.list,
      this.clearButton,
      this.error.root,
    );
    (this.mode.parentElement as HTMLElement).hidden = what === null;
    this.clearButton.addEventListener("click", this.onClear);
    this.setItems([]);
  }

  /** Whether a plain click turns things off (the toggle is on). */
  ablating(): boolean {
    return this.mode.checked;
  }

  /** Run `action`, showing its error here (and clearing the last one when it succeeds). */
  run(action: InterventionAction): void {
    this.send(action)
      .then(() => this.error.clear())
      .catch((error: unknown) => this.error.show(error));
  }

  /** Show the entries in force. */
  setItems(entries: readonly InterventionEntry[]): void {
    const items = entries.map((entry, index) => {
      const remove = element("button", { testid: `intervention-remove-${index}`, text: "×", attrs: { type: "button", title: `put back: ${entry.label}`, "aria-label": `remove ${entry.label}` } });
      remove.addEventListener("click", () => this.run({ action: "remove", index }));
      return element(
        "span",
        { testid: `intervention-${index}`, className: "dsv-intervention", attrs: { role: "listitem", "data-kind": entry.kind } },
        element("span", { text: entry.label }),
        remove,
      );
    });
    this.list.replaceChildren(...items);
    this.clearButton.hidden = entries.length === 0;
    const how = this.what === null ? "alt-click a head (attention) or an expert (routing) to turn it off" : `alt-click ${this.what} to turn it off`;
    this.hint.textContent = entries.length ? "off:" : how;
  }

  private onClear = (): void => this.run({ action: "clear" });

  destroy(): void {
    this.clearButton.removeEventListener("click", this.onClear);
  }
}
