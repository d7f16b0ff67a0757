"""Tests for songspace.clustering (the clusterers by name, the DBSCAN knee, choose_k)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from conftest import BLOB_D, BLOB_K, BLOB_N
from songspace import clustering
from songspace.clustering import cluster, clusterer_options
from songspace.clustering.agglomerative_ward import agglomerative_ward
from songspace.clustering.dbscan import dbscan
from songspace.clustering.density import (
    DEGENERATE,
    default_min_cluster_size,
    default_min_samples,
    gaussian_null_pvalue,
    k_distances,
    knee,
    knee_eps,
    umap_reduce,
)
from songspace.clustering.gmm import gmm
from songspace.clustering.hdbscan import hdbscan
from songspace.clustering.kmeans import kmeans
from songspace.config import TrainConfig
from songspace.errors import ConfigError
from songspace.evaluation import score_clustering
from songspace.evaluation.analysis import analyse
from songspace.evaluation.metrics import purity, undefined_reason
from songspace.experiment import choose_k

N, D, K, LATENT = BLOB_N, BLOB_D, BLOB_K, 3
TRAIN = TrainConfig(epochs=60, batch_size=32, lr=1e-2, device="cpu")


def test_kmeans_function(blobs) -> None:
    X, y = blobs
    res = kmeans(X, K, seed=0, n_init=2)
    assert clustering.get("kmeans").fit is kmeans
    assert res.labels.dtype == np.int64 and len(res.model.centroids) == K and res.n_clusters == K
    assert res.noise_fraction == 0.0 and res.params["n_init"] == 2
    assert adjusted_rand_score(y, res.labels) > 0.9


def test_choose_k_picks_four(blobs) -> None:
    X, _ = blobs
    assert choose_k(X, (2, 7), seed=0) == K


def test_choose_k_range_clipped_and_impossible() -> None:
    X, _ = make_blobs(n_samples=6, centers=2, n_features=2, random_state=0)
    assert 2 <= choose_k(X, (2, 12)) <= 5  # hi clipped to n - 1
    with pytest.raises(ConfigError, match="set cluster.k"):
        choose_k(X[:2], (2, 12))


# --- every clusterer by name ------------------------------------------------------------------------------

NAMES = clustering.names()
DENSITY = clustering.own_number()


def test_registry_names() -> None:
    assert NAMES == ["kmeans", "agglomerative_ward", "agglomerative_average", "dbscan", "hdbscan", "gmm"]
    assert set(DENSITY) <= set(NAMES)
    assert clusterer_options("dbscan") == ("eps", "min_samples", "umap_components", "sample_size")
    assert all("sample_size" in clusterer_options(name) for name in NAMES)
    assert "n_init" in clusterer_options("kmeans") and "n_init" in clusterer_options("gmm")


@pytest.mark.parametrize("name", NAMES)
def test_each_clusterer_recovers_blobs(blobs, name: str) -> None:
    X, y = blobs
    res = cluster(name, X, K, seed=0)
    assert res.labels.shape == (N,) and res.labels.dtype == np.int64
    assert adjusted_rand_score(y, res.labels) > 0.9
    assert res.n_clusters == K
    assert res.noise_fraction == pytest.approx(np.mean(res.labels == -1)) and res.noise_fraction < 0.05
    assert np.array_equal(res.model.predict(X), res.labels)  # each point of a clear blob stays in it
    assert ("k ignored" in res.notes) == (name in DENSITY)
    assert res.sample_size is None  # 160 points: every clusterer fits on all of them


@pytest.mark.parametrize("name", NAMES)
def test_each_clusterer_same_seed_same_result(blobs, name: str) -> None:
    X, _ = blobs
    a, b = cluster(name, X, K, seed=3), cluster(name, X, K, seed=3)
    assert np.array_equal(a.labels, b.labels)
    assert a.params == b.params and a.notes == b.notes


@pytest.mark.parametrize("name", DENSITY)
def test_density_methods_ignore_k(blobs, name: str) -> None:
    X, _ = blobs
    ref = cluster(name, X, None).labels
    assert np.array_equal(cluster(name, X, 2).labels, ref)
    assert np.array_equal(cluster(name, X, 1000).labels, ref)  # k > n is no error where k is not used


def test_cluster_checks_name_options_and_k(blobs) -> None:
    X, _ = blobs
    with pytest.raises(ConfigError, match="unknown clusterer 'spectral'"):
        cluster("spectral", X, K)
    with pytest.raises(ConfigError, match="'dbscan' takes no option n_init; it takes: eps, min_samples"):
        cluster("dbscan", X, K, n_init=3)
    with pytest.raises(ConfigError, match="'gmm' needs k"):
        cluster("gmm", X, None)
    assert cluster("gmm", X, K, covariance_type="diag").params["covariance_type"] == "diag"


# --- DBSCAN: eps from the k-distance knee ---------------------------------------------------------------


def test_knee_of_hand_made_curves() -> None:
    hockey_stick = np.r_[np.linspace(0, 1, 90), np.linspace(2, 10, 10)]  # flat for 90 points, then steep
    assert knee(hockey_stick) == 89
    # No point below the chord: no knee, the last index (DBSCAN then makes every point core).
    for curve in (np.ones(10), np.arange(10.0), np.sqrt(np.arange(10.0)), np.array([1.0, 2.0])):
        assert knee(curve) == len(curve) - 1


def test_k_distances_match_brute_force() -> None:
    X = np.random.default_rng(0).normal(size=(30, 3))
    for ms in (1, 2, 5):
        expected = np.sort(np.sort(cdist(X, X), axis=1)[:, ms - 1])  # column 0 is the point itself
        np.testing.assert_allclose(k_distances(X, ms), expected, atol=1e-9)
    with pytest.raises(ConfigError, match="min_samples = 31"):
        k_distances(X, 31)


def test_default_min_samples_and_cluster_size() -> None:
    assert default_min_samples(160, 8) == 16  # 2 * d
    assert default_min_samples(100_000, 79) == 100  # capped
    assert default_min_samples(20, 8) == 4  # n / 10 = 2 -> at least 4
    assert default_min_samples(3, 8) == 3  # never more than n
    # Replaced rule (was 1 % of n, at least min_samples): half a group at k_max = 12 equal groups, at least 5.
    assert default_min_cluster_size(400) == 17
    assert default_min_cluster_size(20_000) == 833
    assert default_min_cluster_size(400, k_max=4) == 50
    assert default_min_cluster_size(40) == 5 and default_min_cluster_size(3) == 3  # at least 5, never above n


def test_dbscan_knee_eps_separates_the_blobs(blobs) -> None:
    X, y = blobs
    eps, i, kd = knee_eps(X, default_min_samples(*X.shape))
    res = dbscan(X)
    assert res.params["eps"] == pytest.approx(eps) and res.params["eps_source"] == "k-distance knee"
    assert np.all(np.diff(kd) >= 0) and kd[i] == pytest.approx(eps)
    assert i > len(X) // 2  # most points have a dense neighbourhood: they are left of the knee
    between = cdist(X[y == 0], X[y != 0]).min()
    assert eps < between  # no chain of eps-steps from one blob to another
    assert adjusted_rand_score(y, res.labels) > 0.9


def test_knee_eps_follows_the_scale_a_fixed_eps_does_not(blobs) -> None:
    """Why eps is not a setting: an eps that suits one space joins everything, or nothing, in another."""
    X, y = blobs
    fixed = dbscan(X).params["eps"]
    for scale in (0.1, 10.0):
        chosen = dbscan(X * scale)
        assert chosen.params["eps"] == pytest.approx(fixed * scale, rel=1e-4)
        assert adjusted_rand_score(y, chosen.labels) > 0.9
    shrunk = dbscan(X * 0.1, eps=fixed)  # a tenth of the scale: one cluster
    assert shrunk.n_clusters == 1 and shrunk.noise_fraction == 0.0
    assert adjusted_rand_score(y, shrunk.labels) == 0.0
    assert undefined_reason(shrunk.labels) == "only one cluster"
    grown = dbscan(X * 10.0, eps=fixed)  # ten times the scale: every point noise
    assert grown.n_clusters == 0 and grown.noise_fraction == 1.0
    assert grown.params["eps_source"] == "given"


def test_dbscan_predict_new_points(blobs) -> None:
    X, _ = blobs
    res = dbscan(X)
    centre = X[res.labels == 0].mean(0, keepdims=True)
    far = X.max(0, keepdims=True) + 100.0
    assert res.model.predict(centre).tolist() == [0]
    assert res.model.predict(far).tolist() == [-1]


# --- noise ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def noisy_blobs() -> tuple[np.ndarray, list[str]]:
    """Three tight blobs in 4-d and 30 points scattered over a wider box, whose true label is 'scatter'."""
    X, y = make_blobs(n_samples=300, centers=3, n_features=4, cluster_std=0.5, center_box=(-8, 8), random_state=1)
    scatter = np.random.default_rng(1).uniform(-20, 20, size=(30, 4))
    return np.vstack([X, scatter]), [*np.array(list("abc"))[y], *["scatter"] * 30]


@pytest.mark.parametrize("name", DENSITY)
def test_noise_reported_and_counted_as_wrong_in_purity(noisy_blobs, name: str) -> None:
    X, truth = noisy_blobs
    res = cluster(name, X, 3, seed=0)
    noise = res.labels == -1
    assert res.noise_fraction == pytest.approx(noise.mean()) and res.noise_fraction > 0.05
    assert noise[300:].mean() > 0.5  # the scattered points are the noise
    assert adjusted_rand_score(np.array(truth)[:300], res.labels[:300]) > 0.9
    row = score_clustering(res.labels, own_space=X, common_space=X, labels={"truth": truth})
    assert row["noise_fraction"] == pytest.approx(res.noise_fraction)
    assert "noise" in row["notes"]
    # Every cluster is pure, so purity is exactly the share of points not declared noise.
    pure = all(len({truth[i] for i in np.flatnonzero(res.labels == c)}) == 1 for c in range(res.n_clusters))
    if pure:
        assert purity(truth, res.labels) == pytest.approx(1 - res.noise_fraction)
    assert purity(truth, res.labels) <= 1 - res.noise_fraction + 1e-12


def test_everything_noise_gives_nan_with_reason(blobs) -> None:
    X, y = blobs
    res = dbscan(X, eps=1e-6)
    assert res.noise_fraction == 1.0 and res.n_clusters == 0
    row = score_clustering(res.labels, own_space=X, common_space=X, labels={"genre": [str(v) for v in y]})
    assert math.isnan(row["silhouette"]) and "every point is noise" in row["notes"]
    assert row["purity_genre"] == 0.0


# --- scale: fit on a sample above sample_size -------------------------------------------------------------


def test_agglomerative_on_a_sample_assigns_the_rest(blobs) -> None:
    X, y = blobs
    a = agglomerative_ward(X, K, seed=0, sample_size=60)
    assert a.params["fitted_on"] == 60 and "sample of 60 of 160" in a.notes and a.sample_size == 60
    assert adjusted_rand_score(y, a.labels) > 0.9
    assert np.array_equal(a.labels, agglomerative_ward(X, K, seed=0, sample_size=60).labels)
    assert adjusted_rand_score(y, agglomerative_ward(X, K, seed=1, sample_size=60).labels) > 0.9


def test_dbscan_on_a_sample_assigns_the_rest(blobs) -> None:
    X, y = blobs
    d = dbscan(X, seed=0, sample_size=80)
    assert d.params["fitted_on"] == 80 and "sample of 80 of 160" in d.notes and d.sample_size == 80
    assert d.n_clusters == K and adjusted_rand_score(y, d.labels) > 0.9
    assert np.array_equal(d.labels, dbscan(X, seed=0, sample_size=80).labels)


def test_hdbscan_on_a_sample_assigns_the_rest(blobs) -> None:
    X, y = blobs
    h = hdbscan(X, seed=0, sample_size=80)
    assert h.params["fitted_on"] == 80 and "sample of 80 of 160" in h.notes and h.sample_size == 80
    assert h.n_clusters == K and adjusted_rand_score(y, h.labels) > 0.8
    assert np.array_equal(h.labels, hdbscan(X, seed=0, sample_size=80).labels)


def test_gmm_on_a_sample_predicts_every_point(blobs) -> None:
    X, y = blobs
    g = gmm(X, K, seed=0, sample_size=50)
    assert g.sample_size == 50 and g.params["fitted_on"] == 50 and "sample of 50 of 160" in g.notes
    assert adjusted_rand_score(y, g.labels) > 0.9
    assert np.array_equal(g.labels, g.model.predict(X))  # the points outside the sample too
    assert np.array_equal(g.labels, gmm(X, K, seed=0, sample_size=50).labels)
    assert gmm(X, K, seed=0).sample_size is None


def test_kmeans_turns_minibatch_above_sample_size(blobs) -> None:
    X, y = blobs
    m = kmeans(X, K, seed=0, n_init=3, sample_size=100)
    assert m.params["algorithm"] == "minibatch" and "MiniBatchKMeans" in m.notes
    assert m.sample_size is None  # mini-batches are drawn from every point: not a sample
    assert type(m.model).__name__ == "NearestCentroid" and len(m.model.centroids) == K
    assert adjusted_rand_score(y, m.labels) > 0.9
    assert np.array_equal(m.labels, kmeans(X, K, seed=0, n_init=3, sample_size=100).labels)
    assert "algorithm" not in kmeans(X, K, seed=0, n_init=3).params  # 160 <= 20,000: full K-Means


@pytest.mark.parametrize("name", NAMES)
def test_cluster_sample_size_none_is_the_default_and_too_small_is_an_error(blobs, name: str) -> None:
    X, _ = blobs
    assert np.array_equal(cluster(name, X, K, seed=0, sample_size=None).labels, cluster(name, X, K, seed=0).labels)
    with pytest.raises(ConfigError, match="sample_size = 1"):
        cluster(name, X, K, seed=0, sample_size=1)
    if name not in DENSITY and name != "kmeans":
        with pytest.raises(ConfigError, match="impossible"):
            cluster(name, X, K, seed=0, sample_size=3)  # a sample smaller than k


# --- degenerate inputs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_degenerate_inputs(name: str) -> None:
    with pytest.raises(ConfigError, match="cannot cluster 1 track"):
        cluster(name, np.zeros((1, 3)), 1)
    with pytest.raises(ConfigError, match="NaN or infinite"):
        cluster(name, np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 1.0]]), 2)
    if name not in DENSITY:
        with pytest.raises(ConfigError, match="k = 6 clusters is impossible for 5 tracks"):
            cluster(name, np.random.default_rng(0).normal(size=(5, 2)), 6)
    # All points identical: no crash, and the metrics say why they cannot score it.
    same = np.ones((20, 3), dtype=np.float32)
    res = cluster(name, same, 4, seed=0)
    assert res.labels.shape == (20,)
    assert undefined_reason(res.labels) is not None or "distinct point" in res.notes
    # Two points: whatever comes out is a valid labelling.
    two = cluster(name, np.array([[0.0, 0.0], [5.0, 5.0]]), 2)
    assert two.labels.shape == (2,) and set(two.labels.tolist()) <= {-1, 0, 1}


# --- density on a UMAP reduction: clusters where there are groups, a note where there are none ------------------


def _degenerate(notes: str) -> list[str]:
    return [n for n in notes.split("; ") if n.startswith(DEGENERATE)]


@pytest.fixture(scope="module", params=[16, 80])
def wide_blobs(request) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Five well-separated blobs of 60 points in 16-d and in 80-d, and their centres."""
    X, y, centres = make_blobs(n_samples=300, centers=5, n_features=request.param, cluster_std=1.0,
                               center_box=(-10, 10), random_state=2, return_centers=True)
    return X.astype(np.float32), y, centres


@pytest.mark.parametrize("name", DENSITY)
def test_density_finds_separated_blobs_on_a_umap_reduction(wide_blobs, name: str) -> None:
    X, y, centres = wide_blobs
    res = cluster(name, X, None, seed=0)
    assert res.params["reduction"] == "umap" and res.params["umap_components"] == 8
    assert res.params["reduced_from"] == X.shape[1] and f"{X.shape[1]} dimensions to 8" in res.notes
    assert adjusted_rand_score(y, res.labels) > 0.9 and res.n_clusters == 5
    assert res.noise_fraction < 0.05 and not _degenerate(res.notes)
    if name == "hdbscan":
        assert res.params["structure_p"] == 0.05 and not res.params["single_cluster_allowed"]
    # New points near each centre: the fitted UMAP places them, and they join that blob's cluster.
    near = centres + np.random.default_rng(1).normal(0, 0.5, centres.shape)
    expected = [np.bincount(res.labels[y == c][res.labels[y == c] >= 0]).argmax() for c in range(5)]
    assert res.model.predict(near.astype(np.float32)).tolist() == expected
    # UMAP's transform would put a far-away point among its nearest fitted ones: it is noise, outside the data.
    assert res.model.predict(X.max(0, keepdims=True) + 100.0).tolist() == [-1]


def test_density_same_seed_same_labels_even_without_the_cache(wide_blobs) -> None:
    from songspace.clustering import density

    X, _, _ = wide_blobs
    first = [cluster(name, X, None, seed=5) for name in DENSITY]
    density._REDUCED.clear()  # the reduction is computed again, not read from the cache
    again = [cluster(name, X.copy(), None, seed=5) for name in DENSITY]
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a.labels, b.labels) and a.params == b.params and a.notes == b.notes


def test_umap_reduce_is_cached_by_content_and_seed() -> None:
    X = np.random.default_rng(0).normal(size=(60, 12)).astype(np.float32)
    Z, reducer = umap_reduce(X, 4, seed=0)
    assert Z.shape == (60, 4) and not Z.flags.writeable
    again, same = umap_reduce(X.copy(), 4, seed=0)  # another array with the same bytes: the cached result
    assert again is Z and same is reducer
    assert umap_reduce(X, 4, seed=1)[0] is not Z and umap_reduce(X, 3, seed=0)[0].shape == (60, 3)


@pytest.mark.parametrize("d", [16, 80])
@pytest.mark.parametrize("name", DENSITY)
def test_single_gaussian_blob_is_one_cluster_with_a_note(name: str, d: int) -> None:
    X = np.random.default_rng(3).normal(size=(300, d)).astype(np.float32)
    res = cluster(name, X, None, seed=0)
    assert res.n_clusters <= 1
    why = _degenerate(res.notes)
    assert why and why[0].startswith("one cluster:" if res.n_clusters == 1 else "no cluster:")
    assert "no dense separated groups" in res.notes or "no density gap" in res.notes
    if name == "hdbscan":  # UMAP tore the blob into clumps; the structure test saw no more than one Gaussian's
        assert res.params["clusters_before_test"] >= 2 and res.params["structure_p"] > 0.05
        assert res.params["single_cluster_allowed"]


def test_gaussian_null_pvalue_separates_groups_from_one_blob() -> None:
    rng = np.random.default_rng(0)
    X, _ = make_blobs(n_samples=200, centers=4, n_features=10, cluster_std=1.5, center_box=(-6, 6), random_state=0)
    assert gaussian_null_pvalue(X, 4, seed=0) == 0.05  # below every one of the 19 Gaussian draws
    assert gaussian_null_pvalue(rng.normal(size=(200, 10)), 4, seed=0) > 0.1
    assert gaussian_null_pvalue(rng.standard_t(3, size=(200, 10)), 4, seed=0) > 0.1  # heavy tails are no groups
    assert gaussian_null_pvalue(X, 1) == 1.0


def test_no_reduction_when_asked_or_in_few_dimensions(blobs) -> None:
    X, y = blobs  # 8-d: no more dimensions than the reduction would keep
    assert dbscan(X).params["reduction"] == "none" and "UMAP" not in dbscan(X).notes
    wide = np.hstack([X, X])  # 16-d, but reduction switched off
    res = hdbscan(wide, umap_components=0)
    assert res.params["reduction"] == "none" and adjusted_rand_score(y, res.labels) > 0.9
    with pytest.raises(ConfigError, match="umap_components = -1"):
        dbscan(wide, umap_components=-1)
    few = np.random.default_rng(0).normal(size=(30, 40))  # no more points than a UMAP neighbourhood
    assert hdbscan(few).params["reduction"] == "none" and "too few points (30)" in hdbscan(few).notes


def test_hdbscan_on_a_sample_places_the_rest_with_the_fitted_umap(wide_blobs, caplog) -> None:
    X, y, _ = wide_blobs
    with caplog.at_level("INFO", logger="songspace.clustering.hdbscan"):
        h = hdbscan(X, seed=0, sample_size=150)
    assert f"fitted on a seeded sample of 150 of {len(X)} points" in caplog.text  # the run log says so
    assert h.sample_size == 150 and h.params["fitted_on"] == 150 and h.params["reduction"] == "umap"
    assert h.n_clusters == 5 and adjusted_rand_score(y, h.labels) > 0.9 and h.noise_fraction < 0.05


def test_a_given_eps_that_joins_everything_says_so(blobs) -> None:
    X, _ = blobs
    res = dbscan(X, eps=100.0)
    assert res.n_clusters == 1 and _degenerate(res.notes)[0].startswith("one cluster: the given eps")
    none = dbscan(X, eps=1e-6)
    assert [n.split(":")[0] for n in _degenerate(none.notes)] == ["no cluster", "most tracks noise"]


def test_analysis_names_degenerate_density_rows_with_the_reason() -> None:
    blob = np.random.default_rng(3).normal(size=(300, 16)).astype(np.float32)
    res = dbscan(blob)
    row = {"method": "vae+dbscan", "representation": "vae", "clusterer": "dbscan", "modality": "audio",
           "nmi_genre": 0.0, "n_clusters": res.n_clusters, "noise_fraction": res.noise_fraction, "notes": res.notes}
    fine = {**row, "method": "vae+hdbscan", "clusterer": "hdbscan", "n_clusters": 5, "noise_fraction": 0.1,
            "notes": "density method: k ignored"}
    text = analyse([row, fine], ["genre"], n_tracks=300)
    noise = text[text.index("## Noise"):]
    reason = _degenerate(res.notes)[0].split(":", 1)[1].strip()
    assert f"**vae+dbscan** found one cluster and left {res.noise_fraction:.0%} of the tracks as noise. " \
           f"Why: {reason}" in noise
    assert "vae+hdbscan left 10% of the tracks as noise" in noise and "**vae+hdbscan**" not in noise
    silent = {**row, "notes": ""}  # one cluster, and nothing says why: the analysis says that too
    assert "Why: no reason recorded" in analyse([silent], ["genre"], n_tracks=300)


def test_umap_weights_are_umaps_membership_strengths() -> None:
    from songspace.clustering.placing import umap_weights

    dist = np.sort(np.random.default_rng(0).uniform(0.5, 3.0, size=(50, 30)), axis=1)
    w = umap_weights(dist)
    np.testing.assert_allclose(w.sum(axis=1), np.log2(30), rtol=1e-6)  # UMAP's bandwidth target per point
    assert (np.diff(w, axis=1) <= 1e-12).all() and (w > 0).all() and (w <= 1).all()  # nearer weighs more
