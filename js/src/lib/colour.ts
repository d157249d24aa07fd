// Sequential colour scale (viridis control points) for attention weights in [0, scale].

export type Rgb = [number, number, number];

const STOPS: Rgb[] = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 74, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [109, 205, 89],
  [180, 222, 44],
  [253, 231, 37],
];

/** Colour of `t` in [0, 1] (clamped; NaN counts as 0), linearly between the control points. */
export function colourAt(t: number): Rgb {
  return interpolate(STOPS, Number.isNaN(t) ? 0 : Math.min(1, Math.max(0, t)));
}

/** The colour at `u` in [0, 1] along evenly spaced control points `stops`, linearly between them. */
export function interpolate(stops: readonly Rgb[], u: number): Rgb {
  const position = u * (stops.length - 1);
  const index = Math.min(stops.length - 2, Math.floor(position));
  const mix = position - index;
  const [a, b] = [stops[index], stops[index + 1]];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * mix)) as Rgb;
}

/** RGBA lookup table: entry `q` (0–255) is the colour of byte q, i.e. of weight `q / 255 * scale`. */
export function colourTable(): Uint8ClampedArray {
  const table = new Uint8ClampedArray(256 * 4);
  for (let q = 0; q < 256; q++) {
    const [r, g, b] = colourAt(q / 255);
    table.set([r, g, b, 255], q * 4);
  }
  return table;
}

/** CSS colour string of `t` in [0, 1]. */
export function cssColour(t: number, alpha = 1): string {
  const [r, g, b] = colourAt(t);
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** A weight as shown in tooltips and the legend: 3 significant digits, no exponent for ordinary values. */
export function formatWeight(value: number): string {
  if (value === 0) return "0";
  if (Math.abs(value) < 1e-3) return value.toExponential(1);
  return value.toPrecision(3).replace(/\.?0+$/, "");
}

/** `count` evenly spaced legend ticks from 0 to `scale` (count ≥ 2). */
export function legendTicks(scale: number, count = 3): number[] {
  return Array.from({ length: count }, (_, i) => (scale * i) / (count - 1));
}
