"""Tests for songspace.evaluation.metrics and songspace.evaluation.score_clustering."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import make_blobs

from songspace.evaluation import EXTERNAL, INTERNAL, score_clustering
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


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_blobs(n_samples=200, centers=3, n_features=4, cluster_std=0.6, random_state=0)
    return X, y


# --- purity -----------------------------------------------------------------------------------------------


def test_purity_hand_computed() -> None:
    # cluster 0 = {a, a}    -> majority a, 2 correct
    # cluster 1 = {a, b, b} -> majority b, 2 correct
    # cluster 2 = {c}       -> majority c, 1 correct
    # (2 + 2 + 1) / 6 = 5/6
    assert purity(list("aaabbc"), [0, 0, 1, 1, 1, 2]) == pytest.approx(5 / 6)


def test_purity_perfect_and_single_cluster() -> None:
    assert purity(list("aabbcc"), [5, 5, 3, 3, 9, 9]) == 1.0
    # one cluster holding everything: majority label a (3 of 6) -> 3/6
    assert purity(list("aaabbc"), [0] * 6) == pytest.approx(0.5)


def test_purity_noise_counts_as_wrong() -> None:
    # cluster 0 = {a, a} -> 2; cluster 1 = {b} -> 1; the noise point (b, -1) is wrong -> 3/4.
    assert purity(list("aabb"), [0, 0, -1, 1]) == pytest.approx(3 / 4)
    # Declaring everything noise gives purity 0, not 1.
    assert purity(list("aabb"), [-1, -1, -1, -1]) == 0.0


def test_purity_unknown_true_labels_left_out() -> None:
    # Known pairs: (a, 0), (a, 0), (b, 1) -> all correct. The unknowns would otherwise make cluster 1 impure
    # or be counted in the denominator.
    assert purity(["a", "", "a", "b", None], [0, 1, 0, 1, 1]) == 1.0
    assert purity(["a", "", "b"], [0, 0, 0]) == pytest.approx(1 / 2)


def test_external_metrics_nan_when_no_known_label() -> None:
    for metric in (purity, ari, nmi):
        assert math.isnan(metric(["", ""], [0, 1]))


def test_noise_fraction() -> None:
    assert noise_fraction([0, 0, -1, 1]) == pytest.approx(1 / 4)
    assert noise_fraction(np.array([-1, -1])) == 1.0
    assert noise_fraction([3, 4, 5]) == 0.0
    assert math.isnan(noise_fraction([]))


# --- ARI / NMI --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("truth", "pred"),
    [
        (list("aaabbbccc"), [0, 0, 0, 1, 1, 1, 2, 2, 2]),
        (list("aaabbbccc"), [1, 1, 0, 0, 2, 2, 2, 0, 1]),
        (list("aabbccdd"), [0, 0, 0, 0, 1, 1, 1, 1]),
        (list("abababab"), [0, 0, 1, 1, 0, 0, 1, 1]),
    ],
)
def test_ari_nmi_match_sklearn(truth: list[str], pred: list[int]) -> None:
    assert ari(truth, pred) == pytest.approx(skm.adjusted_rand_score(truth, pred))
    assert nmi(truth, pred) == pytest.approx(skm.normalized_mutual_info_score(truth, pred))


def test_ari_nmi_identical_partitions_are_one() -> None:
    assert ari(list("aabbc"), [7, 7, 2, 2, 0]) == pytest.approx(1.0)
    assert nmi(list("aabbc"), [7, 7, 2, 2, 0]) == pytest.approx(1.0)


def test_ari_nmi_leave_out_unknown_labels() -> None:
    truth = ["a", "", "a", "b", "", "b"]
    pred = [0, 1, 0, 1, 0, 1]
    kept_t, kept_p = ["a", "a", "b", "b"], [0, 0, 1, 1]
    assert ari(truth, pred) == pytest.approx(skm.adjusted_rand_score(kept_t, kept_p)) == pytest.approx(1.0)
    assert nmi(truth, pred) == pytest.approx(skm.normalized_mutual_info_score(kept_t, kept_p))


@pytest.mark.parametrize("metric", [purity, ari, nmi])
def test_external_metrics_mismatched_lengths_raise(metric) -> None:
    with pytest.raises(ValueError, match="labels_true has 3 entries but labels_pred has 2"):
        metric(["a", "b", "c"], [0, 1])


# --- internal metrics -------------------------------------------------------------------------------------


def test_internal_metrics_match_sklearn(blobs) -> None:
    X, y = blobs
    assert silhouette(X, y) == pytest.approx(skm.silhouette_score(X, y))
    assert calinski_harabasz(X, y) == pytest.approx(skm.calinski_harabasz_score(X, y))
    assert davies_bouldin(X, y) == pytest.approx(skm.davies_bouldin_score(X, y))
    # Well separated blobs: high silhouette, low DB.
    assert silhouette(X, y) > 0.6
    assert davies_bouldin(X, y) < 0.6


def test_internal_metrics_leave_noise_out(blobs) -> None:
    X, y = blobs
    labels = y.copy()
    labels[::7] = -1
    keep = labels != -1
    assert silhouette(X, labels) == pytest.approx(skm.silhouette_score(X[keep], labels[keep]))
    assert calinski_harabasz(X, labels) == pytest.approx(skm.calinski_harabasz_score(X[keep], labels[keep]))
    assert davies_bouldin(X, labels) == pytest.approx(skm.davies_bouldin_score(X[keep], labels[keep]))


@pytest.mark.parametrize(
    ("labels", "reason_part"),
    [
        ([0, 0, 0, 0, 0], "only one cluster"),
        ([0, 0, -1, -1, 0], "only one cluster"),
        ([-1, -1, -1, -1, -1], "every point is noise"),
        ([0, 1, 2, 3, 4], "5 clusters for 5 points"),
        ([0, 1, -1, -1, -1], "2 clusters for 2 points"),
    ],
)
def test_degenerate_cases_nan_with_reason(labels: list[int], reason_part: str) -> None:
    X = np.arange(10, dtype=float).reshape(5, 2)
    reason = undefined_reason(labels)
    assert reason is not None and reason_part in reason
    assert math.isnan(silhouette(X, labels))
    assert math.isnan(calinski_harabasz(X, labels))
    assert math.isnan(davies_bouldin(X, labels))


def test_undefined_reason_none_when_defined() -> None:
    assert undefined_reason([0, 0, 1, 1, -1]) is None
    assert undefined_reason(np.array([0, 1, 1])) is None


def test_silhouette_sampled_deterministic_and_close(blobs) -> None:
    X, y = blobs
    full = silhouette(X, y)
    a = silhouette(X, y, sample_size=80, seed=3)
    b = silhouette(X, y, sample_size=80, seed=3)
    c = silhouette(X, y, sample_size=80, seed=4)
    assert a == b
    assert a != c  # a different sample gives (slightly) different numbers: sampling really happened
    assert a == pytest.approx(full, abs=0.05)
    # sample_size >= n scores every point
    assert silhouette(X, y, sample_size=len(y)) == pytest.approx(full)


def test_silhouette_sample_with_single_cluster_returns_nan_not_error() -> None:
    X = np.random.default_rng(0).normal(size=(50, 2))
    labels = np.zeros(50, dtype=int)
    labels[7] = 1  # one point in cluster 1: most samples of 5 miss it
    value = silhouette(X, labels, sample_size=5, seed=2)
    assert math.isnan(value) or -1.0 <= value <= 1.0


# --- score_clustering -------------------------------------------------------------------------------------


def test_score_clustering_row(blobs) -> None:
    X, y = blobs
    own = X[:, :2]
    genre = np.array(["rock", "jazz", "pop"])[y].tolist()
    mood = ["" if i % 3 == 0 else ("happy" if i % 2 else "sad") for i in range(len(y))]
    row = score_clustering(y, own_space=own, common_space=X, labels={"genre": genre, "mood": mood}, seed=0)

    for name in INTERNAL:
        assert name in row and f"{name}_common" in row
    for label in ("genre", "mood"):
        for name in EXTERNAL:
            assert f"{name}_{label}" in row
    assert row["n_clusters"] == 3 and row["noise_fraction"] == 0.0
    assert row["notes"] == ""
    assert row["silhouette"] == pytest.approx(skm.silhouette_score(own, y))
    assert row["silhouette_common"] == pytest.approx(skm.silhouette_score(X, y))
    assert row["calinski_harabasz_common"] == pytest.approx(skm.calinski_harabasz_score(X, y))
    assert row["ari_genre"] == pytest.approx(1.0)
    assert row["purity_genre"] == pytest.approx(1.0)
    assert row["purity_mood"] == pytest.approx(purity(mood, y))
    assert row["purity_mood"] < 1.0


def test_score_clustering_degenerate_notes() -> None:
    X = np.random.default_rng(0).normal(size=(6, 3))
    pred = np.zeros(6, dtype=np.int64)
    row = score_clustering(pred, own_space=X, common_space=X, labels={"genre": list("aaabbb")})
    assert row["n_clusters"] == 1
    assert math.isnan(row["silhouette"]) and math.isnan(row["davies_bouldin_common"])
    assert "internal metrics undefined" in row["notes"] and "only one cluster" in row["notes"]
    assert row["purity_genre"] == pytest.approx(0.5)


def test_score_clustering_noise_not_counted_as_cluster_and_sample_note() -> None:
    X = np.random.default_rng(0).normal(size=(8, 2))
    pred = np.array([0, 0, 0, 1, 1, 1, -1, -1])
    row = score_clustering(pred, own_space=X, common_space=X, labels={}, silhouette_sample=4)
    assert row["n_clusters"] == 2
    assert row["noise_fraction"] == pytest.approx(2 / 8)
    assert "25.0% noise: left out of internal metrics, wrong in purity" in row["notes"]
    assert "silhouette on a seeded sample of 4" in row["notes"]
    assert not any(k.startswith(("ari_", "nmi_", "purity_")) for k in row)


def test_score_clustering_mismatched_label_length_raises() -> None:
    X = np.zeros((4, 2))
    with pytest.raises(ValueError):
        score_clustering(np.array([0, 0, 1, 1]), own_space=X, common_space=X, labels={"genre": ["a", "b"]})


def test_nmi_chance_is_what_a_random_clustering_reaches_and_above_chance_needs_a_margin() -> None:
    from songspace.evaluation.metrics import nmi_chance
    from songspace.evaluation.registry import above_chance

    rng = np.random.default_rng(0)
    truth = [str(v) for v in rng.integers(0, 3, 60)]
    random_pred = rng.integers(0, 8, 60)  # many clusters on few tracks: NMI well above 0 by chance alone
    chance = nmi_chance(truth, random_pred, seed=0)
    assert chance > 0.05 and abs(chance - nmi(truth, random_pred)) < 0.1
    perfect = np.array([int(t) for t in truth])
    assert nmi_chance(truth, perfect, seed=0) < 0.2 < nmi(truth, perfect) == 1.0
    assert above_chance({"nmi_x": 1.0, "nmi_chance_x": nmi_chance(truth, perfect)}, "x")
    assert not above_chance({"nmi_x": nmi(truth, random_pred), "nmi_chance_x": chance}, "x")
    assert math.isnan(nmi_chance(["", ""], [0, 1]))
