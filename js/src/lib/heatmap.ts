// Query × key heatmap on a canvas (data-testid attention-heatmap): a max-pooled overview for long
// texts, full-resolution windows fetched on zoom, hover tooltip, wheel/drag/keyboard zoom and pan, the
// zoom level, token labels on both axes (thinned where they do not fit, full text on hover) with
// "query" / "key" titles, and the legend.

import { quantise, type QuantisedArray } from "./buffers";
import { colourTable, heatStops, legendTicks, stopsGradient, type Rgb } from "./colour";
import { groundOf, onThemeChange } from "./theme";
import { axisTicks } from "./attention/axis";
import { formatAttention, placeTooltip } from "./attention/format";
import { debounce } from "./debounce";
import { element, markDrawn } from "./dom";
import {
  cellAt,
  clampView,
  formatZoom,
  fullView,
  panBy,
  pointAt,
  toCanvas,
  visibleCells,
  wheelFactor,
  zoomAt,
  zoomLevel,
  type Cell,
  type Viewport,
} from "./viewport";
import { formatWeight } from "./format";

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

/** What the `attention-heatmap` canvas offers browser tests (client coordinates, CSS px). */
export interface HeatmapElement extends HTMLCanvasElement {
  /** The cell under client point (x, y), or null outside the data. */
  cellAtClient(x: number, y: number): Cell | null;
  /** The token-space point (x: key, y: query, fractional) under client point (x, y). */
  pointAtClient(x: number, y: number): { x: number; y: number } | null;
  /** Magnification against the whole matrix (1: all of it shown). */
  zoomLevel(): number;
}

/** Largest window side the server sends (matches OVERVIEW_SIZE in attention_view.py). */
export const WINDOW_LIMIT = 512;
const CSS_SIZE = 420;
/** Least distance between two axis labels (CSS px; the labels' font is 11 px). */
const LABEL_SPACING = 13;
/** Zoom of one click on "+" / "−" or one key press. */
const BUTTON_ZOOM = 1.5;

/** Value at (q, k): exact from a window covering it, else the block max of the overview; `step` is the
 * quantisation step of the bytes it came from (a byte 0 means "below step / 2", not 0). */
export function valueAt(data: HeatmapData, win: HeatmapWindow | null, cell: Cell): { value: number; exact: boolean; step: number } {
  if (win) {
    const [rows, cols] = win.values.shape;
    const r = cell.q - win.q0;
    const c = cell.k - win.k0;
    if (r >= 0 && r < rows && c >= 0 && c < cols) {
      return { value: (win.values.bytes[r * cols + c] / 255) * win.values.scale, exact: true, step: win.values.scale / 255 };
    }
  }
  const cols = data.overview.shape[1];
  const byte = data.overview.bytes[Math.floor(cell.q / data.block) * cols + Math.floor(cell.k / data.block)];
  return { value: (byte / 255) * data.overview.scale, exact: data.block === 1, step: data.overview.scale / 255 };
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
  readonly canvas: HeatmapElement;
  private readonly tooltip: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly zoomText: HTMLElement;
  private readonly queryLabels: HTMLElement;
  private readonly keyLabels: HTMLElement;
  private table = colourTable();
  private stops: Rgb[] | null = null;
  private ground = "";
  private unwatchTheme: () => void = () => {};
  private data: HeatmapData | null = null;
  private window: HeatmapWindow | null = null;
  private overviewImage: HTMLCanvasElement | null = null;
  private windowImage: HTMLCanvasElement | null = null;
  private view: Viewport = fullView(1);
  private labelsDrawn = "";
  private drag: { x: number; y: number } | null = null;
  private pointer: [number, number, number, number] | null = null; // x, y, width, height in CSS px
  private selectedRow = -1;
  private readonly fetchLater = debounce(() => this.maybeFetch(), 120);

  constructor(private readonly callbacks: HeatmapCallbacks) {
    this.canvas = element("canvas", {
      testid: "attention-heatmap",
      className: "dsv-heatmap",
      attrs: {
        tabindex: "0",
        "data-lm-suppress-shortcuts": "true",
        "aria-label":
          "attention heatmap: rows are queries (the token attending), columns keys (the token attended to); " +
          "wheel or + / − zoom, drag or arrow keys pan, 0 or double-click shows everything",
      },
    }) as HTMLCanvasElement as HeatmapElement;
    this.canvas.width = CSS_SIZE * (window.devicePixelRatio || 1);
    this.canvas.height = this.canvas.width;
    this.canvas.cellAtClient = (x, y) => this.clientCell(x, y);
    this.canvas.pointAtClient = (x, y) => this.clientPoint(x, y);
    this.canvas.zoomLevel = () => zoomLevel(this.view, this.data?.n ?? 1);
    this.tooltip = element("div", { testid: "heatmap-tooltip", className: "dsv-tooltip dsv-heatmap-tooltip" });
    this.tooltip.hidden = true;
    this.legend = element("div", { testid: "colour-legend", className: "dsv-legend" });
    this.zoomText = element("span", {
      testid: "zoom-level",
      className: "dsv-zoom-level",
      text: "×1",
      attrs: { "aria-live": "polite", title: "zoom level (×1: the whole matrix)" },
    });
    this.queryLabels = element("div", { testid: "query-labels", className: "dsv-axis-labels dsv-query-labels" });
    this.keyLabels = element("div", { testid: "key-labels", className: "dsv-axis-labels dsv-key-labels" });
    const button = (testid: string, text: string, title: string, action: () => void): HTMLButtonElement => {
      const node = element("button", { testid, text, attrs: { title, "aria-label": title, type: "button" } });
      node.addEventListener("click", action);
      return node;
    };
    const controls = element(
      "div",
      { className: "dsv-zoom" },
      button("zoom-in", "+", "zoom in (about the centre)", () => this.zoom(BUTTON_ZOOM, 0.5, 0.5)),
      button("zoom-out", "−", "zoom out", () => this.zoom(1 / BUTTON_ZOOM, 0.5, 0.5)),
      this.zoomText,
      button("zoom-reset", "reset", "show everything", () => this.resetView()),
    );
    const axisTitle = (testid: string, className: string, text: string, title: string) =>
      element("div", { testid, className: `dsv-axis-title ${className}`, text, attrs: { title } });
    this.root = element(
      "div",
      { className: "dsv-heatmap-box" },
      element(
        "div",
        { className: "dsv-heatmap-grid" },
        axisTitle("query-axis-title", "dsv-axis-title-query", "query (attends from)", "rows: the token whose attention is shown"),
        this.queryLabels,
        element("div", { className: "dsv-canvas-wrap" }, this.canvas, this.tooltip),
        this.keyLabels,
        axisTitle("key-axis-title", "dsv-axis-title-key", "key (attended to) →", "columns: the token attended to"),
      ),
      element("div", { className: "dsv-heatmap-footer" }, this.legend, controls),
    );
    this.canvas.addEventListener("mousemove", this.onMove);
    this.canvas.addEventListener("mouseleave", this.onLeave);
    this.canvas.addEventListener("wheel", this.onWheel, { passive: false });
    this.canvas.addEventListener("pointerdown", this.onDown);
    this.canvas.addEventListener("pointerup", this.onUp);
    this.canvas.addEventListener("dblclick", this.resetView);
    this.canvas.addEventListener("keydown", this.onKey);
    this.unwatchTheme = onThemeChange(() => this.retheme());
    if (typeof requestAnimationFrame !== "undefined") requestAnimationFrame(() => this.retheme()); // once in the page
  }

  /** Show new data; the zoom stays when the length is unchanged. Bumps `data-version`. */
  setData(data: HeatmapData | null): void {
    if (!data || !this.data || data.n !== this.data.n) this.view = fullView(data?.n ?? 1);
    this.data = data;
    this.window = null;
    this.windowImage = null;
    this.readTheme();
    this.overviewImage = data ? toImage(data.overview, data.colourMax, this.table) : null;
    this.labelsDrawn = ""; // the tokens may have changed
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
  valueAt(cell: Cell): { value: number; exact: boolean; step: number } | null {
    return this.data ? valueAt(this.data, this.window, cell) : null;
  }

  private resetView = (): void => {
    if (!this.data) return;
    this.view = fullView(this.data.n);
    this.render();
    this.showTooltip();
  };

  private zoom(factor: number, fx: number, fy: number): void {
    if (!this.data) return;
    this.view = zoomAt(this.view, this.data.n, factor, fx, fy);
    this.render();
    this.showTooltip();
    this.fetchLater.call();
  }

  private pan(dx: number, dy: number): void {
    if (!this.data) return;
    this.view = panBy(this.view, this.data.n, dx, dy);
    this.render();
    this.showTooltip();
    this.fetchLater.call();
  }

  private maybeFetch(): void {
    const rect = this.data ? windowToFetch(this.data, this.view, this.window) : null;
    if (rect) this.callbacks.requestWindow(rect);
  }

  private fraction(event: { clientX: number; clientY: number }): [number, number, number, number] {
    const box = this.canvas.getBoundingClientRect();
    // the canvas's content box: its 1 px border is not part of the matrix
    const border = this.canvas.clientLeft || 0;
    const width = this.canvas.clientWidth || box.width;
    const height = this.canvas.clientHeight || box.height;
    return [event.clientX - box.left - border, event.clientY - box.top - (this.canvas.clientTop || 0), width, height];
  }

  private clientCell(clientX: number, clientY: number): Cell | null {
    if (!this.data) return null;
    const [x, y, width, height] = this.fraction({ clientX, clientY });
    return cellAt(this.view, this.data.n, x, y, width, height);
  }

  private clientPoint(clientX: number, clientY: number): { x: number; y: number } | null {
    if (!this.data) return null;
    const [x, y, width, height] = this.fraction({ clientX, clientY });
    return width > 0 && height > 0 ? pointAt(this.view, x, y, width, height) : null;
  }

  private onWheel = (event: WheelEvent): void => {
    if (!this.data) return;
    event.preventDefault();
    const [x, y, width, height] = this.fraction(event);
    if (width > 0 && height > 0) this.zoom(wheelFactor(event.deltaY, event.deltaMode, height), x / width, y / height);
  };

  private onKey = (event: KeyboardEvent): void => {
    const actions: Record<string, () => void> = {
      "+": () => this.zoom(BUTTON_ZOOM, 0.5, 0.5),
      "=": () => this.zoom(BUTTON_ZOOM, 0.5, 0.5),
      "-": () => this.zoom(1 / BUTTON_ZOOM, 0.5, 0.5),
      _: () => this.zoom(1 / BUTTON_ZOOM, 0.5, 0.5),
      "0": () => this.resetView(),
      ArrowLeft: () => this.pan(-0.1, 0),
      ArrowRight: () => this.pan(0.1, 0),
      ArrowUp: () => this.pan(0, -0.1),
      ArrowDown: () => this.pan(0, 0.1),
    };
    const action = event.altKey || event.ctrlKey || event.metaKey ? undefined : actions[event.key];
    if (!action) return;
    event.preventDefault();
    event.stopPropagation();
    action();
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

  /** Tooltip for the cell under the pointer (refreshed when better data arrives), kept inside the
   * canvas (flipped above / left of the pointer near the bottom / right edge). */
  private showTooltip(): void {
    if (!this.data || !this.pointer) return;
    const [x, y, width, height] = this.pointer;
    const cell = cellAt(this.view, this.data.n, x, y, width, height);
    if (!cell) return this.onLeave();
    const { value, exact, step } = valueAt(this.data, this.window, cell);
    const future = cell.k > cell.q;
    const shown = formatAttention(value, step, future);
    const weight = exact || future ? shown : `${value > 0 ? "≤ " : ""}${shown} (zoom in for exact)`;
    this.tooltip.textContent = `${this.callbacks.label(cell.q)} → ${this.callbacks.label(cell.k)}: ${weight}`;
    this.tooltip.hidden = false;
    const { left, top } = placeTooltip(x, y, this.tooltip.offsetWidth, this.tooltip.offsetHeight, width, height);
    this.tooltip.style.left = `${left}px`;
    this.tooltip.style.top = `${top}px`;
    this.markAxes(cell);
  }

  private onLeave = (): void => {
    this.pointer = null;
    this.tooltip.hidden = true;
    this.markAxes(null);
  };

  /** Emphasise the labels of the hovered cell's query and key (where they are shown). */
  private markAxes(cell: Cell | null): void {
    for (const [labels, index] of [
      [this.queryLabels, cell?.q ?? -1],
      [this.keyLabels, cell?.k ?? -1],
    ] as const) {
      for (const node of labels.children) (node as HTMLElement).classList.toggle("dsv-axis-on", Number((node as HTMLElement).dataset.index) === index);
    }
  }

  private renderLegend(): void {
    const colourMax = this.data?.colourMax ?? 1;
    const saturates = this.data !== null && this.data.overview.scale > colourMax;
    const bar = element("div", { className: "dsv-legend-bar" });
    bar.style.background = this.stops ? stopsGradient(this.stops) : stopsGradient(heatStops([255, 255, 255]));
    const labels = legendTicks(colourMax, 3).map((tick, i) =>
      element("span", { text: (i === 2 && saturates ? "≥ " : "") + formatWeight(tick) }),
    );
    this.legend.replaceChildren(
      element("span", { className: "dsv-legend-title", text: "weight" }),
      element("div", { className: "dsv-legend-scale" }, bar, element("div", { className: "dsv-legend-ticks" }, ...labels)),
    );
  }

  /** Token labels of the rows and columns in view (DOM text; the full label as the title). */
  private renderAxes(): void {
    const data = this.data;
    const key = data ? `${data.n}:${this.view.x0}:${this.view.x1}:${this.view.y0}:${this.view.y1}` : "";
    if (key === this.labelsDrawn) return;
    this.labelsDrawn = key;
    const n = data?.n ?? 0;
    const rows = axisTicks(this.view.y0, this.view.y1, n, CSS_SIZE, LABEL_SPACING);
    const columns = axisTicks(this.view.x0, this.view.x1, n, CSS_SIZE, LABEL_SPACING);
    const label = (axis: "query" | "key", index: number, position: number, step: number): HTMLElement => {
      const text = this.callbacks.label(index);
      const node = element("span", {
        testid: `${axis}-label-${index}`,
        className: "dsv-axis-label",
        text: step > 1 ? `${index}·${text}` : text, // thinned: say which token each label is
        attrs: { title: `${axis} ${index}: ${text}`, "data-index": String(index) },
      });
      if (axis === "query") node.style.top = `${position}px`;
      else node.style.left = `${position}px`;
      return node;
    };
    this.queryLabels.replaceChildren(...rows.ticks.map((t) => label("query", t.index, t.position, rows.step)));
    this.keyLabels.replaceChildren(...columns.ticks.map((t) => label("key", t.index, t.position, columns.step)));
    this.queryLabels.dataset.step = String(rows.step);
    this.keyLabels.dataset.step = String(columns.step);
  }

  /** Take the colour scale of the theme the heatmap is shown in (its low end the canvas's background);
   * whether it changed. */
  private readTheme(): boolean {
    if (!this.canvas.isConnected) return false;
    const ground = groundOf(this.canvas);
    const key = ground.join(",");
    if (key === this.ground) return false;
    this.ground = key;
    this.stops = heatStops(ground);
    this.table = colourTable(this.stops);
    return true;
  }

  /** Redraw in the page's theme when JupyterLab switches it (or once the view is first in the page). */
  retheme(): void {
    if (!this.readTheme()) return;
    const data = this.data;
    this.overviewImage = data ? toImage(data.overview, data.colourMax, this.table) : null;
    this.windowImage = data && this.window ? toImage(this.window.values, data.colourMax, this.table) : null;
    this.renderLegend();
    this.render();
  }

  /** Redraw the visible part (no new data: `data-version` stays). */
  render(): void {
    const context = this.canvas.getContext("2d");
    if (this.data) this.view = clampView(this.view, this.data.n);
    this.zoomText.textContent = formatZoom(zoomLevel(this.view, this.data?.n ?? 1));
    this.renderAxes();
    if (!context) return;
    const { width, height } = this.canvas;
    context.clearRect(0, 0, width, height);
    if (!this.data || !this.overviewImage) return;
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
    this.unwatchTheme();
    this.fetchLater.cancel();
    this.canvas.removeEventListener("mousemove", this.onMove);
    this.canvas.removeEventListener("mouseleave", this.onLeave);
    this.canvas.removeEventListener("wheel", this.onWheel);
    this.canvas.removeEventListener("pointerdown", this.onDown);
    this.canvas.removeEventListener("pointerup", this.onUp);
    this.canvas.removeEventListener("dblclick", this.resetView);
    this.canvas.removeEventListener("keydown", this.onKey);
  }
}
