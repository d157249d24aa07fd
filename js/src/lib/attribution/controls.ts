// The attribution view's controls beside its rows: the SHAP/LIME run's progress bar and Cancel, and
// the target choice ("explain:" the model's next token, one of its likely next tokens, or a
// continuation typed in). Token text goes in as text only.

import { element } from "../dom";
import { formatPercent } from "../format";
import { showControls } from "../tokens";

/** `_progress` as Python sends it: the run going (`{}` when none); `total` 0 before its first count. */
export interface Progress {
  label?: string;
  done?: number;
  total?: number;
}

/** Whether a run is going. */
export const running = (progress: Progress | undefined): boolean => !!progress && progress.label !== undefined;

/** What the progress bar says: "SHAP 120/500 evaluations", or "SHAP, LIME: starting" before a count. */
export function progressText(progress: Progress): string {
  const { label = "", done = 0, total = 0 } = progress;
  return total > 0 ? `${label} ${Math.min(done, total)}/${total} evaluations` : `${label}: starting`;
}

/** The share done, 0…1 (0 before a count). */
export function progressFraction(progress: Progress): number {
  const { done = 0, total = 0 } = progress;
  return total > 0 ? Math.max(0, Math.min(1, done / total)) : 0;
}

/** The progress bar (role="progressbar") and the Cancel button of a run; hidden while none goes. */
export class SamplingProgress {
  readonly root: HTMLElement;
  readonly cancel: HTMLButtonElement;
  private readonly bar: HTMLElement;
  private readonly fill: HTMLElement;
  private readonly label: HTMLElement;

  constructor(onCancel: () => void) {
    this.fill = element("div", { className: "dsv-progress-fill" });
    this.bar = element(
      "div",
      { testid: "sampling-progress", className: "dsv-progress", attrs: { role: "progressbar", "aria-valuemin": "0", "aria-label": "sampling progress" } },
      this.fill,
    );
    this.label = element("span", { testid: "sampling-progress-label", className: "dsv-progress-label" });
    this.cancel = element("button", { testid: "cancel-sampling", text: "Cancel", attrs: { type: "button" } });
    this.cancel.addEventListener("click", onCancel);
    this.root = element("span", { className: "dsv-progress-wrap" }, this.bar, this.label, this.cancel);
    this.root.hidden = true;
  }

  set(progress: Progress | undefined): void {
    const going = running(progress);
    this.root.hidden = !going;
    if (!going || !progress) return;
    const text = progressText(progress);
    this.bar.setAttribute("aria-valuemax", String(Math.max(1, progress.total ?? 0)));
    this.bar.setAttribute("aria-valuenow", String(Math.min(progress.done ?? 0, progress.total ?? 0)));
    this.bar.setAttribute("aria-valuetext", text);
    this.fill.style.width = `${(100 * progressFraction(progress)).toFixed(1)}%`;
    this.label.textContent = text;
  }
}

/** `_target_spec` as Python sends it. */
export interface TargetSpec {
  kind: "next" | "token" | "continuation" | "other";
  token?: number;
  text?: string;
}

/** `_candidates`: the model's likely next tokens, `[token id, text, probability]`, most likely first. */
export type Candidate = [number, string, number];

export interface TargetOption {
  value: string;
  text: string;
}

/** A token as an option shows it: quoted (its spaces visible), with its probability. */
export const candidateText = (text: string, prob?: number): string =>
  `“${showControls(text)}”${prob === undefined ? "" : ` · ${formatPercent(prob)}`}`;

/** The choice's options for `spec` and `candidates`, and which is selected. */
export function targetOptions(spec: TargetSpec, candidates: readonly Candidate[]): { options: TargetOption[]; selected: string } {
  const options: TargetOption[] = [{ value: "next", text: "the model's next token" }];
  for (const [token, text, prob] of candidates) options.push({ value: `token:${token}`, text: `next token ${candidateText(text, prob)}` });
  let selected = "next";
  if (spec.kind === "token" && spec.token !== undefined) {
    selected = `token:${spec.token}`;
    if (!candidates.some(([token]) => token === spec.token)) options.push({ value: selected, text: `next token ${candidateText(spec.text ?? "")}` });
  }
  options.push({ value: "continuation", text: "a continuation…" });
  if (spec.kind === "continuation") selected = "continuation";
  if (spec.kind === "other") {
    options.push({ value: "other", text: "set from Python" });
    selected = "other";
  }
  return { options, selected };
}

/** What choosing `value` asks Python (`_set_target`), or null for "continuation" (the text box asks). */
export function targetRequest(value: string, continuation: string): Record<string, unknown> | null {
  if (value === "next") return { kind: "next" };
  if (value.startsWith("token:")) return { kind: "token", token: Number(value.slice("token:".length)) };
  if (value === "continuation") return continuation ? { kind: "continuation", text: continuation } : null;
  return null;
}

/** "explain: [select] [continuation]": sends the choice with `send` (a `_set_target` request). */
export class TargetChoice {
  readonly root: HTMLElement;
  readonly select: HTMLSelectElement;
  readonly input: HTMLInputElement;
  private spec: TargetSpec = { kind: "next" };

  constructor(private readonly send: (request: Record<string, unknown>) => void) {
    this.select = element("select", { testid: "target-choice", attrs: { "aria-label": "what the attributions explain" } });
    this.input = element("input", {
      testid: "target-continuation",
      className: "dsv-continuation",
      attrs: { type: "text", placeholder: "a continuation, e.g. ␣rose (Enter)", "aria-label": "continuation to explain", spellcheck: "false" },
    });
    const label = element("label", { className: "dsv-target-label" }, element("span", { text: "explain:" }), this.select);
    this.root = element("div", { testid: "target", className: "dsv-target" }, label, this.input);
    this.select.addEventListener("change", this.onSelect);
    this.input.addEventListener("keydown", this.onKey);
    this.input.addEventListener("change", this.onCommit);
  }

  set(spec: TargetSpec | undefined, candidates: readonly Candidate[] | undefined): void {
    this.spec = spec ?? { kind: "next" };
    const { options, selected } = targetOptions(this.spec, candidates ?? []);
    this.select.replaceChildren(...options.map(({ value, text }) => element("option", { text, attrs: { value } })));
    this.select.value = selected;
    this.input.hidden = selected !== "continuation";
    if (this.spec.kind === "continuation" && document.activeElement !== this.input) this.input.value = this.spec.text ?? "";
  }

  private onSelect = (): void => {
    const value = this.select.value;
    if (value === "continuation") {
      this.input.hidden = false;
      this.input.focus();
    }
    const request = targetRequest(value, this.input.value);
    if (request) this.send(request);
  };

  private onKey = (event: KeyboardEvent): void => {
    if (event.key === "Enter") {
      event.preventDefault();
      this.onCommit();
    }
  };

  private onCommit = (): void => {
    const text = this.input.value;
    if (!text || (this.spec.kind === "continuation" && this.spec.text === text)) return;
    this.send({ kind: "continuation", text });
  };

  destroy(): void {
    this.select.removeEventListener("change", this.onSelect);
    this.input.removeEventListener("keydown", this.onKey);
    this.input.removeEventListener("change", this.onCommit);
  }
}
