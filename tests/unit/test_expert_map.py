"""The expert map: co-activation counted as the traces say, the router rows read as the weights basis,
positions of the right shape for each projection."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
import torch

import deepseek_viz as dv
from deepseek_viz.analysis.expert_map import coactivation_similarity, count_layer_routing, expert_map

TEXTS = ["Fever may indicate flu.", "Quarterly revenue rose 12%.", "你好，世界 🙂", "The cat sat on the mat."]


@pytest.fixture(scope="module")
def hooked(tiny_checkpoints: dict[str, Path]) -> dv.HookedModel:
    return dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu")


def test_coactivation_counts_equal_a_count_by_hand(hooked: dv.HookedModel) -> None:
    routing = count_layer_routing(hooked, hooked.moe_layers, TEXTS)
    for layer in hooked.moe_layers:
        by_hand = np.zeros((8, 8), dtype=np.int64)
        tokens = 0
        for text in TEXTS:
            trace = hooked.trace(text, layers=[], truncate=True)
            chosen = trace.routing(layer)
            assert chosen is not None
            for i, token in enumerate(trace.tokens):
                if token.special:
                    continue
                tokens += 1
                experts = sorted({int(e) for e in chosen.experts[i]})
                for a in experts:
                    by_hand[a, a] += 1
                for a, b in combinations(experts, 2):
                    by_hand[a, b] += 1
                    by_hand[b, a] += 1
        counted = routing[layer]
        np.testing.assert_array_equal(counted.coactivation, by_hand)
        np.testing.assert_array_equal(counted.counts, np.diag(by_hand))
        assert counted.num_tokens == tokens and counted.num_texts == len(TEXTS)
        assert counted.counts.sum() == 2 * tokens  # top-2
        np.testing.assert_allclose(counted.load.sum(), 1.0)


def test_similarity_is_the_cosine_of_token_sets() -> None:
    coactivation = np.array([[4, 2, 0], [2, 1, 0], [0, 0, 0]])
    similarity = coactivation_similarity(coactivation)
    np.testing.assert_allclose(similarity[0, 1], 2 / np.sqrt(4 * 1))
    np.testing.assert_allclose(np.diag(similarity), [1, 1, 0])  # an unused expert: a zero row
    assert not similarity[2].any()


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("by", ["coactivation", "weights"])
def test_positions_shape_dims_and_load(hooked: dv.HookedModel, by: str, dims: int) -> None:
    result = expert_map(hooked, 2, TEXTS, by=by, dims=dims)  # type: ignore[arg-type]
    assert result.positions.shape == (8, dims) and result.positions.dtype == np.float32
    assert result.dims == dims and result.by == by and result.method == "pca" and result.layer == 2
    assert result.load.shape == (8,) and np.isclose(result.load.sum(), 1.0)
    assert (
        "co-activation" if by == "coactivation" else "router"
    ) in result.description and f"{dims}-D" in result.description
    assert len(result.top_tokens) == 8


def test_umap_places_the_experts_too(hooked: dv.HookedModel) -> None:
    result = expert_map(hooked, 1, TEXTS, by="weights", dims=3, method="umap")
    assert result.positions.shape == (8, 3) and np.isfinite(result.positions).all()


def test_weights_basis_reads_the_router_rows(hooked: dv.HookedModel) -> None:
    rows = hooked.expert_weight_summary(1)
    gate = hooked.model.model.layers[1].mlp.gate.weight  # type: ignore[union-attr,index]
    torch.testing.assert_close(rows, gate.detach().float())
    assert rows.shape == (8, hooked.d_model) and rows.data_ptr() != gate.data_ptr()  # a copy
    result = expert_map(hooked, 1, TEXTS, by="weights")
    unit = rows.numpy() / np.linalg.norm(rows.numpy(), axis=1, keepdims=True)
    np.testing.assert_allclose(result.features, unit, rtol=1e-5)
    # PCA of those rows: the points keep the rows' centred geometry up to the dropped components
    centred = unit - unit.mean(axis=0)
    top = np.linalg.svd(centred, full_matrices=False)[0][:, :2] * np.linalg.svd(centred)[1][:2]
    np.testing.assert_allclose(np.abs(result.positions), np.abs(top), atol=1e-4)


@pytest.mark.parametrize("family", ["deepseek_v2", "deepseek_v32"])
def test_every_moe_family_has_router_rows(tiny_checkpoints: dict[str, Path], family: str) -> None:
    model = dv.load_model(tiny_checkpoints[family], device="cpu")
    assert model.expert_weight_summary(model.moe_layers[0]).shape == (model.num_experts, model.d_model)


def test_bad_input(hooked: dv.HookedModel) -> None:
    with pytest.raises(dv.LayerOutOfRangeError, match="MoE layers are"):
        expert_map(hooked, 0, TEXTS)  # the dense first layer
    with pytest.raises(dv.LayerOutOfRangeError):
        hooked.expert_weight_summary(0)
    with pytest.raises(ValueError, match="not offered"):
        expert_map(hooked, 1, TEXTS, by="output")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sample_texts"):
        expert_map(hooked, 1)
    with pytest.raises(ValueError, match="empty"):
        expert_map(hooked, 1, [])
    with pytest.raises(TypeError, match="not one str"):
        expert_map(hooked, 1, "one text")
    routing = count_layer_routing(hooked, [2], TEXTS)[2]
    with pytest.raises(ValueError, match="counts layer 2"):
        expert_map(hooked, 1, routing=routing)
    assert expert_map(hooked, -1, routing=routing).layer == 2  # negative layers count from the end
