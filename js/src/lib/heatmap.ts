// Query × key heatmap on a canvas (data-testid attention-heatmap): a max-pooled overview for long
// texts, full-resolution windows fetched on zoom, hover tooltip, wheel/drag zoom and pan, legend.

import { quantise, type QuantisedArray } from "./buffers";
import { colourTable, cssColour, formatWeight, legendTicks } from "./colour";
import { debounce } from "./debounce";
import { element, markDrawn } from "./dom";
import { cellAt, clampView, fullView, panBy, toCanvas, visibleCells, zoomAt, type Cell, type Viewport } from "./viewport";

/** Rectangle of cells, end exclusive. */
export interface CellRect {
  q0: number;
  q1: number;
  k0: number;
  k1: number;
}

/** The matrix shown: `overview` is `[ceil(n/block), ceil(n/block)]`, each byte the max of a block × block square. */
export interface HeatmapData {
  overview: QuantisedArray;
  block: number;
  n: number;
  /** Weight drawn with the brightest colour (larger ones saturate). */
  colourMax: number;
}

/** A full-resolution part of the matrix, rows q0.. and keys k0.. (quantised on its own scale). */
export interface HeatmapWindow {
  q0: number;
  k0: number;
  values: QuantisedArray;
}

export interface HeatmapCallbacks {
  /** Label of token `index` for the tooltip. */
  label(index: number): string;
  /** Ask for full-resolution data of `rect` (answer with `setWindow`). */
  requestWindow(rect: CellRect): void;
}

/** Largest window side the server sends (matches OVERVIEW_SIZE in attention_view.py). */
export const WINDOW_LIMIT = 512;
const CSS_SIZE = 420;

/** Value at (q, k): exact from a window covering it, else the block max of the overview. */
export function valueAt(data: HeatmapData, win: HeatmapWindow | null, cell: Cell): { value: number; exact: boolean } {
  if (win) {
    const [rows, cols] = win.values.shape;
    const r = cell.q - win.q0;
    const c = cell.k - win.k0;
    if (r >= 0 && r < rows && c >= 0 && c < cols) {
      return { value: (win.values.bytes[r * cols + c] / 255) * win.values.scale, exact: true };
    }
  }
  const cols = data.overview.shape[1];
  const byte = data.overview.bytes[Math.floor(cell.q / data.block) * cols + Math.floor(cell.k / data.block)];
  return { value: (byte / 255) * data.overview.scale, exact: data.block === 1 };
}

/** The window to fetch for a viewport, or null when the overview is exact or the view is too wide. */
export function windowToFetch(data: HeatmapData, view: Viewport, have: HeatmapWindow | null): CellRect | null {
  if (data.block === 1) return null;
  const cells = visibleCells(view);
  const rect = { q0: cells.q0, q1: Math.min(cells.q1, data.n), k0: cells.k0, k1: Math.min(cells.k1, data.n) };
  if (rect.q1 - rect.q0 > WINDOW_LIMIT || rect.k1 - rect.k0 > WINDOW_LIMIT) return null;
  if (have) {
    const [rows, cols] = have.values.shape;
    if (have.q0 <= rect.q0 && have.k0 <= rect.k0 && have.q0 + rows >= rect.q1 && have.k0 + cols >= rect.k1) return null;
  }
  return rect;
}

/** The mean of `heads` of one layer's `[head, n, n]` patterns, as Python would send it for them
 * (`mean_of_heads`, `encode_uint8`, `colour_max`), and its float values. */
export function meanOfHeads(layer: QuantisedArray, heads: readonly number[]): { data: HeatmapData; matrix: Float32Array } {
  const n = layer.shape[1];
  const size = n * n;
  const matrix = new Float32Array(size);
  for (const head of heads) {
    const bytes = layer.bytes.subarray(head * size, (head + 1) * size);
    for (let i = 0; i < size; i++) matrix[i] += bytes[i];
  }
  const factor = layer.scale / 255 / heads.length;
  let colourMax = n > 1 ? 0 : 1; // the first query (row 0) only attends to itself: left out
  for (let i = 0; i < size; i++) {
    matrix[i] *= factor;
    if (i >= n && matrix[i] > colourMax) colourMax = matrix[i];
  }
  return { data: { overview: quantise(matrix, [n, n]), block: 1, n, colourMax }, matrix };
}

/** Colour-table index of each byte of `values` when `colourMax` is drawn brightest. */
export function colourIndices(values: QuantisedArray, colourMax: number): Uint8Array {
  const ratio = colourMax > 0 ? values.scale / colourMax : 0;
  const lookup = Uint8Array.from({ length: 256 }, (_, byte) => Math.min(255, Math.round(byte * ratio)));
  const indices = new Uint8Array(values.bytes.length);
  for (let i = 0; i < indices.length; i++) indices[i] = lookup[values.bytes[i]];
  return indices;
}

function toImage(values: QuantisedArray, colourMax: number, table: Uint8ClampedArray): HTMLCanvasElement | null {
  const [rows, cols] = values.shape;
  const canvas = document.createElement("canvas");
  canvas.width = cols;
  canvas.height = rows;
  const context = canvas.getContext("2d");
  if (!context || rows === 0 || cols === 0) return null;
  const image = context.createImageData(cols, rows);
  const indices = colourIndices(values, colourMax);
  // one 32-bit word per RGBA pixel, copied as is (same byte order on both sides)
  const colours = new Uint32Array(table.buffer, table.byteOffset, 256);
  const pixels = new Uint32Array(image.data.buffer);
  for (let i = 0; i < rows * cols; i++) pixels[i] = colours[indices[i]];
  context.putImageData(image, 0, 0);
  return canvas;
}

export class Heatmap {
  readonly root: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly tooltip: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly table = colourTable();
  private data: HeatmapData | null = null;
  private window: HeatmapWindow | null = null;
  private overviewImage: HTMLCanvasElement | null = null;
  private windowImage: HTMLCanvasElement | null = null;
  private view: Viewport = fullView(1);
  private drag: { x: number; y: number } | null = null;
  private pointer: [number, number, number, number] | null = null; // x, y, width, height in CSS px
  private selectedRow = -1;
  private readonly fetchLater = debounce(() => this.maybeFetch(), 120);

  constructor(private readonly callbacks: HeatmapCallbacks) {
    this.canvas = element("canvas", {
      testid: "attention-heatmap",
      className: "dsv-heatmap",
      attrs: { "aria-label": "attention heatmap: rows are queries (from), columns keys (to)" },
    });
    this.canvas.width = CSS_SIZE * (window.devicePixelRatio || 1);
    this.canvas.height = this.canvas.width;
    this.tooltip = element("div", { testid: "heatmap-tooltip", className: "dsv-tooltip" });
    this.tooltip.hidden = true;
    this.legend = element("div", { testid: "colour-legend", className: "dsv-legend" });
    const button = (testid: string, text: string, title: string, action: () => void): HTMLButtonElement => {
      const node = element("button", { testid, text, attrs: { title, type: "button" } });
      node.addEventListener("click", action);
      return node;
    };
    const controls = element(
      "div",
      { className: "dsv-zoom" },
      button("zoom-in", "+", "zoom in", () => this.zoom(1.5, 0.5, 0.5)),
      button("zoom-out", "−", "zoom out", () => this.zoom(1 / 1.5, 0.5, 0.5)),
      button("zoom-reset", "reset", "show everything", () => this.resetView()),
    );
    this.root = element(
      "div",
      { className: "dsv-heatmap-wrap" },
      element("div", { className: "dsv-canvas-wrap" }, this.canvas, this.tooltip),
      element("div", { className: "dsv-heatmap-footer" }, this.legend, controls),
    );
    this.canvas.addEventListener("mousemove", this.onMove);
    this.canvas.addEventListener("mouseleave", this.onLeave);
    this.canvas.addEventListener("wheel", this.onWheel, { passive: false });
    this.canvas.addEventListener("pointerdown", this.onDown);
    this.canvas.addEventListener("pointerup", this.onUp);
    this.canvas.addEventListener("dblclick", this.resetView);
  }

  /** Show new data; the zoom stays when the length is unchanged. Bumps `data-version`. */
  setData(data: HeatmapData | null): void {
    if (!data || !this.data || data.n !== this.data.n) this.view = fullView(data?.n ?? 1);
    this.data = data;
    this.window = null;
    this.windowImage = null;
    this.overviewImage = data ? toImage(data.overview, data.colourMax, this.table) : null;
    this.renderLegend();
    this.render();
    markDrawn(this.canvas);
    this.fetchLater.call();
  }

  /** Full-resolution cells for the current data (ignored when they no longer fit the data shown). */
  setWindow(win: HeatmapWindow): void {
    this.window = win;
    this.windowImage = this.data ? toImage(win.values, this.data.colourMax, this.table) : null;
    this.render();
    this.showTooltip();
  }

  /** Outline query row `row` (-1: none). */
  setSelectedRow(row: number): void {
    this.selectedRow = row;
    this.render();
  }

  /** Value of a cell as the tooltip would show it. */
  valueAt(cell: Cell): { value: number; exact: boolean } | null {
    return this.data ? valueAt(this.data, this.window, cell) : null;
  }

  private resetView = (): void => {
    if (!this.data) return;
    this.view = fullView(this.data.n);
    this.render();
  };

  private zoom(factor: number, fx: number, fy: number): void {
    if (!this.data) return;
    this.view = zoomAt(this.view, this.data.n, factor, fx, fy);
    this.render();
    this.showTooltip();
    this.fetchLater.call();
  }

  private maybeFetch(): void {
    const rect = this.data ? windowToFetch(this.data, this.view, this.window) : null;
    if (rect) this.callbacks.requestWindow(rect);
  }

  private fraction(event: MouseEvent): [number, number, number, number] {
    const box = this.canvas.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top, box.width, box.height];
  }

  private onWheel = (event: WheelEvent): void => {
    if (!this.data) return;
    event.preventDefault();
    const [x, y, width, height] = this.fraction(event);
    if (width > 0 && height > 0) this.zoom(Math.exp(-event.deltaY * 0.002), x / width, y / height);
  };

  private onDown = (event: PointerEvent): void => {
    this.drag = { x: event.clientX, y: event.clientY };
    this.canvas.setPointerCapture?.(event.pointerId);
  };

  private onUp = (event: PointerEvent): void => {
    this.drag = null;
    this.canvas.releasePointerCapture?.(event.pointerId);
  };

  private onMove = (event: MouseEvent): void => {
    if (!this.data) return;
    const [x, y, width, height] = this.fraction(event);
    if (this.drag && width > 0 && height > 0) {
      const dx = (this.drag.x - event.clientX) / width;
      const dy = (this.drag.y - event.clientY) / height;
      this.drag = { x: event.clientX, y: event.clientY };
      this.view = panBy(this.view, this.data.n, dx, dy);
      this.render();
      this.fetchLater.call();
    }
    this.pointer = [x, y, width, height];
    this.showTooltip();
  };

  /** Tooltip for the cell under the pointer (refreshed when better data arrives). */
  private showTooltip(): void {
    if (!this.data || !this.pointer) return;
    const [x, y, width, height] = this.pointer;
    const cell = cellAt(this.view, this.data.n, x, y, width, height);
    if (!cell) return this.onLeave();
    const { value, exact } = valueAt(this.data, this.window, cell);
    const weight = exact ? formatWeight(value) : `≤ ${formatWeight(value)} (zoom in for exact)`;
    this.tooltip.textContent = `${this.callbacks.label(cell.q)} → ${this.callbacks.label(cell.k)}: ${weight}`;
    this.tooltip.style.left = `${Math.min(x + 12, width - 160)}px`;
    this.tooltip.style.top = `${y + 12}px`;
    this.tooltip.hidden = false;
  }

  private onLeave = (): void => {
    this.pointer = null;
    this.tooltip.hidden = true;
  };

  private renderLegend(): void {
    const colourMax = this.data?.colourMax ?? 1;
    const saturates = this.data !== null && this.data.overview.scale > colourMax;
    const stops = legendTicks(1, 6).map((t) => cssColour(t));
    const bar = element("div", { className: "dsv-legend-bar" });
    bar.style.background = `linear-gradient(to right, ${stops.join(", ")})`;
    const labels = legendTicks(colourMax, 3).map((tick, i) =>
      element("span", { text: (i === 2 && saturates ? "≥ " : "") + formatWeight(tick) }),
    );
    this.legend.replaceChildren(
      element("span", { className: "dsv-legend-title", text: "weight" }),
      element("div", { className: "dsv-legend-scale" }, bar, element("div", { className: "dsv-legend-ticks" }, ...labels)),
    );
  }

  /** Redraw the visible part (no new data: `data-version` stays). */
  render(): void {
    const context = this.canvas.getContext("2d");
    if (!context) return;
    const { width, height } = this.canvas;
    context.clearRect(0, 0, width, height);
    if (!this.data || !this.overviewImage) return;
    this.view = clampView(this.view, this.data.n);
    context.imageSmoothingEnabled = false;
    const { x0, x1, y0, y1 } = this.view;
    const b = this.data.block;
    context.drawImage(this.overviewImage, x0 / b, y0 / b, (x1 - x0) / b, (y1 - y0) / b, 0, 0, width, height);
    if (this.window && this.windowImage) {
      const [rows, cols] = this.window.values.shape;
      const rect = { q0: this.window.q0, q1: this.window.q0 + rows, k0: this.window.k0, k1: this.window.k0 + cols };
      context.drawImage(this.windowImage, 0, 0, cols, rows, ...toCanvas(this.view, rect, width, height));
    }
    if (this.selectedRow >= 0 && this.selectedRow < this.data.n) {
      const [x, y, w, h] = toCanvas(this.view, { q0: this.selectedRow, q1: this.selectedRow + 1, k0: 0, k1: this.data.n }, width, height);
      context.strokeStyle = "#ff4d4d";
      context.lineWidth = Math.max(1, window.devicePixelRatio || 1);
      context.strokeRect(x, y, w, Math.max(h, 1));
    }
  }

  destroy(): void {
    this.fetchLater.cancel();
    this.canvas.removeEventListener("mousemove", this.onMove);
    this.canvas.removeEventListener("mouseleave", this.onLeave);
    this.canvas.removeEventListener("wheel", this.onWheel);
    this.canvas.removeEventListener("pointerdown", this.onDown);
    this.canvas.removeEventListener("pointerup", this.onUp);
    this.canvas.removeEventListener("dblclick", this.resetView);
  }
}
