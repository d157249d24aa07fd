import { describe, expect, it, vi } from "vitest";
import { describeChange, unitsOff, type InterventionEntry } from "../src/lib/interventions/format";
import { InterventionsPanel } from "../src/lib/interventions/panel";
import attentionWidget, { type AttentionModel } from "../src/attention";
import type { HeadGridElement } from "../src/lib/overview/overview";
import predictionWidget, { type PredictionModel } from "../src/predictions";
import routingWidget, { type RoutingModel } from "../src/routing";
import { READY } from "../src/lib/status";
import { NORMAL, SPECIAL } from "../src/lib/tokens";
import { renderView, wireArray } from "./fake_model";
import { formatProb, formatSigned } from "../src/lib/format";

const ENTRIES: InterventionEntry[] = [
  { label: "L0 head 1 off", kind: "head", layer: 0, unit: 1 },
  { label: "L1 expert 3 off", kind: "expert", layer: 1, unit: 3 },
  { label: "L0 heads 0, 1 ×2", kind: "other", layer: 0, unit: -1 },
];

describe("before → after text", () => {
  it("shows the original top token's probability before and after, with the signed change", () => {
    const text = describeChange({ at: 3, before: ["flu", 0.41], after: ["flu", 0.33], then: 0.33, bound: 0.01 });
    expect(text).toEqual({ main: "flu 0.41 → 0.33 (−0.08)", now: null });
  });
  it("names the new top token when it changed, and a bound when the old one left the top-k", () => {
    const text = describeChange({ at: 0, before: [" flu", 0.41], after: ["cold", 0.35], then: null, bound: 0.004 }, (t) => t.replace(" ", "·"));
    expect(text.main).toBe("·flu 0.41 → <0.004 (≤ −0.41)");
    expect(text.now).toBe("now cold 0.35");
  });
  it("formats probabilities and signed changes", () => {
    expect([formatProb(0.5), formatProb(0.004), formatProb(0)]).toEqual(["0.50", "0.004", "0.00"]);
    expect([formatSigned(0.12), formatSigned(-0.29), formatSigned(0), formatSigned(0.004)]).toEqual(["+0.12", "−0.29", "±0.00", "+0.004"]);
  });
  it("keys the heads and the experts that are off", () => {
    expect([...unitsOff(ENTRIES, "head")]).toEqual(["0-1"]);
    expect([...unitsOff(ENTRIES, "expert")]).toEqual(["1-3"]);
  });
});

describe("the interventions list", () => {
  it("lists each entry as text with a ×, and sends remove and clear", async () => {
    const send = vi.fn().mockResolvedValue(undefined);
    const panel = new InterventionsPanel(send, "a head");
    const q = (id: string) => panel.root.querySelector<HTMLElement>(`[data-testid="${id}"]`);
    expect(q("interventions-clear")?.hidden).toBe(true);
    panel.setItems([...ENTRIES, { label: "<b>x</b>", kind: "other", layer: 0, unit: -1 }]);
    expect(q("intervention-0")?.textContent).toContain("L0 head 1 off");
    expect(q("intervention-3")?.querySelector("b")).toBeNull(); // labels are text, never HTML
    expect(q("intervention-3")?.textContent).toContain("<b>x</b>");
    q("intervention-remove-1")?.click();
    q("interventions-clear")?.click();
    expect(send.mock.calls).toEqual([[{ action: "remove", index: 1 }], [{ action: "clear" }]]);
  });
  it("shows a failed change's error, and clears it after one that worked", async () => {
    const send = vi.fn().mockRejectedValueOnce(new Error("layer 0 is dense")).mockResolvedValue(undefined);
    const panel = new InterventionsPanel(send, "an expert");
    const error = panel.root.querySelector<HTMLElement>('[data-testid="interventions-error"]');
    panel.run({ action: "toggle_expert", layer: 0, expert: 1 });
    await vi.waitFor(() => expect(error?.textContent).toBe("error: layer 0 is dense"));
    panel.run({ action: "clear" });
    await vi.waitFor(() => expect(error?.hidden).toBe(true));
  });
  it("hides the ablate toggle in a view that only lists", () => {
    const panel = new InterventionsPanel(vi.fn(), null);
    const mode = panel.root.querySelector<HTMLInputElement>('[data-testid="ablate-mode"]');
    expect(mode?.parentElement?.hidden).toBe(true);
    expect(panel.ablating()).toBe(false);
  });
});

function routingState(): RoutingModel {
  const ids = (values: number[]) => wireArray("uint16", [3, 2], Uint16Array.from(values));
  return {
    text: "hi there",
    status: READY,
    _seq: 0,
    layer: 1,
    selected_token: -1,
    selected_expert: -1,
    family: "deepseek_v3",
    moe_layers: [1, 2],
    num_experts: 8,
    num_shared: 1,
    top_k: 2,
    group_size: 2,
    _tokens: [
      ["<bos>", SPECIAL],
      ["hi", NORMAL],
      [" there", NORMAL],
    ],
    _load: wireArray("uint16", [2, 8], Uint16Array.from([2, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1])),
    _experts: ids([0, 1, 2, 3, 0, 5]),
    _weights: wireArray("float16", [3, 2], Uint16Array.from([0x3c00, 0x3800, 0x3c00, 0x3800, 0x3c00, 0x3800])),
    _routed_layer: 1,
    _token_experts: null,
    _token_weights: null,
    _token_at: -1,
    _corpus_load: null,
    _data_id: 1,
    _interventions: [],
  };
}

describe("routing view: turning experts off", () => {
  it("alt-click on an expert's bar sends toggle_expert for the layer shown; a plain click selects", () => {
    const invoke = vi.fn().mockResolvedValue([{ interventions: [] }, []]);
    const { model, q, cleanup } = renderView(routingWidget, routingState(), { invoke });
    q("expert-1-3")?.dispatchEvent(new MouseEvent("click", { bubbles: true, altKey: true }));
    expect(invoke).toHaveBeenCalledWith("_intervene", { action: "toggle_expert", layer: 1, expert: 3 }, expect.anything());
    expect(model.get("selected_expert")).toBe(-1);
    q("expert-1-2")?.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    expect(model.get("selected_expert")).toBe(2);
    expect(invoke).toHaveBeenCalledTimes(1);
    cleanup();
  });
  it("with the ablate toggle on, a plain click turns an expert off; the ones off are marked", () => {
    const invoke = vi.fn().mockResolvedValue([{ interventions: [] }, []]);
    const { model, q, cleanup } = renderView(routingWidget, routingState(), { invoke });
    (q("ablate-mode") as HTMLInputElement).checked = true;
    q("expert-1-4")?.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    expect(invoke).toHaveBeenCalledWith("_intervene", { action: "toggle_expert", layer: 1, expert: 4 }, expect.anything());
    model.update({ _interventions: [ENTRIES[1]] });
    expect(q("expert-1-3")?.classList.contains("dsv-ablated")).toBe(true);
    expect(q("expert-1-4")?.classList.contains("dsv-ablated")).toBe(false);
    expect(q("intervention-0")?.textContent).toContain("L1 expert 3 off");
    cleanup();
  });
});

describe("attention view: turning heads off", () => {
  function setupAttention() {
    const invoke = vi.fn(async (name: string, msg: unknown) => [{ name, msg }, []] as [unknown, DataView[]]);
    const n = 2;
    const state = {
      text: "Hello world",
      status: READY,
      _seq: 0,
      layer: 0,
      heads: [0],
      selected_token: -1,
      num_layers: 3,
      num_heads: 4,
      _tokens: [
        ["Hello", NORMAL],
        [" world", NORMAL],
      ],
      _heatmap: wireArray("uint8", [n, n], Uint8Array.of(255, 0, 128, 128)),
      _heatmap_block: 1,
      _colour_max: 0.5,
      _thumbnails: wireArray("uint8", [3, 4, 2, 2], new Uint8Array(3 * 4 * 4)),
      _head_scores: null,
      _layer_heads: null,
      _layer_heads_layer: -1,
      _data_id: 1,
      _interventions: [],
    } as unknown as AttentionModel;
    return { ...renderView(attentionWidget, state, { invoke }), invoke };
  }
  function clickHead(el: HTMLElement, layer: number, head: number, init: MouseEventInit = {}): void {
    const grid = el.querySelector<HeadGridElement>('[data-testid="head-grid"]');
    const { x, y } = grid?.revealHead(layer, head) ?? { x: 0, y: 0 };
    grid?.querySelector(".dsv-overview-view")?.dispatchEvent(new MouseEvent("click", { bubbles: true, clientX: x, clientY: y, ...init }));
  }

  it("alt-click on a head sends toggle_head and keeps the selection; the heads off are hatched marks", () => {
    const { el, model, q, invoke, cleanup } = setupAttention();
    clickHead(el, 2, 3, { altKey: true });
    expect(invoke).toHaveBeenCalledWith("_intervene", { action: "toggle_head", layer: 2, head: 3 }, expect.anything());
    expect([model.get("layer"), model.get("heads")]).toEqual([0, [0]]);
    model.update({ _interventions: [{ label: "L2 head 3 off", kind: "head", layer: 2, unit: 3 }] });
    const mark = q("head-2-3");
    expect(mark?.classList.contains("dsv-ablated")).toBe(true);
    expect(mark?.getAttribute("aria-label")).toContain("turned off");
    clickHead(el, 1, 2);
    expect([model.get("layer"), model.get("heads")]).toEqual([1, [2]]); // a plain click still selects
    expect(invoke).toHaveBeenCalledTimes(1);
    cleanup();
  });
  it("with the ablate toggle on, Enter on the focused head turns it off", () => {
    const { q, invoke, cleanup } = setupAttention();
    (q("ablate-mode") as HTMLInputElement).checked = true;
    q("head-grid")?.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(invoke).toHaveBeenCalledWith("_intervene", { action: "toggle_head", layer: 0, head: 0 }, expect.anything());
    cleanup();
  });
});

describe("prediction view: before → after", () => {
  it("shows the original top token against the intervened run, as text, and hides it with none", () => {
    const state = {
      text: "Hello",
      status: READY,
      _seq: 0,
      selected_token: -1,
      k: 2,
      num_layers: 1,
      _tokens: [
        ["<bos>", SPECIAL],
        ["Hello", NORMAL],
      ],
      _strings: [],
      _lens_ids: null,
      _lens_probs: null,
      _lens_start: 0,
      _predictions: [["cold", 0.35]],
      _predictions_at: 1,
      _data_id: 1,
      _interventions: [ENTRIES[0]],
      _change: { at: 1, before: ["<i>flu</i>", 0.41], after: ["cold", 0.35], then: 0.12, bound: 0.01 },
    } as unknown as PredictionModel;
    const { q, model, cleanup } = renderView(predictionWidget, state, { attach: true });
    expect(q("change-main")?.textContent).toBe("<i>flu</i> 0.41 → 0.12 (−0.29)");
    expect(q("change-main")?.querySelector("i")).toBeNull();
    expect(q("change-now")?.textContent).toBe("now cold 0.35");
    expect(q("intervention-0")?.textContent).toContain("L0 head 1 off");
    model.update({ _change: null, _interventions: [] });
    expect(q("prediction-change")?.hidden).toBe(true);
    expect(q("intervention-0")).toBeNull();
    cleanup();
  });
});
