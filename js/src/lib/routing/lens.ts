// The logit lens a PredictionView sends: for each layer (0: embeddings … L: output) and position, the
// top-k next tokens (indices into a table of texts) and their probabilities. Pure functions.

import { decodeFloats, decodeIndices, type ArrayValue } from "../buffers";

/** `ids` (into `strings`) and `probs` are `[layer + 1, position, rank]`. */
export interface LensData {
  rows: number;
  n: number;
  k: number;
  strings: string[];
  ids: Uint32Array;
  probs: Float32Array;
}

export interface Candidate {
  text: string;
  prob: number;
}

/** Decode PredictionView's `_lens_ids` and `_lens_probs`; null when there is no lens (empty text). Throws
 * when their shapes disagree or an index falls outside `strings`. */
export function decodeLens(ids: ArrayValue, probs: ArrayValue, strings: string[]): LensData | null {
  const decoded = decodeIndices(ids);
  const values = decodeFloats(probs);
  if (!ids || !probs || !decoded || !values) return null;
  const [rows, n, k] = ids.shape;
  if (ids.shape.length !== 3 || probs.shape.join() !== ids.shape.join()) {
    throw new RangeError(`lens shapes disagree: ids [${ids.shape}], probs [${probs.shape}]`);
  }
  const bad = decoded.find((index) => index >= strings.length);
  if (bad !== undefined) throw new RangeError(`lens index ${bad} is outside the ${strings.length} strings sent`);
  return { rows, n, k, strings, ids: decoded, probs: values };
}

/** The top-k next tokens read at layer row `row`, position `position`, most probable first. */
export function candidates(lens: LensData, row: number, position: number): Candidate[] {
  const base = (row * lens.n + position) * lens.k;
  return Array.from({ length: lens.k }, (_, rank) => ({ text: lens.strings[lens.ids[base + rank]], prob: lens.probs[base + rank] }));
}

/** Positions `[start, end)` of a window of at most `size` around `focus` (-1: the end of the text). */
export function lensWindow(n: number, focus: number, size: number): [number, number] {
  if (n <= size) return [0, n];
  const centre = focus < 0 || focus >= n ? n - 1 : focus;
  const start = Math.min(Math.max(0, centre - Math.floor(size / 2)), n - size);
  return [start, start + size];
}

/** Name of lens row `row` of a model with `rows - 1` layers. */
export function rowName(row: number, rows: number): string {
  if (row === 0) return "embed";
  return row === rows - 1 ? `L${row - 1} (out)` : `L${row - 1}`;
}
