// The logit lens a PredictionView sends, a window of positions at a time: for each layer (0: embeddings
// … L: output) and position of the window, the top-k next tokens (indices into the window's table of
// texts) and their probabilities (float16). The browser keeps the windows it has (a LensCache) and asks
// for the others as the user scrolls. Pure functions and a small cache.

import { decodeFloats, decodeIndices, type ArrayHeader, type ArrayValue } from "../buffers";

/** One window: `ids` (into `strings`) and `probs` are `[row, position - start, rank]`. */
export interface LensWindow {
  start: number;
  count: number;
  rows: number;
  k: number;
  strings: string[];
  ids: Uint32Array;
  probs: Float32Array;
}

export interface Candidate {
  text: string;
  prob: number;
}

/** What the `_lens_window` command answers (its two buffers: ids, probs). */
export interface LensWindowReply {
  data_id: number;
  stale?: boolean;
  start: number;
  strings: string[];
  ids: ArrayHeader;
  probs: ArrayHeader;
}

/** Decode a lens window (`_lens_ids`/`_lens_probs`/`_strings` starting at `start`, or a command's reply);
 * null when there is none (empty text). Throws when shapes disagree or an index falls outside `strings`. */
export function decodeLens(ids: ArrayValue, probs: ArrayValue, strings: string[], start = 0): LensWindow | null {
  const decoded = decodeIndices(ids);
  const values = decodeFloats(probs);
  if (!ids || !probs || !decoded || !values) return null;
  const [rows, count, k] = ids.shape;
  if (ids.shape.length !== 3 || probs.shape.join() !== ids.shape.join()) {
    throw new RangeError(`lens shapes disagree: ids [${ids.shape}], probs [${probs.shape}]`);
  }
  const bad = decoded.find((index) => index >= strings.length);
  if (bad !== undefined) throw new RangeError(`lens index ${bad} is outside the ${strings.length} strings sent`);
  return { start, count, rows, k, strings, ids: decoded, probs: values };
}

/** The windows of one lens (one text and k) the browser has, by position. */
export class LensCache {
  private readonly columns = new Map<number, Candidate[][]>();
  rows = 0;
  k = 0;

  add(window: LensWindow): void {
    this.rows = window.rows;
    this.k = window.k;
    for (let offset = 0; offset < window.count; offset++) {
      const column = Array.from({ length: window.rows }, (_, row) => {
        const base = (row * window.count + offset) * window.k;
        return Array.from({ length: window.k }, (_, rank) => ({ text: window.strings[window.ids[base + rank]], prob: window.probs[base + rank] }));
      });
      this.columns.set(window.start + offset, column);
    }
  }

  has(position: number): boolean {
    return this.columns.has(position);
  }

  /** The top-k next tokens read at lens row `row` after `position`, most probable first (null: not here). */
  candidates(row: number, position: number): Candidate[] | null {
    return this.columns.get(position)?.[row] ?? null;
  }

  /** The first position in `[from, to)` not here, or -1. */
  firstMissing(from: number, to: number): number {
    for (let position = from; position < to; position++) if (!this.columns.has(position)) return position;
    return -1;
  }

  get size(): number {
    return this.columns.size;
  }

  clear(): void {
    this.columns.clear();
  }
}

/** Positions `[first, end)` a scroller `scrollLeft` px in, `width` px wide, shows of `n` columns `colW` wide. */
export function visibleRange(scrollLeft: number, width: number, colW: number, n: number): [number, number] {
  const first = Math.max(0, Math.min(n, Math.floor(scrollLeft / colW)));
  return [first, Math.max(first, Math.min(n, Math.ceil((scrollLeft + width) / colW)))];
}


/** Name of lens row `row` of a model with `rows - 1` layers. */
export function rowName(row: number, rows: number): string {
  if (row === 0) return "embed";
  return row === rows - 1 ? `L${row - 1} (out)` : `L${row - 1}`;
}
