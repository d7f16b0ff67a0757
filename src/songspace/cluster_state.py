"""A run's clusterings kept as plain arrays, and rebuilt to place new points in them without refitting.

:func:`cluster_state` reads what a fitted clusterer (:attr:`songspace.clustering.ClusterResult.model`) learned and
returns it as named numpy arrays (``state/<representation>+<clusterer>.npz`` of a run folder: no pickle, so a run
folder never runs code when it is read); :func:`predictor` rebuilds from them an object whose ``predict(X)`` gives
each new point [shape=(m, d)] a cluster and a confidence in [0, 1]:

===================  ====================================  ==============================================
clusterer            saved                                  a new point takes
===================  ====================================  ==============================================
``kmeans``           the centroids                          the nearest centroid (how K-Means labels points)
``agglomerative_*``  each cluster's centroid, the run's     a run track's own cluster when it is one
                     points and their clusters              (the tree's answer), else the nearest
                                                            centroid (how the run placed the points
                                                            it did not build the tree on)
``gmm``              weights, means, precision factors      its likeliest component (the GMM's ``predict``)
``dbscan``           core points, their labels, eps         the nearest core point's cluster within eps,
                                                            else -1 (DBSCAN's rule for border points)
``hdbscan``          fitted points, labels, core distances  the nearest point's label within its core
                                                            distance, else -1
===================  ====================================  ==============================================

A tree does not cut its points by the nearest centroid: on 400 real tracks the nearest centroid gives 81-98 % of
the tree's own labels back. So the agglomerative state keeps the run's points too, and a point that coincides
with one of them (the same track assigned again) gets the cluster the tree gave it.

Confidence: for the centroid rules ``1 - d1 / d2`` (d1 the distance to the centroid of the cluster given, d2 to
the nearest other centroid: 1 on a centroid, 0 half-way between two, and 0 for a run track that the tree put
nearer another centroid); for the GMM the posterior probability of its component; for the density rules
``1 - d / r`` (d the distance to the nearest stored point, r its radius), 0 for noise (-1).

When a density clusterer ran on a UMAP reduction of the space, the reduction cannot be kept as arrays (UMAP's
``transform`` needs its fitted search structures). Then the run's own points are kept in the representation's
space with their labels, each with the distance to its ``min_samples``-th neighbour there as radius, and a new
point takes the nearest one's label within it: an approximation of the run's rule, marked ``approximate`` in
the state and in what ``songspace assign`` writes; the run's own points get their own labels back (above
``MAX_POINTS`` points, those of a seeded sample of that many).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

NOISE = -1
State = dict[str, np.ndarray]
# The most points a state keeps (a seeded sample above it): 20,000 x 2048 float32 = 160 MB for the widest
# representation; the density clusterers fit on samples of this size too.
MAX_POINTS = 20_000
# A point within this distance (relative to 1 + its norm) of a run point is that point: the same track embedded
# again (a float32 product computed with another thread count differs in the last bits).
SAME_POINT = 1e-5


def _points(X: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The run's points [float32] and labels, a seeded sample of ``MAX_POINTS`` of them above that."""
    X, labels = np.asarray(X, dtype=np.float32), np.asarray(labels, dtype=np.int64)
    if len(X) > MAX_POINTS:  # bounded like the clusterers' own samples (and the file with them)
        keep = np.sort(np.random.default_rng(0).choice(len(X), size=MAX_POINTS, replace=False))
        X, labels = X[keep], labels[keep]
    return X, labels


def _text(value: str) -> np.ndarray:
    return np.array(value, dtype=str)


def cluster_state(clusterer: str, model: Any, X: np.ndarray, labels: np.ndarray,
                  params: Mapping[str, Any] | None = None) -> State | None:
    """What ``model`` (a fitted :attr:`ClusterResult.model` of ``clusterer``) needs to place new points, as arrays.

    Parameters
    ----------
    clusterer : the clusterer's name (``kmeans``, ``gmm``, ...).
    model : the fitted predictor of the clustering.
    X : np.ndarray [shape=(n, d)], the points that were clustered (the representation's covered rows).
    labels : np.ndarray [shape=(n,)], their clusters in the run (-1 = noise).
    params : the clustering's settings (``ClusterResult.params``): ``min_samples`` sizes the approximate radius.

    Returns
    -------
    dict of arrays with a ``kind`` (``centroids``, ``gmm`` or ``nearest_point``), or None when ``model`` keeps
    nothing this module can read (a clusterer it does not know).
    """
    head = {"clusterer": _text(clusterer), "dim": np.int64(np.shape(X)[1])}
    if hasattr(model, "cluster_centers_"):  # KMeans, MiniBatchKMeans
        centroids = np.asarray(model.cluster_centers_, dtype=np.float64)
        return {**head, "kind": _text("centroids"), "centroids": centroids, "classes": np.arange(len(centroids))}
    if hasattr(model, "centroids") and hasattr(model, "classes"):  # clustering.NearestCentroid (agglomerative)
        points, point_labels = _points(X, labels)
        return {**head, "kind": _text("centroids"), "centroids": np.asarray(model.centroids, dtype=np.float64),
                "classes": np.asarray(model.classes, dtype=np.int64), "points": points, "labels": point_labels}
    if hasattr(model, "means_") and hasattr(model, "precisions_cholesky_"):  # GaussianMixture
        # what its predict reads: weights, means and the Cholesky factors of the precisions (upper triangular for
        # full covariances: only the triangle is kept, half the bytes of k x d x d)
        chol = np.asarray(model.precisions_cholesky_)
        if model.covariance_type == "full":
            rows, cols = np.triu_indices(chol.shape[-1])
            chol = chol[:, rows, cols]
        return {**head, "kind": _text("gmm"), "covariance_type": _text(model.covariance_type),
                "weights": np.asarray(model.weights_), "means": np.asarray(model.means_),
                "precisions_cholesky": chol}
    if hasattr(model, "reducer"):  # a density clusterer on a UMAP reduction: approximate in the space itself
        X, labels = _points(X, labels)
        m = int(min(max((params or {}).get("min_samples") or 5, 2), len(X)))
        from sklearn.neighbors import NearestNeighbors

        radius = NearestNeighbors(n_neighbors=m).fit(X).kneighbors(X)[0][:, -1]
        return {**head, "kind": _text("nearest_point"), "points": X, "labels": labels, "radius": radius,
                "approximate": np.bool_(True)}
    if hasattr(model, "radius") and hasattr(model, "labels") and hasattr(model, "nn"):  # NearestPointAssigner
        points = (np.zeros((0, np.shape(X)[1])) if model.nn is None
                  else np.asarray(model.nn._fit_X, dtype=np.float64))  # the stored points it was fitted on
        return {**head, "kind": _text("nearest_point"), "points": points,
                "labels": np.asarray(model.labels, dtype=np.int64),
                "radius": np.asarray(model.radius, dtype=np.float64), "approximate": np.bool_(False)}
    return None


def is_approximate(state: Mapping[str, np.ndarray]) -> bool:
    """Whether the state places new points by an approximation of the run's rule (see the module docstring)."""
    return bool(state.get("approximate", False))


class CentroidPredictor:
    """The nearest centroid, or the cluster of the run point a point coincides with (``points``, ``labels``);
    confidence ``1 - d1 / d2``."""

    def __init__(self, centroids: np.ndarray, classes: np.ndarray, points: np.ndarray | None = None,
                 labels: np.ndarray | None = None) -> None:
        from sklearn.neighbors import NearestNeighbors

        self.centroids, self.classes = np.asarray(centroids, np.float64), np.asarray(classes, np.int64)
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64)
        self.nn = NearestNeighbors(n_neighbors=1).fit(points) if points is not None and len(points) else None

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cluster and confidence of each row of ``X`` [shape=(m, d)]: two arrays [shape=(m,)]."""
        from sklearn.metrics.pairwise import euclidean_distances

        X = np.asarray(X, dtype=np.float64)
        if len(X) == 0:
            return np.empty(0, np.int64), np.empty(0)
        d = euclidean_distances(X, self.centroids)
        given = np.argmin(d, axis=1)
        if self.nn is not None and self.labels is not None:
            dist, idx = self.nn.kneighbors(X)
            same = dist[:, 0] <= SAME_POINT * (1 + np.linalg.norm(X, axis=1))
            position = {c: i for i, c in enumerate(self.classes)}
            given[same] = [position[c] for c in self.labels[idx[same, 0]]]
        if len(self.centroids) < 2:
            return self.classes[given], np.ones(len(X))
        rows = np.arange(len(X))
        d1 = d[rows, given]
        others = d.copy()
        others[rows, given] = np.inf
        d2 = others.min(axis=1)
        conf = np.where(d2 > 0, 1.0 - d1 / np.where(d2 > 0, d2, 1.0), 0.0)
        return self.classes[given], np.clip(conf, 0.0, 1.0)


class MixturePredictor:
    """The Gaussian mixture's likeliest component; confidence its posterior probability."""

    def __init__(self, state: Mapping[str, np.ndarray]) -> None:
        from sklearn.mixture import GaussianMixture

        means = np.asarray(state["means"])
        kind = str(state["covariance_type"])
        chol = np.asarray(state["precisions_cholesky"])
        if kind == "full":  # the upper triangle kept by cluster_state, back to k x d x d
            d = means.shape[1]
            full = np.zeros((len(means), d, d), dtype=chol.dtype)
            rows, cols = np.triu_indices(d)
            full[:, rows, cols] = chol
            chol = full
        gm = GaussianMixture(n_components=len(means), covariance_type=kind)
        gm.weights_, gm.means_, gm.precisions_cholesky_ = np.asarray(state["weights"]), means, chol
        gm.n_features_in_ = means.shape[1]
        self.gm = gm

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(X) == 0:
            return np.empty(0, np.int64), np.empty(0)
        return self.gm.predict(X).astype(np.int64), np.clip(self.gm.predict_proba(X).max(axis=1), 0.0, 1.0)


class NearestPointPredictor:
    """The nearest stored point's label when within its radius, else noise (-1); confidence ``1 - d / r``."""

    def __init__(self, points: np.ndarray, labels: np.ndarray, radius: np.ndarray) -> None:
        from sklearn.neighbors import NearestNeighbors

        self.labels = np.asarray(labels, dtype=np.int64)
        self.radius = np.broadcast_to(np.asarray(radius, dtype=np.float64), self.labels.shape)
        self.nn = NearestNeighbors(n_neighbors=1).fit(points) if len(points) else None

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out, conf = np.full(len(X), NOISE, dtype=np.int64), np.zeros(len(X))
        if self.nn is None or len(X) == 0:
            return out, conf
        dist, idx = self.nn.kneighbors(np.asarray(X, dtype=np.float64))
        dist, idx = dist[:, 0], idx[:, 0]
        r = self.radius[idx]
        near = dist <= r * (1 + 1e-6)  # the slack of clustering.NearestPointAssigner: recomputed float distances
        out[near] = self.labels[idx[near]]
        placed = near & (out != NOISE)
        conf[placed] = np.where(r[placed] > 0, 1.0 - dist[placed] / np.where(r[placed] > 0, r[placed], 1.0), 1.0)
        return out, np.clip(conf, 0.0, 1.0)


Predictor = CentroidPredictor | MixturePredictor | NearestPointPredictor


def _shape_problem(state: Mapping[str, np.ndarray]) -> str | None:
    """What is wrong with the arrays of ``state`` for its kind (a missing array, a shape that does not fit the
    others or its ``dim``, values that are not finite), or None when they fit."""
    kind = str(state.get("kind", ""))
    need = {"centroids": ("centroids", "classes"), "gmm": ("means", "weights", "precisions_cholesky",
                                                           "covariance_type"),
            "nearest_point": ("points", "labels", "radius")}.get(kind)
    if need is None:
        return f"unknown clustering state kind {kind!r}"
    absent = [k for k in ("dim", *need) if k not in state]
    if absent:
        return f"no array {absent[0]!r}"
    try:
        d = int(state["dim"])
    except (TypeError, ValueError):
        return "'dim' is not a whole number"
    arrays = {k: np.asarray(state[k]) for k in (*need, "points", "labels") if k in state}
    for k, a in arrays.items():
        if a.dtype.kind not in "biuf" and k != "covariance_type":
            return f"array {k!r} holds {a.dtype} values, not numbers"
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            return f"array {k!r} holds NaN or infinite values"
    expect: dict[str, tuple[int | None, ...]] = {}
    if kind == "centroids":
        k = len(arrays["centroids"]) if arrays["centroids"].ndim == 2 else -1
        expect = {"centroids": (None, d), "classes": (k,)}
        if "points" in arrays or "labels" in arrays:
            n = len(arrays.get("points", ()))
            expect |= {"points": (n, d), "labels": (n,)}
            if "labels" in arrays and not np.isin(arrays["labels"], arrays["classes"]).all():
                return "array 'labels' holds clusters that 'classes' does not list"
    elif kind == "gmm":
        k = len(arrays["means"]) if arrays["means"].ndim == 2 else -1
        chol = {"full": (k, d * (d + 1) // 2), "diag": (k, d), "spherical": (k,), "tied": (d, d)}.get(
            str(state["covariance_type"]))
        if chol is None:
            return f"unknown covariance_type {str(state['covariance_type'])[:20]!r}"
        expect = {"means": (None, d), "weights": (k,), "precisions_cholesky": chol}
    else:
        n = len(arrays["points"]) if arrays["points"].ndim == 2 else -1
        expect = {"points": (None, d), "labels": (n,)}
        if arrays["radius"].ndim and arrays["radius"].shape != (n,):
            return f"array 'radius' has shape {arrays['radius'].shape}, expected () or ({n},)"
    for key, shape in expect.items():
        got = arrays[key].shape
        if len(got) != len(shape) or any(s is not None and g != s for g, s in zip(got, shape, strict=True)):
            want = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
            return f"array {key!r} has shape {got}, expected {want}"
    if kind != "nearest_point" and len(arrays["classes" if kind == "centroids" else "weights"]) < 1:
        return "no cluster in it"
    return None


def predictor(state: Mapping[str, np.ndarray]) -> Predictor:
    """The predictor a :func:`cluster_state` describes. Raises ValueError for a state it does not know, or whose
    arrays do not fit together (a damaged or hand-edited file)."""
    problem = _shape_problem(state)
    if problem:
        raise ValueError(problem)
    kind = str(state.get("kind", ""))
    if kind == "centroids":
        return CentroidPredictor(state["centroids"], state["classes"], state.get("points"), state.get("labels"))
    if kind == "gmm":
        return MixturePredictor(state)
    if kind == "nearest_point":
        return NearestPointPredictor(state["points"], state["labels"], state["radius"])
    raise ValueError(f"unknown clustering state kind {kind!r}")
