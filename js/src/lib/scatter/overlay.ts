// What is drawn over or under the points on 2D canvases: token paths (lines through the layers), rings
// for the hovered and clicked points, the box or lasso being dragged.

import { axisDirections, toScreen, type Camera, type Orbit } from "./camera";

export interface Frame {
  camera: Camera;
  width: number;
  height: number;
}

/** Reset `context` to CSS-pixel units on a cleared canvas of `frame`'s size at `ratio`. */
export function clear(context: CanvasRenderingContext2D, frame: Frame, ratio: number): void {
  const canvas = context.canvas;
  const [w, h] = [Math.max(1, Math.round(frame.width * ratio)), Math.max(1, Math.round(frame.height * ratio))];
  if (canvas.width !== w || canvas.height !== h) [canvas.width, canvas.height] = [w, h];
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, frame.width, frame.height);
}

/** Token mode: point `layer * tokens + token` is `token` at `layer`; one polyline per token. */
export function drawPaths(context: CanvasRenderingContext2D, xy: Float32Array, layers: number, tokens: number, frame: Frame): void {
  context.strokeStyle = "rgba(110, 110, 110, 0.45)";
  context.lineWidth = 1;
  context.beginPath();
  for (let token = 0; token < tokens; token++) {
    for (let layer = 0; layer < layers; layer++) {
      const i = layer * tokens + token;
      const [x, y] = toScreen(frame.camera, xy[2 * i], xy[2 * i + 1], frame.width, frame.height);
      if (layer === 0) context.moveTo(x, y);
      else context.lineTo(x, y);
    }
  }
  context.stroke();
}

/** A ring of `radius` pixels around plane point (x, y). */
export function drawRing(context: CanvasRenderingContext2D, x: number, y: number, radius: number, colour: string, frame: Frame): void {
  const [px, py] = toScreen(frame.camera, x, y, frame.width, frame.height);
  context.strokeStyle = colour;
  context.lineWidth = 2;
  context.beginPath();
  context.arc(px, py, radius, 0, 2 * Math.PI);
  context.stroke();
}

/** The selection being dragged: a polygon of interleaved screen pixels (a box has four corners). */
export function drawSelection(context: CanvasRenderingContext2D, outline: readonly number[]): void {
  if (outline.length < 4) return;
  context.strokeStyle = "#1e88e5";
  context.fillStyle = "rgba(30, 136, 229, 0.08)";
  context.lineWidth = 1;
  context.setLineDash([4, 3]);
  context.beginPath();
  context.moveTo(outline[0], outline[1]);
  for (let i = 2; i + 1 < outline.length; i += 2) context.lineTo(outline[i], outline[i + 1]);
  context.closePath();
  context.fill();
  context.stroke();
  context.setLineDash([]);
}

/** 3-D: a small x / y / z axes gizmo in the bottom-left corner, turned with the points. */
export function drawAxes(context: CanvasRenderingContext2D, orbit: Orbit, frame: Frame): void {
  const [ox, oy, length] = [28, frame.height - 28, 18];
  const colours = ["#d32f2f", "#388e3c", "#1976d2"];
  context.lineWidth = 2;
  context.font = "10px system-ui, sans-serif";
  context.textAlign = "center";
  context.textBaseline = "middle";
  axisDirections(orbit).forEach(([dx, dy], axis) => {
    context.strokeStyle = context.fillStyle = colours[axis];
    context.beginPath();
    context.moveTo(ox, oy);
    context.lineTo(ox + dx * length, oy - dy * length);
    context.stroke();
    context.fillText("xyz"[axis], ox + dx * (length + 7), oy - dy * (length + 7));
  });
}
