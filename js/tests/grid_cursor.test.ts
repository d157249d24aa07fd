import { describe, expect, it } from "vitest";
import { gridCursor, moveCursor } from "../src/lib/grid_cursor";

describe("moveCursor", () => {
  it("moves by a cell, a page, to the row's ends, and stops at the edges", () => {
    expect(moveCursor("ArrowRight", [0, 0], 3, 4)).toEqual([0, 1]);
    expect(moveCursor("ArrowUp", [0, 2], 3, 4)).toEqual([0, 2]);
    expect(moveCursor("PageDown", [1, 1], 30, 4)).toEqual([11, 1]);
    expect(moveCursor("End", [2, 0], 3, 4)).toEqual([2, 3]);
    expect(moveCursor("a", [0, 0], 3, 4)).toBeNull();
  });
});

describe("gridCursor", () => {
  it("answers keys with the view's own pointer events at the cell's centre", () => {
    const canvas = document.createElement("canvas");
    canvas.getBoundingClientRect = () => ({ left: 10, top: 20, width: 40, height: 20, right: 50, bottom: 40, x: 10, y: 20, toJSON: () => ({}) });
    document.body.append(canvas);
    const seen: string[] = [];
    for (const type of ["mousemove", "click", "mouseleave"]) {
      canvas.addEventListener(type, (event) => seen.push(`${type} ${(event as MouseEvent).clientX},${(event as MouseEvent).clientY}`));
    }
    const undo = gridCursor(canvas, { shape: () => [2, 4] });
    expect(canvas.tabIndex).toBe(0);
    const key = (name: string) => canvas.dispatchEvent(new KeyboardEvent("keydown", { key: name }));
    key("ArrowDown"); // the first key shows the first cell
    key("ArrowRight");
    key("Enter");
    key("Escape");
    expect(seen).toEqual(["mousemove 15,25", "mousemove 25,25", "click 25,25", "mouseleave 0,0"]);
    undo();
    key("ArrowRight");
    expect(seen).toHaveLength(4);
  });
});
