// Diverging colour scale for attribution scores: blue (pushes the target down) – white (0) – red
// (pushes it up), symmetric around 0. Each row is scaled by its own largest |score|.

import { inkOn, interpolate, type Rgb } from "../colour";
import { formatWeight } from "../format";

/** ColorBrewer RdBu control points from −1 (blue) through 0 (near-white) to +1 (red). */
const STOPS: Rgb[] = [
  [33, 102, 172],
  [103, 169, 207],
  [209, 229, 240],
  [247, 247, 247],
  [253, 219, 199],
  [239, 138, 98],
  [178, 24, 43],
];

/** Colour of `t` in [−1, 1] (clamped; NaN counts as 0), linearly between the control points. */
export function divergingColour(t: number): Rgb {
  const clamped = Number.isNaN(t) ? 0 : Math.min(1, Math.max(-1, t));
  return interpolate(STOPS, (clamped + 1) / 2);
}

/** CSS colour of `t` in [−1, 1]. */
export function cssDiverging(t: number): string {
  const [r, g, b] = divergingColour(t);
  return `rgb(${r}, ${g}, ${b})`;
}

/** Text colour readable on the light scale's colour of `t`: black or white, whichever contrasts more. */
export function inkFor(t: number): string {
  return inkOn(divergingColour(t));
}

/** Largest |value| of `values` (0 when empty or all zero; NaN ignored). */
export function peakAbs(values: ArrayLike<number>): number {
  let peak = 0;
  for (let i = 0; i < values.length; i++) {
    const magnitude = Math.abs(values[i]);
    if (magnitude > peak) peak = magnitude;
  }
  return peak;
}

/** `value / peak` in [−1, 1]; 0 when the peak is 0. */
export function normalise(value: number, peak: number): number {
  return peak > 0 ? Math.max(-1, Math.min(1, value / peak)) : 0;
}

/** A score as shown in tooltips and row headers: signed, 3 significant digits. */
export function formatScore(value: number): string {
  if (Number.isNaN(value)) return "n/a";
  const text = formatWeight(Math.abs(value));
  return value > 0 ? `+${text}` : value < 0 ? `−${text}` : "0";
}

/** A CSS linear-gradient through the scale from −1 (left) to +1 (right), for the legend bar. */
export function legendGradient(steps = 9, colour: (t: number) => string = cssDiverging): string {
  const stops = Array.from({ length: steps }, (_, i) => colour(-1 + (2 * i) / (steps - 1)));
  return `linear-gradient(to right, ${stops.join(", ")})`;
}
