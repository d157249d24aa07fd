import { afterEach, describe, expect, it, vi } from "vitest";
import {
  colourTable,
  contrastRatio,
  cssAt,
  heatStops,
  heatStopsOn,
  inkOn,
  interpolate,
  isDarkGround,
  over,
  parseColour,
  relativeLuminance,
  stopsGradient,
  type Rgb,
} from "../src/lib/colour";
import { groundOf, onThemeChange, themeOf } from "../src/lib/theme";

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
const LAB_DARK: Rgb = [17, 17, 17]; // JupyterLab Dark's --jp-layout-color0

describe("contrast", () => {
  it("computes WCAG luminance and ratios", () => {
    expect(relativeLuminance(WHITE)).toBeCloseTo(1);
    expect(relativeLuminance(BLACK)).toBe(0);
    expect(contrastRatio(WHITE, BLACK)).toBeCloseTo(21);
    expect(contrastRatio(BLACK, WHITE)).toBeCloseTo(21);
    expect(contrastRatio([119, 119, 119], WHITE)).toBeCloseTo(4.48, 2); // #777 on white: just under AA
  });

  it("reads CSS colours", () => {
    expect(parseColour("rgb(1, 2, 3)")).toEqual([1, 2, 3, 1]);
    expect(parseColour("rgba(255, 255, 255, 0.87)")).toEqual([255, 255, 255, 0.87]);
    expect(parseColour("rgb(1 2 3 / 0.5)")).toEqual([1, 2, 3, 0.5]);
    expect(parseColour("#abc")).toEqual([170, 187, 204, 1]);
    expect(parseColour(" #102030 ")).toEqual([16, 32, 48, 1]);
    expect(parseColour("transparent")).toBeNull();
    expect(parseColour("oklch(0.5 0.1 20)")).toBeNull();
  });

  it("composites a translucent colour over an opaque one", () => {
    expect(over(WHITE, 0, BLACK)).toEqual(BLACK);
    expect(over(WHITE, 1, BLACK)).toEqual(WHITE);
    expect(over([255, 0, 0], 0.5, WHITE)).toEqual([255, 128, 128]);
  });

  it("picks black or white ink with at least 4.5:1 on any background", () => {
    expect(inkOn(WHITE)).toBe("#000");
    expect(inkOn(BLACK)).toBe("#fff");
    for (let r = 0; r < 256; r += 15)
      for (let g = 0; g < 256; g += 15)
        for (let b = 0; b < 256; b += 15) {
          const ink = inkOn([r, g, b]) === "#000" ? BLACK : WHITE;
          expect(contrastRatio(ink, [r, g, b])).toBeGreaterThanOrEqual(4.5);
        }
  });

  it("tells a dark ground from a light one", () => {
    expect(isDarkGround(LAB_DARK)).toBe(true);
    expect(isDarkGround([66, 66, 66])).toBe(true);
    expect(isDarkGround(WHITE)).toBe(false);
    expect(isDarkGround([238, 238, 238])).toBe(false);
  });
});

describe("heat scale", () => {
  it("starts at the ground in both themes and ends far from it", () => {
    for (const ground of [WHITE, LAB_DARK, [43, 43, 43] as Rgb, [241, 241, 241] as Rgb]) {
      const stops = heatStops(ground);
      expect(interpolate(stops, 0)).toEqual(ground);
      expect(contrastRatio(interpolate(stops, 1), ground)).toBeGreaterThan(7);
    }
    expect(heatStops(LAB_DARK).slice(-1)[0]).toEqual([253, 231, 37]); // viridis' yellow on dark
    expect(heatStops(WHITE).slice(-1)[0]).toEqual([68, 1, 84]); // its purple on light
  });

  it("moves monotonically away from the ground", () => {
    for (const ground of [WHITE, LAB_DARK]) {
      const stops = heatStops(ground);
      const ratios = Array.from({ length: 21 }, (_, i) => contrastRatio(interpolate(stops, i / 20), ground));
      ratios.slice(1).forEach((ratio, i) => expect(ratio).toBeGreaterThanOrEqual(ratios[i] - 0.05));
    }
  });

  it("builds tables, CSS colours and legend gradients from the same stops", () => {
    const stops = heatStops(LAB_DARK);
    const table = colourTable(stops);
    expect(Array.from(table.subarray(0, 4))).toEqual([...LAB_DARK, 255]);
    expect(Array.from(table.subarray(1020))).toEqual([253, 231, 37, 255]);
    expect(cssAt(stops, 0)).toBe("rgb(17, 17, 17)");
    expect(cssAt(stops, 7)).toBe("rgb(253, 231, 37)");
    expect(cssAt(stops, Number.NaN)).toBe("rgb(17, 17, 17)");
    expect(heatStopsOn("#2b2b2b")[0]).toEqual([43, 43, 43]);
    expect(heatStopsOn("nonsense")[0]).toEqual(WHITE);
    const gradient = stopsGradient(stops, 3);
    expect(gradient.startsWith("linear-gradient(to right, rgb(17, 17, 17),")).toBe(true);
    expect(gradient.endsWith("rgb(253, 231, 37))")).toBe(true);
  });
});

describe("theme of a node", () => {
  afterEach(() => document.body.replaceChildren());

  it("composites the ancestors' backgrounds and reads the text colour", () => {
    const outer = document.createElement("div");
    outer.style.backgroundColor = "rgb(17, 17, 17)";
    const inner = document.createElement("div");
    inner.style.backgroundColor = "rgba(255, 255, 255, 0.5)";
    inner.style.color = "rgb(220, 220, 220)";
    outer.append(inner);
    document.body.append(outer);
    expect(groundOf(inner)).toEqual([136, 136, 136]);
    expect(groundOf(outer)).toEqual(LAB_DARK);
    const theme = themeOf(outer);
    expect(theme.dark).toBe(true);
    expect(themeOf(inner).ink).toBe("rgb(220, 220, 220)");
  });

  it("is light outside a page", () => {
    expect(themeOf(document.createElement("div")).dark).toBe(false);
    document.body.append(document.createElement("p"));
    expect(groundOf(document.body.firstElementChild as Element)).toEqual(WHITE);
  });

  it("calls back when JupyterLab flips its theme flag, and stops when asked", async () => {
    const redraw = vi.fn();
    const stop = onThemeChange(redraw);
    document.body.dataset.jpThemeLight = "false";
    await vi.waitFor(() => expect(redraw).toHaveBeenCalled());
    stop();
    redraw.mockClear();
    document.body.dataset.jpThemeLight = "true";
    await new Promise((done) => setTimeout(done, 80));
    expect(redraw).not.toHaveBeenCalled();
  });
});
