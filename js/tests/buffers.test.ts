import { describe, expect, it } from "vitest";
import { decodeArray, decodeIndices, dequantise, halfToFloat, quantised, readQuantised, sizeOf } from "../src/lib/buffers";

/** A DataView over `bytes` placed at `offset` inside a larger buffer, as message buffers often are. */
function viewAt(bytes: number[], offset: number): DataView {
  const backing = new Uint8Array(offset + bytes.length + 3).fill(0xee);
  backing.set(bytes, offset);
  return new DataView(backing.buffer, offset, bytes.length);
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

describe("decodeArray", () => {
  it("scales uint8 bytes and respects byteOffset", () => {
    const view = viewAt([0, 255, 51, 102], 5);
    const out = decodeArray(view, { dtype: "uint8", shape: [2, 2], scale: 0.5 });
    expect(Array.from(out)).toEqual([0, 0.5, 0.1, 0.2].map((v) => Math.fround(v)));
  });

  it("reads little-endian float16 at an odd offset", () => {
    const view = viewAt([0x00, 0x3c, 0x00, 0xc0], 3);
    expect(Array.from(decodeArray(view, { dtype: "float16", shape: [2], scale: 1 }))).toEqual([1, -2]);
  });

  it("reads little-endian float32", () => {
    const backing = new ArrayBuffer(12);
    new DataView(backing).setFloat32(4, 0.25, true);
    new DataView(backing).setFloat32(8, -3, true);
    expect(Array.from(decodeArray(new DataView(backing, 4, 8), { dtype: "float32", shape: [2], scale: 1 }))).toEqual([0.25, -3]);
  });

  it("rejects a buffer whose length does not match the shape", () => {
    expect(() => decodeArray(viewAt([1, 2, 3], 0), { dtype: "uint8", shape: [2, 2], scale: 1 })).toThrow(RangeError);
    expect(() => decodeArray(viewAt([1, 2, 3, 4], 0), { dtype: "float16", shape: [4], scale: 1 })).toThrow(/needs 8/);
  });
});

describe("decodeIndices", () => {
  it("reads little-endian uint16 at an odd offset and uint32", () => {
    expect([...decodeIndices(viewAt([1, 0, 0x34, 0x12], 3), { dtype: "uint16", shape: [2] })]).toEqual([1, 0x1234]);
    const wide = new DataView(new Uint32Array([70000, 1]).buffer);
    expect([...decodeIndices(wide, { dtype: "uint32", shape: [2] })]).toEqual([70000, 1]);
  });

  it("rejects a buffer whose length does not match the shape", () => {
    expect(() => decodeIndices(viewAt([1, 0, 2, 0, 3, 0], 1), { dtype: "uint16", shape: [2, 2] })).toThrow(RangeError);
  });

  it("lets decodeArray read integer buffers as well", () => {
    expect(Array.from(decodeArray(viewAt([7, 0, 0, 1], 5), { dtype: "uint16", shape: [2], scale: 1 }))).toEqual([7, 256]);
  });
});

describe("quantised", () => {
  it("wraps the bytes without copying, at the view's offset", () => {
    const view = viewAt([10, 20, 30, 40, 50, 60], 7);
    const array = quantised(view, { dtype: "uint8", shape: [2, 3], scale: 2 });
    expect(Array.from(array.bytes)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(array.bytes.buffer).toBe(view.buffer);
    expect(array.bytes.byteOffset).toBe(7);
    expect(dequantise(array)[5]).toBeCloseTo((60 / 255) * 2, 6);
  });

  it("refuses float buffers", () => {
    expect(() => quantised(viewAt([0, 0], 0), { dtype: "float16", shape: [1], scale: 1 })).toThrow(TypeError);
  });

  it("reads an absent buffer as null", () => {
    expect(readQuantised(null, { dtype: "uint8", shape: [0], scale: 1 })).toBeNull();
    expect(readQuantised(viewAt([1], 0), {})).toBeNull();
    expect(readQuantised(viewAt([], 0), { dtype: "uint8", shape: [0], scale: 1 })).toBeNull();
    expect(readQuantised(viewAt([9], 2), { dtype: "uint8", shape: [1], scale: 1 })?.bytes[0]).toBe(9);
  });

  it("counts shape sizes", () => {
    expect(sizeOf([3, 4, 5])).toBe(60);
    expect(sizeOf([])).toBe(1);
  });
});
