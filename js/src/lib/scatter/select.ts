// Box and lasso selection in plane coordinates. Pure functions; indices come back in ascending order.

import type { Extent } from "./camera";

/** The box spanned by two corners, in any order. */
export function boxFrom(ax: number, ay: number, bx: number, by: number): Extent {
  return { x0: Math.min(ax, bx), x1: Math.max(ax, bx), y0: Math.min(ay, by), y1: Math.max(ay, by) };
}

/** Indices of the points of interleaved `xy` inside `box` (edges included). */
export function selectInBox(xy: Float32Array, box: Extent): number[] {
  const chosen: number[] = [];
  for (let i = 0; 2 * i + 1 < xy.length; i++) {
    const x = xy[2 * i];
    const y = xy[2 * i + 1];
    if (x >= box.x0 && x <= box.x1 && y >= box.y0 && y <= box.y1) chosen.push(i);
  }
  return chosen;
}

/** Whether (x, y) is inside the closed polygon of interleaved vertices (even-odd rule). */
export function insidePolygon(x: number, y: number, polygon: readonly number[]): boolean {
  let inside = false;
  const count = Math.floor(polygon.length / 2);
  for (let i = 0, j = count - 1; i < count; j = i++) {
    const [xi, yi, xj, yj] = [polygon[2 * i], polygon[2 * i + 1], polygon[2 * j], polygon[2 * j + 1]];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Bounding box of interleaved vertices. */
function polygonBox(polygon: readonly number[]): Extent {
  const box = { x0: Infinity, x1: -Infinity, y0: Infinity, y1: -Infinity };
  for (let i = 0; i + 1 < polygon.length; i += 2) {
    box.x0 = Math.min(box.x0, polygon[i]);
    box.x1 = Math.max(box.x1, polygon[i]);
    box.y0 = Math.min(box.y0, polygon[i + 1]);
    box.y1 = Math.max(box.y1, polygon[i + 1]);
  }
  return box;
}

/** Indices of the points inside the lasso `polygon` (interleaved vertices; fewer than 3 select nothing). */
export function selectInPolygon(xy: Float32Array, polygon: readonly number[]): number[] {
  if (polygon.length < 6) return [];
  return selectInBox(xy, polygonBox(polygon)).filter((i) => insidePolygon(xy[2 * i], xy[2 * i + 1], polygon));
}

/** One byte per point: 1 where selected (indices out of range are ignored); null when nothing is. */
export function selectionMask(n: number, indices: readonly number[]): Uint8Array | null {
  if (indices.length === 0) return null;
  const mask = new Uint8Array(n);
  for (const i of indices) if (i >= 0 && i < n) mask[i] = 1;
  return mask;
}
