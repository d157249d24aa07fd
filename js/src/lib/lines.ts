// bertviz-style line view for short texts: queries on the left, keys on the right, one line per
// (query, key) whose opacity is the weight. Token text is drawn with fillText (never HTML).

import { cssColour } from "./colour";
import { element } from "./dom";

/** Longest text (in tokens) the line view draws. */
export const LINE_VIEW_LIMIT = 48;
const ROW = 18;
const WIDTH = 420;

export class LineView {
  readonly canvas: HTMLCanvasElement;

  constructor() {
    this.canvas = element("canvas", { testid: "line-view", className: "dsv-lines" });
  }

  /** Draw `labels` and `matrix` (row-major `n × n`; `scale` and above are opaque); `active` row emphasised. */
  draw(labels: readonly string[], matrix: Float32Array, scale: number, active: number): void {
    const n = labels.length;
    const ratio = window.devicePixelRatio || 1;
    this.canvas.style.width = `${WIDTH}px`;
    this.canvas.style.height = `${ROW * n + 8}px`;
    this.canvas.width = WIDTH * ratio;
    this.canvas.height = (ROW * n + 8) * ratio;
    const context = this.canvas.getContext("2d");
    if (!context || n === 0) return;
    context.scale(ratio, ratio);
    context.font = "12px sans-serif";
    context.textBaseline = "middle";
    const left = 130;
    const right = WIDTH - 130;
    const y = (i: number): number => 4 + ROW * i + ROW / 2;
    for (let q = 0; q < n; q++) {
      if (active >= 0 && q !== active) continue;
      for (let k = 0; k < n; k++) {
        const w = scale > 0 ? Math.min(1, matrix[q * n + k] / scale) : 0;
        if (w < 0.02) continue;
        context.strokeStyle = cssColour(w, active >= 0 ? Math.min(1, 0.2 + w) : w * 0.6);
        context.lineWidth = active >= 0 ? 1 + 3 * w : 1;
        context.beginPath();
        context.moveTo(left + 4, y(q));
        context.lineTo(right - 4, y(k));
        context.stroke();
      }
    }
    labels.forEach((label, i) => {
      context.fillStyle = i === active ? "#d62728" : "#444";
      context.textAlign = "right";
      context.fillText(label.slice(0, 16), left, y(i));
      context.textAlign = "left";
      context.fillText(label.slice(0, 16), right, y(i));
    });
  }
}
