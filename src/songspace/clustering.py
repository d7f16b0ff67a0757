"""Clusterers by name and the choice of k. (:class:`songspace.estimator.LatentClusterer` is the scikit-learn-style
face that learns a space and clusters it.)

One module (about 720 lines): every clusterer shares the sample-then-extend rule, the result type and the
density clusterers' UMAP reduction; a clusterer is one function and one line in ``CLUSTERERS``.

Every clusterer is a plain function ``f(X, k, *, seed=0, **options) -> ClusterResult``, registered by name in
``CLUSTERERS``; :func:`cluster` calls one by name and checks its options.

=========================  ==========================================================================
name                       what; time for 100k points in 16-d / 79-d (2 shared cores, 8 blobs)
=========================  ==========================================================================
``kmeans``                 K-Means, ``n_init`` seeded restarts; O(n k d) per iteration. Above
                           ``sample_size`` (20,000) points MiniBatchKMeans (seeded mini-batches of 2048
                           drawn from all points; every point labelled). 1-10 s / 6 s.
``agglomerative_ward``     Ward linkage. O(n^2) time *and memory* (10k points: 5 s, 400 MB; 100k would
                           need 40 GB), so above ``sample_size`` (10,000) the tree is built on a seeded
                           sample and every other point joins the nearest cluster centroid. 13 s / 21 s.
``agglomerative_average``  Average linkage; same cost and the same sample rule. 8 s.
``dbscan``                 DBSCAN on a UMAP reduction to 8 dimensions when the space has more
                           (:func:`umap_reduce`, seeded, cached so that dbscan and hdbscan of one space
                           share it); ``eps`` from the knee of the k-distance curve there (:func:`knee_eps`),
                           ``min_samples`` from :func:`default_min_samples`. Ignores k. It holds every
                           eps-neighbourhood at once (all 100k: 210 s, 1.3 GB), so above ``sample_size``
                           (20,000) it runs on a seeded sample and the rest are assigned as ``predict`` does
                           (:class:`ReducedAssigner`). 53 s / 64 s, the UMAP of the
                           sample (20-70 s) and the transform of the other 80k included.
``hdbscan``                HDBSCAN (scikit-learn's) on the same reduction; ``min_cluster_size`` from n and
                           the k range (:func:`default_min_cluster_size`), ``min_samples`` 5; a structure test
                           against a Gaussian null (:func:`gaussian_null_pvalue`) decides whether the whole
                           space may be one cluster. Ignores k. O(n^2) time (Prim's tree), so above
                           ``sample_size`` (20,000) it runs on a seeded sample and the rest are assigned as
                           ``predict`` does. 33 s / 46 s with the reduction cached.
``gmm``                    Gaussian mixture, full covariances regularised relative to the data's scale.
                           4-15 s / 75 s per EM run (``n_init``) on all 100k, so above ``sample_size``
                           (20,000) EM runs on a seeded sample and every point gets its likeliest component.
=========================  ==========================================================================

``ClusterResult.sample_size`` says when a clusterer was fitted on a sample (and of how many points), so that a
results table can mark those numbers; :func:`cluster` takes ``sample_size=None`` as "the clusterer's default".

Noise (label -1) is reported as ``ClusterResult.noise_fraction``; the metrics leave it out of internal scores
and count it as wrong in purity (see :mod:`songspace.evaluation.metrics`). A density result with one cluster,
none, or more than half of the points as noise never passes silently: its notes say so and why, in a note that
starts with one of ``DEGENERATE`` (the written analysis names those rows by it).
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import math
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN, AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.metrics import pairwise_distances_argmin
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from songspace.errors import ConfigError
from songspace.evaluation.metrics import NOISE, noise_fraction, silhouette

log = logging.getLogger(__name__)

class Predictor(Protocol):
    def predict(self, X: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ClusterResult:
    """What a clusterer found.

    labels : np.ndarray [shape=(n,), dtype=int64], cluster of each point; -1 = noise (density methods only).
    n_clusters : clusters found, noise not counted (may be fewer than the k asked for).
    noise_fraction : share of points labelled noise, in [0, 1].
    params : the settings used, including the ones chosen from the data (eps, min_samples, ...); plain
        Python values, ready for JSON.
    notes : what a reader of the results table should know (k ignored, fitted on a sample, ...).
    model : assigns new points [shape=(m, d)] to the learned clusters with ``model.predict``.
    sample_size : points the clusterer was fitted on when that was a seeded sample of the n (the others were
        assigned by ``model.predict``); None = fitted on all n points.
    """

    labels: np.ndarray
    n_clusters: int
    noise_fraction: float
    params: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    model: Predictor | None = None
    sample_size: int | None = None


def _result(labels: np.ndarray, params: dict[str, Any], notes: list[str], model: Predictor,
            sample: np.ndarray | None = None) -> ClusterResult:
    labels = np.asarray(labels, dtype=np.int64)
    return ClusterResult(labels=labels, n_clusters=int(np.unique(labels[labels != NOISE]).size),
                         noise_fraction=noise_fraction(labels), params=params, notes="; ".join(notes), model=model,
                         sample_size=None if sample is None else len(sample))


def _check_points(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise ConfigError(f"points to cluster must be a 2-d array (n, d), got shape {X.shape}.")
    if len(X) < 2:
        raise ConfigError(f"cannot cluster {len(X)} track(s); clustering needs at least 2.")
    if not np.isfinite(X).all():
        raise ConfigError(f"{int((~np.isfinite(X)).sum())} of the values to cluster are NaN or infinite; if they "
                          "are a model's latents, its training diverged: lower train.lr or model.beta.")
    return X


def _check_k(k: int, n: int) -> None:
    if not 1 <= k <= n:
        raise ConfigError(f"k = {k} clusters is impossible for {n} tracks; choose 2 <= k < {n}.")


def _check_sample_size(sample_size: int) -> None:
    if sample_size < 2:
        raise ConfigError(f"sample_size = {sample_size}: a clusterer needs a sample of at least 2 points; raise "
                          "cluster.sample_size (or leave it unset for each clusterer's default).")


def _extend(X: np.ndarray, pick: np.ndarray | None, fit_labels: np.ndarray, model: Predictor) -> np.ndarray:
    """Labels of every point of ``X``: the fitted labels on the sample ``pick`` (all points when None), what
    ``model`` predicts for the rest."""
    if pick is None:
        return fit_labels
    rest = np.ones(len(X), dtype=bool)
    rest[pick] = False
    labels = np.empty(len(X), dtype=np.int64)
    labels[rest] = model.predict(X[rest])  # only the rest: predicting may be costly (a UMAP transform)
    labels[pick] = fit_labels
    return labels


def _sample(n: int, sample_size: int, seed: int) -> np.ndarray | None:
    """Sorted indices of a seeded sample of ``sample_size`` of ``n`` points, or None when n fits."""
    _check_sample_size(sample_size)
    if n <= sample_size:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=sample_size, replace=False))


class NearestPointAssigner:
    """Assigns a point the label of its nearest stored point when it lies within that point's radius, else noise.

    For DBSCAN the stored points are the core samples and the radius is eps: DBSCAN's own rule for border
    points. For HDBSCAN they are all fitted points (noise included) and the radius is each point's core
    distance. A stored point is always assigned its own label.
    """

    def __init__(self, points: np.ndarray, labels: np.ndarray, radius: float | np.ndarray) -> None:
        self.labels = np.asarray(labels, dtype=np.int64)
        self.radius = np.broadcast_to(np.asarray(radius, dtype=np.float64), self.labels.shape)
        self.nn = NearestNeighbors(n_neighbors=1).fit(points) if len(points) else None

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Label of each row of ``X`` [shape=(m, d)] -> [shape=(m,)], -1 where no stored point is near."""
        out = np.full(len(X), NOISE, dtype=np.int64)
        if self.nn is None:
            return out
        dist, idx = self.nn.kneighbors(X)
        dist, idx = dist[:, 0], idx[:, 0]
        near = dist <= self.radius[idx] * (1 + 1e-6)  # float32 distances recomputed need a hair of slack
        out[near] = self.labels[idx[near]]
        return out


class NearestCentroid:
    """Assigns a point the label of the nearest cluster centroid (the mean of the cluster's fitted points)."""

    def __init__(self, X: np.ndarray, labels: np.ndarray) -> None:
        self.classes, inverse = np.unique(np.asarray(labels, dtype=np.int64), return_inverse=True)
        counts = np.bincount(inverse)
        self.centroids = np.stack([np.bincount(inverse, weights=col) for col in np.asarray(X, np.float64).T], 1)
        self.centroids /= counts[:, None]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Label of each row of ``X`` [shape=(m, d)] -> [shape=(m,)]."""
        return self.classes[pairwise_distances_argmin(np.asarray(X, np.float64), self.centroids)]


# --- K-Means and Gaussian mixture --------------------------------------------------------------------------


# MiniBatchKMeans batch: large enough that a batch holds every cluster of a 100k collection many times over.
MINIBATCH = 2048


def kmeans(X: np.ndarray, k: int, *, seed: int = 0, n_init: int = 10, sample_size: int = 20_000) -> ClusterResult:
    """K-Means of ``X`` [shape=(n, d)] into ``k`` clusters, best of ``n_init`` seeded restarts.

    Above ``sample_size`` points, MiniBatchKMeans (Sculley 2010): centroids move with seeded mini-batches of
    2048 points drawn from all of ``X``, and every point gets its nearest final centroid. Each step costs
    O(batch k d) instead of O(n k d), and no copy of ``X`` is made; its inertia is a few percent above full
    K-Means on well-separated data. It sees every point, so ``sample_size`` of the result stays None.
    """
    X = _check_points(X)
    _check_k(k, len(X))
    _check_sample_size(sample_size)
    minibatch = len(X) > sample_size
    with warnings.catch_warnings():  # fewer distinct points than k: a note below, not a warning
        warnings.filterwarnings("ignore", message="Number of distinct clusters")
        if minibatch:
            est = MiniBatchKMeans(n_clusters=k, n_init=n_init, batch_size=MINIBATCH, random_state=seed).fit(X)
        else:
            est = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(X)
    found = np.unique(est.labels_).size
    notes = [f"only {found} distinct cluster(s) of the {k} asked for (duplicate points)"] if found < k else []
    params: dict[str, Any] = {"k": k, "n_init": n_init, "inertia": float(est.inertia_)}
    if minibatch:
        params.update(algorithm="minibatch", batch_size=MINIBATCH)
        notes.append(f"MiniBatchKMeans (mini-batches of {MINIBATCH}) above {sample_size} points")
    return _result(est.labels_, params, notes, est)


def gmm(X: np.ndarray, k: int, *, seed: int = 0, n_init: int = 1,
        covariance_type: Literal["full", "tied", "diag", "spherical"] = "full",
        reg_covar: float = 1e-3, sample_size: int = 20_000) -> ClusterResult:
    """Gaussian mixture of ``k`` components (seeded k-means initialisation); each point in its likeliest one.

    Each of the ``n_init`` runs is a whole EM fit: about 75 s for 100k points in 79-d with full covariances.
    Above ``sample_size`` points EM runs on a seeded sample of that size (k components of d x d covariances
    are well estimated from 20,000 points), then every point is assigned its likeliest component (``predict``,
    O(n k d^2)); ``bic`` is then the sample's.

    ``reg_covar`` is relative: it adds ``reg_covar`` times the mean per-dimension variance of ``X`` to every
    covariance's diagonal, so it means the same in a standardised feature space and in a VAE's latent space,
    and keeps full covariances invertible when a cluster has fewer points than dimensions.
    """
    X = _check_points(X)
    _check_k(k, len(X))
    pick = _sample(len(X), sample_size, seed)
    fit_X = X if pick is None else X[pick]
    _check_k(k, len(fit_X))
    scale = float(np.var(fit_X, axis=0).mean()) or 1.0  # identical points: no variance to be relative to
    with warnings.catch_warnings():  # duplicate points trouble the k-means start; the note below says so
        warnings.filterwarnings("ignore", message="Number of distinct clusters")
        est = GaussianMixture(n_components=k, covariance_type=covariance_type, reg_covar=reg_covar * scale,
                              n_init=n_init, random_state=seed).fit(fit_X)
    labels = est.predict(X)
    notes = [] if est.converged_ else [f"EM did not converge in {est.max_iter} iterations"]
    found = np.unique(labels).size
    if found < k:
        notes.append(f"{k - found} of the {k} components hold no point")
    params = {"k": k, "covariance_type": covariance_type, "reg_covar": reg_covar * scale, "n_init": n_init,
              "converged": bool(est.converged_), "bic": float(est.bic(fit_X)), "fitted_on": len(fit_X)}
    if pick is not None:
        notes.append(f"EM fitted on a seeded sample of {len(fit_X)} of {len(X)} points; every point then took "
                     "its likeliest component")
    return _result(labels, params, notes, est, pick)


# --- Agglomerative -----------------------------------------------------------------------------------------


def agglomerative(X: np.ndarray, k: int, *, seed: int = 0, linkage: Literal["ward", "average"] = "ward",
                  sample_size: int = 10_000) -> ClusterResult:
    """Agglomerative (hierarchical) clustering of ``X`` [shape=(n, d)] into ``k`` clusters.

    scikit-learn builds the full tree from all pairwise distances: O(n^2) time and memory (10k points take
    about 5 s and 400 MB; 100k would need 40 GB). Above ``sample_size`` the tree is built on a seeded sample
    of that size, which keeps its labels, and every other point joins the nearest cluster centroid.
    ``predict`` also uses the nearest centroid.
    """
    X = _check_points(X)
    _check_k(k, len(X))
    pick = _sample(len(X), sample_size, seed)
    fit_X = X if pick is None else X[pick]
    _check_k(k, len(fit_X))
    fit_labels = AgglomerativeClustering(n_clusters=k, linkage=linkage).fit(fit_X).labels_
    centroids = NearestCentroid(fit_X, fit_labels)
    params: dict[str, Any] = {"k": k, "linkage": linkage, "fitted_on": len(fit_X)}
    notes = []
    if (distinct := len(np.unique(fit_X, axis=0))) < k:
        notes.append(f"only {distinct} distinct point(s) for k = {k}: identical points were split arbitrarily")
    labels = _extend(X, pick, fit_labels, centroids)
    if pick is not None:
        notes.append(f"tree built on a seeded sample of {len(fit_X)} of {len(X)} points (O(n^2) memory); "
                     "the rest joined the nearest cluster centroid")
    return _result(labels, params, notes, centroids, pick)


def agglomerative_ward(X: np.ndarray, k: int, *, seed: int = 0, sample_size: int = 10_000) -> ClusterResult:
    """Ward linkage: merge the pair of clusters that least increases the within-cluster variance."""
    return agglomerative(X, k, seed=seed, linkage="ward", sample_size=sample_size)


def agglomerative_average(X: np.ndarray, k: int, *, seed: int = 0, sample_size: int = 10_000) -> ClusterResult:
    """Average linkage: merge the pair of clusters with the smallest mean distance between their points."""
    return agglomerative(X, k, seed=seed, linkage="average", sample_size=sample_size)


# --- density: DBSCAN and HDBSCAN ---------------------------------------------------------------------------

# Density estimates need neighbours, and in 16 to 160 dimensions 400 tracks are too few: distances concentrate
# and every track looks as sparse as the next (DBSCAN then finds one cluster, HDBSCAN only noise). So both run on
# a UMAP reduction of the space when it has more dimensions than UMAP_COMPONENTS, the recipe of UMAP's own
# guide ("Using UMAP for clustering") and of N2D (McConville et al. 2020): min_dist 0 packs each group tightly,
# a neighbourhood of 30 follows groups rather than pairs.
UMAP_COMPONENTS = 8  # enough room for a dozen separated groups (k_range's upper end), few enough for density
UMAP_NEIGHBORS = 30  # UMAP's guide for clustering; the default 15 favours finer, local structure
# The most clusters a run looks for: the upper end of ClusterConfig.k_range's default. HDBSCAN's smallest
# cluster is half the size of a group at that many equal groups, so it cannot return many more than twice that.
K_MAX = 12
HDBSCAN_MIN_SAMPLES = 5  # small: a conservative core distance would leave most of a diffuse space as noise
NULL_DRAWS = 19  # Gaussian null draws of the structure test: p = 0.05 when the data beats every one
STRUCTURE_ALPHA = 0.05  # the test's level: HDBSCAN's groups count when p <= this

# The first words of the note a density clusterer adds when it found one cluster, no cluster, or left most
# tracks as noise (the analysis names those rows by it).
DEGENERATE = ("no cluster:", "one cluster:", "most tracks noise:")

_REDUCED: OrderedDict[tuple[Any, ...], tuple[np.ndarray, Any]] = OrderedDict()
_REDUCED_KEEP = 4  # a run clusters each space with dbscan, then hdbscan: two spaces' reductions are plenty


def umap_reduce(X: np.ndarray, n_components: int = UMAP_COMPONENTS, seed: int = 0, *,
                n_neighbors: int = UMAP_NEIGHBORS) -> tuple[np.ndarray, Any]:
    """UMAP of ``X`` [shape=(n, d)] to ``n_components`` dimensions, seeded (``random_state=seed``, so single-
    threaded and reproducible), ``min_dist`` 0. Returns ``(Z [shape=(n, n_components)], the fitted umap.UMAP)``;
    ``reducer.transform(Y)`` places new points [shape=(m, d)] in the same space.

    The last few results are cached, keyed on the bytes of ``X`` (a hash, not the array's identity, so that a
    copy hits too), its shape and dtype, and the settings: dbscan and hdbscan of one space reduce it once. ``Z``
    is read-only because it is shared. The first call in a process compiles UMAP's numba code (10-40 s); then
    400 points take 1-3 s, a 20,000-point sample about a minute.
    """
    X = np.ascontiguousarray(X)
    n_neighbors = min(n_neighbors, len(X) - 1)
    key = (hashlib.blake2b(X.tobytes(), digest_size=16).hexdigest(), X.shape, X.dtype.str, n_components,
           n_neighbors, seed)
    if key in _REDUCED:
        _REDUCED.move_to_end(key)
        return _REDUCED[key]
    import umap  # a few seconds to import (numba): only when a density method needs it

    reducer = umap.UMAP(n_components=n_components, n_neighbors=n_neighbors, min_dist=0.0, random_state=seed)
    with warnings.catch_warnings():  # "n_jobs overridden by random_state", disconnected-graph notices
        warnings.filterwarnings("ignore", category=UserWarning)
        Z = np.asarray(reducer.fit_transform(X), dtype=np.float32)
    Z.flags.writeable = False
    _REDUCED[key] = (Z, reducer)
    while len(_REDUCED) > _REDUCED_KEEP:
        _REDUCED.popitem(last=False)
    return Z, reducer


class ReducedAssigner:
    """Assigns new points [shape=(m, d)] of the original space to clusters found on its UMAP reduction.

    UMAP's transform places every new point among its nearest fitted points, even one far outside the data, and
    with ``min_dist`` 0 it places it about a cluster's core distance off (clusters are packed that tight). So the
    two questions are asked where each can be answered: a new point is noise when, in the original space, it lies
    farther from its nearest fitted point than the widest UMAP neighbourhood (distance to the ``n_neighbors``-th
    neighbour) of any of its ``n_neighbors`` nearest fitted points: outside the data. (The nearest point's own
    neighbourhood alone would call 6-17 % of a Gaussian blob's tail outside in 16-80 dimensions; this rule
    0.1-0.3 %.) Every other point is placed by the fitted UMAP and takes the label of the nearest fitted point
    there (noise when that point was noise).
    """

    def __init__(self, reducer: Any, fitted: np.ndarray, embedded: np.ndarray, labels: np.ndarray) -> None:
        self.reducer = reducer
        self.labels = np.asarray(labels, dtype=np.int64)
        k = min(int(reducer.n_neighbors), len(fitted))
        self.original = NearestNeighbors(n_neighbors=k).fit(fitted)
        self.reach = self.original.kneighbors(fitted)[0][:, -1]
        self.reduced = NearestNeighbors(n_neighbors=1).fit(embedded)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Label of each row of ``X`` [shape=(m, d)] -> [shape=(m,)], -1 outside the data or near fitted noise."""
        out = np.full(len(X), NOISE, dtype=np.int64)
        if len(X) == 0:
            return out
        dist, idx = self.original.kneighbors(X)
        inside = dist[:, 0] <= self.reach[idx].max(axis=1) * (1 + 1e-6)
        if inside.any():
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning)
                Z = np.asarray(self.reducer.transform(np.asarray(X)[inside]), dtype=np.float32)
            out[inside] = self.labels[self.reduced.kneighbors(Z)[1][:, 0]]
        return out


# How the points outside a density clusterer's sample were assigned when it ran on a UMAP reduction.
_PLACED = ("the rest were placed by the fitted UMAP and joined the nearest sample point's cluster, noise when "
           "outside the data")


def _density_space(X: np.ndarray, umap_components: int, seed: int) -> tuple[np.ndarray, Any, dict[str, Any],
                                                                                list[str]]:
    """The space a density method runs in: ``X`` itself, or its UMAP reduction when ``X`` has more than
    ``umap_components`` dimensions (0 = never) and more points than a UMAP neighbourhood (a few dozen tracks are
    clustered as they are, with a note). Returns ``(points, reducer or None, params, notes)``."""
    n, d = X.shape
    if umap_components < 0:
        raise ConfigError(f"umap_components = {umap_components} must be >= 0 (0 = cluster the space as given).")
    if umap_components == 0 or d <= umap_components:
        return X, None, {"reduction": "none"}, []
    if n <= UMAP_NEIGHBORS:
        return X, None, {"reduction": "none"}, [f"too few points ({n}) for a UMAP neighbourhood of "
                                                f"{UMAP_NEIGHBORS}: clustered in all {d} dimensions"]
    Z, reducer = umap_reduce(X, umap_components, seed)
    params = {"reduction": "umap", "umap_components": umap_components, "umap_neighbors": reducer.n_neighbors,
              "umap_min_dist": 0.0, "reduced_from": d}
    return Z, reducer, params, [f"on a UMAP reduction of the {d} dimensions to {umap_components}"]


def default_min_samples(n: int, d: int) -> int:
    """DBSCAN's ``min_samples`` (neighbours, the point itself included) for n points in d dimensions.

    2·d, the rule of Sander et al. (1998) kept by Schubert et al. (2017, "DBSCAN revisited"): a density
    estimate needs more neighbours in more dimensions (d is the reduced space's when DBSCAN runs on a UMAP
    reduction). Capped at 100 and at n/10 (so that a cluster of a tenth of a small collection can still be
    dense); then raised to at least 4 (Ester et al.'s 1996 value for 2-d data); never above n.
    """
    return int(min(max(4, min(2 * d, 100, n // 10)), n))


def default_min_cluster_size(n: int, k_max: int = K_MAX) -> int:
    """HDBSCAN's smallest cluster for n points: half the size of a group when the n split into ``k_max``
    equal groups (so it can return at most about 2·k_max clusters), and at least 5 (never above n).

    400 tracks, k_max 12: 17. A 20,000-track sample: 833, so at 100k tracks an album or an artist is not a
    cluster, a style is.
    """
    return int(min(max(5, round(n / (2 * k_max))), n))


def k_distances(X: np.ndarray, min_samples: int) -> np.ndarray:
    """Distance of each point to its ``min_samples``-th nearest neighbour, the point itself counted first
    (so exactly DBSCAN's test: a point is core when this is <= eps), sorted ascending. [shape=(n,)]

    A tree or chunked brute-force neighbour search: O(n·min_samples) memory, never the n x n matrix.
    """
    X = np.asarray(X)
    if not 1 <= min_samples <= len(X):
        raise ConfigError(f"min_samples = {min_samples} is impossible for {len(X)} points; choose 1..{len(X)}.")
    dist, _ = NearestNeighbors(n_neighbors=min_samples).fit(X).kneighbors(X)
    return np.sort(dist[:, -1])


def knee(y: np.ndarray) -> int:
    """Index of the knee of an increasing, convex curve ``y`` [shape=(n,)] (a sorted k-distance curve).

    Kneedle's idea (Satopää et al., 2011) without its smoothing: scale both axes to [0, 1], draw the chord
    from the first point to the last, and take the point farthest below it. For a curve that is flat and
    then shoots up (dense points, then the sparse ones) that is where it bends. A curve with no point below
    its chord (flat, straight or concave: no density contrast) has no knee, and the last index is returned,
    so that DBSCAN makes every point core rather than inventing clusters.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.size < 3 or y[-1] <= y[0]:
        return int(y.size - 1)
    x = np.linspace(0.0, 1.0, y.size)
    below = x - (y - y[0]) / (y[-1] - y[0])  # vertical distance below the chord y = x, proportional to the normal
    i = int(np.argmax(below))
    return i if below[i] > 1e-9 else int(y.size - 1)


def knee_eps(X: np.ndarray, min_samples: int) -> tuple[float, int, np.ndarray]:
    """DBSCAN's eps read off the data: the k-distance at the knee of the sorted k-distance curve.

    Points left of the knee have a dense neighbourhood and become core points; the ones past it, where the
    distance shoots up, are border points or noise. Returns ``(eps, knee index, sorted k-distances)``.
    """
    kd = k_distances(X, min_samples)
    i = knee(kd)
    # Identical points have k-distance 0, and DBSCAN needs eps > 0: the smallest eps that still joins them.
    eps = float(kd[i]) if kd[i] > 0 else float(np.finfo(np.float32).eps * max(1.0, float(np.abs(X).max())))
    return eps, i, kd


def gaussian_null_pvalue(X: np.ndarray, k: int, *, seed: int = 0, n_null: int = NULL_DRAWS,
                         sample_size: int = 2000) -> float:
    """Whether ``X`` [shape=(n, d)] holds more K-Means structure than one Gaussian blob of its shape.

    SigClust's question (Liu, Hayes, Nobel and Marron 2008) with a Monte-Carlo answer: the K-Means cluster index
    (within-cluster sum of squares over total, k clusters) of ``X``, against ``n_null`` seeded draws of a
    Gaussian with ``X``'s mean and covariance. Returns the p-value ``(1 + draws at or below the data) /
    (n_null + 1)``: 0.05 with the default 19 draws when ``X`` beats every one. Heavy tails or a uniform box score
    above the Gaussian (no false groups). Above ``sample_size`` points, a seeded sample of that size.
    """
    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=np.float64)
    if len(X) > sample_size:
        X = X[rng.choice(len(X), size=sample_size, replace=False)]
    k = min(k, len(X) - 1)
    Xc = X - X.mean(0)
    total = float((Xc ** 2).sum())
    if k < 2 or total <= 0:
        return 1.0
    w, V = np.linalg.eigh(np.cov(Xc, rowvar=False).reshape(X.shape[1], X.shape[1]))
    root = V * np.sqrt(np.clip(w, 0.0, None))  # a draw: standard normal @ root.T has X's covariance

    def index(Y: np.ndarray) -> float:
        # One thread: on 2,000 points OpenMP threads only contend (10x slower on a busy machine).
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.filterwarnings("ignore", message="Number of distinct clusters")
            return float(KMeans(n_clusters=k, n_init=3, random_state=seed).fit(Y).inertia_) / float(
                ((Y - Y.mean(0)) ** 2).sum())

    data = index(Xc)
    nulls = [index(rng.standard_normal(X.shape) @ root.T) for _ in range(n_null)]
    return (1 + sum(v <= data for v in nulls)) / (n_null + 1)


def _fitted(X: np.ndarray, sample_size: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    pick = _sample(len(X), sample_size, seed)
    return (X if pick is None else X[pick]), pick


def dbscan(X: np.ndarray, k: int | None = None, *, seed: int = 0, eps: float | None = None,
           min_samples: int | None = None, umap_components: int = UMAP_COMPONENTS,
           sample_size: int = 20_000) -> ClusterResult:
    """DBSCAN of ``X`` [shape=(n, d)]. ``k`` is ignored: the density finds the clusters. Noise gets label -1.

    It runs on the UMAP reduction of ``X`` to ``umap_components`` dimensions (:func:`umap_reduce`, seeded by
    ``seed``) when ``X`` has more; 0 = on ``X`` as given. ``eps`` None (the default) takes it from the data
    (:func:`knee_eps` in that space); a fixed eps is one number for every space, and in a space it was not
    chosen for it joins everything into one cluster or calls it all noise (a given eps is a distance in the
    space DBSCAN runs in). ``min_samples`` None takes :func:`default_min_samples` of that space.

    scikit-learn's DBSCAN holds every point's eps-neighbourhood at once, and in a dense latent space those are
    large (100k points in 16-d: 210 s and 1.3 GB). Above ``sample_size`` the reduction, eps and DBSCAN come
    from a seeded sample of that size, and the other points are assigned as ``predict`` assigns new ones:
    without a reduction they join the cluster of the nearest sample core point within eps (the rule DBSCAN
    itself uses for border points), else they are noise; with one, see :class:`ReducedAssigner`.

    A result with one cluster, none, or most points as noise says so, and why, in its notes.
    """
    X = _check_points(X)
    fit_X, pick = _fitted(X, sample_size, seed)
    Z, reducer, params, notes = _density_space(fit_X, umap_components, seed)
    n, d = Z.shape
    ms = default_min_samples(n, d) if min_samples is None else min_samples
    if not 1 <= ms <= n:
        raise ConfigError(f"min_samples = {ms} is impossible for {n} points; choose 1..{n}.")
    params.update(min_samples=ms, fitted_on=n)
    no_knee = False
    if eps is None:
        eps, i, _ = knee_eps(Z, ms)
        no_knee = i == n - 1
        params.update(eps=eps, eps_source="k-distance knee", knee_quantile=round(i / max(n - 1, 1), 4))
    else:
        if eps <= 0:
            raise ConfigError(f"eps = {eps} must be > 0; leave it unset to take it from the k-distance knee.")
        params.update(eps=float(eps), eps_source="given")
    est = DBSCAN(eps=params["eps"], min_samples=ms).fit(Z)
    core = est.core_sample_indices_
    assigner: Predictor = (NearestPointAssigner(Z[core], est.labels_[core], params["eps"]) if reducer is None
                           else ReducedAssigner(reducer, fit_X, Z, est.labels_))
    notes = ["density method: k ignored", *notes]
    labels = _extend(X, pick, est.labels_, assigner)
    if pick is not None:
        notes.append(f"fitted on a seeded sample of {n} of {len(X)} points (neighbourhood memory); " + (
            "the rest joined the nearest core point's cluster when within eps, else noise"
            if reducer is None else _PLACED))
    given = params["eps_source"] == "given"
    result = _result(labels, params, notes, assigner, pick)
    return replace(result, notes="; ".join([*notes, *_dbscan_degenerate(result, given, no_knee)]))


def _dbscan_degenerate(res: ClusterResult, given: bool, no_knee: bool) -> list[str]:
    """Why a DBSCAN result has one cluster, none, or mostly noise (nothing when it is none of those)."""
    out = []
    if res.n_clusters == 0:
        out.append("no cluster: no track has min_samples neighbours within eps, so every track is noise"
                   + (" (the given eps is too small for this space: leave it unset)" if given else ""))
    elif res.n_clusters == 1:
        if given:
            out.append("one cluster: the given eps bridges every gap between groups (leave it unset to read eps "
                       "off the k-distance knee)")
        elif no_knee:
            out.append("one cluster: the k-distance curve has no knee (every track is about as dense as the "
                       "others), so eps joins them all: the space has no dense separated groups")
        else:
            out.append("one cluster: at the k-distance knee's eps the dense tracks form one connected region, "
                       "with no density gap between groups (one eps cannot separate groups that touch)")
    if res.noise_fraction > 0.5:
        out.append("most tracks noise: fewer than half lie within eps of a core point; the density varies "
                   "more than one eps can follow")
    return out


def hdbscan(X: np.ndarray, k: int | None = None, *, seed: int = 0, min_cluster_size: int | None = None,
            min_samples: int | None = None, umap_components: int = UMAP_COMPONENTS,
            sample_size: int = 20_000) -> ClusterResult:
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
    distance, else noise; with one, see :class:`ReducedAssigner`. Noise gets label -1. A result with one
    cluster, none, or most points as noise says so, and why, in its notes.
    """
    X = _check_points(X)
    fit_X, pick = _fitted(X, sample_size, seed)
    Z, reducer, params, notes = _density_space(fit_X, umap_components, seed)
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
        assigner: Predictor = NearestPointAssigner(Z, fit_labels, core_dist)
    else:
        assigner = ReducedAssigner(reducer, fit_X, Z, fit_labels)
    params.update(min_cluster_size=mcs, min_samples=ms, k_max=K_MAX, fitted_on=n, clusters_before_test=found,
                  structure_p=None if math.isnan(p) else round(p, 4), single_cluster_allowed=single)
    notes = ["density method: k ignored", *notes]
    labels = _extend(X, pick, fit_labels, assigner)
    if pick is not None:
        notes.append(f"fitted on a seeded sample of {n} of {len(X)} points (O(n^2) time); " + (
            "the rest joined the nearest sample point's cluster when within its core distance, else noise"
            if reducer is None else _PLACED))
    result = _result(labels, params, notes, assigner, pick)
    return replace(result, notes="; ".join([*notes, *_hdbscan_degenerate(result, mcs, single)]))


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


CLUSTERERS: dict[str, Callable[..., ClusterResult]] = {
    "kmeans": kmeans,
    "agglomerative_ward": agglomerative_ward,
    "agglomerative_average": agglomerative_average,
    "dbscan": dbscan,
    "hdbscan": hdbscan,
    "gmm": gmm,
}
# Clusterers that find their own number of clusters.
DENSITY = ("dbscan", "hdbscan")


def clusterer_options(name: str) -> tuple[str, ...]:
    """The keyword options clusterer ``name`` takes besides ``seed``."""
    sig = inspect.signature(CLUSTERERS[name])
    return tuple(p for p, v in sig.parameters.items() if v.kind is v.KEYWORD_ONLY and p != "seed")


def cluster(name: str, X: np.ndarray, k: int | None, *, seed: int = 0, sample_size: int | None = None,
            **options: Any) -> ClusterResult:
    """Cluster ``X`` [shape=(n, d)] with the clusterer registered as ``name``, into ``k`` clusters where it
    takes a k (density methods ignore it). ``options`` go to that clusterer; unknown ones are an error.

    ``sample_size`` (every clusterer takes it): above this many points the methods that do not scale fit on a
    seeded sample of it and K-Means turns to MiniBatchKMeans; None = the clusterer's own default (see the
    table above). ``ClusterResult.sample_size`` says whether a sample was used.
    """
    if sample_size is not None:
        options["sample_size"] = sample_size
    if name not in CLUSTERERS:
        raise ConfigError(f"unknown clusterer {name!r}; choose one of: {', '.join(CLUSTERERS)}")
    unknown = set(options) - set(clusterer_options(name))
    if unknown:
        raise ConfigError(f"clusterer {name!r} takes no option {', '.join(sorted(unknown))}; it takes: "
                          f"{', '.join(clusterer_options(name)) or 'none'}")
    if k is None and name not in DENSITY:
        raise ConfigError(f"clusterer {name!r} needs k; set cluster.k or let it be chosen.")
    return CLUSTERERS[name](X, k, seed=seed, **options)


def choose_k(X: np.ndarray, k_range: tuple[int, int] = (2, 12), *, seed: int = 0, sample_size: int = 5000) -> int:
    """The k in ``k_range`` (inclusive) whose K-Means clustering of ``X`` has the highest silhouette.

    Used only when neither k nor a label to take it from is given.
    """
    lo, hi = k_range[0], min(k_range[1], len(X) - 1)
    if hi < lo:
        raise ConfigError(f"cannot choose k in {k_range} for {len(X)} tracks; set cluster.k explicitly.")
    scores = {k: silhouette(X, kmeans(X, k, seed=seed, n_init=3).labels, sample_size=sample_size, seed=seed)
              for k in range(lo, hi + 1)}
    best = max(scores, key=lambda k: (np.nan_to_num(scores[k], nan=-2.0), -k))
    log.info("chose k = %d by silhouette (%s)", best, ", ".join(f"{k}: {s:.3f}" for k, s in scores.items()))
    return best
