"""Vectors to 2-D or 3-D points: PCA, UMAP or t-SNE, seeded, cached, with ``transform`` for new vectors.

What each fit does to the vectors first (all statistics come from the fitted vectors and are reused by
``transform``):

1. ``normalize`` — ``"standard"`` (default) scales every feature to zero mean and unit variance. LLM
   residual streams have a few outlier dimensions hundreds of times larger than the rest; unscaled, those
   alone would decide the layout. ``"l2"`` scales each vector to unit length (cosine geometry, drops the
   norm growth across layers), ``"center"`` only subtracts the mean, ``None`` leaves the vectors as they are.
2. ``pre_pca`` — UMAP and t-SNE first reduce vectors wider than 50 features to their 50 leading principal
   components (the usual recipe; it denoises and makes neighbour search fast). ``pre_pca=None`` skips it.
3. The method: scikit-learn ``PCA``, ``umap.UMAP`` or scikit-learn ``TSNE`` with ``random_state=seed``;
   extra keyword arguments go to the estimator. UMAP's ``n_neighbors`` (default 15) and t-SNE's
   ``perplexity`` (default 30) shrink to fit small inputs unless given.

Fits are deterministic for a given ``seed`` (``seed=None`` lets UMAP run in parallel, unseeded and
uncached). t-SNE has no out-of-sample mapping: :meth:`Projection.transform` raises
:class:`TransformUnavailableError` for it unless asked to place new vectors by their nearest fitted
neighbours (``approximate=True``).
"""

from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..model import DeepseekVizError
from .embeddings import TokenPaths

Method = Literal["umap", "tsne", "pca"]
Normalize = Literal["standard", "l2", "center"] | None
METHODS = ("umap", "tsne", "pca")
NORMALIZATIONS = ("standard", "l2", "center", None)
PRE_PCA_COMPONENTS = 50
NEIGHBOURS_FOR_PLACEMENT = 5

_CACHE_SIZE = 8
_cache: OrderedDict[tuple[Any, ...], Projection] = OrderedDict()


class TransformUnavailableError(DeepseekVizError, NotImplementedError):
    """The projection method cannot map vectors it was not fitted on (t-SNE)."""


def clear_projection_cache() -> None:
    """Forget every cached fit of :func:`project`."""
    _cache.clear()


@dataclass(frozen=True)
class _Scaler:
    """The fitted normalisation: ``(x - mean) / scale``, then unit length rows when ``unit``."""

    mean: np.ndarray | None
    scale: np.ndarray | None
    unit: bool

    @classmethod
    def fit(cls, vectors: np.ndarray, normalize: Normalize) -> _Scaler:
        if normalize == "l2":
            return cls(None, None, unit=True)
        if normalize is None:
            return cls(None, None, unit=False)
        mean = vectors.mean(axis=0, dtype=np.float64).astype(np.float32)
        if normalize == "center":
            return cls(mean, None, unit=False)
        std = vectors.std(axis=0, dtype=np.float64)
        scale = np.where(std > 1e-12 * max(float(np.abs(vectors).max(initial=0.0)), 1.0), std, 1.0)
        return cls(mean, scale.astype(np.float32), unit=False)

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        out = vectors
        if self.mean is not None:
            out = out - self.mean
        if self.scale is not None:
            out = out / self.scale
        if self.unit:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = out / np.where(norms > 0, norms, 1.0)
        return np.ascontiguousarray(out, dtype=np.float32)


@dataclass(frozen=True, eq=False)
class Projection:
    """A fitted projection: ``coords`` float32 ``[n, dims]`` (read-only) for the fitted vectors, which had
    ``num_features`` features.

    ``transform(vectors)`` places new vectors in the same space (PCA exactly, UMAP by its learned
    mapping; t-SNE see :meth:`transform`). ``explained_variance_ratio`` is set for PCA (per axis).
    """

    method: str
    dims: int
    seed: int | None
    normalize: Normalize
    pre_pca: int | None
    params: Mapping[str, Any]
    coords: np.ndarray
    num_features: int
    explained_variance_ratio: np.ndarray | None = None
    _scaler: _Scaler = field(default=_Scaler(None, None, False), repr=False)
    _reducer: Any = field(default=None, repr=False)  # the pre-PCA, or None
    _estimator: Any = field(default=None, repr=False)
    _fitted: np.ndarray | None = field(default=None, repr=False)  # t-SNE: prepared inputs, for placement

    def _prepare(self, vectors: np.ndarray) -> np.ndarray:
        prepared = self._scaler.apply(vectors)
        if self._reducer is not None:
            prepared = np.ascontiguousarray(self._reducer.transform(prepared), dtype=np.float32)
        return prepared

    def transform(self, vectors: np.ndarray, *, approximate: bool = False) -> np.ndarray:
        """Coordinates float32 ``[m, dims]`` for new ``[m, d]`` vectors (a ``[d]`` vector counts as one).

        t-SNE cannot map new vectors and raises :class:`TransformUnavailableError`, unless
        ``approximate=True``: then each vector lands at the inverse-distance-weighted mean of the
        coordinates of its 5 nearest fitted vectors (exactly on a fitted point it duplicates).
        ``approximate`` has no effect for PCA and UMAP.
        """
        array = _as_vectors(vectors, "vectors", min_rows=0)
        if array.shape[1] != self.num_features:
            raise ValueError(
                f"vectors have {array.shape[1]} features; this projection was fitted on {self.num_features}"
            )
        if array.shape[0] == 0:
            return np.zeros((0, self.dims), dtype=np.float32)
        if self.method == "tsne":
            if not approximate:
                raise TransformUnavailableError(
                    "t-SNE has no transform: it only places the vectors it was fitted on. Refit with the new "
                    "vectors included, use method='umap' or 'pca', or pass approximate=True to place each "
                    "new vector by its nearest fitted neighbours."
                )
            return self._place_by_neighbours(self._prepare(array))
        prepared = self._prepare(array)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs value.*")
            result = self._estimator.transform(prepared)
        return np.ascontiguousarray(result, dtype=np.float32)

    def _place_by_neighbours(self, prepared: np.ndarray) -> np.ndarray:
        assert self._fitted is not None
        fitted = self._fitted.astype(np.float64)
        k = min(NEIGHBOURS_FOR_PLACEMENT, fitted.shape[0])
        squared = (fitted**2).sum(axis=1)
        tolerance = 1e-6 * max(float(np.sqrt(squared.max(initial=0.0))), 1.0)
        out = np.empty((prepared.shape[0], self.dims), dtype=np.float32)
        step = max(1, 4_000_000 // fitted.shape[0])  # rows per chunk: a few million distances at a time
        for start in range(0, prepared.shape[0], step):
            chunk = prepared[start : start + step].astype(np.float64)
            distances = np.sqrt(
                np.maximum((chunk**2).sum(axis=1)[:, None] + squared[None, :] - 2 * chunk @ fitted.T, 0.0)
            )
            nearest = np.argpartition(distances, k - 1, axis=1)[:, :k] if k < fitted.shape[0] else None
            if nearest is None:
                nearest = np.broadcast_to(np.arange(k), distances.shape).copy()
            near = np.take_along_axis(distances, nearest, axis=1)
            weights = 1.0 / np.maximum(near, 1e-12)
            exact = near <= tolerance
            weights = np.where(exact.any(axis=1, keepdims=True), exact.astype(np.float64), weights)
            weights /= weights.sum(axis=1, keepdims=True)
            out[start : start + len(chunk)] = (weights[..., None] * self.coords[nearest]).sum(axis=1)
        return out

    def __repr__(self) -> str:
        return (
            f"Projection({self.method}, {self.coords.shape[0]} points in {self.dims}-D, seed={self.seed}, "
            f"normalize={self.normalize}, pre_pca={self.pre_pca}, params={dict(self.params)})"
        )


def _as_vectors(vectors: Any, name: str, min_rows: int) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D [n, d] array, not shape {array.shape}")
    if array.shape[0] < min_rows:
        raise ValueError(f"{name}: need at least {min_rows} vectors, got {array.shape[0]}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return np.ascontiguousarray(array)


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a parameter value (arrays by their bytes)."""
    if isinstance(value, np.ndarray):
        return ("ndarray", value.shape, str(value.dtype), hashlib.blake2b(value.tobytes()).hexdigest())
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def project(
    vectors: np.ndarray,
    method: Method = "umap",
    dims: int = 2,
    seed: int | None = 0,
    *,
    normalize: Normalize = "standard",
    pre_pca: int | Literal["auto"] | None = "auto",
    **params: Any,
) -> Projection:
    """Fit a ``dims``-D (2 or 3) projection of ``vectors [n, d]``; see the module notes for the steps.

    ``pre_pca="auto"`` means 50 components for UMAP and t-SNE when ``d > 50`` and ``n > 50``, none for PCA;
    an int asks for that many (skipped when not below ``min(n, d)``); ``None`` never reduces first.
    Fits are cached by ``(vectors, method, dims, seed, normalize, pre_pca, params)``: an identical call
    returns the same :class:`Projection` (its arrays are read-only).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if dims not in (2, 3) or isinstance(dims, bool):
        raise ValueError(f"dims must be 2 or 3, not {dims!r}")
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {NORMALIZATIONS}, not {normalize!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int or None, not {type(seed).__name__}")
    minimum = {"pca": dims, "umap": dims + 2, "tsne": dims + 2}[method]
    array = _as_vectors(vectors, "vectors", min_rows=minimum)
    n, d = array.shape
    if method == "pca" and d < dims:
        raise ValueError(f"PCA to {dims}-D needs vectors with at least {dims} features, not {d}")
    if pre_pca == "auto":
        wide = d > PRE_PCA_COMPONENTS and n > PRE_PCA_COMPONENTS
        reduce_to = PRE_PCA_COMPONENTS if method != "pca" and wide else None
    elif pre_pca is None:
        reduce_to = None
    elif isinstance(pre_pca, int) and not isinstance(pre_pca, bool) and pre_pca >= dims:
        reduce_to = pre_pca if pre_pca < min(n, d) else None
    else:
        raise ValueError(f"pre_pca must be 'auto', None or an int ≥ dims, not {pre_pca!r}")

    key = None
    if seed is not None:
        digest = hashlib.blake2b(array.tobytes(), digest_size=20).hexdigest()
        key = (digest, array.shape, method, dims, int(seed), normalize, reduce_to, _freeze(params))
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached

    result = _fit(array, method, dims, None if seed is None else int(seed), normalize, reduce_to, params)
    if key is not None:
        _cache[key] = result
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _fit(
    array: np.ndarray,
    method: str,
    dims: int,
    seed: int | None,
    normalize: Normalize,
    reduce_to: int | None,
    params: dict[str, Any],
) -> Projection:
    from sklearn.decomposition import PCA

    n = array.shape[0]
    scaler = _Scaler.fit(array, normalize)
    prepared = scaler.apply(array)
    reducer = None
    if reduce_to is not None:
        reducer = PCA(n_components=reduce_to, random_state=seed).fit(prepared)
        prepared = np.ascontiguousarray(reducer.transform(prepared), dtype=np.float32)

    explained = None
    fitted = None
    if method == "pca":
        estimator: Any = PCA(n_components=dims, random_state=seed, **params)
        coords = estimator.fit_transform(prepared)
        explained = np.asarray(estimator.explained_variance_ratio_, dtype=np.float32)
    elif method == "umap":
        import umap

        options = {"n_neighbors": min(15, n - 1), **params}
        estimator = umap.UMAP(n_components=dims, random_state=seed, **options)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs value.*")
            coords = estimator.fit_transform(prepared)
    else:
        from sklearn.manifold import TSNE

        options = {"perplexity": min(30.0, max(1.0, (n - 1) / 3)), "init": "pca", **params}
        estimator = TSNE(n_components=dims, random_state=seed, **options)
        coords = estimator.fit_transform(prepared)
        fitted = prepared
        fitted.setflags(write=False)

    coords = np.ascontiguousarray(coords, dtype=np.float32)
    coords.setflags(write=False)
    if explained is not None:
        explained.setflags(write=False)
    return Projection(
        method=method,
        dims=dims,
        seed=seed,
        normalize=normalize,
        pre_pca=reduce_to,
        params=dict(params),
        coords=coords,
        num_features=array.shape[1],
        explained_variance_ratio=explained,
        _scaler=scaler,
        _reducer=reducer,
        _estimator=estimator,
        _fitted=fitted,
    )


def project_token_paths(
    paths: TokenPaths,
    method: Method = "pca",
    dims: int = 2,
    seed: int | None = 0,
    *,
    normalize: Normalize = "l2",
    **options: Any,
) -> Projection:
    """Token mode: one projection of every token at every layer, fitted jointly.

    The coordinates are layer-major like ``paths.flat()``; ``paths.unflatten(projection.coords)`` gives
    ``[num_layers + 1, n_tokens, dims]``, whose ``[:, j]`` traces token ``j`` through the layers.
    ``normalize`` defaults to ``"l2"`` here: the residual stream's norm grows from layer to layer (and the
    last row is after the final norm), so unscaled or per-feature-scaled, the layers would sit in separate
    shells and the last one would dominate; on the unit sphere the paths show how each token's direction
    changes. Other options are those of :func:`project`.
    """
    return project(paths.flat(), method=method, dims=dims, seed=seed, normalize=normalize, **options)
