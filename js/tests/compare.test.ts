import { beforeAll, describe, expect, it, vi } from "vitest";
import widget, { type CompareModel } from "../src/compare";
import { agreementColour, differenceColour, neutral } from "../src/lib/compare/colours";
import { changedCount, expertsAt, heatmapTip, lensTip, predictionText, routingTip } from "../src/lib/compare/data";
import { axisLabels, LABEL_SPACING, lensCellWidth } from "../src/lib/compare/layout";
import { READY } from "../src/lib/status";
import { renderView, wireArray } from "./fake_model";

describe("difference colours", () => {
  it("are neutral at zero in each theme, blue below and red above, symmetric", () => {
    expect(differenceColour(0, false)).toEqual(neutral(false));
    expect(differenceColour(0, true)).toEqual(neutral(true));
    expect(neutral(false)[0]).toBeGreaterThan(200); // near-white on a light page
    expect(neutral(true)[0]).toBeLessThan(80); // the dark canvas grey on a dark page
    for (const dark of [false, true]) {
      const [r, , b] = differenceColour(0.8, dark);
      expect(r).toBeGreaterThan(b);
      const [r2, , b2] = differenceColour(-0.8, dark);
      expect(b2).toBeGreaterThan(r2);
      const distance = (t: number) => differenceColour(t, dark).reduce((sum, c, i) => sum + Math.abs(c - neutral(dark)[i]), 0);
      expect(distance(0.6)).toBeGreaterThan(distance(0.2));
      expect(distance(-0.6)).toBeGreaterThan(distance(-0.2));
      expect(differenceColour(5, dark)).toEqual(differenceColour(1, dark));
      expect(differenceColour(Number.NaN, dark)).toEqual(neutral(dark));
    }
    expect(agreementColour(true, false)).not.toEqual(agreementColour(false, false));
  });
});

describe("compare helpers", () => {
  it("list a position's experts and count those that changed", () => {
    const experts = Uint32Array.from([3, 1, 5, 2]);
    expect(expertsAt(experts, 2, 0)).toEqual([1, 3]);
    expect(expertsAt(experts, 2, 1)).toEqual([2, 5]);
    expect(expertsAt(null, 2, 0)).toEqual([]);
    expect(changedCount([1, 3], [3, 4])).toBe(1);
    expect(changedCount([1, 3], [1, 3])).toBe(0);
  });

  it("write the tooltips", () => {
    expect(routingTip("flu", 4, 1, [1, 3], [3, 4])).toBe("position 4 flu · layer 1 · 1 expert changed\na: E1 E3\nb: E3 E4");
    expect(routingTip("x", 0, 2, [1], [1])).toContain("0 experts changed");
    expect(heatmapTip(2, 1, 1, 0.25, 0.5, 0.25)).toBe("query 2 → key 1\na 0.25 · b 0.5 · b − a +0.25");
    expect(heatmapTip(1, 0, 4, 0.5, 0.25, -0.25)).toContain("query 4–7 → key 0–3");
    expect(heatmapTip(1, 0, 4, 0.5, 0.25, -0.25)).toContain("b − a −0.25");
    expect(lensTip(0, 5, 1, true)).toBe("embed · position 1: top-1 agrees");
    expect(lensTip(4, 5, 1, true)).toBe("L3 (out) · position 1: top-1 agrees");
    expect(lensTip(2, 5, 7, false)).toBe("L1 · position 7: top-1 differs");
    expect(predictionText("flu", 0.5, "gout", 0.25, -0.3)).toBe("flu (50%) → gout (25%) · Δp −0.3");
    expect(predictionText("a", 0.5, "a", 0.5, 0)).toContain("=");
  });
});

function state(): CompareModel {
  const n = 3;
  return {
    text_a: "a b",
    text_b: "a c",
    layer: 1,
    head: 0,
    selected_token: -1,
    num_layers: 2,
    num_heads: 2,
    moe_layers: [1],
    status: READY,
    _data_id: 1,
    _caption: "a: m · b: same model",
    _tokens_a: [["<s>", 1], ["a", 0], [" b", 0]],
    _tokens_b: [["<s>", 1], ["a", 0], [" c", 0]],
    _differs: wireArray("uint16", [n], Uint16Array.from([0, 0, 1])),
    _pattern_a: wireArray("uint8", [n, n], new Uint8Array(9).fill(100)),
    _pattern_b: wireArray("uint8", [n, n], new Uint8Array(9).fill(50)),
    _difference: wireArray("float16", [n, n], new Uint16Array(9)),
    _block: 1,
    _colour_max: 1,
    _routing_changes: wireArray("uint16", [n], Uint16Array.from([0, 0, 1])),
    _experts_a: wireArray("uint16", [n, 2], Uint16Array.from([0, 1, 0, 1, 2, 3])),
    _experts_b: wireArray("uint16", [n, 2], Uint16Array.from([0, 1, 0, 1, 2, 4])),
    _routed_layer: 1,
    _routing_note: "",
    _top_a: ["a", " b", "."],
    _top_b: ["a", " b", "!"],
    _prob_a: wireArray("float16", [n], new Uint16Array(3)),
    _prob_b: wireArray("float16", [n], new Uint16Array(3)),
    _prob_change: wireArray("float16", [n], new Uint16Array(3)),
    _lens_agree: wireArray("uint8", [3, n], new Uint8Array(9).fill(255)),
    _lens_start: 0,
    _attr_a: null,
    _attr_b: null,
    _attr_caption: "",
  };
}

describe("compare axis layout", () => {
  const names = ["<s>", "Fever", "␣may", "␣indicate"];
  const label = (i: number) => names[i] ?? `t${i}`;

  it("labels every cell when cells are as large as the font, with the token text and a title", () => {
    const { step, labels } = axisLabels("query", 4, 220, label);
    expect(step).toBe(1);
    expect(labels.map((l) => l.text)).toEqual(names);
    expect(labels[1]).toEqual({ index: 1, position: 220 * 1.5 / 4, text: "Fever", title: "query 1: Fever" });
  });

  it("thins the labels where cells are smaller than the font, naming each label's position", () => {
    const { step, labels } = axisLabels("key", 100, 220, label);
    expect(step).toBeGreaterThan(1);
    expect((220 / 100) * step).toBeGreaterThanOrEqual(LABEL_SPACING); // never overlap
    for (const [i, l] of labels.entries()) {
      expect(l.index).toBe(i * step);
      expect(l.text).toBe(`${l.index}·${label(l.index)}`);
      expect(l.title).toBe(`key ${l.index}: ${label(l.index)}`);
    }
  });

  it("names a pooled cell by the first position of its block and an offset axis by its positions", () => {
    const pooled = axisLabels("query", 4, 220, label, 2);
    expect(pooled.labels[1].text).toBe("2·␣may");
    expect(pooled.labels[1].title).toBe("query 2–3: ␣may …");
    const offset = axisLabels("position", 2, 48, label, 1, 2);
    expect(offset.labels.map((l) => l.text)).toEqual(["␣may", "␣indicate"]);
    expect(axisLabels("query", 0, 220, label).labels).toEqual([]);
  });

  it("sizes the lens cells 12 to 24 px", () => {
    expect(lensCellWidth(6, 900)).toBe(24);
    expect(lensCellWidth(64, 900)).toBe(14);
    expect(lensCellWidth(200, 900)).toBe(12);
    expect(lensCellWidth(0, 900)).toBe(24);
  });
});

describe("Compare view", () => {
  beforeAll(() => {
    vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null); // jsdom draws nothing
  });

  it("draws both runs' tokens aligned, marks those that differ, and sends the selectors", () => {
    const { q, model, cleanup } = renderView(widget, state());
    expect(q("token-a-2")?.textContent).toBe(" b");
    expect(q("token-b-2")?.textContent).toBe(" c");
    expect(q("position-2")?.dataset.differs).toBe("true");
    expect(q("position-1")?.dataset.differs).toBeUndefined();
    expect(q("routing-cell-2")?.textContent).toBe("1");
    expect(q("prediction-2")?.dataset.changed).toBe("true");
    expect(q("compare-view")?.dataset.ready).toBe("true");
    const head = q("head-select") as HTMLSelectElement;
    head.value = "1";
    head.dispatchEvent(new Event("change"));
    expect(model.saved[model.saved.length - 1]).toEqual({ head: 1 });
    const version = Number(q("compare-view")?.dataset.version);
    model.update({ _attr_a: wireArray("float32", [3], Float32Array.from([0, 1, -1])), _attr_b: wireArray("float32", [3], Float32Array.from([0, 2, -1])), _data_id: 2 });
    expect(Number(q("compare-view")?.dataset.version)).toBeGreaterThan(version);
    expect(Number(q("attr-diff-1")?.dataset.score)).toBe(1);
    cleanup();
  });

  it("labels the heatmaps' axes and the lens strip, and gives every colour scale a legend", () => {
    const { q, model, cleanup } = renderView(widget, state());
    for (const name of ["a", "b", "difference"]) {
      expect(q(`query-label-${name}-2`)?.textContent).toBe("␣b");
      expect(q(`key-label-${name}-1`)?.getAttribute("title")).toBe("key 1: a");
    }
    const ticks = (testid: string) => Array.from(q(testid)?.querySelectorAll(".dsv-legend-ticks span") ?? []).map((t) => t.textContent);
    expect(ticks("pattern-legend")).toEqual(["0", "0.5", "1"]);
    expect(q("lens-row-0")?.textContent).toBe("embed");
    expect(q("lens-row-2")?.textContent).toBe("L1 (out)");
    expect(q("lens-col-2")?.textContent).toBe("␣b");
    expect(q("lens-legend")?.textContent).toContain("agrees");
    expect(q("attribution-legend")?.hidden).toBe(true);
    const difference = new Uint16Array(9);
    difference[8] = 0x3800; // 0.5 in float16
    model.update({ _difference: wireArray("float16", [3, 3], difference), _data_id: 2 });
    expect(ticks("difference-legend")).toEqual(["−0.5", "0", "+0.5"]);
    model.update({ _colour_max: 0.4, _data_id: 3 });
    expect(ticks("pattern-legend")).toEqual(["0", "0.2", "≥ 0.4"]); // query 0's weight 1 saturates
    model.update({ _attr_a: wireArray("float32", [3], Float32Array.from([0, 1, -1])), _attr_b: wireArray("float32", [3], Float32Array.from([0, 2, -1])), _data_id: 4 });
    expect(q("attribution-legend")?.hidden).toBe(false);
    expect(q("attr-legend-runs")?.textContent).toContain("+2");
    expect(q("attr-legend-difference")?.textContent).toContain("+1");
    cleanup();
  });

  it("shows a token as text, never HTML, and an error status", () => {
    const hostile = state();
    hostile._tokens_a = [["<img src=x onerror=alert(1)>", 0]];
    const { q, model, cleanup } = renderView(widget, hostile);
    expect(q("token-a-0")?.textContent).toBe("<img src=x onerror=alert(1)>");
    expect(q("token-a-0")?.querySelector("img")).toBeNull();
    model.update({ status: { state: "error", message: "the two models' tokenizers differ" } });
    expect(q("status")?.textContent).toBe("error: the two models' tokenizers differ");
    cleanup();
  });

  it("asks for attributions with the data shown and shows a failure beside the button", async () => {
    const invoke = vi.fn().mockResolvedValue([{ error: "out of memory" }, []]);
    const { q, cleanup } = renderView(widget, state(), { invoke });
    (q("run-attributions") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(q("attribution-error")?.hidden).toBe(false));
    expect(invoke).toHaveBeenCalledWith("_attribute", { data_id: 1 }, expect.anything());
    expect(q("attribution-error")?.textContent).toBe("error: out of memory");
    cleanup();
  });
});
