// The browser side of a live view's edit protocol (widgets/live_text.py is the Python side): a text
// box whose edits are debounced per view and sent as `{text, seq}` with the `_edit` command, at most
// one at a time (what is typed while one is out goes, latest text only, after its reply), and a
// status line that says `computing` while an edit newer than the data shown is waiting or out.

import type { AnyModel, Experimental } from "@anywidget/types";
import { errorMessage, invoke } from "./commands";
import { debounce } from "./debounce";
import { element } from "./dom";
import { SequenceTracker } from "./sequence";
import { COMPUTING, errorStatus, renderStatus, type Status } from "./status";
import { STYLES } from "./styles";

/** The traits every live view shares (LiveTextWidget). */
export interface LiveTextModel {
  text: string;
  status: Status;
  _seq: number;
  /** false inside a Dashboard, whose one text box drives every view. */
  show_editor?: boolean;
}

export const EDIT_DEBOUNCE_MS = 150;

export class LiveEditor<T extends LiveTextModel> {
  readonly input: HTMLTextAreaElement;
  readonly status: HTMLSpanElement;
  /** The text box and status line, hidden while the model's `show_editor` is false. */
  readonly top: HTMLDivElement;
  private readonly sequence: SequenceTracker;
  private readonly editLater;
  /** Whether an `_edit` is out, and the latest text typed since (sent when its reply comes). */
  private inFlight = false;
  private queued: string | null = null;
  private disposed = false;
  private readonly onAnswerBound = (): void => this.onAnswer();
  private readonly showEditor = (): void => {
    this.top.hidden = this.live.get("show_editor") === false;
  };
  private readonly onInput = (): void => {
    this.editLater.call(this.input.value);
    this.showStatus();
  };

  constructor(
    private readonly model: AnyModel<T>,
    private readonly experimental: Experimental,
    private readonly signal: AbortSignal,
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
    this.top = element("div", { className: "dsv-top" }, this.input, this.status);
    this.showEditor();
    this.editLater = debounce((text: string) => this.send(text), waitMs);
    this.input.addEventListener("input", this.onInput);
    for (const event of ["change:_seq", "change:status", "change:text"] as const) live.on(event, this.onAnswerBound);
    live.on("change:show_editor", this.showEditor);
  }

  private get live(): AnyModel<LiveTextModel> {
    return this.model as unknown as AnyModel<LiveTextModel>;
  }

  /** Send `text` as the next edit, or keep it (replacing any text kept) while an edit is out. */
  private send(text: string): void {
    if (this.inFlight) {
      this.queued = text;
      return;
    }
    this.inFlight = true;
    const seq = this.sequence.next(this.live.get("_seq"));
    invoke<{ stale: boolean }>(this.experimental, "_edit", { text, seq }, this.signal)
      .then(([reply]) => reply.stale && !this.disposed && this.onAnswer())
      .catch((error: unknown) => {
        if (!this.disposed) renderStatus(this.status, errorStatus(errorMessage(error)));
      })
      .finally(() => {
        this.inFlight = false;
        const next = this.queued;
        this.queued = null;
        if (next !== null && !this.disposed) this.send(next);
      });
    this.showStatus();
  }

  /** Whether an edit is waiting (debounced or kept) or out and not yet answered. */
  private busy(): boolean {
    return this.sequence.waiting() || this.editLater.pending() || this.queued !== null;
  }

  /** Whether new data tagged with the model's `_seq` is current (false: older than what is shown). */
  accept(): boolean {
    return this.sequence.accept(this.live.get("_seq"));
  }

  /** Show `computing` while an edit is waiting or out, else the model's status. */
  showStatus(): void {
    renderStatus(this.status, this.busy() ? COMPUTING : this.live.get("status"));
  }

  /** An answer arrived: take Python's text unless the user is still typing, and refresh the status. */
  onAnswer(): void {
    const current = this.sequence.accept(this.live.get("_seq"));
    if (current && !this.busy() && this.input.value !== this.live.get("text")) this.input.value = this.live.get("text");
    this.showStatus();
  }

  destroy(): void {
    this.disposed = true;
    this.editLater.cancel();
    this.input.removeEventListener("input", this.onInput);
    for (const event of ["change:_seq", "change:status", "change:text"] as const) this.live.off(event, this.onAnswerBound);
    this.live.off("change:show_editor", this.showEditor);
  }
}

/** What a live view shows while it has no tokens: "Type some text above to see its `what`." */
export function emptyState(what: string): HTMLDivElement {
  return element("div", { testid: "empty-state", className: "dsv-empty", text: `Type some text above to see its ${what}.` });
}

/** A live view's root: the shared styles and the view's own `styles`, the editor's text box and status
 * line on top, then `children`. */
export function liveRoot(testid: string, editor: { top: HTMLElement }, styles: string, ...children: Node[]): HTMLDivElement {
  return element("div", { testid, className: "dsv-root" }, element("style", { text: STYLES + styles }), editor.top, ...children);
}
