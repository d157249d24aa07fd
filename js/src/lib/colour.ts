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
export function colourTable(stops: readonly Rgb[] = STOPS): Uint8ClampedArray {
  const table = new Uint8ClampedArray(256 * 4);
  for (let q = 0; q < 256; q++) {
    const [r, g, b] = interpolate(stops, q / 255);
    table.set([r, g, b, 255], q * 4);
  }
  return table;
}

/** The control points of a heatmap's scale on a background of `ground`: the low end is the ground
 * itself (a zero weight is no mark), the high end the colour that stands out most from it — viridis from
 * purple to yellow on a dark ground, reversed (yellow-green to purple) on a light one. */
export function heatStops(ground: Rgb): Rgb[] {
  const ramp = isDarkGround(ground) ? STOPS.slice(1) : [...STOPS].reverse().slice(1);
  return [ground, ...ramp];
}

/** CSS colour of `t` in [0, 1] (clamped; NaN counts as 0) along `stops`. */
export function cssAt(stops: readonly Rgb[], t: number): string {
  const [r, g, b] = interpolate(stops, Number.isNaN(t) ? 0 : Math.min(1, Math.max(0, t)));
  return `rgb(${r}, ${g}, ${b})`;
}

/** The heat scale on a CSS background colour `ground` (opaque; white when it cannot be read). */
export function heatStopsOn(ground: string): Rgb[] {
  const [r, g, b] = parseColour(ground) ?? [255, 255, 255];
  return heatStops([r, g, b]);
}

/** A CSS linear-gradient through `stops`, left to right, for a legend bar. */
export function stopsGradient(stops: readonly Rgb[], steps = 6): string {
  const colours = Array.from({ length: steps }, (_, i) => {
    const [r, g, b] = interpolate(stops, i / (steps - 1));
    return `rgb(${r}, ${g}, ${b})`;
  });
  return `linear-gradient(to right, ${colours.join(", ")})`;
}

/** CSS colour string of `t` in [0, 1]. */
export function cssColour(t: number, alpha = 1): string {
  const [r, g, b] = colourAt(t);
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}


/** `count` evenly spaced legend ticks from 0 to `scale` (count ≥ 2). */
export function legendTicks(scale: number, count = 3): number[] {
  return Array.from({ length: count }, (_, i) => (scale * i) / (count - 1));
}

// --- contrast: text colours chosen for the background they sit on (WCAG 2 relative luminance) ---------

/** WCAG 2 relative luminance of an sRGB colour (channels 0–255). */
export function relativeLuminance([r, g, b]: Rgb): number {
  const [R, G, B] = [r, g, b].map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * R + 0.7152 * G + 0.0722 * B;
}

/** WCAG contrast ratio of two opaque colours (1–21). */
export function contrastRatio(a: Rgb, b: Rgb): number {
  const [light, dark] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}

/** `rgb(…)`, `rgba(…)`, `#rgb` or `#rrggbb` as [r, g, b, alpha]; null for anything else. */
export function parseColour(css: string): [number, number, number, number] | null {
  const text = css.trim();
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(text);
  if (hex) {
    const digits = hex[1].length === 3 ? [...hex[1]].map((d) => d + d) : hex[1].match(/../g) ?? [];
    const [r, g, b] = digits.map((d) => parseInt(d, 16));
    return [r, g, b, 1];
  }
  const fn = /^rgba?\(([^)]*)\)$/i.exec(text);
  if (!fn) return null;
  const parts = fn[1].split(/[\s,/]+/).filter(Boolean).map(Number);
  if (parts.length < 3 || parts.slice(0, 3).some(Number.isNaN)) return null;
  return [parts[0], parts[1], parts[2], parts.length > 3 && !Number.isNaN(parts[3]) ? parts[3] : 1];
}

/** `top` (alpha `alpha`) composited over the opaque `below`. */
export function over(top: Rgb, alpha: number, below: Rgb): Rgb {
  return [0, 1, 2].map((i) => Math.round(top[i] * alpha + below[i] * (1 - alpha))) as Rgb;
}

const BLACK: Rgb = [0, 0, 0];
const WHITE: Rgb = [255, 255, 255];

/** Black or white, whichever contrasts more with `background` (always ≥ 4.58:1). */
export function inkOn(background: Rgb): string {
  return contrastRatio(BLACK, background) >= contrastRatio(WHITE, background) ? "#000" : "#fff";
}

/** Whether a background of `ground` is a dark theme's (its luminance below the midpoint's). */
export function isDarkGround(ground: Rgb): boolean {
  return contrastRatio(WHITE, ground) > contrastRatio(BLACK, ground);
}
