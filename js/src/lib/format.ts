// Numbers as every view shows them: sensible precision, never a bare "0" for a small value, scientific
// below 0.001, real minus signs. Pure functions, no DOM.

/** A weight or score: 3 significant digits ("0.123", "12.3"), scientific below 0.001 ("4.2e-4"). */
export function formatWeight(value: number): string {
  if (value === 0) return "0";
  if (Math.abs(value) < 1e-3) return value.toExponential(1);
  return value.toPrecision(3).replace(/\.?0+$/, "");
}

/** A probability as a percentage that keeps small values: 45%, 3.1%, 0.13%, 0.0042%, 1.2e-6%; "0%" and
 * "100%" only for 0 and 1 (99.7%, >99.9%). */
export function formatPercent(prob: number): string {
  const percent = prob * 100;
  if (percent === 0) return "0%";
  if (percent >= 99.5 && percent < 100) return percent >= 99.95 ? ">99.9%" : `${percent.toFixed(1)}%`; // never "100%" short of it
  if (percent >= 10) return `${percent.toFixed(0)}%`;
  if (percent >= 1) return `${percent.toFixed(1)}%`;
  if (percent >= 1e-4) return `${Number(percent.toPrecision(2))}%`;
  return `${percent.toExponential(1)}%`;
}

/** A probability as a number: two decimals ("0.41"), three below 0.01 ("0.004"), "<0.001" below that. */
export function formatProb(prob: number): string {
  if (prob > 0 && prob < 1e-3) return "<0.001";
  return prob > 0 && prob < 0.01 ? prob.toFixed(3) : prob.toFixed(2);
}

/** A signed change with a real minus sign: "+0.12", "−0.29", "±0.00". */
export function formatSigned(change: number): string {
  const text = Math.abs(change) < 0.01 && change !== 0 ? Math.abs(change).toFixed(3) : Math.abs(change).toFixed(2);
  if (Number(text) === 0) return `±${text}`;
  return `${change > 0 ? "+" : "−"}${text}`;
}
