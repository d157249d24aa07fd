"""Every array a view syncs is one :class:`ArrayTrait` that crosses as a binary buffer, never JSON."""

from __future__ import annotations

import json
from pathlib import Path

import anywidget
import pytest
import traitlets
from ipywidgets.widgets.widget import _remove_buffers

import deepseek_viz as dv
import deepseek_viz.widgets
from deepseek_viz.widgets import (
    AttentionView,
    AttributionView,
    EmbeddingScatter,
    GenerationView,
    PredictionView,
    RoutingView,
)
from deepseek_viz.widgets.buffers import ArrayTrait, EncodedArray
from tests.widgets.conftest import Serving

TEXT = "Fever may indicate flu."


def package_widgets() -> list[type[anywidget.AnyWidget]]:
    """Every anywidget class the package defines (its views, the dashboard's text box, …)."""
    found, todo = [], [anywidget.AnyWidget]
    while todo:
        for cls in todo.pop().__subclasses__():
            todo.append(cls)
            if cls.__module__.startswith(deepseek_viz.widgets.__name__):
                found.append(cls)
    return found


def test_every_view_is_covered() -> None:
    views = {AttentionView, AttributionView, EmbeddingScatter, GenerationView, PredictionView, RoutingView}
    assert views <= set(package_widgets())


@pytest.mark.parametrize("cls", package_widgets(), ids=lambda cls: cls.__name__)
def test_no_bytes_traits_and_no_meta_dicts(cls: type[anywidget.AnyWidget]) -> None:
    synced = cls.class_traits(sync=True)
    assert not [name for name, trait in synced.items() if isinstance(trait, traitlets.Bytes)]
    assert not [name for name in cls.class_traits() if name.endswith("_meta")]


@pytest.fixture(scope="module")
def hooked(tiny_checkpoints: dict[str, Path], serving: Serving) -> dv.HookedModel:
    return serving(dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu"))


@pytest.fixture(scope="module")
def views(hooked: dv.HookedModel) -> list[anywidget.AnyWidget]:
    """One of each view, every array of it filled."""
    generation = GenerationView(hooked, TEXT, max_new_tokens=4)
    generation.generate()
    generation.wait(120)
    return [
        generation,
        AttentionView(hooked, text=TEXT),
        RoutingView(hooked, text=TEXT, corpus=[TEXT, "risk rose"], selected_token=1),
        PredictionView(hooked, text=TEXT),
        AttributionView(hooked, TEXT, methods=["input_x_gradient"], live_faithfulness=False),
        EmbeddingScatter(hooked, [TEXT, "risk rose", "the cat sat"], method="pca", progress=False),
    ]


def test_every_array_crosses_as_a_binary_buffer(views: list[anywidget.AnyWidget]) -> None:
    for view in views:
        arrays = [name for name, trait in view.traits(sync=True).items() if isinstance(trait, ArrayTrait)]
        assert arrays, f"{type(view).__name__} syncs no arrays"
        state, paths, buffers = _remove_buffers(view.get_state())
        json.dumps(state)  # everything else is JSON
        sent = {tuple(path): bytes(buffer) for path, buffer in zip(paths, buffers, strict=True)}
        for name in arrays:
            value = getattr(view, name)
            assert isinstance(value, EncodedArray), f"{type(view).__name__}.{name} is empty"
            assert state[name] == value.header()
            assert sent[(name, "buffer")] == value.data
        assert len(sent) == len(arrays)  # no other binary parts
