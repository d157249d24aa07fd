// RoutingView (src/deepseek_viz/widgets/routing_view.py): the load of every MoE layer × expert (the
// overview), the tokens × experts of the chosen layer with the routing groups each token used, and a
// token's experts across all layers. Python sends the chosen layer's routing only, on demand.

import type { RenderProps } from "@anywidget/types";
import { decodeQuantised, dequantise, type ArrayValue } from "./lib/buffers";
import { invoke } from "./lib/commands";
import { cssColour } from "./lib/colour";
import { onThemeChange } from "./lib/theme";
import { element, markDrawn } from "./lib/dom";
import { emptyState, LiveEditor, liveRoot, type LiveTextModel } from "./lib/live_editor";
import { unitsOff, type InterventionEntry } from "./lib/interventions/format";
import { InterventionsPanel, type InterventionAction } from "./lib/interventions/panel";
import { INTERVENTION_STYLES } from "./lib/interventions/styles";
import { listen, toggleIndex } from "./lib/model";
import { choicesOf, decodeLoad, decodeRouting, decodeTokenChoices, expertWeights, groupsOf, loadShares, type LoadData, type RoutingData } from "./lib/routing/data";
import { RoutingHeatmap } from "./lib/routing/heatmap";
import { availableWidth } from "./lib/routing/layout";
import { RoutingOverview } from "./lib/routing/overview";
import { ROUTING_STYLES } from "./lib/routing/styles";
import { TokenView, tokenLabel, type TokenEntry } from "./lib/tokens";
import { formatWeight } from "./lib/format";

/** Mirrors the synced traits of RoutingView. */
export interface RoutingModel extends LiveTextModel {
  layer: number;
  selected_token: number;
  selected_expert: number;
  family: string;
  moe_layers: number[];
  num_experts: number;
  num_shared: number;
  top_k: number;
  group_size: number;
  _tokens: TokenEntry[];
  /** uint16/uint32 `[moe layer, expert]` tokens routed to each expert (row r: MoE layer moe_layers[r]). */
  _load: ArrayValue;
  /** uint16/uint32 `[token, k]` expert ids of MoE layer `_routed_layer`. */
  _experts: ArrayValue;
  /** float16 gate weights, the shape of `_experts`. */
  _weights: ArrayValue;
  _routed_layer: number;
  /** uint16 `[moe layer, k]` experts of the selected token in every MoE layer (null: none selected). */
  _token_experts: ArrayValue;
  /** float16 gate weights, the shape of `_token_experts`. */
  _token_weights: ArrayValue;
  /** The token `_token_experts` is of (-1: none). */
  _token_at: number;
  /** uint8 `[moe layer, expert]` load shares over the corpus (null without one). */
  _corpus_load: ArrayValue;
  _data_id: number;
  /** The interventions in force (Interventions.describe()). */
  _interventions?: InterventionEntry[];
}

/** The MoE layer `step` places before (-1) or after (+1) `layer` in `layers`, clamped. */
export function stepLayer(layers: readonly number[], layer: number, step: number): number {
  if (!layers.length) return layer;
  const index = Math.max(0, layers.indexOf(layer));
  return layers[Math.max(0, Math.min(layers.length - 1, index + step))];
}

function render({ model, el, experimental, signal }: RenderProps<RoutingModel>): () => void {
  const editor = new LiveEditor(model, experimental, signal);
  let tokens: TokenEntry[] = [];
  let data: RoutingData | null = null;
  let load: LoadData | null = null;
  let corpusLoad: Float32Array[] = [];
  let width = 0;

  const label = (index: number): string => `${index}: ${tokenLabel(tokens, index) || "·"}`;
  const empty = emptyState("routing");
  const noMoe = element("div", { testid: "no-moe", className: "dsv-empty" });
  const layerSelect = element("select", { testid: "layer-select", attrs: { "aria-label": "MoE layer shown" } });
  const prev = element("button", { testid: "layer-prev", text: "◀", attrs: { type: "button", title: "previous MoE layer" } });
  const next = element("button", { testid: "layer-next", text: "▶", attrs: { type: "button", title: "next MoE layer" } });
  const picker = element("div", { testid: "layer-picker", className: "dsv-layer-picker" }, element("span", { text: "MoE layer " }), prev, layerSelect, next);
  const caption = element("div", { testid: "routing-caption", className: "dsv-caption" });
  const panel = element("div", { testid: "token-experts", className: "dsv-token-experts" });
  const note = element("div", { className: "dsv-note" });

  const select = (name: "selected_token" | "selected_expert", index: number): void => {
    toggleIndex(model, name, index);
    showSelection();
  };
  const chooseLayer = (layer: number): void => {
    if (layer === model.get("layer")) return;
    model.set("layer", layer);
    model.save_changes();
    showLayer();
  };
  const overview = new RoutingOverview({
    pick: (layer, expert) => {
      chooseLayer(layer);
      if (expert >= 0 && expert !== model.get("selected_expert")) select("selected_expert", expert);
    },
  });
  const ablation = new InterventionsPanel((action: InterventionAction) => invoke(experimental, "_intervene", action, signal), "an expert (its bar or column)");
  const heatmap = new RoutingHeatmap({
    label,
    token: (index) => tokenLabel(tokens, index) || "·",
    pick: (token, expert, alt) => {
      if (expert >= 0 && (alt || ablation.ablating())) {
        ablation.run({ action: "toggle_expert", layer: model.get("layer"), expert });
        return;
      }
      if (token >= 0) select("selected_token", token);
      if (expert >= 0) select("selected_expert", expert);
    },
  });
  const tokenView = new TokenView({ hover: () => undefined, click: (index) => select("selected_token", index) });

  const row = (): number => model.get("moe_layers").indexOf(model.get("layer"));
  /** The chosen layer's routing, when what Python sent is that layer's. */
  const shown = (): RoutingData | null => (data && data.layer === model.get("layer") ? data : null);

  function showLayer(): void {
    const layer = model.get("layer");
    layerSelect.value = String(layer);
    const layers = model.get("moe_layers");
    prev.disabled = layers.indexOf(layer) <= 0;
    next.disabled = layers.indexOf(layer) >= layers.length - 1;
    const r = row();
    const numExperts = model.get("num_experts");
    const routing = shown();
    heatmap.setLayer(
      routing && r >= 0
        ? {
            data: routing,
            numExperts,
            numShared: model.get("num_shared"),
            groupSize: model.get("group_size"),
            load: load ? loadShares(load, r) : new Float32Array(numExperts),
            corpusLoad: corpusLoad[r] ?? null,
            width,
          }
        : null,
    );
    const groupSize = model.get("group_size");
    const groups = groupSize > 0 ? ` in ${numExperts / groupSize} groups of ${groupSize}` : "";
    caption.textContent = !tokens.length
      ? ""
      : routing
        ? `layer ${layer} · top-${model.get("top_k")} of ${numExperts} routed experts${groups}`
        : `layer ${layer} · loading…`;
    overview.reveal(layer);
    showInterventions();
    showSelection();
  }

  /** The selected expert's tokens, shaded in the token view and marked `data-routed`. */
  function showExpertTokens(): void {
    const expert = model.get("selected_expert");
    const routing = shown();
    const weights = routing && expert >= 0 ? expertWeights(routing, expert) : null;
    tokenView.shade(weights, -1);
    tokenView.root.querySelectorAll<HTMLElement>("[data-index]").forEach((span, index) => {
      const routed = weights !== null && weights[index] > 0;
      span.classList.toggle("dsv-routed", routed);
      if (routed) span.dataset.routed = formatWeight(weights[index]);
      else delete span.dataset.routed;
    });
    note.textContent = weights ? `tokens routed to expert ${expert} in layer ${model.get("layer")} are underlined` : "click an expert's bar or column to mark its tokens";
  }

  /** The selected token's experts in every MoE layer, with the routing groups they fall in: from Python
   * (`_token_experts`) once it has answered for this token; until then, or in a page without a kernel
   * (an exported view), the layer shown only. */
  function showTokenExperts(): void {
    const token = model.get("selected_token");
    const routing = shown();
    let choices = model.get("_token_at") === token ? decodeTokenChoices(model.get("_token_experts"), model.get("_token_weights")) : null;
    let layers = model.get("moe_layers");
    if (!choices && routing && token >= 0 && token < routing.n) {
      choices = [choicesOf(routing, token)];
      layers = [routing.layer];
    }
    if (!choices || token < 0 || token >= tokens.length) {
      panel.replaceChildren(element("div", { className: "dsv-note", text: "click a token to list its experts in every MoE layer" }));
      return;
    }
    const groupSize = model.get("group_size");
    const peak = Math.max(1e-9, ...choices.flat().map((choice) => choice.weight));
    const rows = choices.map((layerChoices, r) => {
      const layer = layers[r];
      const groups = groupsOf(layerChoices, groupSize);
      const chips = layerChoices.map(({ expert, weight }) =>
        element("span", { className: "dsv-chip", text: `E${expert} ${formatWeight(weight)}`, attrs: { style: `background:${cssColour(weight / peak, 0.35)}` } }),
      );
      const numShared = model.get("num_shared");
      const shared = numShared > 0 ? [element("span", { className: "dsv-chip", text: `+ ${numShared} shared`, attrs: { title: "the shared experts: every token uses them, at weight 1" } })] : [];
      const groupText = groups.length ? [element("span", { className: "dsv-note", text: `groups ${groups.join(", ")}` })] : [];
      const name = element("b", { text: `L${layer}`, attrs: { title: `show layer ${layer}`, role: "button" } });
      name.addEventListener("click", () => chooseLayer(layer));
      return element("div", { testid: `token-experts-${layer}`, className: "dsv-row" }, name, ...chips, ...shared, ...groupText);
    });
    panel.replaceChildren(element("div", { className: "dsv-caption", text: `token ${label(token)}` }), ...rows);
  }

  /** The list of what is off, and the experts off in the layer shown marked. */
  function showInterventions(): void {
    const entries = model.get("_interventions") ?? [];
    ablation.setItems(entries);
    const layer = model.get("layer");
    const off = [...unitsOff(entries, "expert")].filter((key) => key.startsWith(`${layer}-`)).map((key) => Number(key.split("-")[1]));
    heatmap.setAblated(new Set(off));
  }

  function showSelection(): void {
    tokenView.setSelected(model.get("selected_token"));
    heatmap.setSelection(model.get("selected_token"), model.get("selected_expert"));
    overview.setSelection(model.get("layer"), model.get("selected_expert"));
    showExpertTokens();
    showTokenExperts();
  }

  function buildPicker(): void {
    const options = model.get("moe_layers").map((layer) => element("option", { text: `L${layer}`, attrs: { value: String(layer) } }));
    layerSelect.replaceChildren(...options);
  }
  layerSelect.addEventListener("change", () => chooseLayer(Number(layerSelect.value)));
  prev.addEventListener("click", () => chooseLayer(stepLayer(model.get("moe_layers"), model.get("layer"), -1)));
  next.addEventListener("click", () => chooseLayer(stepLayer(model.get("moe_layers"), model.get("layer"), 1)));

  function readCorpus(): void {
    const array = decodeQuantised(model.get("_corpus_load"));
    if (!array) return;
    const shares = dequantise(array);
    const [rows, numExperts] = array.shape;
    corpusLoad = Array.from({ length: rows }, (_, r) => shares.subarray(r * numExperts, (r + 1) * numExperts));
  }

  function layoutWidth(): number {
    return availableWidth(root) - 8;
  }

  function onData(): void {
    if (!editor.accept()) return; // older than what is on screen
    tokens = model.get("_tokens");
    tokenView.showTokens(tokens); // redraws only new tokens
    data = decodeRouting(model.get("_experts"), model.get("_weights"), model.get("_routed_layer"));
    load = decodeLoad(model.get("_load"), model.get("moe_layers"));
    width = layoutWidth();
    const dense = model.get("moe_layers").length === 0;
    noMoe.hidden = !dense;
    noMoe.textContent = `${model.get("family")} has no MoE layers: every token goes through the same dense MLP, so there is no routing to show.`;
    body.hidden = dense;
    empty.hidden = tokens.length > 0 || dense;
    overview.setLoad(load, model.get("group_size"), width);
    showLayer();
    editor.onAnswer();
    markDrawn(root);
  }

  const body = element(
    "div",
    { className: "dsv-routing-body" },
    element("div", { className: "dsv-heatmap-wrap dsv-routing-maps" }, picker, overview.root, caption, heatmap.root),
    element("div", { className: "dsv-tokens-wrap" }, note, tokenView.root, panel),
  );
  const root = liveRoot("routing-view", editor, ROUTING_STYLES + INTERVENTION_STYLES, ablation.root, noMoe, empty, body);
  root.classList.add("dsv-routing-root");
  el.replaceChildren(root);
  buildPicker();
  readCorpus();

  // Lay out again when the panel's width changes (a Dashboard panel, a resized notebook).
  const resize =
    typeof ResizeObserver === "undefined"
      ? null
      : new ResizeObserver(() => {
          const now = layoutWidth();
          if (Math.abs(now - width) < 16) return;
          width = now;
          overview.setLoad(load, model.get("group_size"), width);
          showLayer();
        });
  resize?.observe(root);
  const unwatchTheme = onThemeChange(() => {
    overview.setLoad(load, model.get("group_size"), width);
    showLayer();
  });

  const unlisten = listen(model, [
    ["change:_data_id", onData],
    ["change:layer", showLayer],
    ["change:selected_token", showSelection],
    ["change:selected_expert", showSelection],
    ["change:_token_experts", showTokenExperts],
    ["change:_interventions", showInterventions],
  ]);
  onData();

  return () => {
    unlisten();
    resize?.disconnect();
    unwatchTheme();
    editor.destroy();
    overview.destroy();
    heatmap.destroy();
    ablation.destroy();
    tokenView.destroy();
    root.remove();
  };
}

export default { render };
