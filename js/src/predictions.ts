// PredictionView (src/deepseek_viz/widgets/prediction_view.py): the top-k next tokens at each position
// and the logit lens as a layers × positions grid (cell: top token as text, probability as colour).

import type { RenderProps } from "@anywidget/types";
import type { ArrayValue } from "./lib/buffers";
import { cssColour, formatWeight } from "./lib/colour";
import { element, markDrawn } from "./lib/dom";
import { emptyState, LiveEditor, liveRoot, type LiveTextModel } from "./lib/live_editor";
import { listen, toggleIndex } from "./lib/model";
import { candidates, decodeLens, lensWindow, rowName, type Candidate, type LensData } from "./lib/routing/lens";
import { ROUTING_STYLES } from "./lib/routing/styles";
import { NORMAL, TokenView, tokenLabel, type TokenEntry } from "./lib/tokens";

/** Mirrors the synced traits of PredictionView. */
export interface PredictionModel extends LiveTextModel {
  selected_token: number;
  k: number;
  num_layers: number;
  _tokens: TokenEntry[];
  _strings: string[];
  /** uint16/uint32 `[layer + 1, position, k]` indices into `_strings`. */
  _lens_ids: ArrayValue;
  /** uint8 probabilities (scale 1), the shape of `_lens_ids`. */
  _lens_probs: ArrayValue;
  _data_id: number;
}

/** Positions shown in the lens grid at once. */
export const LENS_COLUMNS = 32;

/** A predicted token's text with whitespace made visible. */
const visible = (text: string): string => tokenLabel([[text, NORMAL]], 0) || "∅";

function listing(items: Candidate[]): string {
  return items.map((item, rank) => `${rank + 1}. ${visible(item.text)}  ${formatWeight(item.prob)}`).join("\n");
}

function render({ model, el, experimental, signal }: RenderProps<PredictionModel>): () => void {
  const editor = new LiveEditor(model, experimental, signal);
  let tokens: TokenEntry[] = [];
  let lens: LensData | null = null;
  let hovered = -1;

  const empty = emptyState("predictions");
  const table = element("table", { testid: "logit-lens", className: "dsv-lens" });
  const tooltip = element("div", { testid: "lens-tooltip", className: "dsv-tooltip" });
  tooltip.hidden = true;
  const predictions = element("div", { testid: "predictions", className: "dsv-predictions" });
  const tokenView = new TokenView({
    hover: (index) => {
      hovered = index;
      showPredictions();
    },
    click: (index) => {
      toggleIndex(model, "selected_token", index);
      showSelection();
    },
  });

  const focus = (): number => (hovered >= 0 ? hovered : model.get("selected_token"));

  /** The model's own top-k (the lens's last row) after the hovered, selected or last position. */
  function showPredictions(): void {
    if (!lens) {
      predictions.replaceChildren();
      return;
    }
    const position = focus() >= 0 && focus() < lens.n ? focus() : lens.n - 1;
    const items = candidates(lens, lens.rows - 1, position).map((item) =>
      element(
        "div",
        {},
        element("span", { className: "dsv-prob-bar", attrs: { style: `width:${Math.round(item.prob * 80)}px` } }),
        element("span", { text: `${visible(item.text)}  ${formatWeight(item.prob)}` }),
      ),
    );
    predictions.replaceChildren(element("div", { className: "dsv-caption", text: `after ${position}: ${tokenLabel(tokens, position) || "·"}` }), ...items);
  }

  function drawLens(): void {
    if (!lens) {
      table.replaceChildren();
      markDrawn(table);
      return;
    }
    const data = lens;
    const [start, end] = lensWindow(data.n, model.get("selected_token"), LENS_COLUMNS);
    const positions = Array.from({ length: end - start }, (_, i) => start + i);
    const selected = model.get("selected_token");
    const header = element(
      "tr",
      {},
      element("th", { text: "layer \\ after" }),
      ...positions.map((p) =>
        element("th", { testid: `lens-position-${p}`, className: p === selected ? "dsv-on" : "", text: tokenLabel(tokens, p) || "·", attrs: { title: `position ${p}` } }),
      ),
    );
    const rows = Array.from({ length: data.rows }, (_, r) => {
      const cells = positions.map((p) => {
        const [top] = candidates(data, r, p);
        return element("td", {
          testid: `lens-${r}-${p}`,
          text: visible(top.text),
          attrs: {
            "data-row": String(r),
            "data-position": String(p),
            style: `background:${cssColour(top.prob)};color:${top.prob > 0.6 ? "#111" : "#fff"}`,
          },
        });
      });
      return element("tr", {}, element("th", { text: rowName(r, data.rows) }), ...cells);
    });
    table.replaceChildren(header, ...rows);
    markDrawn(table);
  }

  const onLensMove = (event: MouseEvent): void => {
    const cell = event.target instanceof Element ? event.target.closest<HTMLElement>("td[data-row]") : null;
    if (!cell || !lens) {
      tooltip.hidden = true;
      return;
    }
    const row = Number(cell.dataset.row);
    const position = Number(cell.dataset.position);
    tooltip.textContent = `${rowName(row, lens.rows)}, after ${tokenLabel(tokens, position) || "·"}\n${listing(candidates(lens, row, position))}`;
    tooltip.hidden = false;
    const wrapBox = lensWrap.getBoundingClientRect();
    tooltip.style.left = `${event.clientX - wrapBox.left + lensWrap.scrollLeft + 12}px`;
    tooltip.style.top = `${event.clientY - wrapBox.top + lensWrap.scrollTop + 12}px`;
  };
  const onLensLeave = (): void => {
    tooltip.hidden = true;
  };

  function showSelection(): void {
    tokenView.setSelected(model.get("selected_token"));
    drawLens();
    showPredictions();
  }

  function onData(): void {
    if (!editor.accept()) return; // older than what is on screen
    tokens = model.get("_tokens");
    tokenView.showTokens(tokens); // redraws only new tokens
    lens = decodeLens(model.get("_lens_ids"), model.get("_lens_probs"), model.get("_strings"));
    empty.hidden = tokens.length > 0;
    showSelection();
    editor.onAnswer();
    markDrawn(root);
  }

  const lensWrap = element("div", { className: "dsv-lens-wrap" }, table, tooltip);
  lensWrap.addEventListener("mousemove", onLensMove);
  lensWrap.addEventListener("mouseleave", onLensLeave);
  const root = liveRoot(
    "prediction-view",
    editor,
    ROUTING_STYLES,
    empty,
    element(
      "div",
      { className: "dsv-body" },
      element("div", { className: "dsv-tokens-wrap" }, tokenView.root, predictions),
      element("div", { className: "dsv-heatmap-wrap" }, element("div", { className: "dsv-caption", text: "logit lens: top next token read from each layer" }), lensWrap),
    ),
  );
  el.replaceChildren(root);

  const unlisten = listen(model, [
    ["change:_data_id", onData],
    ["change:selected_token", showSelection],
  ]);
  onData();

  return () => {
    unlisten();
    lensWrap.removeEventListener("mousemove", onLensMove);
    lensWrap.removeEventListener("mouseleave", onLensLeave);
    editor.destroy();
    tokenView.destroy();
    root.remove();
  };
}

export default { render };
