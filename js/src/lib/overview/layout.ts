// Layout maths of the head overview (one canvas for layers × heads): cell size, cell ↔ position,
// the rows and columns in view, the order of the heads in each row (sorted by a score) and keyboard
// moves. Pure functions; js/src/lib/overview/overview.ts draws with them.

/** The head scores Python sends as `_head_scores[layer, head, i]` (attention_view.SCORE_NAMES). */
export const SCORE_NAMES = ["previous-token", "first-token", "diagonal", "entropy"] as const;

/** Smallest and largest side of a cell (CSS px); below MIN_CELL the overview scrolls sideways. */
export const MIN_CELL = 14;
export const MAX_CELL = 40;
/** Cells at least this large show the head's thumbnail; smaller ones the colour of the chosen score. */
export const THUMBNAIL_MIN_CELL = 20;
/** Cells at least this large show their head number when the heads are sorted. */
export const NUMBER_MIN_CELL = 16;
/** Width of the layer-number column and height of the head-number row (CSS px). */
export const LABEL_WIDTH = 36;
export const HEADER_HEIGHT = 18;

export interface Layout {
  numLayers: number;
  numHeads: number;
  /** Side of one cell (CSS px). */
  cell: number;
}

/** A cell by its row (layer) and column (position in the row's order; the head there is `order`'s). */
export interface Cell {
  layer: number;
  column: number;
}

/** The cell side that fits `numHeads` columns into `width` px, within [MIN_CELL, MAX_CELL]. */
export function cellSize(width: number, numHeads: number): number {
  const fit = Math.floor((width - LABEL_WIDTH) / Math.max(1, numHeads));
  return Math.max(MIN_CELL, Math.min(MAX_CELL, Number.isFinite(fit) ? fit : MAX_CELL));
}

/** Size of the whole overview (labels included), what the scroller scrolls over. */
export function contentSize(layout: Layout): { width: number; height: number } {
  return { width: LABEL_WIDTH + layout.numHeads * layout.cell, height: HEADER_HEIGHT + layout.numLayers * layout.cell };
}

/** Top-left corner of a cell in content coordinates. */
export function cellOrigin(layout: Layout, cell: Cell): { x: number; y: number } {
  return { x: LABEL_WIDTH + cell.column * layout.cell, y: HEADER_HEIGHT + cell.layer * layout.cell };
}

/** What is at screen position (x, y) of the viewport scrolled to (scrollLeft, scrollTop): a cell, a layer
 * number (`column` -1: "the mean of this layer") or nothing (the header, outside the grid). The label
 * column and header row stay on screen while the cells scroll under them. */
export function hitTest(layout: Layout, x: number, y: number, scrollLeft: number, scrollTop: number): Cell | null {
  if (y < HEADER_HEIGHT) return null;
  const layer = Math.floor((y - HEADER_HEIGHT + scrollTop) / layout.cell);
  if (layer < 0 || layer >= layout.numLayers) return null;
  if (x < LABEL_WIDTH) return { layer, column: -1 };
  const column = Math.floor((x - LABEL_WIDTH + scrollLeft) / layout.cell);
  return column < layout.numHeads ? { layer, column } : null;
}

/** Half-open range [first, last) of the rows (or columns) of side `cell` visible in a viewport of
 * `extent` px (labels included: `label` px of it) scrolled by `scroll`, out of `count`. */
export function visibleRange(scroll: number, extent: number, label: number, cell: number, count: number): [number, number] {
  const first = Math.max(0, Math.floor(scroll / cell));
  const last = Math.min(count, Math.ceil((scroll + Math.max(0, extent - label)) / cell));
  return [Math.min(first, last), last];
}

/** The scroll offset (one axis) that shows the span [start, start + size) of content in a viewport of
 * `extent` px whose first `label` px are covered by the labels, changing `scroll` as little as possible. */
export function revealScroll(scroll: number, extent: number, label: number, start: number, size: number): number {
  const visible = Math.max(size, extent - label);
  const top = start - label; // scroll that puts the span just after the labels
  if (top < scroll) return Math.max(0, top);
  if (top + size > scroll + visible) return Math.max(0, top + size - visible);
  return scroll;
}

/** The order of the heads in each row: `order[layer * numHeads + column]` is the head shown in that
 * column, and `columns[layer * numHeads + head]` its column. Unsorted (or without scores): head h in column
 * h. Sorted: each row's heads by score `score` of `scores[layer, head, :]` (`stride` values per head),
 * highest first, ties by head number. */
export function headOrder(
  numLayers: number,
  numHeads: number,
  scores: ArrayLike<number> | null,
  score: number,
  sorted: boolean,
  stride: number = SCORE_NAMES.length,
): { order: Uint32Array; columns: Uint32Array } {
  const order = new Uint32Array(numLayers * numHeads);
  const columns = new Uint32Array(numLayers * numHeads);
  const heads = Array.from({ length: numHeads }, (_, h) => h);
  for (let layer = 0; layer < numLayers; layer++) {
    const row = layer * numHeads;
    const value = (head: number) => {
      const v = scores ? scores[(row + head) * stride + score] : 0;
      return Number.isNaN(v) ? -Infinity : v;
    };
    const ranked = sorted && scores ? [...heads].sort((a, b) => value(b) - value(a) || a - b) : heads;
    ranked.forEach((head, column) => {
      order[row + column] = head;
      columns[row + head] = column;
    });
  }
  return { order, columns };
}

/** The focus cell after key `key` (arrows by one, PageUp/PageDown by `pageRows` rows, Home/End to the
 * row's ends), kept inside the grid; null for other keys. */
export function moveFocus(focus: Cell, key: string, numLayers: number, numHeads: number, pageRows: number): Cell | null {
  const page = Math.max(1, pageRows);
  const moves: Record<string, [number, number]> = {
    ArrowLeft: [0, -1],
    ArrowRight: [0, 1],
    ArrowUp: [-1, 0],
    ArrowDown: [1, 0],
    PageUp: [-page, 0],
    PageDown: [page, 0],
  };
  if (key === "Home") return { layer: focus.layer, column: 0 };
  if (key === "End") return { layer: focus.layer, column: numHeads - 1 };
  const move = moves[key];
  if (!move) return null;
  return {
    layer: Math.min(numLayers - 1, Math.max(0, focus.layer + move[0])),
    column: Math.min(numHeads - 1, Math.max(0, focus.column + move[1])),
  };
}

/** Range [min, max] of score `score` over all heads (NaN left out; [0, 1] when there is none). */
export function scoreRange(scores: ArrayLike<number>, score: number, stride: number = SCORE_NAMES.length): [number, number] {
  let [low, high] = [Infinity, -Infinity];
  for (let i = score; i < scores.length; i += stride) {
    const v = scores[i];
    if (Number.isNaN(v)) continue;
    if (v < low) low = v;
    if (v > high) high = v;
  }
  return low <= high ? [low, high] : [0, 1];
}
