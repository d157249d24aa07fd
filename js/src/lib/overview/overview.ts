// The head overview: every layer × head of a model on one canvas, drawn only for the rows and columns in
// view (a sticky canvas over a sizer as large as the whole grid, so the browser scrolls natively and the
// canvas redraws once per frame). Layer numbers on the rows, head numbers on the columns; each cell the
// head's thumbnail when cells are large enough, else the colour of the chosen score. `head-L-H` elements
// mark the selected heads and the focused / hovered cell (see attention_view.py's docstring).

import type { QuantisedArray } from "../buffers";
import { colourTable, heatStops } from "../colour";
import { groundOf, onThemeChange } from "../theme";
import { element, markDrawn } from "../dom";
import { clickSelection, meanOfLayer, type Selection } from "../selection";
import {
  HEADER_HEIGHT,
  LABEL_WIDTH,
  NUMBER_MIN_CELL,
  SCORE_NAMES,
  THUMBNAIL_MIN_CELL,
  cellOrigin,
  cellSize,
  contentSize,
  headOrder,
  hitTest,
  moveFocus,
  revealScroll,
  scoreRange,
  visibleRange,
  type Cell,
  type Layout,
} from "./layout";
import { formatWeight } from "../format";

/** Most height of the overview before it scrolls (CSS px). */
const MAX_HEIGHT = 460;
/** Width assumed when the page gives none (jsdom, a hidden panel). */
const FALLBACK_WIDTH = 640;

/** What the `head-grid` element offers browser tests and benchmarks. */
export interface HeadGridElement extends HTMLElement {
  /** Scroll head (layer, head) into view; the centre of its cell in client coordinates. */
  revealHead(layer: number, head: number): { x: number; y: number };
}

/** Turning heads off (the interventions): `ablate` on alt-click (or any click / Enter while `ablating()`). */
export interface AblateOptions {
  ablate(layer: number, head: number): void;
  ablating(): boolean;
}

export class HeadOverview {
  readonly root: HeadGridElement;
  private readonly scroller: HTMLDivElement;
  private readonly sizer: HTMLDivElement;
  private readonly view: HTMLDivElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly hits: HTMLDivElement;
  private readonly marks: HTMLDivElement;
  private readonly markNodes = new Map<string, HTMLElement>();
  private ablated = new Set<string>();
  private jumped = "";
  private readonly tooltip: HTMLDivElement;
  private readonly scoreSelect: HTMLSelectElement;
  private readonly sortToggle: HTMLInputElement;
  private readonly jump: HTMLInputElement;
  private table = colourTable();
  private ground = "";
  private layout: Layout = { numLayers: 0, numHeads: 0, cell: 40 };
  private selection: Selection = { layer: 0, heads: [0] };
  private focus = { layer: 0, head: 0 };
  private hovered: { layer: number; head: number } | null = null;
  private thumbnails: QuantisedArray | null = null;
  private scores: Float32Array | null = null;
  private order: { order: Uint32Array; columns: Uint32Array } = { order: new Uint32Array(0), columns: new Uint32Array(0) };
  private thumbAtlas: HTMLCanvasElement | null = null;
  private scoreAtlas: HTMLCanvasElement | null = null;
  private frame = 0;
  private viewport = { width: 0, height: 0 };
  private readonly resize: ResizeObserver | null;
  private readonly unwatchTheme: () => void;

  constructor(
    private readonly select: (selection: Selection) => void,
    private readonly ablation: AblateOptions | null = null,
  ) {
    this.scoreSelect = element(
      "select",
      { testid: "overview-score", attrs: { "aria-label": "colour and sort the heads by" } },
      ...SCORE_NAMES.map((name, i) => element("option", { text: name, attrs: { value: String(i) } })),
    );
    this.sortToggle = element("input", { testid: "overview-sort", attrs: { type: "checkbox" } });
    this.jump = element("input", {
      testid: "overview-jump",
      className: "dsv-jump",
      attrs: { type: "number", min: "0", step: "1", placeholder: "layer", "aria-label": "jump to layer" },
    });
    const mean = element("button", {
      testid: "layer-mean",
      text: "average all heads",
      attrs: { type: "button", title: "show the mean of every head of the selected layer" },
    });
    const hint = element("div", {
      testid: "head-grid-hint",
      className: "dsv-overview-hint",
      text:
        "Click a head to show it; shift-click (or ctrl-click) more heads to average them" +
        (this.ablation ? "; alt-click turns a head off." : "."),
    });
    const controls = element(
      "div",
      { className: "dsv-overview-controls" },
      element("label", {}, document.createTextNode("colour by "), this.scoreSelect),
      element("label", {}, this.sortToggle, document.createTextNode(" sort heads")),
      element("label", {}, document.createTextNode("jump to "), this.jump),
      mean,
      hint,
    );
    this.canvas = element("canvas", { className: "dsv-overview-canvas" });
    this.marks = element("div", { className: "dsv-overview-marks" });
    this.hits = element("div", { className: "dsv-overview-hits" }, this.marks);
    this.view = element("div", { className: "dsv-overview-view" }, this.canvas, this.hits);
    this.sizer = element("div", { className: "dsv-overview-sizer" }, this.view);
    this.scroller = element("div", { testid: "head-overview-scroller", className: "dsv-overview-scroller" }, this.sizer);
    this.tooltip = element("div", { testid: "head-tooltip", className: "dsv-tooltip dsv-overview-tooltip" });
    this.tooltip.hidden = true;
    this.root = element(
      "div",
      {
        testid: "head-grid",
        className: "dsv-overview",
        attrs: {
          tabindex: "0",
          role: "grid",
          // JupyterLab's shortcuts (Enter, arrows, shift-Enter in command mode) leave these keys to us
          "data-lm-suppress-shortcuts": "true",
          "aria-label": "attention heads: click (shift or ctrl adds), alt-click turns a head off, arrows move, Enter selects (alt-Enter: off), PageUp/PageDown by rows",
        },
      },
      controls,
      this.scroller,
      this.tooltip,
    ) as Partial<HeadGridElement> as HeadGridElement;
    this.root.revealHead = (layer, head) => this.revealHead(layer, head);

    this.scroller.addEventListener("scroll", this.schedule, { passive: true });
    this.view.addEventListener("click", this.onClick);
    this.view.addEventListener("pointermove", this.onPointerMove);
    this.view.addEventListener("pointerleave", this.onPointerLeave);
    this.root.addEventListener("keydown", this.onKey);
    this.scoreSelect.addEventListener("change", this.onOrderChange);
    this.sortToggle.addEventListener("change", this.onOrderChange);
    this.jump.addEventListener("change", this.onJump);
    this.jump.addEventListener("keydown", this.onJumpKey);
    mean.addEventListener("click", () => this.select(meanOfLayer(this.selection.layer, this.layout.numHeads)));
    this.resize = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => this.relayout());
    this.resize?.observe(this.root);
    this.unwatchTheme = onThemeChange(this.schedule);
  }

  /** The overview for a model of `numLayers` × `numHeads` (no-op when unchanged). */
  setShape(numLayers: number, numHeads: number): void {
    if (numLayers === this.layout.numLayers && numHeads === this.layout.numHeads) return;
    this.layout = { ...this.layout, numLayers, numHeads };
    this.jump.max = String(numLayers - 1);
    this.focus = { layer: Math.min(this.focus.layer, numLayers - 1), head: Math.min(this.focus.head, numHeads - 1) };
    this.thumbnails = this.scores = null;
    this.thumbAtlas = this.scoreAtlas = null;
    this.reorder();
    this.relayout();
  }

  /** `[layer, head, bins, bins]` thumbnails (each scaled to its max) and `[layer, head, 4]` scores
   * (SCORE_NAMES); null: none. */
  setData(thumbnails: QuantisedArray | null, scores: Float32Array | null): void {
    this.thumbnails = thumbnails;
    this.scores = scores;
    this.thumbAtlas = this.buildThumbAtlas();
    this.scoreAtlas = this.buildScoreAtlas();
    this.reorder();
    this.draw();
    markDrawn(this.root);
  }

  /** Mark the selected heads. */
  setSelection(selection: Selection): void {
    this.selection = selection;
    this.placeHits();
    this.schedule();
  }

  /** Mark the heads that are off (keys "layer-head"), hatched. */
  setAblated(keys: ReadonlySet<string>): void {
    this.ablated = new Set(keys);
    this.placeHits();
  }

  /** Whether a click (with its alt key) turns a head off rather than selecting it. */
  private ablates(event: { altKey: boolean }): boolean {
    return this.ablation !== null && (event.altKey || this.ablation.ablating());
  }

  destroy(): void {
    this.unwatchTheme();
    cancelAnimationFrame(this.frame);
    this.resize?.disconnect();
    this.scroller.removeEventListener("scroll", this.schedule);
    this.view.removeEventListener("click", this.onClick);
    this.view.removeEventListener("pointermove", this.onPointerMove);
    this.view.removeEventListener("pointerleave", this.onPointerLeave);
    this.root.removeEventListener("keydown", this.onKey);
    this.jump.removeEventListener("change", this.onJump);
    this.jump.removeEventListener("keydown", this.onJumpKey);
  }

  // --- geometry ---------------------------------------------------------------------------------------

  private columnOf(layer: number, head: number): number {
    return this.order.columns[layer * this.layout.numHeads + head] ?? head;
  }

  private headAt(layer: number, column: number): number {
    return this.order.order[layer * this.layout.numHeads + column] ?? column;
  }

  /** Recompute the cell size from the width available, size the sizer and the scroller, and redraw. */
  private relayout(): void {
    const { numLayers, numHeads } = this.layout;
    const available = this.root.parentElement?.clientWidth || this.root.clientWidth || FALLBACK_WIDTH;
    this.layout = { numLayers, numHeads, cell: cellSize(available, numHeads) };
    const content = contentSize(this.layout);
    this.sizer.style.width = `${content.width}px`;
    this.sizer.style.height = `${content.height}px`;
    const scrollbar = content.height > MAX_HEIGHT ? 16 : 0;
    this.scroller.style.width = `${content.width + scrollbar}px`;
    this.draw();
  }

  private measure(): { width: number; height: number } {
    const content = contentSize(this.layout);
    const width = Math.min(content.width, this.scroller.clientWidth || Math.min(content.width, FALLBACK_WIDTH));
    const height = Math.min(content.height, this.scroller.clientHeight || Math.min(content.height, MAX_HEIGHT));
    return { width, height };
  }

  private revealHead(layer: number, head: number): { x: number; y: number } {
    this.revealCell({ layer, column: this.columnOf(layer, head) });
    this.draw();
    const rect = this.canvas.getBoundingClientRect();
    const origin = cellOrigin(this.layout, { layer, column: this.columnOf(layer, head) });
    const half = this.layout.cell / 2;
    return {
      x: rect.left + origin.x - this.scroller.scrollLeft + half,
      y: rect.top + origin.y - this.scroller.scrollTop + half,
    };
  }

  /** Scroll (as little as possible) so that `cell` is in view. */
  private revealCell(cell: Cell): void {
    const { width, height } = this.measure();
    const origin = cellOrigin(this.layout, cell);
    const size = this.layout.cell;
    this.scroller.scrollLeft = revealScroll(this.scroller.scrollLeft, width, LABEL_WIDTH, origin.x, size);
    this.scroller.scrollTop = revealScroll(this.scroller.scrollTop, height, HEADER_HEIGHT, origin.y, size);
  }

  // --- events -----------------------------------------------------------------------------------------

  private cellAtEvent(event: MouseEvent): Cell | null {
    const rect = this.canvas.getBoundingClientRect();
    return hitTest(this.layout, event.clientX - rect.left, event.clientY - rect.top, this.scroller.scrollLeft, this.scroller.scrollTop);
  }

  private onClick = (event: MouseEvent): void => {
    const cell = this.cellAtEvent(event);
    if (!cell) return;
    if (cell.column < 0) {
      this.select(meanOfLayer(cell.layer, this.layout.numHeads));
      return;
    }
    const head = this.headAt(cell.layer, cell.column);
    this.focus = { layer: cell.layer, head };
    this.root.focus({ preventScroll: true });
    if (this.ablates(event)) {
      this.placeHits();
      this.ablation?.ablate(cell.layer, head);
      return;
    }
    this.select(clickSelection(this.selection, cell.layer, head, event.shiftKey || event.ctrlKey || event.metaKey));
  };

  private onPointerMove = (event: PointerEvent): void => {
    const cell = this.cellAtEvent(event);
    const next = cell && cell.column >= 0 ? { layer: cell.layer, head: this.headAt(cell.layer, cell.column) } : null;
    if (next?.layer !== this.hovered?.layer || next?.head !== this.hovered?.head) {
      this.hovered = next;
      this.placeHits();
    }
    this.showTooltip(event);
  };

  private onPointerLeave = (): void => {
    this.hovered = null;
    this.tooltip.hidden = true;
    this.placeHits();
  };

  private onKey = (event: KeyboardEvent): void => {
    const target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target instanceof HTMLButtonElement) return;
    const { numLayers, numHeads } = this.layout;
    if (numLayers === 0) return;
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      if (this.ablates(event)) {
        this.ablation?.ablate(this.focus.layer, this.focus.head);
        return;
      }
      const add = event.shiftKey || event.ctrlKey || event.metaKey;
      this.select(clickSelection(this.selection, this.focus.layer, this.focus.head, add));
      return;
    }
    const pageRows = Math.max(1, Math.floor((this.measure().height - HEADER_HEIGHT) / this.layout.cell));
    const from = { layer: this.focus.layer, column: this.columnOf(this.focus.layer, this.focus.head) };
    const next = moveFocus(from, event.key, numLayers, numHeads, pageRows);
    if (!next) return;
    event.preventDefault();
    this.focus = { layer: next.layer, head: this.headAt(next.layer, next.column) };
    this.revealCell(next);
    this.placeHits();
    this.draw();
  };

  private onOrderChange = (): void => {
    this.scoreAtlas = this.buildScoreAtlas();
    this.reorder();
    this.placeHits();
    this.draw();
  };

  private onJumpKey = (event: KeyboardEvent): void => {
    if (event.key === "Enter") this.onJump(event);
  };

  private onJump = (event: Event): void => {
    // Enter jumps; the change event of the same value (fired again on blur) does not jump back
    if (event.type === "change" && this.jump.value === this.jumped) return;
    this.jumped = this.jump.value;
    const layer = Math.trunc(Number(this.jump.value));
    if (!Number.isFinite(layer) || this.layout.numLayers === 0) return;
    const clamped = Math.min(this.layout.numLayers - 1, Math.max(0, layer));
    this.focus = { layer: clamped, head: this.headAt(clamped, 0) };
    this.scroller.scrollTop = cellOrigin(this.layout, { layer: clamped, column: 0 }).y - HEADER_HEIGHT;
    this.scroller.scrollLeft = 0;
    this.placeHits();
    this.draw();
  };

  private showTooltip(event: MouseEvent): void {
    const hovered = this.hovered;
    if (!hovered) {
      this.tooltip.hidden = true;
      return;
    }
    const lines = [`layer ${hovered.layer} · head ${hovered.head}`];
    const scores = this.scores;
    if (scores) {
      const base = (hovered.layer * this.layout.numHeads + hovered.head) * SCORE_NAMES.length;
      lines.push(...SCORE_NAMES.map((name, i) => `${name}: ${formatWeight(scores[base + i])}`));
    }
    this.tooltip.textContent = lines.join("\n");
    const rootRect = this.root.getBoundingClientRect();
    this.tooltip.style.left = `${event.clientX - rootRect.left + 12}px`;
    this.tooltip.style.top = `${event.clientY - rootRect.top + 12}px`;
    this.tooltip.hidden = false;
  }

  // --- drawing ----------------------------------------------------------------------------------------

  private reorder(): void {
    const { numLayers, numHeads } = this.layout;
    this.order = headOrder(numLayers, numHeads, this.scores, Number(this.scoreSelect.value), this.sortToggle.checked);
  }

  /** One pixel per head, `[layer, head]`, coloured by the chosen score over its range across all heads. */
  private buildScoreAtlas(): HTMLCanvasElement | null {
    const { numLayers, numHeads } = this.layout;
    const scores = this.scores;
    if (!scores || numLayers * numHeads === 0) return null;
    const score = Number(this.scoreSelect.value);
    const [low, high] = scoreRange(scores, score);
    const span = high > low ? high - low : 1;
    const atlas = document.createElement("canvas");
    atlas.width = numHeads;
    atlas.height = numLayers;
    const context = atlas.getContext("2d");
    if (!context) return null;
    const image = context.createImageData(numHeads, numLayers);
    for (let i = 0; i < numLayers * numHeads; i++) {
      const v = scores[i * SCORE_NAMES.length + score];
      const q = Number.isNaN(v) ? 0 : Math.round(((v - low) / span) * 255);
      image.data.set(this.table.subarray(q * 4, q * 4 + 4), i * 4);
    }
    context.putImageData(image, 0, 0);
    return atlas;
  }

  /** The heatmaps' colour scale on the scroller's background (its low end that background): the
   * atlases are made again when the theme changed. */
  private readTheme(): void {
    if (!this.scroller.isConnected) return;
    const ground = groundOf(this.scroller);
    const key = ground.join(",");
    if (key === this.ground) return;
    this.ground = key;
    this.table = colourTable(heatStops(ground));
    this.thumbAtlas = this.buildThumbAtlas();
    this.scoreAtlas = this.buildScoreAtlas();
  }

  /** Every thumbnail in one image: head h of layer l at (h · bins, l · bins). */
  private buildThumbAtlas(): HTMLCanvasElement | null {
    const thumbnails = this.thumbnails;
    const { numLayers, numHeads } = this.layout;
    const [layers = 0, heads = 0, bins = 0] = thumbnails?.shape ?? [];
    if (!thumbnails || bins === 0 || layers !== numLayers || heads !== numHeads) return null;
    const atlas = document.createElement("canvas");
    atlas.width = numHeads * bins;
    atlas.height = numLayers * bins;
    const context = atlas.getContext("2d");
    if (!context) return null;
    const image = context.createImageData(atlas.width, atlas.height);
    const pixels = new Uint32Array(image.data.buffer);
    const colours = new Uint32Array(this.table.buffer.slice(0));
    const size = bins * bins;
    for (let index = 0; index < numLayers * numHeads; index++) {
      const [layer, head] = [Math.floor(index / numHeads), index % numHeads];
      for (let i = 0; i < size; i++) {
        const [row, col] = [Math.floor(i / bins), i % bins];
        pixels[(layer * bins + row) * atlas.width + head * bins + col] = colours[thumbnails.bytes[index * size + i]];
      }
    }
    context.putImageData(image, 0, 0);
    return atlas;
  }

  private schedule = (): void => {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  };

  /** Draw the rows and columns in view (labels, cells) and move the markers with the scroll. */
  private draw(): void {
    const { numLayers, numHeads, cell } = this.layout;
    const { width, height } = this.measure();
    const ratio = window.devicePixelRatio || 1;
    if (this.viewport.width !== width || this.viewport.height !== height) {
      this.viewport = { width, height };
      this.view.style.width = `${width}px`;
      this.view.style.height = `${height}px`;
      this.canvas.style.width = `${width}px`;
      this.canvas.style.height = `${height}px`;
      this.canvas.width = Math.max(1, Math.round(width * ratio));
      this.canvas.height = Math.max(1, Math.round(height * ratio));
      this.hits.style.width = `${Math.max(0, width - LABEL_WIDTH)}px`;
      this.hits.style.height = `${Math.max(0, height - HEADER_HEIGHT)}px`;
    }
    this.moveHits();
    const context = this.canvas.getContext("2d");
    if (!context || numLayers === 0) return;
    const [left, top] = [this.scroller.scrollLeft, this.scroller.scrollTop];
    this.readTheme();
    const style = getComputedStyle(this.root);
    const ink = style.color || "#222";
    const paper = getComputedStyle(this.scroller).backgroundColor || "#fff";
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.imageSmoothingEnabled = false;
    context.fillStyle = paper;
    context.fillRect(0, 0, width, height);

    const [r0, r1] = visibleRange(top, height, HEADER_HEIGHT, cell, numLayers);
    const [c0, c1] = visibleRange(left, width, LABEL_WIDTH, cell, numHeads);
    const bins = this.thumbnails?.shape[2] ?? 0;
    const thumbs = cell >= THUMBNAIL_MIN_CELL && this.thumbAtlas ? this.thumbAtlas : null;
    const atlas = thumbs ?? this.scoreAtlas;
    const gap = cell >= 20 ? 2 : 1;
    const numbers = this.sortToggle.checked && cell >= NUMBER_MIN_CELL;
    context.font = `${Math.min(11, Math.floor(cell / 2) + 2)}px system-ui, sans-serif`;
    context.textAlign = "center";
    context.textBaseline = "middle";
    for (let layer = r0; layer < r1; layer++) {
      const y = HEADER_HEIGHT + layer * cell - top;
      for (let column = c0; column < c1; column++) {
        const head = this.headAt(layer, column);
        const x = LABEL_WIDTH + column * cell - left;
        if (atlas === thumbs && thumbs) context.drawImage(thumbs, head * bins, layer * bins, bins, bins, x, y, cell - gap, cell - gap);
        else if (atlas) context.drawImage(atlas, head, layer, 1, 1, x, y, cell - gap, cell - gap);
        else {
          context.fillStyle = "rgba(128, 128, 128, 0.25)";
          context.fillRect(x, y, cell - gap, cell - gap);
        }
        if (numbers) {
          context.lineWidth = 2;
          context.strokeStyle = "rgba(0, 0, 0, 0.75)";
          context.strokeText(String(head), x + (cell - gap) / 2, y + (cell - gap) / 2);
          context.fillStyle = "#fff";
          context.fillText(String(head), x + (cell - gap) / 2, y + (cell - gap) / 2);
        }
      }
    }
    // the labels, over the cells that scrolled under them
    context.fillStyle = paper;
    context.fillRect(0, 0, width, HEADER_HEIGHT);
    context.fillRect(0, 0, LABEL_WIDTH, height);
    context.fillStyle = ink;
    context.font = "11px system-ui, sans-serif";
    const step = Math.max(1, Math.ceil(context.measureText(String(numHeads - 1)).width / cell + 0.3));
    for (let column = c0; column < c1; column++) {
      if (column % step) continue;
      // unsorted: the head number; sorted: the rank (each cell shows its head number)
      context.fillText(String(column), LABEL_WIDTH + column * cell - left + cell / 2, HEADER_HEIGHT / 2);
    }
    context.textAlign = "right";
    for (let layer = r0; layer < r1; layer++) {
      const on = layer === this.selection.layer;
      context.font = `${on ? "bold " : ""}11px system-ui, sans-serif`;
      context.fillText(`L${layer}`, LABEL_WIDTH - 4, HEADER_HEIGHT + layer * cell - top + cell / 2);
    }
    context.textAlign = "left";
    context.font = "10px system-ui, sans-serif";
    context.fillText(this.sortToggle.checked ? "rank" : "head", 2, HEADER_HEIGHT / 2);
  }

  /** Shift the markers' layer by the scroll (they live in content coordinates). */
  private moveHits(): void {
    this.marks.style.transform = `translate(${-this.scroller.scrollLeft}px, ${-this.scroller.scrollTop}px)`;
  }

  /** One `head-L-H` element per selected head and one for the focused (or hovered) cell. */
  private placeHits(): void {
    const { numLayers, numHeads, cell } = this.layout;
    const marks = new Map<string, { layer: number; head: number; classes: string[] }>();
    const add = (layer: number, head: number, name: string) => {
      if (layer < 0 || layer >= numLayers || head < 0 || head >= numHeads) return;
      const key = `${layer}-${head}`;
      const mark = marks.get(key) ?? { layer, head, classes: [] };
      mark.classes.push(name);
      marks.set(key, mark);
    };
    for (const head of this.selection.heads) add(this.selection.layer, head, "dsv-on");
    add(this.focus.layer, this.focus.head, "dsv-focus");
    if (this.hovered) add(this.hovered.layer, this.hovered.head, "dsv-hover");
    for (const key of this.ablated) {
      const [layer, head] = key.split("-").map(Number);
      add(layer, head, "dsv-ablated");
    }
    // the same element stays for the same head (a click's mousedown and mouseup must meet one element)
    for (const [key, node] of this.markNodes) {
      if (!marks.has(key)) {
        node.remove();
        this.markNodes.delete(key);
      }
    }
    for (const [key, mark] of marks) {
      const column = this.columnOf(mark.layer, mark.head);
      const on = mark.classes.includes("dsv-on");
      let node = this.markNodes.get(key);
      if (!node) {
        node = element("div", { testid: `head-${key}`, attrs: { role: "gridcell" } });
        this.markNodes.set(key, node);
        this.marks.append(node);
      }
      const off = mark.classes.includes("dsv-ablated");
      node.setAttribute("aria-label", `layer ${mark.layer}, head ${mark.head}${off ? " (turned off)" : ""}`);
      node.className = `dsv-mark ${mark.classes.join(" ")}`;
      node.setAttribute("aria-selected", String(on));
      node.style.left = `${column * cell}px`;
      node.style.top = `${mark.layer * cell}px`;
      node.style.width = node.style.height = `${cell}px`;
    }
    this.moveHits();
  }
}
