// The ArchitectureView's data and words (src/deepseek_viz/widgets/architecture_view.py): the structure
// Python sends (model/structure.py's ModelStructure.to_dict()), consecutive layers of one kind grouped,
// and the text of each part. Pure functions: the drawing is in js/src/architecture.ts.

/** Mirrors model/structure.py's Part. */
export interface Part {
  parameters: number;
  dtypes: string[];
  devices: string[];
}

/** Mirrors AttentionStructure. */
export interface Attention {
  kind: "MLA" | "GQA" | "MHA";
  heads: number;
  kv_heads: number;
  head_dim: number;
  v_head_dim: number;
  q_lora_rank: number;
  kv_lora_rank: number;
  qk_nope_head_dim: number;
  qk_rope_head_dim: number;
  index_topk: number;
  part: Part;
}

/** Mirrors MLPStructure. */
export interface MLP {
  kind: "dense" | "MoE";
  intermediate_size: number;
  routed_experts: number;
  groups: number;
  topk_group: number;
  top_k: number;
  shared_experts: number;
  expert_width: number;
  router_parameters: number;
  routed_parameters: number;
  shared_parameters: number;
  part: Part;
}

/** Mirrors LayerStructure. */
export interface Layer {
  index: number;
  attention: Attention;
  mlp: MLP;
  part: Part;
}

/** Mirrors ModelStructure (as its to_dict() sends it). */
export interface Structure {
  name: string;
  family: string;
  d_model: number;
  vocab_size: number;
  embedding: Part;
  layers: Layer[];
  final_norm: Part;
  lm_head: Part;
  tied_embeddings: boolean;
  parameters: number;
}

/** Consecutive layers `first … last` of one kind, on the same devices and dtypes. */
export interface LayerGroup {
  first: number;
  last: number;
  kind: string;
  layers: Layer[];
}

/** A parameter count in a few characters: 671B, 37.5M, 12.8k, 512. */
export function formatCount(count: number): string {
  const units: [number, string][] = [
    [1e12, "T"],
    [1e9, "B"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [size, unit] of units) {
    if (Math.abs(count) >= size) {
      const value = count / size;
      return `${String(Number(value.toPrecision(3)))}${unit}`;
    }
  }
  return String(count);
}

/** "dense 18432" or "MoE 256 experts, 8 groups (4 a token), top-8, 1 shared" (as Python's describe_mlp). */
export function mlpKind(mlp: MLP): string {
  if (mlp.kind !== "MoE") return `dense ${String(mlp.intermediate_size)}`;
  const groups = mlp.groups > 1 ? `, ${String(mlp.groups)} groups (${String(mlp.topk_group)} a token)` : "";
  return `MoE ${String(mlp.routed_experts)} experts${groups}, top-${String(mlp.top_k)}, ${String(mlp.shared_experts)} shared`;
}

/** What a layer is, in words: "MLA + MoE 256 experts, …" (as Python's LayerStructure.kind). */
export function layerKind(layer: Layer): string {
  return `${layer.attention.kind} + ${mlpKind(layer.mlp)}`;
}

function placementKey(part: Part): string {
  return `${part.devices.join(",")}|${part.dtypes.join(",")}`;
}

/** Consecutive layers of one kind on the same devices and dtypes, in order (Python's runs()). */
export function groupLayers(layers: Layer[]): LayerGroup[] {
  const groups: LayerGroup[] = [];
  let key = "";
  for (const layer of layers) {
    const kind = layerKind(layer);
    const this_ = `${kind}|${placementKey(layer.part)}`;
    const last = groups[groups.length - 1];
    if (last && this_ === key) {
      last.last = layer.index;
      last.layers.push(layer);
    } else {
      groups.push({ first: layer.index, last: layer.index, kind, layers: [layer] });
    }
    key = this_;
  }
  return groups;
}

/** The group holding `layer`, or -1. */
export function groupOf(groups: LayerGroup[], layer: number): number {
  return groups.findIndex((group) => group.first <= layer && layer <= group.last);
}

/** "layer 0: MLA + dense 18432" or "layers 3–60: MLA + MoE 256 experts, …". */
export function groupLabel(group: LayerGroup): string {
  const where = group.first === group.last ? `layer ${String(group.first)}` : `layers ${String(group.first)}–${String(group.last)}`;
  return `${where}: ${group.kind}`;
}

/** Parameters of a group: "58 × 11.3B = 654B" (or one layer's count). */
export function groupCount(group: LayerGroup): string {
  const counts = group.layers.map((layer) => layer.part.parameters);
  const total = counts.reduce((sum, value) => sum + value, 0);
  if (counts.length === 1) return `${formatCount(total)} params`;
  const same = counts.every((value) => value === counts[0]);
  return same
    ? `${String(counts.length)} × ${formatCount(counts[0])} = ${formatCount(total)} params`
    : `${String(counts.length)} layers, ${formatCount(total)} params`;
}

/** "bfloat16 · cuda:0" (a part split over devices lists them all; a part with no weights says so). */
export function placementText(part: Part): string {
  if (part.dtypes.length === 0 && part.devices.length === 0) return "no weights";
  return `${part.dtypes.join(", ")} · ${part.devices.join(", ")}`;
}

/** The facts of one layer's attention, one per line. */
export function attentionLines(attention: Attention): string[] {
  const lines = [`${attention.kind}: ${String(attention.heads)} heads`];
  if (attention.kind === "MLA") {
    lines.push(attention.q_lora_rank > 0 ? `q LoRA rank ${String(attention.q_lora_rank)}` : "q projected directly (no q LoRA)");
    lines.push(`kv LoRA rank ${String(attention.kv_lora_rank)}`);
    lines.push(
      `q/k head dim ${String(attention.head_dim)} = nope ${String(attention.qk_nope_head_dim)} + rope ${String(attention.qk_rope_head_dim)}`,
    );
    lines.push(`v head dim ${String(attention.v_head_dim)}`);
    if (attention.index_topk > 0) lines.push(`sparse indexer: top-${String(attention.index_topk)} keys a query`);
  } else {
    lines.push(`${String(attention.kv_heads)} kv heads${attention.kind === "GQA" ? ` (${String(attention.heads / attention.kv_heads)} queries share one)` : ""}`);
    lines.push(`head dim ${String(attention.head_dim)}`);
  }
  lines.push(`${formatCount(attention.part.parameters)} params · ${placementText(attention.part)}`);
  return lines;
}

/** The facts of one layer's MLP, one per line. */
export function mlpLines(mlp: MLP): string[] {
  if (mlp.kind !== "MoE") {
    return [`dense MLP: intermediate size ${String(mlp.intermediate_size)}`, `${formatCount(mlp.part.parameters)} params · ${placementText(mlp.part)}`];
  }
  const lines = [`MoE: ${String(mlp.routed_experts)} routed experts, top-${String(mlp.top_k)} a token`];
  lines.push(mlp.groups > 1 ? `${String(mlp.groups)} groups, ${String(mlp.topk_group)} a token may use` : "ungrouped routing");
  lines.push(`${String(mlp.shared_experts)} shared expert${mlp.shared_experts === 1 ? "" : "s"}, expert width ${String(mlp.expert_width)}`);
  lines.push(
    `router ${formatCount(mlp.router_parameters)} · routed ${formatCount(mlp.routed_parameters)} · shared ${formatCount(mlp.shared_parameters)} params`,
  );
  lines.push(`${formatCount(mlp.part.parameters)} params · ${placementText(mlp.part)}`);
  return lines;
}
