"""Agglomerative clustering with Ward linkage, and the tree-on-a-sample code the average linkage shares."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from sklearn.cluster import AgglomerativeClustering

from songspace.clustering.placing import NearestCentroid
from songspace.clustering.result import ClusterResult, check_k, check_points, extend, result, sample
from songspace.clustering.spec import ClustererSpec


def agglomerative(X: np.ndarray, k: int, *, seed: int = 0, linkage: Literal["ward", "average"] = "ward",
                  sample_size: int = 10_000) -> ClusterResult:
    """Agglomerative (hierarchical) clustering of ``X`` [shape=(n, d)] into ``k`` clusters.

    scikit-learn builds the full tree from all pairwise distances: O(n^2) time and memory (10k points take
    about 5 s and 400 MB; 100k would need 40 GB). Above ``sample_size`` the tree is built on a seeded sample
    of that size, which keeps its labels, and every other point joins the nearest cluster centroid.
    ``predict`` also uses the nearest centroid.
    """
    X = check_points(X)
    check_k(k, len(X))
    pick = sample(len(X), sample_size, seed)
    fit_X = X if pick is None else X[pick]
    check_k(k, len(fit_X))
    fit_labels = AgglomerativeClustering(n_clusters=k, linkage=linkage).fit(fit_X).labels_
    centroids = NearestCentroid.of(fit_X, fit_labels, keep_points=True)  # a tree's labels are not the centroids'
    params: dict[str, Any] = {"k": k, "linkage": linkage, "fitted_on": len(fit_X)}
    notes = []
    if (distinct := len(np.unique(fit_X, axis=0))) < k:
        notes.append(f"only {distinct} distinct point(s) for k = {k}: identical points were split arbitrarily")
    labels = extend(X, pick, fit_labels, centroids)
    if pick is not None:
        notes.append(f"tree built on a seeded sample of {len(fit_X)} of {len(X)} points (O(n^2) memory); "
                     "the rest joined the nearest cluster centroid")
    return result(labels, params, notes, centroids, pick)


def agglomerative_ward(X: np.ndarray, k: int, *, seed: int = 0, sample_size: int = 10_000) -> ClusterResult:
    """Ward linkage: merge the pair of clusters that least increases the within-cluster variance."""
    return agglomerative(X, k, seed=seed, linkage="ward", sample_size=sample_size)


SPEC = ClustererSpec(name="agglomerative_ward", description="agglomerative clustering, Ward linkage",
                     fit=agglomerative_ward, reference="Ward 1963", rank=1)
