"""The model as a module ``torch.jit.trace`` can record, for TensorBoard's graph (``add_graph``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch
from torch import nn

from .errors import UnsupportedModelError
from .hooked_model import HookedModel

T = TypeVar("T")


class _Logits(nn.Module):
    """The causal LM returning its logits only (a tensor: what ``torch.jit.trace`` records)."""

    def __init__(self, lm: nn.Module) -> None:
        super().__init__()
        self.lm = lm

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.lm(input_ids=input_ids, use_cache=False).logits
        return logits


def with_graph_module(model: object, text: str, use: Callable[[nn.Module, torch.Tensor], T]) -> T:
    """Call ``use(module, input_ids)`` through the model's gateway (its lock, deadline, OOM handling and
    MLA fast path), where ``module`` maps ``input_ids [1, n]`` (``text``'s tokens) to the logits.

    Only a :class:`HookedModel` in this process has a module to record; another
    :class:`~deepseek_viz.ModelInterface` (a client of a model service) raises
    :class:`UnsupportedModelError`.
    """
    if not isinstance(model, HookedModel):
        raise UnsupportedModelError(
            f"a graph needs the model's own torch module in this process; {type(model).__name__} has none "
            "(a remote model's graph can be drawn where it is loaded)"
        )
    ids = torch.tensor([[token.id for token in model.tokenize(text, truncate=True)]], device=model.device)
    with model._call(f"out of memory recording the graph of {model.name}; use a shorter example text"):
        return use(_Logits(model.model), ids)
