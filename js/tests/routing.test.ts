import { describe, expect, it, vi } from "vitest";
import widget, { stepLayer, type RoutingModel } from "../src/routing";
import { choicesOf, decodeLoad, decodeRouting, decodeTokenChoices, expertWeights, groupsOf, groupWeights, loadAt, loadShares } from "../src/lib/routing/data";
import type { WireArray } from "../src/lib/buffers";
import { columnLayout, expertAt, expertTicks, expertX, groupSpan, labelEvery, labelledRows, MIN_CELL, overviewRowHeight, rowAt, rowHeight, tickWidth } from "../src/lib/routing/layout";
import { isLightColour } from "../src/lib/routing/theme";
import { NORMAL, SPECIAL, type TokenEntry } from "../src/lib/tokens";
import { renderView, wireArray } from "./fake_model";
import { READY } from "../src/lib/status";

/** Little-endian uint16 values of shape `shape`, placed at an odd byteOffset of a larger buffer. */
function uint16View(values: number[], shape: number[]): WireArray {
  const buffer = new ArrayBuffer(values.length * 2 + 3);
  const view = new DataView(buffer, 1, values.length * 2);
  values.forEach((value, i) => view.setUint16(2 * i, value, true));
  return { dtype: "uint16", shape, scale: 1, buffer: view };
}

/** float16 bits of a few exact values. */
const HALF: Record<number, number> = { 0: 0x0000, 0.5: 0x3800, 1: 0x3c00, 2: 0x4000, 0.25: 0x3400, 1.5: 0x3e00 };
const half = (values: number[], shape: number[]): WireArray => wireArray("float16", shape, Uint16Array.from(values.map((v) => HALF[v])));

// 2 MoE layers (1, 2) × 3 tokens × top-2 of 8 experts in 4 groups of 2.
const LAYER1 = [0, 1, 2, 3, 0, 5]; // token 0 → 0, 1; token 1 → 2, 3; token 2 → 0, 5
const LAYER2 = [7, 6, 4, 5, 1, 0];
const WEIGHTS1 = [2, 0.5, 1.5, 1, 1, 1];
const WEIGHTS2 = [2, 0, 1, 1, 0.25, 0.5];
const LOAD = [2, 1, 1, 1, 0, 1, 0, 0, /* layer 2 */ 1, 1, 0, 0, 1, 1, 1, 1];

function routing(layer = 1) {
  const data = decodeRouting(uint16View(layer === 1 ? LAYER1 : LAYER2, [3, 2]), half(layer === 1 ? WEIGHTS1 : WEIGHTS2, [3, 2]), layer);
  if (!data) throw new Error("no routing decoded");
  return data;
}

describe("routing data", () => {
  it("decodes one layer's expert ids and float16 weights, honouring byteOffset", () => {
    const data = routing();
    expect([data.layer, data.n, data.k, data.scale]).toEqual([1, 3, 2, 2]);
    expect(choicesOf(data, 1)).toEqual([
      { expert: 2, weight: 1.5 },
      { expert: 3, weight: 1 },
    ]);
    expect(decodeRouting(null, null, 1)).toBeNull();
    const narrow = half([0, 0, 0], [3, 1]);
    expect(() => decodeRouting(uint16View(LAYER1, [3, 2]), narrow, 1)).toThrow(/disagree/);
  });

  it("decodes the overview's counts and reads loads and shares", () => {
    const load = decodeLoad(uint16View(LOAD, [2, 8]), [1, 2]);
    if (!load) throw new Error("no load decoded");
    expect([load.numExperts, load.peak]).toEqual([8, 2]);
    expect(loadAt(load, 0, 0)).toEqual({ count: 2, share: 2 / 6 });
    expect(loadShares(load, 1).reduce((a, b) => a + b, 0)).toBeCloseTo(1);
    expect(() => decodeLoad(uint16View(LOAD, [2, 8]), [1])).toThrow(/1 MoE layers/);
    expect(decodeLoad(null, [])).toBeNull();
  });

  it("finds an expert's tokens, the groups and group weights of a token", () => {
    const data = routing();
    expect([...expertWeights(data, 0)]).toEqual([2, 0, 1]);
    expect(groupsOf(choicesOf(data, 2), 2)).toEqual([0, 2]);
    expect(groupsOf(choicesOf(data, 0), 2)).toEqual([0]);
    expect(groupsOf(choicesOf(data, 0), 0)).toEqual([]);
    expect([...groupWeights(data, 2, 2, 4)]).toEqual([1, 0, 1, 0]);
    expect([...groupWeights(data, 0, 2, 4)]).toEqual([2.5, 0, 0, 0]);
  });

  it("decodes a token's experts in every layer", () => {
    const choices = decodeTokenChoices(uint16View([0, 5, 1, 0], [2, 2]), half([1, 1, 0.25, 0.5], [2, 2]));
    expect(choices?.[1]).toEqual([
      { expert: 1, weight: 0.25 },
      { expert: 0, weight: 0.5 },
    ]);
    expect(decodeTokenChoices(null, null)).toBeNull();
  });

  it("steps between MoE layers, clamped", () => {
    const layers = Array.from({ length: 58 }, (_, i) => i + 3);
    expect(stepLayer(layers, 3, -1)).toBe(3);
    expect(stepLayer(layers, 3, 1)).toBe(4);
    expect(stepLayer(layers, 60, 1)).toBe(60);
  });
});

describe("routing layout", () => {
  it("lays experts out by group (no shared band: every token uses the shared experts) and hit-tests them back", () => {
    const layout = columnLayout(8, 2, 640);
    expect(layout.cell).toBe(16);
    expect(expertX(layout, 0)).toBe(0);
    expect(expertX(layout, 2) - expertX(layout, 1)).toBe(layout.cell + layout.gap);
    for (let expert = 0; expert < 8; expert++) {
      expect(expertAt(layout, expertX(layout, expert))).toBe(expert);
      expect(expertAt(layout, expertX(layout, expert) + layout.cell - 0.5)).toBe(expert);
    }
    expect(expertAt(layout, -1)).toBe(-1);
    expect(expertAt(layout, expertX(layout, 1) + layout.cell + 1)).toBe(-1); // gap after group 0
    expect(expertAt(layout, layout.width + 5)).toBe(-1);
    expect(groupSpan(layout, 1)).toEqual([expertX(layout, 2), 2 * layout.cell]);
  });

  it("keeps 256 experts in 8 groups legible: 3 px at least, wider than a narrow panel (it scrolls)", () => {
    const narrow = columnLayout(256, 32, 640);
    expect(narrow.cell).toBe(MIN_CELL);
    expect(narrow.width).toBeGreaterThan(640); // the view scrolls inside its panel
    expect(narrow.gap).toBeGreaterThanOrEqual(2); // group boundaries stay visible
    const wide = columnLayout(256, 32, 1400);
    expect(wide.width).toBeLessThanOrEqual(1400);
    expect(wide.cell).toBe(5);
    for (const layout of [narrow, wide]) {
      for (const expert of [0, 31, 32, 200, 255]) expect(expertAt(layout, expertX(layout, expert) + 1)).toBe(expert);
      const [x, width] = groupSpan(layout, 7);
      expect(x + width).toBe(layout.width);
    }
    const ungrouped = columnLayout(64, 0, 640);
    expect(ungrouped.gap).toBe(0);
    expect(expertAt(ungrouped, expertX(ungrouped, 40) + 1)).toBe(40);
  });

  it("gives rows a height that shrinks with the text, and the overview's 58 layers 6 px each", () => {
    expect(rowHeight(10, 420)).toBe(14);
    expect(rowHeight(4096, 420)).toBe(2);
    expect(rowAt(29, 14, 3)).toBe(2);
    expect(rowAt(43, 14, 3)).toBe(-1);
    expect(rowAt(-1, 14, 3)).toBe(-1);
    expect(overviewRowHeight(58)).toBe(6);
    expect(overviewRowHeight(2)).toBe(14);
    expect(labelEvery(6)).toBe(2);
    expect(labelEvery(14)).toBe(1);
  });

  it("thins token labels to one per label height, the selected token always, none overlapping", () => {
    expect(labelledRows(5, 14)).toEqual([0, 1, 2, 3, 4]); // 14 px rows: every token
    expect(labelledRows(128, 3, -1, 14)).toEqual(Array.from({ length: 26 }, (_, i) => i * 5)); // every 5th
    const picked = labelledRows(128, 3, 12, 14);
    expect(picked).toContain(12);
    expect(picked).not.toContain(10); // too close to the selected token's label
    expect(picked).not.toContain(15);
    for (let i = 1; i < picked.length; i++) expect((picked[i] - picked[i - 1]) * 3).toBeGreaterThanOrEqual(6);
    expect(labelledRows(0, 14, 3)).toEqual([]);
    expect(labelledRows(4, 14, 9)).toEqual([0, 1, 2, 3]); // a selection past the end is ignored
  });

  it("thins expert ticks so labels never touch: every 8th of 256 at 3 px, each group's first among them", () => {
    const v3 = columnLayout(256, 32, 640);
    const ticks = expertTicks(256, v3.cell);
    expect(ticks.slice(0, 3)).toEqual([0, 8, 16]);
    expect(ticks).toHaveLength(32);
    for (let group = 0; group < 8; group++) expect(ticks).toContain(group * 32);
    for (let i = 1; i < ticks.length; i++) expect(expertX(v3, ticks[i]) - expertX(v3, ticks[i - 1])).toBeGreaterThanOrEqual(tickWidth(256));
    expect(expertTicks(8, 16)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]); // the bundled model: every expert
    const lite = columnLayout(64, 0, 640); // V2-Lite: 64 ungrouped experts
    const liteTicks = expertTicks(64, lite.cell);
    expect(liteTicks[0]).toBe(0);
    for (let i = 1; i < liteTicks.length; i++) expect((liteTicks[i] - liteTicks[i - 1]) * lite.cell).toBeGreaterThanOrEqual(tickWidth(64));
    expect(expertTicks(0, 3)).toEqual([]);
  });

  it("tells a dark theme by its light text", () => {
    expect(isLightColour("rgb(34, 34, 34)")).toBe(false);
    expect(isLightColour("rgba(255, 255, 255, 0.87)")).toBe(true);
    expect(isLightColour("")).toBe(false);
  });
});

vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null); // jsdom has no 2-D canvas

const TOKENS: TokenEntry[] = [
  ["<bos>", SPECIAL],
  ["<b>hi</b>", NORMAL],
  [" there", NORMAL],
];

function setup(dense = false) {
  const state: RoutingModel = {
    text: "<b>hi</b> there",
    status: READY,
    _seq: 0,
    layer: 1,
    selected_token: -1,
    selected_expert: -1,
    family: dense ? "llama" : "deepseek_v3",
    moe_layers: dense ? [] : [1, 2],
    num_experts: dense ? 0 : 8,
    num_shared: dense ? 0 : 1,
    top_k: 2,
    group_size: dense ? 0 : 2,
    _tokens: TOKENS,
    _load: dense ? null : uint16View(LOAD, [2, 8]),
    _experts: dense ? null : uint16View(LAYER1, [3, 2]),
    _weights: dense ? null : half(WEIGHTS1, [3, 2]),
    _routed_layer: dense ? -1 : 1,
    _token_experts: null,
    _token_weights: null,
    _token_at: -1,
    _corpus_load: wireArray("uint8", [2, 8], new Uint8Array(16).fill(32)),
    _data_id: 1,
  };
  return renderView(widget, state);
}

describe("routing widget", () => {
  it("draws the overview with group labels, bars per expert, the shared band and a layer select", () => {
    const { q, el } = setup();
    expect(q("routing-view")?.dataset.ready).toBe("true");
    expect(q("routing-overview")?.dataset.ready).toBe("true");
    expect(q("no-moe")?.hidden).toBe(true);
    expect(el.querySelectorAll('[data-testid^="overview-group-"]')).toHaveLength(4);
    expect(q("overview-layer-2")?.textContent).toBe("L2");
    expect(el.querySelectorAll('[data-testid^="expert-1-"]')).toHaveLength(8);
    expect(q("shared-experts")?.textContent).toBe("+ 1 shared expert, always on for every token (weight 1, not drawn)");
    expect(q("token-axis-title")?.textContent).toBe("token ↓");
    expect(q("expert-axis-title")?.textContent).toBe("routed expert (grouped)");
    expect(q("group-axis-title")?.textContent).toBe("group");
    // every token labels its row (14 px rows), as text: never parsed as HTML
    expect(q("row-label-1")?.textContent).toBe("<b>hi</b>");
    expect(q("row-label-2")?.textContent).toBe("␣there");
    expect(q("row-label-2")?.title).toBe("2: ␣there");
    expect(el.querySelectorAll('[data-testid^="expert-tick-"]')).toHaveLength(8);
    expect(q("group-label-1")?.title).toBe("routing group 1: experts 2–3");
    expect(el.querySelectorAll('[data-testid^="group-tick-"]')).toHaveLength(4);
    // the legends: the gate weight's scale (0 … the layer's largest weight, 2), the groups', the load's
    const ticks = [...el.querySelectorAll('[data-testid="weight-legend-tick"]')].map((tick) => tick.textContent);
    expect(ticks).toEqual(["0", "1", "2"]);
    expect(el.querySelectorAll('[data-testid="group-legend-tick"]')).toHaveLength(3);
    expect(q("legend-chosen-group")).not.toBeNull();
    expect(q("legend-turned-off")?.textContent).toBe("expert turned off");
    expect([...el.querySelectorAll('[data-testid="load-legend-tick"]')].map((tick) => tick.textContent)).toEqual(["0", "1", "2"]);
    expect((q("layer-select") as HTMLSelectElement).value).toBe("1");
    expect((q("layer-prev") as HTMLButtonElement).disabled).toBe(true);
    expect(q("routing-caption")?.textContent).toBe("layer 1 · top-2 of 8 routed experts in 4 groups of 2");
    expect(q("routing-groups")).not.toBeNull();
    expect(q("token-1")?.textContent).toBe("<b>hi</b>");
    expect(el.querySelector("b")?.textContent).not.toBe("hi"); // token text is never parsed as HTML
  });

  it("marks the tokens of a clicked expert, lists a token's experts, and asks for another layer", () => {
    const { q, model } = setup();
    q("expert-1-0")?.click();
    expect(model.get("selected_expert")).toBe(0);
    expect(q("token-0")?.dataset.routed).toBe("2"); // BOS went to expert 0 with weight 2
    expect(q("token-1")?.dataset.routed).toBeUndefined();
    expect(q("token-2")?.classList.contains("dsv-routed")).toBe(true);
    q("token-2")?.click();
    expect(model.get("selected_token")).toBe(2);
    expect(q("token-experts-1")?.textContent).toContain("E0"); // the layer shown, before Python answers
    expect(q("token-experts-2")).toBeNull();
    model.update({ _token_experts: uint16View([0, 5, 1, 0], [2, 2]), _token_weights: half([1, 1, 0.25, 0.5], [2, 2]), _token_at: 2 });
    expect(q("token-experts-1")?.textContent).toContain("E0");
    expect(q("token-experts-1")?.textContent).toContain("groups 0, 2");
    expect(q("token-experts-2")?.textContent).toContain("E1");
    q("layer-next")?.click();
    expect(model.get("layer")).toBe(2);
    expect(model.saved[model.saved.length - 1]).toEqual({ layer: 2 });
    expect(q("routing-caption")?.textContent).toBe("layer 2 · loading…"); // until Python sends layer 2
    model.update({ _experts: uint16View(LAYER2, [3, 2]), _weights: half(WEIGHTS2, [3, 2]), _routed_layer: 2, _data_id: 2 });
    expect(q("expert-1-0")).toBeNull();
    expect(q("expert-2-0")?.classList.contains("dsv-on")).toBe(true);
    expect(q("token-2")?.dataset.routed).toBeDefined(); // token 2 went to expert 0 in layer 2 as well
    const select = q("layer-select") as HTMLSelectElement;
    select.value = "1";
    select.dispatchEvent(new Event("change"));
    expect(model.get("layer")).toBe(1);
  });

  it("labels 64 ungrouped experts (V2-Lite) without groups: thinned ticks, no group strip or group legend", () => {
    const experts = [0, 63, 10, 20, 40, 41];
    const state: RoutingModel = {
      text: "hi there",
      status: READY,
      _seq: 0,
      layer: 1,
      selected_token: -1,
      selected_expert: -1,
      family: "deepseek_v2",
      moe_layers: [1],
      num_experts: 64,
      num_shared: 2,
      top_k: 2,
      group_size: 0,
      _tokens: TOKENS,
      _load: uint16View(Array.from({ length: 64 }, (_, e) => (experts.includes(e) ? 1 : 0)), [1, 64]),
      _experts: uint16View(experts, [3, 2]),
      _weights: half(WEIGHTS1, [3, 2]),
      _routed_layer: 1,
      _token_experts: null,
      _token_weights: null,
      _token_at: -1,
      _corpus_load: null,
      _data_id: 1,
    };
    const { q, el } = renderView(widget, state);
    expect(q("expert-axis-title")?.textContent).toBe("routed expert");
    const ticks = [...el.querySelectorAll<HTMLElement>('[data-testid^="expert-tick-"]')].map((tick) => Number(tick.textContent));
    expect(ticks[0]).toBe(0);
    expect(ticks.length).toBeGreaterThan(4);
    expect(ticks.length).toBeLessThan(64);
    expect(el.querySelectorAll('[data-testid^="group-label-"]')).toHaveLength(0);
    expect(q("group-legend")).toBeNull();
    expect(q("legend-chosen-group")).toBeNull();
    expect(q("shared-experts")?.textContent).toBe("+ 2 shared experts, always on for every token (weight 1, not drawn)");
  });

  it("redraws when new data arrives and shows the no-MoE state for dense models", () => {
    const { q, model, cleanup } = setup();
    const before = Number(q("routing-view")?.dataset.version);
    model.update({ _tokens: TOKENS.slice(0, 2), _seq: 0, _data_id: 2, _experts: null, _weights: null, _load: null });
    expect(Number(q("routing-view")?.dataset.version)).toBe(before + 1);
    expect(q("token-2")).toBeNull();
    cleanup();
    expect([...model.handlers.values()].every((set) => set.size === 0)).toBe(true);
    const dense = setup(true);
    expect(dense.q("no-moe")?.hidden).toBe(false);
    expect(dense.q("no-moe")?.textContent).toContain("llama has no MoE layers");
  });
});
