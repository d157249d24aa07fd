// The points of the scatter as sent by Python (embedding_scatter.py): float32 coordinates [n, dims]
// and one uint8 label index per point, both binary buffers decoded with the shared codecs.

import { decodeArray, quantised, type ArrayMeta } from "../buffers";

export interface PointData {
  n: number;
  dims: 2 | 3;
  /** Interleaved coordinates, `dims` per point. */
  coords: Float32Array;
  /** Index into the label names of each point. */
  labels: Uint8Array;
}

/** Decode the coordinate and label buffers; null when there are none yet. Throws on inconsistent shapes. */
export function decodePoints(
  coords: DataView | null,
  coordsMeta: Partial<ArrayMeta>,
  labels: DataView | null,
  labelsMeta: Partial<ArrayMeta>,
): PointData | null {
  if (!coords || !labels || !coordsMeta.shape || !labelsMeta.shape) return null;
  const [n, dims] = coordsMeta.shape;
  if (coordsMeta.dtype !== "float32" || coordsMeta.shape.length !== 2 || (dims !== 2 && dims !== 3)) {
    throw new TypeError(`coordinates must be float32 [n, 2|3], not ${coordsMeta.dtype} [${coordsMeta.shape.join(", ")}]`);
  }
  if (labelsMeta.shape.length !== 1 || labelsMeta.shape[0] !== n) {
    throw new RangeError(`${labelsMeta.shape.join(", ")} labels for ${n} points`);
  }
  return {
    n,
    dims,
    coords: decodeArray(coords, coordsMeta as ArrayMeta),
    labels: quantised(labels, labelsMeta as ArrayMeta).bytes,
  };
}
