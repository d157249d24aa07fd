"""Two runs side by side: two texts on one model, or one text on two models that share a tokenizer
(a base model and its R1 distill), with where they differ — a head's attention, the experts of each
token, the next-token predictions and the logit lens. Positions are compared by index, up to the
shorter run (``Comparison.positions``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..model import Intervention, ModelInterface, Trace

#: A text both tokenizers must encode alike for two models to be compared.
PROBE = "Quarterly revenue rose 12% to $4.2 billion. 你好，世界 🙂 Fever may indicate flu."


@dataclass(frozen=True)
class Comparison:
    """Run ``a`` and run ``b`` (:class:`~deepseek_viz.Trace`), compared position by position."""

    a: Trace
    b: Trace

    @property
    def positions(self) -> int:
        """How many positions are compared: the shorter run's tokens."""
        return min(len(self.a.tokens), len(self.b.tokens))

    @property
    def same_tokens(self) -> bool:
        """Whether both runs read the same tokens (then every difference is the model's or an
        intervention's, not the text's)."""
        return [token.id for token in self.a.tokens] == [token.id for token in self.b.tokens]

    def differing_tokens(self) -> list[int]:
        """The compared positions whose tokens differ between the runs."""
        return [i for i in range(self.positions) if self.a.tokens[i].id != self.b.tokens[i].id]

    def attention_difference(self, layer: int, head: int) -> np.ndarray:
        """``b - a`` of head ``head`` of ``layer``'s pattern, float32 ``[query, key]`` over the compared
        positions (positive where ``b`` attends more)."""
        n = self.positions
        first = self.a.attention_tensor(layer, [head])[0, :n, :n].float().cpu().numpy()
        second = self.b.attention_tensor(layer, [head])[0, :n, :n].float().cpu().numpy()
        return second - first

    def routing_changes(self, layer: int) -> np.ndarray:
        """For each compared position, how many of its routed experts in MoE ``layer`` are not among the
        other run's, int ``[positions]``; :class:`ValueError` for a dense layer."""
        first, second = self.a.routing(layer), self.b.routing(layer)
        if first is None or second is None:
            raise ValueError(f"layer {layer} is dense in at least one run: no routing to compare")
        n = self.positions
        return np.array(
            [len(set(first.experts[i].tolist()) - set(second.experts[i].tolist())) for i in range(n)],
            dtype=np.int64,
        )

    def prediction_changes(self, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """Per compared position: whether the top next token differs (bool ``[positions]``), and how
        the probability of ``a``'s top token changes in ``b`` (float32 ``[positions]``, ``b - a``;
        ``b``'s probability counts as 0 where that token is not in ``b``'s top ``k``)."""
        n = self.positions
        first, second = self.a.top_predictions(k, range(n)), self.b.top_predictions(k, range(n))
        differs = np.array([x[0].token_id != y[0].token_id for x, y in zip(first, second, strict=True)])
        change = []
        for x, y in zip(first, second, strict=True):
            in_b = next((p.prob for p in y if p.token_id == x[0].token_id), 0.0)
            change.append(in_b - x[0].prob)
        return differs, np.asarray(change, dtype=np.float32)

    def lens_agreement(self, positions: Iterable[int] | None = None) -> np.ndarray:
        """Whether the logit lens's top-1 agrees between the runs, bool ``[layer + 1, position]``
        (row 0 the embeddings, the last row the output): where in depth the runs part ways. Over
        ``positions`` (default: every compared one; the lens's work grows with them)."""
        positions = range(self.positions) if positions is None else list(positions)
        first, second = self.a.logit_lens(1, positions=positions), self.b.logit_lens(1, positions=positions)
        return first.token_ids[:, :, 0] == second.token_ids[:, :, 0]


def compare(
    model_a: ModelInterface,
    text_a: str,
    text_b: str | None = None,
    model_b: ModelInterface | None = None,
    layers: list[int] | None = None,
    interventions_b: Sequence[Intervention] = (),
) -> Comparison:
    """Trace ``text_a`` on ``model_a`` and ``text_b`` (default: ``text_a``) on ``model_b`` (default:
    ``model_a``) and compare them (``layers``: the patterns kept, default none; any layer is computed
    when read). Two models must share a tokenizer, else :class:`ValueError` names the first difference;
    their layer and head counts may differ only where a method is not asked for them. Run ``b`` goes
    under ``interventions_b`` (e.g. ``[HeadAblation(2, [0])]``; with neither ``text_b`` nor ``model_b``:
    one text with and without them)."""
    second_model = model_b or model_a
    if model_b is not None:
        probe_a, probe_b = model_a.encode(PROBE), model_b.encode(PROBE)
        if probe_a != probe_b or model_a.vocab_size != model_b.vocab_size:
            at = next((i for i, (x, y) in enumerate(zip(probe_a, probe_b, strict=False)) if x != y), None)
            where = f"token {at} of a probe text" if at is not None else "the vocabulary size or the length"
            raise ValueError(
                f"the two models' tokenizers differ ({where}: vocabularies {model_a.vocab_size} and "
                f"{model_b.vocab_size}); compare models that share a tokenizer, e.g. a model and its distill"
            )
    chosen = [] if layers is None else layers
    return Comparison(
        model_a.trace(text_a, layers=chosen),
        second_model.trace(
            text_b if text_b is not None else text_a, layers=chosen, interventions=list(interventions_b)
        ),
    )
