"""The widget suite runs twice: on each model in process, and on the same model behind the model service
(``dv.connect`` through ``LocalTransport``: every call through the service's calls and its wire bytes)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from deepseek_viz.model import HookedModel, ModelInterface
from deepseek_viz.serve import LocalTransport, ModelCalls, ServiceLimits, connect

Serving = Callable[[HookedModel], ModelInterface]


def _served(model: HookedModel) -> ModelInterface:
    limits = ServiceLimits(max_tokens=model.max_tokens, max_chars=10**7, max_seconds=None, max_samples=10**6)
    return connect("local", transport=LocalTransport(ModelCalls(model, limits)))


@pytest.fixture(scope="module", params=["local", "served"])
def serving(request: pytest.FixtureRequest) -> Serving:
    """How this module's tests reach their models: the model itself, or a client of it as served."""
    return _served if request.param == "served" else lambda model: model
