// Point colours: one per label (the CSS colours Python chose, the same as the exported figures), dimmed
// for unselected points while a selection exists.

export type Rgb = [number, number, number];

/** Alpha of a point outside the selection (inside: opaque). */
export const DIMMED_ALPHA = 0.3; // still seen on the dark stage, clearly behind the selection
const FALLBACK: Rgb = [99, 110, 250];

/** `#rrggbb`, `#rgb` or `rgb(r, g, b)` → [r, g, b]; anything else gives a neutral blue. */
export function parseColour(css: string): Rgb {
  const text = css.trim();
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(text);
  if (hex) {
    const digits = hex[1].length === 3 ? [...hex[1]].map((d) => d + d).join("") : hex[1];
    return [0, 2, 4].map((i) => parseInt(digits.slice(i, i + 2), 16)) as Rgb;
  }
  const rgb = /^rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)/i.exec(text);
  if (rgb) return [1, 2, 3].map((i) => Math.round(Math.min(255, Number(rgb[i])))) as Rgb;
  return FALLBACK;
}

/** RGBA bytes per point (premultiplied alpha): its label's colour, dimmed where `mask` is 0. */
export function pointColours(labels: Uint8Array, colours: readonly Rgb[], mask: Uint8Array | null): Uint8Array {
  const out = new Uint8Array(labels.length * 4);
  const dimmed = Math.round(DIMMED_ALPHA * 255);
  for (let i = 0; i < labels.length; i++) {
    const [r, g, b] = colours[labels[i]] ?? FALLBACK;
    if (mask && !mask[i]) {
      out.set([Math.round(r * DIMMED_ALPHA), Math.round(g * DIMMED_ALPHA), Math.round(b * DIMMED_ALPHA), dimmed], 4 * i);
    } else {
      out.set([r, g, b, 255], 4 * i);
    }
  }
  return out;
}

/** Points drawn per side in CSS pixels: larger for few points. */
export function pointSize(n: number): number {
  return n <= 2_000 ? 7 : n <= 20_000 ? 4 : 3;
}
