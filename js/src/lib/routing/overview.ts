// The load overview of a RoutingView on one canvas (data-testid routing-overview): one row per MoE
// layer, one column per routed expert laid out by routing group (gaps and group labels G0…), each cell
// coloured by how many of the text's tokens went to that expert in that layer. Layer labels on the
// left (overview-layer-L), group labels on top (overview-group-G), the colour scale's legend above
// (overview-legend), a tooltip on hover, a click picks the layer (and the expert). Wider than its panel → it scrolls inside it.

import { cssAt, heatStopsOn } from "../colour";
import { element, markDrawn } from "../dom";
import { gridCursor } from "../grid_cursor";
import { loadAt, type LoadData } from "./data";
import { columnLayout, expertAt, expertX, groupSpan, labelEvery, overviewRowHeight, rowAt, type ColumnLayout } from "./layout";
import { canvasColours } from "./theme";
import { scaleLegend, swatch, weightPosition } from "./heatmap";
import { formatPercent } from "../format";

export const LABEL_WIDTH = 40;

export interface OverviewCallbacks {
  /** A click on layer `layer`'s row over expert `expert` (-1 in a gap). */
  pick(layer: number, expert: number): void;
}

export class RoutingOverview {
  readonly root: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  readonly scroller: HTMLElement;
  private readonly layerLabels: HTMLElement;
  private readonly groupLabels: HTMLElement;
  private readonly tooltip: HTMLElement;
  private readonly legend: HTMLElement;
  private load: LoadData | null = null;
  private groupSize = 0;
  private layout: ColumnLayout = columnLayout(0, 0, 600);
  private rowH = 6;
  private readonly unkey: () => void;
  private layer = -1;
  private expert = -1;

  constructor(private readonly callbacks: OverviewCallbacks) {
    this.canvas = element("canvas", {
      testid: "routing-overview",
      className: "dsv-overview-canvas",
      attrs: { "aria-label": "expert load: rows are MoE layers, columns routed experts by group; click a row to show that layer" },
    });
    this.layerLabels = element("div", { testid: "overview-layers", className: "dsv-overview-layers" });
    this.groupLabels = element("div", { testid: "overview-groups", className: "dsv-group-labels" });
    this.tooltip = element("div", { testid: "overview-tooltip", className: "dsv-tooltip" });
    this.tooltip.hidden = true;
    const grid = element(
      "div",
      { className: "dsv-overview-grid" },
      element("div", { className: "dsv-overview-corner", text: "layer" }),
      this.groupLabels,
      this.layerLabels,
      element("div", { className: "dsv-canvas-wrap" }, this.canvas, this.tooltip),
    );
    this.scroller = element("div", { testid: "overview-scroll", className: "dsv-overview-scroll" }, grid);
    this.legend = element("div", { testid: "overview-legend", className: "dsv-rt-legend" });
    this.root = element(
      "div",
      { className: "dsv-overview" },
      element("div", { className: "dsv-caption", text: "expert load of this text (tokens per expert, every MoE layer)" }),
      this.legend,
      this.scroller,
    );
    this.canvas.addEventListener("mousemove", this.onMove);
    this.canvas.addEventListener("mouseleave", this.onLeave);
    this.canvas.addEventListener("click", this.onClick);
    this.unkey = gridCursor(this.canvas, {
      shape: () => [this.load?.layers.length ?? 0, this.layout.numExperts],
      centre: (row, expert) => [expertX(this.layout, expert) + this.layout.cell / 2, (row + 0.5) * this.rowH],
    });
  }

  /** Show `load` (null: nothing) laid out in `width` pixels (wider: it scrolls). */
  setLoad(load: LoadData | null, groupSize: number, width: number): void {
    this.load = load;
    this.groupSize = groupSize;
    const rows = load?.layers.length ?? 0;
    this.layout = columnLayout(load?.numExperts ?? 0, groupSize, width - LABEL_WIDTH - 4);
    this.rowH = overviewRowHeight(rows);
    this.buildLabels();
    this.draw();
    markDrawn(this.canvas);
  }

  /** Outline layer `layer`'s row and expert `expert`'s column (-1: none). */
  setSelection(layer: number, expert: number): void {
    this.layer = layer;
    this.expert = expert;
    for (const label of this.layerLabels.children) {
      if (label instanceof HTMLElement) label.classList.toggle("dsv-on", Number(label.dataset.layer) === layer);
    }
    this.draw();
  }

  /** Scroll so layer `layer`'s row is in view. */
  reveal(layer: number): void {
    const row = this.load?.layers.indexOf(layer) ?? -1;
    if (row < 0) return;
    const top = 16 + row * this.rowH;
    const { scroller } = this;
    if (top < scroller.scrollTop || top + this.rowH > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = Math.max(0, top - scroller.clientHeight / 2);
  }

  private buildLabels(): void {
    const { load, layout, rowH } = this;
    const every = labelEvery(rowH);
    const labels = (load?.layers ?? []).map((layer, row) =>
      element("span", {
        testid: `overview-layer-${layer}`,
        text: row % every === 0 ? `L${layer}` : "",
        attrs: { "data-layer": String(layer), title: `MoE layer ${layer}`, style: `top:${row * rowH}px;height:${rowH}px;line-height:${Math.max(rowH, 11)}px` },
      }),
    );
    for (const label of labels) label.addEventListener("click", () => this.callbacks.pick(Number(label.dataset.layer), -1));
    this.layerLabels.style.height = `${(load?.layers.length ?? 0) * rowH}px`;
    this.layerLabels.replaceChildren(...labels);
    const groups = load && this.groupSize > 0 ? Math.ceil(load.numExperts / this.groupSize) : 0;
    const groupNodes = Array.from({ length: groups }, (_, group) => {
      const [x, width] = groupSpan(layout, group);
      const first = group * this.groupSize;
      return element("span", {
        testid: `overview-group-${group}`,
        text: `G${group}`,
        attrs: { style: `left:${x}px;width:${width}px`, title: `routing group ${group}: experts ${first}–${first + this.groupSize - 1}` },
      });
    });
    this.groupLabels.style.width = `${layout.width}px`;
    this.groupLabels.replaceChildren(...groupNodes);
  }

  private draw(): void {
    const { load, layout, rowH, canvas } = this;
    const rows = load?.layers.length ?? 0;
    const ratio = window.devicePixelRatio || 1;
    const height = rows * rowH;
    canvas.style.width = `${layout.width}px`;
    canvas.style.height = `${height}px`;
    canvas.width = Math.max(1, Math.round(layout.width * ratio));
    canvas.height = Math.max(1, Math.round(height * ratio));
    const colours = canvasColours(this.root);
    const stops = heatStopsOn(colours.empty);
    this.legend.hidden = !load;
    this.legend.replaceChildren(
      ...(load
        ? [
            scaleLegend("load-legend", "tokens routed", stops, load.peak),
            swatch("load-legend-none", "none", `background:${colours.empty}`),
            swatch("load-legend-selected", "selected layer / expert", `box-shadow: inset 0 0 0 2px ${colours.selected}`),
          ]
        : []),
    );
    const context = canvas.getContext("2d");
    if (!context || !load) return;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, layout.width, height);
    const gap = rowH >= 6 ? 1 : 0;
    for (let row = 0; row < rows; row++) {
      const base = row * load.numExperts;
      for (let expert = 0; expert < load.numExperts; expert++) {
        const count = load.counts[base + expert];
        context.fillStyle = count > 0 ? cssAt(stops, weightPosition(count, load.peak)) : colours.empty;
        context.fillRect(expertX(layout, expert), row * rowH, layout.cell, rowH - gap);
      }
    }
    context.strokeStyle = colours.selected;
    context.lineWidth = 2;
    const selectedRow = load.layers.indexOf(this.layer);
    if (selectedRow >= 0) context.strokeRect(1, selectedRow * rowH, layout.width - 2, rowH);
    if (this.expert >= 0 && this.expert < load.numExperts) context.strokeRect(expertX(layout, this.expert), 1, layout.cell, height - 2);
  }

  private hit(event: MouseEvent): { row: number; expert: number; x: number; y: number } {
    const box = this.canvas.getBoundingClientRect();
    const x = event.clientX - box.left;
    const y = event.clientY - box.top;
    return { row: rowAt(y, this.rowH, this.load?.layers.length ?? 0), expert: expertAt(this.layout, x), x, y };
  }

  /** Tooltip text over row `row`, expert `expert`. */
  describe(row: number, expert: number): string {
    const load = this.load;
    if (!load || row < 0) return "";
    const layer = load.layers[row];
    if (expert < 0) return `layer ${layer}`;
    const { count, share } = loadAt(load, row, expert);
    const group = this.groupSize > 0 ? ` (group ${Math.floor(expert / this.groupSize)})` : "";
    return `layer ${layer} · expert ${expert}${group}: ${count} token${count === 1 ? "" : "s"} (${formatPercent(share)} of slots)`;
  }

  private onMove = (event: MouseEvent): void => {
    const { row, expert, x, y } = this.hit(event);
    const text = this.describe(row, expert);
    this.tooltip.hidden = !text;
    this.tooltip.textContent = text;
    this.tooltip.style.left = `${Math.min(x + 12, Math.max(0, this.layout.width - 260))}px`;
    this.tooltip.style.top = `${y + 12}px`;
  };

  private onLeave = (): void => {
    this.tooltip.hidden = true;
  };

  private onClick = (event: MouseEvent): void => {
    const { row, expert } = this.hit(event);
    if (row >= 0 && this.load) this.callbacks.pick(this.load.layers[row], expert);
  };

  destroy(): void {
    this.canvas.removeEventListener("mousemove", this.onMove);
    this.canvas.removeEventListener("mouseleave", this.onLeave);
    this.canvas.removeEventListener("click", this.onClick);
    this.unkey();
  }
}
