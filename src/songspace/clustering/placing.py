"""How a fitted clustering places a point: one class per rule, used both by the clusterers (for the points they
did not fit on) and by ``songspace assign`` (rebuilt from the arrays a run saved).

Every placer has ``predict(X) -> labels`` and ``state(X, labels, params) -> dict of arrays`` (what the run folder
keeps as ``state/<representation>+<clusterer>.npz``: plain arrays, no pickle, so a run folder never runs code
when it is read); :func:`placer` rebuilds one from such arrays, and its ``place(X)`` gives each new point
[shape=(m, d)] a cluster and a confidence in [0, 1]:

=====================  ====================================  ==============================================
placer (clusterers)    saved                                 a new point takes
=====================  ====================================  ==============================================
:class:`NearestCentroid`  the centroids (K-Means); a tree's   the nearest centroid (how K-Means labels points);
(kmeans,               centroids and the run's points and    a run track its own cluster when it is one (the
agglomerative_*)       clusters (agglomerative)              tree's answer), else the nearest centroid
:class:`Mixture`       weights, means, precision factors     its likeliest component (the GMM's ``predict``)
(gmm)
:class:`NearestPoint`  stored points, labels, radii          the nearest stored point's cluster within its
(dbscan, hdbscan)      (DBSCAN: core points and eps;         radius, else -1 (DBSCAN's rule for border
                       HDBSCAN: all points, core distances)  points)
:class:`Reduced`       as NearestPoint, approximately (see   -
(density on UMAP)      below)
=====================  ====================================  ==============================================

A tree does not cut its points by the nearest centroid: on 400 real tracks the nearest centroid gives 81-98 % of
the tree's own labels back. So the agglomerative state keeps the run's points too, and a point that coincides
with one of them (the same track assigned again) gets the cluster the tree gave it.

Confidence: for the centroid rule ``1 - d1 / d2`` (d1 the distance to the centroid of the cluster given, d2 to
the nearest other centroid: 1 on a centroid, 0 half-way between two, and 0 for a run track that the tree put
nearer another centroid); for the GMM the posterior probability of its component; for the nearest-point rule
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
from typing import Any, ClassVar, Protocol

import numpy as np
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors

from songspace.clustering.result import NOISE

State = dict[str, np.ndarray]
# The most points a state keeps (a seeded sample above it): 20,000 x 2048 float32 = 160 MB for the widest
# representation.
MAX_POINTS = 20_000
# A point within this distance (relative to 1 + its norm) of a run point is that point: the same track embedded
# again (a float32 product computed with another thread count differs in the last bits).
SAME_POINT = 1e-5
# Float distances recomputed (float32 points, another summation order) need a hair of slack against a radius.
SLACK = 1 + 1e-6


class Placer(Protocol):
    """A fitted clustering's rule for new points, and the arrays that rebuild it."""

    def predict(self, X: np.ndarray) -> np.ndarray: ...

    def state(self, X: np.ndarray, labels: np.ndarray, params: Mapping[str, Any]) -> State: ...


def _text(value: str) -> np.ndarray:
    return np.array(value, dtype=str)


def _points(X: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The run's points [float32] and labels, a seeded sample of ``MAX_POINTS`` of them above that."""
    X, labels = np.asarray(X, dtype=np.float32), np.asarray(labels, dtype=np.int64)
    if len(X) > MAX_POINTS:  # bounded like the clusterers' own samples (and the file with them)
        keep = np.sort(np.random.default_rng(0).choice(len(X), size=MAX_POINTS, replace=False))
        X, labels = X[keep], labels[keep]
    return X, labels


class NearestCentroid:
    """The nearest centroid's cluster, or the cluster of the run point a point coincides with (``points``,
    ``labels``); confidence ``1 - d1 / d2``.

    centroids : np.ndarray [shape=(c, d)]; classes : np.ndarray [shape=(c,)], the cluster of each centroid.
    keep_points : its state keeps the run's points and their clusters (a tree's labels are not the nearest
        centroid's).
    """

    kind: ClassVar[str] = "centroids"
    arrays: ClassVar[tuple[str, ...]] = ("centroids", "classes")  # what its state must hold (points, labels: may)

    def __init__(self, centroids: np.ndarray, classes: np.ndarray, points: np.ndarray | None = None,
                 labels: np.ndarray | None = None, *, keep_points: bool = False) -> None:
        self.centroids, self.classes = np.asarray(centroids, np.float64), np.asarray(classes, np.int64)
        self.keep_points = keep_points
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64)
        self.nn = NearestNeighbors(n_neighbors=1).fit(points) if points is not None and len(points) else None

    @classmethod
    def of(cls, X: np.ndarray, labels: np.ndarray, *, keep_points: bool = False) -> NearestCentroid:
        """The centroids (means) of the clusters ``labels`` [shape=(n,)] of ``X`` [shape=(n, d)]."""
        classes, inverse = np.unique(np.asarray(labels, dtype=np.int64), return_inverse=True)
        X = np.asarray(X, np.float64)
        centroids = np.stack([np.bincount(inverse, weights=col) for col in X.T], 1) / np.bincount(inverse)[:, None]
        return cls(centroids, classes, keep_points=keep_points)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Cluster of each row of ``X`` [shape=(m, d)] -> [shape=(m,)]."""
        return self.place(X)[0]

    def place(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cluster and confidence of each row of ``X`` [shape=(m, d)]: two arrays [shape=(m,)]."""
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

    def state(self, X: np.ndarray, labels: np.ndarray, params: Mapping[str, Any]) -> State:
        out = {"kind": _text(self.kind), "centroids": self.centroids, "classes": self.classes}
        if self.keep_points:
            out["points"], out["labels"] = _points(X, labels)
        return out

    @staticmethod
    def shapes(arrays: Mapping[str, np.ndarray], d: int) -> dict[str, tuple[int | None, ...]] | str:
        """The shape each array of a state must have in a ``d``-d space (None: any length), or what is wrong."""
        k = len(arrays["centroids"]) if arrays["centroids"].ndim == 2 else -1
        expect: dict[str, tuple[int | None, ...]] = {"centroids": (None, d), "classes": (k,)}
        if "points" in arrays or "labels" in arrays:
            n = len(arrays.get("points", ()))
            expect |= {"points": (n, d), "labels": (n,)}
            if "labels" in arrays and not np.isin(arrays["labels"], arrays["classes"]).all():
                return "array 'labels' holds clusters that 'classes' does not list"
        if len(arrays["classes"]) < 1:
            return "no cluster in it"
        return expect

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray]) -> NearestCentroid:
        return cls(state["centroids"], state["classes"], state.get("points"), state.get("labels"))


class Mixture:
    """A Gaussian mixture's likeliest component; confidence its posterior probability."""

    kind: ClassVar[str] = "gmm"
    arrays: ClassVar[tuple[str, ...]] = ("means", "weights", "precisions_cholesky", "covariance_type")

    def __init__(self, gm: GaussianMixture) -> None:
        self.gm = gm

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.gm.predict(X).astype(np.int64)

    def place(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(X) == 0:
            return np.empty(0, np.int64), np.empty(0)
        return self.predict(X), np.clip(self.gm.predict_proba(X).max(axis=1), 0.0, 1.0)

    def state(self, X: np.ndarray, labels: np.ndarray, params: Mapping[str, Any]) -> State:
        # what its predict reads: weights, means and the Cholesky factors of the precisions (upper triangular for
        # full covariances: only the triangle is kept, half the bytes of k x d x d)
        gm = self.gm
        chol = np.asarray(gm.precisions_cholesky_)
        if gm.covariance_type == "full":
            rows, cols = np.triu_indices(chol.shape[-1])
            chol = chol[:, rows, cols]
        return {"kind": _text(self.kind), "covariance_type": _text(gm.covariance_type),
                "weights": np.asarray(gm.weights_), "means": np.asarray(gm.means_), "precisions_cholesky": chol}

    @staticmethod
    def shapes(arrays: Mapping[str, np.ndarray], d: int) -> dict[str, tuple[int | None, ...]] | str:
        """The shape each array of a state must have in a ``d``-d space (None: any length), or what is wrong."""
        k = len(arrays["means"]) if arrays["means"].ndim == 2 else -1
        kind = str(arrays["covariance_type"])
        chol = {"full": (k, d * (d + 1) // 2), "diag": (k, d), "spherical": (k,), "tied": (d, d)}.get(kind)
        if chol is None:
            return f"unknown covariance_type {kind[:20]!r}"
        if len(arrays["weights"]) < 1:
            return "no cluster in it"
        return {"means": (None, d), "weights": (k,), "precisions_cholesky": chol}

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray]) -> Mixture:
        means = np.asarray(state["means"])
        kind = str(state["covariance_type"])
        chol = np.asarray(state["precisions_cholesky"])
        if kind == "full":  # the upper triangle kept by state(), back to k x d x d
            d = means.shape[1]
            full = np.zeros((len(means), d, d), dtype=chol.dtype)
            rows, cols = np.triu_indices(d)
            full[:, rows, cols] = chol
            chol = full
        gm = GaussianMixture(n_components=len(means), covariance_type=kind)
        gm.weights_, gm.means_, gm.precisions_cholesky_ = np.asarray(state["weights"]), means, chol
        gm.n_features_in_ = means.shape[1]
        return cls(gm)


class NearestPoint:
    """The nearest stored point's label when within that point's radius, else noise (-1); confidence ``1 - d / r``.

    For DBSCAN the stored points are the core samples and the radius is eps: DBSCAN's own rule for border
    points. For HDBSCAN they are all fitted points (noise included) and the radius is each point's core
    distance. A stored point is always assigned its own label.
    """

    kind: ClassVar[str] = "nearest_point"
    arrays: ClassVar[tuple[str, ...]] = ("points", "labels", "radius")

    def __init__(self, points: np.ndarray, labels: np.ndarray, radius: float | np.ndarray, *,
                 approximate: bool = False) -> None:
        self.points = np.asarray(points, dtype=np.float64)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.radius = np.broadcast_to(np.asarray(radius, dtype=np.float64), self.labels.shape)
        self.approximate = approximate
        self.nn = NearestNeighbors(n_neighbors=1).fit(self.points) if len(self.points) else None

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Label of each row of ``X`` [shape=(m, d)] -> [shape=(m,)], -1 where no stored point is near."""
        return self.place(X)[0]

    def place(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out, conf = np.full(len(X), NOISE, dtype=np.int64), np.zeros(len(X))
        if self.nn is None or len(X) == 0:
            return out, conf
        dist, idx = self.nn.kneighbors(np.asarray(X, dtype=np.float64))
        dist, idx = dist[:, 0], idx[:, 0]
        r = self.radius[idx]
        near = dist <= r * SLACK
        out[near] = self.labels[idx[near]]
        placed = near & (out != NOISE)
        conf[placed] = np.where(r[placed] > 0, 1.0 - dist[placed] / np.where(r[placed] > 0, r[placed], 1.0), 1.0)
        return out, np.clip(conf, 0.0, 1.0)

    def state(self, X: np.ndarray, labels: np.ndarray, params: Mapping[str, Any]) -> State:
        points = self.points if len(self.points) else np.zeros((0, np.shape(X)[1]))
        return {"kind": _text(self.kind), "points": points, "labels": self.labels,
                "radius": np.asarray(self.radius, dtype=np.float64), "approximate": np.bool_(self.approximate)}

    @staticmethod
    def shapes(arrays: Mapping[str, np.ndarray], d: int) -> dict[str, tuple[int | None, ...]] | str:
        """The shape each array of a state must have in a ``d``-d space (None: any length), or what is wrong."""
        n = len(arrays["points"]) if arrays["points"].ndim == 2 else -1
        if arrays["radius"].ndim and arrays["radius"].shape != (n,):
            return f"array 'radius' has shape {arrays['radius'].shape}, expected () or ({n},)"
        return {"points": (None, d), "labels": (n,)}

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray]) -> NearestPoint:
        return cls(state["points"], state["labels"], state["radius"],
                   approximate=bool(state.get("approximate", False)))


class Reduced:
    """Assigns new points [shape=(m, d)] of the original space to clusters found on its UMAP reduction.

    Two questions, each asked where it can be answered. Outside the data: a new point is noise when, in the
    original space, it lies farther from its nearest fitted point than the widest UMAP neighbourhood (distance to
    the ``n_neighbors``-th neighbour) of any of its ``n_neighbors`` nearest fitted points. (The nearest point's own
    neighbourhood alone would call 6-17 % of a Gaussian blob's tail outside in 16-80 dimensions; this rule
    0.1-0.3 %.) Inside: the point is placed in the reduction where UMAP's own ``transform`` starts it, the mean of
    the embeddings of those neighbours weighted by UMAP's membership strengths (:func:`umap_weights`), and takes the
    label of the nearest fitted point there (noise when that point was noise). UMAP's transform then refines the
    position with 100 epochs of stochastic gradient steps; those are left out: in a fresh process their numba
    compilation alone costs more than the whole clustering of a 20,000-track sample, and a point placed among its
    neighbours' embeddings lands in their cluster.

    Its state is the approximate :class:`NearestPoint` of the module docstring (a UMAP is no plain array).
    """

    kind: ClassVar[str] = NearestPoint.kind

    def __init__(self, reducer: Any, fitted: np.ndarray, embedded: np.ndarray, labels: np.ndarray) -> None:
        self.reducer = reducer
        self.embedded = np.asarray(embedded, dtype=np.float64)
        self.labels = np.asarray(labels, dtype=np.int64)
        k = min(int(reducer.n_neighbors), len(fitted))
        self.original = NearestNeighbors(n_neighbors=k).fit(fitted)
        self.reach = self.original.kneighbors(fitted)[0][:, -1]
        self.reduced = NearestNeighbors(n_neighbors=1).fit(self.embedded)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Label of each row of ``X`` [shape=(m, d)] -> [shape=(m,)], -1 outside the data or near fitted noise."""
        out = np.full(len(X), NOISE, dtype=np.int64)
        if len(X) == 0:
            return out
        dist, idx = self.original.kneighbors(X)
        inside = dist[:, 0] <= self.reach[idx].max(axis=1) * SLACK
        if inside.any():
            w = umap_weights(dist[inside])
            Z = np.einsum("ij,ijd->id", w, self.embedded[idx[inside]]) / w.sum(axis=1, keepdims=True)
            out[inside] = self.labels[self.reduced.kneighbors(Z)[1][:, 0]]
        return out

    def state(self, X: np.ndarray, labels: np.ndarray, params: Mapping[str, Any]) -> State:
        X, labels = _points(X, labels)
        m = int(min(max(params.get("min_samples") or 5, 2), len(X)))
        radius = NearestNeighbors(n_neighbors=m).fit(X).kneighbors(X)[0][:, -1]
        return NearestPoint(X, labels, radius, approximate=True).state(X, labels, params)


def umap_weights(dist: np.ndarray, n_iter: int = 64) -> np.ndarray:
    """UMAP's membership strengths of each point's neighbours [shape=(m, k)], from their distances [shape=(m, k),
    ascending]: ``exp(-(d - rho) / sigma)``, sigma found by bisection so that each row sums to ``log2(k)``
    (umap's ``smooth_knn_dist`` as its ``transform`` calls it: local connectivity 0, so rho = 0; McInnes, Healy
    and Melville 2018, section 3.1)."""
    gap = np.asarray(dist, dtype=np.float64)
    target = np.log2(dist.shape[1])
    lo, hi = np.zeros(len(dist)), np.full(len(dist), np.inf)
    sigma = np.ones(len(dist))
    for _ in range(n_iter):  # the row sum grows with sigma: bisect (doubling while there is no upper bound)
        total = np.exp(-gap / sigma[:, None]).sum(axis=1)
        high = total > target
        hi = np.where(high, sigma, hi)
        lo = np.where(high, lo, sigma)
        sigma = np.where(np.isinf(hi), sigma * 2, (lo + hi) / 2)
    return np.exp(-gap / np.maximum(sigma, 1e-12)[:, None])


# The placers a saved state can name, by its ``kind``.
PLACERS: dict[str, Any] = {c.kind: c for c in (NearestCentroid, Mixture, NearestPoint)}


def cluster_state(clusterer: str, model: Any, X: np.ndarray, labels: np.ndarray,
                  params: Mapping[str, Any] | None = None) -> State:
    """What ``model`` (a fitted :attr:`ClusterResult.model` of ``clusterer``) needs to place new points, as arrays.

    Parameters
    ----------
    clusterer : the clusterer's name (``kmeans``, ``gmm``, ...).
    model : the fitted placer of the clustering.
    X : np.ndarray [shape=(n, d)], the points that were clustered (the representation's covered rows).
    labels : np.ndarray [shape=(n,)], their clusters in the run (-1 = noise).
    params : the clustering's settings (``ClusterResult.params``): ``min_samples`` sizes the approximate radius.

    Returns
    -------
    dict of arrays with the ``clusterer``, the space's ``dim`` and a ``kind`` (a key of :data:`PLACERS`).

    Raises
    ------
    ValueError : ``model`` is no placer of this module (a clusterer whose fit returns another model).
    """
    save = getattr(model, "state", None)
    if not callable(save) or getattr(model, "kind", None) not in PLACERS:
        raise ValueError(f"clusterer {clusterer!r}: its fitted model ({type(model).__name__}) cannot be saved as "
                         "arrays: its fit must return a placer of songspace.clustering.placing as ClusterResult.model")
    return {"clusterer": _text(clusterer), "dim": np.int64(np.shape(X)[1]), **save(X, labels, params or {})}


def is_approximate(state: Mapping[str, np.ndarray]) -> bool:
    """Whether the state places new points by an approximation of the run's rule (see the module docstring)."""
    return bool(state.get("approximate", False))


def state_problem(state: Mapping[str, np.ndarray]) -> str | None:
    """What is wrong with the arrays of ``state`` (a :func:`cluster_state` read back: a damaged or hand-edited
    file) for its kind: an unknown kind, a missing array, values that are not finite numbers, a shape that does
    not fit the others or its ``dim``; None when they fit. The shapes are the placer's own (its ``shapes``)."""
    kind = str(state.get("kind", ""))
    if kind not in PLACERS:
        return f"unknown clustering state kind {kind[:40]!r}; this songspace knows {', '.join(PLACERS)}"
    cls = PLACERS[kind]
    absent = [k for k in ("dim", *cls.arrays) if k not in state]
    if absent:
        return f"no array {absent[0]!r}"
    try:
        d = int(state["dim"])
    except (TypeError, ValueError):
        return "'dim' is not a whole number"
    arrays = {k: np.asarray(state[k]) for k in (*cls.arrays, "points", "labels") if k in state}
    for k, a in arrays.items():
        if a.dtype.kind not in "biuf" and k != "covariance_type":
            return f"array {k!r} holds {a.dtype} values, not numbers"
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            return f"array {k!r} holds NaN or infinite values"
    expect = cls.shapes(arrays, d)
    if isinstance(expect, str):
        return expect
    for key, shape in expect.items():
        got = arrays[key].shape
        if len(got) != len(shape) or any(s is not None and g != s for g, s in zip(got, shape, strict=True)):
            want = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
            return f"array {key!r} has shape {got}, expected {want}"
    return None


def placer(state: Mapping[str, np.ndarray]) -> NearestCentroid | Mixture | NearestPoint:
    """The placer a :func:`cluster_state` describes. Raises ValueError for a state it does not know, or whose
    arrays do not fit together (a damaged or hand-edited file: :func:`state_problem` says what is wrong)."""
    problem = state_problem(state)
    if problem:
        raise ValueError(problem)
    return PLACERS[str(state["kind"])].from_state(state)
