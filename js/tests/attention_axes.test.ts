import { describe, expect, it } from "vitest";
import { axisTicks, fitLabel, labelStep } from "../src/lib/attention/axis";
import { formatAttention, placeTooltip, roundUp } from "../src/lib/attention/format";
import { lineLabels, MAX_LABEL } from "../src/lib/lines";
import { formatZoom, fullView, MIN_SPAN, pointAt, WHEEL_STEP, wheelFactor, zoomAt, zoomLevel } from "../src/lib/viewport";

/** A monospace measure: 7 px a character. */
const measure = (text: string): number => Array.from(text).length * 7;

describe("axis label thinning", () => {
  it("labels every token when they fit, else every 2nd, 5th, 10th, … token", () => {
    expect(labelStep(20, 13)).toBe(1);
    expect(labelStep(13, 13)).toBe(1);
    expect(labelStep(10, 13)).toBe(2);
    expect(labelStep(3, 13)).toBe(5);
    expect(labelStep(420 / 4096, 13)).toBe(200);
  });

  it("places one label per shown token at the centre of its row", () => {
    const { step, ticks } = axisTicks(0, 10, 10, 420, 13);
    expect(step).toBe(1);
    expect(ticks.map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ticks[0].position).toBeCloseTo(21);
    expect(ticks[9].position).toBeCloseTo(399);
  });

  it("thins a long text to labels at least the spacing apart, on multiples of the step", () => {
    const { step, ticks } = axisTicks(0, 512, 512, 420, 13);
    expect(step).toBe(20);
    expect(ticks.every((t) => t.index % 20 === 0)).toBe(true);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i].position - ticks[i - 1].position).toBeGreaterThanOrEqual(13);
    expect(ticks.length).toBe(26);
  });

  it("follows the zoomed view: only tokens inside it, more of them as it narrows", () => {
    const { step, ticks } = axisTicks(100.5, 120.5, 512, 420, 13);
    expect(step).toBe(1);
    expect(ticks[0].index).toBe(100); // its centre (100.5) is at the edge
    expect(ticks[ticks.length - 1].index).toBe(120);
    expect(ticks.every((t) => t.position >= 0 && t.position <= 420)).toBe(true);
  });

  it("has no labels without tokens or room", () => {
    expect(axisTicks(0, 0, 0, 420, 13).ticks).toEqual([]);
    expect(axisTicks(0, 10, 10, 0, 13).ticks).toEqual([]);
  });

  it("cuts a label that is too wide with an ellipsis, never splitting a surrogate pair", () => {
    expect(fitLabel("short", 70, measure)).toBe("short");
    expect(fitLabel("a much longer label", 70, measure)).toBe("a much lo…");
    expect(measure(fitLabel("a much longer label", 70, measure))).toBeLessThanOrEqual(70);
    expect(fitLabel("🙂🙂🙂🙂", 21, measure)).toBe("🙂🙂…");
  });

  it("sizes the lines view's label column to its longest label, cutting only beyond MAX_LABEL", () => {
    const { width, shown } = lineLabels(["flu", "indicate"], measure);
    expect(shown).toEqual(["flu", "indicate"]);
    expect(width).toBe(56);
    const long = lineLabels(["x".repeat(40)], measure);
    expect(long.width).toBeLessThanOrEqual(MAX_LABEL);
    expect(long.shown[0].endsWith("…")).toBe(true);
  });
});

describe("weights with sensible precision", () => {
  it("rounds a bound up to one significant digit", () => {
    expect(roundUp(0.00196)).toBe(0.002);
    expect(roundUp(3.1e-5)).toBe(4e-5);
    expect(roundUp(0.5)).toBe(0.5);
  });

  it("shows 3 significant digits, scientific below 0.001, and never a bare 0 for a small weight", () => {
    const step = 1 / 255;
    expect(formatAttention(0.12345, step)).toBe("0.123");
    expect(formatAttention(0, step)).toBe("<0.002");
    expect(formatAttention(0, 0.01 / 255)).toBe("<2e-5");
    expect(formatAttention(4.2e-4, 1e-4)).toBe("4.2e-4");
    expect(formatAttention(0, 0)).not.toBe("0");
  });

  it("says a weight the causal mask makes zero is masked", () => {
    expect(formatAttention(0, 1 / 255, true)).toMatch(/^0 \(masked/);
  });
});

describe("tooltip placement", () => {
  it("goes below right of the pointer where it fits", () => {
    expect(placeTooltip(10, 10, 100, 20, 420, 420)).toEqual({ left: 22, top: 22 });
  });

  it("flips above the pointer on the bottom rows, staying inside the box (off the legend below it)", () => {
    const { left, top } = placeTooltip(10, 415, 100, 20, 420, 420);
    expect(top).toBe(415 - 12 - 20);
    expect(top + 20).toBeLessThanOrEqual(420);
    expect(left).toBe(22);
  });

  it("flips left of the pointer at the right edge", () => {
    const { left } = placeTooltip(400, 10, 150, 20, 420, 420);
    expect(left).toBe(400 - 12 - 150);
    expect(placeTooltip(50, 10, 415, 20, 420, 420).left).toBeGreaterThanOrEqual(0);
  });
});

describe("zoom", () => {
  it("zooms gently: one wheel notch is WHEEL_STEP (10–20 %), five notches ~2×", () => {
    expect(WHEEL_STEP).toBeGreaterThanOrEqual(1.1);
    expect(WHEEL_STEP).toBeLessThanOrEqual(1.2);
    expect(wheelFactor(-100)).toBeCloseTo(WHEEL_STEP);
    expect(wheelFactor(100)).toBeCloseTo(1 / WHEEL_STEP);
    expect(wheelFactor(-3, 1)).toBeCloseTo(WHEEL_STEP ** 0.99); // Firefox: 3 lines a notch
    expect(wheelFactor(-1000)).toBeCloseTo(WHEEL_STEP); // a burst is one notch at most
    expect(wheelFactor(-5)).toBeLessThan(1.01); // a trackpad's small delta
    expect(wheelFactor(Number.NaN)).toBe(1);
    let view = fullView(100);
    for (let i = 0; i < 5; i++) view = zoomAt(view, 100, wheelFactor(-100), 0.3, 0.6);
    expect(zoomLevel(view, 100)).toBeGreaterThan(1.8);
    expect(zoomLevel(view, 100)).toBeLessThan(2.2);
  });

  it("keeps the point under the pointer fixed, also at the zoom limit", () => {
    let view = fullView(50);
    const before = pointAt(view, 123, 321, 420, 420);
    for (let i = 0; i < 40; i++) {
      view = zoomAt(view, 50, 1.5, 123 / 420, 321 / 420);
      const after = pointAt(view, 123, 321, 420, 420);
      expect(after.x).toBeCloseTo(before.x, 9);
      expect(after.y).toBeCloseTo(before.y, 9);
    }
    expect(view.x1 - view.x0).toBeCloseTo(MIN_SPAN);
  });

  it("zooms the buttons about the centre", () => {
    const view = zoomAt(fullView(12), 12, 1.5, 0.5, 0.5);
    expect((view.x0 + view.x1) / 2).toBeCloseTo(6);
    expect((view.y0 + view.y1) / 2).toBeCloseTo(6);
    expect(zoomLevel(view, 12)).toBeCloseTo(1.5);
  });

  it("shows the zoom level", () => {
    expect(formatZoom(1)).toBe("×1");
    expect(formatZoom(1.5)).toBe("×1.5");
    expect(formatZoom(12.4)).toBe("×12");
    expect(formatZoom(1024)).toBe("×1024");
    expect(formatZoom(Number.NaN)).toBe("×1");
  });
});
