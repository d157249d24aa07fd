// The array traits from Python (ArrayTrait in src/deepseek_viz/widgets/buffers.py) → typed arrays.
// Each arrives as `{dtype, shape, scale, buffer}` (or null), the buffer a DataView that may be a slice of
// a larger message: every read honours its byteOffset, and its length is checked against the shape.

export type DType = "uint8" | "float16" | "float32" | "uint16" | "uint32";

/** How to read an array's bytes: uint8 bytes mean `byte / 255 * scale`; the others are little-endian
 * (`scale` 1). What a `_fetch_window`-like command reply carries beside its buffer. */
export interface ArrayHeader {
  dtype: DType;
  shape: number[];
  scale: number;
}

/** One array trait's value as the model holds it (Python's `array_to_json`). */
export interface WireArray extends ArrayHeader {
  buffer: DataView;
}

/** What a model holds for an array trait: null when Python sends none (empty text, nothing to show). */
export type ArrayValue = WireArray | null;

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

/** `wire` itself once it is a well-formed array (known dtype, whole non-negative sides, a DataView of
 * exactly the bytes the shape needs); null for null or undefined. Throws otherwise. */
function checked(wire: ArrayValue | undefined, dtypes: readonly DType[]): WireArray | null {
  if (wire === null || wire === undefined) return null;
  const { dtype, shape, buffer } = wire;
  if (!dtypes.includes(dtype)) throw new TypeError(`expected a ${dtypes.join(" or ")} array, got ${String(dtype)}`);
  if (!Array.isArray(shape) || !shape.every((side) => Number.isInteger(side) && side >= 0)) {
    throw new TypeError(`bad shape ${JSON.stringify(shape)}`);
  }
  if (!(buffer instanceof DataView)) throw new TypeError(`${dtype} [${shape.join(", ")}] arrived without its buffer`);
  const expected = sizeOf(shape) * BYTES_PER_VALUE[dtype];
  if (buffer.byteLength !== expected) {
    throw new RangeError(`buffer holds ${buffer.byteLength} bytes; ${dtype} [${shape.join(", ")}] needs ${expected}`);
  }
  return wire;
}

/** Reads value `i` of a little-endian buffer of each multi-byte dtype, through the DataView (any byteOffset). */
const READERS: Record<Exclude<DType, "uint8">, (view: DataView, i: number) => number> = {
  float16: (view, i) => halfToFloat(view.getUint16(2 * i, true)),
  float32: (view, i) => view.getFloat32(4 * i, true),
  uint16: (view, i) => view.getUint16(2 * i, true),
  uint32: (view, i) => view.getUint32(4 * i, true),
};

const ALL: readonly DType[] = ["uint8", "float16", "float32", "uint16", "uint32"];

/** The values of any array as float32 (uint8 scaled back by `scale`); null for null. */
export function decodeFloats(wire: ArrayValue | undefined): Float32Array | null {
  const array = checked(wire, ALL);
  if (!array) return null;
  const count = sizeOf(array.shape);
  const out = new Float32Array(count);
  if (array.dtype === "uint8") {
    const bytes = new Uint8Array(array.buffer.buffer, array.buffer.byteOffset, count);
    for (let i = 0; i < count; i++) out[i] = (bytes[i] / 255) * array.scale;
  } else {
    const read = READERS[array.dtype];
    for (let i = 0; i < count; i++) out[i] = read(array.buffer, i);
  }
  return out;
}

/** The integers of a uint16/uint32 array (Python's `encode_indices`: expert ids, string-table indices);
 * null for null. */
export function decodeIndices(wire: ArrayValue | undefined): Uint32Array | null {
  const array = checked(wire, ["uint16", "uint32"]);
  if (!array) return null;
  const read = READERS[array.dtype as "uint16" | "uint32"];
  return Uint32Array.from({ length: sizeOf(array.shape) }, (_, i) => read(array.buffer, i));
}

/** The bytes of a uint8 array without copying, with its shape and scale; null for null. */
export function decodeQuantised(wire: ArrayValue | undefined): QuantisedArray | null {
  const array = checked(wire, ["uint8"]);
  if (!array) return null;
  const { buffer } = array;
  return { bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength), shape: [...array.shape], scale: array.scale };
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
