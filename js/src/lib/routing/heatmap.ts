// Tokens × routed experts of one MoE layer on a canvas (data-testid routing-heatmap): routed experts
// laid out by group, each token's chosen groups tinted and its chosen experts coloured by gate weight;
// beside it, tokens × routing groups (routing-groups): the gate weight each token gave each group, so
// group-limited routing shows as a few lit columns. Token labels on the left (row-label-T, thinned to
// fit, the selected token always), expert index ticks (expert-tick-E) and group labels (group-label-G,
// group-tick-G) above, the axes' titles, one load bar per expert (expert-L-E), and a legend of every
// colour (routing-legend). The shared experts are not drawn (every token uses them at weight 1): the
// legend says so (shared-experts). Wider or taller than its panel → it scrolls inside it (routing-scroll),
// the labels with it.

import { cssAt, heatStopsOn, type Rgb } from "../colour";
import { element, markDrawn } from "../dom";
import { gridCursor } from "../grid_cursor";
import { choicesOf, groupsOf, groupWeights, type RoutingData } from "./data";
import { columnLayout, expertAt, expertTicks, expertX, groupSpan, labelledRows, rowAt, rowHeight, type ColumnLayout } from "./layout";
import { canvasColours } from "./theme";
import { formatPercent, formatWeight } from "../format";

const MAX_HEIGHT = 420;
const BAR_HEIGHT = 44;
/** Width of one routing group's column in the tokens × groups strip. */
export const GROUP_CELL = 12;
/** Width of the token labels' column. */
export const ROW_LABEL_WIDTH = 96;
/** Height of a token label (its line). */
const LABEL_LINE = 14;
/** Where on the colour scale a cell of weight `w` of `top` sits: 0.25 (the least weight) to 1. */
export const weightPosition = (weight: number, top: number): number => 0.25 + 0.75 * (weight / Math.max(1e-9, top));

/** A CSS gradient of `stops` from scale position `from` to `to`, left to right. */
export function rangeGradient(stops: readonly Rgb[], from: number, to: number, steps = 8): string {
  const colours = Array.from({ length: steps }, (_, i) => cssAt(stops, from + ((to - from) * i) / (steps - 1)));
  return `linear-gradient(to right, ${colours.join(", ")})`;
}

/** One colour scale of a legend: its name, a bar from the least to the greatest value, three ticks. */
export function scaleLegend(testid: string, name: string, stops: readonly Rgb[], top: number, format: (value: number) => string = formatWeight): HTMLElement {
  const ticks = [0, top / 2, top].map((value, i) =>
    element("span", { testid: `${testid}-tick`, className: `dsv-rt-tick dsv-rt-tick-${i}`, text: format(value) }),
  );
  return element(
    "span",
    { testid, className: "dsv-rt-scale" },
    element("span", { className: "dsv-rt-name", text: name }),
    element(
      "span",
      { className: "dsv-rt-ramp" },
      element("span", { className: "dsv-rt-bar", attrs: { style: `background:${rangeGradient(stops, 0.25, 1)}` } }),
      element("span", { className: "dsv-rt-ticks" }, ...ticks),
    ),
  );
}

/** A swatch of the legend: `style` paints the square. */
export function swatch(testid: string, name: string, style: string, title = ""): HTMLElement {
  return element(
    "span",
    { testid, className: "dsv-rt-swatch", attrs: title ? { title } : {} },
    element("span", { className: "dsv-rt-square", attrs: { style } }),
    element("span", { text: name }),
  );
}

export interface RoutingHeatmapCallbacks {
  /** Readable label of token `index` ("3: flu"). */
  label(index: number): string;
  /** The text of token `index` as a row label shows it. */
  token(index: number): string;
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
  readonly groups: HTMLCanvasElement;
  readonly scroller: HTMLElement;
  private readonly bars: HTMLElement;
  private readonly groupLabels: HTMLElement;
  private readonly expertTicks: HTMLElement;
  private readonly groupTicks: HTMLElement;
  private readonly rowLabels: HTMLElement;
  private readonly expertTitle: HTMLElement;
  private readonly columnsHead: HTMLElement;
  private readonly groupsHead: HTMLElement;
  private readonly canvasWrap: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly tooltip: HTMLElement;
  private view: LayerView | null = null;
  private layout: ColumnLayout = columnLayout(0, 0, 640);
  private rowH = 14;
  private readonly unkeys: (() => void)[];
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
    this.groupLabels = element("div", { testid: "group-labels", className: "dsv-group-labels" });
    this.expertTicks = element("div", { testid: "expert-ticks", className: "dsv-rt-axis" });
    this.groupTicks = element("div", { testid: "group-ticks", className: "dsv-rt-axis" });
    this.rowLabels = element("div", { testid: "row-labels", className: "dsv-rt-rows" });
    this.tooltip = element("div", { testid: "routing-tooltip", className: "dsv-tooltip" });
    this.tooltip.hidden = true;
    this.groups = element("canvas", {
      testid: "routing-groups",
      className: "dsv-routing-canvas",
      attrs: { "aria-label": "tokens × routing groups: the gate weight each token gave each group" },
    });
    this.legend = element("div", { testid: "routing-legend", className: "dsv-rt-legend" });
    this.expertTitle = element("div", { testid: "expert-axis-title", className: "dsv-rt-title", text: "routed expert (grouped)" });
    this.columnsHead = element(
      "div",
      { className: "dsv-rt-col" },
      this.expertTitle,
      this.bars,
      this.groupLabels,
      this.expertTicks,
    );
    this.groupsHead = element(
      "div",
      { className: "dsv-rt-col" },
      element("div", { testid: "group-axis-title", className: "dsv-rt-title", text: "group" }),
      element("div", { className: "dsv-rt-spacer", attrs: { style: `height:${BAR_HEIGHT}px` } }),
      this.groupTicks,
      element("div", { className: "dsv-rt-axis" }),
    );
    const corner = element(
      "div",
      { className: "dsv-rt-col dsv-rt-corner", attrs: { style: `width:${ROW_LABEL_WIDTH}px` } },
      element("div", { className: "dsv-rt-title" }),
      element("div", { className: "dsv-rt-load-name", text: "load (this text)", attrs: { style: `height:${BAR_HEIGHT}px` } }),
      element("div", { className: "dsv-rt-axis" }),
      element("div", { testid: "token-axis-title", className: "dsv-rt-title dsv-rt-axis", text: "token ↓" }),
    );
    this.canvasWrap = element("div", { className: "dsv-canvas-wrap" }, this.canvas, this.tooltip);
    this.scroller = element(
      "div",
      { testid: "routing-scroll", className: "dsv-rt-scroll" },
      element("div", { className: "dsv-rt-head" }, corner, this.columnsHead, this.groupsHead),
      element("div", { className: "dsv-rt-body" }, this.rowLabels, this.canvasWrap, this.groups),
    );
    this.root = element("div", { className: "dsv-routing-map" }, this.legend, this.scroller);
    this.bars.addEventListener("click", this.onBarClick);
    this.canvas.addEventListener("mousemove", this.onMove);
    this.canvas.addEventListener("mouseleave", this.onLeave);
    this.canvas.addEventListener("click", this.onClick);
    this.groups.addEventListener("mousemove", this.onGroupMove);
    this.groups.addEventListener("mouseleave", this.onLeave);
    this.groups.addEventListener("click", this.onGroupClick);
    const rows = (): number => this.view?.data.n ?? 0;
    this.unkeys = [
      gridCursor(this.canvas, {
        shape: () => [rows(), this.view?.numExperts ?? 0],
        centre: (row, expert) => [expertX(this.layout, expert) + this.layout.cell / 2, (row + 0.5) * this.rowH],
      }),
      gridCursor(this.groups, {
        shape: () => [rows(), this.groupCount()],
        centre: (row, group) => [(group + 0.5) * GROUP_CELL, (row + 0.5) * this.rowH],
      }),
    ];
  }

  /** Show a layer (null: nothing); bumps the canvas's `data-version`. */
  setLayer(view: LayerView | null): void {
    this.view = view;
    this.scroller.hidden = view === null;
    this.legend.hidden = view === null;
    if (view) {
      const layer = view.data.layer;
      const groupsWidth = this.groupCount() ? Math.max(36, this.groupCount() * GROUP_CELL) + 8 : 0;
      this.layout = columnLayout(view.numExperts, view.groupSize, view.width - groupsWidth - ROW_LABEL_WIDTH - 16);
      this.rowH = rowHeight(view.data.n, MAX_HEIGHT);
      this.buildBars(layer, view);
      this.buildGroupLabels(view);
      this.buildExpertTicks(view);
      this.expertTitle.textContent = view.groupSize > 0 ? "routed expert (grouped)" : "routed expert";
      const columns = `${Math.max(this.layout.width, 150)}px`;
      this.columnsHead.style.width = columns;
      this.canvasWrap.style.width = columns;
      const groups = this.groupCount();
      this.groupsHead.hidden = groups === 0;
      this.groupsHead.style.width = `${Math.max(36, groups * GROUP_CELL)}px`;
      this.groups.style.marginRight = `${Math.max(0, 36 - groups * GROUP_CELL)}px`;
    } else {
      this.bars.replaceChildren();
      this.groupLabels.replaceChildren();
      this.expertTicks.replaceChildren();
      this.groupTicks.replaceChildren();
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
    const nodes: HTMLElement[] = [];
    for (let expert = 0; expert < view.numExperts; expert++) {
      const group = view.groupSize > 0 ? ` (group ${Math.floor(expert / view.groupSize)})` : "";
      const corpus = view.corpusLoad ? `; corpus ${formatPercent(view.corpusLoad[expert])}` : "";
      const bar = element(
        "div",
        {
          testid: `expert-${layer}-${expert}`,
          className: "dsv-expert-bar",
          attrs: {
            "data-expert": String(expert),
            title: `expert ${expert}${group}: ${formatPercent(view.load[expert])} of this text's token-slots${corpus}`,
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

  /** The routing groups over the columns ("group 3" where it fits, "G3" else) and, over the strip, their numbers. */
  private buildGroupLabels(view: LayerView): void {
    const labels: HTMLElement[] = [];
    const ticks: HTMLElement[] = [];
    const groups = this.groupCount();
    for (let group = 0; group < groups; group++) {
      const [x, width] = groupSpan(this.layout, group);
      const first = group * view.groupSize;
      const title = `routing group ${group}: experts ${first}–${Math.min(view.numExperts, first + view.groupSize) - 1}`;
      const text = width >= 52 ? `group ${group}` : width >= 16 ? `G${group}` : "";
      labels.push(element("span", { testid: `group-label-${group}`, text, attrs: { style: `left:${x}px;width:${width}px`, title } }));
      ticks.push(element("span", { testid: `group-tick-${group}`, text: String(group), attrs: { style: `left:${group * GROUP_CELL}px;width:${GROUP_CELL}px`, title } }));
    }
    this.groupLabels.style.width = `${this.layout.width}px`;
    this.groupLabels.replaceChildren(...labels);
    this.groupTicks.replaceChildren(...ticks);
  }

  /** Expert indices under the group labels, thinned so they never touch. */
  private buildExpertTicks(view: LayerView): void {
    const { layout } = this;
    const ticks = expertTicks(view.numExperts, layout.cell).map((expert) =>
      element("span", {
        testid: `expert-tick-${expert}`,
        text: String(expert),
        attrs: { style: `left:${expertX(layout, expert) + layout.cell / 2}px` },
      }),
    );
    this.expertTicks.style.width = `${layout.width}px`;
    this.expertTicks.replaceChildren(...ticks);
  }

  /** Token labels beside the rows: every row that fits, the selected token always; the full label on hover. */
  private buildRowLabels(): void {
    const n = this.view?.data.n ?? 0;
    const { rowH } = this;
    const height = n * rowH;
    const labels = labelledRows(n, rowH, this.token, LABEL_LINE).map((row) => {
      const top = Math.max(0, Math.min(height - LABEL_LINE, row * rowH + rowH / 2 - LABEL_LINE / 2));
      return element("span", {
        testid: `row-label-${row}`,
        className: row === this.token ? "dsv-on" : "",
        text: this.callbacks.token(row),
        attrs: { title: this.callbacks.label(row), style: `top:${top}px` },
      });
    });
    this.rowLabels.style.height = `${height}px`;
    this.rowLabels.style.width = `${ROW_LABEL_WIDTH}px`;
    this.rowLabels.replaceChildren(...labels);
  }

  /** The legend of every colour the canvases use, in the theme's colours. */
  private buildLegend(): void {
    const view = this.view;
    if (!view) {
      this.legend.replaceChildren();
      return;
    }
    const colours = canvasColours(this.root);
    const stops = heatStopsOn(colours.empty);
    const items: HTMLElement[] = [
      scaleLegend("weight-legend", "gate weight", stops, view.data.scale),
      swatch("legend-not-routed", "not routed", `background:${colours.empty}`),
    ];
    if (view.groupSize > 0) items.push(swatch("legend-chosen-group", "chosen group", `background:${colours.groupTint}`, "the routing groups a token's experts came from"));
    items.push(
      swatch("legend-turned-off", "expert turned off", `background:repeating-linear-gradient(135deg, ${colours.selected} 0 1px, transparent 1px 4px)`, "alt-click an expert's bar or column to turn it off"),
      swatch("legend-selected", "selected", `box-shadow: inset 0 0 0 2px ${colours.selected}`),
    );
    if (this.groupCount() > 0) items.push(scaleLegend("group-legend", "group weight (sum)", stops, this.groupTop()));
    if (view.numShared > 0) {
      const count = view.numShared;
      items.push(
        element("span", {
          testid: "shared-experts",
          className: "dsv-rt-shared",
          text: `+ ${count} shared expert${count === 1 ? "" : "s"}, always on for every token (weight 1, not drawn)`,
        }),
      );
    }
    this.legend.replaceChildren(...items);
  }

  /** The largest group weight of any token (the strip's colour scale's top). */
  private groupTop(): number {
    const view = this.view;
    const count = this.groupCount();
    if (!view || count === 0) return 1;
    let top = 0;
    for (let token = 0; token < view.data.n; token++) for (const weight of groupWeights(view.data, token, view.groupSize, count)) top = Math.max(top, weight);
    return top > 0 ? top : 1;
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
    this.buildRowLabels();
    this.buildLegend();
    const context = canvas.getContext("2d");
    if (!context || !view) {
      this.drawGroups();
      return;
    }
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, layout.width, n * rowH);
    const height = n * rowH;
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
        context.fillStyle = cssAt(stops, weightPosition(weight, view.data.scale));
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
    const top = this.groupTop();
    for (let token = 0; token < n; token++) {
      const weights = groupWeights(view.data, token, view.groupSize, count);
      for (let group = 0; group < count; group++) {
        if (weights[group] <= 0) continue;
        context.fillStyle = cssAt(stops, weightPosition(weights[group], top));
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
  private describe(token: number, expert: number): string {
    const view = this.view;
    if (!view || token < 0) return "";
    const label = this.callbacks.label(token);
    if (expert < 0) return label;
    const chosen = choicesOf(view.data, token).find((choice) => choice.expert === expert);
    const group = view.groupSize > 0 ? ` (group ${Math.floor(expert / view.groupSize)})` : "";
    return `${label} → expert ${expert}${group}: ${chosen ? formatWeight(chosen.weight) : "not routed"}`;
  }

  private onMove = (event: MouseEvent): void => {
    const { token, expert, x, y } = this.hit(event);
    const text = this.describe(token, expert);
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
    for (const unkey of this.unkeys) unkey();
  }
}
