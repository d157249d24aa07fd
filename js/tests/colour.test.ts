import { describe, expect, it } from "vitest";
import { colourAt, colourTable, cssColour, legendTicks } from "../src/lib/colour";
import { formatWeight } from "../src/lib/format";

const luminance = ([r, g, b]: number[]): number => 0.2126 * r + 0.7152 * g + 0.0722 * b;

describe("colour scale", () => {
  it("runs from dark purple to yellow and clamps outside [0, 1]", () => {
    expect(colourAt(0)).toEqual([68, 1, 84]);
    expect(colourAt(1)).toEqual([253, 231, 37]);
    expect(colourAt(-3)).toEqual(colourAt(0));
    expect(colourAt(7)).toEqual(colourAt(1));
    expect(colourAt(NaN)).toEqual(colourAt(0));
  });

  it("gets brighter as the weight grows", () => {
    const steps = Array.from({ length: 101 }, (_, i) => luminance(colourAt(i / 100)));
    steps.slice(1).forEach((value, i) => expect(value).toBeGreaterThanOrEqual(steps[i]));
  });

  it("builds a 256-entry opaque lookup table matching colourAt", () => {
    const table = colourTable();
    expect(table.length).toBe(1024);
    expect(Array.from(table.subarray(0, 4))).toEqual([...colourAt(0), 255]);
    expect(Array.from(table.subarray(128 * 4, 129 * 4))).toEqual([...colourAt(128 / 255), 255]);
    expect(Array.from(table.subarray(1020))).toEqual([...colourAt(1), 255]);
  });

  it("writes CSS colours", () => {
    expect(cssColour(1, 0.5)).toBe("rgba(253, 231, 37, 0.5)");
  });
});

describe("labels", () => {
  it("formats weights compactly", () => {
    expect(formatWeight(0)).toBe("0");
    expect(formatWeight(0.5)).toBe("0.5");
    expect(formatWeight(0.123456)).toBe("0.123");
    expect(formatWeight(1)).toBe("1");
    expect(formatWeight(0.00001234)).toBe("1.2e-5");
  });

  it("spaces legend ticks from 0 to the scale", () => {
    expect(legendTicks(0.8, 3)).toEqual([0, 0.4, 0.8]);
  });
});
