// AttentionView (src/deepseek_viz/widgets/attention_view.py): head overview, heatmap, token view and a
// live text editor, all reading the binary buffers the Python side sends.

import type { RenderProps } from "@anywidget/types";
import { decodeFloats, decodeQuantised, dequantise, type ArrayHeader, type ArrayValue, type QuantisedArray } from "./lib/buffers";
import { CommandErrorLine, invoke } from "./lib/commands";
import { debounce } from "./lib/debounce";
import { element, markDrawn } from "./lib/dom";
import { Heatmap, meanOfHeads, type CellRect, type HeatmapData, type HeatmapWindow } from "./lib/heatmap";
import { unitsOff, type InterventionEntry } from "./lib/interventions/format";
import { InterventionsPanel, type InterventionAction } from "./lib/interventions/panel";
import { INTERVENTION_STYLES } from "./lib/interventions/styles";
import { ATTENTION_STYLES } from "./lib/attention/styles";
import { onThemeChange } from "./lib/theme";
import { HeadOverview } from "./lib/overview/overview";
import { OVERVIEW_STYLES } from "./lib/overview/styles";
import { LINE_VIEW_LIMIT, LineView } from "./lib/lines";
import { describeSelection, type Selection } from "./lib/selection";
import { emptyState, LiveEditor, liveRoot, type LiveTextModel } from "./lib/live_editor";
import { listen, toggleIndex } from "./lib/model";
import { TokenView, tokenLabel, type TokenEntry } from "./lib/tokens";

/** Mirrors the synced traits of AttentionView. */
export interface AttentionModel extends LiveTextModel {
  layer: number;
  heads: number[];
  selected_token: number;
  num_layers: number;
  num_heads: number;
  _tokens: TokenEntry[];
  /** uint8 `[query, key]`, max-pooled in blocks of `_heatmap_block` tokens; `_colour_max` drawn brightest. */
  _heatmap: ArrayValue;
  _heatmap_block: number;
  _colour_max: number;
  /** uint8 `[layer, head, bins, bins]`. */
  _thumbnails: ArrayValue;
  /** float16 `[layer, head, 4]`: previous-token, first-token, diagonal, entropy (SCORE_NAMES). */
  _head_scores: ArrayValue;
  /** uint8 `[head, n, n]`, every head of layer `_layer_heads_layer`, sent when small enough: then head
   * switches within that layer are drawn here, without the kernel. */
  _layer_heads: ArrayValue;
  _layer_heads_layer: number;
  _data_id: number;
  /** The interventions in force (Interventions.describe()). */
  _interventions?: InterventionEntry[];
}

/** Reply of the `_fetch_window` command: the header of the window whose bytes are the reply's buffer. */
interface WindowReply extends Partial<ArrayHeader> {
  stale: boolean;
  data_id?: number;
  q0?: number;
  k0?: number;
}

const ROW_DEBOUNCE_MS = 60;
/** What the direction toggle does, as its tooltip says. */
export const INCOMING_HELP =
  "Hover or select a token to shade the text. Off: the tokens it attends to (its row of the heatmap). " +
  "On: the tokens that attend to it (its column).";

function render({ model, el, experimental, signal }: RenderProps<AttentionModel>): () => void {
  const editor = new LiveEditor(model, experimental, signal);
  let disposed = false;
  let tokens: TokenEntry[] = [];
  let heatmapData: HeatmapData | null = null;
  let matrix: Float32Array | null = null; // full n × n values when the overview is exact (block 1)
  let dataId = -1;
  let thumbnailsShown: ArrayValue = null;
  let hovered = -1;
  let rowWeights: { index: number; incoming: boolean; values: Float32Array } | null = null;
  // every head of the shown data's layer (never of data dropped as stale), and the heads last drawn from it
  let layerHeads: { layer: number; values: QuantisedArray; drawn: string } | null = null;

  const empty = emptyState("attention");
  const caption = element("div", { testid: "heatmap-caption", className: "dsv-caption" });
  const incomingToggle = element("input", { testid: "direction-toggle", attrs: { type: "checkbox", "aria-description": INCOMING_HELP } });
  const linesToggle = element("input", { testid: "line-toggle", attrs: { type: "checkbox" } });
  const lines = new LineView();
  const fetchError = new CommandErrorLine("heatmap-error");

  /** Full-resolution cells of the shown matrix (`null`: the data changed meanwhile); a failed fetch shows
   * its error under the heatmap, and the overview stays on screen. */
  const fetchCells = async (rect: CellRect): Promise<HeatmapWindow | null> => {
    const asked = dataId;
    const [reply, buffers] = await invoke<WindowReply>(experimental, "_fetch_window", { ...rect, data_id: asked }, signal);
    if (!disposed) fetchError.clear();
    if (disposed || reply.stale || reply.data_id !== dataId || !buffers[0]) return null;
    const values = decodeQuantised({ ...(reply as ArrayHeader), buffer: buffers[0] });
    return values && { q0: reply.q0 ?? 0, k0: reply.k0 ?? 0, values };
  };

  const panel = new InterventionsPanel((action: InterventionAction) => invoke(experimental, "_intervene", action, signal), "a head");
  const grid = new HeadOverview(
    (selection: Selection) => {
      model.set("layer", selection.layer);
      model.set("heads", selection.heads);
      model.save_changes();
      onHeads();
    },
    { ablate: (layer, head) => panel.run({ action: "toggle_head", layer, head }), ablating: () => panel.ablating() },
  );
  function showInterventions(): void {
    const entries = model.get("_interventions") ?? [];
    panel.setItems(entries);
    grid.setAblated(unitsOff(entries, "head"));
  }
  const heatmap = new Heatmap({
    label: (index) => tokenLabel(tokens, index),
    requestWindow: (rect) => {
      fetchCells(rect)
        .then((win) => win && heatmap.setWindow(win))
        .catch(showFetchError);
    },
  });
  const tokenView = new TokenView({
    hover: (index) => {
      hovered = index;
      shadeTokens();
    },
    click: (index) => {
      toggleIndex(model, "selected_token", index);
      showSelectedToken();
    },
  });

  /** The row (what `index` attends to) or column (what attends to it) of the shown matrix. */
  const fetchRow = debounce((index: number, incoming: boolean) => {
    const n = heatmapData?.n ?? 0;
    const rect = incoming ? { q0: 0, q1: n, k0: index, k1: index + 1 } : { q0: index, q1: index + 1, k0: 0, k1: n };
    fetchCells(rect)
      .then((win) => {
        if (!win) return;
        rowWeights = { index, incoming, values: dequantise(win.values) };
        shadeTokens();
      })
      .catch(showFetchError);
  }, ROW_DEBOUNCE_MS);

  function showFetchError(error: unknown): void {
    if (!disposed) fetchError.show(error);
  }

  function weightsFor(index: number, incoming: boolean): Float32Array | null {
    const n = heatmapData?.n ?? 0;
    if (index < 0 || index >= n) return null;
    const full = matrix;
    if (full) {
      return incoming ? Float32Array.from({ length: n }, (_, q) => full[q * n + index]) : full.slice(index * n, (index + 1) * n);
    }
    if (rowWeights && rowWeights.index === index && rowWeights.incoming === incoming) return rowWeights.values;
    fetchRow.call(index, incoming);
    return null;
  }

  function shadeTokens(): void {
    const active = hovered >= 0 ? hovered : model.get("selected_token");
    tokenView.shade(weightsFor(active, incomingToggle.checked), active);
    drawLines(active);
  }

  function drawLines(active: number): void {
    const short = tokens.length > 0 && tokens.length <= LINE_VIEW_LIMIT;
    linesToggle.disabled = !short;
    lines.canvas.hidden = !(short && linesToggle.checked && matrix);
    if (!lines.canvas.hidden && matrix && heatmapData) {
      lines.draw(tokens.map((_, i) => tokenLabel(tokens, i)), matrix, heatmapData.colourMax, active);
    }
  }

  /** Draw the mean of the model's heads from `layerHeads` if it holds the model's layer (and they are not
   * drawn yet); whether it drew. */
  function drawHeads(): boolean {
    const heads = model.get("heads");
    if (!layerHeads || layerHeads.layer !== model.get("layer") || layerHeads.drawn === heads.join()) return false;
    layerHeads.drawn = heads.join();
    ({ data: heatmapData, matrix } = meanOfHeads(layerHeads.values, heads));
    rowWeights = null;
    heatmap.setData(heatmapData);
    return true;
  }

  function onHeads(): void {
    if (drawHeads()) shadeTokens();
    showSelection();
  }

  function showSelection(): void {
    const selection = { layer: model.get("layer"), heads: model.get("heads") };
    grid.setSelection(selection);
    caption.textContent = describeSelection(selection, model.get("num_heads"));
  }

  function showSelectedToken(): void {
    const selected = model.get("selected_token");
    tokenView.setSelected(selected);
    heatmap.setSelectedRow(selected);
    shadeTokens();
  }

  function onData(): void {
    if (!editor.accept()) return; // older than what is on screen
    dataId = model.get("_data_id");
    tokens = model.get("_tokens");
    tokenView.showTokens(tokens); // redraws only new tokens
    const stack = decodeQuantised(model.get("_layer_heads"));
    layerHeads = stack ? { layer: model.get("_layer_heads_layer"), values: stack, drawn: "" } : null;
    if (!drawHeads()) {
      const overview = decodeQuantised(model.get("_heatmap"));
      const block = model.get("_heatmap_block");
      heatmapData = overview ? { overview, block, n: tokens.length, colourMax: model.get("_colour_max") } : null;
      matrix = overview && heatmapData?.block === 1 ? dequantise(overview) : null;
      rowWeights = null;
      heatmap.setData(heatmapData);
    }
    const thumbnails = model.get("_thumbnails");
    if (thumbnails !== thumbnailsShown) {
      thumbnailsShown = thumbnails;
      grid.setShape(model.get("num_layers"), model.get("num_heads"));
      grid.setData(decodeQuantised(thumbnails), decodeFloats(model.get("_head_scores")));
    }
    empty.hidden = tokens.length > 0;
    showSelection();
    showSelectedToken();
    editor.onAnswer();
    markDrawn(root);
  }

  incomingToggle.addEventListener("change", shadeTokens);
  linesToggle.addEventListener("change", shadeTokens);

  const root = liveRoot(
    "attention-view",
    editor,
    OVERVIEW_STYLES + INTERVENTION_STYLES + ATTENTION_STYLES,
    panel.root,
    empty,
    element(
      "div",
      { className: "dsv-body" },
      grid.root,
      element("div", { className: "dsv-heatmap-wrap" }, caption, heatmap.root, fetchError.root),
      element(
        "div",
        { className: "dsv-tokens-wrap" },
        element(
          "div",
          { className: "dsv-options" },
          element(
            "label",
            { attrs: { title: INCOMING_HELP } },
            incomingToggle,
            document.createTextNode("show incoming attention"),
          ),
          element(
            "label",
            { attrs: { title: `lines from each token to the tokens it attends to (texts of at most ${LINE_VIEW_LIMIT} tokens)` } },
            linesToggle,
            document.createTextNode(`lines view (≤ ${LINE_VIEW_LIMIT} tokens)`),
          ),
        ),
        tokenView.root,
        lines.canvas,
      ),
    ),
  );
  root.classList.add("dsv-attention");
  el.replaceChildren(root);
  grid.setShape(model.get("num_layers"), model.get("num_heads"));

  const unlisten = listen(model, [
    ["change:_data_id", onData],
    ["change:layer", showSelection],
    ["change:heads", onHeads],
    ["change:selected_token", showSelectedToken],
    ["change:_interventions", showInterventions],
  ]);
  onData();
  showInterventions();

  const unwatchTheme = onThemeChange(() => drawLines(hovered >= 0 ? hovered : model.get("selected_token")));

  return () => {
    unwatchTheme();
    disposed = true;
    unlisten();
    editor.destroy();
    fetchRow.cancel();
    incomingToggle.removeEventListener("change", shadeTokens);
    linesToggle.removeEventListener("change", shadeTokens);
    grid.destroy();
    panel.destroy();
    heatmap.destroy();
    tokenView.destroy();
    root.remove();
  };
}

export default { render };
