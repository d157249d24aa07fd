// The selection panel under the scatter: how many points are selected, how many of each label, and the
// first few selected points listed (as text). Pure functions, no DOM.

/** Selected points the panel lists by name; the rest are counted ("… and N more"). Python documents it
 * as embedding_scatter.py LISTED. */
export const LISTED = 10;

export interface LabelCount {
  /** Index into the label names (and colours). */
  label: number;
  name: string;
  count: number;
}

export interface SelectionSummary {
  count: number;
  /** The labels with at least one selected point, most selected first (ties: legend order). */
  labels: LabelCount[];
  /** The first `limit` selected indices (in the order given: Python sends them sorted). */
  listed: number[];
  /** Selected points not listed. */
  more: number;
}

/** Summarise `selected` (indices of points; out-of-range ones are skipped) of points labelled `labels`
 * (an index into `names` per point). */
export function summarise(
  selected: readonly number[],
  labels: Uint8Array,
  names: readonly string[],
  limit = LISTED,
): SelectionSummary {
  const valid = selected.filter((i) => i >= 0 && i < labels.length);
  const counts = new Map<number, number>();
  for (const i of valid) counts.set(labels[i], (counts.get(labels[i]) ?? 0) + 1);
  const perLabel = [...counts.entries()]
    .map(([label, count]) => ({ label, name: names[label] ?? "", count }))
    .sort((a, b) => b.count - a.count || a.label - b.label);
  const listed = valid.slice(0, limit);
  return { count: valid.length, labels: perLabel, listed, more: valid.length - listed.length };
}

/** What the panel shows of a point's text: the text, or for an expert (whose tooltip is several lines)
 * its first line. */
export function listedText(text: string, mode: string): string {
  return mode === "experts" ? (text.split("\n", 1)[0] ?? "") : text;
}
