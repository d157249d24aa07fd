// GenerationView's pure helpers: which tokens go in the prompt / reasoning / answer blocks, the colour
// value of a generated token, and the timeline's layout and hit-testing.

/** How tokens are coloured (Python's `colour_by`). */
export type ColourBy = "probability" | "entropy";

/** A half-open range of token positions `[start, end)`. */
export type Span = [number, number];

/** The prompt, reasoning and answer blocks as token positions (prompt + completion indexing). */
export interface Blocks {
  prompt: Span;
  /** null when the completion has no reasoning section. */
  reasoning: Span | null;
  /** The answer: the generated tokens outside the reasoning section (those before it too). */
  answer: Span[];
}

/** The blocks of `n` tokens whose first `promptLength` are the prompt, `think` being Python's `_think`
 * (`[start, end]` among the generated tokens, or `[]`). */
export function splitBlocks(promptLength: number, n: number, think: readonly number[]): Blocks {
  const p = Math.max(0, Math.min(promptLength, n));
  if (think.length !== 2) return { prompt: [0, p], reasoning: null, answer: [[p, n]] };
  const start = Math.min(n, p + Math.max(0, think[0]));
  const end = Math.min(n, Math.max(start, p + think[1]));
  const answer: Span[] = [];
  if (start > p) answer.push([p, start]);
  answer.push([end, n]);
  return { prompt: [0, p], reasoning: [start, end], answer };
}

/** The entropy a full colour scale stands for: the largest shown (at least 1 nat). */
export function entropyScale(entropies: ArrayLike<number>): number {
  let peak = 1;
  for (let i = 0; i < entropies.length; i++) if (Number.isFinite(entropies[i]) && entropies[i] > peak) peak = entropies[i];
  return peak;
}

/** The colour value in [0, 1] of a generated token: its probability, or its entropy over `scale`. */
export function colourValue(by: ColourBy, prob: number, entropy: number, scale: number): number {
  const value = by === "probability" ? prob : entropy / (scale > 0 ? scale : 1);
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}


/** The timeline's rows, top to bottom. */
export const ROW_NAMES = ["confidence", "entropy", "lens agrees from layer", "expert change"] as const;
export type RowName = (typeof ROW_NAMES)[number];

export interface TimelineLayout {
  /** Canvas size in CSS pixels. */
  width: number;
  height: number;
  /** Width of the row names on the left, of one column, of one row. */
  labelWidth: number;
  columnWidth: number;
  rowHeight: number;
  columns: number;
  rows: RowName[];
  /** The "experts by layer" heat strip under the rows: one thin row per MoE layer (0: none). */
  heatRows: number;
  heatTop: number;
}

export const LABEL_WIDTH = 150;
export const ROW_HEIGHT = 22;
export const MIN_COLUMN = 2;
export const MAX_COLUMN = 14;
/** Height of one MoE layer's row in the heat strip, and the gap above the strip. */
export const HEAT_ROW = 3;
export const HEAT_GAP = 4;

/** The layout of `columns` generated tokens in at most `available` CSS pixels (columns 2–14 px wide,
 * wider than `available` when there are too many: the canvas then scrolls), showing `rows`. */
export function timelineLayout(columns: number, available: number, rows: RowName[], heatRows = 0): TimelineLayout {
  const room = Math.max(0, available - LABEL_WIDTH);
  const fit = columns > 0 ? Math.floor(room / columns) : MAX_COLUMN;
  const columnWidth = Math.max(MIN_COLUMN, Math.min(MAX_COLUMN, fit));
  const heatTop = rows.length * ROW_HEIGHT + (heatRows > 0 ? HEAT_GAP : 0);
  return {
    width: LABEL_WIDTH + Math.max(1, columns) * columnWidth,
    height: heatTop + heatRows * HEAT_ROW,
    labelWidth: LABEL_WIDTH,
    columnWidth,
    rowHeight: ROW_HEIGHT,
    columns,
    rows,
    heatRows,
    heatTop,
  };
}

/** The mean of each column of a row-major `[rows, columns]` array. */
export function columnMeans(values: Float32Array, rows: number, columns: number): Float32Array {
  const means = new Float32Array(columns);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) means[c] += values[r * columns + c] / rows;
  return means;
}

/** The column (generated token) at CSS x `x` of the canvas, or -1 outside the columns. */
export function columnAt(layout: TimelineLayout, x: number): number {
  if (x < layout.labelWidth) return -1;
  const column = Math.floor((x - layout.labelWidth) / layout.columnWidth);
  return column >= 0 && column < layout.columns ? column : -1;
}

/** The centre of column `column` (CSS x), for tests and for scrolling it into view. */
export function columnCentre(layout: TimelineLayout, column: number): number {
  return layout.labelWidth + (column + 0.5) * layout.columnWidth;
}
