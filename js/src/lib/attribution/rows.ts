// One row per attribution method, aligned: token I sits in grid column I + 2 of every row (column 1
// holds the method's name), so a token's cells line up across methods. Hover shows the score.

import { decodeFloats, type ArrayValue } from "../buffers";
import { element, markDrawn } from "../dom";
import { PIECE, SPECIAL, showControls, tokenLabel, type TokenEntry } from "../tokens";
import { inkOn } from "../colour";
import { differenceColour } from "../compare/colours";
import { themeOf } from "../theme";
import { cssDiverging, formatScore, inkFor, normalise, peakAbs } from "./scale";

/** The decoded score matrix: `values[row * n + token]`, and each row's largest |score|. */
export interface ScoreRows {
  methods: string[];
  labels: string[];
  n: number;
  values: Float32Array;
  peaks: number[];
}

/** Decode `_scores`, a float32 (or float16) `[method, token]` matrix whose row `r` is method `methods[r]`
 * (displayed as `names[method]`); null when there is no matrix (empty text). */
export function readScores(scores: ArrayValue, methods: string[], names: Record<string, string>): ScoreRows | null {
  const values = decodeFloats(scores);
  if (!scores || !values) return null;
  const [rows, n] = scores.shape;
  if (scores.shape.length !== 2) throw new RangeError(`scores must be [method, token], not [${scores.shape.join(", ")}]`);
  if (methods.length !== rows) throw new RangeError(`scores have ${rows} rows for ${methods.length} methods`);
  const peaks = methods.map((_, row) => peakAbs(values.subarray(row * n, (row + 1) * n)));
  return { methods, labels: methods.map((method) => names[method] ?? method), n, values, peaks };
}

/** data-testid of a method's row. */
export const rowId = (method: string): string => `attribution-row-${method}`;
/** data-testid of token `index`'s cell in a method's row. */
export const cellId = (method: string, index: number): string => `attr-${method}-${index}`;

/** The cell under an event target: its row (method number) and token index, or null. */
export function cellAt(target: EventTarget | null): { row: number; index: number } | null {
  const cell = target instanceof Element ? target.closest<HTMLElement>("[data-row][data-index]") : null;
  if (!cell) return null;
  return { row: Number(cell.dataset.row), index: Number(cell.dataset.index) };
}

/** What the tooltip says for a cell: the token (as text), the method and the score. */
export function tooltipText(tokens: readonly TokenEntry[], scores: ScoreRows, row: number, index: number): string {
  const score = scores.values[row * scores.n + index];
  return `“${tokenLabel(tokens, index)}” (token ${index})\n${scores.labels[row]}: ${formatScore(score)}`;
}

/** Where to put a tooltip below a cell, in the container's coordinates, kept inside its width. */
export function tooltipPosition(cell: DOMRect, container: DOMRect, tooltipWidth: number): { left: number; top: number } {
  const left = Math.max(0, Math.min(cell.left - container.left, container.width - tooltipWidth));
  return { left, top: cell.bottom - container.top + 4 };
}

export class AttributionRows {
  readonly root: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly tooltip: HTMLElement;
  private tokens: readonly TokenEntry[] = [];
  private scores: ScoreRows | null = null;
  private cells: HTMLElement[][] = [];
  private column = -1;

  constructor() {
    this.grid = element("div", { testid: "attribution-rows", className: "dsv-attr-grid" });
    this.tooltip = element("div", { testid: "attribution-tooltip", className: "dsv-tooltip" });
    this.tooltip.hidden = true;
    this.root = element("div", { className: "dsv-attr-wrap" }, this.grid, this.tooltip);
    this.grid.addEventListener("mouseover", this.onOver);
    this.grid.addEventListener("mouseleave", this.onLeave);
  }

  /** Draw one row per method; tokens and scores must have the same length (else the rows are cleared). */
  setData(tokens: readonly TokenEntry[], scores: ScoreRows | null): void {
    this.tokens = tokens;
    this.scores = scores && scores.n === tokens.length ? scores : null;
    this.column = -1;
    this.tooltip.hidden = true;
    const shown = this.scores;
    this.cells = [];
    if (!shown) {
      this.grid.replaceChildren();
      markDrawn(this.grid);
      return;
    }
    this.grid.style.gridTemplateColumns = `max-content repeat(${shown.n}, max-content)`;
    const rows = shown.methods.map((method, row) => {
      const peak = shown.peaks[row];
      const label = element(
        "div",
        { className: "dsv-attr-label", attrs: { title: `scaled to its largest |score|, ${formatScore(peak)}` } },
        element("span", { text: shown.labels[row] }),
        element("span", { className: "dsv-attr-peak", text: `±${formatScore(peak).replace(/^[+−]/, "")}` }),
      );
      const cells = tokens.map(([text, kind], index) => {
        const t = normalise(shown.values[row * shown.n + index], peak);
        const cell = element("span", {
          testid: cellId(method, index),
          className: kind === SPECIAL ? "dsv-attr-cell dsv-special" : kind === PIECE ? "dsv-attr-cell dsv-piece" : "dsv-attr-cell",
          text: showControls(text),
          attrs: { "data-row": String(row), "data-index": String(index) },
        });
        cell.style.gridColumn = String(index + 2);
        cell.style.backgroundColor = cssDiverging(t);
        cell.style.color = inkFor(t);
        return cell;
      });
      this.cells.push(cells);
      const rowElement = element("div", { testid: rowId(method), className: "dsv-attr-row" }, label, ...cells);
      rowElement.style.gridRow = String(row + 1);
      return rowElement;
    });
    this.grid.replaceChildren(...rows);
    this.recolour();
    markDrawn(this.grid);
  }

  /** Colour the cells for the theme the rows are shown in (a dark theme: the same hues, zero its dark
   * grey); again when the theme changes. Light colours until the rows are in a page. */
  recolour(): void {
    const scores = this.scores;
    if (!scores || !this.grid.isConnected) return;
    const dark = themeOf(this.grid).dark;
    this.cells.forEach((cells, row) =>
      cells.forEach((cell, index) => {
        const t = normalise(scores.values[row * scores.n + index], scores.peaks[row]);
        const [r, g, b] = differenceColour(t, dark);
        cell.style.backgroundColor = `rgb(${r}, ${g}, ${b})`;
        cell.style.color = inkOn([r, g, b]);
      }),
    );
  }

  private highlight(index: number): void {
    if (index === this.column) return;
    for (const cells of this.cells) {
      cells[this.column]?.classList.remove("dsv-attr-column");
      cells[index]?.classList.add("dsv-attr-column");
    }
    this.column = index;
  }

  private onOver = (event: MouseEvent): void => {
    const hit = cellAt(event.target);
    const scores = this.scores;
    if (!hit || !scores) {
      this.onLeave();
      return;
    }
    this.highlight(hit.index);
    this.tooltip.textContent = tooltipText(this.tokens, scores, hit.row, hit.index);
    this.tooltip.hidden = false;
    const cell = this.cells[hit.row]?.[hit.index];
    if (!cell) return;
    const { left, top } = tooltipPosition(cell.getBoundingClientRect(), this.root.getBoundingClientRect(), this.tooltip.offsetWidth);
    this.tooltip.style.left = `${left}px`;
    this.tooltip.style.top = `${top}px`;
  };

  private onLeave = (): void => {
    this.highlight(-1);
    this.tooltip.hidden = true;
  };

  destroy(): void {
    this.grid.removeEventListener("mouseover", this.onOver);
    this.grid.removeEventListener("mouseleave", this.onLeave);
  }
}
