"""The routed experts of one MoE layer as points placed by what they do, with their load over a corpus.

Two bases, each a feature vector per expert projected to 2-D or 3-D (``analysis/projection.py``):

* ``"coactivation"`` — which tokens an expert shares with the others. Over the non-special tokens of a
  corpus, ``coactivation[a, b]`` counts the tokens whose top-k in the layer chose both ``a`` and ``b``
  (the diagonal: the tokens each expert took), read from ``trace.routing(layer)`` — what the model did.
  Expert ``a``'s features are its row of the cosine similarity of the experts' token sets,
  ``coactivation[a, b] / sqrt(counts[a] · counts[b])``: experts often chosen together land together.
  An expert no token chose has a zero row (they all meet at one place).
* ``"weights"`` — the router's weight rows (``model.expert_weight_summary(layer)``, ``[experts,
  d_model]``): row ``e`` is the residual-stream direction whose dot product with a hidden state is
  expert ``e``'s router logit, so it is what makes a token go to ``e`` — the cheapest summary of an
  expert's weights that says something about what it does. Rows are scaled to unit length (cosine
  geometry): experts selected by similar directions land together. No forward pass is needed for the
  positions; the load still comes from the corpus.

A third basis, each expert's mean output direction over a corpus, would need one forward per expert and
text (``model.expert_outputs``); it is not offered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from tqdm.auto import tqdm

from ..model import LayerOutOfRangeError, ModelInterface, Trace
from .projection import Method, Normalize, Projection, project

Basis = Literal["coactivation", "weights"]
BASES = ("coactivation", "weights")
#: How many of each expert's most frequent token strings :class:`ExpertMap` keeps.
TOP_TOKENS = 8


@dataclass(frozen=True)
class LayerRouting:
    """The routing of one MoE layer counted over the non-special tokens of a corpus.

    ``counts[e]``: tokens whose top-k chose routed expert ``e``; ``coactivation[a, b]``: tokens that chose
    both ``a`` and ``b`` (diagonal = ``counts``); ``tokens[e]``: how often each token string went to ``e``.
    """

    layer: int
    num_texts: int
    num_tokens: int
    counts: np.ndarray
    coactivation: np.ndarray
    tokens: list[Counter[str]]

    @property
    def load(self) -> np.ndarray:
        """float64 ``[experts]``: each expert's share of the routed token-slots (sums to 1; zeros when no
        token was routed)."""
        return self.counts / max(int(self.counts.sum()), 1)


def count_layer_routing(
    model: ModelInterface,
    layers: Iterable[int],
    texts: Iterable[str] | Iterable[Trace],
    *,
    progress: bool = False,
) -> dict[int, LayerRouting]:
    """Count the routing of each MoE layer of ``layers`` over ``texts`` in one pass (one trace per text;
    strings are traced without attention, cut to the model's ``max_tokens``)."""
    chosen_layers = list(dict.fromkeys(moe_layer(model, layer) for layer in layers))
    if isinstance(texts, str):
        raise TypeError("texts must be a list of texts (or traces), not one str")
    num_experts = model.num_experts
    counts = {layer: np.zeros(num_experts, dtype=np.int64) for layer in chosen_layers}
    coactivation = {layer: np.zeros((num_experts, num_experts), dtype=np.int64) for layer in chosen_layers}
    tokens: dict[int, list[Counter[str]]] = {
        layer: [Counter() for _ in range(num_experts)] for layer in chosen_layers
    }
    num_texts = num_tokens = 0
    items = list(texts)
    for item in tqdm(items, desc="counting routing", unit="text", disable=not progress):
        trace = item if isinstance(item, Trace) else model.trace(item, layers=[], truncate=True)
        num_texts += 1
        keep = np.array([not token.special for token in trace.tokens], dtype=bool)
        if not keep.any():
            continue
        num_tokens += int(keep.sum())
        strings = [token.text for token in trace.tokens if not token.special]
        for layer in chosen_layers:
            routing = trace.routing(layer)
            if routing is None:
                continue
            experts = np.asarray(routing.experts)[keep].astype(np.int64)  # [tokens, k]
            chosen = np.zeros((len(experts), num_experts), dtype=np.int64)
            np.put_along_axis(chosen, experts, 1, axis=1)
            counts[layer] += chosen.sum(axis=0)
            coactivation[layer] += chosen.T @ chosen
            for string, row in zip(strings, experts.tolist(), strict=True):
                for expert in row:
                    tokens[layer][expert][string] += 1
    if num_texts == 0:
        raise ValueError("texts is empty: give the texts (or traces) whose routing to count")
    return {
        layer: LayerRouting(layer, num_texts, num_tokens, counts[layer], coactivation[layer], tokens[layer])
        for layer in chosen_layers
    }


def coactivation_similarity(coactivation: np.ndarray) -> np.ndarray:
    """float32 ``[experts, experts]``: ``coactivation[a, b] / sqrt(coactivation[a, a] · coactivation[b, b])``,
    the cosine similarity of the experts' token sets (1 on the diagonal of a used expert; 0 for unused)."""
    counts = np.diag(coactivation).astype(np.float64)
    norm = np.sqrt(np.outer(counts, counts))
    similarity = np.divide(coactivation, norm, out=np.zeros(coactivation.shape), where=norm > 0)
    return similarity.astype(np.float32)


def moe_layer(model: ModelInterface, layer: int) -> int:
    """``layer`` (negative counts from the end) if it is an MoE layer of ``model``, else
    :class:`~deepseek_viz.LayerOutOfRangeError` naming the MoE layers."""
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
        raise TypeError(f"layer must be an int, not {type(layer).__name__}")
    count = model.num_layers
    if -count <= layer < count and int(layer) % count in model.moe_layers:
        return int(layer) % count
    raise LayerOutOfRangeError(
        f"layer {layer} is not an MoE layer; the MoE layers are {list(model.moe_layers)}"
    )


@dataclass(frozen=True, eq=False)
class ExpertMap:
    """The routed experts of MoE ``layer`` placed by ``by`` (``"coactivation"`` or ``"weights"``).

    ``positions`` float32 ``[experts, dims]`` (read-only), ``load`` float64 ``[experts]`` (share of the
    corpus's routed token-slots, sums to 1), ``counts`` int64 ``[experts]`` and ``coactivation`` int64
    ``[experts, experts]`` over the corpus, ``features`` float32 ``[experts, k]`` (what was projected),
    ``top_tokens[e]`` the token strings most often routed to ``e`` with their counts, ``description`` a
    sentence saying which basis and projection placed the points.
    """

    layer: int
    by: str
    method: str
    dims: int
    positions: np.ndarray
    load: np.ndarray
    counts: np.ndarray
    coactivation: np.ndarray
    features: np.ndarray
    num_texts: int
    num_tokens: int
    top_tokens: list[list[tuple[str, int]]]
    description: str
    projection: Projection = field(repr=False)

    @property
    def num_experts(self) -> int:
        return int(self.positions.shape[0])

    @property
    def relative_load(self) -> np.ndarray:
        """``load`` over the even share ``1 / experts`` (1 = even, 2 = twice its share)."""
        return self.load * self.num_experts

    def __repr__(self) -> str:
        return (
            f"ExpertMap(layer {self.layer}, {self.num_experts} experts by {self.by}, {self.method} "
            f"{self.dims}-D, {self.num_tokens} tokens of {self.num_texts} texts)"
        )


def expert_map(
    model: ModelInterface,
    layer: int,
    texts: Iterable[str] | Iterable[Trace] | None = None,
    by: Basis = "coactivation",
    dims: int = 2,
    method: Method = "pca",
    *,
    routing: LayerRouting | None = None,
    seed: int | None = 0,
    progress: bool = False,
) -> ExpertMap:
    """Place the routed experts of MoE ``layer`` in ``dims`` (2 or 3) dimensions by ``by`` (see the module
    notes), projected with ``method`` (``"pca"`` or ``"umap"``; ``"tsne"`` works too), coloured later by
    their load over ``texts`` (strings or traces; every text's routing is counted, whatever ``by``).

    ``routing`` (from :func:`count_layer_routing`) stands in for ``texts`` when it was counted already
    (a view switching layers or bases counts its corpus once). Without either, :class:`ValueError`:
    analysis reads no files, so the sample texts are the views' default (``dv.ExpertMapView``), or pass
    ``dv.sample_texts()[0]``."""
    if by not in BASES:
        hint = " (an expert's mean output is not offered: it needs a forward per expert and text)"
        raise ValueError(f"by must be one of {BASES}, not {by!r}{hint if by == 'output' else ''}")
    layer = moe_layer(model, layer)
    if routing is None:
        if texts is None:
            raise ValueError("give texts (or traces) to count the routing over, e.g. dv.sample_texts()[0]")
        routing = count_layer_routing(model, [layer], texts, progress=progress)[layer]
    elif routing.layer != layer:
        raise ValueError(f"routing= counts layer {routing.layer}, not layer {layer}")
    normalize: Normalize
    if by == "coactivation":
        features = coactivation_similarity(routing.coactivation)
        normalize = "center"
        what = (
            f"co-activation: each expert's row of the cosine similarity of the experts' token sets over "
            f"{routing.num_tokens} tokens of {routing.num_texts} texts (experts often chosen for the same "
            "token are close)"
        )
    else:
        features = model.expert_weight_summary(routing.layer).numpy().astype(np.float32)
        norms = np.linalg.norm(features, axis=1, keepdims=True)
        features = features / np.where(norms > 0, norms, 1.0)
        normalize = None
        what = (
            "weights: the router's weight rows (each expert's selecting direction in the residual stream), "
            "at unit length (experts selected by similar directions are close)"
        )
    projection = project(features, method, dims, seed, normalize=normalize)
    load = routing.load
    return ExpertMap(
        layer=routing.layer,
        by=by,
        method=method,
        dims=dims,
        positions=projection.coords,
        load=load,
        counts=routing.counts,
        coactivation=routing.coactivation,
        features=features,
        num_texts=routing.num_texts,
        num_tokens=routing.num_tokens,
        top_tokens=[counter.most_common(TOP_TOKENS) for counter in routing.tokens],
        description=f"Layer {routing.layer}'s {model.num_experts} routed experts placed by {what}; "
        f"{method.upper() if method == 'pca' else method} to {dims}-D; colour: load over the corpus.",
        projection=projection,
    )
