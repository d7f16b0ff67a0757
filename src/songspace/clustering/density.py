"""The machinery the density clusterers (DBSCAN, HDBSCAN) share: the seeded UMAP reduction they run on, their
default settings, the k-distance knee that gives DBSCAN its eps, and the Gaussian-null structure test.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections import OrderedDict
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from songspace.errors import ConfigError

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

# DBSCAN and HDBSCAN fit their UMAP reduction and their clustering on a seeded sample of this many tracks and place
# the rest through the fitted reduction (:class:`songspace.clustering.placing.Reduced`), so that their cost stops
# growing with the collection: UMAP's fit and HDBSCAN's tree grow faster than linearly, placing the rest is one
# nearest-neighbour query per track. Measured (README, "Scale": `benchmarks/density_sample.py` on a 2,000-track
# build of hybrid_music_dev, 5 seeds): on the best space, features_musicnn, HDBSCAN's genre NMI grows with the
# sample all the way to 2,000 (0.11 at 250, 0.28 at 500, 0.36 at 1,000, 0.53 at 2,000); on the statistics and PCA it
# is flat within its spread. 2,000 keeps the fit at a few seconds (3.8 s at 10k tracks); a larger collection may
# gain from a larger ``cluster.sample_size``, at a UMAP fit that grows faster than linearly.
DENSITY_SAMPLE = 2000

_REDUCED: OrderedDict[tuple[Any, ...], tuple[np.ndarray, Any]] = OrderedDict()
_REDUCED_KEEP = 4  # a run clusters each space with dbscan, then hdbscan: two spaces' reductions are plenty


def umap_reduce(X: np.ndarray, n_components: int = UMAP_COMPONENTS, seed: int = 0, *,
                n_neighbors: int = UMAP_NEIGHBORS) -> tuple[np.ndarray, Any]:
    """UMAP of ``X`` [shape=(n, d)] to ``n_components`` dimensions, seeded (``random_state=seed``, so single-
    threaded and reproducible), ``min_dist`` 0. Returns ``(Z [shape=(n, n_components)], the fitted umap.UMAP)``.
    The reducer has no search index, so it cannot ``transform``: new points are placed by
    :class:`~songspace.clustering.placing.Reduced`, which needs only ``n_neighbors``.

    The neighbour graph is exact and computed here (:func:`exact_knn`, scikit-learn's BLAS distances) and handed to
    UMAP as ``precomputed_knn``: UMAP's own path below 4,096 points calls a numba distance once per pair through
    scikit-learn's Python loop (12 of the 16 s of HDBSCAN on a 2,000-point sample), and above it builds an
    approximate graph. The last few results are cached, keyed on the bytes of ``X`` (a hash, not the array's
    identity, so that a copy hits too), its shape and dtype, and the settings: dbscan and hdbscan of one space
    reduce it once. ``Z`` is read-only because it is shared. The first call in a process compiles UMAP's numba
    code (about 10 s); then a 2,000-point sample takes a few seconds (``python benchmarks/density_sample.py``).
    """
    X = np.ascontiguousarray(X)
    n_neighbors = min(n_neighbors, len(X) - 1)
    key = (hashlib.blake2b(X.tobytes(), digest_size=16).hexdigest(), X.shape, X.dtype.str, n_components,
           n_neighbors, seed)
    if key in _REDUCED:
        _REDUCED.move_to_end(key)
        return _REDUCED[key]
    import umap  # a few seconds to import (numba): only when a density clusterer needs it

    knn = exact_knn(X, n_neighbors)
    reducer = umap.UMAP(n_components=n_components, n_neighbors=n_neighbors, min_dist=0.0, random_state=seed,
                        precomputed_knn=(*knn, None))
    with warnings.catch_warnings():  # "n_jobs overridden by random_state", disconnected-graph notices
        warnings.filterwarnings("ignore", category=UserWarning)
        Z = np.asarray(reducer.fit_transform(X), dtype=np.float32)
    Z.flags.writeable = False
    _REDUCED[key] = (Z, reducer)
    while len(_REDUCED) > _REDUCED_KEEP:
        _REDUCED.popitem(last=False)
    return Z, reducer


def exact_knn(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each point's ``k`` nearest points of ``X`` [shape=(n, d)], itself first, as UMAP's ``precomputed_knn``
    wants them: ``(indices [shape=(n, k)] int64, distances [shape=(n, k)] float32)``, ascending.

    Brute force in chunks (scikit-learn, in float64), O(n^2·d) time and O(n·k) memory: a density clusterer's
    sample is a few thousand points. Each point is put first at distance exactly 0 rather than found by the
    search: the search's ``|x|^2 + |y|^2 - 2 x·y`` leaves a point a small distance from itself, and UMAP would
    take that for its nearest neighbour's distance (``rho``) and weigh the whole neighbourhood by it.
    """
    X = np.asarray(X, dtype=np.float64)
    dist, idx = NearestNeighbors(n_neighbors=k - 1, algorithm="brute").fit(X).kneighbors()  # others only
    n = len(X)
    idx = np.hstack([np.arange(n)[:, None], idx]).astype(np.int64)
    dist = np.hstack([np.zeros((n, 1)), dist]).astype(np.float32)
    return idx, dist


def sampled_note(name: str, n: int, total: int, why: str, unreduced: str, reduced: bool) -> str:
    """The note (and run-log line) of a density clusterer ``name`` fitted on a seeded sample of ``n`` of ``total``
    points: ``why`` it sampled, and how the rest were assigned: ``unreduced`` (its own rule) when it ran on the
    space as given, else through the fitted UMAP reduction (:class:`~songspace.clustering.placing.Reduced`)."""
    logging.getLogger(f"songspace.clustering.{name}").info(  # the clusterer's own module logger
        "%s: fitted on a seeded sample of %d of %d points, the rest placed (cluster.sample_size)", name, n, total)
    rest = unreduced if not reduced else ("the rest were placed in the fitted UMAP reduction among their nearest "
                                          "sample points and joined the nearest one's cluster there, noise when "
                                          "outside the data")
    return f"fitted on a seeded sample of {n} of {total} points ({why}); {rest}"


def density_space(X: np.ndarray, umap_components: int, seed: int) -> tuple[np.ndarray, Any, dict[str, Any],
                                                                               list[str]]:
    """The space a density clusterer runs in: ``X`` itself, or its UMAP reduction when ``X`` has more than
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
