"""Agglomerative clustering with average linkage (the tree code of :mod:`agglomerative_ward`, another linkage)."""

from __future__ import annotations

import numpy as np

from songspace.clustering.agglomerative_ward import agglomerative
from songspace.clustering.result import ClusterResult
from songspace.clustering.spec import ClustererSpec


def agglomerative_average(X: np.ndarray, k: int, *, seed: int = 0, sample_size: int = 10_000) -> ClusterResult:
    """Average linkage: merge the pair of clusters with the smallest mean distance between their points."""
    return agglomerative(X, k, seed=seed, linkage="average", sample_size=sample_size)


SPEC = ClustererSpec(name="agglomerative_average", description="agglomerative clustering, average linkage",
                     fit=agglomerative_average, reference="Sokal and Michener 1958", rank=2)
