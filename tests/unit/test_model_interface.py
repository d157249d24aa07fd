"""The one model interface: what implements it, what may stand in for it, and the gateway every call takes."""

from __future__ import annotations

import ast
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import deepseek_viz as dv
from deepseek_viz.analysis.attribution import NextToken, clear_cache
from deepseek_viz.analysis.attribution.scoring import Scorer, baseline_vector
from deepseek_viz.analysis.embeddings import clear_embedding_cache, embed_texts
from deepseek_viz.analysis.routing_stats import routing_statistics
from deepseek_viz.model import ModelInterface, attention_capture
from deepseek_viz.widgets.routing_view import RoutingView

SRC = Path(dv.__file__).parent
TEXTS = ["Fever may indicate flu.", "Quarterly revenue rose 12% to $4.2 billion."]
TEXT = "Chest pain can be a sign of a heart attack."
#: What torch's CPU allocator raises when an allocation fails.
CPU_OOM = "DefaultCPUAllocator: can't allocate memory: you tried to allocate 68719476736 bytes."
#: Every member of the interface (methods, properties and the settable ``max_seconds``).
MEMBERS = {name for name in dir(ModelInterface) if not name.startswith("_")} | set(
    ModelInterface.__annotations__
)


@pytest.fixture(scope="module")
def hooked(tiny_checkpoints: dict[str, Path]) -> dv.HookedModel:
    return dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu")


@pytest.fixture(autouse=True)
def no_cached_results() -> None:
    clear_embedding_cache()
    clear_cache()


class StandIn:
    """Offers exactly the interface's members, forwarded to a HookedModel, as a model-service client
    would: anything else (``.model``, ``.tokenizer``, ``.arch``) is an AttributeError."""

    def __init__(self, inner: dv.HookedModel) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name not in MEMBERS:
            raise AttributeError(f"the model interface has no {name!r}")
        return getattr(self._inner, name)


def test_hooked_model_implements_the_interface(hooked: dv.HookedModel) -> None:
    assert isinstance(hooked, ModelInterface)
    assert not isinstance("not a model", ModelInterface)
    assert {"trace", "tokenize", "time_limit", "logits", "hidden_states", "input_embeddings"} <= MEMBERS
    assert hooked.d_model == 32 and hooked.vocab_size == 400 and hooked.pad_token_id == 1
    assert (hooked.num_experts, hooked.num_shared_experts, hooked.experts_per_token) == (8, 1, 2)
    assert hooked.routing_group_size == 2
    assert hooked.decode(hooked.encode(" heart attack")) == " heart attack"
    assert hooked.token_strings(hooked.encode(" flu"))[0].startswith("Ġ")


def test_a_stand_in_for_the_model_is_accepted_everywhere(hooked: dv.HookedModel) -> None:
    stand_in = StandIn(hooked)
    assert isinstance(stand_in, ModelInterface) and not isinstance(stand_in, dv.HookedModel)
    with pytest.raises(AttributeError):
        stand_in.tokenizer  # noqa: B018

    np.testing.assert_array_equal(
        embed_texts(stand_in, TEXTS, progress=False),  # type: ignore[arg-type]
        embed_texts(hooked, TEXTS, progress=False),
    )
    ours = dv.explain(stand_in, TEXT, methods=("shap", "input_x_gradient"), cache=False)  # type: ignore[arg-type]
    theirs = dv.explain(hooked, TEXT, methods=("shap", "input_x_gradient"), cache=False)
    for method in ours.methods:
        np.testing.assert_allclose(ours.scores[method], theirs.scores[method], atol=1e-6)
    np.testing.assert_array_equal(
        routing_statistics(stand_in, [TEXT]).counts,  # type: ignore[arg-type]
        routing_statistics(hooked, [TEXT]).counts,
    )
    view = RoutingView(stand_in, text=TEXT)  # type: ignore[arg-type]
    assert view.model is stand_in and view.num_experts == 8 and view.trace is not None
    with pytest.raises(TypeError, match="HookedModel"):
        RoutingView(object(), text=TEXT)  # type: ignore[arg-type]


def test_import_leaves_sdpa_alone_and_the_first_model_installs_the_wrapper(
    tiny_checkpoints: dict[str, Path],
) -> None:
    script = """
import sys
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
import deepseek_viz
from deepseek_viz.model.attention_capture import _sdpa_with_capture
print("after import:", ALL_ATTENTION_FUNCTIONS["sdpa"] is sdpa_attention_forward)
deepseek_viz.load_model(sys.argv[1], device="cpu")
deepseek_viz.load_model(sys.argv[1], device="cpu")
print("after loading:", ALL_ATTENTION_FUNCTIONS["sdpa"] is _sdpa_with_capture)
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(tiny_checkpoints["llama"])],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["after import: True", "after loading: True"]


def _bound_scorer(model: dv.HookedModel) -> Scorer:
    tokens = model.tokenize(TEXT)
    vector, _ = baseline_vector(model, "pad")
    return Scorer(NextToken().bind(model, tokens), np.array([t.special for t in tokens]), vector)


def _every_model_call(model: dv.HookedModel, text: str) -> list[Any]:
    """A trace, a batched embedding, scoring without and with gradients, each of a fresh ``text``."""
    scorer = _bound_scorer(model)
    keep = np.ones((1, scorer.num_features), dtype=bool)
    inputs = scorer.inputs.unsqueeze(0).clone().requires_grad_(True)
    return [
        lambda: model.trace(text),
        lambda: embed_texts(model, [text, text + " again"], progress=False),
        lambda: scorer.score_keep(keep),
        lambda: torch.autograd.grad(scorer.score_embeddings(inputs).sum(), inputs),
    ]


def test_a_cpu_allocation_failure_is_a_clear_error_everywhere(
    tiny_checkpoints: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu")
    layer = model.arch.layers[1]
    forward = layer.forward

    def no_memory(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(CPU_OOM)

    for number, call in enumerate(_every_model_call(model, f"Out of memory, take {len(TEXT)}.")):
        cached = model.trace("A cached trace.")
        monkeypatch.setattr(layer, "forward", no_memory)
        with pytest.raises(dv.TraceOutOfMemoryError) as raised:
            call()
        assert isinstance(raised.value.__cause__, RuntimeError), number
        assert not model._cache, f"call {number}: the trace cache was freed"
        monkeypatch.setattr(layer, "forward", forward)
        call()  # the model is usable again
        assert model.trace("A cached trace.") is not cached

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(layer, "forward", broken)
    with pytest.raises(RuntimeError, match="shape mismatch"):  # other errors pass through unchanged
        model.trace("Not a memory error.")


def test_the_time_limit_bounds_every_model_call(hooked: dv.HookedModel) -> None:
    calls = _every_model_call(hooked, "No time at all for this text.")
    hooked.max_seconds = 0.0
    try:
        for call in calls:
            with pytest.raises(dv.ComputationTimeoutError):
                call()
    finally:
        hooked.max_seconds = None
    assert not any(layer._forward_pre_hooks for layer in hooked.arch.layers)
    for call in calls:
        call()


def test_one_request_at_a_time_and_calls_nest(hooked: dv.HookedModel) -> None:
    scorer = _bound_scorer(hooked)
    done = threading.Event()

    def other_request() -> None:
        hooked.trace("A trace from another thread.")
        done.set()

    worker = threading.Thread(target=other_request)
    with hooked.time_limit(60.0):
        hooked.trace("A trace inside a time limit.")  # nested calls do not deadlock
        scorer.value(True)
        worker.start()
        assert not done.wait(0.5), "another thread's model call waits for this request to end"
    worker.join(60)
    assert done.is_set()


def test_mla_values_are_padded_in_every_forward_the_package_runs(
    hooked: dv.HookedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    widths: list[tuple[int, int]] = []
    sdpa = attention_capture.sdpa_attention_forward

    def spy(
        module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, *args: Any, **kwargs: Any
    ) -> Any:
        widths.append((query.shape[-1], value.shape[-1]))
        return sdpa(module, query, key, value, *args, **kwargs)

    monkeypatch.setattr(attention_capture, "sdpa_attention_forward", spy)
    for call in _every_model_call(hooked, "Padded values, fast kernel."):
        widths.clear()
        call()
        assert widths and all(q == v == 16 for q, v in widths), widths
    widths.clear()
    with torch.no_grad():  # a forward deepseek-viz does not run keeps MLA's own value width
        hooked.model(input_ids=torch.tensor([[0, 5, 6]]))
    assert widths and all((q, v) == (16, 12) for q, v in widths)


def _reaches_into_a_model(source: str) -> list[str]:
    """``x.tokenizer``, ``x.arch`` and ``model.model`` (``self.model.model``, ``self._hooked.model``…)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        base = node.value
        base_name = (
            base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else ""
        )
        if node.attr in ("tokenizer", "arch") or (node.attr == "model" and base_name in ("model", "_hooked")):
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


def test_nothing_outside_the_model_package_reaches_into_a_model() -> None:
    assert _reaches_into_a_model("logits = self.model.model(ids)\nids = model.tokenizer(text)")
    assert _reaches_into_a_model("n = self._hooked.arch.num_routed_experts")
    assert not _reaches_into_a_model("self.model.trace(text)\nself.model = model")
    offenders = {
        str(path.relative_to(SRC)): found
        for path in SRC.rglob("*.py")
        if SRC / "model" not in path.parents and (found := _reaches_into_a_model(path.read_text()))
    }
    assert not offenders, f"only deepseek_viz/model/ may touch a model's internals: {offenders}"
