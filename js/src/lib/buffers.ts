// Binary buffers from Python (src/deepseek_viz/widgets/buffers.py) → typed arrays.
// Every view honours the DataView's byteOffset: a buffer may be a slice of a larger message.

export type DType = "uint8" | "float16" | "float32" | "uint16" | "uint32";

/** How to read one buffer: uint8 bytes mean `byte / 255 * scale`; the others are little-endian. */
export interface ArrayMeta {
  dtype: DType;
  shape: number[];
  scale: number;
}

/** How to read a buffer of unsigned integers (Python's `encode_indices`: expert ids, string-table indices). */
export interface IndexMeta {
  dtype: "uint16" | "uint32";
  shape: number[];
}

/** A uint8-quantised array kept as bytes (no copy), with its shape and scale. */
export interface QuantisedArray {
  bytes: Uint8Array;
  shape: number[];
  scale: number;
}

const BYTES_PER_VALUE: Record<DType, number> = { uint8: 1, float16: 2, float32: 4, uint16: 2, uint32: 4 };

/** Number of values a shape holds. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((total, side) => total * side, 1);
}

/** IEEE 754 half-precision bits → number (subnormals, infinities and NaN included). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function checkLength(view: DataView, meta: ArrayMeta | IndexMeta): void {
  const expected = sizeOf(meta.shape) * BYTES_PER_VALUE[meta.dtype];
  if (view.byteLength !== expected) {
    throw new RangeError(
      `buffer holds ${view.byteLength} bytes; ${meta.dtype} [${meta.shape.join(", ")}] needs ${expected}`,
    );
  }
}

/** Reads value `i` of a little-endian buffer of each multi-byte dtype, through the DataView (any byteOffset). */
const READERS: Record<Exclude<DType, "uint8">, (view: DataView, i: number) => number> = {
  float16: (view, i) => halfToFloat(view.getUint16(2 * i, true)),
  float32: (view, i) => view.getFloat32(4 * i, true),
  uint16: (view, i) => view.getUint16(2 * i, true),
  uint32: (view, i) => view.getUint32(4 * i, true),
};

/** Decode any supported buffer into float32 values (uint8 scaled back by `scale`). */
export function decodeArray(view: DataView, meta: ArrayMeta): Float32Array {
  checkLength(view, meta);
  const count = sizeOf(meta.shape);
  const out = new Float32Array(count);
  if (meta.dtype === "uint8") {
    const bytes = new Uint8Array(view.buffer, view.byteOffset, count);
    for (let i = 0; i < count; i++) out[i] = (bytes[i] / 255) * meta.scale;
  } else {
    const read = READERS[meta.dtype];
    for (let i = 0; i < count; i++) out[i] = read(view, i);
  }
  return out;
}

/** The integers of an index buffer as a Uint32Array; throws when the length does not match the shape. */
export function decodeIndices(view: DataView, meta: IndexMeta): Uint32Array {
  checkLength(view, meta);
  const count = sizeOf(meta.shape);
  const read = READERS[meta.dtype];
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = read(view, i);
  return out;
}

/** The bytes of a uint8 buffer without copying; throws for other dtypes or a wrong length. */
export function quantised(view: DataView, meta: ArrayMeta): QuantisedArray {
  if (meta.dtype !== "uint8") throw new TypeError(`expected a uint8 buffer, got ${meta.dtype}`);
  checkLength(view, meta);
  return {
    bytes: new Uint8Array(view.buffer, view.byteOffset, view.byteLength),
    shape: [...meta.shape],
    scale: meta.scale,
  };
}

/** `quantised` for a buffer that may be absent (null, empty, or without a shape): then null. */
export function readQuantised(view: DataView | null, meta: Partial<ArrayMeta>): QuantisedArray | null {
  if (!view || !meta.shape || view.byteLength === 0) return null;
  return quantised(view, meta as ArrayMeta);
}

/** Float32 values of a quantised array. */
export function dequantise(array: QuantisedArray): Float32Array {
  return Float32Array.from(array.bytes, (byte) => (byte / 255) * array.scale);
}

/** Non-negative `values` as bytes over `[0, their max]`, as Python's `encode_uint8` (all zero: scale 1). */
export function quantise(values: Float32Array, shape: number[]): QuantisedArray {
  let max = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  const scale = Number.isFinite(max) && max > 0 ? max : 1;
  const bytes = new Uint8ClampedArray(values.length); // clamps and rounds half to even, as np.rint(np.clip(…))
  for (let i = 0; i < values.length; i++) bytes[i] = (values[i] / scale) * 255;
  return { bytes: new Uint8Array(bytes.buffer), shape, scale };
}
