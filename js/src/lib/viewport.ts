// The visible part of an n × n heatmap, in token coordinates (x: key, y: query), and the maths of
// zooming, panning and hit-testing it. Pure functions, no DOM.

export interface Viewport {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** A whole cell: query row `q`, key column `k`. */
export interface Cell {
  q: number;
  k: number;
}

/** Fewest tokens a viewport may span per side. */
export const MIN_SPAN = 4;

export function fullView(n: number): Viewport {
  return { x0: 0, x1: n, y0: 0, y1: n };
}

function clampAxis(start: number, end: number, n: number): [number, number] {
  const span = Math.min(n, Math.max(Math.min(MIN_SPAN, n), end - start));
  const lo = Math.min(Math.max(0, start), n - span);
  return [lo, lo + span];
}

/** Keep a viewport inside [0, n] on both axes and at least MIN_SPAN wide (or n, when smaller). */
export function clampView(view: Viewport, n: number): Viewport {
  const [x0, x1] = clampAxis(view.x0, view.x1, n);
  const [y0, y1] = clampAxis(view.y0, view.y1, n);
  return { x0, x1, y0, y1 };
}

/** Zoom by `factor` (> 1 zooms in) keeping the point at fractions (fx, fy) of the canvas fixed. The factor
 * is first limited so that the span stays within [MIN_SPAN, n]: zooming in at the limit does not move
 * the point under the pointer (only zooming out near an edge shifts the view, to stay inside the data). */
export function zoomAt(view: Viewport, n: number, factor: number, fx: number, fy: number): Viewport {
  const span = Math.max(view.x1 - view.x0, view.y1 - view.y0);
  const limited = Math.min(Math.max(factor, span / Math.max(n, 1e-9)), span / Math.min(MIN_SPAN, n));
  const px = view.x0 + fx * (view.x1 - view.x0);
  const py = view.y0 + fy * (view.y1 - view.y0);
  const width = (view.x1 - view.x0) / limited;
  const height = (view.y1 - view.y0) / limited;
  return clampView({ x0: px - fx * width, x1: px + (1 - fx) * width, y0: py - fy * height, y1: py + (1 - fy) * height }, n);
}

/** Zoom per wheel notch (one notch of a mouse wheel is ~100 px of deltaY in pixel mode). */
export const WHEEL_STEP = 1.15;
const LINE_PX = 33;

/** Zoom factor of one wheel event: one notch zooms by WHEEL_STEP (in, for a negative deltaY), a
 * trackpad's small deltas proportionally less; a burst of large deltas (fast wheels, page mode) is
 * capped at one notch per event. */
export function wheelFactor(deltaY: number, deltaMode = 0, pagePx = 420): number {
  const px = deltaY * (deltaMode === 1 ? LINE_PX : deltaMode === 2 ? pagePx : 1);
  if (!Number.isFinite(px)) return 1;
  return WHEEL_STEP ** (-Math.max(-100, Math.min(100, px)) / 100);
}

/** How many times the view is magnified against the whole matrix (1: everything shown). */
export function zoomLevel(view: Viewport, n: number): number {
  const span = Math.max(view.x1 - view.x0, view.y1 - view.y0);
  return span > 0 ? n / span : 1;
}

/** The zoom level as the view shows it: "×1", "×1.5", "×12", "×1024". */
export function formatZoom(level: number): string {
  if (!Number.isFinite(level) || level <= 0) return "×1";
  return `×${level < 10 ? String(Math.round(level * 10) / 10) : String(Math.round(level))}`;
}

/** The token-space point (x: key, y: query, fractional) at canvas pixel (px, py). */
export function pointAt(view: Viewport, px: number, py: number, width: number, height: number): { x: number; y: number } {
  return { x: view.x0 + (px / width) * (view.x1 - view.x0), y: view.y0 + (py / height) * (view.y1 - view.y0) };
}

/** Move by fractions of the visible size (positive dx shows keys further right). */
export function panBy(view: Viewport, n: number, dx: number, dy: number): Viewport {
  const sx = dx * (view.x1 - view.x0);
  const sy = dy * (view.y1 - view.y0);
  return clampView({ x0: view.x0 + sx, x1: view.x1 + sx, y0: view.y0 + sy, y1: view.y1 + sy }, n);
}

/** The cell under canvas pixel (px, py) of a width × height canvas, or null outside the data. */
export function cellAt(view: Viewport, n: number, px: number, py: number, width: number, height: number): Cell | null {
  if (width <= 0 || height <= 0 || px < 0 || py < 0 || px >= width || py >= height) return null;
  const k = Math.floor(view.x0 + (px / width) * (view.x1 - view.x0));
  const q = Math.floor(view.y0 + (py / height) * (view.y1 - view.y0));
  return q >= 0 && q < n && k >= 0 && k < n ? { q, k } : null;
}

/** Whole cells touched by the viewport: rows q0..q1 and keys k0..k1 (end exclusive). */
export function visibleCells(view: Viewport): { q0: number; q1: number; k0: number; k1: number } {
  return {
    q0: Math.floor(view.y0),
    q1: Math.ceil(view.y1),
    k0: Math.floor(view.x0),
    k1: Math.ceil(view.x1),
  };
}

/** Canvas rectangle [x, y, w, h] of the token-space rectangle (k0, q0)–(k1, q1). */
export function toCanvas(
  view: Viewport,
  rect: { q0: number; q1: number; k0: number; k1: number },
  width: number,
  height: number,
): [number, number, number, number] {
  const sx = width / (view.x1 - view.x0);
  const sy = height / (view.y1 - view.y0);
  return [(rect.k0 - view.x0) * sx, (rect.q0 - view.y0) * sy, (rect.k1 - rect.k0) * sx, (rect.q1 - rect.q0) * sy];
}
