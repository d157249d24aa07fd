// The text as tokens: one span per token (data-testid token-I), shaded by attention weights.

import { colourAt, cssColour, inkOn, over } from "./colour";
import { groundOf } from "./theme";
import { element, markDrawn } from "./dom";

/** `[display text, kind]` as sent by Python. */
export type TokenEntry = [string, number];
export const NORMAL = 0;
export const SPECIAL = 1;
/** A second or later byte piece of one character; its text is empty (the character shows once). */
export const PIECE = 2;

/** C0 control characters but tab and newline, and DEL: shown as their control pictures (␀ ␇ ␛ ␡). */
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f]/g;
/** Characters that can reorder the text around them: bidi controls and right-to-left letters. */
const BIDI = /[\u0590-\u08ff\u200e\u200f\u202a-\u202e\u2066-\u2069\ufb1d-\ufdff\ufe70-\ufefc\u{10800}-\u{10fff}\u{1e800}-\u{1efff}]/u;

/** `text` with control characters (but tab and newline) made visible: "a\x00b" → "a␀b". */
export function showControls(text: string): string {
  return text.replace(CONTROLS, (c) => String.fromCharCode(c === "\x7f" ? 0x2421 : 0x2400 + c.charCodeAt(0)));
}

/** The classes of a token's span: special and piece tokens styled apart, and a token of only
 * whitespace with a line break marked `dsv-break` (its text stays exact; CSS draws a ⏎ so that it has
 * a width to see, hover and click). */
export function tokenClass(text: string, kind: number): string {
  const base = kind === SPECIAL ? "dsv-token dsv-special" : kind === PIECE ? "dsv-token dsv-piece" : "dsv-token";
  return /^\s*\n\s*$/.test(text) ? `${base} dsv-break` : base;
}

/** A readable one-line label of token `index` for tooltips: whitespace and control characters made
 * visible, pieces named by their character, and bidi text isolated (FSI … PDI) so that it cannot
 * reorder the rest of the tooltip. */
export function tokenLabel(tokens: readonly TokenEntry[], index: number): string {
  const entry = tokens[index];
  if (!entry) return "";
  const [text, kind] = entry;
  if (kind === PIECE) {
    let owner = index - 1;
    while (owner > 0 && tokens[owner][1] === PIECE) owner--;
    return `${tokenLabel(tokens, owner)}[${index - owner}]`;
  }
  const label = showControls(text.replace(/\n/g, "⏎").replace(/\t/g, "⇥")).replace(/^ /, "␣");
  return BIDI.test(label) ? `\u2068${label}\u2069` : label;
}

export interface TokenCallbacks {
  hover(index: number): void;
  click(index: number): void;
}

export class TokenView {
  readonly root: HTMLElement;
  private spans: HTMLSpanElement[] = [];
  private shown: readonly TokenEntry[] | null = null;
  private selected = -1;

  constructor(private readonly callbacks: TokenCallbacks) {
    this.root = element("div", { testid: "token-view", className: "dsv-tokens" });
    this.root.addEventListener("mouseover", this.onOver);
    this.root.addEventListener("mouseleave", this.onLeave);
    this.root.addEventListener("click", this.onClick);
  }

  private indexOf(target: EventTarget | null): number {
    const span = target instanceof Element ? target.closest<HTMLElement>("[data-index]") : null;
    return span ? Number(span.dataset.index) : -1;
  }

  private onOver = (event: MouseEvent): void => this.callbacks.hover(this.indexOf(event.target));
  private onLeave = (): void => this.callbacks.hover(-1);
  private onClick = (event: MouseEvent): void => {
    const index = this.indexOf(event.target);
    if (index >= 0) this.callbacks.click(index);
  };

  /** Replace the tokens (text via textContent only, control characters made visible). */
  setTokens(tokens: readonly TokenEntry[]): void {
    this.shown = tokens;
    this.spans = tokens.map(([text, kind], index) =>
      element("span", {
        testid: `token-${index}`,
        className: tokenClass(text, kind),
        text: showControls(text),
        attrs: { "data-index": String(index) },
      }),
    );
    this.root.replaceChildren(...this.spans);
    this.setSelected(this.selected < this.spans.length ? this.selected : -1);
    markDrawn(this.root);
  }

  /** `setTokens` unless `tokens` is the very array shown already (new data from Python is a new array). */
  showTokens(tokens: readonly TokenEntry[]): void {
    if (tokens !== this.shown) this.setTokens(tokens);
  }

  /** Shade every token by `weights` (scaled to their max), outlining `active`; null clears the shading. */
  shade(weights: Float32Array | null, active: number): void {
    let peak = 0;
    if (weights) for (const w of weights) peak = Math.max(peak, w);
    const ground = weights && this.root.isConnected ? groundOf(this.root) : null;
    this.spans.forEach((span, index) => {
      const w = weights && peak > 0 ? (weights[index] ?? 0) / peak : 0;
      span.style.backgroundColor = weights ? cssColour(w, 0.15 + 0.75 * w) : "";
      span.style.color = weights && ground ? inkOn(over(colourAt(w), 0.15 + 0.75 * w, ground)) : weights && w > 0.6 ? "#000" : "";
      span.classList.toggle("dsv-active", index === active);
    });
  }

  /** Mark the selected token (-1: none). */
  setSelected(index: number): void {
    this.selected = index;
    this.spans.forEach((span, i) => span.classList.toggle("dsv-selected", i === index));
  }

  destroy(): void {
    this.root.removeEventListener("mouseover", this.onOver);
    this.root.removeEventListener("mouseleave", this.onLeave);
    this.root.removeEventListener("click", this.onClick);
  }
}
