// The logit lens a PredictionView sends: for each layer (0: embeddings … L: output) and position, the
// top-k next tokens (indices into a table of texts) and their probabilities. Pure functions.

import { decodeArray, decodeIndices, type ArrayMeta, type IndexMeta } from "../buffers";

/** `_lens_meta` of PredictionView. */
export interface LensMeta {
  ids: IndexMeta;
  probs: ArrayMeta;
}

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

/** Decode the lens; null when there is none (empty text). */
export function decodeLens(ids: DataView | null, probs: DataView | null, meta: Partial<LensMeta>, strings: string[]): LensData | null {
  if (!ids || !probs || !meta.ids || !meta.probs || ids.byteLength === 0) return null;
  const [rows, n, k] = meta.ids.shape;
  const decoded = decodeIndices(ids, meta.ids);
  const bad = decoded.find((index) => index >= strings.length);
  if (bad !== undefined) throw new RangeError(`lens index ${bad} is outside the ${strings.length} strings sent`);
  return { rows, n, k, strings, ids: decoded, probs: decodeArray(probs, meta.probs) };
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
