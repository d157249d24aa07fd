// Unsigned-integer buffers from Python (widgets/routing_view.py `encode_indices`): expert ids and
// string-table indices, little-endian uint16 or uint32. Read through the DataView, so any byteOffset
// (even an odd one) works.

import { sizeOf } from "../buffers";

export interface IndexMeta {
  dtype: "uint16" | "uint32";
  shape: number[];
}

/** The integers of `view` as a Uint32Array; throws when the length does not match the shape. */
export function decodeIndices(view: DataView, meta: IndexMeta): Uint32Array {
  const count = sizeOf(meta.shape);
  const width = meta.dtype === "uint32" ? 4 : 2;
  if (view.byteLength !== count * width) {
    throw new RangeError(`buffer holds ${view.byteLength} bytes; ${meta.dtype} [${meta.shape.join(", ")}] needs ${count * width}`);
  }
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = width === 4 ? view.getUint32(4 * i, true) : view.getUint16(2 * i, true);
  return out;
}
