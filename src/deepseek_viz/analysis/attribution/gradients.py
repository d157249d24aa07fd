"""Gradient attributions on the input embeddings: input × gradient and integrated gradients (captum).

A token's score is the attribution summed over the embedding dimensions. Special tokens (BOS) get 0:
for integrated gradients their baseline is their own embedding, so they contribute nothing to the path.

**MoE routing.** DeepSeek's top-k expert selection is piecewise constant: the gradient flows through
the gate weights of the experts that were selected (and through the experts themselves) but not
through the *choice* of experts. Input × gradient therefore sees only the local, fixed-routing
linearisation; along the integrated-gradients path the selection can switch, and each switch is a
jump the gradients never see — it shows up as a larger convergence delta (completeness error), which
is reported rather than hidden. Dense models (Llama/Qwen distills) have no such jumps; a DeepSeek
model whose router selects every expert has none either (tests check both).

**Zero baselines.** The first thing a pre-norm block does is RMSNorm, ``x / √(mean x² + ε)``, which is
steepest near ``x = 0``. From a zero baseline (or a pad embedding that is zero, as ``padding_idx``
leaves it in untrained models) the integrand spikes at the start of the path and IG needs many more
``n_steps`` to converge. Prefer a non-zero baseline (a trained pad/EOS embedding, ``"mean"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .scoring import Scorer


@dataclass
class Attribution:
    """One method's raw output: a score per traced token (0 at special tokens), method details (plain
    values) and ``library_object``, the attribution library's own result where one is kept (LIME's)."""

    scores: np.ndarray
    details: dict[str, Any] = field(default_factory=dict)
    library_object: Any = None


def input_x_gradient(scorer: Scorer) -> Attribution:
    """``Σ_d x_d · ∂f/∂x_d`` per token, at the unperturbed input (one forward and one backward pass).

    Not complete: the scores need not add up to ``f(x) − f(baseline)``, and a function of the
    normalised embedding (as after an RMSNorm) is blind to scaling that embedding, so this method can
    give a token that matters a score near zero. Compare with integrated gradients.
    """
    inputs = scorer.inputs.detach().clone().unsqueeze(0).requires_grad_(True)
    with torch.enable_grad():
        value = scorer.score_embeddings(inputs)
        (gradient,) = torch.autograd.grad(value.sum(), inputs)
    scores = (inputs.detach() * gradient).sum(-1)[0].double().cpu().numpy()
    scores[scorer.special] = 0.0
    return Attribution(scores, {"value": float(value.detach()[0])})


def integrated_gradients(
    scorer: Scorer, n_steps: int = 50, method: str = "gausslegendre", progress: bool = False
) -> Attribution:
    """Integrated gradients from the baseline (every feature masked) to the input, via captum.

    ``details["convergence_delta"]`` is captum's ``Σ scores − (f(x) − f(baseline))``: small when the
    ``n_steps`` quadrature is accurate and the path crosses no discontinuity (see the module note on
    MoE routing).
    """
    from captum.attr import IntegratedGradients

    if n_steps < 1:
        raise ValueError(f"n_steps must be positive, not {n_steps}")

    def forward(embeddings: torch.Tensor) -> torch.Tensor:
        return scorer.score_embeddings(embeddings)

    explainer = IntegratedGradients(forward)
    with scorer.progress("integrated gradients", n_steps + 2, progress), torch.enable_grad():
        attributions, delta = explainer.attribute(
            scorer.inputs.unsqueeze(0),
            baselines=scorer.baseline_inputs.unsqueeze(0),
            n_steps=n_steps,
            method=method,
            internal_batch_size=scorer.batch_size,
            return_convergence_delta=True,
        )
    scores = attributions.sum(-1)[0].double().detach().cpu().numpy()
    scores[scorer.special] = 0.0
    return Attribution(
        scores, {"convergence_delta": float(delta.reshape(-1)[0]), "n_steps": n_steps, "method": method}
    )
