// Layout of the Compare view's axes: which rows and columns of a heatmap or the lens strip get a token
// label (thinned so that labels of a readable font never overlap), what each says and its full text on
// hover, and how large the lens strip's cells are. Pure functions, no DOM (js/tests/compare.test.ts).

import { axisTicks } from "../attention/axis";

/** Smallest font of an axis label, px; a label needs its font plus a little air along the axis. */
export const LABEL_FONT = 11;
export const LABEL_SPACING = LABEL_FONT + 2;

/** One axis label: drawn text, full text for the title, centre `position` px along the axis. */
export interface AxisLabel {
  index: number;
  position: number;
  text: string;
  title: string;
}

/** Labels of an axis of `n` cells over `pixels` px, cell `i` covering positions `i × block … (i + 1) ×
 * block − 1` (`block` > 1 when pooled) and `offset + i × block` in `label`'s numbering. Thinned labels
 * (step > 1) and pooled ones start with their position, so the reader knows which token each one is. */
export function axisLabels(
  axis: string,
  n: number,
  pixels: number,
  label: (position: number) => string,
  block = 1,
  offset = 0,
): { step: number; labels: AxisLabel[] } {
  const { step, ticks } = axisTicks(0, n, n, pixels, LABEL_SPACING);
  const labels = ticks.map(({ index, position }) => {
    const first = offset + index * Math.max(1, block);
    const text = label(first);
    if (block > 1) {
      const last = first + block - 1;
      return { index, position, text: `${first}·${text}`, title: `${axis} ${first}–${last}: ${text} …` };
    }
    return { index, position, text: step > 1 ? `${first}·${text}` : text, title: `${axis} ${first}: ${text}` };
  });
  return { step, labels };
}

/** Cell width of a lens strip of `cols` columns in `width` px: as wide as fits, 12 to 24 px. */
export function lensCellWidth(cols: number, width: number): number {
  if (cols <= 0) return 24;
  return Math.max(12, Math.min(24, Math.floor(width / cols)));
}

/** Height of one lens row, px (the rows' labels are never thinned at this height). */
export const LENS_ROW = 14;
