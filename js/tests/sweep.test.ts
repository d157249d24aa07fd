import { describe, expect, it } from "vitest";
import widget, { type SweepModel, type SweepRoot } from "../src/sweep";
import { cellAt, cellLayout, columnLabel, exact, labelStep, scaleEnd, scalePosition, tooltipText } from "../src/lib/sweep/scale";
import { divergingColour } from "../src/lib/attribution/scale";
import { READY } from "../src/lib/status";
import { renderView, wireArray } from "./fake_model";

describe("sweep scale", () => {
  it("ends at the largest |change|, or at 1 for recovered", () => {
    expect(scaleEnd([0.5, -2, 1], "change")).toBe(2);
    expect(scaleEnd([0, 0], "change")).toBe(1);
    expect(scaleEnd([3, -5], "recovered")).toBe(1);
  });

  it("is centred at 0: white there, red above, blue below, clamped", () => {
    expect(scalePosition(0, 2)).toBe(0);
    expect(scalePosition(-1, 2)).toBe(-0.5);
    expect(scalePosition(7, 1)).toBe(1);
    expect(scalePosition(NaN, 1)).toBe(0);
    const [r, , b] = divergingColour(scalePosition(1, 1));
    expect(r).toBeGreaterThan(b);
    const [r2, , b2] = divergingColour(scalePosition(-1, 1));
    expect(b2).toBeGreaterThan(r2);
  });
});

describe("sweep layout and labels", () => {
  it("fits cells in bounds and finds the cell under a point", () => {
    const layout = cellLayout(3, 4);
    expect([layout.width, layout.height]).toEqual([32, 24]);
    expect(cellLayout(61, 512).width).toBe(4);
    expect(cellAt(layout, 33, 50)).toEqual([2, 1]);
    expect(cellAt(layout, 4 * 32, 1)).toBeNull();
    expect(cellAt(layout, -1, 1)).toBeNull();
    expect(labelStep(4)).toBe(3);
    expect(labelStep(32)).toBe(1);
  });

  it("shows heads by number and tokens with whitespace and controls visible", () => {
    expect(columnLabel("7", "head")).toBe("7");
    expect(columnLabel(" flu", "position")).toBe("␣flu");
    expect(columnLabel("a\nb\x00", "position")).toBe("a⏎b␀");
    expect(columnLabel("", "position")).toBe("·");
  });

  it("writes tooltips with the exact value", () => {
    expect(tooltipText(2, 3, "head", "3", -0.125, 1.5, "change")).toBe("layer 2 · head 3\nchange −0.125 (-0.125)\ntarget 1.5");
    expect(tooltipText(0, 1, "position", " flu", 0.3333333, -2, "recovered")).toBe("layer 0 · token 1 ␣flu\nrecovered 0.3333333\ntarget -2");
    expect(exact(0.1)).toBe("0.1");
  });
});

function sweepModel(): SweepModel {
  return {
    selected_layer: -1,
    selected_head: -1,
    selected_token: -1,
    columns: "position",
    status: READY,
    _values: wireArray("float32", [2, 3], Float32Array.from([0, 0.5, 1, -1, 0.25, 0])),
    _targets: wireArray("float32", [2, 3], Float32Array.from([1, 2, 3, 4, 5, 6])),
    _column_labels: ["<b>x</b>", " flu", "\n"],
    _scale: "recovered",
    _caption: "next token: share recovered",
    _data_id: 1,
  };
}

describe("SweepView", () => {
  it("labels columns with the tokens as text and a click selects the cell", () => {
    const { model, el } = renderView(widget, sweepModel(), { attach: true });
    const root = el.querySelector<SweepRoot>('[data-testid="sweep-view"]');
    expect(root?.dataset.ready).toBe("true");
    const label = el.querySelector('[data-testid="sweep-column-0"]');
    expect(label?.textContent).toBe("<b>x</b>");
    expect(label?.querySelector("b")).toBeNull();
    expect(el.querySelector('[data-testid="sweep-row-1"]')?.textContent).toBe("1");
    const canvas = el.querySelector<HTMLCanvasElement>('[data-testid="sweep-heatmap"]');
    canvas?.dispatchEvent(new MouseEvent("click", { clientX: 32 * 2 + 3, clientY: 24 + 3 }));
    expect(model.saved[model.saved.length - 1]).toEqual({ selected_layer: 1, selected_token: 2 });
    canvas?.dispatchEvent(new MouseEvent("click", { clientX: 32 * 2 + 3, clientY: 24 + 3 }));
    expect(model.saved[model.saved.length - 1]).toEqual({ selected_layer: -1, selected_token: -1 });
    model.update({ selected_layer: 0, selected_token: 1 });
    expect(el.querySelector<HTMLElement>('[data-testid="sweep-selected"]')?.dataset.cell).toBe("0-1");
    canvas?.dispatchEvent(new MouseEvent("mousemove", { clientX: 32 + 3, clientY: 3 }));
    expect(el.querySelector('[data-testid="sweep-tooltip"]')?.textContent).toBe("layer 0 · token 1 ␣flu\nrecovered 0.5\ntarget 2");
  });
});
