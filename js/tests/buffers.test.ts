import { describe, expect, it } from "vitest";
import { decodeFloats, decodeIndices, decodeQuantised, dequantise, halfToFloat, sizeOf, type DType, type WireArray } from "../src/lib/buffers";

/** A DataView over `bytes` placed at `offset` inside a larger buffer, as message buffers often are. */
function viewAt(bytes: number[], offset: number): DataView {
  const backing = new Uint8Array(offset + bytes.length + 3).fill(0xee);
  backing.set(bytes, offset);
  return new DataView(backing.buffer, offset, bytes.length);
}

/** An array trait's value as the model holds it. */
function wire(dtype: DType, shape: number[], buffer: DataView, scale = 1): WireArray {
  return { dtype, shape, scale, buffer };
}

describe("halfToFloat", () => {
  it.each([
    [0x0000, 0],
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ])("decodes %i", (bits, value) => {
    expect(halfToFloat(bits)).toBe(value);
  });

  it("decodes NaN", () => {
    expect(halfToFloat(0x7e00)).toBeNaN();
  });
});

describe("decodeFloats", () => {
  it("scales uint8 bytes by the array's scale and respects byteOffset", () => {
    const out = decodeFloats(wire("uint8", [2, 2], viewAt([0, 255, 51, 102], 5), 0.5));
    expect(Array.from(out ?? [])).toEqual([0, 0.5, 0.1, 0.2].map((v) => Math.fround(v)));
  });

  it("reads little-endian float16 at an odd offset", () => {
    expect(Array.from(decodeFloats(wire("float16", [2], viewAt([0x00, 0x3c, 0x00, 0xc0], 3))) ?? [])).toEqual([1, -2]);
  });

  it("reads little-endian float32 inside a larger buffer", () => {
    const backing = new ArrayBuffer(12);
    new DataView(backing).setFloat32(4, 0.25, true);
    new DataView(backing).setFloat32(8, -3, true);
    expect(Array.from(decodeFloats(wire("float32", [2], new DataView(backing, 4, 8))) ?? [])).toEqual([0.25, -3]);
  });

  it("reads integer arrays as well", () => {
    expect(Array.from(decodeFloats(wire("uint16", [2], viewAt([7, 0, 0, 1], 5))) ?? [])).toEqual([7, 256]);
  });

  it("rejects a buffer whose length does not match the shape", () => {
    expect(() => decodeFloats(wire("uint8", [2, 2], viewAt([1, 2, 3], 0)))).toThrow(RangeError);
    expect(() => decodeFloats(wire("float16", [4], viewAt([1, 2, 3, 4], 0)))).toThrow(/holds 4 bytes; float16 \[4\] needs 8/);
  });

  it("rejects an unknown dtype, a bad shape and a missing buffer", () => {
    expect(() => decodeFloats(wire("int8" as DType, [1], viewAt([1], 0)))).toThrow(TypeError);
    expect(() => decodeFloats(wire("uint8", [1.5], viewAt([1], 0)))).toThrow(/bad shape/);
    expect(() => decodeFloats(wire("uint8", [-1], viewAt([], 0)))).toThrow(/bad shape/);
    expect(() => decodeFloats({ dtype: "uint8", shape: [1], scale: 1 } as WireArray)).toThrow(/without its buffer/);
  });

  it("reads null (no array sent) as null and an empty array as empty", () => {
    expect(decodeFloats(null)).toBeNull();
    expect(decodeFloats(undefined)).toBeNull();
    expect(decodeFloats(wire("float32", [0, 2], viewAt([], 4)))?.length).toBe(0);
  });
});

describe("decodeIndices", () => {
  it("reads little-endian uint16 at an odd offset and uint32", () => {
    expect(Array.from(decodeIndices(wire("uint16", [2], viewAt([1, 0, 0x34, 0x12], 3))) ?? [])).toEqual([1, 0x1234]);
    const wide = new DataView(new Uint32Array([70000, 1]).buffer);
    expect(Array.from(decodeIndices(wire("uint32", [2], wide)) ?? [])).toEqual([70000, 1]);
  });

  it("rejects a wrong length and non-integer dtypes; null stays null", () => {
    expect(() => decodeIndices(wire("uint16", [2, 2], viewAt([1, 0, 2, 0, 3, 0], 1)))).toThrow(RangeError);
    expect(() => decodeIndices(wire("float32", [1], viewAt([0, 0, 0, 0], 0)))).toThrow(/expected a uint16 or uint32 array/);
    expect(decodeIndices(null)).toBeNull();
  });
});

describe("decodeQuantised", () => {
  it("wraps the bytes without copying, at the view's offset, with shape and scale", () => {
    const view = viewAt([10, 20, 30, 40, 50, 60], 7);
    const array = decodeQuantised(wire("uint8", [2, 3], view, 2));
    expect(array).not.toBeNull();
    if (!array) return;
    expect(Array.from(array.bytes)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(array.bytes.buffer).toBe(view.buffer);
    expect(array.bytes.byteOffset).toBe(7);
    expect(array.shape).toEqual([2, 3]);
    expect(array.scale).toBe(2);
    expect(dequantise(array)[5]).toBeCloseTo((60 / 255) * 2, 6);
  });

  it("refuses float arrays and a wrong length; null stays null", () => {
    expect(() => decodeQuantised(wire("float16", [1], viewAt([0, 0], 0)))).toThrow(TypeError);
    expect(() => decodeQuantised(wire("uint8", [3], viewAt([9, 9], 2)))).toThrow(/needs 3/);
    expect(decodeQuantised(null)).toBeNull();
  });

  it("counts shape sizes", () => {
    expect(sizeOf([3, 4, 5])).toBe(60);
    expect(sizeOf([])).toBe(1);
  });
});
