// ArchitectureView (src/deepseek_viz/widgets/architecture_view.py): the model's structure as a drawing —
// embedding, groups of consecutive layers of one kind (expandable into their layers), final norm, LM
// head — all DOM text. A layer is a button (Tab, Enter): it sets `selected_layer` in the kernel.

import type { RenderProps } from "@anywidget/types";
import { element, markDrawn } from "./lib/dom";
import { listen } from "./lib/model";
import { renderStatus, type Status } from "./lib/status";
import { STYLES } from "./lib/styles";
import {
  attentionLines,
  formatCount,
  groupCount,
  groupLabel,
  groupLayers,
  groupOf,
  mlpLines,
  placementText,
  type Layer,
  type LayerGroup,
  type Part,
  type Structure,
} from "./lib/architecture/layout";
import { ARCHITECTURE_STYLES } from "./lib/architecture/styles";

/** Mirrors the synced traits of ArchitectureView. */
export interface ArchitectureModel {
  selected_layer: number;
  num_layers: number;
  status: Status;
  /** ModelStructure.to_dict(): small facts, JSON. */
  _structure: Structure | Record<string, never>;
  _data_id: number;
}

/** The root element, with the hook browser tests use. */
export interface ArchitectureRoot extends HTMLDivElement {
  /** Expand the group holding `layer` and scroll its button into view; false when there is no such layer. */
  revealLayer(layer: number): boolean;
}

/** Groups of this many layers or fewer start expanded (and every group of a model this shallow). */
const OPEN_GROUP = 1;
const OPEN_MODEL = 6;

function isStructure(value: ArchitectureModel["_structure"]): value is Structure {
  return Array.isArray((value as Partial<Structure>).layers);
}

function block(testid: string, name: string, meta: string[], io = false): HTMLElement {
  return element(
    "div",
    { testid, className: `dsv-arch-block${io ? " dsv-arch-io" : ""}` },
    element("span", { className: "dsv-arch-name", text: name }),
    ...meta.map((text) => element("span", { className: "dsv-arch-meta", text })),
  );
}

function partMeta(part: Part): string[] {
  return [`${formatCount(part.parameters)} params`, placementText(part)];
}

function arrow(): HTMLElement {
  return element("div", { className: "dsv-arch-arrow", text: "↓", attrs: { "aria-hidden": "true" } });
}

function render({ model, el }: RenderProps<ArchitectureModel>): () => void {
  const title = element("div", { testid: "arch-title", className: "dsv-arch-title" });
  const total = element("span", { testid: "arch-total", className: "dsv-arch-meta" });
  const status = element("div", { testid: "status", className: "dsv-status" });
  const stack = element("div", { className: "dsv-arch-stack" });
  const scroll = element("div", { testid: "arch-scroll", className: "dsv-arch-scroll" }, stack);
  const details = element("div", { testid: "arch-details", className: "dsv-arch-details", attrs: { "aria-live": "polite" } });
  details.hidden = true;
  const root = element(
    "div",
    { testid: "architecture-view", className: "dsv-root dsv-arch" },
    element("style", { text: STYLES + ARCHITECTURE_STYLES }),
    element("div", { className: "dsv-top" }, element("div", { className: "dsv-arch-title" }, title, element("br"), total), status),
    scroll,
    details,
  ) as ArchitectureRoot;

  let groups: LayerGroup[] = [];
  let layers: Layer[] = [];
  const expanded = new Set<number>();
  const buttons = new Map<number, HTMLButtonElement>();
  const bodies: HTMLElement[] = [];
  const toggles: HTMLButtonElement[] = [];

  function setExpanded(index: number, open: boolean): void {
    if (open) expanded.add(index);
    else expanded.delete(index);
    const body = bodies[index];
    const toggle = toggles[index];
    if (body) body.hidden = !open;
    if (toggle) {
      toggle.textContent = open ? "▾" : "▸";
      toggle.setAttribute("aria-expanded", String(open));
      toggle.setAttribute("aria-label", `${open ? "collapse" : "expand"} ${groupLabel(groups[index])}`);
    }
  }

  function select(layer: number): void {
    model.set("selected_layer", layer === model.get("selected_layer") ? -1 : layer);
    model.save_changes();
    showSelection();
  }

  function groupElement(group: LayerGroup, index: number): HTMLElement {
    const first = group.layers[0];
    const toggle = element("button", { testid: `arch-group-toggle-${String(index)}`, className: "dsv-arch-toggle" });
    toggle.addEventListener("click", () => setExpanded(index, !expanded.has(index)));
    toggles[index] = toggle;
    const head = element(
      "div",
      { className: "dsv-arch-head" },
      toggle,
      element("span", { testid: `arch-group-label-${String(index)}`, className: "dsv-arch-name", text: groupLabel(group) }),
      element("span", { className: "dsv-arch-meta", text: groupCount(group) }),
      element("span", { className: "dsv-arch-meta", text: placementText(first.part) }),
    );
    const attention = first.attention;
    const attentionText =
      attention.kind === "MLA"
        ? `attention MLA · ${String(attention.heads)} heads · q rank ${attention.q_lora_rank > 0 ? String(attention.q_lora_rank) : "—"} · kv rank ${String(attention.kv_lora_rank)} · nope ${String(attention.qk_nope_head_dim)} + rope ${String(attention.qk_rope_head_dim)} · v ${String(attention.v_head_dim)}`
        : `attention ${attention.kind} · ${String(attention.heads)} heads · ${String(attention.kv_heads)} kv heads · head dim ${String(attention.head_dim)}`;
    const mlp = first.mlp;
    const mlpText =
      mlp.kind === "MoE"
        ? `MoE · ${String(mlp.routed_experts)} routed × ${String(mlp.expert_width)} · ${mlp.groups > 1 ? `${String(mlp.groups)} groups, ${String(mlp.topk_group)} a token` : "ungrouped"} · top-${String(mlp.top_k)} · ${String(mlp.shared_experts)} shared`
        : `MLP dense · ${String(mlp.intermediate_size)}`;
    const parts = element(
      "div",
      { className: "dsv-arch-parts" },
      element("span", { className: "dsv-arch-sub", text: attentionText }),
      element("span", { className: "dsv-arch-sub", text: mlpText }),
    );
    const body = element("div", { testid: `arch-group-layers-${String(index)}`, className: "dsv-arch-layers", attrs: { role: "group" } });
    for (const layer of group.layers) {
      const button = element("button", {
        testid: `arch-layer-${String(layer.index)}`,
        className: "dsv-arch-layer",
        text: String(layer.index),
        attrs: { "aria-pressed": "false", "aria-label": `layer ${String(layer.index)}`, title: `layer ${String(layer.index)} · ${formatCount(layer.part.parameters)} params · ${placementText(layer.part)}` },
      });
      button.addEventListener("click", () => select(layer.index));
      buttons.set(layer.index, button);
      body.append(button);
    }
    bodies[index] = body;
    const kind = mlp.kind === "MoE" ? "dsv-moe" : "dsv-dense";
    return element("div", { testid: `arch-group-${String(index)}`, className: `dsv-arch-group ${kind}` }, head, parts, body);
  }

  function showDetails(): void {
    const layer = layers[model.get("selected_layer")] as Layer | undefined;
    details.hidden = layer === undefined;
    if (!layer) {
      details.replaceChildren();
      return;
    }
    const column = (name: string, lines: string[]): HTMLElement =>
      element("div", { className: "dsv-arch-column" }, element("span", { className: "dsv-arch-name", text: name }), ...lines.map((text) => element("span", { text })));
    details.replaceChildren(
      column(`layer ${String(layer.index)}`, [`${formatCount(layer.part.parameters)} params (norms included)`, placementText(layer.part)]),
      column("attention", attentionLines(layer.attention)),
      column("MLP", mlpLines(layer.mlp)),
    );
  }

  function showSelection(): void {
    const selected = model.get("selected_layer");
    for (const [index, button] of buttons) {
      const on = index === selected;
      button.classList.toggle("dsv-on", on);
      button.setAttribute("aria-pressed", String(on));
    }
    const group = groupOf(groups, selected);
    if (group >= 0 && !expanded.has(group)) setExpanded(group, true);
    showDetails();
  }

  function draw(): void {
    const structure = model.get("_structure");
    buttons.clear();
    bodies.length = 0;
    toggles.length = 0;
    if (!isStructure(structure)) {
      stack.replaceChildren(element("div", { className: "dsv-empty", text: "no structure yet" }));
      markDrawn(root);
      return;
    }
    layers = structure.layers;
    const previous = groups.length;
    groups = groupLayers(layers);
    if (previous !== groups.length) expanded.clear();
    title.textContent = `${structure.name} · ${structure.family} · ${String(layers.length)} layers · d_model ${String(structure.d_model)}`;
    total.textContent = `${structure.parameters.toLocaleString("en-US")} parameters (${formatCount(structure.parameters)})`;
    const head = structure.tied_embeddings
      ? block("arch-lm-head", "LM head", [`tied to the embedding (${String(structure.d_model)} → ${structure.vocab_size.toLocaleString("en-US")})`, placementText(structure.lm_head)], true)
      : block("arch-lm-head", "LM head", [`${String(structure.d_model)} → ${structure.vocab_size.toLocaleString("en-US")}`, ...partMeta(structure.lm_head)], true);
    stack.replaceChildren(
      block("arch-embedding", "Embedding", [`${structure.vocab_size.toLocaleString("en-US")} × ${String(structure.d_model)}`, ...partMeta(structure.embedding)], true),
      arrow(),
      ...groups.flatMap((group, index) => [groupElement(group, index), arrow()]),
      block("arch-final-norm", "Final norm", partMeta(structure.final_norm)),
      arrow(),
      head,
    );
    groups.forEach((group, index) => {
      setExpanded(index, expanded.has(index) || group.layers.length <= OPEN_GROUP || layers.length <= OPEN_MODEL);
    });
    showSelection();
    markDrawn(root);
  }

  root.revealLayer = (layer: number): boolean => {
    const group = groupOf(groups, layer);
    const button = buttons.get(layer);
    if (group < 0 || !button) return false;
    setExpanded(group, true);
    button.scrollIntoView({ block: "nearest", inline: "nearest" });
    return true;
  };

  const showStatus = (): void => renderStatus(status, model.get("status"));
  el.replaceChildren(root);
  const unlisten = listen(model, [
    ["change:_data_id", draw],
    ["change:selected_layer", showSelection],
    ["change:status", showStatus],
  ]);
  draw();
  showStatus();

  return () => {
    unlisten();
    root.remove();
  };
}

export default { render };
