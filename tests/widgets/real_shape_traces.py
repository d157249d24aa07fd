"""Traces with DeepSeek-V3's real shapes (58 MoE layers × 256 experts in 8 groups, top-8, 62 lens
rows) and any length, for checking the bytes a view sends at 4,096 tokens without paying for a
forward pass of a 61-layer model on 2 cores. The values are random; every string a lens cell holds
is distinct and 16 characters long (more than any real token), so the bytes measured are a bound."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from deepseek_viz.model import LogitLens, Token
from deepseek_viz.model.trace import Prediction, Routing

V3_LAYERS, V3_MOE_LAYERS, V3_EXPERTS, V3_TOP_K, V3_GROUP = 61, tuple(range(3, 61)), 256, 8, 32


class RealShapeTrace:
    """Duck-typed :class:`~deepseek_viz.model.Trace`: tokens, routing, logit lens, top predictions."""

    def __init__(self, n: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.text = "x" * n
        self.tokens = [Token(0, "<bos>", 0, 0, special=True)] + [
            Token(1 + i % 300, f"w{i:05d} ", i * 7, i * 7 + 7) for i in range(n - 1)
        ]
        self.num_layers = V3_LAYERS
        self._routing = {}
        for layer in V3_MOE_LAYERS:
            experts = np.stack([rng.choice(V3_EXPERTS, V3_TOP_K, replace=False) for _ in range(n)])
            weights = np.sort(rng.random((n, V3_TOP_K)).astype(np.float32), axis=1)[:, ::-1] * 2.5
            self._routing[layer] = Routing(experts, weights, group_size=V3_GROUP)
        self._counter = 0

    @property
    def moe_layers(self) -> tuple[int, ...]:
        return V3_MOE_LAYERS

    def routing(self, layer: int) -> Routing | None:
        return self._routing.get(layer % V3_LAYERS)

    def _strings(self, count: int) -> list[str]:
        start, self._counter = self._counter, self._counter + count
        return [f"tok{i:013d}" for i in range(start, start + count)]

    def logit_lens(
        self, k: int = 1, layers: Iterable[int] | None = None, positions: Iterable[int] | None = None
    ) -> LogitLens:
        rows = list(range(V3_LAYERS + 1)) if layers is None else list(layers)
        chosen = list(range(len(self.tokens))) if positions is None else list(positions)
        shape = (len(rows), len(chosen), k)
        count = int(np.prod(shape))
        ids = np.arange(self._counter, self._counter + count).reshape(shape)
        texts = np.array(self._strings(count), dtype=object).reshape(shape).tolist()
        probs = np.full(shape, 0.0013, dtype=np.float32)
        return LogitLens(ids, probs, texts, tuple(rows), tuple(chosen))

    def top_predictions(self, k: int = 5, positions: Iterable[int] | None = None) -> list[list[Prediction]]:
        chosen = list(range(len(self.tokens))) if positions is None else list(positions)
        return [[Prediction(i, text, 0.001) for i, text in enumerate(self._strings(k))] for _ in chosen]


def message_bytes(data: Any, buffers: list[Any] | None) -> int:
    """Bytes of one comm message: its JSON and its binary buffers."""
    return len(json.dumps(data, default=str)) + sum(len(memoryview(b).cast("B")) for b in buffers or [])


def record_messages(widget: Any) -> list[int]:
    """Bytes of every message ``widget`` sends to the browser from now on, in order."""
    sent: list[int] = []
    widget.comm.send = lambda data=None, metadata=None, buffers=None: sent.append(
        message_bytes(data, buffers)
    )
    return sent
