"""Evaluation: metrics as plain functions, and the per-method row of the results table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from songspace.evaluation.metrics import (
    ari,
    calinski_harabasz,
    davies_bouldin,
    nmi,
    noise_fraction,
    purity,
    silhouette,
    undefined_reason,
)

INTERNAL = ("silhouette", "calinski_harabasz", "davies_bouldin")
EXTERNAL = ("ari", "nmi", "purity")


def score_clustering(labels_pred: np.ndarray, *, own_space: np.ndarray, common_space: np.ndarray,
                     labels: Mapping[str, Sequence[str]], seed: int = 0,
                     silhouette_sample: int = 10000) -> dict[str, float | int | str]:
    """One row of ``metrics.csv`` for one clustering.

    Internal metrics are computed twice: in the method's own space (``silhouette``, ...) and in the common
    space that every method shares, the standardised input features (``silhouette_common``, ...), which is
    the fair comparison between methods. External metrics (``ari_L``, ``nmi_L``, ``purity_L``) are computed
    for each label column L, over the tracks whose L is known. ``noise_fraction`` is the share of tracks a
    density clusterer labelled noise (-1): they are left out of the internal metrics and count as wrongly
    assigned in purity, so read those scores next to it.
    """
    row: dict[str, float | int | str] = {"n_clusters": int(np.unique(labels_pred[labels_pred >= 0]).size)}
    for suffix, X in (("", own_space), ("_common", common_space)):
        row[f"silhouette{suffix}"] = silhouette(X, labels_pred, sample_size=silhouette_sample, seed=seed)
        row[f"calinski_harabasz{suffix}"] = calinski_harabasz(X, labels_pred)
        row[f"davies_bouldin{suffix}"] = davies_bouldin(X, labels_pred)
    row["noise_fraction"] = noise = noise_fraction(labels_pred)
    for name, truth in labels.items():
        row[f"ari_{name}"] = ari(truth, labels_pred)
        row[f"nmi_{name}"] = nmi(truth, labels_pred)
        row[f"purity_{name}"] = purity(truth, labels_pred)
    notes = []
    if noise > 0:
        notes.append(f"{noise:.1%} noise: left out of internal metrics, wrong in purity")
    if (why := undefined_reason(labels_pred)) is not None:
        notes.append(f"internal metrics undefined: {why}")
    if len(labels_pred) > silhouette_sample:
        notes.append(f"silhouette on a seeded sample of {silhouette_sample}")
    row["notes"] = "; ".join(notes)
    return row


__all__ = ["ari", "nmi", "purity", "noise_fraction", "silhouette", "calinski_harabasz", "davies_bouldin",
           "undefined_reason", "score_clustering", "INTERNAL", "EXTERNAL"]
