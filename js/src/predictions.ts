// PredictionView (src/deepseek_viz/widgets/prediction_view.py): the top-k next tokens at each position
// and the logit lens as a layers × positions grid (cell: top token and, below it, its probability; the
// cell coloured by it on the theme's heat scale, with a legend). Click, or Enter/Space on the focused
// cell (arrow keys move it), selects a position. Only the positions in view are drawn and fetched: the grid scrolls inside its panel
// (all layers vertically, positions horizontally) and asks Python for each window it lacks.

import type { RenderProps } from "@anywidget/types";
import type { ArrayValue } from "./lib/buffers";
import { CommandErrorLine, invoke } from "./lib/commands";
import { cssAt, heatStops, interpolate, inkOn, legendTicks, stopsGradient, type Rgb } from "./lib/colour";
import { element, markDrawn } from "./lib/dom";
import { moveCursor } from "./lib/grid_cursor";
import { describeChange, type InterventionEntry, type PredictionChange } from "./lib/interventions/format";
import { InterventionsPanel, type InterventionAction } from "./lib/interventions/panel";
import { INTERVENTION_STYLES } from "./lib/interventions/styles";
import { emptyState, LiveEditor, liveRoot, type LiveTextModel } from "./lib/live_editor";
import { listen, toggleIndex } from "./lib/model";
import { decodeLens, LensCache, rowName, visibleRange, type Candidate, type LensWindowReply } from "./lib/routing/lens";
import { ROUTING_STYLES } from "./lib/routing/styles";
import { NORMAL, TokenView, tokenLabel, type TokenEntry } from "./lib/tokens";
import { formatPercent } from "./lib/format";
import { groundOf, onThemeChange } from "./lib/theme";

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
/** Grid geometry (px): a position's column, a lens row, the header (position, token, and the corner's
 * third line "layer ↓"), the row names. */
export const COL_W = 38;
export const ROW_H = 26;
export const HEADER_H = 38;
export const NAME_W = 66;

/** The lens's own styles (after the shared and routing ones; scoped under its root). Text 10 px at
 * least; colours from JupyterLab's variables, cells' colours from the heat scale on the panel's ground. */
export const LENS_STYLES = `
.dsv-ll-body { display: flex; flex-direction: column; gap: 8px; min-width: 0; max-width: 100%; }
.dsv-ll-top { display: flex; gap: 12px; flex-wrap: wrap; align-items: flex-start; }
.dsv-ll-wrap { position: relative; max-width: 100%; }
.dsv-ll-scroll { position: relative; box-sizing: border-box; overflow: auto; width: max-content; max-width: 100%; max-height: min(460px, 70vh); border: 1px solid var(--jp-border-color2, #e0e0e0); background: var(--jp-layout-color0, #fff); }
.dsv-ll-scroll:focus-visible { outline: 2px solid var(--jp-brand-color1, #1976d2); }
.dsv-ll-sizer { position: relative; display: flex; align-items: flex-start; }
.dsv-ll-names { position: sticky; left: 0; z-index: 2; background: var(--jp-layout-color0, #fff); flex: none; }
.dsv-ll-names > div { font: 10px/12px ui-monospace, monospace; color: var(--jp-ui-font-color1, #222); padding: 0 2px; white-space: nowrap; box-sizing: border-box; overflow: hidden; }
.dsv-ll-names > div.dsv-ll-rowname { line-height: ${ROW_H}px; }
.dsv-ll-corner { position: sticky; top: 0; z-index: 3; background: var(--jp-layout-color0, #fff); border-bottom: 1px solid var(--jp-border-color2, #e0e0e0); }
.dsv-ll-corner span { display: block; height: 12px; }
.dsv-ll-cells { position: relative; flex: none; }
.dsv-ll { position: absolute; top: 0; border-collapse: collapse; border-spacing: 0; table-layout: fixed; font: 10px/12px ui-monospace, monospace; }
.dsv-ll th { position: sticky; top: 0; z-index: 1; padding: 0 2px; background: var(--jp-layout-color0, #fff); font-weight: normal; color: var(--jp-ui-font-color1, #222); text-align: left; vertical-align: top; box-sizing: border-box; overflow: hidden; cursor: pointer; border-bottom: 1px solid var(--jp-border-color2, #e0e0e0); }
.dsv-ll th::before { content: attr(data-position); display: block; height: 12px; }
.dsv-ll th span, .dsv-ll td span { display: block; overflow: hidden; white-space: pre; text-overflow: ellipsis; height: 12px; }
.dsv-ll th.dsv-on { color: var(--jp-ui-font-color0, #000); font-weight: 700; box-shadow: inset 0 -3px 0 var(--jp-brand-color1, #1976d2); }
.dsv-ll td { padding: 0 1px; overflow: hidden; border: 1px solid var(--jp-border-color2, #e0e0e0); cursor: pointer; box-sizing: border-box; vertical-align: top; }
.dsv-ll td .dsv-ll-p { font-family: system-ui, sans-serif; font-variant-numeric: tabular-nums; }
.dsv-ll td.dsv-ll-col { box-shadow: inset 2px 0 0 var(--jp-brand-color1, #1976d2), inset -2px 0 0 var(--jp-brand-color1, #1976d2); }
.dsv-ll td:focus { outline: none; }
.dsv-ll td:focus-visible, .dsv-ll td.dsv-ll-cursor:focus { outline: 2px solid var(--jp-ui-font-color0, #000); outline-offset: -3px; }
.dsv-ll td.dsv-pending { background: var(--jp-layout-color2, #eee); color: var(--jp-ui-font-color1, #222); }
.dsv-ll-legend { display: flex; gap: 6px; align-items: center; font-size: 11px; color: var(--jp-ui-font-color1, #222); }
.dsv-ll-legend .dsv-legend-bar { border: 1px solid var(--jp-border-color2, #e0e0e0); }
.dsv-ll-legend .dsv-legend-ticks { color: var(--jp-ui-font-color1, #222); }
.dsv-ll-preds { font: 12px ui-monospace, monospace; display: grid; grid-template-columns: auto minmax(0, 16ch) 84px auto; column-gap: 6px; row-gap: 2px; align-items: center; min-width: 220px; }
.dsv-ll-preds > .dsv-caption { grid-column: 1 / -1; }
.dsv-ll-preds .dsv-ll-rank { color: var(--jp-ui-font-color1, #222); text-align: right; }
.dsv-ll-preds .dsv-ll-tok { overflow: hidden; white-space: pre; text-overflow: ellipsis; }
.dsv-ll-preds .dsv-ll-track { height: 8px; background: var(--jp-layout-color2, #eee); }
.dsv-ll-preds .dsv-ll-bar { display: block; height: 8px; background: var(--jp-brand-color1, #1976d2); }
.dsv-ll-preds .dsv-ll-p { text-align: right; font-variant-numeric: tabular-nums; }
`;

/** A predicted token's text with whitespace made visible and control characters (but tab and newline)
 * written as their byte, like the pieces of characters Python sends ("<0x01>": any font shows it). */
export const visible = (text: string): string =>
  tokenLabel([[text.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `<0x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}>`), NORMAL]], 0) || "∅";

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
  /** The keyboard's cell: [row, position] (the one cell of the grid in the tab order). */
  let cursor: [number, number] = [0, 0];
  /** The heat scale on the panel's ground (read at each draw: the theme may change). */
  let stops: Rgb[] = heatStops([255, 255, 255]);

  const empty = emptyState("predictions");
  const table = element("table", { testid: "logit-lens", className: "dsv-ll", attrs: { role: "grid", "aria-label": "logit lens: layers × positions" } });
  const names = element("div", { className: "dsv-ll-names" });
  const cells = element("div", { className: "dsv-ll-cells" }, table);
  const scroller = element("div", { testid: "lens-scroll", className: "dsv-ll-scroll" }, element("div", { className: "dsv-ll-sizer" }, names, cells));
  const tooltip = element("div", { testid: "lens-tooltip", className: "dsv-tooltip" });
  tooltip.hidden = true;
  const legend = element("div", { testid: "lens-legend", className: "dsv-legend dsv-ll-legend" });
  const errorLine = new CommandErrorLine("lens-error");
  const predictions = element("div", { testid: "predictions", className: "dsv-ll-preds" });
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
    click: (index) => select(index, true),
  });

  const focus = (): number => (hovered >= 0 ? hovered : model.get("selected_token"));

  /** The model's own top-k after the hovered, selected or last position: the lens's last row where the
   * browser has it, else what Python sent for the selected (or last) position. One row per candidate:
   * rank, token, bar, probability, each its own element. */
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
    const nodes = items.flatMap((item, rank) => {
      const text = visible(item.text);
      return [
        element("span", { className: "dsv-ll-rank", text: `${rank + 1}.` }),
        element("span", { testid: `prediction-${rank}`, className: "dsv-ll-tok", text, attrs: { title: text } }),
        element("span", { className: "dsv-ll-track" }, element("span", { className: "dsv-ll-bar", attrs: { style: `width:${Math.max(0, Math.min(1, item.prob)) * 100}%` } })),
        element("span", { testid: `prediction-prob-${rank}`, className: "dsv-ll-p", text: formatPercent(item.prob) }),
      ];
    });
    predictions.replaceChildren(element("div", { className: "dsv-caption", text: `after ${position}: ${tokenLabel(tokens, position) || "·"}` }), ...nodes);
  }

  /** The legend of the cells' colours: the heat scale on this panel's ground, 0% … 100%. */
  function showLegend(): void {
    const bar = element("div", { className: "dsv-legend-bar", attrs: { style: `background:${stopsGradient(stops)}` } });
    const ticks = legendTicks(1, 3).map((tick) => element("span", { text: formatPercent(tick) }));
    legend.replaceChildren(
      element("span", { className: "dsv-legend-title", text: "top-1 probability" }),
      element("div", { className: "dsv-legend-scale" }, bar, element("div", { className: "dsv-legend-ticks" }, ...ticks)),
    );
  }

  /** Take the heat scale of the theme the lens is shown in (its low end the panel's background). */
  function readTheme(): void {
    if (scroller.isConnected) stops = heatStops(groundOf(scroller));
    showLegend();
  }

  /** Size the scroll area for every position and row; the corner (what the axes are) and row names. */
  function layout(): void {
    const n = tokens.length;
    cells.style.width = `${n * COL_W}px`;
    cells.style.height = `${HEADER_H + rows * ROW_H}px`;
    const corner = element(
      "div",
      { testid: "lens-corner", className: "dsv-ll-corner", attrs: { style: `height:${HEADER_H}px;width:${NAME_W}px` } },
      element("span", { text: "position →" }),
      element("span", { text: "token →" }),
      element("span", { text: "layer ↓" }),
    );
    const rowNames = Array.from({ length: rows }, (_, r) =>
      element("div", { testid: `lens-row-${r}`, className: "dsv-ll-rowname", text: rowName(r, rows), attrs: { style: `height:${ROW_H}px;width:${NAME_W}px` } }),
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
    const hadFocus = table.contains(document.activeElement);
    if (scroller.isConnected) stops = heatStops(groundOf(scroller));
    // not laid out yet (the view is drawn before it is attached): assume a wide panel; a resize redraws
    const shownWidth = scroller.clientWidth > 0 ? scroller.clientWidth : 1200;
    const [first, end] = visibleRange(scroller.scrollLeft, Math.max(COL_W, shownWidth - NAME_W), COL_W, n);
    const last = Math.min(n, end + 1);
    const positions = Array.from({ length: last - first }, (_, i) => first + i);
    const selected = model.get("selected_token");
    cursor = [Math.min(cursor[0], rows - 1), Math.min(cursor[1], n - 1)];
    // the keyboard's cell stays among those drawn (so Tab always reaches the grid) unless it has focus
    if (!hadFocus && (cursor[1] < first || cursor[1] >= last)) cursor = [cursor[0], Math.max(first, Math.min(last - 1, cursor[1]))];
    table.style.left = `${first * COL_W}px`;
    table.style.width = `${positions.length * COL_W}px`;
    const header = element(
      "tr",
      {},
      ...positions.map((p) => {
        const label = tokenLabel(tokens, p) || "·";
        return element(
          "th",
          {
            testid: `lens-position-${p}`,
            className: p === selected ? "dsv-on" : "",
            attrs: { title: `position ${p}: ${label}`, "data-position": String(p), scope: "col", style: `width:${COL_W}px;height:${HEADER_H}px` },
          },
          // the position number is drawn by CSS (from data-position): the head's text is the token alone
          element("span", { className: "dsv-ll-head", text: label }),
        );
      }),
    );
    const body = Array.from({ length: rows }, (_, r) => {
      const row = positions.map((p) => {
        const top = cache.candidates(r, p)?.[0];
        const place = { "data-row": String(r), "data-position": String(p), tabindex: r === cursor[0] && p === cursor[1] ? "0" : "-1" };
        const marks = `${p === selected ? "dsv-ll-col" : ""}${r === cursor[0] && p === cursor[1] ? " dsv-ll-cursor" : ""}`;
        if (!top) return element("td", { className: `dsv-pending ${marks}`, text: "…", attrs: { ...place, style: `height:${ROW_H}px` } });
        const colour = interpolate(stops, Math.max(0, Math.min(1, top.prob)));
        const text = visible(top.text);
        return element(
          "td",
          {
            testid: `lens-${r}-${p}`,
            className: marks,
            attrs: {
              ...place,
              "data-prob": String(top.prob),
              "aria-label": `${rowName(r, rows)}, after position ${p}: ${text} ${formatPercent(top.prob)}`,
              style: `height:${ROW_H}px;background:${cssAt(stops, top.prob)};color:${inkOn(colour)}`,
            },
          },
          element("span", { className: "dsv-ll-tok", text }),
          element("span", { className: "dsv-ll-p", text: formatPercent(top.prob) }),
        );
      });
      return element("tr", {}, ...row);
    });
    table.replaceChildren(header, ...body);
    if (hadFocus) cursorCell()?.focus({ preventScroll: true });
    markDrawn(table);
    const missing = cache.firstMissing(first, last);
    if (missing >= 0) void fetchWindow(missing);
  }

  const cursorCell = (): HTMLElement | null => table.querySelector<HTMLElement>(`td[data-row="${cursor[0]}"][data-position="${cursor[1]}"]`);

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
    // below the pointer, or above it where the list would run past the view's end (the notebook clips it)
    const box = lensWrap.getBoundingClientRect();
    const bottom = root.getBoundingClientRect().bottom;
    const height = tooltip.offsetHeight;
    const below = event.clientY + 12 + height <= bottom;
    tooltip.style.left = `${Math.min(event.clientX - box.left + 12, Math.max(0, lensWrap.clientWidth - 220))}px`;
    tooltip.style.top = `${below ? event.clientY - box.top + 12 : event.clientY - box.top - 12 - height}px`;
  };
  const onLensLeave = (): void => {
    tooltip.hidden = true;
  };
  /** A click on a cell or a column head selects its position (again: none); the grid does not scroll. */
  const onLensClick = (event: MouseEvent): void => {
    const target = event.target instanceof Element ? event.target.closest<HTMLElement>("[data-position]") : null;
    if (!target?.dataset.position) return;
    if (target.dataset.row !== undefined) cursor = [Number(target.dataset.row), Number(target.dataset.position)];
    select(Number(target.dataset.position), false);
  };
  /** Arrow keys (Home, End) move the focused cell; Enter or Space selects its position. */
  const onLensKey = (event: KeyboardEvent): void => {
    if (!(event.target instanceof HTMLElement) || !event.target.closest("td[data-row]")) return;
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      select(cursor[1], false);
      return;
    }
    const next = moveCursor(event.key, cursor, rows, tokens.length);
    if (!next) return;
    event.preventDefault();
    cursor = next;
    revealCell(next[0], next[1]);
    drawLens();
    cursorCell()?.focus({ preventScroll: true });
  };

  /** Scroll just enough that cell (`row`, `position`) is in view. */
  function revealCell(row: number, position: number): void {
    const shownWidth = Math.max(COL_W, scroller.clientWidth - NAME_W);
    const left = position * COL_W;
    if (left < scroller.scrollLeft) scroller.scrollLeft = left;
    else if (left + COL_W > scroller.scrollLeft + shownWidth) scroller.scrollLeft = left + COL_W - shownWidth;
    const shownHeight = Math.max(ROW_H, scroller.clientHeight - HEADER_H);
    const top = row * ROW_H;
    if (top < scroller.scrollTop) scroller.scrollTop = top;
    else if (top + ROW_H > scroller.scrollTop + shownHeight) scroller.scrollTop = top + ROW_H - shownHeight;
  }

  /** Select `position` (again: none), and mark it; `reveal`: scroll its column into view. */
  function select(position: number, reveal: boolean): void {
    toggleIndex(model, "selected_token", position);
    showSelection(reveal);
  }

  /** Scroll the lens so position `position`'s column is in view (when laid out). */
  function reveal(position: number): void {
    if (position < 0 || position >= tokens.length || !scroller.clientWidth) return;
    const shownWidth = Math.max(COL_W, scroller.clientWidth - NAME_W);
    const left = position * COL_W;
    if (left < scroller.scrollLeft || left + COL_W > scroller.scrollLeft + shownWidth) scroller.scrollLeft = Math.max(0, left + COL_W / 2 - shownWidth / 2);
  }

  function showSelection(scroll = true): void {
    const selected = model.get("selected_token");
    tokenView.setSelected(selected);
    if (selected >= 0 && selected < tokens.length) cursor = [cursor[0], selected];
    if (scroll) reveal(selected);
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
    legend.hidden = rows === 0;
    layout();
    const selected = model.get("selected_token");
    const focusAt = selected >= 0 && selected < tokens.length ? selected : tokens.length - 1;
    cursor = [Math.max(0, rows - 1), Math.max(0, focusAt)];
    if (window) {
      // show the selected position (else the last) at the right of the view, within Python's window
      pendingFocus = focusAt;
      scrollToFocus();
    }
    showSelection(false);
    editor.onAnswer();
    markDrawn(root);
  }

  const lensWrap = element("div", { className: "dsv-canvas-wrap dsv-ll-wrap" }, scroller, tooltip);
  scroller.addEventListener("scroll", onScroll);
  scroller.addEventListener("mousemove", onLensMove);
  scroller.addEventListener("mouseleave", onLensLeave);
  table.addEventListener("click", onLensClick);
  table.addEventListener("keydown", onLensKey);
  const root = liveRoot(
    "prediction-view",
    editor,
    ROUTING_STYLES + INTERVENTION_STYLES + LENS_STYLES,
    panel.root,
    empty,
    element(
      "div",
      { className: "dsv-ll-body" },
      element("div", { className: "dsv-ll-top" }, element("div", { className: "dsv-tokens-wrap" }, tokenView.root), element("div", {}, change, predictions)),
      element(
        "div",
        { className: "dsv-heatmap-wrap" },
        element("div", { className: "dsv-caption", text: "logit lens: the top next token read from each layer after each position (click a cell to select its position; arrow keys move, Enter selects)" }),
        errorLine.root,
        lensWrap,
        legend,
      ),
    ),
  );
  root.classList.add("dsv-lens-root");
  el.replaceChildren(root);

  const unlisten = listen(model, [
    ["change:_data_id", onData],
    ["change:selected_token", () => showSelection(true)],
    ["change:_predictions", showPredictions],
    ["change:_change", showChange],
    ["change:_interventions", showChange],
  ]);
  onData();
  showChange();
  readTheme();
  const unwatchTheme = onThemeChange(() => {
    readTheme();
    drawLens();
  });
  // Draw again once laid out and whenever the panel's size changes (the columns in view change).
  let laidOutWidth = -1;
  const resize =
    typeof ResizeObserver === "undefined"
      ? null
      : new ResizeObserver(() => {
          if (scroller.clientWidth === laidOutWidth) return;
          if (laidOutWidth < 0) readTheme(); // first in the page: its ground is known now
          laidOutWidth = scroller.clientWidth;
          scrollToFocus();
          onScroll();
        });
  resize?.observe(scroller);

  return () => {
    unlisten();
    unwatchTheme();
    resize?.disconnect();
    if (frame) cancelAnimationFrame(frame);
    scroller.removeEventListener("scroll", onScroll);
    scroller.removeEventListener("mousemove", onLensMove);
    scroller.removeEventListener("mouseleave", onLensLeave);
    table.removeEventListener("click", onLensClick);
    table.removeEventListener("keydown", onLensKey);
    editor.destroy();
    tokenView.destroy();
    panel.destroy();
    root.remove();
  };
}

export default { render };
