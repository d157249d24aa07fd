"""The result of tracing one text: everything every view reads, from a single forward pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from .errors import LayerOutOfRangeError
from .tokens import Token


@dataclass(frozen=True)
class Routing:
    """What one MoE layer's router chose for each token, ordered by weight (largest first).

    ``experts``: ``[n, k]`` routed-expert indices; ``weights``: ``[n, k]`` the gate weights the block
    multiplied the experts' outputs by; ``scores``: ``[n, num_experts]`` the router's logits.
    Shared experts, which every token uses, are not listed.
    """

    experts: np.ndarray
    weights: np.ndarray
    scores: np.ndarray
    group_size: int = 0  # experts per routing group (DeepSeek group-limited routing), 0 when ungrouped

    @property
    def groups(self) -> np.ndarray | None:
        """``[n, k]`` the routing group of each chosen expert, or ``None`` when routing is ungrouped."""
        return self.experts // self.group_size if self.group_size else None


@dataclass(frozen=True)
class LogitLens:
    """The final norm and unembedding applied to every layer's residual stream.

    ``token_ids`` and ``probs`` are ``[num_layers + 1, n, k]``: row ``0`` reads the embeddings, row ``L``
    the last layer (equal to the model's own next-token distribution). ``texts`` holds the decoded tokens.
    """

    token_ids: np.ndarray
    probs: np.ndarray
    texts: list[list[list[str]]]


@dataclass(frozen=True)
class Prediction:
    """One candidate next token."""

    token_id: int
    text: str
    prob: float


class Trace:
    """Tokens, attention patterns, hidden states, routing and predictions for one text.

    ``hidden_states[0]`` is the embedding output and ``hidden_states[L]`` the last layer's output after
    the final norm (as transformers returns them).
    """

    def __init__(
        self,
        text: str,
        tokens: list[Token],
        patterns: dict[int, torch.Tensor],
        thumbnails: dict[int, torch.Tensor],
        hidden: torch.Tensor,
        routing: dict[int, Routing],
        num_layers: int,
        final_norm: Callable[[torch.Tensor], torch.Tensor],
        unembed: Callable[[torch.Tensor], torch.Tensor],
        decode: Callable[[int], str],
        truncated: bool = False,
    ) -> None:
        self.text = text
        self.tokens = tokens
        self.truncated = truncated
        self.num_layers = num_layers
        self._patterns = patterns  # blocks.{L}.attn.hook_pattern  # [head, query, key]
        self._thumbnails = thumbnails  # blocks.{L}.attn.hook_thumbnail  # [head, bins, bins]
        self._hidden = hidden  # [layer + 1, position, d_model]
        self._routing = routing
        self._final_norm = final_norm
        self._unembed = unembed
        self._decode = decode

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays this trace holds (patterns, thumbnails, hidden states, routing)."""
        tensors = [*self._patterns.values(), *self._thumbnails.values(), self._hidden]
        arrays = [array for r in self._routing.values() for array in (r.experts, r.weights, r.scores)]
        return sum(t.numel() * t.element_size() for t in tensors) + sum(a.nbytes for a in arrays)

    @property
    def captured_layers(self) -> tuple[int, ...]:
        """Layers whose attention patterns this trace holds."""
        return tuple(sorted(self._patterns))

    def _layer(self, layer: int) -> int:
        if not -self.num_layers <= layer < self.num_layers:
            raise LayerOutOfRangeError(
                f"layer {layer} is out of range: the model has {self.num_layers} layers"
            )
        return layer % self.num_layers

    def attention_tensor(self, layer: int) -> torch.Tensor:
        """The stored pattern of ``layer``, ``[head, query, key]``, on the model's device."""
        index = self._layer(layer)
        if index not in self._patterns:
            raise LayerOutOfRangeError(
                f"attention of layer {index} was not captured; this trace holds layers {self.captured_layers}. "
                "Trace again with that layer in `layers`."
            )
        return self._patterns[index]

    def attention(self, layer: int) -> np.ndarray:
        """Attention probabilities of ``layer`` as float32 ``[head, query, key]``; rows sum to 1."""
        return self.attention_tensor(layer).float().cpu().numpy()

    @cached_property
    def thumbnails(self) -> np.ndarray | None:
        """Every layer's attention as block means, float32 ``[layer, head, bins, bins]``, if traced with
        ``thumbnails=bins`` (bins shrink to ``n`` for shorter texts), else ``None``."""
        if not self._thumbnails:
            return None
        return (
            torch.stack([self._thumbnails[layer] for layer in sorted(self._thumbnails)]).float().cpu().numpy()
        )

    @cached_property
    def hidden_states(self) -> np.ndarray:
        """Residual stream after each layer, float32 ``[num_layers + 1, n, d_model]``."""
        return self._hidden.float().cpu().numpy()

    def routing(self, layer: int) -> Routing | None:
        """The MoE routing of ``layer``, or ``None`` when that layer is dense."""
        return self._routing.get(self._layer(layer))

    @property
    def moe_layers(self) -> tuple[int, ...]:
        """Layers with routing in this trace."""
        return tuple(sorted(self._routing))

    @cached_property
    def logits(self) -> torch.Tensor:
        """Next-token logits, float32 ``[n, vocab]`` (computed on first use from the final hidden state)."""
        with torch.no_grad():
            return self._unembed(self._hidden[-1]).float()

    def top_predictions(self, k: int = 5) -> list[list[Prediction]]:
        """For each position, the ``k`` most probable next tokens with their probabilities."""
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        probs = torch.softmax(self.logits, dim=-1)
        top = torch.topk(probs, k=min(k, probs.shape[-1]), dim=-1)
        values, indices = top.values.cpu().tolist(), top.indices.cpu().tolist()
        return [
            [
                Prediction(token_id, self._decode(token_id), prob)
                for token_id, prob in zip(ids, ps, strict=True)
            ]
            for ids, ps in zip(indices, values, strict=True)
        ]

    def logit_lens(self, k: int = 1) -> LogitLens:
        """Top-``k`` next tokens read from every layer's hidden state (see :class:`LogitLens`)."""
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        ids, probs = [], []
        with torch.no_grad():
            for layer, state in enumerate(self._hidden):
                normed = state if layer == self.num_layers else self._final_norm(state)
                top = torch.topk(torch.softmax(self._unembed(normed).float(), dim=-1), k=k, dim=-1)
                ids.append(top.indices.cpu())
                probs.append(top.values.cpu())
        token_ids = torch.stack(ids).numpy()
        texts = [[[self._decode(int(i)) for i in position] for position in layer] for layer in token_ids]
        return LogitLens(token_ids=token_ids, probs=torch.stack(probs).numpy(), texts=texts)

    def __repr__(self) -> str:
        return (
            f"Trace({len(self.tokens)} tokens, attention layers {list(self.captured_layers)}, "
            f"MoE layers {list(self.moe_layers)})"
        )
