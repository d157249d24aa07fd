// Compare (src/deepseek_viz/widgets/compare_view.py): two runs side by side with their differences.
// One column per position (run a's token over run b's, the experts changed, the attributions), the
// chosen head's pattern in each run and b − a (run a's tokens along both axes, a legend for each scale), the
// predictions a → b and the lens agreement strip (layer rows, position columns).

import type { RenderProps } from "@anywidget/types";
import { formatScore, normalise, peakAbs } from "./lib/attribution/scale";
import { formatWeight } from "./lib/format";
import { decodeFloats, decodeIndices, decodeQuantised, type ArrayValue } from "./lib/buffers";
import { heatStops, inkOn, interpolate, legendTicks, stopsGradient, type Rgb } from "./lib/colour";
import { groundOf } from "./lib/theme";
import { CommandErrorLine, invoke } from "./lib/commands";
import { agreementColour, cssDifference, differenceColour, differenceGradient } from "./lib/compare/colours";
import { expertsAt, heatmapTip, lensTip, predictionText, routingTip } from "./lib/compare/data";
import { cellUnder, paintCells } from "./lib/compare/draw";
import { axisLabels, LENS_ROW, lensCellWidth, type AxisLabel } from "./lib/compare/layout";
import { COMPARE_STYLES } from "./lib/compare/styles";
import { debounce } from "./lib/debounce";
import { element, markDrawn } from "./lib/dom";
import { gridCursor } from "./lib/grid_cursor";
import { listen } from "./lib/model";
import { rowName } from "./lib/routing/lens";
import { isLightColour } from "./lib/routing/theme";
import { renderStatus, type Status } from "./lib/status";
import { STYLES } from "./lib/styles";
import { PIECE, SPECIAL, showControls, tokenLabel, type TokenEntry } from "./lib/tokens";

/** Mirrors the synced traits of Compare. */
export interface CompareModel {
  text_a: string;
  text_b: string;
  layer: number;
  head: number;
  selected_token: number;
  num_layers: number;
  num_heads: number;
  moe_layers: number[];
  status: Status;
  _data_id: number;
  _caption: string;
  _tokens_a: TokenEntry[];
  _tokens_b: TokenEntry[];
  _differs: ArrayValue;
  _pattern_a: ArrayValue;
  _pattern_b: ArrayValue;
  _difference: ArrayValue;
  _block: number;
  _colour_max: number;
  _routing_changes: ArrayValue;
  _experts_a: ArrayValue;
  _experts_b: ArrayValue;
  _routed_layer: number;
  _routing_note: string;
  _top_a: string[];
  _top_b: string[];
  _prob_a: ArrayValue;
  _prob_b: ArrayValue;
  _prob_change: ArrayValue;
  _lens_agree: ArrayValue;
  _lens_start: number;
  _attr_a: ArrayValue;
  _attr_b: ArrayValue;
  _attr_caption: string;
}

const EDIT_MS = 300;

function options(select: HTMLSelectElement, count: number, prefix: string, chosen: number): void {
  if (select.options.length !== count) {
    select.replaceChildren(...Array.from({ length: count }, (_, i) => element("option", { text: `${prefix} ${i}`, attrs: { value: String(i) } })));
  }
  select.value = String(chosen);
}

function tokenSpan(testid: string, entry: TokenEntry | undefined): HTMLSpanElement {
  if (!entry) return element("span", { testid, className: "dsv-token dsv-cmp-missing", text: " " }); // the other run is longer
  const [text, kind] = entry;
  const className = kind === SPECIAL ? "dsv-token dsv-special" : kind === PIECE ? "dsv-token dsv-piece" : "dsv-token";
  return element("span", { testid, className, text: showControls(text) || " " });
}

/** A legend: what the colours mean, a bar of the scale and its ticks under it. */
function legendBox(testid: string, title: string, gradient: string, ticks: readonly string[]): HTMLElement {
  const bar = element("div", { className: "dsv-legend-bar" });
  bar.style.background = gradient;
  return element(
    "div",
    { testid, className: "dsv-legend dsv-cmp-legend" },
    element("span", { className: "dsv-legend-title", text: title }),
    element("div", { className: "dsv-legend-scale" }, bar, element("div", { className: "dsv-legend-ticks" }, ...ticks.map((tick) => element("span", { text: tick })))),
  );
}

/** Fill an axis strip with its labels (text as text, the full label as the title). */
function placeLabels(strip: HTMLElement, prefix: string, along: "top" | "left", step: number, labels: readonly AxisLabel[]): void {
  strip.replaceChildren(
    ...labels.map((label) => {
      const node = element("span", { testid: `${prefix}-${label.index}`, className: "dsv-cmp-axis-label", text: label.text, attrs: { title: label.title, "data-index": String(label.index) } });
      node.style[along] = `${label.position}px`;
      return node;
    }),
  );
  strip.dataset.step = String(step);
}

/** Side of a heatmap canvas in CSS px (styles.ts). */
const HEATMAP_PX = 220;

function render({ model, el, experimental, signal }: RenderProps<CompareModel>): () => void {
  let disposed = false;
  let running = false;
  const status = element("span", { testid: "status", className: "dsv-status", attrs: { role: "status" } });
  const editors = (["a", "b"] as const).map((run) => {
    const input = element("textarea", { testid: `text-input-${run}`, className: "dsv-input", attrs: { spellcheck: "false", "aria-label": `text of run ${run}` } });
    input.value = model.get(`text_${run}`);
    const send = debounce((text: string) => {
      model.set(`text_${run}`, text);
      model.save_changes();
    }, EDIT_MS);
    input.addEventListener("input", () => send.call(input.value));
    return { run, input, send, label: element("label", { text: `run ${run}` }, input) };
  });
  const caption = element("div", { testid: "compare-caption", className: "dsv-caption" });
  const layerSelect = element("select", { testid: "layer-select", attrs: { "aria-label": "layer" } });
  const headSelect = element("select", { testid: "head-select", attrs: { "aria-label": "head" } });
  const columns = element("div", { testid: "compare-tokens", className: "dsv-cmp-columns" });
  const routingNote = element("div", { testid: "routing-note", className: "dsv-cmp-note" });
  const canvases = {
    a: element("canvas", { testid: "pattern-a" }),
    b: element("canvas", { testid: "pattern-b" }),
    difference: element("canvas", { testid: "difference-heatmap" }),
  };
  const patternLegend = element("div", { className: "dsv-cmp-legend-slot" });
  const differenceLegend = element("div", { className: "dsv-cmp-legend-slot" });
  const attrLegend = element("div", { testid: "attribution-legend", className: "dsv-cmp-legends" });
  const axisOf = (name: string) => ({
    query: element("div", { testid: `query-labels-${name}`, className: "dsv-cmp-queries" }),
    key: element("div", { testid: `key-labels-${name}`, className: "dsv-cmp-keys" }),
  });
  const axes = { a: axisOf("a"), b: axisOf("b"), difference: axisOf("difference") };
  const lensRowLabels = element("div", { testid: "lens-rows", className: "dsv-cmp-lens-rows" });
  const lensColLabels = element("div", { testid: "lens-columns", className: "dsv-cmp-keys dsv-cmp-lens-cols" });
  const lensLegend = element("div", { testid: "lens-legend", className: "dsv-legend dsv-cmp-legend" });
  const tooltip = element("div", { testid: "heatmap-tooltip", className: "dsv-cmp-tooltip" });
  const routingTooltip = element("div", { testid: "routing-tooltip", className: "dsv-cmp-tooltip" });
  const lensTooltip = element("div", { testid: "lens-tooltip", className: "dsv-cmp-tooltip" });
  for (const tip of [tooltip, routingTooltip, lensTooltip]) tip.hidden = true;
  const predictions = element("div", { testid: "prediction-changes", className: "dsv-cmp-predictions" });
  const lens = element("canvas", { testid: "lens-agreement", className: "dsv-cmp-lens" });
  const lensCaption = element("div", { className: "dsv-cmp-note" });
  const button = element("button", { testid: "run-attributions", text: "Compute attributions", attrs: { type: "button" } });
  const attrError = new CommandErrorLine("attribution-error");
  const attrCaption = element("div", { testid: "attribution-caption", className: "dsv-cmp-note" });

  const figure = (name: "a" | "b" | "difference", title: string, legend?: HTMLElement) =>
    element(
      "figure",
      { className: "dsv-cmp-figure" },
      element("figcaption", { text: title }),
      element("div", { className: "dsv-cmp-axis-title dsv-cmp-key-title", text: "key →" }),
      element("div", { className: "dsv-cmp-axis-title dsv-cmp-query-title", text: "query ↓" }),
      axes[name].key,
      axes[name].query,
      canvases[name],
      ...(legend ? [legend] : []),
    );
  const root = element(
    "div",
    { testid: "compare-view", className: "dsv-root dsv-cmp-root" },
    element("style", { text: STYLES + COMPARE_STYLES }),
    element("div", { className: "dsv-top" }, element("div", { className: "dsv-cmp-editors", attrs: { style: "flex: 1" } }, ...editors.map((e) => e.label)), status),
    caption,
    element("div", { className: "dsv-cmp-controls" }, layerSelect, headSelect, element("span", { className: "dsv-cmp-note", text: "tokens that differ are underlined" })),
    element("div", { className: "dsv-cmp-section" }, element("div", { className: "dsv-cmp-title", text: "tokens · experts changed · attributions" }), columns, attrLegend, routingNote),
    element("div", { className: "dsv-cmp-section" }, element("div", { className: "dsv-cmp-title", text: "attention of the chosen head" }),
      element("div", { className: "dsv-cmp-heatmaps" }, figure("a", "run a", patternLegend), figure("b", "run b"), figure("difference", "b − a", differenceLegend))),
    element("div", { className: "dsv-cmp-section" }, element("div", { className: "dsv-cmp-title", text: "next-token predictions a → b" }), predictions),
    element("div", { className: "dsv-cmp-section" }, element("div", { className: "dsv-cmp-title", text: "logit lens: where the runs part (orange)" }),
      element(
        "div",
        { className: "dsv-cmp-lens-grid" },
        element("div", { className: "dsv-cmp-axis-title dsv-cmp-query-title", text: "layer ↓" }),
        element("div", { className: "dsv-cmp-lens-spacer" }),
        lensRowLabels,
        lens,
        element("div", { className: "dsv-cmp-lens-spacer" }),
        lensColLabels,
        element("div", { className: "dsv-cmp-lens-spacer" }),
        element("div", { className: "dsv-cmp-axis-title", text: "position →" }),
      ),
      lensLegend,
      lensCaption),
    element("div", { className: "dsv-cmp-section" }, element("div", { className: "dsv-cmp-controls" }, button, attrError.root), attrCaption),
    tooltip,
    routingTooltip,
    lensTooltip,
  );
  el.replaceChildren(root);

  const dark = (): boolean => isLightColour(root.isConnected ? getComputedStyle(root).color : "");

  // --- data as decoded from the traits -------------------------------------------------------------
  let patternA: Float32Array | null = null;
  let patternB: Float32Array | null = null;
  let difference: Float32Array | null = null;
  let side = 0;
  let lensRows = 0;
  let lensCols = 0;
  let agree: Float32Array | null = null;

  function drawHeatmaps(): void {
    const theme = dark();
    const a = decodeQuantised(model.get("_pattern_a"));
    const b = decodeQuantised(model.get("_pattern_b"));
    const d = model.get("_difference");
    patternA = decodeFloats(model.get("_pattern_a"));
    patternB = decodeFloats(model.get("_pattern_b"));
    difference = decodeFloats(d);
    side = d?.shape[0] ?? 0;
    const stops = heatStops(root.isConnected ? groundOf(canvases.a) : [255, 255, 255]);
    for (const [canvas, bytes] of [[canvases.a, a], [canvases.b, b]] as const) {
      canvas.hidden = !bytes;
      // one colour scale for both runs (Python quantises both on _colour_max)
      if (bytes) paintCells(canvas, side, side, (i) => interpolate(stops, bytes.bytes[i] / 255));
    }
    canvases.difference.hidden = !difference;
    const values = difference;
    if (values) {
      const peak = peakAbs(values);
      paintCells(canvases.difference, side, side, (i) => differenceColour(normalise(values[i], peak), theme));
      const ticks = peak > 0 ? [`−${formatWeight(peak)}`, "0", `+${formatWeight(peak)}`] : ["0"];
      differenceLegend.replaceChildren(legendBox("difference-legend", "b − a: blue b lower, red b higher", differenceGradient(theme), ticks));
    } else differenceLegend.replaceChildren();
    if (a || b) {
      // Python scales both runs on the largest weight past query 0 (which reads only itself, weight 1):
      // weights above it (that first row at least) show in the top colour
      const colourMax = model.get("_colour_max");
      const ticks = legendTicks(colourMax, 3).map((tick, i) => (i === 2 && colourMax < 1 ? "≥ " : "") + formatWeight(tick));
      patternLegend.replaceChildren(legendBox("pattern-legend", "weight (runs a and b)", stopsGradient(stops), ticks));
    } else patternLegend.replaceChildren();
    drawAxes();
    root.dataset.theme = theme ? "dark" : "light";
  }

  /** Token labels of run a (the runs are aligned) along the three heatmaps' query and key axes. */
  function drawAxes(): void {
    const tokens = model.get("_tokens_a");
    const block = model.get("_block");
    const label = (position: number) => tokenLabel(tokens, position);
    const rows = axisLabels("query", side, HEATMAP_PX, label, block);
    const cols = axisLabels("key", side, HEATMAP_PX, label, block);
    for (const [name, axis] of Object.entries(axes)) {
      placeLabels(axis.query, `query-label-${name}`, "top", rows.step, rows.labels);
      placeLabels(axis.key, `key-label-${name}`, "left", cols.step, cols.labels);
    }
  }

  function drawLens(): void {
    const wire = model.get("_lens_agree");
    agree = decodeFloats(wire);
    lensRows = wire?.shape[0] ?? 0;
    lensCols = wire?.shape[1] ?? 0;
    lens.hidden = !agree;
    const values = agree;
    const theme = dark();
    const start = model.get("_lens_start");
    if (values) {
      paintCells(lens, lensRows, lensCols, (i) => agreementColour(values[i] > 0.5, theme));
      const cell = lensCellWidth(lensCols, Math.max(240, (root.clientWidth || 960) - 90));
      lens.style.width = `${lensCols * cell}px`;
      lens.style.height = `${lensRows * LENS_ROW}px`;
      lensColLabels.style.width = lens.style.width;
      lensRowLabels.style.height = lens.style.height;
      const rows = axisLabels("layer", lensRows, lensRows * LENS_ROW, (row) => rowName(row, lensRows));
      placeLabels(lensRowLabels, "lens-row", "top", rows.step, rows.labels.map((row) => ({ ...row, title: row.text })));
      const tokens = model.get("_tokens_a");
      const cols = axisLabels("position", lensCols, lensCols * cell, (position) => tokenLabel(tokens, position), 1, start);
      placeLabels(lensColLabels, "lens-col", "left", cols.step, cols.labels);
      const swatch = (agree: boolean, text: string) => {
        const box = element("span", { className: "dsv-cmp-swatch" });
        const [r, g, b]: Rgb = agreementColour(agree, theme);
        box.style.background = `rgb(${r}, ${g}, ${b})`;
        return element("span", { className: "dsv-cmp-swatch-item" }, box, element("span", { text }));
      };
      lensLegend.replaceChildren(swatch(true, "top-1 agrees"), swatch(false, "top-1 differs (the runs part)"));
      lensCaption.textContent = `positions ${start}–${start + lensCols - 1} · rows: embeddings (top) to the output (bottom)`;
    } else {
      lensCaption.textContent = "";
      lensLegend.replaceChildren();
      lensRowLabels.replaceChildren();
      lensColLabels.replaceChildren();
    }
  }

  function drawColumns(): void {
    const tokensA = model.get("_tokens_a");
    const tokensB = model.get("_tokens_b");
    const compared = Math.min(tokensA.length, tokensB.length);
    const differs = decodeIndices(model.get("_differs"));
    const changes = decodeIndices(model.get("_routing_changes"));
    const attrA = decodeFloats(model.get("_attr_a"));
    const attrB = decodeFloats(model.get("_attr_b"));
    const attrDiff = attrA && attrB ? Float32Array.from({ length: compared }, (_, i) => attrB[i] - attrA[i]) : null;
    const peakChange = changes ? Math.max(1, ...changes) : 1;
    const peakAttr = attrA && attrB ? Math.max(peakAbs(attrA), peakAbs(attrB)) : 0;
    const peakDiff = attrDiff ? peakAbs(attrDiff) : 0;
    const theme = dark();
    const names = ["a", "b", ...(changes ? ["experts"] : []), ...(attrDiff ? ["attr a", "attr b", "b − a"] : [])];
    const selected = model.get("selected_token");
    const cols: HTMLElement[] = [element("div", { className: "dsv-cmp-rowname" }, ...names.map((name, i) => element("span", { text: name, className: i < 2 ? "dsv-cmp-token-row" : "dsv-cmp-cell-row" })))];
    for (let i = 0; i < Math.max(tokensA.length, tokensB.length); i++) {
      const col = element("div", { testid: `position-${i}`, className: "dsv-cmp-col", attrs: { "data-index": String(i) } });
      if (i >= compared) col.classList.add("dsv-cmp-extra");
      if (differs && differs[i]) col.dataset.differs = "true";
      if (i === selected) col.classList.add("dsv-selected");
      col.append(tokenSpan(`token-a-${i}`, tokensA[i]), tokenSpan(`token-b-${i}`, tokensB[i]));
      if (changes && i < compared) {
        const t = changes[i] / peakChange;
        const cell = element("div", { testid: `routing-cell-${i}`, className: "dsv-cmp-cell", text: String(changes[i]), attrs: { "data-changed": String(changes[i]) } });
        cell.style.background = cssDifference(t, theme);
        cell.style.color = inkOn(differenceColour(t, theme));
        col.append(cell);
      }
      if (attrA && attrB && attrDiff && i < compared) {
        for (const [name, values, peak] of [["a", attrA, peakAttr], ["b", attrB, peakAttr], ["diff", attrDiff, peakDiff]] as const) {
          const value = values[i];
          const cell = element("div", { testid: `attr-${name}-${i}`, className: "dsv-cmp-cell", text: " ", attrs: { title: formatScore(value), "data-score": String(value) } });
          cell.style.background = cssDifference(normalise(value, peak), theme);
          col.append(cell);
        }
      }
      cols.push(col);
    }
    columns.replaceChildren(...cols);
    const scale = (peak: number) => (peak > 0 ? [`−${formatWeight(peak)}`, "0", `+${formatWeight(peak)}`] : ["0"]);
    attrLegend.replaceChildren(
      ...(attrDiff
        ? [
            legendBox("attr-legend-runs", "attr a, attr b: blue lowers the target, red raises it", differenceGradient(theme), scale(peakAttr)),
            legendBox("attr-legend-difference", "attr b − a: blue b lower, red b higher", differenceGradient(theme), scale(peakDiff)),
          ]
        : []),
    );
    attrLegend.hidden = !attrDiff;
    routingNote.textContent = model.get("_routing_note");
    routingNote.hidden = !model.get("_routing_note");
    attrCaption.textContent = model.get("_attr_caption");
  }

  function drawPredictions(): void {
    const topA = model.get("_top_a");
    const topB = model.get("_top_b");
    const probA = decodeFloats(model.get("_prob_a"));
    const probB = decodeFloats(model.get("_prob_b"));
    const change = decodeFloats(model.get("_prob_change"));
    const tokensA = model.get("_tokens_a");
    const rows: HTMLElement[] = [];
    if (probA && probB && change) {
      for (let i = 0; i < change.length; i++) {
        const line = `${String(i).padStart(3)} ${tokenLabel(tokensA, i)} → ` + predictionText(tokenText(topA[i]), probA[i], tokenText(topB[i]), probB[i], change[i]);
        rows.push(element("div", { testid: `prediction-${i}`, text: line, attrs: { "data-changed": String(topA[i] !== topB[i]) } }));
      }
    }
    predictions.replaceChildren(...rows);
  }

  function tokenText(text: string | undefined): string {
    return tokenLabel([[text ?? "", 0]], 0);
  }

  function drawAll(): void {
    caption.textContent = `${model.get("_caption")} · layer ${model.get("layer")} · head ${model.get("head")}`;
    options(layerSelect, model.get("num_layers"), "layer", model.get("layer"));
    options(headSelect, model.get("num_heads"), "head", model.get("head"));
    drawColumns();
    drawHeatmaps();
    drawPredictions();
    drawLens();
    button.disabled = running || model.get("_tokens_a").length === 0;
    markDrawn(root);
  }

  function showStatus(): void {
    renderStatus(status, model.get("status"));
  }

  function onText(): void {
    for (const editor of editors) {
      const text = model.get(`text_${editor.run}`);
      if (!editor.send.pending() && document.activeElement !== editor.input && editor.input.value !== text) editor.input.value = text;
    }
  }

  // --- pointer: tooltips and selection -------------------------------------------------------------
  function placeTip(tip: HTMLElement, text: string, event: MouseEvent): void {
    tip.textContent = text;
    tip.hidden = false;
    tip.style.left = `${event.clientX + 12}px`;
    tip.style.top = `${event.clientY + 12}px`;
  }

  function onHeatmapMove(event: MouseEvent): void {
    const canvas = event.currentTarget as HTMLCanvasElement;
    const cell = cellUnder(canvas, side, side, event.clientX, event.clientY);
    if (!cell || !patternA || !patternB || !difference) {
      tooltip.hidden = true;
      return;
    }
    const i = cell[0] * side + cell[1];
    placeTip(tooltip, heatmapTip(cell[0], cell[1], model.get("_block"), patternA[i], patternB[i], difference[i]), event);
  }

  function onColumnsMove(event: MouseEvent): void {
    const cell = event.target instanceof Element ? event.target.closest<HTMLElement>('[data-testid^="routing-cell-"]') : null;
    const experts = [decodeIndices(model.get("_experts_a")), decodeIndices(model.get("_experts_b"))];
    const k = model.get("_experts_a")?.shape[1] ?? 0;
    if (!cell) {
      routingTooltip.hidden = true;
      return;
    }
    const index = Number(cell.parentElement?.dataset.index ?? -1);
    const label = tokenLabel(model.get("_tokens_a"), index);
    placeTip(routingTooltip, routingTip(label, index, model.get("_routed_layer"), expertsAt(experts[0], k, index), expertsAt(experts[1], k, index)), event);
  }

  function onColumnsClick(event: MouseEvent): void {
    const col = event.target instanceof Element ? event.target.closest<HTMLElement>(".dsv-cmp-col") : null;
    if (!col || col.classList.contains("dsv-cmp-extra")) return;
    const index = Number(col.dataset.index);
    model.set("selected_token", index === model.get("selected_token") ? -1 : index);
    model.save_changes();
  }

  function onLensMove(event: MouseEvent): void {
    const cell = cellUnder(lens, lensRows, lensCols, event.clientX, event.clientY);
    if (!cell || !agree) {
      lensTooltip.hidden = true;
      return;
    }
    placeTip(lensTooltip, lensTip(cell[0], lensRows, model.get("_lens_start") + cell[1], agree[cell[0] * lensCols + cell[1]] > 0.5), event);
  }

  const hide = (tip: HTMLElement) => () => {
    tip.hidden = true;
  };

  function onSelect(name: "layer" | "head", select: HTMLSelectElement): () => void {
    return () => {
      model.set(name, Number(select.value));
      model.save_changes();
    };
  }

  function onButton(): void {
    running = true;
    attrError.clear();
    button.disabled = true;
    button.textContent = "computing attributions…";
    invoke<{ stale: boolean }>(experimental, "_attribute", { data_id: model.get("_data_id") }, signal)
      .catch((error: unknown) => {
        if (!disposed) attrError.show(error);
      })
      .finally(() => {
        if (disposed) return;
        running = false;
        button.textContent = "Compute attributions";
        button.disabled = model.get("_tokens_a").length === 0;
      });
  }

  const onLayer = onSelect("layer", layerSelect);
  const onHead = onSelect("head", headSelect);
  const hideTip = hide(tooltip);
  const hideRouting = hide(routingTooltip);
  const hideLens = hide(lensTooltip);
  for (const canvas of Object.values(canvases)) {
    canvas.addEventListener("mousemove", onHeatmapMove);
    canvas.addEventListener("mouseleave", hideTip);
  }
  columns.addEventListener("mousemove", onColumnsMove);
  columns.addEventListener("mouseleave", hideRouting);
  columns.addEventListener("click", onColumnsClick);
  lens.addEventListener("mousemove", onLensMove);
  lens.addEventListener("mouseleave", hideLens);
  const unkeys = [
    ...Object.entries(canvases).map(([name, canvas]) => {
      canvas.setAttribute("aria-label", `attention ${name === "difference" ? "b − a" : `of run ${name}`}: rows queries, columns keys`);
      return gridCursor(canvas, { shape: () => [side, side] });
    }),
    gridCursor(lens, { shape: () => [lensRows, lensCols] }),
  ];
  lens.setAttribute("aria-label", "logit lens agreement: rows layers, columns positions");
  layerSelect.addEventListener("change", onLayer);
  headSelect.addEventListener("change", onHead);
  button.addEventListener("click", onButton);

  // a theme switch recolours the canvases once the theme's styles apply
  const themeWatch = new MutationObserver(() => requestAnimationFrame(() => requestAnimationFrame(() => !disposed && drawAll())));
  themeWatch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"] });

  const unlisten = listen(model, [
    ["change:_data_id", drawAll],
    ["change:status", showStatus],
    ["change:text_a", onText],
    ["change:text_b", onText],
  ]);
  showStatus();
  drawAll();

  return () => {
    disposed = true;
    unlisten();
    themeWatch.disconnect();
    for (const unkey of unkeys) unkey();
    for (const editor of editors) editor.send.cancel();
    root.remove();
  };
}

export default { render };
