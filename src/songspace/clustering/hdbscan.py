"""HDBSCAN on the seeded UMAP reduction of the space, with a Gaussian-null test of its structure."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from sklearn.cluster import HDBSCAN
from sklearn.neighbors import NearestNeighbors

from songspace.clustering.density import (
    DENSITY_SAMPLE,
    HDBSCAN_MIN_SAMPLES,
    K_MAX,
    STRUCTURE_ALPHA,
    UMAP_COMPONENTS,
    default_min_cluster_size,
    density_space,
    gaussian_null_pvalue,
    sampled_note,
)
from songspace.clustering.placing import NearestPoint, Reduced
from songspace.clustering.result import ClusterResult, Labeller, check_points, extend, fitted, result
from songspace.clustering.spec import ClustererSpec
from songspace.errors import ConfigError


def hdbscan(X: np.ndarray, k: int | None = None, *, seed: int = 0, min_cluster_size: int | None = None,
            min_samples: int | None = None, umap_components: int = UMAP_COMPONENTS,
            sample_size: int = DENSITY_SAMPLE) -> ClusterResult:
    """HDBSCAN of ``X`` [shape=(n, d)] (scikit-learn's, with ``copy=True``). ``k`` is ignored.

    It runs on the UMAP reduction of ``X`` to ``umap_components`` dimensions (:func:`umap_reduce`, seeded by
    ``seed``) when ``X`` has more; 0 = on ``X`` as given. Defaults: ``min_cluster_size`` from
    :func:`default_min_cluster_size` (the number of points and the k range), ``min_samples`` 5 (capped at
    ``min_cluster_size``).

    UMAP tears even a single Gaussian blob into clumps, and HDBSCAN would call them clusters. So when it finds
    m >= 2 clusters, :func:`gaussian_null_pvalue` asks whether ``X`` (the original space) holds more K-Means
    structure at k = m than one Gaussian of its covariance; when it does not (p > 0.05), HDBSCAN is run again
    with ``allow_single_cluster`` and may answer, as it then does on a blob, that the whole space is one
    cluster. ``params`` record ``structure_p`` and ``single_cluster_allowed``.

    scikit-learn's HDBSCAN is O(n^2) in time, so above ``sample_size`` it runs on a seeded sample of that size
    (reduction and defaults computed on the sample) and the other points are assigned as ``predict`` assigns
    new ones: without a reduction, the label of the nearest sample point when they lie within its core
    distance, else noise; with one, see :class:`~songspace.clustering.placing.Reduced`. Noise gets label -1.
    A result with one cluster, none, or most points as noise says so, and why, in its notes.
    """
    X = check_points(X)
    fit_X, pick = fitted(X, sample_size, seed)
    Z, reducer, params, notes = density_space(fit_X, umap_components, seed)
    n = len(Z)
    mcs = default_min_cluster_size(n) if min_cluster_size is None else min_cluster_size
    ms = min(HDBSCAN_MIN_SAMPLES, mcs, n) if min_samples is None else min_samples
    if not 1 <= ms <= n or not 2 <= mcs <= n:
        raise ConfigError(f"min_samples = {ms} and min_cluster_size = {mcs} must lie in 1..{n} and 2..{n} "
                          f"for {n} points.")
    fit_labels = HDBSCAN(min_cluster_size=mcs, min_samples=ms, copy=True).fit(Z).labels_
    found = int(fit_labels.max()) + 1
    p = gaussian_null_pvalue(fit_X, found, seed=seed) if found >= 2 else float("nan")
    single = bool(p > STRUCTURE_ALPHA)  # NaN (fewer than 2 clusters): nothing to test
    if single:
        fit_labels = HDBSCAN(min_cluster_size=mcs, min_samples=ms, allow_single_cluster=True,
                             copy=True).fit(Z).labels_
    if reducer is None:
        core_dist = NearestNeighbors(n_neighbors=ms).fit(Z).kneighbors(Z)[0][:, -1]
        assigner: Labeller = NearestPoint(Z, fit_labels, core_dist)
    else:
        assigner = Reduced(reducer, fit_X, Z, fit_labels)
    params.update(min_cluster_size=mcs, min_samples=ms, k_max=K_MAX, fitted_on=n, clusters_before_test=found,
                  structure_p=None if math.isnan(p) else round(p, 4), single_cluster_allowed=single)
    notes = ["density method: k ignored", *notes]
    labels = extend(X, pick, fit_labels, assigner)
    if pick is not None:
        notes.append(sampled_note("hdbscan", n, len(X), "O(n^2) time",
                                  "the rest joined the nearest sample point's cluster when within its core "
                                  "distance, else noise",
                                  reducer is not None))
    res = result(labels, params, notes, assigner, pick)
    return replace(res, notes="; ".join([*notes, *_hdbscan_degenerate(res, mcs, single)]))


def _hdbscan_degenerate(res: ClusterResult, mcs: int, single: bool) -> list[str]:
    """Why an HDBSCAN result has one cluster, none, or mostly noise (nothing when it is none of those)."""
    out = []
    if res.n_clusters == 0:
        out.append(f"no cluster: no group of at least {mcs} tracks stands out as denser than its surroundings, "
                   "so every track is noise: the space has no dense separated groups")
    elif res.n_clusters == 1 and single:
        out.append("one cluster: the groups HDBSCAN finds are no tighter than the clumps of a single Gaussian of "
                   "the space's covariance, and the whole space is its most stable cluster: the space has no dense "
                   "separated groups")
    elif res.n_clusters == 1:
        out.append(f"one cluster: the density hierarchy has no split into stable groups of at least {mcs} tracks")
    elif single:
        out.append("weak groups: they are no tighter than the clumps of a single Gaussian of the space's "
                   "covariance (structure test p > 0.05)")
    if res.noise_fraction > 0.5:
        out.append("most tracks noise: the stable dense groups hold fewer than half of the tracks; the rest lie "
                   "in sparse regions around them")
    return out


SPEC = ClustererSpec(name="hdbscan", description="HDBSCAN (ignores k; leaves noise)", fit=hdbscan, takes_k=False,
                     reference="Campello, Moulavi and Sander 2013", rank=4)
