// Binary buffers from Python (src/deepseek_viz/widgets/buffers.py) → typed arrays.
// Every view honours the DataView's byteOffset: a buffer may be a slice of a larger message.

export type DType = "uint8" | "float16" | "float32";

/** How to read one buffer: uint8 bytes mean `byte / 255 * scale`; float16/float32 are little-endian. */
export interface ArrayMeta {
  dtype: DType;
  shape: number[];
  scale: number;
}

/** A uint8-quantised array kept as bytes (no copy), with its shape and scale. */
export interface QuantisedArray {
  bytes: Uint8Array;
  shape: number[];
  scale: number;
}

const BYTES_PER_VALUE: Record<DType, number> = { uint8: 1, float16: 2, float32: 4 };

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

function checkLength(view: DataView, meta: ArrayMeta): void {
  const expected = sizeOf(meta.shape) * BYTES_PER_VALUE[meta.dtype];
  if (view.byteLength !== expected) {
    throw new RangeError(
      `buffer holds ${view.byteLength} bytes; ${meta.dtype} [${meta.shape.join(", ")}] needs ${expected}`,
    );
  }
}

/** Decode any supported buffer into float32 values (uint8 scaled back by `scale`). */
export function decodeArray(view: DataView, meta: ArrayMeta): Float32Array {
  checkLength(view, meta);
  const count = sizeOf(meta.shape);
  const out = new Float32Array(count);
  if (meta.dtype === "uint8") {
    const bytes = new Uint8Array(view.buffer, view.byteOffset, count);
    for (let i = 0; i < count; i++) out[i] = (bytes[i] / 255) * meta.scale;
  } else if (meta.dtype === "float16") {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else {
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  }
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

/** Float32 values of a quantised array. */
export function dequantise(array: QuantisedArray): Float32Array {
  return Float32Array.from(array.bytes, (byte) => (byte / 255) * array.scale);
}
