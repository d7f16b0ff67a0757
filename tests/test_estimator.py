"""Tests for songspace.estimator.LatentClusterer (learn a space, cluster it; the scikit-learn contract)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from conftest import BLOB_D, BLOB_K, BLOB_N
from songspace import clustering
from songspace.clustering.kmeans import kmeans
from songspace.config import TrainConfig
from songspace.errors import ConfigError
from songspace.estimator import LatentClusterer

N, D, K, LATENT = BLOB_N, BLOB_D, BLOB_K, 3
TRAIN = TrainConfig(epochs=60, batch_size=32, lr=1e-2, device="cpu")


def _clusterer(model: str, **kw) -> LatentClusterer:
    return LatentClusterer(model=model, n_clusters=K, latent_dim=LATENT, hidden_dims=[32, 16], train=TRAIN,
                           n_init=4, seed=0, **kw)


@pytest.fixture(scope="module")
def fitted(blobs) -> dict[str, LatentClusterer]:
    X, _ = blobs
    out = {}
    for model in ("mlp_vae", "pca", "features"):
        torch.manual_seed(0)
        out[model] = _clusterer(model).fit(X)
    return out


@pytest.mark.parametrize("model", ["mlp_vae", "pca", "features"])
def test_recovers_blobs(fitted, blobs, model: str) -> None:
    _, y = blobs
    est = fitted[model]
    assert est.labels_.shape == (N,) and est.labels_.dtype == np.int64
    assert set(np.unique(est.labels_)) == set(range(K))
    assert adjusted_rand_score(y, est.labels_) > 0.9


@pytest.mark.parametrize(("model", "dim"), [("mlp_vae", LATENT), ("pca", LATENT), ("features", D)])
def test_latent_shape(fitted, model: str, dim: int) -> None:
    assert fitted[model].latent_.shape == (N, dim)
    assert fitted[model].latent_.dtype == np.float32


@pytest.mark.parametrize("model", ["mlp_vae", "pca", "features"])
def test_transform_and_predict_on_training_data(fitted, blobs, model: str) -> None:
    X, _ = blobs
    est = fitted[model]
    np.testing.assert_allclose(est.transform(X), est.latent_, rtol=1e-5, atol=1e-5)
    assert np.array_equal(est.predict(X), est.labels_)


def test_fitted_attributes(fitted) -> None:
    vae = fitted["mlp_vae"]
    assert vae.model_ is not None and len(vae.history_.train) > 0
    assert fitted["features"].model_ is None and fitted["features"].history_.train == []
    np.testing.assert_allclose(fitted["features"].latent_.mean(0), 0.0, atol=1e-4)  # standardised features


def test_predict_new_points_near_training_points(fitted, blobs) -> None:
    X, _ = blobs
    est = fitted["pca"]
    jitter = X + np.random.default_rng(1).normal(scale=0.01, size=X.shape).astype(np.float32)
    assert np.array_equal(est.predict(jitter), est.labels_)


def test_fit_predict(blobs) -> None:
    X, y = blobs
    est = _clusterer("pca")
    labels = est.fit_predict(X)
    assert np.array_equal(labels, est.labels_)
    assert adjusted_rand_score(y, labels) > 0.9


def test_fit_progress_callback(blobs) -> None:
    X, _ = blobs
    calls = []
    torch.manual_seed(0)
    LatentClusterer(n_clusters=K, latent_dim=2, hidden_dims=[8], train=TrainConfig(epochs=2, device="cpu"),
                    n_init=1).fit(X, progress=lambda e, m, t: calls.append((e, m)))
    assert calls == [(1, 2), (2, 2)]


@pytest.mark.parametrize("model", ["pca", "features"])
def test_same_seed_same_labels_baselines(blobs, model: str) -> None:
    X, _ = blobs
    a, b = _clusterer(model).fit(X), _clusterer(model).fit(X)
    assert np.array_equal(a.labels_, b.labels_)
    assert np.array_equal(a.latent_, b.latent_)


def test_same_seed_same_latent_mlp_vae(blobs) -> None:
    X, _ = blobs
    small = TrainConfig(epochs=5, batch_size=32, device="cpu")
    torch.manual_seed(123)  # whatever state the global generator happens to be in before the first fit
    a = _clusterer("mlp_vae").set_params(train=small).fit(X)
    b = _clusterer("mlp_vae").set_params(train=small).fit(X)  # starts from the state a's training left
    assert np.array_equal(a.latent_, b.latent_)
    assert np.array_equal(a.labels_, b.labels_)


def test_unknown_model_and_clusterer(blobs) -> None:
    X, _ = blobs
    with pytest.raises(ConfigError, match="unknown model 'nope'.*mlp_vae.*pca.*features"):
        LatentClusterer(model="nope").fit(X)
    with pytest.raises(ConfigError, match="unknown clusterer 'nope'.*kmeans.*agglomerative_ward.*dbscan.*gmm"):
        LatentClusterer(model="features", clusterer="nope").fit(X)


def test_k_greater_than_n_raises(blobs) -> None:
    X, _ = blobs
    with pytest.raises(ConfigError, match="k = 11"):
        LatentClusterer(model="features", n_clusters=11).fit(X[:10])
    with pytest.raises(ConfigError):
        kmeans(X[:5], 0)


def test_get_params_and_clone(fitted) -> None:
    cfg = TrainConfig(epochs=3)
    est = LatentClusterer("pca", "kmeans", 5, latent_dim=7, hidden_dims=[4], beta=2.0, train=cfg, n_init=3,
                          cluster_options={"max_iter": 5}, seed=9)
    assert est.get_params() == {"model": "pca", "clusterer": "kmeans", "n_clusters": 5, "latent_dim": 7,
                                "hidden_dims": [4], "beta": 2.0, "train": cfg, "n_init": 3,
                                "cluster_options": {"max_iter": 5}, "seed": 9}
    twin = clone(est)
    assert twin is not est and twin.get_params() == est.get_params()
    fitted_twin = clone(fitted["pca"])
    assert not hasattr(fitted_twin, "labels_")
    assert fitted_twin.get_params() == fitted["pca"].get_params()
    assert est.set_params(n_clusters=2).n_clusters == 2


# --- LatentClusterer with every clusterer ------------------------------------------------------------------


@pytest.mark.parametrize("name", clustering.names())
def test_latent_clusterer_every_clusterer(blobs, name: str) -> None:
    X, y = blobs
    est = LatentClusterer(model="features", clusterer=name, n_clusters=K, n_init=4, seed=0).fit(X)
    assert adjusted_rand_score(y, est.labels_) > 0.9
    assert est.n_clusters_ == K and 0.0 <= est.noise_fraction_ < 0.05
    assert isinstance(est.cluster_params_, dict) and isinstance(est.cluster_notes_, str)
    assert ("n_init" in est.cluster_params_) == (name in ("kmeans", "gmm"))
    if name == "kmeans":
        assert est.cluster_params_["n_init"] == 4
    if name == "gmm":
        assert est.cluster_params_["n_init"] == 1  # one EM run unless cluster_options asks for more
    assert np.array_equal(est.predict(X), est.labels_)


def test_latent_clusterer_cluster_options(blobs) -> None:
    X, _ = blobs
    est = LatentClusterer(model="features", clusterer="dbscan", cluster_options={"eps": 100.0}).fit(X)
    assert est.n_clusters_ == 1 and est.cluster_params_["eps"] == 100.0
    gm = LatentClusterer(model="features", clusterer="gmm", n_clusters=K, cluster_options={"n_init": 2})
    assert gm.fit(X).cluster_params_["n_init"] == 2
    km = LatentClusterer(model="features", clusterer="kmeans", n_clusters=K, n_init=4, cluster_options={"n_init": 1})
    assert km.fit(X).cluster_params_["n_init"] == 1  # the option wins over the parameter
    with pytest.raises(ConfigError, match="takes no option eps"):
        LatentClusterer(model="features", clusterer="kmeans", cluster_options={"eps": 1.0}).fit(X)


def test_latent_clusterer_takes_spectrograms_for_a_conv_model() -> None:
    rng = np.random.default_rng(0)
    # two kinds of "spectrogram": energy low or high in frequency, 16 mels x 32 frames
    low, high = np.zeros((16, 32), np.float32), np.zeros((16, 32), np.float32)
    low[:8], high[8:] = -10.0, -10.0
    X = np.stack([(low if i % 2 else high) + rng.normal(0, 1, (16, 32)).astype(np.float32) for i in range(24)])
    est = LatentClusterer("conv_vae", "kmeans", 2, latent_dim=2, train=TrainConfig(epochs=15, device="cpu"), seed=0)
    labels = est.fit_predict(X)
    assert est.latent_.shape == (24, 2)
    assert np.array_equal(est.transform(X), est.latent_)
    truth = np.arange(24) % 2
    assert max(np.mean(labels == truth), np.mean(labels != truth)) == 1.0
    with pytest.raises(ConfigError, match="spectrograms"):
        LatentClusterer("conv_vae").fit(X.reshape(24, -1))
    with pytest.raises(ConfigError, match="feature vectors"):
        LatentClusterer("mlp_vae").fit(X)
