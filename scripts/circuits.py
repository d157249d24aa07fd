"""Measure the circuits of a tiny checkpoint: is there something worth finding by ablation and patching?

For the bundled model (or any checkpoint folder) it reports, as JSON:

* ``induction``: each head's attention on random words said twice (:func:`train_tiny.induction_scores`);
* ``facts``: for each fact prompt of the training data (a company's headquarters, a condition's usual
  treatment), the answer's log-probability, whether it is the top token, and the head and the expert whose
  ablation alone lowers it most (``deepseek_viz.head_ablation_sweep`` and ``ExpertAblation``), averaged
  over the prompts;
* ``sentiment``: the same for the ``Sentiment:`` verbalizer of a few finance headlines.

Run ``python scripts/circuits.py [--model FOLDER]`` (default: the bundled model).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tiny_corpus import HEADQUARTERS, TREATMENTS, build_corpus, common_words
from train_tiny import induction_scores

import deepseek_viz as dv
from deepseek_viz.model import ExpertAblation

HEADLINES = (
    "Acme Corp said quarterly revenue rose 18% to $4.2 billion, beating analyst estimates.",
    "Globex reported that sales fell 12% from a year earlier, hurt by weak demand.",
    "Initech said annual net income jumped 30% to $950 million, driven by strong demand.",
    "Hooli reported that operating profit declined 22% from a year earlier, as costs climbed.",
)


def _expert_effects(model: dv.HookedModel, text: str, target: dv.Target) -> np.ndarray:
    """``[moe layer, expert]``: the target's change when that expert is taken from every token."""
    rows = []
    for layer in model.moe_layers:
        rows.append(
            [
                dv.intervention_effect(model, text, [ExpertAblation(layer, (expert,))], target).change
                for expert in range(model.num_experts)
            ]
        )
    return np.asarray(rows)


def _summary(model: dv.HookedModel, cases: Sequence[tuple[str, dv.Target]]) -> dict[str, object]:
    """Mean value, top-1 share, and the most harmful head and expert over ``cases`` (text, target)."""
    heads, experts, values = [], [], []
    for text, target in cases:
        sweep = dv.head_ablation_sweep(model, text, target)
        heads.append(sweep.effects)
        values.append(sweep.before)
        experts.append(_expert_effects(model, text, target))
    head_mean, expert_mean = np.mean(heads, axis=0), np.mean(experts, axis=0)
    layer, head = np.unravel_index(np.argmin(head_mean), head_mean.shape)
    moe, expert = np.unravel_index(np.argmin(expert_mean), expert_mean.shape)
    return {
        "cases": len(cases),
        "mean_value": round(float(np.mean(values)), 4),
        "worst_head": {
            "layer": int(layer),
            "head": int(head),
            "mean_change": round(float(head_mean.min()), 4),
        },
        "worst_expert": {
            "layer": int(model.moe_layers[moe]),
            "expert": int(expert),
            "mean_change": round(float(expert_mean.min()), 4),
        },
    }


def _top1(model: dv.HookedModel, prompts: Sequence[tuple[str, str]]) -> float:
    hits = 0
    for prompt, answer in prompts:
        top = model.trace(prompt, layers=[]).top_predictions(1, [-1])[0][0]
        hits += top.token_id == model.encode(answer)[0]
    return round(hits / len(prompts), 4)


def main() -> None:
    """Print the circuit report of ``--model`` as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=dv.BUNDLED_MODEL)
    args = parser.parse_args()
    model = dv.load_model(args.model)
    facts = {
        "headquarters": [(f"{c} is headquartered in", f" {city}") for c, city in HEADQUARTERS.items()],
        "treatment": [(f"The usual treatment for {d} is", f" {t}") for d, t in TREATMENTS.items()],
    }
    report: dict[str, object] = {"induction": induction_scores(args.model, common_words(build_corpus()[0]))}
    for kind, prompts in facts.items():
        cases = [(prompt, dv.Continuation(answer)) for prompt, answer in prompts]
        report[kind] = {"top1": _top1(model, prompts), **_summary(model, cases)}
    verbalizer = dv.Verbalizer("{text}\nSentiment:", (" positive", " negative"))
    report["sentiment"] = _summary(model, [(text, verbalizer) for text in HEADLINES])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
