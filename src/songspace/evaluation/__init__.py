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
from songspace.evaluation.registry import METRICS, score

INTERNAL = tuple(mt.name for mt in METRICS if mt.kind == "internal")
EXTERNAL = tuple(mt.name for mt in METRICS if mt.kind == "label")


def score_clustering(labels_pred: np.ndarray, *, own_space: np.ndarray, common_space: np.ndarray,
                     labels: Mapping[str, Sequence[str]], seed: int = 0,
                     silhouette_sample: int = 10000) -> dict[str, float | int | str]:
    """One row of ``metrics.csv`` for one clustering.

    The metrics are those of :data:`songspace.evaluation.registry.METRICS`. Internal metrics are computed twice:
    in the method's own space (``silhouette``, ...) and in the common space that every method shares
    (``silhouette_common``, ...), which is the fair comparison between methods. Label metrics (``ari_L``,
    ``nmi_L``, ``purity_L``) are computed for each label column L, over the tracks whose L is known.
    ``noise_fraction`` is the share of tracks a density clusterer labelled noise (-1): they are left out of the
    internal metrics and count as wrongly assigned in purity, so read those scores next to it.
    """
    row: dict[str, float | int | str] = dict(score(labels_pred, own_space=own_space, common_space=common_space,
                                                   labels=labels, seed=seed, silhouette_sample=silhouette_sample))
    row["n_clusters"] = int(row["n_clusters"])
    noise = float(row["noise_fraction"])
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
