// Colours, layout and labels of the SweepView's heatmap (src/deepseek_viz/widgets/sweep_view.py):
// diverging colours centred at 0 (the attribution view's scale), ends at ± the largest |change| of a
// head sweep or at ±1 for a patching sweep's `recovered` share.

import { formatScore, normalise, peakAbs } from "../attribution/scale";
import { showControls } from "../tokens";

export type SweepScale = "change" | "recovered";
export type SweepColumns = "head" | "position";

/** The value that gets the scale's full colour: 1 for `recovered`, else the largest |value| (1 when all are 0). */
export function scaleEnd(values: ArrayLike<number>, scale: SweepScale): number {
  if (scale === "recovered") return 1;
  return peakAbs(values) || 1;
}

/** Where `value` falls on the diverging scale, in [−1, 1] (NaN counts as 0). */
export function scalePosition(value: number, end: number): number {
  return Number.isNaN(value) ? 0 : normalise(value, end);
}

export interface CellLayout {
  rows: number;
  columns: number;
  width: number;
  height: number;
}

/** Cell sizes that fit about `maxWidth` × `maxHeight` px, never under 4 px nor over 32 × 24 px (a
 * wide sweep scrolls). */
export function cellLayout(rows: number, columns: number, maxWidth = 720, maxHeight = 480): CellLayout {
  const width = Math.max(4, Math.min(32, Math.floor(maxWidth / Math.max(columns, 1))));
  const height = Math.max(4, Math.min(24, Math.floor(maxHeight / Math.max(rows, 1))));
  return { rows, columns, width, height };
}

/** The cell `[row, column]` under canvas coordinates `x, y` (CSS px), or null outside the cells. */
export function cellAt(layout: CellLayout, x: number, y: number): [number, number] | null {
  const column = Math.floor(x / layout.width);
  const row = Math.floor(y / layout.height);
  if (x < 0 || y < 0 || row >= layout.rows || column >= layout.columns) return null;
  return [row, column];
}

/** A column's label: a head's number, or a token's text with whitespace and controls made visible. */
export function columnLabel(label: string, columns: SweepColumns): string {
  if (columns === "head") return label;
  return showControls(label.replace(/\n/g, "⏎").replace(/\t/g, "⇥")).replace(/^ /, "␣") || "·";
}

/** Show every `step`-th column label so labels `cellWidth` px apart stay `minGap` px apart. */
export function labelStep(cellWidth: number, minGap = 12): number {
  return Math.max(1, Math.ceil(minGap / Math.max(cellWidth, 1)));
}

/** The tooltip of a cell: layer, column, the exact coloured value and the target then. */
export function tooltipText(
  layer: number,
  column: number,
  columns: SweepColumns,
  label: string,
  value: number,
  target: number,
  scale: SweepScale,
): string {
  const where = columns === "head" ? `head ${column}` : `token ${column} ${columnLabel(label, columns)}`;
  const shown = scale === "recovered" ? `recovered ${exact(value)}` : `change ${formatScore(value)} (${exact(value)})`;
  return `layer ${layer} · ${where}\n${shown}\ntarget ${exact(target)}`;
}

/** A value in full float32 precision (as Python's float32 repr would print it). */
export function exact(value: number): string {
  if (Number.isNaN(value)) return "n/a";
  return String(Number(Math.fround(value).toPrecision(7)));
}
