// bertviz-style line view for short texts: queries on the left, keys on the right, one line per
// (query, key) whose opacity is the weight. Token text is drawn with fillText (never HTML), in the
// theme's text colour; each column is as wide as its longest label (up to MAX_LABEL px, then cut with
// "…"), so labels are never clipped by the canvas.

import { fitLabel } from "./attention/axis";
import { element } from "./dom";

/** Longest text (in tokens) the line view draws. */
export const LINE_VIEW_LIMIT = 48;
const ROW = 18;
/** Width of the band the lines cross (CSS px). */
const BAND = 160;
/** Widest label column (CSS px); longer labels end in "…". */
export const MAX_LABEL = 190;
const PAD = 6;
const FONT = "12px system-ui, sans-serif";

/** The label column width and the labels as drawn, for `measure` (a canvas's measureText). */
export function lineLabels(labels: readonly string[], measure: (text: string) => number): { width: number; shown: string[] } {
  const shown = labels.map((label) => fitLabel(label, MAX_LABEL, measure));
  const width = Math.ceil(Math.max(20, ...shown.map((label) => measure(label))));
  return { width, shown };
}

export class LineView {
  readonly canvas: HTMLCanvasElement;

  constructor() {
    this.canvas = element("canvas", {
      testid: "line-view",
      className: "dsv-lines",
      attrs: { role: "img", "aria-label": "lines from each query (left) to the keys (right) it attends to; opacity is the weight" },
    });
  }

  /** Draw `labels` and `matrix` (row-major `n × n`; `scale` and above are opaque); `active` row emphasised. */
  draw(labels: readonly string[], matrix: Float32Array, scale: number, active: number): void {
    const n = labels.length;
    const ratio = window.devicePixelRatio || 1;
    const context = this.canvas.getContext("2d");
    if (!context || n === 0) return;
    context.font = `bold ${FONT}`; // measured bold: the active label is drawn bold
    const { width: column, shown } = lineLabels(labels, (text) => context.measureText(text).width);
    const width = 2 * (column + PAD) + BAND;
    const height = ROW * n + 8;
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    const style = getComputedStyle(this.canvas);
    const ink = style.color || "#222";
    const accent = style.getPropertyValue("--jp-brand-color1").trim() || "#1976d2";
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.font = FONT; // resizing the canvas reset it
    context.textBaseline = "middle";
    const left = column + PAD;
    const right = left + BAND;
    const y = (i: number): number => 4 + ROW * i + ROW / 2;
    context.strokeStyle = accent;
    for (let q = 0; q < n; q++) {
      if (active >= 0 && q !== active) continue;
      for (let k = 0; k < n; k++) {
        const w = scale > 0 ? Math.min(1, matrix[q * n + k] / scale) : 0;
        if (w < 0.02) continue;
        context.globalAlpha = active >= 0 ? Math.min(1, 0.2 + w) : w * 0.6;
        context.lineWidth = active >= 0 ? 1 + 3 * w : 1;
        context.beginPath();
        context.moveTo(left + 2, y(q));
        context.lineTo(right - 2, y(k));
        context.stroke();
      }
    }
    context.globalAlpha = 1;
    context.fillStyle = ink;
    shown.forEach((label, i) => {
      context.font = i === active ? `bold ${FONT}` : FONT;
      context.textAlign = "right";
      context.fillText(label, left - 2, y(i));
      context.textAlign = "left";
      context.fillText(label, right + 2, y(i));
    });
  }
}
