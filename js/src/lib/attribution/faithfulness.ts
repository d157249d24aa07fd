// The faithfulness panel: per method, the completeness gap (Σ scores − (f(x) − f(baseline))) and the
// deletion-curve AUC; SHAP's additivity gap, the random-order reference and LIME's fit below.

import { element } from "../dom";
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

const show = (value: number | null | undefined): string => (value === null || value === undefined ? "–" : formatScore(value));

function percent(value: number | null): string {
  if (value === null) return "";
  const p = 100 * value;
  return ` (${p >= 10 ? p.toFixed(0) : p.toPrecision(2)}%)`;
}

/** A normalised AUC in brackets, two decimals ("" when not measured). */
function bracketed(value: number | null | undefined): string {
  return value === null || value === undefined ? "" : ` (${value.toFixed(2).replace("-", "−")})`;
}

/** Table cells of one method: name, completeness gap, deletion AUC (normalised). */
export function methodCells(label: string, figures: MethodFigures): [string, string, string] {
  return [label, `${show(figures.sum_gap)}${percent(figures.relative_gap)}`, `${show(figures.deletion_auc)}${bracketed(figures.normalized_auc)}`];
}

/** The lines under the table (only the figures that were measured). */
export function notes(figures: Partial<FaithfulnessFigures>): string[] {
  const lines: string[] = [];
  if (figures.additivity_gap !== null && figures.additivity_gap !== undefined) {
    lines.push(`SHAP additivity gap (Σ values + base − f(x)): ${formatScore(figures.additivity_gap)}`);
  }
  if (figures.random_auc !== null && figures.random_auc !== undefined) {
    lines.push(`random deletion order AUC: ${formatScore(figures.random_auc)}${bracketed(figures.random_normalized_auc)} — lower than this is better`);
  }
  if (figures.lime_fit !== null && figures.lime_fit !== undefined) lines.push(`LIME surrogate R²: ${figures.lime_fit.toFixed(3)}`);
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
      const cells = methodCells(labels[i] ?? method, entry).map((text) => element("td", { text }));
      return [element("tr", { testid: `faithfulness-${method}` }, ...cells)];
    });
    this.root.hidden = rows.length === 0;
    const header = element(
      "tr",
      {},
      ...["method", "completeness gap Σ − (f(x) − f(b))", "deletion AUC (normalised)"].map((text) => element("th", { text })),
    );
    this.root.replaceChildren(
      element("div", { className: "dsv-caption", text: "Faithfulness" }),
      element("table", {}, element("thead", {}, header), element("tbody", {}, ...rows)),
      ...notes(figures).map((text) => element("div", { className: "dsv-note", text })),
    );
  }
}
