// RoutingView (src/deepseek_viz/widgets/routing_view.py): which routed experts each token went to in
// every MoE layer, expert load, group-limited routing, and a token's experts across all layers.

import type { RenderProps } from "@anywidget/types";
import { decodeQuantised, dequantise, type ArrayValue } from "./lib/buffers";
import { cssColour, formatWeight } from "./lib/colour";
import { element, markDrawn } from "./lib/dom";
import { emptyState, LiveEditor, liveRoot, type LiveTextModel } from "./lib/live_editor";
import { listen, toggleIndex } from "./lib/model";
import { choicesOf, decodeRouting, expertLoad, expertWeights, groupsOf, type RoutingData } from "./lib/routing/data";
import { RoutingHeatmap } from "./lib/routing/heatmap";
import { ROUTING_STYLES } from "./lib/routing/styles";
import { SPECIAL, TokenView, tokenLabel, type TokenEntry } from "./lib/tokens";

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
  /** uint16/uint32 `[moe layer, token, k]` expert ids, row `r` being MoE layer `moe_layers[r]`. */
  _experts: ArrayValue;
  /** uint8 gate weights, the shape of `_experts`. */
  _weights: ArrayValue;
  /** uint8 `[moe layer, expert]` load shares over the corpus (null without one). */
  _corpus_load: ArrayValue;
  _data_id: number;
}

function render({ model, el, experimental, signal }: RenderProps<RoutingModel>): () => void {
  const editor = new LiveEditor(model, experimental, signal);
  let tokens: TokenEntry[] = [];
  let data: RoutingData | null = null;
  let corpusLoad: Float32Array[] = [];

  const label = (index: number): string => `${index}: ${tokenLabel(tokens, index) || "·"}`;
  const empty = emptyState("routing");
  const noMoe = element("div", { testid: "no-moe", className: "dsv-empty" });
  const picker = element("div", { testid: "layer-picker", className: "dsv-layer-picker" });
  const caption = element("div", { testid: "routing-caption", className: "dsv-caption" });
  const panel = element("div", { testid: "token-experts", className: "dsv-token-experts" });
  const note = element("div", { className: "dsv-note" });

  const select = (name: "selected_token" | "selected_expert", index: number): void => {
    toggleIndex(model, name, index);
    showSelection();
  };
  const heatmap = new RoutingHeatmap({
    label,
    pick: (token, expert) => {
      if (token >= 0) select("selected_token", token);
      if (expert >= 0) select("selected_expert", expert);
    },
  });
  const tokenView = new TokenView({ hover: () => undefined, click: (index) => select("selected_token", index) });

  const row = (): number => (data ? data.layers.indexOf(model.get("layer")) : -1);

  function showLayer(): void {
    const layer = model.get("layer");
    for (const button of picker.children) {
      if (button instanceof HTMLElement) button.classList.toggle("dsv-on", Number(button.dataset.layer) === layer);
    }
    const r = row();
    const numExperts = model.get("num_experts");
    heatmap.setLayer(
      data && r >= 0
        ? {
            data,
            row: r,
            numExperts,
            numShared: model.get("num_shared"),
            groupSize: model.get("group_size"),
            load: expertLoad(data, r, numExperts, (token) => tokens[token]?.[1] !== SPECIAL),
            corpusLoad: corpusLoad[r] ?? null,
          }
        : null,
    );
    const groups = model.get("group_size") > 0 ? ` in ${numExperts / model.get("group_size")} groups of ${model.get("group_size")}` : "";
    caption.textContent = data ? `layer ${layer} · top-${model.get("top_k")} of ${numExperts} routed experts${groups}` : "";
    showSelection();
  }

  /** The selected expert's tokens, shaded in the token view and marked `data-routed`. */
  function showExpertTokens(): void {
    const expert = model.get("selected_expert");
    const r = row();
    const weights = data && r >= 0 && expert >= 0 ? expertWeights(data, r, expert) : null;
    tokenView.shade(weights, -1);
    tokenView.root.querySelectorAll<HTMLElement>("[data-index]").forEach((span, index) => {
      const routed = weights !== null && weights[index] > 0;
      span.classList.toggle("dsv-routed", routed);
      if (routed) span.dataset.routed = formatWeight(weights[index]);
      else delete span.dataset.routed;
    });
    note.textContent = weights ? `tokens routed to expert ${expert} in layer ${model.get("layer")} are underlined` : "click an expert's bar or column to mark its tokens";
  }

  /** The selected token's experts in every MoE layer, with the routing groups they fall in. */
  function showTokenExperts(): void {
    const token = model.get("selected_token");
    if (!data || token < 0 || token >= data.n) {
      panel.replaceChildren(element("div", { className: "dsv-note", text: "click a token to list its experts in every MoE layer" }));
      return;
    }
    const routing = data;
    const groupSize = model.get("group_size");
    const rows = routing.layers.map((layer, r) => {
      const choices = choicesOf(routing, r, token);
      const groups = groupsOf(choices, groupSize);
      const chips = choices.map(({ expert, weight }) =>
        element("span", {
          className: "dsv-chip",
          text: `E${expert} ${formatWeight(weight)}`,
          attrs: { style: `background:${cssColour(weight / routing.scale, 0.35)}` },
        }),
      );
      const shared = model.get("num_shared") > 0 ? [element("span", { className: "dsv-chip", text: `+ shared ×${model.get("num_shared")}` })] : [];
      const groupText = groups.length ? [element("span", { className: "dsv-note", text: `groups ${groups.join(", ")}` })] : [];
      return element("div", { testid: `token-experts-${layer}`, className: "dsv-row" }, element("b", { text: `L${layer}` }), ...chips, ...shared, ...groupText);
    });
    panel.replaceChildren(element("div", { className: "dsv-caption", text: `token ${label(token)}` }), ...rows);
  }

  function showSelection(): void {
    tokenView.setSelected(model.get("selected_token"));
    heatmap.setSelection(model.get("selected_token"), model.get("selected_expert"));
    showExpertTokens();
    showTokenExperts();
  }

  function buildPicker(): void {
    const buttons = model.get("moe_layers").map((layer) => {
      const button = element("button", { testid: `moe-layer-${layer}`, text: `L${layer}`, attrs: { type: "button", "data-layer": String(layer) } });
      button.addEventListener("click", () => {
        model.set("layer", layer);
        model.save_changes();
        showLayer();
      });
      return button;
    });
    picker.replaceChildren(element("span", { text: "MoE layer " }), ...buttons);
  }

  function readCorpus(): void {
    const array = decodeQuantised(model.get("_corpus_load"));
    if (!array) return;
    const load = dequantise(array);
    const [rows, numExperts] = array.shape;
    corpusLoad = Array.from({ length: rows }, (_, r) => load.subarray(r * numExperts, (r + 1) * numExperts));
  }

  function onData(): void {
    if (!editor.accept()) return; // older than what is on screen
    tokens = model.get("_tokens");
    tokenView.showTokens(tokens); // redraws only new tokens
    data = decodeRouting(model.get("_experts"), model.get("_weights"), model.get("moe_layers"));
    const dense = model.get("moe_layers").length === 0;
    noMoe.hidden = !dense;
    noMoe.textContent = `${model.get("family")} has no MoE layers: every token goes through the same dense MLP, so there is no routing to show.`;
    body.hidden = dense;
    empty.hidden = tokens.length > 0 || dense;
    showLayer();
    editor.onAnswer();
    markDrawn(root);
  }

  const body = element(
    "div",
    { className: "dsv-body" },
    element("div", { className: "dsv-heatmap-wrap" }, picker, caption, heatmap.root),
    element("div", { className: "dsv-tokens-wrap" }, note, tokenView.root, panel),
  );
  const root = liveRoot(
    "routing-view",
    editor,
    ROUTING_STYLES,
    noMoe,
    empty,
    body,
  );
  el.replaceChildren(root);
  buildPicker();
  readCorpus();

  const unlisten = listen(model, [
    ["change:_data_id", onData],
    ["change:layer", showLayer],
    ["change:selected_token", showSelection],
    ["change:selected_expert", showSelection],
  ]);
  onData();

  return () => {
    unlisten();
    editor.destroy();
    heatmap.destroy();
    tokenView.destroy();
    root.remove();
  };
}

export default { render };
