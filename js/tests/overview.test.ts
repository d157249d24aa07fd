import { describe, expect, it } from "vitest";
import {
  HEADER_HEIGHT,
  LABEL_WIDTH,
  MAX_CELL,
  MIN_CELL,
  cellOrigin,
  cellSize,
  contentSize,
  headOrder,
  hitTest,
  moveFocus,
  revealScroll,
  scoreRange,
  visibleRange,
} from "../src/lib/overview/layout";
import { HeadOverview, type HeadGridElement } from "../src/lib/overview/overview";
import type { Selection } from "../src/lib/selection";

const V3 = { numLayers: 61, numHeads: 128, cell: 14 };

describe("overview layout", () => {
  it("sizes cells to the panel, within limits (V3's 128 heads scroll sideways)", () => {
    expect(cellSize(640, 4)).toBe(MAX_CELL);
    expect(cellSize(LABEL_WIDTH + 128 * 20, 128)).toBe(20);
    expect(cellSize(900, 128)).toBe(MIN_CELL);
    expect(contentSize(V3)).toEqual({ width: LABEL_WIDTH + 128 * 14, height: HEADER_HEIGHT + 61 * 14 });
  });

  it("maps screen positions to cells and back, with the labels fixed over the scrolled cells", () => {
    const layout = { numLayers: 3, numHeads: 4, cell: 40 };
    const origin = cellOrigin(layout, { layer: 2, column: 1 });
    expect(origin).toEqual({ x: LABEL_WIDTH + 40, y: HEADER_HEIGHT + 80 });
    expect(hitTest(layout, origin.x + 1, origin.y + 39, 0, 0)).toEqual({ layer: 2, column: 1 });
    expect(hitTest(layout, 3, origin.y, 0, 0)).toEqual({ layer: 2, column: -1 }); // a layer number
    expect(hitTest(layout, origin.x, 2, 0, 0)).toBeNull(); // the header
    expect(hitTest(layout, LABEL_WIDTH + 4 * 40 + 1, HEADER_HEIGHT + 1, 0, 0)).toBeNull(); // right of the grid
    expect(hitTest(layout, LABEL_WIDTH + 1, HEADER_HEIGHT + 1, 14 * 100, 14 * 30)).toBeNull(); // scrolled past
    const scrolled = hitTest(V3, LABEL_WIDTH + 1, HEADER_HEIGHT + 1, 14 * 100, 14 * 30);
    expect(scrolled).toEqual({ layer: 30, column: 100 });
  });

  it("finds the rows and columns in view", () => {
    expect(visibleRange(0, HEADER_HEIGHT + 140, HEADER_HEIGHT, 14, 61)).toEqual([0, 10]);
    expect(visibleRange(7, HEADER_HEIGHT + 140, HEADER_HEIGHT, 14, 61)).toEqual([0, 11]); // half rows at both ends
    expect(visibleRange(14 * 55, 460, HEADER_HEIGHT, 14, 61)).toEqual([55, 61]);
    expect(visibleRange(0, 10, HEADER_HEIGHT, 14, 61)).toEqual([0, 0]);
  });

  it("scrolls as little as possible to reveal a cell", () => {
    // viewport 200 px, labels 18: cell at content 18 + 20·14 = 298 needs scroll ≥ 298 + 14 − 200
    expect(revealScroll(0, 200, HEADER_HEIGHT, HEADER_HEIGHT + 20 * 14, 14)).toBe(HEADER_HEIGHT + 21 * 14 - 200);
    expect(revealScroll(300, 200, HEADER_HEIGHT, HEADER_HEIGHT + 2 * 14, 14)).toBe(2 * 14); // up: just under the header
    expect(revealScroll(100, 200, HEADER_HEIGHT, HEADER_HEIGHT + 10 * 14, 14)).toBe(100); // in view already
  });

  it("sorts each row's heads by the chosen score, highest first, ties by head", () => {
    // 2 layers × 3 heads × 4 scores; score 1 of layer 0: [0.1, 0.9, 0.5]; layer 1: all equal
    const scores = Float32Array.from([0, 0.1, 0, 0, 0, 0.9, 0, 0, 0, 0.5, 0, 0, 0, 0.2, 0, 0, 0, 0.2, 0, 0, 0, 0.2, 0, 0]);
    const sorted = headOrder(2, 3, scores, 1, true);
    expect(Array.from(sorted.order)).toEqual([1, 2, 0, 0, 1, 2]);
    expect(Array.from(sorted.columns)).toEqual([2, 0, 1, 0, 1, 2]);
    expect(Array.from(headOrder(2, 3, scores, 1, false).order)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(Array.from(headOrder(2, 3, null, 1, true).order)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(scoreRange(scores, 1)).toEqual([0.1, 0.9].map(Math.fround));
    expect(scoreRange(new Float32Array(0), 0)).toEqual([0, 1]);
  });

  it("moves the focus with arrows, pages and Home/End, inside the grid", () => {
    const at = { layer: 5, column: 3 };
    expect(moveFocus(at, "ArrowRight", 61, 128, 10)).toEqual({ layer: 5, column: 4 });
    expect(moveFocus(at, "ArrowUp", 61, 128, 10)).toEqual({ layer: 4, column: 3 });
    expect(moveFocus(at, "PageDown", 61, 128, 10)).toEqual({ layer: 15, column: 3 });
    expect(moveFocus(at, "PageUp", 61, 128, 10)).toEqual({ layer: 0, column: 3 });
    expect(moveFocus({ layer: 60, column: 127 }, "ArrowDown", 61, 128, 10)).toEqual({ layer: 60, column: 127 });
    expect(moveFocus(at, "End", 61, 128, 10)).toEqual({ layer: 5, column: 127 });
    expect(moveFocus(at, "Home", 61, 128, 10)).toEqual({ layer: 5, column: 0 });
    expect(moveFocus(at, "x", 61, 128, 10)).toBeNull();
  });
});

describe("head overview", () => {
  function overview() {
    const chosen: Selection[] = [];
    const grid = new HeadOverview((selection) => {
      chosen.push(selection);
      grid.setSelection(selection);
    });
    document.body.append(grid.root);
    grid.setShape(61, 128);
    const scores = new Float32Array(61 * 128 * 4).map((_, i) => ((i * 7919) % 1000) / 1000);
    grid.setData(null, scores);
    grid.setSelection({ layer: 0, heads: [0] });
    const key = (name: string, init: KeyboardEventInit = {}) =>
      grid.root.dispatchEvent(new KeyboardEvent("keydown", { key: name, bubbles: true, ...init }));
    const q = (id: string) => grid.root.querySelector<HTMLElement>(`[data-testid="${id}"]`);
    return { grid, chosen, key, q, root: grid.root as HeadGridElement };
  }

  it("marks the selected heads and the focus with head-L-H elements", () => {
    const { grid, q } = overview();
    grid.setSelection({ layer: 3, heads: [1, 2] });
    expect(q("head-3-1")?.classList.contains("dsv-on")).toBe(true);
    expect(q("head-3-2")?.getAttribute("aria-selected")).toBe("true");
    expect(q("head-0-0")?.classList.contains("dsv-focus")).toBe(true);
    expect(grid.root.querySelectorAll(".dsv-mark")).toHaveLength(3);
    grid.destroy();
  });

  it("moves the focus with keys and selects with Enter (shift adds)", () => {
    const { grid, key, chosen, q } = overview();
    key("ArrowRight");
    key("ArrowDown");
    expect(q("head-1-1")?.classList.contains("dsv-focus")).toBe(true);
    key("Enter");
    expect(chosen[chosen.length - 1]).toEqual({ layer: 1, heads: [1] });
    key("ArrowRight");
    key(" ", { shiftKey: true });
    expect(chosen[chosen.length - 1]).toEqual({ layer: 1, heads: [1, 2] });
    key("PageDown");
    expect(grid.root.querySelector(".dsv-focus")?.getAttribute("data-testid")).toMatch(/^head-\d+-2$/);
    grid.destroy();
  });

  it("jumps to a layer and sorts by the chosen score", () => {
    const { grid, q } = overview();
    const jump = q("overview-jump") as HTMLInputElement;
    jump.value = "40";
    jump.dispatchEvent(new Event("change"));
    const focus = grid.root.querySelector(".dsv-focus");
    expect(focus?.getAttribute("data-testid")).toBe("head-40-0");
    const sort = q("overview-sort") as HTMLInputElement;
    sort.checked = true;
    sort.dispatchEvent(new Event("change"));
    // the focused head keeps its mark, now in the column of its rank
    expect(q("head-40-0")?.style.left).not.toBe("0px");
    grid.destroy();
  });
});
