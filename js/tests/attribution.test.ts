import { afterEach, describe, expect, it, vi } from "vitest";
import widget, { missingSampling, type AttributionModel } from "../src/attribution";
import { statusText } from "../src/lib/status";
import { KEY, methodCells, notes } from "../src/lib/attribution/faithfulness";
import { progressFraction, progressText, running, targetOptions, targetRequest, type Candidate } from "../src/lib/attribution/controls";
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
  it("formats gaps and AUCs with what each method promises, leaving out what was not measured", () => {
    expect(
      methodCells("integrated_gradients", "IG", { sum_gap: -0.01, relative_gap: 0.05, deletion_auc: -5.9, normalized_auc: 0.21 }),
    ).toEqual(["IG", "−0.01 (5.0% of the change)", "≈ 0", "−5.9 (0.21)"]);
    expect(methodCells("integrated_gradients", "IG", { sum_gap: -10.8, relative_gap: 1, deletion_auc: null, normalized_auc: null })).toEqual([
      "IG",
      "−10.8 (100% of the change)",
      "≈ 0 — large: more ig_steps?",
      "–",
    ]);
    expect(methodCells("input_x_gradient", "IxG", { sum_gap: 0.2, relative_gap: 1.02, deletion_auc: 1, normalized_auc: -0.04 })).toEqual([
      "IxG",
      "+0.2 (102% of the change)",
      "none",
      "+1 (−0.04)",
    ]);
    expect(methodCells("shap", "SHAP", { sum_gap: 2e-7, relative_gap: 4e-8, deletion_auc: null, normalized_auc: null })[1]).toBe(
      "+2.0e-7 (4.0e-6% of the change)",
    );
    expect(methodCells("shap", "SHAP", { sum_gap: 0, relative_gap: 0, deletion_auc: null, normalized_auc: null })[2]).toBe("0 (additive)");
    expect(methodCells("lime", "LIME", { sum_gap: null, relative_gap: null, deletion_auc: null, normalized_auc: null })).toEqual(["LIME", "–", "none", "–"]);
    expect(notes({ additivity_gap: 1e-7, random_auc: -5.7, random_normalized_auc: null, lime_fit: 0.88 })).toEqual([
      "SHAP additivity gap (Σ values + base − f(x)): +1.0e-7",
      "random deletion order AUC: −5.7 — lower than this is better",
      "LIME surrogate R²: 0.88",
    ]);
    expect(notes({})).toEqual([]);
  });

  it("says what the completeness gap and the deletion AUC are", () => {
    expect(KEY[0]).toContain("Σ scores − (f(x) − f(baseline))");
    expect(KEY[0]).toContain("too few ig_steps");
    expect(KEY[1]).toContain("lower = more faithful");
  });
});

describe("sampling progress and the target choice", () => {
  it("says what runs and how far", () => {
    expect(statusText({ state: "computing", message: "SHAP 120/500 evaluations" })).toBe("computing: SHAP 120/500 evaluations");
    expect(running({})).toBe(false);
    expect(running({ label: "SHAP, LIME", done: 0, total: 0 })).toBe(true);
    expect(progressText({ label: "SHAP, LIME", done: 0, total: 0 })).toBe("SHAP, LIME: starting");
    expect(progressText({ label: "SHAP", done: 120, total: 500 })).toBe("SHAP 120/500 evaluations");
    expect(progressFraction({ label: "SHAP", done: 120, total: 500 })).toBeCloseTo(0.24);
    expect(progressFraction({ label: "SHAP", done: 900, total: 500 })).toBe(1);
  });

  it("offers the next token, the likely ones and a continuation", () => {
    const candidates: Candidate[] = [
      [7, " the", 0.42],
      [9, "\n", 0.0004],
    ];
    const { options, selected } = targetOptions({ kind: "next" }, candidates);
    expect(selected).toBe("next");
    expect(options.map((o) => o.text)).toEqual(["the model's next token", "next token “ the” · 42%", "next token “\n” · 0.04%", "a continuation…"]);
    expect(targetOptions({ kind: "token", token: 9, text: "\n" }, candidates).selected).toBe("token:9");
    const absent = targetOptions({ kind: "token", token: 3, text: "x" }, candidates);
    expect(absent.selected).toBe("token:3");
    expect(absent.options.map((o) => o.value)).toContain("token:3");
    expect(targetOptions({ kind: "continuation", text: " rose" }, []).selected).toBe("continuation");
    expect(targetOptions({ kind: "other" }, []).selected).toBe("other");
    expect(targetRequest("token:7", "")).toEqual({ kind: "token", token: 7 });
    expect(targetRequest("next", "")).toEqual({ kind: "next" });
    expect(targetRequest("continuation", "")).toBeNull();
    expect(targetRequest("continuation", " rose")).toEqual({ kind: "continuation", text: " rose" });
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
      _progress: {},
      _sampling_note: "",
      _sampling_error: "",
      _candidates: [],
      _target_spec: { kind: "next" },
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
    invoke.mockImplementationOnce(() => Promise.resolve([{ error: "the run could not start" }, []]));
    model.update(data(["input_x_gradient"], 1, 4));
    const button = q("run-sampling") as HTMLButtonElement;
    expect(q("sampling-error")?.hidden).toBe(true);
    button.click();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(q("sampling-error")?.textContent).toBe("error: the run could not start");
    expect(button.disabled).toBe(false);
    expect(button.textContent).toBe("Run SHAP, LIME");
    button.click(); // the next run clears the error
    expect(q("sampling-error")?.hidden).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 0));
    model.update({ _sampling_error: "out of memory while scoring" }); // the background run failed
    expect(q("sampling-error")?.hidden).toBe(false);
    expect(q("sampling-error")?.textContent).toBe("error: out of memory while scoring");
    expect(button.disabled).toBe(false);
    expect(invoke).toHaveBeenCalledTimes(2);
    cleanup();
  });

  it("shows a run's progress bar and Cancel while it goes, then the note", () => {
    const { model, invoke, q, cleanup } = setup();
    model.update(data(["input_x_gradient"], 1, 4));
    const bar = q("sampling-progress") as HTMLElement;
    expect(bar.closest<HTMLElement>(".dsv-progress-wrap")?.hidden).toBe(true);
    model.update({ _progress: { label: "SHAP", done: 120, total: 500 } });
    expect(bar.closest<HTMLElement>(".dsv-progress-wrap")?.hidden).toBe(false);
    expect(bar.getAttribute("role")).toBe("progressbar");
    expect(bar.getAttribute("aria-valuenow")).toBe("120");
    expect(bar.getAttribute("aria-valuemax")).toBe("500");
    expect(q("sampling-progress-label")?.textContent).toBe("SHAP 120/500 evaluations");
    const button = q("run-sampling") as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    const cancel = q("cancel-sampling") as HTMLButtonElement;
    expect(cancel.tagName).toBe("BUTTON");
    cancel.focus();
    cancel.click();
    expect(invoke).toHaveBeenCalledWith("_cancel_sampling", {}, expect.anything());
    model.update({ _progress: {}, _sampling_note: "SHAP, LIME run cancelled" });
    expect(bar.closest<HTMLElement>(".dsv-progress-wrap")?.hidden).toBe(true);
    expect(q("sampling-note")?.textContent).toBe("SHAP, LIME run cancelled");
    expect(button.disabled).toBe(false);
    expect(document.activeElement).toBe(button); // the keyboard stays in the view
    cleanup();
  });

  it("sends the target chosen", () => {
    const { model, invoke, q, cleanup } = setup();
    model.update({ ...data(["input_x_gradient"], 1, 4), _candidates: [[7, " the", 0.4]] });
    model.update({ _data_id: 5 });
    const select = q("target-choice") as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent)).toEqual(["the model's next token", "next token “ the” · 40%", "a continuation…"]);
    expect((q("target-continuation") as HTMLInputElement).hidden).toBe(true);
    select.value = "token:7";
    select.dispatchEvent(new Event("change"));
    expect(invoke).toHaveBeenCalledWith("_set_target", { kind: "token", token: 7 }, expect.anything());
    select.value = "continuation";
    select.dispatchEvent(new Event("change"));
    const input = q("target-continuation") as HTMLInputElement;
    expect(input.hidden).toBe(false);
    input.value = " rose";
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(invoke).toHaveBeenLastCalledWith("_set_target", { kind: "continuation", text: " rose" }, expect.anything());
    model.update({ _target_spec: { kind: "continuation", text: " rose" } });
    expect(select.value).toBe("continuation");
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
