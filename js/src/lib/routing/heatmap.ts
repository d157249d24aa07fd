// Tokens × routed experts of one MoE layer on a canvas (data-testid routing-heatmap): the shared
// experts as an always-on band, routed experts laid out by group, each token's chosen groups tinted
// and its chosen experts coloured by gate weight. Above it, one load bar per expert (expert-L-E).

import { cssColour, formatWeight } from "../colour";
import { element, markDrawn } from "../dom";
import { choicesOf, groupsOf, type RoutingData } from "./data";
import { columnLayout, expertAt, expertX, groupSpan, rowAt, rowHeight, type ColumnLayout } from "./layout";

export const MAX_WIDTH = 640;
const MAX_HEIGHT = 420;
const BAR_HEIGHT = 44;
const SHARED_COLOUR = "#90a4ae";
const GROUP_TINT = "#dbeafe";
const EMPTY_CELL = "#f1f1f1";
const SELECTED = "#e53935";

export interface RoutingHeatmapCallbacks {
  /** Readable label of token `index`. */
  label(index: number): string;
  /** A click on the canvas (token, expert; -1 where none) or on an expert's bar (token -1). */
  pick(token: number, expert: number): void;
}

/** What one layer shows: its routing row, the model's shape, the loads of its experts. */
export interface LayerView {
  data: RoutingData;
  row: number;
  numExperts: number;
  numShared: number;
  groupSize: number;
  /** Share of this text's token-slots per expert. */
  load: Float32Array;
  /** Share of the corpus's token-slots per expert, when a corpus was given. */
  corpusLoad: Float32Array | null;
}

export class RoutingHeatmap {
  readonly root: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly bars: HTMLElement;
  private readonly groupLabels: HTMLElement;
  private readonly tooltip: HTMLElement;
  private view: LayerView | null = null;
  private layout: ColumnLayout = columnLayout(0, 0, 0, MAX_WIDTH);
  private rowH = 14;
  private token = -1;
  private expert = -1;

  constructor(private readonly callbacks: RoutingHeatmapCallbacks) {
    this.canvas = element("canvas", {
      testid: "routing-heatmap",
      className: "dsv-routing-canvas",
      attrs: { "aria-label": "routing heatmap: rows are tokens, columns routed experts by group" },
    });
    this.bars = element("div", { testid: "expert-bars", className: "dsv-expert-bars" });
    this.groupLabels = element("div", { className: "dsv-group-labels" });
    this.tooltip = element("div", { testid: "routing-tooltip", className: "dsv-tooltip" });
    this.tooltip.hidden = true;
    this.root = element(
      "div",
      { className: "dsv-routing-map" },
      this.bars,
      this.groupLabels,
      element("div", { className: "dsv-canvas-wrap dsv-routing-scroll" }, this.canvas, this.tooltip),
    );
    this.bars.addEventListener("click", this.onBarClick);
    this.canvas.addEventListener("mousemove", this.onMove);
    this.canvas.addEventListener("mouseleave", this.onLeave);
    this.canvas.addEventListener("click", this.onClick);
  }

  /** Show a layer (null: nothing); bumps the canvas's `data-version`. */
  setLayer(view: LayerView | null): void {
    this.view = view;
    if (view) {
      const layer = view.data.layers[view.row];
      this.layout = columnLayout(view.numExperts, view.groupSize, view.numShared, MAX_WIDTH);
      this.rowH = rowHeight(view.data.n, MAX_HEIGHT);
      this.buildBars(layer, view);
      this.buildGroupLabels(view);
    } else {
      this.bars.replaceChildren();
      this.groupLabels.replaceChildren();
    }
    this.draw();
    markDrawn(this.canvas);
  }

  /** Outline token `token`'s row and expert `expert`'s column (-1: none). */
  setSelection(token: number, expert: number): void {
    this.token = token;
    this.expert = expert;
    for (const bar of this.bars.children) {
      if (bar instanceof HTMLElement) bar.classList.toggle("dsv-on", Number(bar.dataset.expert) === expert);
    }
    this.draw();
  }

  private buildBars(layer: number, view: LayerView): void {
    const { layout } = this;
    const peak = Math.max(1e-9, ...view.load, ...(view.corpusLoad ?? []));
    const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;
    const nodes: HTMLElement[] = [];
    if (view.numShared > 0) {
      nodes.push(
        element("div", {
          testid: "shared-experts",
          className: "dsv-shared-label",
          text: `shared ×${view.numShared}`,
          attrs: { title: `${view.numShared} shared expert(s): every token uses them`, style: `width:${layout.shared}px` },
        }),
      );
    }
    for (let expert = 0; expert < view.numExperts; expert++) {
      const group = view.groupSize > 0 ? ` (group ${Math.floor(expert / view.groupSize)})` : "";
      const corpus = view.corpusLoad ? `; corpus ${percent(view.corpusLoad[expert])}` : "";
      const bar = element(
        "div",
        {
          testid: `expert-${layer}-${expert}`,
          className: "dsv-expert-bar",
          attrs: {
            "data-expert": String(expert),
            title: `expert ${expert}${group}: ${percent(view.load[expert])} of this text's token-slots${corpus}`,
            style: `left:${expertX(layout, expert)}px;width:${layout.cell}px`,
          },
        },
        element("div", { className: "dsv-load", attrs: { style: `height:${(view.load[expert] / peak) * 100}%` } }),
      );
      if (view.corpusLoad) {
        bar.append(element("div", { className: "dsv-corpus-load", attrs: { style: `bottom:${(view.corpusLoad[expert] / peak) * 100}%` } }));
      }
      nodes.push(bar);
    }
    this.bars.style.width = `${layout.width}px`;
    this.bars.style.height = `${BAR_HEIGHT}px`;
    this.bars.replaceChildren(...nodes);
  }

  private buildGroupLabels(view: LayerView): void {
    const labels: HTMLElement[] = [];
    const groups = view.groupSize > 0 ? Math.ceil(view.numExperts / view.groupSize) : 0;
    for (let group = 0; group < groups; group++) {
      const [x, width] = groupSpan(this.layout, group);
      labels.push(element("span", { text: width >= 16 ? `G${group}` : "", attrs: { style: `left:${x}px;width:${width}px`, title: `routing group ${group}` } }));
    }
    this.groupLabels.style.width = `${this.layout.width}px`;
    this.groupLabels.replaceChildren(...labels);
  }

  private draw(): void {
    const view = this.view;
    const { layout, rowH, canvas } = this;
    const n = view?.data.n ?? 0;
    const ratio = window.devicePixelRatio || 1;
    canvas.style.width = `${layout.width}px`;
    canvas.style.height = `${n * rowH}px`;
    canvas.width = Math.max(1, Math.round(layout.width * ratio));
    canvas.height = Math.max(1, Math.round(n * rowH * ratio));
    const context = canvas.getContext("2d");
    if (!context || !view) return;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, layout.width, n * rowH);
    const height = n * rowH;
    if (layout.shared) {
      context.fillStyle = SHARED_COLOUR;
      context.fillRect(0, 0, layout.shared, height);
    }
    context.fillStyle = EMPTY_CELL;
    for (let expert = 0; expert < view.numExperts; expert++) context.fillRect(expertX(layout, expert), 0, layout.cell, height);
    const gap = rowH >= 6 ? 1 : 0;
    for (let token = 0; token < n; token++) {
      const choices = choicesOf(view.data, view.row, token);
      const y = token * rowH;
      context.fillStyle = GROUP_TINT;
      for (const group of groupsOf(choices, view.groupSize)) {
        const [x, width] = groupSpan(layout, group);
        context.fillRect(x, y, width, rowH - gap);
      }
      for (const { expert, weight } of choices) {
        context.fillStyle = cssColour(0.15 + 0.85 * (weight / view.data.scale));
        context.fillRect(expertX(layout, expert), y, layout.cell, rowH - gap);
      }
    }
    context.strokeStyle = SELECTED;
    context.lineWidth = 2;
    if (this.expert >= 0 && this.expert < view.numExperts) context.strokeRect(expertX(layout, this.expert), 1, layout.cell, height - 2);
    if (this.token >= 0 && this.token < n) context.strokeRect(1, this.token * rowH, layout.width - 2, rowH);
  }

  private hit(event: MouseEvent): { token: number; expert: number; x: number; y: number } {
    const box = this.canvas.getBoundingClientRect();
    const x = event.clientX - box.left;
    const y = event.clientY - box.top;
    return { token: rowAt(y, this.rowH, this.view?.data.n ?? 0), expert: expertAt(this.layout, x), x, y };
  }

  /** Tooltip text of a cell. */
  private describe(token: number, expert: number, x: number): string {
    const view = this.view;
    if (!view || token < 0) return "";
    const label = this.callbacks.label(token);
    if (expert < 0) return x < this.layout.shared ? `${label}: shared experts (always on)` : label;
    const chosen = choicesOf(view.data, view.row, token).find((choice) => choice.expert === expert);
    const group = view.groupSize > 0 ? ` (group ${Math.floor(expert / view.groupSize)})` : "";
    return `${label} → expert ${expert}${group}: ${chosen ? formatWeight(chosen.weight) : "not routed"}`;
  }

  private onMove = (event: MouseEvent): void => {
    const { token, expert, x, y } = this.hit(event);
    const text = this.describe(token, expert, x);
    this.tooltip.hidden = !text;
    this.tooltip.textContent = text;
    this.tooltip.style.left = `${Math.min(x + 12, Math.max(0, this.layout.width - 200))}px`;
    this.tooltip.style.top = `${y + 12}px`;
  };

  private onLeave = (): void => {
    this.tooltip.hidden = true;
  };

  private onClick = (event: MouseEvent): void => {
    const { token, expert } = this.hit(event);
    if (token >= 0 || expert >= 0) this.callbacks.pick(token, expert);
  };

  private onBarClick = (event: MouseEvent): void => {
    const bar = event.target instanceof Element ? event.target.closest<HTMLElement>("[data-expert]") : null;
    if (bar) this.callbacks.pick(-1, Number(bar.dataset.expert));
  };

  destroy(): void {
    this.bars.removeEventListener("click", this.onBarClick);
    this.canvas.removeEventListener("mousemove", this.onMove);
    this.canvas.removeEventListener("mouseleave", this.onLeave);
    this.canvas.removeEventListener("click", this.onClick);
  }
}
