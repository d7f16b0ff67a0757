"""What every clusterer returns (:class:`ClusterResult`) and the checks and the sample-then-extend rule they share.

Noise: density clusterers label the points in no dense region ``NOISE`` (-1); :func:`noise_fraction` is their
share. The metrics (:mod:`songspace.evaluation.metrics`) read both from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from songspace.errors import ConfigError

NOISE = -1


def noise_fraction(labels_pred: Sequence[int] | np.ndarray) -> float:
    """Share of points labelled noise (-1) by a density clusterer; NaN for no points."""
    labels = np.asarray(labels_pred)
    return float("nan") if labels.size == 0 else float(np.mean(labels == NOISE))


class Labeller(Protocol):
    """What places points in a fitted clustering (every class of :mod:`songspace.clustering.placing` is one)."""

    def predict(self, X: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ClusterResult:
    """What a clusterer found.

    labels : np.ndarray [shape=(n,), dtype=int64], cluster of each point; -1 = noise (density clusterers only).
    n_clusters : clusters found, noise not counted (may be fewer than the k asked for).
    noise_fraction : share of points labelled noise, in [0, 1].
    params : the settings used, including the ones chosen from the data (eps, min_samples, ...); plain
        Python values, ready for JSON.
    notes : what a reader of the results table should know (k ignored, fitted on a sample, ...).
    model : a placer of :mod:`songspace.clustering.placing`: ``model.predict(X)`` assigns new points
        [shape=(m, d)] to the learned clusters, ``model.state(...)`` saves what it learned as arrays.
    sample_size : points the clusterer was fitted on when that was a seeded sample of the n (the others were
        assigned by ``model.predict``); None = fitted on all n points.
    """

    labels: np.ndarray
    n_clusters: int
    noise_fraction: float
    params: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    model: Labeller | None = None
    sample_size: int | None = None


def result(labels: np.ndarray, params: dict[str, Any], notes: list[str], model: Labeller,
           sample: np.ndarray | None = None) -> ClusterResult:
    """A :class:`ClusterResult` of ``labels`` [shape=(n,)], counting clusters and noise."""
    labels = np.asarray(labels, dtype=np.int64)
    return ClusterResult(labels=labels, n_clusters=int(np.unique(labels[labels != NOISE]).size),
                         noise_fraction=noise_fraction(labels), params=params, notes="; ".join(notes), model=model,
                         sample_size=None if sample is None else len(sample))


def check_points(X: np.ndarray) -> np.ndarray:
    """``X`` as an array, after checking it is 2-d, has at least 2 rows and is finite (ConfigError otherwise)."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ConfigError(f"points to cluster must be a 2-d array (n, d), got shape {X.shape}.")
    if len(X) < 2:
        raise ConfigError(f"cannot cluster {len(X)} track(s); clustering needs at least 2.")
    if not np.isfinite(X).all():
        raise ConfigError(f"{int((~np.isfinite(X)).sum())} of the values to cluster are NaN or infinite; if they "
                          "are a model's latents, its training diverged: lower train.lr or model.beta.")
    return X


def check_k(k: int, n: int) -> None:
    if not 1 <= k <= n:
        raise ConfigError(f"k = {k} clusters is impossible for {n} tracks; choose 2 <= k < {n}.")


def check_sample_size(sample_size: int) -> None:
    if sample_size < 2:
        raise ConfigError(f"sample_size = {sample_size}: a clusterer needs a sample of at least 2 points; raise "
                          "cluster.sample_size (or leave it unset for each clusterer's default).")


def sample(n: int, sample_size: int, seed: int) -> np.ndarray | None:
    """Sorted indices of a seeded sample of ``sample_size`` of ``n`` points, or None when n fits."""
    check_sample_size(sample_size)
    if n <= sample_size:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=sample_size, replace=False))


def fitted(X: np.ndarray, sample_size: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The points a clusterer fits on (a seeded sample above ``sample_size``) and the sample's indices (None: all)."""
    pick = sample(len(X), sample_size, seed)
    return (X if pick is None else X[pick]), pick


# Points placed at a time: a placer holds each point's neighbours (30 distances and indices, their embeddings in the
# reduction), about 4 KB a point, so placing all of a million tracks at once would hold ~4 GB.
PLACE_CHUNK = 20_000


def extend(X: np.ndarray, pick: np.ndarray | None, fit_labels: np.ndarray, model: Labeller) -> np.ndarray:
    """Labels of every point of ``X``: the fitted labels on the sample ``pick`` (all points when None), what
    ``model`` predicts for the rest."""
    if pick is None:
        return fit_labels
    rest = np.ones(len(X), dtype=bool)
    rest[pick] = False
    labels = np.empty(len(X), dtype=np.int64)
    others = np.flatnonzero(rest)  # only the rest: placing costs a neighbour query a point
    for start in range(0, len(others), PLACE_CHUNK):
        part = others[start:start + PLACE_CHUNK]
        labels[part] = model.predict(X[part])
    labels[pick] = fit_labels
    return labels
