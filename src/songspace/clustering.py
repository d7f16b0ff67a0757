"""Clusterers by name and the choice of k. (:class:`songspace.estimator.LatentClusterer` is the scikit-learn-style
face that learns a space and clusters it.)

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
``dbscan``                 DBSCAN; ``eps`` from the knee of the k-distance curve (:func:`knee_eps`),
                           ``min_samples`` from :func:`default_min_samples`. Ignores k. It holds every
                           eps-neighbourhood at once (all 100k: 210 s, 1.3 GB), so above ``sample_size``
                           (20,000) it runs on a seeded sample and the rest join the nearest core point's
                           cluster within eps. 62 s / 86 s.
``hdbscan``                HDBSCAN (scikit-learn's); ``min_cluster_size`` from n
                           (:func:`default_min_cluster_size`). Ignores k. O(n^2) time (Prim's tree), so
                           above ``sample_size`` (20,000) it runs on a seeded sample and the rest are
                           assigned as ``predict`` does. 75 s / 152 s.
``gmm``                    Gaussian mixture, full covariances regularised relative to the data's scale.
                           4-15 s / 75 s per EM run (``n_init``) on all 100k, so above ``sample_size``
                           (20,000) EM runs on a seeded sample and every point gets its likeliest component.
=========================  ==========================================================================

``ClusterResult.sample_size`` says when a clusterer was fitted on a sample (and of how many points), so that a
results table can mark those numbers; :func:`cluster` takes ``sample_size=None`` as "the clusterer's default".

Noise (label -1) is reported as ``ClusterResult.noise_fraction``; the metrics leave it out of internal scores
and count it as wrong in purity (see :mod:`songspace.evaluation.metrics`).
"""

from __future__ import annotations

import inspect
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN, AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.metrics import pairwise_distances_argmin
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors

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
    labels = model.predict(X)
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


def default_min_samples(n: int, d: int) -> int:
    """``min_samples`` for DBSCAN/HDBSCAN (neighbours, the point itself included) for n points in d dimensions.

    2·d, the rule of Sander et al. (1998) kept by Schubert et al. (2017, "DBSCAN revisited"): a density
    estimate needs more neighbours in more dimensions. Capped at 100 (the neighbour search grows with it and
    the 79-d feature space would ask for 158) and at n/10 (so that a cluster of a tenth of a small collection
    can still be dense); then raised to at least 4 (Ester et al.'s 1996 value for 2-d data); never above n.
    """
    return int(min(max(4, min(2 * d, 100, n // 10)), n))


def default_min_cluster_size(n: int, min_samples: int) -> int:
    """HDBSCAN's smallest cluster: 1% of the collection, but not below ``min_samples`` (nor above n).

    At 100k tracks a group of a few dozen songs is an album or an artist, not the genre- or language-level
    structure songspace looks for; on small collections ``min_samples`` keeps clusters from being specks.
    """
    return int(min(max(min_samples, 2, round(0.01 * n)), n))


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


def dbscan(X: np.ndarray, k: int | None = None, *, seed: int = 0, eps: float | None = None,
           min_samples: int | None = None, sample_size: int = 20_000) -> ClusterResult:
    """DBSCAN of ``X`` [shape=(n, d)]. ``k`` is ignored: the density finds the clusters. Noise gets label -1.

    ``eps`` None (the default) takes it from the data (:func:`knee_eps`); a fixed eps is one number for every
    space, and in a space it was not chosen for it joins everything into one cluster or calls it all noise.
    ``min_samples`` None takes :func:`default_min_samples`.

    scikit-learn's DBSCAN holds every point's eps-neighbourhood at once, and in a dense latent space those are
    large (100k points in 16-d: 210 s and 1.3 GB). Above ``sample_size`` eps is read and DBSCAN run on a seeded
    sample of that size; the other points join the cluster of the nearest sample core point within eps (the
    rule DBSCAN itself uses for border points, and what ``predict`` does), else they are noise.
    """
    X = _check_points(X)
    pick = _sample(len(X), sample_size, seed)
    fit_X = X if pick is None else X[pick]
    n, d = fit_X.shape
    ms = default_min_samples(n, d) if min_samples is None else min_samples
    if not 1 <= ms <= n:
        raise ConfigError(f"min_samples = {ms} is impossible for {n} points; choose 1..{n}.")
    params: dict[str, Any] = {"min_samples": ms, "fitted_on": n}
    if eps is None:
        eps, i, _ = knee_eps(fit_X, ms)
        params.update(eps=eps, eps_source="k-distance knee", knee_quantile=round(i / max(n - 1, 1), 4))
    else:
        if eps <= 0:
            raise ConfigError(f"eps = {eps} must be > 0; leave it unset to take it from the k-distance knee.")
        params.update(eps=float(eps), eps_source="given")
    est = DBSCAN(eps=params["eps"], min_samples=ms).fit(fit_X)
    core = est.core_sample_indices_
    assigner = NearestPointAssigner(fit_X[core], est.labels_[core], params["eps"])
    notes = ["density method: k ignored"]
    labels = _extend(X, pick, est.labels_, assigner)
    if pick is not None:
        notes.append(f"fitted on a seeded sample of {n} of {len(X)} points (neighbourhood memory); the rest "
                     "joined the nearest core point's cluster when within eps, else noise")
    return _result(labels, params, notes, assigner, pick)


def hdbscan(X: np.ndarray, k: int | None = None, *, seed: int = 0, min_cluster_size: int | None = None,
            min_samples: int | None = None, sample_size: int = 20_000) -> ClusterResult:
    """HDBSCAN of ``X`` [shape=(n, d)] (scikit-learn's, with ``copy=True``). ``k`` is ignored.

    Defaults: ``min_samples`` from :func:`default_min_samples`, ``min_cluster_size`` from
    :func:`default_min_cluster_size`. scikit-learn's HDBSCAN is O(n^2) in time, so above ``sample_size`` it runs
    on a seeded sample of that size (defaults computed on the sample) and the other points are assigned as
    ``predict`` assigns new ones: the label of the nearest sample point when they lie within its core
    distance, else noise. Noise gets label -1.
    """
    X = _check_points(X)
    pick = _sample(len(X), sample_size, seed)
    fit_X = X if pick is None else X[pick]
    n, d = fit_X.shape
    ms = default_min_samples(n, d) if min_samples is None else min_samples
    mcs = default_min_cluster_size(n, ms) if min_cluster_size is None else min_cluster_size
    if not 1 <= ms <= n or not 2 <= mcs <= n:
        raise ConfigError(f"min_samples = {ms} and min_cluster_size = {mcs} must lie in 1..{n} and 2..{n} "
                          f"for {n} points.")
    fit_labels = HDBSCAN(min_cluster_size=mcs, min_samples=ms, copy=True).fit(fit_X).labels_
    core_dist, _ = NearestNeighbors(n_neighbors=ms).fit(fit_X).kneighbors(fit_X)
    assigner = NearestPointAssigner(fit_X, fit_labels, core_dist[:, -1])
    params: dict[str, Any] = {"min_cluster_size": mcs, "min_samples": ms, "fitted_on": n}
    notes = ["density method: k ignored"]
    labels = _extend(X, pick, fit_labels, assigner)
    if pick is not None:
        notes.append(f"fitted on a seeded sample of {n} of {len(X)} points (O(n^2) time); the rest joined the "
                     "nearest sample point's cluster when within its core distance, else noise")
    return _result(labels, params, notes, assigner, pick)


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
