// GenerationView's timeline: one canvas, a column per generated token, rows for confidence, entropy and
// (once generation has finished) where the logit lens first agrees and how much the experts changed.

import { cssAt, heatStops, type Rgb } from "../colour";
import { gridCursor } from "../grid_cursor";
import { element, markDrawn } from "../dom";
import { isLightColour } from "../routing/theme";
import { groundOf, onThemeChange } from "../theme";
import { HEAT_ROW, columnAt, entropyScale, timelineLayout, type RowName, type TimelineLayout } from "./data";

/** What the timeline draws; `lensLayer`/`expertChange` null until the generation has finished. */
export interface TimelineData {
  probs: Float32Array;
  entropies: Float32Array;
  /** First agreeing hidden-state layer per token (`numLayers + 1`: none). */
  lensLayer: Uint32Array | null;
  numLayers: number;
  /** Per generated token, the share of its experts new since the token before: the mean over MoE layers. */
  expertChange: Float32Array | null;
  /** The same per MoE layer, row-major `[layers, tokens]` (the heat strip). */
  expertsByLayer: { values: Float32Array; layers: number } | null;
}

export interface TimelineCallbacks {
  hover(column: number, event: MouseEvent): void;
  click(column: number): void;
}

/** The rows `data` has. */
export function rowsOf(data: TimelineData): RowName[] {
  const rows: RowName[] = ["confidence", "entropy"];
  if (data.lensLayer) rows.push("lens agrees from layer");
  if (data.expertChange) rows.push("expert change");
  return rows;
}

export class Timeline {
  readonly root: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  layout: TimelineLayout = timelineLayout(0, 600, ["confidence", "entropy"]);
  private data: TimelineData | null = null;
  private selected = -1;
  private readonly unkey: () => void;
  /** The heat scale on the timeline's ground (read at each draw: the theme may change). */
  private stops: Rgb[] = heatStops([255, 255, 255]);

  constructor(private readonly callbacks: TimelineCallbacks) {
    this.canvas = element("canvas", { testid: "generation-timeline", className: "dsv-gen-timeline" });
    this.root = element("div", { className: "dsv-gen-timeline-wrap" }, this.canvas);
    this.canvas.addEventListener("mousemove", this.onMove);
    this.unwatchTheme = onThemeChange(() => this.draw());
    this.canvas.addEventListener("mouseleave", this.onLeave);
    this.canvas.addEventListener("click", this.onClick);
    this.canvas.setAttribute("aria-label", "generation timeline: one column per generated token");
    this.unkey = gridCursor(this.canvas, {
      shape: () => [1, this.data?.probs.length ?? 0],
      centre: (_row, column) => [this.layout.labelWidth + (column + 0.5) * this.layout.columnWidth, this.layout.rowHeight / 2],
    });
  }

  private columnOf(event: MouseEvent): number {
    const box = this.canvas.getBoundingClientRect();
    return columnAt(this.layout, event.clientX - box.left);
  }

  private onMove = (event: MouseEvent): void => this.callbacks.hover(this.columnOf(event), event);
  private onLeave = (event: MouseEvent): void => this.callbacks.hover(-1, event);
  private onClick = (event: MouseEvent): void => {
    const column = this.columnOf(event);
    if (column >= 0) this.callbacks.click(column);
  };

  /** The centre of `column` in page (client) coordinates, for tests. */
  columnPoint(column: number): { x: number; y: number } {
    const box = this.canvas.getBoundingClientRect();
    return { x: box.left + this.layout.labelWidth + (column + 0.5) * this.layout.columnWidth, y: box.top + this.layout.rowHeight / 2 };
  }

  setData(data: TimelineData): void {
    this.data = data;
    this.draw();
  }

  setSelected(column: number): void {
    this.selected = column;
    this.draw();
  }

  draw(): void {
    const data = this.data;
    const columns = data ? data.probs.length : 0;
    const available = this.root.parentElement?.clientWidth || 800;
    const heatRows = data?.expertsByLayer?.layers ?? 0;
    this.layout = timelineLayout(columns, available, data ? rowsOf(data) : ["confidence", "entropy"], heatRows);
    const { width, height, labelWidth, columnWidth: w, rowHeight: h, rows } = this.layout;
    const ratio = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.canvas.dataset.columns = String(columns);
    this.canvas.dataset.rows = rows.join(",");
    this.canvas.dataset.heatRows = String(heatRows);
    const context = this.canvas.getContext("2d");
    if (context) {
      context.setTransform(ratio, 0, 0, ratio, 0, 0);
      const dark = isLightColour(this.root.isConnected ? getComputedStyle(this.root).color : "");
      if (this.root.isConnected) this.stops = heatStops(groundOf(this.root));
      const [text, track, mark] = dark ? ["#ddd", "#2b2b2b", "#ff5252"] : ["#333", "#f1f1f1", "#e53935"];
      context.clearRect(0, 0, width, height);
      context.font = "11px system-ui, sans-serif";
      context.textBaseline = "middle";
      rows.forEach((row, r) => {
        const top = r * h;
        context.fillStyle = text;
        context.fillText(row, 4, top + h / 2);
        context.fillStyle = track;
        context.fillRect(labelWidth, top + 1, Math.max(1, columns) * w, h - 2);
        if (data) this.drawRow(context, row, data, top);
      });
      if (data?.expertsByLayer) this.drawHeat(context, data.expertsByLayer, columns, text);
      if (this.selected >= 0 && this.selected < columns) {
        context.strokeStyle = mark;
        context.lineWidth = 2;
        context.strokeRect(labelWidth + this.selected * w + 1, 1, Math.max(1, w - 2), height - 2);
      }
    }
    markDrawn(this.canvas);
  }

  private drawRow(context: CanvasRenderingContext2D, row: RowName, data: TimelineData, top: number): void {
    const { labelWidth, columnWidth: w, rowHeight: h } = this.layout;
    const bar = (column: number, value: number, colour: string): void => {
      const height = Math.max(1, Math.round(Math.min(1, Math.max(0, value)) * (h - 4)));
      context.fillStyle = colour;
      context.fillRect(labelWidth + column * w, top + h - 2 - height, Math.max(1, w - (w > 3 ? 1 : 0)), height);
    };
    const n = data.probs.length;
    const colour = (t: number): string => cssAt(this.stops, t);
    if (row === "confidence") for (let i = 0; i < n; i++) bar(i, data.probs[i], colour(data.probs[i]));
    if (row === "entropy") {
      const scale = entropyScale(data.entropies);
      for (let i = 0; i < n; i++) bar(i, data.entropies[i] / scale, colour(data.entropies[i] / scale));
    }
    if (row === "lens agrees from layer" && data.lensLayer) {
      const layers = data.numLayers;
      for (let i = 0; i < n; i++) {
        const layer = data.lensLayer[i];
        if (layer > layers) continue; // the lens never agreed: left blank
        // early agreement (a low layer) is a tall, bright bar
        const t = layers > 0 ? 1 - layer / layers : 1;
        bar(i, 0.15 + 0.85 * t, colour(t));
      }
    }
    if (row === "expert change" && data.expertChange) {
      for (let i = 0; i < n; i++) bar(i, data.expertChange[i], colour(data.expertChange[i]));
    }
  }

  /** One thin row per MoE layer (first on top), each cell coloured by the share of new experts. */
  private drawHeat(
    context: CanvasRenderingContext2D,
    heat: { values: Float32Array; layers: number },
    columns: number,
    text: string,
  ): void {
    const { labelWidth, columnWidth: w, heatTop } = this.layout;
    context.fillStyle = text;
    context.fillText("experts by layer", 4, heatTop + Math.min(11, (heat.layers * HEAT_ROW) / 2));
    for (let layer = 0; layer < heat.layers; layer++) {
      for (let i = 0; i < columns; i++) {
        context.fillStyle = cssAt(this.stops, heat.values[layer * columns + i]);
        context.fillRect(labelWidth + i * w, heatTop + layer * HEAT_ROW, Math.max(1, w - (w > 3 ? 1 : 0)), HEAT_ROW);
      }
    }
  }

  private readonly unwatchTheme: () => void;

  destroy(): void {
    this.unwatchTheme();
    this.unkey();
    this.canvas.removeEventListener("mousemove", this.onMove);
    this.canvas.removeEventListener("mouseleave", this.onLeave);
    this.canvas.removeEventListener("click", this.onClick);
  }
}
