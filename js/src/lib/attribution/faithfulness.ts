// The faithfulness panel: per method, the completeness gap (Σ scores − (f(x) − f(baseline))), what the
// method promises of it, and the deletion-curve AUC; a short key saying how to read them, and SHAP's
// additivity gap, the random-order reference and LIME's fit below.

import { element } from "../dom";
import { formatPercent, formatWeight } from "../format";
import { formatScore } from "./scale";

/** Per-method figures (null: not measured, or not a finite number). */
export interface MethodFigures {
  sum_gap: number | null;
  relative_gap: number | null;
  deletion_auc: number | null;
  normalized_auc: number | null;
}

/** `_faithfulness` as sent by Python (`faithfulness_summary`). */
export interface FaithfulnessFigures {
  methods: Record<string, MethodFigures>;
  additivity_gap: number | null;
  random_auc: number | null;
  random_normalized_auc: number | null;
  lime_fit: number | null;
}

/** A relative gap above this, for a method that promises ≈ 0, is called large. */
export const LARGE_GAP = 0.1;

const measured = (value: number | null | undefined): value is number => value !== null && value !== undefined;

const show = (value: number | null | undefined): string => (measured(value) ? formatScore(value) : "–");

/** An unsigned-looking number with a real minus sign ("0.21", "−0.04"). */
const plain = (value: number): string => (value < 0 ? `−${formatWeight(-value)}` : formatWeight(value));

/** The gap relative to the change f(x) − f(baseline), in words ("" when not measured). */
function ofTheChange(value: number | null): string {
  return measured(value) ? ` (${formatPercent(value)} of the change)` : "";
}

/** A normalised AUC in brackets ("" when not measured). */
function bracketed(value: number | null | undefined): string {
  return measured(value) ? ` (${plain(value)})` : "";
}

/** What a method promises of its completeness gap, and a word when it does not keep the promise. */
export function promise(method: string, figures: MethodFigures): string {
  if (method === "integrated_gradients") {
    const large = measured(figures.relative_gap) && figures.relative_gap > LARGE_GAP;
    return large ? "≈ 0 — large: more ig_steps?" : "≈ 0";
  }
  if (method === "shap") return "0 (additive)";
  return "none";
}

/** Table cells of one method: name, completeness gap, its promise, deletion AUC (normalised). */
export function methodCells(method: string, label: string, figures: MethodFigures): [string, string, string, string] {
  return [
    label,
    `${show(figures.sum_gap)}${ofTheChange(figures.relative_gap)}`,
    promise(method, figures),
    `${show(figures.deletion_auc)}${bracketed(figures.normalized_auc)}`,
  ];
}

/** How to read the table: what the completeness gap is and what a large one means, and the deletion AUC. */
export const KEY: readonly string[] = [
  "Completeness gap = Σ scores − (f(x) − f(baseline)): the part of the change from the all-masked text to this " +
    "text that the scores do not account for. Integrated gradients promise ≈ 0 (a large gap: too few ig_steps, " +
    "or a strongly nonlinear path); SHAP adds up by construction; input × gradient and LIME promise nothing, " +
    "so a large gap there is no failure.",
  "Deletion AUC: the target as the top-scored tokens are masked first; lower = more faithful (normalised: " +
    "0 = the first token takes the whole effect, 0.5 = an even decline). Compare with the random order.",
];

/** The lines under the table (only the figures that were measured). */
export function notes(figures: Partial<FaithfulnessFigures>): string[] {
  const lines: string[] = [];
  if (measured(figures.additivity_gap)) {
    lines.push(`SHAP additivity gap (Σ values + base − f(x)): ${formatScore(figures.additivity_gap)}`);
  }
  if (measured(figures.random_auc)) {
    lines.push(`random deletion order AUC: ${formatScore(figures.random_auc)}${bracketed(figures.random_normalized_auc)} — lower than this is better`);
  }
  if (measured(figures.lime_fit)) lines.push(`LIME surrogate R²: ${formatWeight(figures.lime_fit)}`);
  return lines;
}

export class FaithfulnessPanel {
  readonly root: HTMLElement;

  constructor() {
    this.root = element("div", { testid: "faithfulness", className: "dsv-faithfulness" });
  }

  /** Show the figures of `methods` (in row order, named by `labels`); empty figures hide the panel. */
  set(figures: Partial<FaithfulnessFigures>, methods: readonly string[], labels: readonly string[]): void {
    const perMethod = figures.methods ?? {};
    const rows = methods.flatMap((method, i) => {
      const entry = perMethod[method];
      if (!entry) return [];
      const cells = methodCells(method, labels[i] ?? method, entry).map((text) => element("td", { text }));
      return [element("tr", { testid: `faithfulness-${method}` }, ...cells)];
    });
    this.root.hidden = rows.length === 0;
    const header = element(
      "tr",
      {},
      ...["method", "completeness gap", "promised", "deletion AUC (normalised)"].map((text) => element("th", { text })),
    );
    this.root.replaceChildren(
      element("div", { className: "dsv-caption", text: "Faithfulness" }),
      element("table", {}, element("thead", {}, header), element("tbody", {}, ...rows)),
      ...notes(figures).map((text) => element("div", { className: "dsv-note", text })),
      ...KEY.map((text) => element("div", { testid: "faithfulness-key", className: "dsv-note dsv-key", text })),
    );
  }
}
