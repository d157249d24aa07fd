// The points of the scatter as sent by Python (embedding_scatter.py): float32 coordinates [n, dims]
// and one uint8 label index per point, both binary buffers decoded with the shared codecs.

import { decodeFloats, decodeQuantised, type ArrayValue } from "../buffers";

export interface PointData {
  n: number;
  dims: 2 | 3;
  /** Interleaved coordinates, `dims` per point. */
  coords: Float32Array;
  /** Index into the label names of each point. */
  labels: Uint8Array;
}

/** Decode `_coords` and `_labels`; null when there are none yet. Throws on inconsistent shapes. */
export function decodePoints(coords: ArrayValue, labels: ArrayValue): PointData | null {
  if (!coords || !labels) return null;
  const [n, dims] = coords.shape;
  if (coords.dtype !== "float32" || coords.shape.length !== 2 || (dims !== 2 && dims !== 3)) {
    throw new TypeError(`coordinates must be float32 [n, 2|3], not ${coords.dtype} [${coords.shape.join(", ")}]`);
  }
  if (labels.shape.length !== 1 || labels.shape[0] !== n) {
    throw new RangeError(`${labels.shape.join(", ")} labels for ${n} points`);
  }
  const values = decodeFloats(coords);
  const index = decodeQuantised(labels);
  return values && index && { n, dims, coords: values, labels: index.bytes };
}
