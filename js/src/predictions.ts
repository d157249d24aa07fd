// PredictionView (src/deepseek_viz/widgets/prediction_view.py): the top-k next tokens at each position
// and the logit lens as a layers × positions grid (cell: top token and its probability, colour by
// probability). Only the positions in view are drawn and fetched: the grid scrolls inside its panel
// (all layers vertically, positions horizontally) and asks Python for each window it lacks.

import type { RenderProps } from "@anywidget/types";
import type { ArrayValue } from "./lib/buffers";
import { CommandErrorLine, invoke } from "./lib/commands";
import { colourAt, cssColour, inkOn } from "./lib/colour";
import { element, markDrawn } from "./lib/dom";
import { describeChange, type InterventionEntry, type PredictionChange } from "./lib/interventions/format";
import { InterventionsPanel, type InterventionAction } from "./lib/interventions/panel";
import { INTERVENTION_STYLES } from "./lib/interventions/styles";
import { emptyState, LiveEditor, liveRoot, type LiveTextModel } from "./lib/live_editor";
import { listen, toggleIndex } from "./lib/model";
import { decodeLens, LensCache, rowName, visibleRange, type Candidate, type LensWindowReply } from "./lib/routing/lens";
import { ROUTING_STYLES } from "./lib/routing/styles";
import { NORMAL, TokenView, tokenLabel, type TokenEntry } from "./lib/tokens";
import { formatPercent } from "./lib/format";

/** Mirrors the synced traits of PredictionView. */
export interface PredictionModel extends LiveTextModel {
  selected_token: number;
  k: number;
  num_layers: number;
  _tokens: TokenEntry[];
  _strings: string[];
  /** uint16/uint32 `[layer + 1, position - _lens_start, k]` indices into `_strings`. */
  _lens_ids: ArrayValue;
  /** float16 probabilities, the shape of `_lens_ids`. */
  _lens_probs: ArrayValue;
  _lens_start: number;
  /** The model's top-k `[text, prob]` after position `_predictions_at`. */
  _predictions: [string, number][];
  _predictions_at: number;
  _data_id: number;
  /** The interventions in force (Interventions.describe()). */
  _interventions?: InterventionEntry[];
  /** Before → after at `_predictions_at` under the interventions (null: none in force). */
  _change?: PredictionChange | null;
}

/** Most positions one lens window holds (Python may send fewer at large k × layers). */
export const LENS_COLUMNS = 32;
/** Grid geometry (px): a position's column, a lens row, the header, the row names. */
export const COL_W = 64;
export const ROW_H = 26;
export const HEADER_H = 20;
export const NAME_W = 72;

/** A predicted token's text with whitespace made visible. */
const visible = (text: string): string => tokenLabel([[text, NORMAL]], 0) || "∅";

function listing(items: Candidate[]): string {
  return items.map((item, rank) => `${rank + 1}. ${visible(item.text)}  ${formatPercent(item.prob)}`).join("\n");
}

function render({ model, el, experimental, signal }: RenderProps<PredictionModel>): () => void {
  const editor = new LiveEditor(model, experimental, signal);
  let tokens: TokenEntry[] = [];
  const cache = new LensCache();
  let rows = 0;
  let windowSize = LENS_COLUMNS;
  let hovered = -1;
  let fetching = false;
  let frame = 0;
  /** The position to scroll into view once the view is laid out (-1: none). */
  let pendingFocus = -1;

  const empty = emptyState("predictions");
  const table = element("table", { testid: "logit-lens", className: "dsv-lens" });
  const names = element("div", { className: "dsv-lens-names" });
  const cells = element("div", { className: "dsv-lens-cells" }, table);
  const scroller = element("div", { testid: "lens-scroll", className: "dsv-lens-scroll" }, element("div", { className: "dsv-lens-sizer" }, names, cells));
  const tooltip = element("div", { testid: "lens-tooltip", className: "dsv-tooltip" });
  tooltip.hidden = true;
  const errorLine = new CommandErrorLine("lens-error");
  const predictions = element("div", { testid: "predictions", className: "dsv-predictions" });
  const change = element("div", { testid: "prediction-change", className: "dsv-change", attrs: { "aria-live": "polite" } });
  const panel = new InterventionsPanel((action: InterventionAction) => invoke(experimental, "_intervene", action, signal), null);

  /** The original run's top next token against the intervened run's, at `_predictions_at`. */
  function showChange(): void {
    const value = model.get("_change") ?? null;
    panel.setItems(model.get("_interventions") ?? []);
    change.hidden = value === null;
    if (!value) {
      change.replaceChildren();
      return;
    }
    const { main, now } = describeChange(value, visible);
    change.replaceChildren(
      element("div", { className: "dsv-caption", text: `after ${value.at}: ${tokenLabel(tokens, value.at) || "·"} · original → with interventions` }),
      element("div", { testid: "change-main", className: "dsv-change-main", text: main }),
      ...(now ? [element("div", { testid: "change-now", text: now })] : []),
    );
  }
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

  /** The model's own top-k after the hovered, selected or last position: the lens's last row where the
   * browser has it, else what Python sent for the selected (or last) position. */
  function showPredictions(): void {
    const n = tokens.length;
    if (!n || !rows) {
      predictions.replaceChildren();
      return;
    }
    let position = focus() >= 0 && focus() < n ? focus() : n - 1;
    let items = cache.candidates(rows - 1, position);
    if (!items) {
      position = model.get("_predictions_at");
      items = model.get("_predictions").map(([text, prob]) => ({ text, prob }));
    }
    const nodes = items.map((item) =>
      element(
        "div",
        {},
        element("span", { className: "dsv-prob-bar", attrs: { style: `width:${Math.round(item.prob * 80)}px` } }),
        element("span", { text: `${visible(item.text)}  ${formatPercent(item.prob)}` }),
      ),
    );
    predictions.replaceChildren(element("div", { className: "dsv-caption", text: `after ${position}: ${tokenLabel(tokens, position) || "·"}` }), ...nodes);
  }

  /** Size the scroll area for every position and row; the row names. */
  function layout(): void {
    const n = tokens.length;
    cells.style.width = `${n * COL_W}px`;
    cells.style.height = `${HEADER_H + rows * ROW_H}px`;
    const corner = element("div", { className: "dsv-lens-corner", text: "layer \\ after", attrs: { style: `height:${HEADER_H}px;width:${NAME_W}px` } });
    const rowNames = Array.from({ length: rows }, (_, r) =>
      element("div", { testid: `lens-row-${r}`, text: rowName(r, rows), attrs: { style: `height:${ROW_H}px;line-height:${ROW_H}px;width:${NAME_W}px` } }),
    );
    names.replaceChildren(corner, ...rowNames);
  }

  /** Draw the cells of the positions in view (those not fetched yet as pending), then fetch what is missing. */
  function drawLens(): void {
    const n = tokens.length;
    if (!n || !rows) {
      table.replaceChildren();
      markDrawn(table);
      return;
    }
    // not laid out yet (the view is drawn before it is attached): assume a wide panel; a resize redraws
    const shownWidth = scroller.clientWidth > 0 ? scroller.clientWidth : 1200;
    const [first, end] = visibleRange(scroller.scrollLeft, Math.max(COL_W, shownWidth - NAME_W), COL_W, n);
    const last = Math.min(n, end + 1);
    const positions = Array.from({ length: last - first }, (_, i) => first + i);
    const selected = model.get("selected_token");
    table.style.left = `${first * COL_W}px`;
    table.style.width = `${positions.length * COL_W}px`;
    const header = element(
      "tr",
      {},
      ...positions.map((p) =>
        element("th", {
          testid: `lens-position-${p}`,
          className: p === selected ? "dsv-on" : "",
          text: tokenLabel(tokens, p) || "·",
          attrs: { title: `position ${p}`, style: `width:${COL_W}px;height:${HEADER_H}px` },
        }),
      ),
    );
    const body = Array.from({ length: rows }, (_, r) => {
      const row = positions.map((p) => {
        const top = cache.candidates(r, p)?.[0];
        if (!top) return element("td", { className: "dsv-pending", text: "…", attrs: { "data-row": String(r), "data-position": String(p), style: `height:${ROW_H}px` } });
        const cell = element(
          "td",
          {
            testid: `lens-${r}-${p}`,
            attrs: {
              "data-row": String(r),
              "data-position": String(p),
              "data-prob": String(top.prob),
              style: `height:${ROW_H}px;background:${cssColour(top.prob)};color:${inkOn(colourAt(top.prob))}`,
            },
          },
          element("span", { text: visible(top.text) }),
          element("small", { text: formatPercent(top.prob) }),
        );
        return cell;
      });
      return element("tr", {}, ...row);
    });
    table.replaceChildren(header, ...body);
    markDrawn(table);
    const missing = cache.firstMissing(first, last);
    if (missing >= 0) void fetchWindow(missing);
  }

  /** Ask Python for the lens window starting at `start` (one at a time; a later scroll asks again). */
  async function fetchWindow(start: number): Promise<void> {
    if (fetching) return;
    fetching = true;
    const dataId = model.get("_data_id");
    try {
      const [reply, buffers] = await invoke<LensWindowReply>(experimental, "_lens_window", { data_id: dataId, start, count: windowSize }, signal);
      if (reply.stale || reply.data_id !== model.get("_data_id")) return;
      const window = decodeLens({ ...reply.ids, buffer: buffers[0] }, { ...reply.probs, buffer: buffers[1] }, reply.strings, reply.start);
      if (window) cache.add(window);
      errorLine.clear();
    } catch (error) {
      errorLine.show(error);
      return;
    } finally {
      fetching = false;
    }
    drawLens();
    showPredictions();
  }

  const onScroll = (): void => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      drawLens();
    });
  };

  const onLensMove = (event: MouseEvent): void => {
    const cell = event.target instanceof Element ? event.target.closest<HTMLElement>("td[data-row]") : null;
    const items = cell ? cache.candidates(Number(cell.dataset.row), Number(cell.dataset.position)) : null;
    if (!cell || !items) {
      tooltip.hidden = true;
      return;
    }
    const row = Number(cell.dataset.row);
    const position = Number(cell.dataset.position);
    tooltip.textContent = `${rowName(row, rows)}, after ${tokenLabel(tokens, position) || "·"}\n${listing(items)}`;
    tooltip.hidden = false;
    const box = scroller.getBoundingClientRect();
    tooltip.style.left = `${Math.min(event.clientX - box.left + 12, Math.max(0, scroller.clientWidth - 200))}px`;
    tooltip.style.top = `${event.clientY - box.top + 12}px`;
  };
  const onLensLeave = (): void => {
    tooltip.hidden = true;
  };
  const onLensClick = (event: MouseEvent): void => {
    const cell = event.target instanceof Element ? event.target.closest<HTMLElement>("[data-position],[data-testid^='lens-position-']") : null;
    const position = cell?.dataset.position ?? cell?.dataset.testid?.replace("lens-position-", "");
    if (position === undefined || position === "") return;
    toggleIndex(model, "selected_token", Number(position));
    showSelection();
  };

  /** Scroll the lens so position `position`'s column is in view (when laid out). */
  function reveal(position: number): void {
    if (position < 0 || position >= tokens.length || !scroller.clientWidth) return;
    const shownWidth = Math.max(COL_W, scroller.clientWidth - NAME_W);
    const left = position * COL_W;
    if (left < scroller.scrollLeft || left + COL_W > scroller.scrollLeft + shownWidth) scroller.scrollLeft = Math.max(0, left + COL_W / 2 - shownWidth / 2);
  }

  function showSelection(): void {
    tokenView.setSelected(model.get("selected_token"));
    reveal(model.get("selected_token"));
    drawLens();
    showPredictions();
  }

  /** Scroll so position `pendingFocus` is in view (once laid out: before, on the first resize). */
  function scrollToFocus(): void {
    if (pendingFocus < 0 || !scroller.clientWidth) return;
    const shownWidth = Math.max(COL_W, scroller.clientWidth - NAME_W);
    scroller.scrollLeft = Math.max(0, (pendingFocus + 1) * COL_W - shownWidth);
    pendingFocus = -1;
  }

  function onData(): void {
    if (!editor.accept()) return; // older than what is on screen
    tokens = model.get("_tokens");
    tokenView.showTokens(tokens); // redraws only new tokens
    cache.clear();
    const window = decodeLens(model.get("_lens_ids"), model.get("_lens_probs"), model.get("_strings"), model.get("_lens_start"));
    rows = window ? window.rows : 0;
    if (window) {
      cache.add(window);
      windowSize = Math.max(1, window.count);
    }
    empty.hidden = tokens.length > 0;
    layout();
    if (window) {
      // show the selected position (else the last) at the right of the view, within Python's window
      const selected = model.get("selected_token");
      pendingFocus = selected >= 0 && selected < tokens.length ? selected : tokens.length - 1;
      scrollToFocus();
    }
    showSelection();
    editor.onAnswer();
    markDrawn(root);
  }

  const lensWrap = element("div", { className: "dsv-canvas-wrap dsv-lens-wrap" }, scroller, tooltip);
  scroller.addEventListener("scroll", onScroll);
  scroller.addEventListener("mousemove", onLensMove);
  scroller.addEventListener("mouseleave", onLensLeave);
  table.addEventListener("click", onLensClick);
  const root = liveRoot(
    "prediction-view",
    editor,
    ROUTING_STYLES + INTERVENTION_STYLES,
    panel.root,
    empty,
    element(
      "div",
      { className: "dsv-lens-body" },
      element("div", { className: "dsv-lens-top" }, element("div", { className: "dsv-tokens-wrap" }, tokenView.root), element("div", {}, change, predictions)),
      element("div", { className: "dsv-heatmap-wrap" }, element("div", { className: "dsv-caption", text: "logit lens: top next token read from each layer (scroll for more positions and layers)" }), errorLine.root, lensWrap),
    ),
  );
  root.classList.add("dsv-lens-root");
  el.replaceChildren(root);

  const unlisten = listen(model, [
    ["change:_data_id", onData],
    ["change:selected_token", showSelection],
    ["change:_predictions", showPredictions],
    ["change:_change", showChange],
    ["change:_interventions", showChange],
  ]);
  onData();
  showChange();
  // Draw again once laid out and whenever the panel's size changes (the columns in view change).
  let laidOutWidth = -1;
  const resize =
    typeof ResizeObserver === "undefined"
      ? null
      : new ResizeObserver(() => {
          if (scroller.clientWidth === laidOutWidth) return;
          laidOutWidth = scroller.clientWidth;
          scrollToFocus();
          onScroll();
        });
  resize?.observe(scroller);

  return () => {
    unlisten();
    resize?.disconnect();
    if (frame) cancelAnimationFrame(frame);
    scroller.removeEventListener("scroll", onScroll);
    scroller.removeEventListener("mousemove", onLensMove);
    scroller.removeEventListener("mouseleave", onLensLeave);
    table.removeEventListener("click", onLensClick);
    editor.destroy();
    tokenView.destroy();
    panel.destroy();
    root.remove();
  };
}

export default { render };
