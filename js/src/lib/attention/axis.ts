// Token labels along the heatmap's axes: which tokens get a label at the current zoom (thinned to steps
// of 1, 2, 5, 10, 20, 50, … tokens so that labels never overlap), and where. Pure functions, no DOM.

/** One label: token `index`, its centre `position` px along the axis. */
export interface AxisTick {
  index: number;
  position: number;
}

/** Smallest "nice" step (1, 2, 5 × 10^k) with `step × pxPerToken ≥ spacing`. */
export function labelStep(pxPerToken: number, spacing: number): number {
  if (!(pxPerToken > 0) || !(spacing > 0)) return 1;
  const need = spacing / pxPerToken;
  if (need <= 1) return 1;
  for (let magnitude = 1; ; magnitude *= 10) {
    for (const nice of [1, 2, 5]) if (nice * magnitude >= need) return nice * magnitude;
  }
}

/** Labels of an axis showing tokens [start, end) (fractional, the viewport) of `n` over `pixels` px, each
 * label needing `spacing` px: every `step`-th token (multiples of the step, so labels stay put while
 * panning), those whose centre is on the axis. */
export function axisTicks(start: number, end: number, n: number, pixels: number, spacing: number): { step: number; ticks: AxisTick[] } {
  const span = end - start;
  if (!(span > 0) || !(pixels > 0) || n <= 0) return { step: 1, ticks: [] };
  const scale = pixels / span;
  const step = labelStep(scale, spacing);
  const ticks: AxisTick[] = [];
  const first = Math.max(0, Math.ceil((start - 0.5) / step) * step);
  for (let index = first; index < Math.min(n, end); index += step) {
    const position = (index + 0.5 - start) * scale;
    if (position >= 0 && position <= pixels) ticks.push({ index, position });
  }
  return { step, ticks };
}

/** `text` cut to fit `maxWidth` (as `measure` measures), ending in "…" when cut; the whole text when it fits. */
export function fitLabel(text: string, maxWidth: number, measure: (text: string) => number): string {
  if (measure(text) <= maxWidth) return text;
  const characters = Array.from(text); // never split a surrogate pair
  let [lo, hi] = [0, characters.length];
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (measure(characters.slice(0, mid).join("") + "…") <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return characters.slice(0, lo).join("") + "…";
}
