"""Clustering metrics as plain functions, ``metric(...) -> float`` like ``sklearn.metrics``.

Degenerate cases (fewer than two clusters, as many clusters as points, everything noise) return NaN;
:func:`undefined_reason` says why, for the notes column of the results table.
Cluster label ``-1`` means noise (DBSCAN/HDBSCAN): internal metrics leave noise points out; purity counts
them as wrongly assigned, so a method cannot raise its purity by declaring hard points noise; ARI and NMI
see the noise as one more cluster (what scikit-learn does with any label). :func:`noise_fraction` reports how
much was left out, to be read next to the scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn import metrics as skm

from songspace.clustering.result import NOISE, noise_fraction

__all__ = ["NOISE", "noise_fraction"]  # the clustering stage's, scored here beside the metrics


def undefined_reason(labels_pred: Sequence[int] | np.ndarray) -> str | None:
    """Why internal metrics are undefined for this clustering, or None when they are defined."""
    labels = np.asarray(labels_pred)
    clustered = labels[labels != NOISE]
    if clustered.size == 0:
        return "every point is noise"
    k = np.unique(clustered).size
    if k < 2:
        return "only one cluster"
    if k >= clustered.size:
        return f"{k} clusters for {clustered.size} points (needs 2 <= k < n)"
    return None


def _clustered(X: np.ndarray, labels_pred: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    labels = np.asarray(labels_pred)
    if undefined_reason(labels) is not None:
        return None
    keep = labels != NOISE
    return np.asarray(X)[keep], labels[keep]


def silhouette(X: np.ndarray, labels_pred: Sequence[int] | np.ndarray, *, sample_size: int | None = None,
               seed: int = 0) -> float:
    """Mean silhouette coefficient in [-1, 1] (higher is better). O(n^2): above ``sample_size`` points a
    seeded random sample of that size is scored."""
    got = _clustered(X, labels_pred)
    if got is None:
        return float("nan")
    X, labels = got
    if sample_size is not None and len(labels) > sample_size:
        # Draw the sample here (not via sklearn's sample_size) so that a degenerate sample gives NaN, not an error.
        pick = np.sort(np.random.default_rng(seed).permutation(len(labels))[:sample_size])
        X, labels = X[pick], labels[pick]
        if undefined_reason(labels) is not None:
            return float("nan")
    return float(skm.silhouette_score(X, labels))


def calinski_harabasz(X: np.ndarray, labels_pred: Sequence[int] | np.ndarray) -> float:
    """Calinski-Harabasz index (between- over within-cluster dispersion; higher is better)."""
    got = _clustered(X, labels_pred)
    return float("nan") if got is None else float(skm.calinski_harabasz_score(*got))


def davies_bouldin(X: np.ndarray, labels_pred: Sequence[int] | np.ndarray) -> float:
    """Davies-Bouldin index (mean worst-case cluster similarity; lower is better, 0 is best)."""
    got = _clustered(X, labels_pred)
    return float("nan") if got is None else float(skm.davies_bouldin_score(*got))


def _known(labels_true: Sequence[str], labels_pred: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Pairs whose true label is known (``""`` or None means unknown)."""
    t = np.asarray([("" if v is None else str(v)) for v in labels_true], dtype=object)
    p = np.asarray(labels_pred)
    if len(t) != len(p):
        raise ValueError(f"labels_true has {len(t)} entries but labels_pred has {len(p)}")
    keep = t != ""
    return t[keep], p[keep]


def purity(labels_true: Sequence, labels_pred: Sequence[int]) -> float:
    """Share of points whose cluster's majority true label is their own, in [0, 1].

    Noise points (cluster -1) count as wrong. Points with an unknown true label (``""``) are left out.
    NaN when no point has a known label.
    """
    t, p = _known(labels_true, labels_pred)
    if t.size == 0:
        return float("nan")
    correct = 0
    for c in np.unique(p):
        if c == NOISE:
            continue
        _, counts = np.unique(t[p == c], return_counts=True)
        correct += int(counts.max())
    return correct / t.size


def ari(labels_true: Sequence, labels_pred: Sequence[int]) -> float:
    """Adjusted Rand index against the known labels (0 = chance, 1 = identical partitions)."""
    t, p = _known(labels_true, labels_pred)
    return float("nan") if t.size == 0 else float(skm.adjusted_rand_score(t, p))


def nmi(labels_true: Sequence, labels_pred: Sequence[int]) -> float:
    """Normalised mutual information (arithmetic mean normalisation) against the known labels, in [0, 1]."""
    t, p = _known(labels_true, labels_pred)
    return float("nan") if t.size == 0 else float(skm.normalized_mutual_info_score(t, p))


def neighbour_agreement(X: np.ndarray, labels_true: Sequence, *, k: int = 10, sample_size: int | None = 3000,
                        seed: int = 0) -> float:
    """How well a space keeps a label together, whatever clusterer is used on it: the share of each track's ``k``
    nearest neighbours (Euclidean in ``X``) that share its label, averaged over the tracks, in [0, 1].

    Only tracks whose label is known take part (as queries and as neighbours). Above ``sample_size`` such tracks,
    a seeded sample of that size is scored among itself (neighbours then lie a little further apart), which keeps
    the cost at ``O(sample_size^2 d)``. NaN with fewer than ``k + 1`` known tracks. Chance level is the sum of the
    squared class shares (what a random space would give).
    """
    from sklearn.neighbors import NearestNeighbors

    t = np.asarray([("" if v is None else str(v)) for v in labels_true], dtype=object)
    X = np.asarray(X)
    if len(t) != len(X):
        raise ValueError(f"labels_true has {len(t)} entries but X has {len(X)} rows")
    keep = np.flatnonzero(t != "")
    if sample_size is not None and keep.size > sample_size:
        keep = np.sort(np.random.default_rng(seed).choice(keep, size=sample_size, replace=False))
    if keep.size <= k:
        return float("nan")
    Xs, ts = np.asarray(X[keep], dtype=np.float64), t[keep]
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(Xs).kneighbors(Xs)
    idx = idx[:, 1:]  # the track itself is its own nearest neighbour (ties aside: dropped by position)
    return float(np.mean(ts[idx] == ts[:, None]))


def nmi_chance(labels_true: Sequence, labels_pred: Sequence[int], *, permutations: int = 10, seed: int = 0) -> float:
    """The NMI a clustering of the same cluster sizes reaches by chance: the mean NMI against ``permutations`` seeded
    shuffles of the known labels. NMI is not adjusted for chance and grows with the number of clusters on few
    tracks; an NMI is a finding only well above this. NaN when no point has a known label."""
    t, p = _known(labels_true, labels_pred)
    if t.size == 0:
        return float("nan")
    rng = np.random.default_rng(seed)
    return float(np.mean([skm.normalized_mutual_info_score(rng.permutation(t), p) for _ in range(permutations)]))
