import { describe, expect, it, vi } from "vitest";
import widget, { type RoutingModel } from "../src/routing";
import { choicesOf, decodeRouting, expertLoad, expertWeights, groupsOf } from "../src/lib/routing/data";
import type { WireArray } from "../src/lib/buffers";
import { columnLayout, expertAt, expertX, groupSpan, rowAt, rowHeight, SHARED_BAND } from "../src/lib/routing/layout";
import { NORMAL, SPECIAL, type TokenEntry } from "../src/lib/tokens";
import { renderView, wireArray } from "./fake_model";
import { READY } from "../src/lib/status";

/** Little-endian uint16 expert ids `[2, 3, 2]`, placed at an odd byteOffset of a larger buffer. */
function uint16View(values: number[]): WireArray {
  const buffer = new ArrayBuffer(values.length * 2 + 3);
  const view = new DataView(buffer, 1, values.length * 2);
  values.forEach((value, i) => view.setUint16(2 * i, value, true));
  return { dtype: "uint16", shape: [2, 3, 2], scale: 1, buffer: view };
}

// 2 MoE layers (1, 2) × 3 tokens × top-2 of 8 experts in 4 groups of 2.
const EXPERTS = [
  [0, 1, 2, 3, 0, 5], // layer 1: token 0 → 0, 1; token 1 → 2, 3; token 2 → 0, 5
  [7, 6, 4, 5, 1, 0], // layer 2
].flat();
const WEIGHTS = [255, 51, 204, 102, 153, 153, 255, 0, 128, 128, 1, 2];
const weightsOf = (): WireArray => wireArray("uint8", [2, 3, 2], Uint8Array.from(WEIGHTS), 2);

function routing() {
  const data = decodeRouting(uint16View(EXPERTS), weightsOf(), [1, 2]);
  if (!data) throw new Error("no routing decoded");
  return data;
}

describe("routing data", () => {
  it("decodes expert ids and weights, honouring byteOffset", () => {
    const data = routing();
    expect([data.n, data.k, data.scale]).toEqual([3, 2, 2]);
    expect(choicesOf(data, 0, 1)).toEqual([
      { expert: 2, weight: expect.closeTo(1.6, 5) },
      { expert: 3, weight: expect.closeTo(0.8, 5) },
    ]);
    expect(choicesOf(data, 1, 0).map((c) => c.expert)).toEqual([7, 6]);
    expect(data.layers).toEqual([1, 2]);
    expect(decodeRouting(null, null, [])).toBeNull();
  });

  it("rejects buffers whose shapes disagree", () => {
    const narrow = wireArray("uint8", [2, 3, 1], new Uint8Array(6));
    expect(() => decodeRouting(uint16View(EXPERTS), narrow, [1, 2])).toThrow(/disagree/);
    expect(() => decodeRouting(uint16View(EXPERTS), weightsOf(), [1])).toThrow(/1 MoE layers/);
  });

  it("finds an expert's tokens and each expert's load, skipping special tokens", () => {
    const data = routing();
    expect([...expertWeights(data, 0, 0)].map((w) => +w.toFixed(2))).toEqual([2, 0, 1.2]);
    const all = expertLoad(data, 0, 8, () => true);
    expect(all[0]).toBeCloseTo(2 / 6);
    expect(all.reduce((a, b) => a + b, 0)).toBeCloseTo(1);
    const noFirst = expertLoad(data, 0, 8, (token) => token > 0);
    expect(noFirst[1]).toBe(0);
    expect(noFirst[0]).toBeCloseTo(1 / 4);
  });

  it("names the routing groups a token's experts fall in", () => {
    const data = routing();
    expect(groupsOf(choicesOf(data, 0, 2), 2)).toEqual([0, 2]);
    expect(groupsOf(choicesOf(data, 0, 0), 2)).toEqual([0]);
    expect(groupsOf(choicesOf(data, 0, 0), 0)).toEqual([]);
  });
});

describe("routing layout", () => {
  it("lays experts out by group after the shared band and hit-tests them back", () => {
    const layout = columnLayout(8, 2, 1, 640);
    expect(layout.cell).toBe(16);
    expect(expertX(layout, 0)).toBe(SHARED_BAND + 4);
    expect(expertX(layout, 2) - expertX(layout, 1)).toBe(layout.cell + layout.gap);
    for (let expert = 0; expert < 8; expert++) {
      expect(expertAt(layout, expertX(layout, expert))).toBe(expert);
      expect(expertAt(layout, expertX(layout, expert) + layout.cell - 0.5)).toBe(expert);
    }
    expect(expertAt(layout, 3)).toBe(-1); // shared band
    expect(expertAt(layout, expertX(layout, 1) + layout.cell + 1)).toBe(-1); // gap after group 0
    expect(expertAt(layout, layout.width + 5)).toBe(-1);
    expect(groupSpan(layout, 1)).toEqual([expertX(layout, 2), 2 * layout.cell]);
  });

  it("fits 256 experts in 8 groups into the width", () => {
    const layout = columnLayout(256, 32, 1, 640);
    expect(layout.width).toBeLessThanOrEqual(640);
    expect(layout.cell).toBe(2);
    expect(expertAt(layout, expertX(layout, 255))).toBe(255);
    const ungrouped = columnLayout(64, 0, 0, 640);
    expect(ungrouped.gap).toBe(0);
    expect(expertAt(ungrouped, expertX(ungrouped, 40) + 1)).toBe(40);
  });

  it("gives rows a height that shrinks with the text", () => {
    expect(rowHeight(10, 420)).toBe(14);
    expect(rowHeight(4096, 420)).toBe(2);
    expect(rowAt(29, 14, 3)).toBe(2);
    expect(rowAt(43, 14, 3)).toBe(-1);
    expect(rowAt(-1, 14, 3)).toBe(-1);
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
    _experts: dense ? null : uint16View(EXPERTS),
    _weights: dense ? null : weightsOf(),
    _corpus_load: wireArray("uint8", [2, 8], new Uint8Array(16).fill(32)),
    _data_id: 1,
  };
  return renderView(widget, state);
}

describe("routing widget", () => {
  it("draws bars per expert, the shared band and a layer picker", () => {
    const { q, el } = setup();
    expect(q("routing-view")?.dataset.ready).toBe("true");
    expect(q("no-moe")?.hidden).toBe(true);
    expect(el.querySelectorAll('[data-testid^="expert-1-"]')).toHaveLength(8);
    expect(q("shared-experts")?.textContent).toBe("shared ×1");
    expect(q("moe-layer-1")?.classList.contains("dsv-on")).toBe(true);
    expect(q("routing-caption")?.textContent).toBe("layer 1 · top-2 of 8 routed experts in 4 groups of 2");
    expect(q("token-1")?.textContent).toBe("<b>hi</b>");
    expect(el.querySelector("b")?.textContent).not.toBe("hi"); // token text is never parsed as HTML
  });

  it("marks the tokens of a clicked expert and lists a clicked token's experts", () => {
    const { q, model } = setup();
    q("expert-1-0")?.click();
    expect(model.get("selected_expert")).toBe(0);
    expect(q("token-0")?.dataset.routed).toBe("2"); // BOS went to expert 0 with weight 2
    expect(q("token-1")?.dataset.routed).toBeUndefined();
    expect(q("token-2")?.classList.contains("dsv-routed")).toBe(true);
    q("token-2")?.click();
    expect(model.get("selected_token")).toBe(2);
    expect(q("token-experts-1")?.textContent).toContain("E0");
    expect(q("token-experts-1")?.textContent).toContain("groups 0, 2");
    expect(q("token-experts-2")?.textContent).toContain("E1");
    q("moe-layer-2")?.click();
    expect(model.get("layer")).toBe(2);
    expect(q("expert-1-0")).toBeNull();
    expect(q("expert-2-0")?.classList.contains("dsv-on")).toBe(true);
    expect(q("token-2")?.dataset.routed).toBeDefined(); // token 2 went to expert 0 in layer 2 as well
  });

  it("redraws when new data arrives and shows the no-MoE state for dense models", () => {
    const { q, model, cleanup } = setup();
    const before = Number(q("routing-view")?.dataset.version);
    model.update({ _tokens: TOKENS.slice(0, 2), _seq: 0, _data_id: 2, _experts: null, _weights: null });
    expect(Number(q("routing-view")?.dataset.version)).toBe(before + 1);
    expect(q("token-2")).toBeNull();
    cleanup();
    expect([...model.handlers.values()].every((set) => set.size === 0)).toBe(true);
    const dense = setup(true);
    expect(dense.q("no-moe")?.hidden).toBe(false);
    expect(dense.q("no-moe")?.textContent).toContain("llama has no MoE layers");
  });
});
