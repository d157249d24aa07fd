// The scatter's camera: which part of the plane is on screen (pan, zoom), and for 3-D points an orbit
// (yaw, pitch) that turns them into plane coordinates. Pure functions, no DOM.
// Screen coordinates are CSS pixels from the canvas's top-left corner, y down; the plane's y is up.

/** `scale` CSS pixels per plane unit; (`cx`, `cy`) is the plane point at the canvas centre. */
export interface Camera {
  cx: number;
  cy: number;
  scale: number;
}

export interface Extent {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** Rotation of 3-D points: yaw about the vertical axis, then pitch about the horizontal one (radians). */
export interface Orbit {
  yaw: number;
  pitch: number;
}

/** Zoom limits relative to the camera that fits all points. */
export const MIN_ZOOM = 0.25;
export const MAX_ZOOM = 1e4;

/** The bounding box of interleaved x, y pairs (a unit box around the origin when empty). */
export function extentOf(xy: Float32Array): Extent {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let i = 0; i + 1 < xy.length; i += 2) {
    const x = xy[i];
    const y = xy[i + 1];
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return x0 <= x1 ? { x0, x1, y0, y1 } : { x0: -1, x1: 1, y0: -1, y1: 1 };
}

/** The camera showing all of `extent` in a width × height canvas (its real aspect ratio), with `margin`
 * (a fraction of each side) and `pad` CSS pixels (e.g. a point's radius) around it. */
export function fitCamera(extent: Extent, width: number, height: number, margin = 0.06, pad = 0): Camera {
  const spanX = Math.max(extent.x1 - extent.x0, 1e-9);
  const spanY = Math.max(extent.y1 - extent.y0, 1e-9);
  const usable = 1 - 2 * margin;
  const usableX = Math.max(1, width * usable - 2 * pad);
  const usableY = Math.max(1, height * usable - 2 * pad);
  const scale = Math.min(usableX / spanX, usableY / spanY);
  return { cx: (extent.x0 + extent.x1) / 2, cy: (extent.y0 + extent.y1) / 2, scale };
}

/** Plane point → screen pixel. */
export function toScreen(camera: Camera, x: number, y: number, width: number, height: number): [number, number] {
  return [width / 2 + (x - camera.cx) * camera.scale, height / 2 - (y - camera.cy) * camera.scale];
}

/** Screen pixel → plane point. */
export function toPlane(camera: Camera, px: number, py: number, width: number, height: number): [number, number] {
  return [camera.cx + (px - width / 2) / camera.scale, camera.cy - (py - height / 2) / camera.scale];
}

/** Move the view with a drag of (dx, dy) screen pixels: the content follows the pointer. */
export function panCamera(camera: Camera, dx: number, dy: number): Camera {
  return { cx: camera.cx - dx / camera.scale, cy: camera.cy + dy / camera.scale, scale: camera.scale };
}

/** Zoom by `factor` (> 1 zooms in) keeping the plane point under pixel (px, py) fixed; the scale stays
 * within [MIN_ZOOM, MAX_ZOOM] × `fitScale` (the scale that shows all points). */
export function zoomCamera(
  camera: Camera,
  factor: number,
  px: number,
  py: number,
  width: number,
  height: number,
  fitScale: number,
): Camera {
  const scale = Math.min(fitScale * MAX_ZOOM, Math.max(fitScale * MIN_ZOOM, camera.scale * factor));
  const [x, y] = toPlane(camera, px, py, width, height);
  return { cx: x - (px - width / 2) / scale, cy: y + (py - height / 2) / scale, scale };
}

/** WebGL clip coordinates are `(x - cx) * sx`, `(y - cy) * sy`: returns [cx, cy, sx, sy]. */
export function clipTransform(camera: Camera, width: number, height: number): [number, number, number, number] {
  return [camera.cx, camera.cy, (2 * camera.scale) / width, (2 * camera.scale) / height];
}

/** Row-major 3 × 3 rotation: pitch (about x) applied after yaw (about y). */
export function rotation(orbit: Orbit): number[] {
  const [cy, sy] = [Math.cos(orbit.yaw), Math.sin(orbit.yaw)];
  const [cp, sp] = [Math.cos(orbit.pitch), Math.sin(orbit.pitch)];
  return [cy, 0, sy, sp * sy, cp, -sp * cy, -cp * sy, sp, cp * cy];
}

/** Turn the orbit by a drag of (dx, dy) pixels; the pitch stays within ±90°. */
export function orbitBy(orbit: Orbit, dx: number, dy: number, radiansPerPixel = 0.01): Orbit {
  const limit = Math.PI / 2;
  return {
    yaw: orbit.yaw + dx * radiansPerPixel,
    pitch: Math.min(limit, Math.max(-limit, orbit.pitch + dy * radiansPerPixel)),
  };
}

/** The centre of the bounding box of `[n, 3]` points (rotations turn about it). */
export function centre3(coords: Float32Array): [number, number, number] {
  const low = [Infinity, Infinity, Infinity];
  const high = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i + 2 < coords.length; i += 3) {
    for (let axis = 0; axis < 3; axis++) {
      const value = coords[i + axis];
      if (value < low[axis]) low[axis] = value;
      if (value > high[axis]) high[axis] = value;
    }
  }
  if (!(low[0] <= high[0])) return [0, 0, 0];
  return [0, 1, 2].map((axis) => (low[axis] + high[axis]) / 2) as [number, number, number];
}

/** Plane coordinates (interleaved x, y) of `[n, 3]` points rotated by `orbit` about `origin`
 * (orthographic: the rotated z is dropped). Writes into `out` when it has the right length. */
export function orbitToPlane(
  coords: Float32Array,
  orbit: Orbit,
  origin: readonly number[],
  out?: Float32Array,
): Float32Array {
  const n = Math.floor(coords.length / 3);
  const result = out && out.length === 2 * n ? out : new Float32Array(2 * n);
  const [a, b, c, d, e, f] = rotation(orbit);
  const [ox, oy, oz] = origin;
  for (let i = 0; i < n; i++) {
    const x = coords[3 * i] - ox;
    const y = coords[3 * i + 1] - oy;
    const z = coords[3 * i + 2] - oz;
    result[2 * i] = a * x + b * y + c * z;
    result[2 * i + 1] = d * x + e * y + f * z;
  }
  return result;
}

/** Where the 3-D axes x, y, z point on the plane after `orbit`: a unit step along each axis moves a
 * point by [dx, dy] plane units (the first two rows of the rotation, column by column). */
export function axisDirections(orbit: Orbit): [[number, number], [number, number], [number, number]] {
  const [a, b, c, d, e, f] = rotation(orbit);
  return [
    [a, d],
    [b, e],
    [c, f],
  ];
}

/** Whether every point of interleaved `xy` is on a width × height canvas under `camera`, at least `pad`
 * pixels inside its edges. */
export function allOnScreen(camera: Camera, xy: Float32Array, width: number, height: number, pad = 0): boolean {
  for (let i = 0; i + 1 < xy.length; i += 2) {
    const [px, py] = toScreen(camera, xy[i], xy[i + 1], width, height);
    if (!(px >= pad && px <= width - pad && py >= pad && py <= height - pad)) return false;
  }
  return true;
}
