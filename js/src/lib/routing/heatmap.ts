// Tokens × routed experts of one MoE layer on a canvas (data-testid routing-heatmap): the shared
// experts as an always-on band, routed experts laid out by group, each token's chosen groups tinted
// and its chosen experts coloured by gate weight; beside it, tokens × routing groups (routing-groups):
// the gate weight each token gave each group, so group-limited routing shows as a few lit columns.
// Above it, one load bar per expert (expert-L-E). Wider than its panel → it scrolls inside it.

import { cssAt, heatStopsOn } from "../colour";
import { element, markDrawn } from "../dom";
import { choicesOf, groupsOf, groupWeights, type RoutingData } from "./data";
import { columnLayout, expertAt, expertX, groupSpan, rowAt, rowHeight, type ColumnLayout } from "./layout";
import { canvasColours } from "./theme";
import { formatWeight } from "../format";

const MAX_HEIGHT = 420;
const BAR_HEIGHT = 44;
/** Width of one routing group's column in the tokens × groups strip. */
export const GROUP_CELL = 12;

export interface RoutingHeatmapCallbacks {
  /** Readable label of token `index`. */
  label(index: number): string;
  /** A click on the canvas (token, expert; -1 where none) or on an expert's bar (token -1); `alt`:
   * with the alt key (turn the expert off). */
  pick(token: number, expert: number, alt: boolean): void;
}

/** What one layer shows: its routing row, the model's shape, the loads of its experts. */
export interface LayerView {
  data: RoutingData;
  numExperts: number;
  numShared: number;
  groupSize: number;
  /** Share of this text's token-slots per expert. */
  load: Float32Array;
  /** Pixels to lay the columns out in (wider: the view scrolls). */
  width: number;
  /** Share of the corpus's token-slots per expert, when a corpus was given. */
  corpusLoad: Float32Array | null;
}

export class RoutingHeatmap {
  readonly root: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly bars: HTMLElement;
  private readonly groupLabels: HTMLElement;
  private readonly tooltip: HTMLElement;
  readonly groups: HTMLCanvasElement;
  private view: LayerView | null = null;
  private layout: ColumnLayout = columnLayout(0, 0, 0, 640);
  private rowH = 14;
  private token = -1;
  private expert = -1;
  private ablated: ReadonlySet<number> = new Set();

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
    this.groups = element("canvas", {
      testid: "routing-groups",
      className: "dsv-routing-canvas",
      attrs: { "aria-label": "tokens × routing groups: the gate weight each token gave each group" },
    });
    this.root = element(
      "div",
      { testid: "routing-scroll", className: "dsv-routing-map dsv-hscroll" },
      this.bars,
      this.groupLabels,
      element(
        "div",
        { className: "dsv-routing-scroll" },
        element("div", { className: "dsv-canvas-wrap" }, this.canvas, this.tooltip),
        this.groups,
      ),
    );
    this.bars.addEventListener("click", this.onBarClick);
    this.canvas.addEventListener("mousemove", this.onMove);
    this.canvas.addEventListener("mouseleave", this.onLeave);
    this.canvas.addEventListener("click", this.onClick);
    this.groups.addEventListener("mousemove", this.onGroupMove);
    this.groups.addEventListener("mouseleave", this.onLeave);
    this.groups.addEventListener("click", this.onGroupClick);
  }

  /** Show a layer (null: nothing); bumps the canvas's `data-version`. */
  setLayer(view: LayerView | null): void {
    this.view = view;
    if (view) {
      const layer = view.data.layer;
      this.layout = columnLayout(view.numExperts, view.groupSize, view.numShared, view.width - this.groupCount() * GROUP_CELL - 16);
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

  /** Mark the experts of the layer shown that are off: hatched columns, `dsv-ablated` bars. */
  setAblated(experts: ReadonlySet<number>): void {
    this.ablated = experts;
    this.markBars();
    this.draw();
  }

  private markBars(): void {
    for (const bar of this.bars.children) {
      if (!(bar instanceof HTMLElement) || bar.dataset.expert === undefined) continue;
      const off = this.ablated.has(Number(bar.dataset.expert));
      bar.classList.toggle("dsv-ablated", off);
      bar.setAttribute("aria-pressed", String(off));
    }
  }

  private groupCount(): number {
    const view = this.view;
    return view && view.groupSize > 0 ? Math.ceil(view.numExperts / view.groupSize) : 0;
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
    this.markBars();
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
      context.fillStyle = canvasColours(this.root).shared;
      context.fillRect(0, 0, layout.shared, height);
    }
    const colours = canvasColours(this.root);
    const stops = heatStopsOn(colours.empty);
    context.fillStyle = colours.empty;
    for (let expert = 0; expert < view.numExperts; expert++) context.fillRect(expertX(layout, expert), 0, layout.cell, height);
    const gap = rowH >= 6 ? 1 : 0;
    for (let token = 0; token < n; token++) {
      const choices = choicesOf(view.data, token);
      const y = token * rowH;
      context.fillStyle = colours.groupTint;
      for (const group of groupsOf(choices, view.groupSize)) {
        const [x, width] = groupSpan(layout, group);
        context.fillRect(x, y, width, rowH - gap);
      }
      for (const { expert, weight } of choices) {
        context.fillStyle = cssAt(stops, 0.25 + 0.75 * (weight / view.data.scale));
        context.fillRect(expertX(layout, expert), y, layout.cell, rowH - gap);
      }
    }
    this.hatch(context, height, colours.selected);
    context.strokeStyle = colours.selected;
    context.lineWidth = 2;
    if (this.expert >= 0 && this.expert < view.numExperts) context.strokeRect(expertX(layout, this.expert), 1, layout.cell, height - 2);
    if (this.token >= 0 && this.token < n) context.strokeRect(1, this.token * rowH, layout.width - 2, rowH);
    this.drawGroups();
  }

  /** Diagonal strokes over the columns of the experts that are off. */
  private hatch(context: CanvasRenderingContext2D, height: number, colour: string): void {
    const view = this.view;
    if (!view || this.ablated.size === 0) return;
    const { cell } = this.layout;
    context.save();
    context.strokeStyle = colour;
    context.lineWidth = 1;
    for (const expert of this.ablated) {
      if (expert < 0 || expert >= view.numExperts) continue;
      const x = expertX(this.layout, expert);
      context.beginPath();
      context.rect(x, 0, cell, height);
      context.clip();
      context.beginPath();
      for (let y = -cell; y < height + cell; y += 5) {
        context.moveTo(x, y + cell);
        context.lineTo(x + cell, y);
      }
      context.stroke();
      context.restore();
      context.save();
    }
    context.restore();
  }

  /** Tokens × routing groups: each cell the gate weight the token gave that group's experts. */
  private drawGroups(): void {
    const { view, rowH, groups: canvas } = this;
    const count = this.groupCount();
    const n = view?.data.n ?? 0;
    const ratio = window.devicePixelRatio || 1;
    canvas.hidden = count === 0;
    canvas.style.width = `${count * GROUP_CELL}px`;
    canvas.style.height = `${n * rowH}px`;
    canvas.width = Math.max(1, Math.round(count * GROUP_CELL * ratio));
    canvas.height = Math.max(1, Math.round(n * rowH * ratio));
    const context = canvas.getContext("2d");
    if (!context || !view || count === 0) return;
    const colours = canvasColours(this.root);
    const stops = heatStopsOn(colours.empty);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.fillStyle = colours.empty;
    context.fillRect(0, 0, count * GROUP_CELL, n * rowH);
    const gap = rowH >= 6 ? 1 : 0;
    const top = Math.max(1e-9, ...Array.from({ length: n }, (_, token) => Math.max(...groupWeights(view.data, token, view.groupSize, count))));
    for (let token = 0; token < n; token++) {
      const weights = groupWeights(view.data, token, view.groupSize, count);
      for (let group = 0; group < count; group++) {
        if (weights[group] <= 0) continue;
        context.fillStyle = cssAt(stops, 0.25 + 0.75 * (weights[group] / top));
        context.fillRect(group * GROUP_CELL, token * rowH, GROUP_CELL - 1, rowH - gap);
      }
    }
    if (this.token >= 0 && this.token < n) {
      context.strokeStyle = colours.selected;
      context.lineWidth = 2;
      context.strokeRect(1, this.token * rowH, count * GROUP_CELL - 2, rowH);
    }
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
    const chosen = choicesOf(view.data, token).find((choice) => choice.expert === expert);
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

  private onGroupMove = (event: MouseEvent): void => {
    const view = this.view;
    const box = this.groups.getBoundingClientRect();
    const token = rowAt(event.clientY - box.top, this.rowH, view?.data.n ?? 0);
    const group = Math.floor((event.clientX - box.left) / GROUP_CELL);
    if (!view || token < 0 || group < 0 || group >= this.groupCount()) {
      this.tooltip.hidden = true;
      return;
    }
    const weight = groupWeights(view.data, token, view.groupSize, this.groupCount())[group];
    const chosen = groupsOf(choicesOf(view.data, token), view.groupSize);
    this.tooltip.textContent = `${this.callbacks.label(token)} → group ${group}: ${weight > 0 ? `weight ${formatWeight(weight)}` : "not used"} (groups used: ${chosen.join(", ")})`;
    this.tooltip.hidden = false;
    this.tooltip.style.left = `${Math.max(0, this.layout.width - 300)}px`;
    this.tooltip.style.top = `${event.clientY - this.canvas.getBoundingClientRect().top + 12}px`;
  };

  private onGroupClick = (event: MouseEvent): void => {
    const box = this.groups.getBoundingClientRect();
    const token = rowAt(event.clientY - box.top, this.rowH, this.view?.data.n ?? 0);
    if (token >= 0) this.callbacks.pick(token, -1, false);
  };

  private onLeave = (): void => {
    this.tooltip.hidden = true;
  };

  private onClick = (event: MouseEvent): void => {
    const { token, expert } = this.hit(event);
    if (token >= 0 || expert >= 0) this.callbacks.pick(token, expert, event.altKey);
  };

  private onBarClick = (event: MouseEvent): void => {
    const bar = event.target instanceof Element ? event.target.closest<HTMLElement>("[data-expert]") : null;
    if (bar) this.callbacks.pick(-1, Number(bar.dataset.expert), event.altKey);
  };

  destroy(): void {
    this.bars.removeEventListener("click", this.onBarClick);
    this.canvas.removeEventListener("mousemove", this.onMove);
    this.canvas.removeEventListener("mouseleave", this.onLeave);
    this.canvas.removeEventListener("click", this.onClick);
    this.groups.removeEventListener("mousemove", this.onGroupMove);
    this.groups.removeEventListener("mouseleave", this.onLeave);
    this.groups.removeEventListener("click", this.onGroupClick);
  }
}
