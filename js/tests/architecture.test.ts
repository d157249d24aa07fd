import { describe, expect, it } from "vitest";
import widget, { type ArchitectureModel, type ArchitectureRoot } from "../src/architecture";
import {
  formatCount,
  groupCount,
  groupLabel,
  groupLayers,
  groupOf,
  layerKind,
  mlpLines,
  attentionLines,
  type Layer,
  type Structure,
} from "../src/lib/architecture/layout";
import { READY } from "../src/lib/status";
import { renderView } from "./fake_model";

const PART = { parameters: 100, dtypes: ["bfloat16"], devices: ["cuda:0"] };
const MLA = {
  kind: "MLA" as const,
  heads: 128,
  kv_heads: 128,
  head_dim: 192,
  v_head_dim: 128,
  q_lora_rank: 1536,
  kv_lora_rank: 512,
  qk_nope_head_dim: 128,
  qk_rope_head_dim: 64,
  index_topk: 0,
  part: PART,
};
const DENSE = {
  kind: "dense" as const,
  intermediate_size: 18432,
  routed_experts: 0,
  groups: 0,
  topk_group: 0,
  top_k: 0,
  shared_experts: 0,
  expert_width: 0,
  router_parameters: 0,
  routed_parameters: 0,
  shared_parameters: 0,
  part: PART,
};
const MOE = {
  ...DENSE,
  kind: "MoE" as const,
  intermediate_size: 0,
  routed_experts: 256,
  groups: 8,
  topk_group: 4,
  top_k: 8,
  shared_experts: 1,
  expert_width: 2048,
  router_parameters: 10,
  routed_parameters: 50,
  shared_parameters: 20,
};

/** DeepSeek-V3's shape: 3 dense layers, 58 MoE layers; `devices(L)` places each layer. */
function v3Layers(devices: (layer: number) => string = () => "cuda:0"): Layer[] {
  return Array.from({ length: 61 }, (_, index) => ({
    index,
    attention: MLA,
    mlp: index < 3 ? DENSE : MOE,
    part: { parameters: index < 3 ? 500 : 1000, dtypes: ["bfloat16"], devices: [devices(index)] },
  }));
}

function structure(layers: Layer[]): Structure {
  return {
    name: "deepseek-ai/DeepSeek-V3",
    family: "deepseek_v3",
    d_model: 7168,
    vocab_size: 129280,
    embedding: PART,
    layers,
    final_norm: { parameters: 7168, dtypes: ["bfloat16"], devices: ["cuda:0"] },
    lm_head: PART,
    tied_embeddings: false,
    parameters: 671_000_000_000,
  };
}

describe("architecture layout", () => {
  it("groups V3's 61 layers into its 3 dense and 58 MoE layers", () => {
    const groups = groupLayers(v3Layers());
    expect(groups.map((g) => [g.first, g.last])).toEqual([
      [0, 2],
      [3, 60],
    ]);
    expect(groupLabel(groups[1])).toBe("layers 3–60: MLA + MoE 256 experts, 8 groups (4 a token), top-8, 1 shared");
    expect(groupLabel(groups[0])).toBe("layers 0–2: MLA + dense 18432");
    expect(groupCount(groups[1])).toBe("58 × 1k = 58k params");
    expect(groupOf(groups, 2)).toBe(0);
    expect(groupOf(groups, 3)).toBe(1);
    expect(groupOf(groups, 61)).toBe(-1);
  });

  it("splits a group where a device map moves the layers to another device", () => {
    const groups = groupLayers(v3Layers((layer) => (layer < 30 ? "cuda:0" : "disk")));
    expect(groups.map((g) => [g.first, g.last])).toEqual([
      [0, 2],
      [3, 29],
      [30, 60],
    ]);
  });

  it("writes counts short and the facts of MLA, GQA and MoE", () => {
    expect(formatCount(671_026_419_200)).toBe("671B");
    expect(formatCount(37_500_000)).toBe("37.5M");
    expect(formatCount(12_800)).toBe("12.8k");
    expect(formatCount(512)).toBe("512");
    const mla = attentionLines(MLA).join("\n");
    expect(mla).toContain("q LoRA rank 1536");
    expect(mla).toContain("kv LoRA rank 512");
    expect(mla).toContain("q/k head dim 192 = nope 128 + rope 64");
    expect(attentionLines({ ...MLA, q_lora_rank: 0 }).join("\n")).toContain("no q LoRA");
    const gqa = attentionLines({ ...MLA, kind: "GQA", heads: 12, kv_heads: 2, head_dim: 128 }).join("\n");
    expect(gqa).toContain("2 kv heads (6 queries share one)");
    expect(mlpLines(MOE).join("\n")).toContain("8 groups, 4 a token may use");
    expect(mlpLines({ ...MOE, groups: 1, topk_group: 1 }).join("\n")).toContain("ungrouped");
    expect(layerKind({ index: 0, attention: MLA, mlp: DENSE, part: PART })).toBe("MLA + dense 18432");
  });
});

function archModel(layers: Layer[] = v3Layers()): ArchitectureModel {
  return { selected_layer: -1, num_layers: layers.length, status: READY, _structure: structure(layers), _data_id: 1 };
}

describe("ArchitectureView", () => {
  it("draws the parts as text, V3's MoE layers collapsed into one group", () => {
    const { q } = renderView(widget, archModel());
    expect(q("arch-embedding")?.textContent).toContain("129,280 × 7168");
    expect(q("arch-group-label-1")?.textContent).toBe("layers 3–60: MLA + MoE 256 experts, 8 groups (4 a token), top-8, 1 shared");
    expect(q("arch-group-layers-1")?.hidden).toBe(true);
    expect(q("arch-group-toggle-1")?.getAttribute("aria-expanded")).toBe("false");
    expect(q("arch-total")?.textContent).toContain("671,000,000,000");
    expect(q("arch-lm-head")?.textContent).toContain("7168 → 129,280");
    expect(q("architecture-view")?.dataset.ready).toBe("true");
  });

  it("expands a group, and a click on a layer selects it in the kernel (a second click clears it)", () => {
    const { q, model } = renderView(widget, archModel());
    q("arch-group-toggle-1")?.click();
    expect(q("arch-group-layers-1")?.hidden).toBe(false);
    q("arch-layer-42")?.click();
    expect(model.saved[model.saved.length - 1]).toEqual({ selected_layer: 42 });
    expect(q("arch-layer-42")?.classList.contains("dsv-on")).toBe(true);
    expect(q("arch-layer-42")?.getAttribute("aria-pressed")).toBe("true");
    expect(q("arch-details")?.textContent).toContain("256 routed experts");
    q("arch-layer-42")?.click();
    expect(model.saved[model.saved.length - 1]).toEqual({ selected_layer: -1 });
    expect(q("arch-details")?.hidden).toBe(true);
  });

  it("opens the group of a layer the kernel selects, and reveals a layer for tests", () => {
    Element.prototype.scrollIntoView = function scrollIntoView(): void {}; // jsdom has none
    const { q, model, el } = renderView(widget, archModel(), { attach: true });
    model.update({ selected_layer: 10 });
    expect(q("arch-group-layers-1")?.hidden).toBe(false);
    expect(q("arch-layer-10")?.classList.contains("dsv-on")).toBe(true);
    const root = el.querySelector('[data-testid="architecture-view"]') as ArchitectureRoot;
    q("arch-group-toggle-1")?.click();
    expect(root.revealLayer(20)).toBe(true);
    expect(q("arch-group-layers-1")?.hidden).toBe(false);
    expect(root.revealLayer(99)).toBe(false);
  });

  it("shows model text as text, never as HTML", () => {
    const layers = v3Layers().slice(0, 2);
    const state = archModel(layers);
    (state._structure as Structure).name = "<img src=x onerror=alert(1)>";
    const { q } = renderView(widget, state);
    expect(q("arch-title")?.textContent).toContain("<img src=x onerror=alert(1)>");
    expect(q("arch-title")?.querySelector("img")).toBeNull();
  });

  it("removes its listeners on cleanup", () => {
    const { model, cleanup } = renderView(widget, archModel());
    expect(model.listenerCount()).toBeGreaterThan(0);
    cleanup();
    expect(model.listenerCount()).toBe(0);
  });
});
