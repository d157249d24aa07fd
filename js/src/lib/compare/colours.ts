// Colours of the Compare view: a diverging scale for b − a (blue: b lower, red: b higher) whose zero is
// the theme's neutral (near-white in a light theme, the dark canvas grey in a dark one), and the
// agreement colours of the lens strip. The theme is read from the text colour the page gives the view.

import { divergingColour } from "../attribution/scale";
import { interpolate, type Rgb } from "../colour";

/** The attributions' blue–red hues on a dark ground: saturated ends, zero the dark theme's canvas grey. */
const DARK: Rgb[] = [
  [90, 160, 255],
  [52, 102, 160],
  [40, 60, 84],
  [43, 43, 43],
  [88, 48, 44],
  [170, 70, 56],
  [255, 100, 80],
];

/** The neutral (zero) colour of each theme. */
export function neutral(dark: boolean): Rgb {
  return dark ? DARK[3] : divergingColour(0);
}

/** Colour of `t` in [−1, 1] (clamped; NaN counts as 0) in the light theme (the attributions' RdBu
 * scale) or the dark one. */
export function differenceColour(t: number, dark: boolean): Rgb {
  if (!dark) return divergingColour(t);
  const clamped = Number.isNaN(t) ? 0 : Math.min(1, Math.max(-1, t));
  return interpolate(DARK, (clamped + 1) / 2);
}

/** CSS colour of `t` in [−1, 1]. */
export function cssDifference(t: number, dark: boolean): string {
  const [r, g, b] = differenceColour(t, dark);
  return `rgb(${r}, ${g}, ${b})`;
}

/** A CSS linear-gradient through the scale from −1 (left) to +1 (right), for a legend bar. */
export function differenceGradient(dark: boolean, steps = 9): string {
  const stops = Array.from({ length: steps }, (_, i) => cssDifference(-1 + (2 * i) / (steps - 1), dark));
  return `linear-gradient(to right, ${stops.join(", ")})`;
}

/** Lens strip: where the runs' top-1 agrees (neutral) and where it parts (orange). */
export function agreementColour(agree: boolean, dark: boolean): Rgb {
  if (agree) return dark ? [43, 43, 43] : [236, 239, 241];
  return dark ? [255, 152, 0] : [230, 81, 0];
}
