// AttributionView (src/deepseek_viz/widgets/attribution_view.py): the text shaded by each method's
// token scores (one aligned row per method), a live text editor, the target choice, the sampling
// button (with its progress bar and Cancel while a run goes in the kernel's background), the target
// caption, a legend and the faithfulness panel. Scores arrive as one float32 [method, token] buffer.

import type { RenderProps } from "@anywidget/types";
import type { ArrayValue } from "./lib/buffers";
import { FaithfulnessPanel, type FaithfulnessFigures } from "./lib/attribution/faithfulness";
import { running, SamplingProgress, TargetChoice, type Candidate, type Progress, type TargetSpec } from "./lib/attribution/controls";
import { AttributionRows, readScores, type ScoreRows } from "./lib/attribution/rows";
import { legendGradient } from "./lib/attribution/scale";
import { cssDifference } from "./lib/compare/colours";
import { onThemeChange, themeOf } from "./lib/theme";
import { ATTRIBUTION_STYLES } from "./lib/attribution/styles";
import { CommandErrorLine, invoke } from "./lib/commands";
import type { InterventionEntry } from "./lib/interventions/format";
import { InterventionsPanel, type InterventionAction } from "./lib/interventions/panel";
import { INTERVENTION_STYLES } from "./lib/interventions/styles";
import { element, markDrawn } from "./lib/dom";
import { emptyState, LiveEditor, liveRoot, type LiveTextModel } from "./lib/live_editor";
import { listen } from "./lib/model";
import type { TokenEntry } from "./lib/tokens";

/** Mirrors the synced traits of AttributionView. */
export interface AttributionModel extends LiveTextModel {
  methods: string[];
  sampling_methods: string[];
  _tokens: TokenEntry[];
  /** float32 `[method, token]`, row `r` being method `_score_methods[r]`. */
  _scores: ArrayValue;
  _score_methods: string[];
  _caption: string;
  /** The interventions in force (Interventions.describe()): the rows are the intervened run's. */
  _interventions?: InterventionEntry[];
  _faithfulness: Partial<FaithfulnessFigures>;
  _data_id: number;
  _labels: Record<string, string>;
  /** The SHAP/LIME run going (`{}`: none). */
  _progress: Progress;
  /** "SHAP, LIME run cancelled", or "". */
  _sampling_note: string;
  /** A failed run's message, or "". */
  _sampling_error: string;
  _candidates: Candidate[];
  _target_spec: TargetSpec;
}

/** The sampling methods not yet among the rows shown (what the button would add). */
export function missingSampling(sampling: readonly string[], shown: readonly string[]): string[] {
  return sampling.filter((method) => !shown.includes(method));
}

function legend(bar: HTMLElement): HTMLElement {
  bar.style.background = legendGradient();
  return element(
    "div",
    { testid: "attribution-legend", className: "dsv-attr-legend" },
    element("span", { text: "lowers the target −" }),
    bar,
    element("span", { text: "+ raises it" }),
    element("span", { text: "· each row scaled to its own largest |score| (±, under the method's name)" }),
  );
}

function render({ model, el, experimental, signal }: RenderProps<AttributionModel>): () => void {
  const editor = new LiveEditor(model, experimental, signal);
  let disposed = false;
  let asking = false; // the run command is out
  let scores: ScoreRows | null = null;

  const empty = emptyState("attributions");
  const caption = element("div", { testid: "attribution-caption", className: "dsv-caption" });
  const rows = new AttributionRows();
  const faithfulness = new FaithfulnessPanel();
  const button = element("button", { testid: "run-sampling", attrs: { type: "button" } });
  const runError = new CommandErrorLine("sampling-error");
  const note = element("span", { testid: "sampling-note", className: "dsv-note", attrs: { role: "status" } });
  const targetError = new CommandErrorLine("target-error");
  const progress = new SamplingProgress(() => {
    invoke(experimental, "_cancel_sampling", {}, signal).catch((error: unknown) => {
      if (!disposed) runError.show(error);
    });
  });
  const target = new TargetChoice((request) => {
    targetError.clear();
    invoke(experimental, "_set_target", request, signal).catch((error: unknown) => {
      if (!disposed) targetError.show(error);
    });
  });
  const panel = new InterventionsPanel((action: InterventionAction) => invoke(experimental, "_intervene", action, signal), null);
  const showInterventions = (): void => panel.setItems(model.get("_interventions") ?? []);
  const showTarget = (): void => target.set(model.get("_target_spec"), model.get("_candidates"));

  function showButton(): void {
    const missing = missingSampling(model.get("sampling_methods"), scores?.methods ?? []);
    const labels = model.get("_labels");
    const names = missing.map((method) => labels[method] ?? method).join(", ");
    const going = running(model.get("_progress"));
    button.hidden = model.get("sampling_methods").length === 0;
    button.disabled = going || asking || !scores || missing.length === 0;
    button.textContent = going || asking ? `running ${names}…` : missing.length ? `Run ${names}` : "sampling methods shown";
  }

  function showSampling(): void {
    const cancelFocused = document.activeElement === progress.cancel;
    progress.set(model.get("_progress"));
    const error = model.get("_sampling_error") ?? "";
    if (error) runError.show(error);
    else if (!asking) runError.clear();
    note.textContent = model.get("_sampling_note") ?? "";
    note.hidden = !note.textContent;
    showButton();
    if (cancelFocused && progress.root.hidden) button.focus(); // the run ended: the keyboard stays in the view
  }

  function onClick(): void {
    asking = true;
    runError.clear();
    showButton();
    invoke<{ stale: boolean; started?: boolean }>(experimental, "_run_sampling", { data_id: model.get("_data_id") }, signal)
      .then(() => {
        if (!disposed && running(model.get("_progress"))) progress.cancel.focus();
      })
      .catch((error: unknown) => {
        if (!disposed) runError.show(error); // the run did not start: beside the button, which works again
      })
      .finally(() => {
        if (disposed) return;
        asking = false;
        showButton();
      });
  }

  function onData(): void {
    if (!editor.accept()) return; // older than what is on screen
    const tokens = model.get("_tokens");
    scores = readScores(model.get("_scores"), model.get("_score_methods"), model.get("_labels"));
    rows.setData(tokens, scores);
    caption.textContent = model.get("_caption");
    faithfulness.set(model.get("_faithfulness"), scores?.methods ?? [], scores?.labels ?? []);
    empty.hidden = tokens.length > 0;
    showTarget();
    showSampling();
    editor.onAnswer();
    markDrawn(root);
  }

  button.addEventListener("click", onClick);
  const legendBar = element("div", { className: "dsv-legend-bar" });
  const root = liveRoot(
    "attribution-view",
    editor,
    ATTRIBUTION_STYLES + INTERVENTION_STYLES,
    panel.root,
    element("div", { className: "dsv-sampling" }, target.root, targetError.root),
    caption,
    element("div", { className: "dsv-sampling" }, button, progress.root, runError.root, note),
    empty,
    rows.root,
    legend(legendBar),
    faithfulness.root,
  );
  el.replaceChildren(root);
  const retheme = (): void => {
    if (!root.isConnected) return;
    const dark = themeOf(root).dark;
    legendBar.style.background = legendGradient(9, (t) => cssDifference(t, dark));
    rows.recolour();
  };
  const unwatchTheme = onThemeChange(retheme);
  requestAnimationFrame(retheme);

  const unlisten = listen(model, [
    ["change:_data_id", onData],
    ["change:sampling_methods", showButton],
    ["change:_interventions", showInterventions],
    ["change:_progress", showSampling],
    ["change:_sampling_note", showSampling],
    ["change:_sampling_error", showSampling],
    ["change:_target_spec", showTarget],
    ["change:_candidates", showTarget],
  ]);
  onData();
  showInterventions();

  return () => {
    disposed = true;
    unlisten();
    editor.destroy();
    button.removeEventListener("click", onClick);
    rows.destroy();
    target.destroy();
    unwatchTheme();
    panel.destroy();
    root.remove();
  };
}

export default { render };
