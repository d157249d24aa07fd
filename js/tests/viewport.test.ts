import { describe, expect, it } from "vitest";
import { cellAt, clampView, fullView, MIN_SPAN, panBy, toCanvas, visibleCells, zoomAt } from "../src/lib/viewport";
import { colourIndices, valueAt, windowToFetch, WINDOW_LIMIT, type HeatmapData } from "../src/lib/heatmap";

describe("hit-testing", () => {
  it("maps canvas pixels to query rows and key columns", () => {
    const view = fullView(10);
    expect(cellAt(view, 10, 0, 0, 100, 100)).toEqual({ q: 0, k: 0 });
    expect(cellAt(view, 10, 99.9, 0, 100, 100)).toEqual({ q: 0, k: 9 });
    expect(cellAt(view, 10, 25, 71, 100, 100)).toEqual({ q: 7, k: 2 });
  });

  it("returns null outside the canvas", () => {
    const view = fullView(10);
    expect(cellAt(view, 10, -1, 5, 100, 100)).toBeNull();
    expect(cellAt(view, 10, 100, 5, 100, 100)).toBeNull();
    expect(cellAt(view, 10, 5, 5, 0, 0)).toBeNull();
  });

  it("follows the zoomed viewport", () => {
    const view = { x0: 100, x1: 200, y0: 50, y1: 60 };
    expect(cellAt(view, 1000, 50, 50, 100, 100)).toEqual({ q: 55, k: 150 });
  });
});

describe("zoom and pan", () => {
  it("zooms about the pointer, keeping the point under it", () => {
    const view = zoomAt(fullView(100), 100, 2, 0.25, 0.75);
    expect(view).toEqual({ x0: 12.5, x1: 62.5, y0: 37.5, y1: 87.5 });
  });

  it("never zooms in beyond MIN_SPAN tokens nor out beyond the data", () => {
    const tight = zoomAt(fullView(100), 100, 1000, 0.5, 0.5);
    expect(tight.x1 - tight.x0).toBe(MIN_SPAN);
    expect(zoomAt(fullView(100), 100, 0.1, 0.5, 0.5)).toEqual(fullView(100));
    expect(clampView({ x0: 0, x1: 1, y0: 0, y1: 1 }, 2)).toEqual(fullView(2));
  });

  it("pans by fractions of the view and stops at the edges", () => {
    const view = { x0: 10, x1: 30, y0: 10, y1: 30 };
    expect(panBy(view, 100, 0.5, -0.25)).toEqual({ x0: 20, x1: 40, y0: 5, y1: 25 });
    expect(panBy(view, 100, -10, 10)).toEqual({ x0: 0, x1: 20, y0: 80, y1: 100 });
  });

  it("lists whole visible cells and maps cell rectangles back to the canvas", () => {
    expect(visibleCells({ x0: 1.5, x1: 3.2, y0: 0, y1: 2 })).toEqual({ q0: 0, q1: 2, k0: 1, k1: 4 });
    expect(toCanvas({ x0: 10, x1: 20, y0: 0, y1: 10 }, { q0: 2, q1: 4, k0: 15, k1: 20 }, 100, 100)).toEqual([50, 20, 50, 20]);
  });
});

describe("heatmap values", () => {
  const pooled: HeatmapData = {
    // 2 × 2 overview of a 4 × 4 matrix, blocks of 2
    overview: { bytes: Uint8Array.from([255, 0, 51, 102]), shape: [2, 2], scale: 0.5 },
    block: 2,
    n: 4,
    colourMax: 0.5,
  };

  it("reads block maxima from the overview, flagged inexact", () => {
    expect(valueAt(pooled, null, { q: 3, k: 0 })).toEqual({ value: 0.1, exact: false, step: 0.5 / 255 });
  });

  it("prefers a full-resolution window where it covers the cell", () => {
    const win = { q0: 2, k0: 0, values: { bytes: Uint8Array.from([0, 255, 0, 0]), shape: [1, 4], scale: 0.5 } };
    expect(valueAt(pooled, win, { q: 2, k: 1 })).toEqual({ value: 0.5, exact: true, step: 0.5 / 255 });
    expect(valueAt(pooled, win, { q: 3, k: 1 }).exact).toBe(false);
  });

  it("asks for a window only when zoomed into pooled data and not already covered", () => {
    const n = 2048;
    const data: HeatmapData = { overview: { bytes: new Uint8Array(512 * 512), shape: [512, 512], scale: 1 }, block: 4, n, colourMax: 1 };
    expect(windowToFetch(data, fullView(n), null)).toBeNull();
    const view = { x0: 100, x1: 100 + WINDOW_LIMIT, y0: 0.5, y1: 300 };
    expect(windowToFetch(data, view, null)).toEqual({ q0: 0, q1: 300, k0: 100, k1: 612 });
    const have = { q0: 0, k0: 100, values: { bytes: new Uint8Array(300 * 512), shape: [300, 512], scale: 1 } };
    expect(windowToFetch(data, view, have)).toBeNull();
    expect(windowToFetch({ ...data, block: 1 }, view, null)).toBeNull();
  });
});

describe("colour indices", () => {
  it("maps bytes on their own scale onto the shared colour range, saturating above it", () => {
    const values = { bytes: Uint8Array.from([0, 51, 102, 255]), shape: [4], scale: 1 };
    expect(Array.from(colourIndices(values, 0.4))).toEqual([0, 128, 255, 255]);
    expect(Array.from(colourIndices({ ...values, scale: 0.4 }, 0.4))).toEqual([0, 51, 102, 255]);
  });
});
