// Where things go on the routing heatmap: the routed experts left to right, laid out by routing group
// with a gap between groups; one row per token; which rows and columns carry a label. Pure functions
// (hit-testing, tick thinning). The shared experts are not drawn: every token uses them.

export interface ColumnLayout {
  numExperts: number;
  /** Experts per routing group (0: ungrouped, no gaps). */
  groupSize: number;
  cell: number;
  gap: number;
  width: number;
}

const MAX_CELL = 16;
/** Narrowest expert column: 3 px, so 256 experts stay legible (the view scrolls inside its panel instead). */
export const MIN_CELL = 3;

/** Columns that fit `maxWidth` pixels: cells 3–16 px wide, 4 px between groups (2 px when cells are
 * narrow). Wider than `maxWidth` when even 3 px cells do not fit: the caller scrolls it. */
export function columnLayout(numExperts: number, groupSize: number, maxWidth: number): ColumnLayout {
  const groups = groupSize > 0 ? Math.ceil(numExperts / groupSize) : 1;
  const room = maxWidth;
  const cellFor = (gap: number): number => Math.floor((room - (groups - 1) * gap) / Math.max(1, numExperts));
  let gap = groups > 1 ? 4 : 0;
  if (gap && cellFor(gap) < 4) gap = 2;
  const cell = Math.max(MIN_CELL, Math.min(MAX_CELL, cellFor(gap)));
  return { numExperts, groupSize, cell, gap, width: numExperts * cell + (groups - 1) * gap };
}

/** Left edge of expert `expert`'s column. */
export function expertX(layout: ColumnLayout, expert: number): number {
  const group = layout.groupSize > 0 ? Math.floor(expert / layout.groupSize) : 0;
  return expert * layout.cell + group * layout.gap;
}

/** Left edge and width of routing group `group`'s columns. */
export function groupSpan(layout: ColumnLayout, group: number): [number, number] {
  const first = group * layout.groupSize;
  const last = Math.min(layout.numExperts, first + layout.groupSize) - 1;
  const x = expertX(layout, first);
  return [x, expertX(layout, last) + layout.cell - x];
}

/** The expert whose column holds x; -1 over a gap or outside. */
export function expertAt(layout: ColumnLayout, x: number): number {
  const offset = x;
  if (offset < 0) return -1;
  let expert = Math.floor(offset / layout.cell);
  if (layout.groupSize > 0) {
    const perGroup = layout.groupSize * layout.cell + layout.gap;
    const group = Math.floor(offset / perGroup);
    const index = Math.floor((offset - group * perGroup) / layout.cell);
    if (index >= layout.groupSize) return -1; // in the gap after a group
    expert = group * layout.groupSize + index;
  }
  return expert < layout.numExperts ? expert : -1;
}

/** Pixel height of one token's row: 14 px for short texts, down to 2 px so long ones stay scrollable. */
export function rowHeight(n: number, maxHeight: number): number {
  return Math.max(2, Math.min(14, Math.floor(maxHeight / Math.max(1, n))));
}

/** The token whose row holds y, or -1. */
export function rowAt(y: number, height: number, n: number): number {
  const row = Math.floor(y / height);
  return y >= 0 && row < n ? row : -1;
}

/** Pixel height of one MoE layer's row in the overview: 14 px for a few layers, down to 5 px (58 layers
 * → 6 px, 348 px in all). */
export function overviewRowHeight(rows: number, maxHeight = 360): number {
  return Math.max(5, Math.min(14, Math.floor(maxHeight / Math.max(1, rows))));
}

/** Every how many rows a layer label fits beside rows `rowH` px high (labels are 11 px). */
export function labelEvery(rowH: number): number {
  return Math.max(1, Math.ceil(11 / Math.max(1, rowH)));
}

/** Width to lay the view out in: the element's own width (its panel's), else `fallback`, at least 240 px. */
export function availableWidth(node: HTMLElement, fallback = 640): number {
  const width = node.clientWidth;
  return Math.max(240, width > 0 ? width : fallback);
}

/** Rows of `n` rows `rowH` px high that carry a label `font` px high: every Nth row (N the fewest rows
 * a label covers), and `selected` (when it is a row) always, its neighbours closer than N rows dropped
 * so that no two labels overlap. */
export function labelledRows(n: number, rowH: number, selected = -1, font = 12): number[] {
  const every = Math.max(1, Math.ceil(font / Math.max(1, rowH)));
  const rows: number[] = [];
  const chosen = selected >= 0 && selected < n ? selected : -1;
  for (let row = 0; row < n; row += every) if (chosen < 0 || Math.abs(row - chosen) >= every) rows.push(row);
  if (chosen >= 0) rows.push(chosen);
  return rows.sort((a, b) => a - b);
}

/** Pixels a label of expert indices up to `numExperts - 1` needs (10 px digits, 6 px each, and a margin). */
export function tickWidth(numExperts: number): number {
  return String(Math.max(0, numExperts - 1)).length * 6 + 6;
}

/** The experts whose column gets an index tick: every `step`th (a power of two, so each group's first
 * expert is among them when groups hold a multiple of it), the smallest step whose ticks are at least
 * `tickWidth` pixels apart on columns `cell` px wide. */
export function expertTicks(numExperts: number, cell: number): number[] {
  const room = tickWidth(numExperts);
  let step = 1;
  while (step * Math.max(1, cell) < room) step *= 2;
  const ticks: number[] = [];
  for (let expert = 0; expert < numExperts; expert += step) ticks.push(expert);
  return ticks;
}
