import { afterEach, describe, expect, it, vi } from "vitest";
import widget, { missingSampling, type AttributionModel } from "../src/attribution";
import { methodCells, notes } from "../src/lib/attribution/faithfulness";
import { AttributionRows, cellAt, readScores, tooltipPosition, tooltipText } from "../src/lib/attribution/rows";
import { cssDiverging, divergingColour, formatScore, inkFor, legendGradient, normalise, peakAbs } from "../src/lib/attribution/scale";
import type { TokenEntry } from "../src/lib/tokens";
import { renderView, wireArray } from "./fake_model";
import type { WireArray } from "../src/lib/buffers";
import { READY } from "../src/lib/status";

const LABELS = { input_x_gradient: "input × gradient", integrated_gradients: "integrated gradients", shap: "SHAP", lime: "LIME" };

/** A float32 `[rows, 3]` score matrix as `_scores` holds it. */
function float32(values: number[], rows = values.length / 3): WireArray {
  return wireArray("float32", [rows, 3], new Float32Array(values));
}

describe("diverging scale", () => {
  it("is white at 0, blue below, red above, and symmetric in saturation", () => {
    expect(divergingColour(0)).toEqual([247, 247, 247]);
    expect(divergingColour(-1)).toEqual([33, 102, 172]);
    expect(divergingColour(1)).toEqual([178, 24, 43]);
    const [r, , b] = divergingColour(0.5);
    expect(r).toBeGreaterThan(b);
    const [r2, , b2] = divergingColour(-0.5);
    expect(b2).toBeGreaterThan(r2);
    const distance = (t: number) => divergingColour(t).reduce((sum, c) => sum + (247 - c), 0);
    expect(distance(0.4)).toBeGreaterThan(distance(0.2));
    expect(distance(-0.4)).toBeGreaterThan(distance(-0.2));
  });

  it("clamps out-of-range values and treats NaN as 0", () => {
    expect(divergingColour(7)).toEqual(divergingColour(1));
    expect(divergingColour(-7)).toEqual(divergingColour(-1));
    expect(divergingColour(Number.NaN)).toEqual(divergingColour(0));
    expect(cssDiverging(0)).toBe("rgb(247, 247, 247)");
  });

  it("normalises by the largest magnitude, symmetric around 0", () => {
    expect(peakAbs([0.5, -2, 1])).toBe(2);
    expect(peakAbs([])).toBe(0);
    expect(normalise(-2, 2)).toBe(-1);
    expect(normalise(1, 2)).toBe(0.5);
    expect(normalise(3, 0)).toBe(0);
    expect(inkFor(-1)).toBe("#fff");
    expect(inkFor(1)).toBe("#fff");
    expect(inkFor(0.1)).toBe("#000");
  });

  it("formats scores with their sign and builds a legend gradient from blue to red", () => {
    expect(formatScore(0.12345)).toBe("+0.123");
    expect(formatScore(-2)).toBe("−2");
    expect(formatScore(0)).toBe("0");
    expect(formatScore(Number.NaN)).toBe("n/a");
    const gradient = legendGradient(3);
    expect(gradient).toBe("linear-gradient(to right, rgb(33, 102, 172), rgb(247, 247, 247), rgb(178, 24, 43))");
  });
});

describe("score rows", () => {
  const tokens: TokenEntry[] = [
    ["<bos>", 1],
    ["<b>x</b>", 0],
    [" ok", 0],
  ];
  const methods = ["input_x_gradient", "shap"];

  it("decodes the float32 matrix honouring byteOffset and names the rows", () => {
    const padded = new Float32Array([99, 0, 0.5, -1, 0, 2, 1]);
    const scores = readScores(wireArray("float32", [2, 3], padded.subarray(1)), methods, LABELS);
    expect(scores?.labels).toEqual(["input × gradient", "SHAP"]);
    expect(Array.from(scores?.values ?? [])).toEqual([0, 0.5, -1, 0, 2, 1]);
    expect(scores?.peaks).toEqual([1, 2]);
    expect(readScores(null, methods, LABELS)).toBeNull();
    expect(() => readScores(float32([0, 1, 2, 3, 4, 5]), ["shap"], LABELS)).toThrow(RangeError);
    expect(() => readScores(wireArray("float32", [6], new Float32Array(6)), methods, LABELS)).toThrow(/\[method, token\]/);
  });

  function drawn() {
    const rows = new AttributionRows();
    document.body.append(rows.root);
    rows.setData(tokens, readScores(float32([0, 0.5, -1, 0, 2, 1]), methods, LABELS));
    return rows;
  }

  it("draws one row per method with the same token columns in every row", () => {
    const rows = drawn();
    const rowElements = rows.root.querySelectorAll<HTMLElement>(".dsv-attr-row");
    expect([...rowElements].map((row) => row.dataset.testid)).toEqual(["attribution-row-input_x_gradient", "attribution-row-shap"]);
    for (const [r, method] of ["input_x_gradient", "shap"].entries()) {
      expect(rowElements[r].style.gridRow).toBe(String(r + 1));
      tokens.forEach((_, i) => {
        const cell = rowElements[r].querySelector<HTMLElement>(`[data-testid="attr-${method}-${i}"]`);
        expect(cell?.style.gridColumn).toBe(String(i + 2)); // aligned: token i is column i + 2 in every row
        expect(cell?.dataset.index).toBe(String(i));
      });
    }
    const grid = rows.root.querySelector<HTMLElement>('[data-testid="attribution-rows"]');
    expect(grid?.style.gridTemplateColumns).toBe("max-content repeat(3, max-content)");
    // shading: each row scaled to its own peak
    expect(rows.root.querySelector<HTMLElement>('[data-testid="attr-input_x_gradient-2"]')?.style.backgroundColor).toBe("rgb(33, 102, 172)");
    expect(rows.root.querySelector<HTMLElement>('[data-testid="attr-shap-1"]')?.style.backgroundColor).toBe("rgb(178, 24, 43)");
    rows.destroy();
  });

  it("keeps model text as text: no elements are made from token strings", () => {
    const rows = drawn();
    const cell = rows.root.querySelector('[data-testid="attr-shap-1"]');
    expect(cell?.textContent).toBe("<b>x</b>");
    expect(rows.root.querySelector("b")).toBeNull();
    rows.destroy();
  });

  it("hit-tests cells and shows token, method and score in the tooltip", () => {
    const rows = drawn();
    const cell = rows.root.querySelector('[data-testid="attr-shap-2"]');
    expect(cellAt(cell)).toEqual({ row: 1, index: 2 });
    expect(cellAt(rows.root)).toBeNull();
    expect(cellAt(null)).toBeNull();
    cell?.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    const tooltip = rows.root.querySelector<HTMLElement>('[data-testid="attribution-tooltip"]');
    expect(tooltip?.hidden).toBe(false);
    expect(tooltip?.textContent).toBe("“␣ok” (token 2)\nSHAP: +1");
    // the hovered token's column is outlined in every row
    expect(rows.root.querySelectorAll(".dsv-attr-column").length).toBe(2);
    rows.root.querySelector('[data-testid="attribution-rows"]')?.dispatchEvent(new MouseEvent("mouseleave"));
    expect(tooltip?.hidden).toBe(true);
    expect(rows.root.querySelectorAll(".dsv-attr-column").length).toBe(0);
    rows.destroy();
  });

  it("clears the rows when tokens and scores disagree or there are no scores", () => {
    const rows = drawn();
    rows.setData(tokens.slice(0, 2), readScores(float32([0, 0.5, -1, 0, 2, 1]), methods, LABELS));
    expect(rows.root.querySelectorAll(".dsv-attr-row").length).toBe(0);
    rows.setData([], null);
    expect(rows.root.querySelectorAll(".dsv-attr-row").length).toBe(0);
    rows.destroy();
  });

  it("places the tooltip under the cell, inside the container", () => {
    const container = new DOMRect(100, 50, 300, 200);
    expect(tooltipPosition(new DOMRect(150, 60, 20, 18), container, 80)).toEqual({ left: 50, top: 32 });
    expect(tooltipPosition(new DOMRect(390, 60, 20, 18), container, 80)).toEqual({ left: 220, top: 32 });
    const scores = readScores(float32([0, 0.5, -1, 0, 2, 1]), methods, LABELS);
    if (!scores) throw new Error("no scores");
    expect(tooltipText(tokens, scores, 0, 2)).toBe("“␣ok” (token 2)\ninput × gradient: −1");
  });
});

describe("faithfulness panel figures", () => {
  it("formats gaps and AUCs, leaving out what was not measured", () => {
    expect(methodCells("IG", { sum_gap: -0.01, relative_gap: 0.05, deletion_auc: -5.9, normalized_auc: 0.21 })).toEqual([
      "IG",
      "−0.01 (5.0%)",
      "−5.9 (0.21)",
    ]);
    expect(methodCells("IxG", { sum_gap: 0.2, relative_gap: 1.02, deletion_auc: 1, normalized_auc: -0.04 })).toEqual(["IxG", "+0.2 (102%)", "+1 (−0.04)"]);
    expect(methodCells("LIME", { sum_gap: null, relative_gap: null, deletion_auc: null, normalized_auc: null })).toEqual(["LIME", "–", "–"]);
    expect(notes({ additivity_gap: 1e-7, random_auc: -5.7, random_normalized_auc: null, lime_fit: 0.88 })).toEqual([
      "SHAP additivity gap (Σ values + base − f(x)): +1.0e-7",
      "random deletion order AUC: −5.7 — lower than this is better",
      "LIME surrogate R²: 0.880",
    ]);
    expect(notes({})).toEqual([]);
  });
});

function data(methods: string[], seq: number, dataId: number): Partial<AttributionModel> {
  const tokens: TokenEntry[] = [["<bos>", 1], ["a", 0], [" b", 0]];
  return {
    text: "a b",
    _tokens: tokens,
    _scores: float32(methods.flatMap(() => [0, 1, -1])),
    _score_methods: methods,
    _caption: "Explaining log p(' c' | text) = -2",
    _faithfulness: { methods: {}, additivity_gap: null, random_auc: null, random_normalized_auc: null, lime_fit: null },
    _data_id: dataId,
    _seq: seq,
    status: READY,
  };
}

describe("the widget", () => {
  afterEach(() => {
    document.body.replaceChildren();
  });

  function setup() {
    const state: AttributionModel = {
      text: "",
      status: READY,
      _seq: 0,
      methods: ["input_x_gradient"],
      sampling_methods: ["shap", "lime"],
      _tokens: [],
      _scores: null,
      _score_methods: [],
      _caption: "",
      _faithfulness: {},
      _data_id: 0,
      _labels: LABELS,
    };
    const invoke = vi.fn((): Promise<[object, DataView[]]> => Promise.resolve([{ stale: false }, []]));
    return { ...renderView(widget, state, { invoke, attach: true }), invoke };
  }

  it("shows the empty state, then rows, caption and a sampling button that asks for the data shown", async () => {
    const { model, invoke, q, cleanup } = setup();
    expect(q("empty-state")?.hidden).toBe(false);
    expect((q("run-sampling") as HTMLButtonElement).disabled).toBe(true);
    model.update(data(["input_x_gradient"], 1, 4));
    expect(q("empty-state")?.hidden).toBe(true);
    expect(q("attribution-row-input_x_gradient")).not.toBeNull();
    expect(q("attribution-caption")?.textContent).toContain("log p");
    expect(q("attribution-view")?.dataset.version).toBe("2");
    const button = q("run-sampling") as HTMLButtonElement;
    expect(button.textContent).toBe("Run SHAP, LIME");
    button.click();
    expect(invoke).toHaveBeenCalledWith("_run_sampling", { data_id: 4 }, expect.anything());
    expect(button.disabled).toBe(true);
    expect(button.textContent).toBe("running SHAP, LIME…");
    await new Promise((resolve) => setTimeout(resolve, 0)); // the reply
    model.update(data(["input_x_gradient", "shap", "lime"], 1, 5));
    expect(q("attribution-row-shap")).not.toBeNull();
    expect(button.disabled).toBe(true);
    expect(button.textContent).toBe("sampling methods shown");
    cleanup();
    expect(model.handlers.get("change:_data_id")?.size).toBe(0);
  });

  it("shows a failed run's error beside the button, which works again", async () => {
    const { model, invoke, q, cleanup } = setup();
    invoke.mockImplementationOnce(() => Promise.resolve([{ error: "out of memory while scoring" }, []]));
    model.update(data(["input_x_gradient"], 1, 4));
    const button = q("run-sampling") as HTMLButtonElement;
    expect(q("sampling-error")?.hidden).toBe(true);
    button.click();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(q("sampling-error")?.hidden).toBe(false);
    expect(q("sampling-error")?.textContent).toBe("error: out of memory while scoring");
    expect(button.disabled).toBe(false);
    expect(button.textContent).toBe("Run SHAP, LIME");
    button.click(); // the next run clears the error
    expect(q("sampling-error")?.hidden).toBe(true);
    expect(invoke).toHaveBeenCalledTimes(2);
    cleanup();
  });

  it("drops data older than what is shown", () => {
    const { model, q, cleanup } = setup();
    model.update(data(["input_x_gradient", "shap"], 3, 1));
    model.update(data(["input_x_gradient"], 2, 2));
    expect(q("attribution-row-shap")).not.toBeNull();
    cleanup();
  });

  it("names the sampling methods still to run", () => {
    expect(missingSampling(["shap", "lime"], ["integrated_gradients", "shap"])).toEqual(["lime"]);
    expect(missingSampling([], ["shap"])).toEqual([]);
  });
});
