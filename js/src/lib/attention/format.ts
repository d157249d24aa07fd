import { formatWeight } from "../format";
// Numbers of the attention view: weights with sensible precision (never a bare "0" for a small weight
// that quantisation rounded away) and where the heatmap's tooltip goes. Pure functions, no DOM.

/** `x` (> 0) rounded up to one significant digit: 0.00196 → 0.002, 3.1e-5 → 4e-5. */
export function roundUp(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return x;
  const magnitude = 10 ** Math.floor(Math.log10(x));
  const digit = Math.ceil(x / magnitude - 1e-9);
  return Number((digit * magnitude).toPrecision(1));
}

/** A small positive number as text: "0.002" from 1e-3 up, scientific ("4e-5") below. */
function small(x: number): string {
  return x >= 1e-3 ? formatWeight(x) : x.toExponential(0);
}

/** A weight read from quantised bytes whose step is `step` (scale / 255): 3 significant digits
 * ("0.123"), scientific below 0.001 ("4.2e-4"), and "<0.002" (the bound) where the byte is 0 — the
 * weight is then smaller than half a step, not zero. `future`: the key comes after the query, so the
 * causal mask makes the weight exactly 0. */
export function formatAttention(value: number, step: number, future = false): string {
  if (future) return "0 (masked: key after query)";
  if (value > 0 && value >= step / 2) return formatWeight(value);
  if (step > 0) return `<${small(roundUp(step / 2))}`;
  return value > 0 ? formatWeight(value) : "<1e-7";
}

/** Top-left corner (px, inside a `boxWidth × boxHeight` box) of a `width × height` tooltip for a pointer
 * at (x, y): below and right of it, flipped above / left where it would leave the box, so that it never
 * covers what lies outside the box (the legend under the heatmap). */
export function placeTooltip(
  x: number,
  y: number,
  width: number,
  height: number,
  boxWidth: number,
  boxHeight: number,
  gap = 12,
): { left: number; top: number } {
  const left = x + gap + width <= boxWidth ? x + gap : Math.max(0, Math.min(x - gap - width, boxWidth - width));
  const top = y + gap + height <= boxHeight ? y + gap : Math.max(0, y - gap - height);
  return { left, top };
}
