import { formatProb, formatSigned } from "../format";
// Pure text of the interventions UI: the list's entries and the predictions' before → after
// (src/deepseek_viz/widgets/intervention_state.py and prediction_view.py send them).

/** One intervention in force, as `Interventions.describe()` sends it. */
export interface InterventionEntry {
  label: string;
  /** "head" (a head off; `unit` the head), "expert" (an expert off everywhere; `unit` the expert) or
   * "other" (set from Python: scaled heads, patches, forcing; `unit` -1). */
  kind: "head" | "expert" | "other";
  layer: number;
  unit: number;
}

/** The predictions' before → after at one position (PredictionView's `_change`). */
export interface PredictionChange {
  at: number;
  /** The original run's top next token and its probability. */
  before: [string, number];
  /** The intervened run's top next token and its probability. */
  after: [string, number];
  /** The probability of `before`'s token in the intervened run (null: below its top-k, under `bound`). */
  then: number | null;
  bound: number;
}

/** The lines of a before → after: `flu 0.41 → 0.12 (−0.29)` for the original top token, and, when the
 * intervened run's top token is another, `now cold 0.35`. `show` makes a token's text visible. */
export function describeChange(change: PredictionChange, show: (text: string) => string = (text) => text): { main: string; now: string | null } {
  const [token, before] = change.before;
  const main =
    change.then === null
      ? `${show(token)} ${formatProb(before)} → <${formatProb(change.bound)} (≤ ${formatSigned(change.bound - before)})`
      : `${show(token)} ${formatProb(before)} → ${formatProb(change.then)} (${formatSigned(change.then - before)})`;
  const [top, prob] = change.after;
  return { main, now: top === token ? null : `now ${show(top)} ${formatProb(prob)}` };
}

/** `[layer, unit]` keys ("L-U") of the entries of `kind`. */
export function unitsOff(entries: readonly InterventionEntry[], kind: "head" | "expert"): Set<string> {
  return new Set(entries.filter((entry) => entry.kind === kind).map((entry) => `${entry.layer}-${entry.unit}`));
}
