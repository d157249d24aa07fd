"""Projections (PCA, UMAP, t-SNE): shapes, seeds, caching, normalisation and transform of new texts.

UMAP's numba JIT makes its first fit slow, so the UMAP fits here are few and small.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import deepseek_viz as dv
from deepseek_viz.analysis.embeddings import embed_texts, token_embeddings
from deepseek_viz.analysis.projection import (
    Projection,
    TransformUnavailableError,
    clear_projection_cache,
    project,
    project_token_paths,
)
from tests.conftest import CONFIGS

DISTINCT = [
    "fever may indicate flu",
    "chest pain can be a sign of a heart attack",
    "take two tablets twice a day with food",
    "the patient was discharged after surgery",
    "a persistent cough needs an x-ray",
    "quarterly revenue rose 12% to $4.2 billion",
    "the central bank raised interest rates again",
    "shares fell sharply after the earnings call",
    "bond yields climbed to a ten-year high",
    "the merger was approved by regulators",
    "inflation slowed for the third month",
    "dividends will be paid in march",
]
NEAR_DUPLICATE = "fever may indicate flu!"


@pytest.fixture(scope="module")
def v3(tiny_checkpoints: dict[str, Path]) -> dv.HookedModel:
    return dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu")


@pytest.fixture(scope="module")
def vectors(v3: dv.HookedModel) -> np.ndarray:
    return embed_texts(v3, DISTINCT, progress=False)


def random_vectors(n: int = 20, d: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


@pytest.mark.parametrize("dims", [2, 3])
def test_pca_shape_dtype_and_read_only(vectors: np.ndarray, dims: int) -> None:
    fitted = project(vectors, "pca", dims)
    assert isinstance(fitted, Projection)
    assert fitted.coords.shape == (len(DISTINCT), dims) and fitted.coords.dtype == np.float32
    assert fitted.num_features == 32 and fitted.pre_pca is None
    assert fitted.explained_variance_ratio is not None and fitted.explained_variance_ratio.shape == (dims,)
    with pytest.raises(ValueError, match="read-only"):
        fitted.coords[0, 0] = 1.0
    # PCA maps the fitted vectors onto their own coordinates
    np.testing.assert_allclose(fitted.transform(vectors), fitted.coords, atol=1e-4)
    assert fitted.transform(vectors[0]).shape == (1, dims)
    assert fitted.transform(vectors[:0]).shape == (0, dims)
    with pytest.raises(ValueError, match="features"):
        fitted.transform(vectors[:, :8])


@pytest.mark.parametrize("family", list(CONFIGS))
def test_pca_transform_puts_a_near_duplicate_next_to_its_twin(
    family: str, tiny_checkpoints: dict[str, Path]
) -> None:
    model = dv.load_model(tiny_checkpoints[family], device="cpu")
    fitted = project(embed_texts(model, DISTINCT, progress=False), "pca", dims=3)
    new = fitted.transform(embed_texts(model, [NEAR_DUPLICATE], progress=False))
    distances = np.linalg.norm(fitted.coords - new, axis=1)
    assert DISTINCT[int(np.argmin(distances))] == "fever may indicate flu"


def test_umap_transform_lands_among_its_variants_and_is_seeded(v3: dv.HookedModel) -> None:
    """UMAP places a new point by its neighbourhood: fit on sentences that each come in a few variants,
    and the near-duplicate lands among the variants of its own sentence. Seeded fits repeat exactly."""
    variants = ["{}", "{}.", "{}?", "so, {}", "{} today"]
    texts = [variant.format(base) for base in DISTINCT[::2] for variant in variants]
    group = np.repeat(np.arange(len(DISTINCT[::2])), len(variants))
    fitted_vectors = embed_texts(v3, texts, progress=False)
    new_vector = embed_texts(v3, [NEAR_DUPLICATE], progress=False)
    options = {"n_neighbors": 5, "n_epochs": 100}

    fitted = project(fitted_vectors, "umap", 2, seed=0, **options)
    assert fitted.coords.shape == (len(texts), 2) and fitted.coords.dtype == np.float32
    new = fitted.transform(new_vector)
    distances = np.linalg.norm(fitted.coords - new, axis=1)
    assert group[np.argmin(distances)] == 0, (
        "the new text should land among 'fever may indicate flu' variants"
    )

    clear_projection_cache()
    again = project(fitted_vectors, "umap", 2, seed=0, **options)
    assert again is not fitted
    np.testing.assert_array_equal(again.coords, fitted.coords)
    np.testing.assert_array_equal(again.transform(new_vector), new)


def test_tsne_has_no_transform_unless_approximate() -> None:
    data = random_vectors(n=15)
    fitted = project(data, "tsne", 2, seed=0, max_iter=250)
    assert fitted.coords.shape == (15, 2)
    with pytest.raises(TransformUnavailableError, match="t-SNE has no transform"):
        fitted.transform(data[:2])
    assert issubclass(TransformUnavailableError, NotImplementedError)
    # approximate placement: a fitted vector lands on its own point, a new one between its neighbours
    np.testing.assert_allclose(fitted.transform(data[:3], approximate=True), fitted.coords[:3], atol=1e-6)
    placed = fitted.transform(data[:1] + 1e-3, approximate=True)[0]
    assert np.argmin(np.linalg.norm(fitted.coords - placed, axis=1)) == 0


def test_fits_are_cached_by_data_and_options() -> None:
    clear_projection_cache()
    data = random_vectors()
    fitted = project(data, "pca", 2, seed=0)
    assert project(data.copy(), "pca", 2, seed=0) is fitted
    assert project(data, "pca", 3, seed=0) is not fitted
    assert project(data, "pca", 2, seed=1) is not fitted
    assert project(data, "pca", 2, seed=0, normalize="l2") is not fitted
    assert project(data, "pca", 2, seed=0, whiten=True) is not fitted
    changed = data.copy()
    changed[0, 0] += 1
    assert project(changed, "pca", 2, seed=0) is not fitted
    assert project(data, "pca", 2, seed=None) is not project(
        data, "pca", 2, seed=None
    )  # unseeded: not cached


def test_standardising_ignores_an_outlier_feature() -> None:
    """LLM residual streams have a few huge dimensions; per-feature scaling keeps them from taking over."""
    data = random_vectors(n=30, d=16)
    loud = data.copy()
    loud[:, 5] *= 1000.0
    quiet_fit = project(data, "pca", 2)
    loud_fit = project(loud, "pca", 2)
    np.testing.assert_allclose(np.abs(loud_fit.coords), np.abs(quiet_fit.coords), atol=1e-3)
    raw = project(loud, "pca", 2, normalize=None)
    assert raw.explained_variance_ratio is not None and raw.explained_variance_ratio[0] > 0.99
    # l2: scale of a vector does not matter
    unit = project(data, "pca", 2, normalize="l2")
    np.testing.assert_allclose(unit.transform(data[:4] * 7.0), unit.coords[:4], atol=1e-4)


def test_pre_pca_for_wide_vectors() -> None:
    data = random_vectors(n=60, d=64)
    fitted = project(data, "tsne", 2, seed=0, max_iter=250)
    assert fitted.pre_pca == 50
    assert project(data, "tsne", 2, seed=0, max_iter=250, pre_pca=None).pre_pca is None
    assert project(data, "pca", 2).pre_pca is None


def test_bad_arguments() -> None:
    data = random_vectors()
    with pytest.raises(ValueError, match="method"):
        project(data, "mds")
    with pytest.raises(ValueError, match="dims"):
        project(data, "pca", dims=4)
    with pytest.raises(ValueError, match="normalize"):
        project(data, "pca", normalize="minmax")
    with pytest.raises(ValueError, match="at least"):
        project(data[:3], "umap")
    with pytest.raises(ValueError, match="2-D"):
        project(data[None], "pca")
    bad = data.copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        project(bad, "pca")


def test_token_mode_projects_every_layer_jointly(v3: dv.HookedModel) -> None:
    paths = token_embeddings(v3, "Fever may indicate flu; chest pain")
    fitted = project_token_paths(paths, "pca", dims=3)
    assert fitted.normalize == "l2"
    assert fitted.coords.shape == (4 * paths.num_tokens, 3)
    grid = paths.unflatten(fitted.coords)
    assert grid.shape == (4, paths.num_tokens, 3)
    np.testing.assert_allclose(fitted.transform(paths.vectors[2]), grid[2], atol=1e-4)
