// The browser side of a live view's edit protocol (widgets/live_text.py is the Python side): a text
// box whose edits are debounced per view and sent as `{text, seq}` with the `_edit` command, and a
// status line that says `computing` while an edit newer than the data shown is out.

import type { AnyModel, Experimental } from "@anywidget/types";
import { debounce } from "./debounce";
import { element } from "./dom";
import { SequenceTracker } from "./sequence";
import { STYLES } from "./styles";

/** The traits every live view shares (LiveTextWidget). */
export interface LiveTextModel {
  text: string;
  status: string;
  _seq: number;
}

export const EDIT_DEBOUNCE_MS = 300;

export class LiveEditor<T extends LiveTextModel> {
  readonly input: HTMLTextAreaElement;
  readonly status: HTMLSpanElement;
  private readonly sequence: SequenceTracker;
  private readonly editLater;
  private disposed = false;
  private readonly onAnswerBound = (): void => this.onAnswer();
  private readonly onInput = (): void => {
    this.editLater.call(this.input.value);
    this.showStatus();
  };

  constructor(
    private readonly model: AnyModel<T>,
    experimental: Experimental,
    signal: AbortSignal,
    waitMs = EDIT_DEBOUNCE_MS,
  ) {
    const live = model as unknown as AnyModel<LiveTextModel>;
    this.sequence = new SequenceTracker(live.get("_seq"));
    this.input = element("textarea", {
      testid: "text-input",
      className: "dsv-input",
      attrs: { spellcheck: "false", "aria-label": "text to trace" },
    });
    this.input.value = live.get("text");
    this.status = element("span", { testid: "status", className: "dsv-status", attrs: { role: "status" } });
    this.editLater = debounce((text: string) => {
      const seq = this.sequence.next(live.get("_seq"));
      experimental
        .invoke<{ stale: boolean }>("_edit", { text, seq }, { signal })
        .then(([reply]) => reply.stale && !this.disposed && this.onAnswer())
        .catch((error: unknown) => {
          if (this.disposed) return;
          this.status.textContent = `error: ${error instanceof Error ? error.message : String(error)}`;
        })
        .finally(() => !this.disposed && this.showStatus());
      this.showStatus();
    }, waitMs);
    this.input.addEventListener("input", this.onInput);
    for (const event of ["change:_seq", "change:status", "change:text"] as const) live.on(event, this.onAnswerBound);
  }

  private get live(): AnyModel<LiveTextModel> {
    return this.model as unknown as AnyModel<LiveTextModel>;
  }

  /** Whether new data tagged with the model's `_seq` is current (false: older than what is shown). */
  accept(): boolean {
    return this.sequence.accept(this.live.get("_seq"));
  }

  /** Show `computing` while an edit is waiting or out, else the model's status. */
  showStatus(): void {
    const text = this.sequence.waiting() || this.editLater.pending() ? "computing" : this.live.get("status");
    this.status.textContent = text;
    this.status.classList.toggle("dsv-busy", text === "computing");
    this.status.classList.toggle("dsv-error", text.startsWith("error"));
  }

  /** An answer arrived: take Python's text unless the user is still typing, and refresh the status. */
  onAnswer(): void {
    const current = this.sequence.accept(this.live.get("_seq"));
    const typing = this.sequence.waiting() || this.editLater.pending();
    if (current && !typing && this.input.value !== this.live.get("text")) this.input.value = this.live.get("text");
    this.showStatus();
  }

  destroy(): void {
    this.disposed = true;
    this.editLater.cancel();
    this.input.removeEventListener("input", this.onInput);
    for (const event of ["change:_seq", "change:status", "change:text"] as const) this.live.off(event, this.onAnswerBound);
  }
}

/** What a live view shows while it has no tokens: "Type some text above to see its `what`." */
export function emptyState(what: string): HTMLDivElement {
  return element("div", { testid: "empty-state", className: "dsv-empty", text: `Type some text above to see its ${what}.` });
}

/** A live view's root: the shared styles and the view's own `styles`, the editor's text box and status
 * line on top, then `children`. */
export function liveRoot(testid: string, editor: { input: HTMLElement; status: HTMLElement }, styles: string, ...children: Node[]): HTMLDivElement {
  return element(
    "div",
    { testid, className: "dsv-root" },
    element("style", { text: STYLES + styles }),
    element("div", { className: "dsv-top" }, editor.input, editor.status),
    ...children,
  );
}
