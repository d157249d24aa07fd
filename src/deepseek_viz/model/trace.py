"""The result of tracing one text: everything every view reads, from a single forward pass."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch

from .attention_capture import HEAD_SCORES
from .errors import LayerOutOfRangeError
from .tokens import Token

#: Most bytes of float32 logits (and their softmax's working copy) one step of the lens or the
#: predictions holds: positions are read in chunks of this size, never ``[n, vocab]`` at once.
LOGITS_CHUNK_BYTES = 64 << 20


def normalise_layers(layers: Iterable[int] | None, num_layers: int) -> tuple[int, ...]:
    """``layers`` (``None``: all; negative ones count from the end) sorted, each once; one out of range is
    a :class:`LayerOutOfRangeError`."""
    if layers is None:
        return tuple(range(num_layers))
    chosen = set()
    for layer in layers:
        if not -num_layers <= layer < num_layers:
            raise LayerOutOfRangeError(
                f"layer {layer} is out of range: the model has {num_layers} layers (0–{num_layers - 1})"
            )
        chosen.add(layer % num_layers)
    return tuple(sorted(chosen))


def answering_key(keys: Iterable[tuple[Any, ...]], key: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """Of trace cache ``keys`` (``(text, layers, truncate, thumbnails, interventions)``, newest first),
    the one whose trace answers ``key``: the same text, the same truncation (or none, where a truncated
    trace is allowed: the text fitted), the same thumbnails where any are asked for, the same
    interventions. Any layers: a layer the cached trace did not keep is computed from its input when
    read, for less than a new forward. The newest such, preferring one that keeps the layers asked."""
    text, layers, truncate, thumbnails, interventions = key
    answering = [
        cached
        for cached in keys
        if cached[0] == text
        and cached[2] in (truncate, False)
        and thumbnails in (None, cached[3])
        and cached[4] == interventions
    ]
    if not answering:
        return None
    return min(answering, key=lambda cached: not set(layers) <= set(cached[1]))  # stable: newest first


def _tensors_in(values: Iterable[object]) -> list[torch.Tensor]:
    """The distinct tensors among ``values`` and the tuples in it (each object once)."""
    found: dict[int, torch.Tensor] = {}
    for value in values:
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, torch.Tensor):
                found[id(item)] = item
    return list(found.values())


@dataclass(frozen=True)
class Routing:
    """What one MoE layer's router chose for each token, ordered by weight (largest first).

    ``experts``: ``[n, k]`` routed-expert indices; ``weights``: ``[n, k]`` the gate weights the block
    multiplied the experts' outputs by (the router's logits over every expert are not kept:
    :meth:`Trace.router_scores`). Shared experts, which every token uses, are not listed.
    """

    experts: np.ndarray
    weights: np.ndarray
    group_size: int = 0  # experts per routing group (DeepSeek group-limited routing), 0 when ungrouped

    @property
    def groups(self) -> np.ndarray | None:
        """``[n, k]`` the routing group of each chosen expert, or ``None`` when routing is ungrouped."""
        return self.experts // self.group_size if self.group_size else None


@dataclass(frozen=True)
class LogitLens:
    """The final norm and unembedding applied to layers' residual streams.

    ``token_ids`` and ``probs`` (float32) are ``[len(layers), len(positions), k]``; ``layers`` index the
    hidden states: ``0`` reads the embeddings, ``num_layers`` the last layer (equal to the model's own
    next-token distribution). By default all ``num_layers + 1`` rows and all positions. ``texts`` holds
    the decoded tokens.
    """

    token_ids: np.ndarray
    probs: np.ndarray
    texts: list[list[list[str]]]
    layers: tuple[int, ...]
    positions: tuple[int, ...]


@dataclass(frozen=True)
class Completion:
    """What a generated trace adds to :class:`~deepseek_viz.Trace`: where the completion starts, and for
    each generated token (``m`` of them) the probability it had and the entropy (nats) of the
    distribution it was drawn from (after temperature / top-k / top-p; greedy: the model's own)."""

    prompt_length: int
    probs: np.ndarray  # float32 [m]
    entropies: np.ndarray  # float32 [m]
    stop_reason: str  # "length", "eos", "stop string", "stopped" or "time limit"


@dataclass(frozen=True)
class Prediction:
    """One candidate next token."""

    token_id: int
    text: str
    prob: float


class Trace:
    """Tokens, attention patterns, hidden states, routing and predictions for one text.

    ``hidden_states[0]`` is the embedding output and ``hidden_states[L]`` the last layer's output after
    the final norm (as transformers returns them). Captured tensors stay where the model computed them
    (with a sharded model, on each layer's device) and are moved to the CPU only when read.
    """

    def __init__(
        self,
        text: str,
        tokens: list[Token],
        patterns: dict[int, torch.Tensor],
        thumbnails: dict[int, torch.Tensor],
        head_scores: dict[int, torch.Tensor],
        hidden: Sequence[torch.Tensor],
        routing: dict[int, Routing],
        num_layers: int,
        final_norm: Callable[[torch.Tensor], torch.Tensor],
        unembed: Callable[[torch.Tensor], torch.Tensor],
        vocab_size: int,
        decode: Callable[[int], str],
        truncated: bool = False,
        layer_attention: Callable[[int, tuple[int, ...] | None], torch.Tensor] | None = None,
        router_logits: Callable[[int], torch.Tensor] | None = None,
        arguments: Iterable[object] = (),
        interventions: tuple[Any, ...] = (),
    ) -> None:
        self.text = text
        self.tokens = tokens
        self.truncated = truncated
        self.num_layers = num_layers
        self._patterns = patterns  # blocks.{L}.attn.hook_pattern  # [head, query, key]
        self._thumbnails = thumbnails  # blocks.{L}.attn.hook_thumbnail  # [head, bins, bins]
        self._head_scores = head_scores  # blocks.{L}.attn.hook_scores  # [head, 4]
        self._hidden = list(hidden)  # layer + 1 × [position, d_model]
        self._routing = routing
        self._final_norm = final_norm
        self._unembed = unembed
        self._vocab_size = vocab_size
        self._decode = decode
        #: The interventions the trace ran under (:meth:`HookedModel.intervene`); ``()``: none.
        self.interventions = interventions
        self._layer_attention = layer_attention
        self._router_logits = router_logits
        self._arguments = _tensors_in(arguments)  # what layer_attention runs a layer with besides its input
        # the last pattern computed on demand: its layer, its heads (None: all), [head, n, n]
        self._read: tuple[int, tuple[int, ...] | None, torch.Tensor] | None = None
        #: For a trace of :meth:`HookedModel.generate`: the prompt's length and each generated token's
        #: probability and entropy (a :class:`Completion`); ``None`` for a traced text.
        self.completion: Completion | None = None

    @property
    def prompt_length(self) -> int:
        """Tokens of the prompt of a generated trace (the completion starts there); all tokens otherwise."""
        return self.completion.prompt_length if self.completion is not None else len(self.tokens)

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays this trace holds (patterns, thumbnails, head scores, hidden states, routing,
        the layer arguments kept to recompute a pattern and the last pattern recomputed)."""
        tensors = [
            *self._patterns.values(),
            *self._thumbnails.values(),
            *self._head_scores.values(),
            *self._hidden,
            *self._arguments,
            *([self._read[2]] if self._read is not None else []),
        ]
        arrays = [array for r in self._routing.values() for array in (r.experts, r.weights)]
        return sum(t.numel() * t.element_size() for t in tensors) + sum(a.nbytes for a in arrays)

    @property
    def captured_layers(self) -> tuple[int, ...]:
        """Layers whose attention patterns (of every head) this trace holds now: those kept from the
        forward (``layers``) and the last one computed on demand for all heads."""
        read = [self._read[0]] if self._read is not None and self._read[1] is None else []
        return tuple(sorted({*self._patterns, *read}))

    def _layer(self, layer: int) -> int:
        if not -self.num_layers <= layer < self.num_layers:
            raise LayerOutOfRangeError(
                f"layer {layer} is out of range: the model has {self.num_layers} layers"
            )
        return layer % self.num_layers

    def attention_tensor(self, layer: int, heads: Sequence[int] | None = None) -> torch.Tensor:
        """The pattern of ``layer``, ``[head, query, key]`` (the ``heads`` given, in that order; default
        all), on that layer's device. A layer the forward did not keep is computed now by running that
        decoder layer alone on its stored input (no forward pass; about ``1 / num_layers`` of one), for
        the heads asked for only, and kept until another such read."""
        index = self._layer(layer)
        chosen = None if heads is None else tuple(int(head) for head in heads)
        if index in self._patterns:
            pattern = self._patterns[index]
            return pattern if chosen is None else pattern[list(chosen)]
        read = self._read
        if read is not None and read[0] == index:
            held = read[1]
            if held is None:
                return read[2] if chosen is None else read[2][list(chosen)]
            if chosen is not None and set(chosen) <= set(held):
                return read[2][[held.index(head) for head in chosen]]
        if self._layer_attention is None:
            raise LayerOutOfRangeError(
                f"attention of layer {index} was not captured; this trace holds layers {self.captured_layers}. "
                "Trace again with that layer in `layers`."
            )
        self._read = None  # the previous one is freed before the next is made
        self._read = (index, chosen, self._layer_attention(index, chosen))
        return self._read[2]

    def attention(self, layer: int) -> np.ndarray:
        """Attention probabilities of ``layer`` as float32 ``[head, query, key]``; rows sum to 1."""
        return self.attention_tensor(layer).float().cpu().numpy()

    #: Names of :attr:`head_scores`' last axis.
    HEAD_SCORES = HEAD_SCORES

    @staticmethod
    def _stack(per_layer: dict[int, torch.Tensor]) -> np.ndarray | None:
        if not per_layer:
            return None
        return torch.stack([per_layer[layer].float().cpu() for layer in sorted(per_layer)]).numpy()

    @cached_property
    def thumbnails(self) -> np.ndarray | None:
        """Every layer's attention as block means, float32 ``[layer, head, bins, bins]``, if traced with
        ``thumbnails=bins`` (bins shrink to ``n`` for shorter texts), else ``None``. Exact for the layers
        whose full pattern is kept and for texts of at most ``4 · bins`` tokens; otherwise each bin is the
        mean over 4 evenly spaced query rows per bin (the all-heads summary costs ``O(bins · n)`` per
        head, not ``O(n²)``)."""
        return self._stack(self._thumbnails)

    @cached_property
    def head_scores(self) -> np.ndarray | None:
        """Per-head scores from the same query rows as :attr:`thumbnails`, float32 ``[layer, head, 4]``
        (``None`` without thumbnails), in the order of :attr:`HEAD_SCORES`: ``previous_token`` (mean
        weight on the token before the query), ``first_token`` (on the first token, BOS), ``self`` (on
        the query's own position) and ``entropy`` (mean entropy of a row, in nats)."""
        return self._stack(self._head_scores)

    @cached_property
    def hidden_states(self) -> np.ndarray:
        """Residual stream after each layer, float32 ``[num_layers + 1, n, d_model]``."""
        return torch.stack([state.float().cpu() for state in self._hidden]).numpy()

    def hidden_state(self, layer: int) -> np.ndarray:
        """One layer's residual stream, float32 ``[n, d_model]`` (``hidden_states[layer]``, negative
        layers from the end), a copy of that layer alone."""
        count = self.num_layers + 1
        if not -count <= layer < count:
            raise LayerOutOfRangeError(
                f"hidden state {layer} is out of range: the trace has {count} (0–{count - 1})"
            )
        return self._hidden[layer % count].to("cpu", torch.float32, copy=True).numpy()  # not the trace's own

    def routing(self, layer: int) -> Routing | None:
        """The MoE routing of ``layer``, or ``None`` when that layer is dense."""
        return self._routing.get(self._layer(layer))

    def router_scores(self, layer: int) -> np.ndarray:
        """The router's logits over every routed expert of MoE ``layer``, float32 ``[n, num_experts]``,
        computed now by running that decoder layer alone on its stored input (not kept)."""
        index = self._layer(layer)
        if index not in self._routing:
            raise LayerOutOfRangeError(f"layer {index} is dense: its MLP has no router")
        if self._router_logits is None:
            raise LayerOutOfRangeError("this trace cannot recompute a layer: it keeps no layer inputs")
        return self._router_logits(index).float().cpu().numpy()

    @property
    def moe_layers(self) -> tuple[int, ...]:
        """Layers with routing in this trace."""
        return tuple(sorted(self._routing))

    @cached_property
    def logits(self) -> torch.Tensor:
        """Next-token logits, float32 ``[n, vocab]``, computed on first use from the final hidden state
        and kept: costly at a real vocabulary (129k × 4 bytes per position); the views read
        :meth:`top_predictions` and :meth:`logit_lens`, which never hold ``[n, vocab]`` at once."""
        with torch.no_grad():
            return self._unembed(self._hidden[-1]).float()

    def _positions(self, positions: Iterable[int] | None) -> list[int]:
        n = len(self.tokens)
        if positions is None:
            return list(range(n))
        chosen = list(positions)
        for position in chosen:
            if not -n <= position < n:
                raise IndexError(f"position {position} is out of range: the trace has {n} tokens")
        return [position % n for position in chosen]

    def _top_k(self, layer: int, positions: list[int], k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-``k`` token ids and probabilities (float32, on the CPU) read from hidden state ``layer``
        at ``positions``: chunks of positions, each through the final norm (except the last layer's,
        which has it) and the unembedding on the model's device, softmax via logsumexp."""
        state = self._hidden[layer]
        rows = max(1, LOGITS_CHUNK_BYTES // (2 * 4 * self._vocab_size))
        k = min(k, self._vocab_size)
        index = torch.tensor(positions, dtype=torch.long, device=state.device)
        ids, probs = [], []
        with torch.no_grad():
            for start in range(0, len(positions), rows):
                chunk = state[index[start : start + rows]]
                normed = chunk if layer == self.num_layers else self._final_norm(chunk)
                logits = self._unembed(normed).float()
                top = torch.topk(logits, k=k, dim=-1)
                ids.append(top.indices.cpu())
                probs.append(torch.exp(top.values - torch.logsumexp(logits, dim=-1, keepdim=True)).cpu())
        if not ids:
            return torch.zeros(0, k, dtype=torch.long), torch.zeros(0, k)
        return torch.cat(ids), torch.cat(probs)

    def top_predictions(self, k: int = 5, positions: Iterable[int] | None = None) -> list[list[Prediction]]:
        """For each position (default: all), the ``k`` most probable next tokens with their probabilities."""
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        ids, probs = self._top_k(self.num_layers, self._positions(positions), k)
        return [
            [
                Prediction(token_id, self._decode(token_id), prob)
                for token_id, prob in zip(row_ids, row_probs, strict=True)
            ]
            for row_ids, row_probs in zip(ids.tolist(), probs.tolist(), strict=True)
        ]

    def next_token_scores(self, targets: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """At each position: the entropy (nats) of the model's next-token distribution and the negative
        log-probability (nats) of ``targets[i]`` there, float32 ``[n]`` each.

        ``targets`` (``n`` token ids; ``-1``: none, its NLL is NaN) default to the text's own next tokens
        (the last position has none). Read in chunks of positions like :meth:`top_predictions`: never
        ``[n, vocab]`` at once, nothing kept.
        """
        n = len(self.tokens)
        wanted = (
            [token.id for token in self.tokens[1:]] + [-1] if targets is None else [int(t) for t in targets]
        )
        if len(wanted) != n:
            raise ValueError(f"targets has {len(wanted)} ids for a trace of {n} tokens")
        state = self._hidden[-1]  # after the final norm
        rows = max(1, LOGITS_CHUNK_BYTES // (2 * 4 * self._vocab_size))
        entropy = np.empty(n, dtype=np.float32)
        nll = np.full(n, np.nan, dtype=np.float32)
        with torch.no_grad():
            for start in range(0, n, rows):
                log_probs = torch.log_softmax(self._unembed(state[start : start + rows]).float(), dim=-1)
                chunk_entropy = -(log_probs.exp() * log_probs.nan_to_num(neginf=0.0)).sum(dim=-1)
                entropy[start : start + len(log_probs)] = chunk_entropy.cpu().numpy()
                chosen = torch.tensor(wanted[start : start + rows], dtype=torch.long, device=log_probs.device)
                picked = -log_probs.gather(-1, chosen.clamp(min=0)[:, None])[:, 0]
                picked = torch.where(chosen >= 0, picked, torch.full_like(picked, float("nan")))
                nll[start : start + len(log_probs)] = picked.cpu().numpy()
        return entropy, nll

    def logit_lens(
        self, k: int = 1, layers: Iterable[int] | None = None, positions: Iterable[int] | None = None
    ) -> LogitLens:
        """Top-``k`` next tokens read from the hidden states of ``layers`` (``0`` … ``num_layers``,
        negative from the end; default: all) at ``positions`` (default: all); see :class:`LogitLens`.
        Only top-``k`` is kept: the work grows with the layers and positions asked for."""
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        rows = self.num_layers + 1
        chosen_layers = list(range(rows)) if layers is None else list(layers)
        for layer in chosen_layers:
            if not -rows <= layer < rows:
                raise LayerOutOfRangeError(
                    f"lens layer {layer} is out of range: hidden states run 0–{self.num_layers}"
                )
        chosen_layers = [layer % rows for layer in chosen_layers]
        chosen_positions = self._positions(positions)
        read = [self._top_k(layer, chosen_positions, k) for layer in chosen_layers]
        token_ids = torch.stack([ids for ids, _ in read]).numpy()
        probs = torch.stack([probs for _, probs in read]).numpy()
        texts = [[[self._decode(int(i)) for i in position] for position in layer] for layer in token_ids]
        return LogitLens(
            token_ids=token_ids,
            probs=probs,
            texts=texts,
            layers=tuple(chosen_layers),
            positions=tuple(chosen_positions),
        )

    def __repr__(self) -> str:
        return (
            f"Trace({len(self.tokens)} tokens, attention layers {list(self.captured_layers)}, "
            f"MoE layers {list(self.moe_layers)})"
        )
