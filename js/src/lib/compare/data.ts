// Pure helpers of the Compare view: what a tooltip says, which experts a position has, how a change is
// written. No DOM here (js/tests/compare.test.ts tests them).

import { formatScore } from "../attribution/scale";
import { formatPercent, formatWeight } from "../format";
import { rowName } from "../routing/lens";

/** The experts of position `index` in a `[position, k]` array of expert ids. */
export function expertsAt(experts: Uint32Array | null, k: number, index: number): number[] {
  if (!experts || k <= 0) return [];
  return Array.from(experts.subarray(index * k, (index + 1) * k)).sort((x, y) => x - y);
}

/** How many of `a` are not among `b` (what Python's routing_changes counts). */
export function changedCount(a: readonly number[], b: readonly number[]): number {
  const other = new Set(b);
  return a.filter((expert) => !other.has(expert)).length;
}

/** The routing strip's tooltip for one position: its token, how many experts changed and both lists. */
export function routingTip(label: string, index: number, layer: number, a: readonly number[], b: readonly number[]): string {
  const changed = changedCount(a, b);
  const names = (experts: readonly number[]) => experts.map((expert) => `E${expert}`).join(" ");
  const plural = changed === 1 ? "" : "s";
  return `position ${index} ${label} · layer ${layer} · ${changed} expert${plural} changed\na: ${names(a)}\nb: ${names(b)}`;
}

/** The heatmap tooltip: query and key (blocks of positions when pooled), both weights and b − a. */
export function heatmapTip(query: number, key: number, block: number, a: number, b: number, difference: number): string {
  const span = (i: number) => (block > 1 ? `${i * block}–${(i + 1) * block - 1}` : String(i));
  return `query ${span(query)} → key ${span(key)}\na ${formatWeight(a)} · b ${formatWeight(b)} · b − a ${formatScore(difference)}`;
}

/** The lens strip's tooltip for one cell. */
export function lensTip(row: number, rows: number, position: number, agree: boolean): string {
  return `${rowName(row, rows)} · position ${position}: ${agree ? "top-1 agrees" : "top-1 differs"}`;
}

/** One prediction row: `top a (p) → top b (p) · Δp`, the probabilities as percentages (format.ts). */
export function predictionText(topA: string, probA: number, topB: string, probB: number, change: number): string {
  const arrow = topA === topB ? "=" : "→";
  return `${topA} (${formatPercent(probA)}) ${arrow} ${topB} (${formatPercent(probB)}) · Δp ${formatScore(change)}`;
}

