"""Tests for songspace.estimator.LatentClusterer (a registered representation, clustered by a registered clusterer;
the scikit-learn contract)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from conftest import BLOB_D, BLOB_K, BLOB_N
from songspace import clustering, representations, settings
from songspace.clustering.kmeans import kmeans
from songspace.errors import ConfigError
from songspace.estimator import LatentClusterer
from songspace.representations.base import Inputs, learn

N, D, K, LATENT = BLOB_N, BLOB_D, BLOB_K, 3
TRAIN = {"epochs": 60, "batch_size": 32, "lr": 1e-2, "device": "cpu"}
QUICK = {"epochs": 2, "batch_size": 32, "device": "cpu"}  # reachability, not quality


def _clusterer(representation: str, **kw) -> LatentClusterer:
    return LatentClusterer(representation, n_clusters=K, latent_dim=LATENT, hidden_dims=[32, 16], n_init=4, seed=0,
                           **{**TRAIN, **kw})


@pytest.fixture(scope="module")
def fitted(blobs) -> dict[str, LatentClusterer]:
    X, _ = blobs
    out = {}
    for name in ("vae", "pca", "features"):
        torch.manual_seed(0)
        out[name] = _clusterer(name).fit(X)
    return out


@pytest.mark.parametrize("name", ["vae", "pca", "features"])
def test_recovers_blobs(fitted, blobs, name: str) -> None:
    _, y = blobs
    est = fitted[name]
    assert est.labels_.shape == (N,) and est.labels_.dtype == np.int64
    assert set(np.unique(est.labels_)) == set(range(K))
    assert adjusted_rand_score(y, est.labels_) > 0.9


@pytest.mark.parametrize(("name", "dim"), [("vae", LATENT), ("pca", LATENT), ("features", D)])
def test_latent_shape(fitted, name: str, dim: int) -> None:
    assert fitted[name].latent_.shape == (N, dim)
    assert fitted[name].latent_.dtype == np.float32
    assert fitted[name].n_features_in_ == D


@pytest.mark.parametrize("name", ["vae", "pca", "features"])
def test_transform_and_predict_on_training_data(fitted, blobs, name: str) -> None:
    X, _ = blobs
    est = fitted[name]
    np.testing.assert_allclose(est.transform(X), est.latent_, rtol=1e-5, atol=1e-5)
    assert np.array_equal(est.predict(X), est.labels_)


def test_fitted_attributes(fitted) -> None:
    vae = fitted["vae"]
    assert vae.representation_.name == "vae" and vae.representation_.model is not None
    assert len(vae.representation_.history.train) > 0
    assert vae.config_.train.resume is False and vae.config_.model.latent_dim == LATENT
    assert vae.config_.train.epochs == TRAIN["epochs"] and vae.config_.model.hidden_dims == [32, 16]
    assert fitted["features"].representation_.model is None and fitted["features"].representation_.history is None
    np.testing.assert_allclose(fitted["features"].latent_.mean(0), 0.0, atol=1e-4)  # standardised features


@pytest.mark.parametrize("name", ["pca", "vae"])
def test_predict_new_points_near_training_points(fitted, blobs, name: str) -> None:
    X, _ = blobs
    est = fitted[name]
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
    LatentClusterer(n_clusters=K, latent_dim=2, hidden_dims=[8], epochs=2, device="cpu", n_init=1).fit(
        X, progress=lambda stage, e, n: calls.append((stage, e, n)))
    assert calls == [("train vae", 1, 2), ("train vae", 2, 2)]


@pytest.mark.parametrize("name", ["pca", "features"])
def test_same_seed_same_labels_baselines(blobs, name: str) -> None:
    X, _ = blobs
    a, b = _clusterer(name).fit(X), _clusterer(name).fit(X)
    assert np.array_equal(a.labels_, b.labels_)
    assert np.array_equal(a.latent_, b.latent_)


def test_same_seed_same_latent_vae(blobs) -> None:
    # Same seed, same batch shapes, same code path in one process: identical by construction.
    X, _ = blobs
    torch.manual_seed(123)  # whatever state the global generator happens to be in before the first fit
    a = _clusterer("vae", epochs=5).fit(X)
    b = _clusterer("vae", epochs=5).fit(X)  # starts from the state a's training left
    assert np.array_equal(a.latent_, b.latent_)
    assert np.array_equal(a.labels_, b.labels_)


def test_unknown_representation_and_clusterer(blobs) -> None:
    X, _ = blobs
    with pytest.raises(ConfigError, match="unknown representation 'nope'.*features.*idec.*pca.*vade.*vae"):
        LatentClusterer("nope").fit(X)
    with pytest.raises(ConfigError, match="unknown clusterer 'nope'.*kmeans.*agglomerative_ward.*dbscan.*gmm"):
        LatentClusterer("features", clusterer="nope").fit(X)


def test_model_is_a_deprecated_alias(blobs) -> None:
    X, _ = blobs
    with pytest.warns(FutureWarning, match="representation="):
        est = LatentClusterer(model="mlp_vae", n_clusters=K, latent_dim=2, hidden_dims=[8], **QUICK).fit(X)
    assert est.representation_.name == "vae"  # the representation that trains mlp_vae
    with pytest.warns(FutureWarning), pytest.raises(ConfigError, match="unknown model 'nope'"):
        LatentClusterer(model="nope").fit(X)


def test_k_greater_than_n_raises(blobs) -> None:
    X, _ = blobs
    with pytest.raises(ConfigError, match="k = 11"):
        LatentClusterer("features", n_clusters=11).fit(X[:10])
    with pytest.raises(ConfigError):
        kmeans(X[:5], 0)


def test_get_params_and_clone(fitted) -> None:
    est = LatentClusterer("pca", "kmeans", 5, params={"a": 1}, latent_dim=7, hidden_dims=[4], beta=2.0, epochs=3,
                          batch_size=16, lr=0.1, device="cpu", n_init=3, cluster_options={"max_iter": 5}, seed=9)
    assert est.get_params() == {"representation": "pca", "clusterer": "kmeans", "n_clusters": 5, "params": {"a": 1},
                                "latent_dim": 7, "hidden_dims": [4], "beta": 2.0, "epochs": 3, "batch_size": 16,
                                "lr": 0.1, "device": "cpu", "n_init": 3, "cluster_options": {"max_iter": 5},
                                "seed": 9, "model": None}
    twin = clone(est)
    assert twin is not est and twin.get_params() == est.get_params()
    fitted_twin = clone(fitted["pca"])
    assert not hasattr(fitted_twin, "labels_")
    assert fitted_twin.get_params() == fitted["pca"].get_params()
    assert est.set_params(n_clusters=2).n_clusters == 2


def test_bad_params_are_a_config_error(blobs) -> None:
    X, _ = blobs
    with pytest.raises(ConfigError, match="representations.params.vade"):
        LatentClusterer("vade", params={"pretrain_epochs": -1}).fit(X)


# --- every representation through the registry ----------------------------------------------------------------

STATS_ONLY = ("vae", "autoencoder", "beta_vae", "vade", "idec", "n2d", "pca", "features", "mfcc_stats")


@pytest.fixture(scope="module")
def every_audio(blobs) -> dict[str, LatentClusterer | ConfigError]:
    """Every registered audio representation fitted on the statistics alone (or the ConfigError saying why not)."""
    X, _ = blobs
    out: dict[str, LatentClusterer | ConfigError] = {}
    for spec in representations.specs():
        if spec.modality != representations.AUDIO:
            continue
        est = LatentClusterer(spec.name, "kmeans", K, latent_dim=2, hidden_dims=[8], n_init=1,
                              params={"pretrain_epochs": 2} if spec.name in ("vade", "idec") else None, **QUICK)
        try:
            out[spec.name] = est.fit(X[:60])
        except ConfigError as exc:
            out[spec.name] = exc
    return out


def test_every_audio_representation_reachable(every_audio) -> None:
    built = {name for name, est in every_audio.items() if isinstance(est, LatentClusterer)}
    assert set(STATS_ONLY) <= built
    for name in built:
        est = every_audio[name]
        assert est.representation_.name == name and est.labels_.shape == (60,) and est.latent_.shape[0] == 60
        assert np.isfinite(est.latent_).all()
    for name, exc in every_audio.items():  # the others say what X lacks
        if name not in built:
            assert "log-mel" in str(exc) or "encoder" in str(exc), (name, exc)
    assert {"conv_vae", "crop_vae", "log_mel_flat", "musicnn"} <= set(every_audio) - built


def test_deep_clustering_representations_fit_their_own_way(every_audio) -> None:
    vade = every_audio["vade"].representation_
    assert type(vade.model).__name__ == "VaDE" and len(vade.model.pi_logits) == K  # a K-component mixture prior
    assert any("mixture components" in note for note in vade.notes)
    assert type(every_audio["idec"].representation_.model).__name__ == "IDEC"


def test_vade_equals_learn(blobs) -> None:
    # The estimator calls learn() with the RunConfig it maps its settings onto: the same code on the same data and
    # seed, so the latent is the same up to float32 summation order.
    X, _ = blobs
    est = LatentClusterer("vade", "gmm", K, params={"pretrain_epochs": 2}, latent_dim=2, hidden_dims=[8], seed=3,
                          **QUICK).fit(X[:60])
    cfg = settings.load(None, **{"seed": 3, "model.latent_dim": 2, "model.hidden_dims": [8], "train.epochs": 2,
                                 "train.batch_size": 32, "train.device": "cpu", "train.resume": False,
                                 "representations.params": {"vade": {"pretrain_epochs": 2}}})
    rep = learn("vade", Inputs(stats=X[:60], log_mel=np.zeros((60, 1, 1), np.float32)), cfg, {}, k=K)
    np.testing.assert_allclose(est.latent_, rep.latent, rtol=1e-5, atol=1e-6)
    assert est.cluster_params_["n_init"] == 1 and est.labels_.shape == (60,)


def test_new_data_without_state_is_a_clear_error(every_audio, blobs) -> None:
    X, _ = blobs
    n2d = every_audio["n2d"]  # UMAP of an autoencoder's codes: no saved state places new tracks
    assert n2d.state_ is None
    np.testing.assert_array_equal(n2d.transform(X[:60].copy()), n2d.latent_)  # the fitted data itself
    with pytest.raises(ConfigError, match="cannot place new data in 'n2d'"):
        n2d.transform(X[60:120])
    vade = every_audio["vade"]  # its state and embed_new place new data
    assert vade.transform(X[60:120]).shape == (60, 2) and vade.predict(X[60:120]).shape == (60,)


def test_missing_inputs_are_one_config_error(blobs) -> None:
    X, _ = blobs
    with pytest.raises(ConfigError, match="'bimodal_vae' reads lyrics"):
        LatentClusterer("bimodal_vae").fit(X)
    with pytest.raises(ConfigError, match="'cvae' is conditioned on label columns"):
        LatentClusterer("cvae").fit(X)
    with pytest.raises(ConfigError, match="'musicnn' reads a pretrained encoder"):
        LatentClusterer("musicnn").fit(X)


def test_inputs_with_conditions(blobs) -> None:
    X, y = blobs
    inputs = Inputs(stats=X[:60], log_mel=np.zeros((60, 1, 1), np.float32),
                    conditions={"genre": [f"g{v}" for v in y[:60]]})
    est = LatentClusterer("cvae", "kmeans", K, latent_dim=2, hidden_dims=[8], **QUICK).fit(inputs)
    assert est.representation_.conditioned_on == ["genre"] and est.latent_.shape == (60, 2)


# --- LatentClusterer with every clusterer ------------------------------------------------------------------


@pytest.mark.parametrize("name", clustering.names())
def test_latent_clusterer_every_clusterer(blobs, name: str) -> None:
    X, y = blobs
    est = LatentClusterer("features", clusterer=name, n_clusters=K, n_init=4, seed=0).fit(X)
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
    est = LatentClusterer("features", clusterer="dbscan", cluster_options={"eps": 100.0}).fit(X)
    assert est.n_clusters_ == 1 and est.cluster_params_["eps"] == 100.0
    gm = LatentClusterer("features", clusterer="gmm", n_clusters=K, cluster_options={"n_init": 2})
    assert gm.fit(X).cluster_params_["n_init"] == 2
    km = LatentClusterer("features", clusterer="kmeans", n_clusters=K, n_init=4, cluster_options={"n_init": 1})
    assert km.fit(X).cluster_params_["n_init"] == 1  # the option wins over the parameter
    with pytest.raises(ConfigError, match="takes no option eps"):
        LatentClusterer("features", clusterer="kmeans", cluster_options={"eps": 1.0}).fit(X)


def test_latent_clusterer_takes_spectrograms_for_a_conv_model() -> None:
    rng = np.random.default_rng(0)
    # two kinds of "spectrogram": energy low or high in frequency, 16 mels x 32 frames
    low, high = np.zeros((16, 32), np.float32), np.zeros((16, 32), np.float32)
    low[:8], high[8:] = -10.0, -10.0
    X = np.stack([(low if i % 2 else high) + rng.normal(0, 1, (16, 32)).astype(np.float32) for i in range(24)])
    est = LatentClusterer("conv_vae", "kmeans", 2, latent_dim=2, epochs=15, device="cpu", seed=0)
    labels = est.fit_predict(X)
    assert est.latent_.shape == (24, 2) and est.n_features_in_ is None
    np.testing.assert_allclose(est.transform(X), est.latent_, rtol=1e-5, atol=1e-5)
    truth = np.arange(24) % 2
    assert max(np.mean(labels == truth), np.mean(labels != truth)) == 1.0
    with pytest.raises(ConfigError, match="'conv_vae' reads log-mel spectrograms"):
        LatentClusterer("conv_vae").fit(X.reshape(24, -1))
    with pytest.raises(ConfigError, match="'vae' reads spectral statistics"):
        LatentClusterer("vae").fit(X)


def test_stat_names_from_fit_or_dataframe(blobs) -> None:
    X, _ = blobs
    names = ["mfcc0_mean", "mfcc0_std", "mfcc1_mean", "mfcc1_std", "centroid_mean", "centroid_std", "zcr", "rms"]
    by_kwarg = LatentClusterer("mfcc_stats", n_clusters=K).fit(X, stat_names=names)
    assert by_kwarg.latent_.shape == (N, 4)  # the MFCC means and standard deviations only
    assert LatentClusterer("mfcc_stats", n_clusters=K).fit(X).latent_.shape == (N, D)  # unnamed: the first 40

    class Frame(np.ndarray):  # what the estimator reads of a pandas DataFrame: its values and ``columns``
        columns = names

    by_frame = LatentClusterer("mfcc_stats", n_clusters=K).fit(X.view(Frame))
    np.testing.assert_array_equal(by_frame.latent_, by_kwarg.latent_)


def test_log_mel_representations_reachable_from_spectrograms(every_audio) -> None:
    X = np.random.default_rng(0).normal(-40, 10, (24, 16, 32)).astype(np.float32)  # 16 mels: MFCCs one per band
    needs_log_mel = [n for n, est in every_audio.items() if isinstance(est, ConfigError) and "log-mel" in str(est)]
    assert {"conv_vae", "mfcc_vae", "beta_conv_vae", "log_mel_flat", "crop_vae", "crop_mfcc_vae"} <= set(needs_log_mel)
    for name in needs_log_mel:
        est = LatentClusterer(name, "kmeans", 2, latent_dim=2, **QUICK).fit(X)
        assert est.representation_.name == name and est.labels_.shape == (24,) and np.isfinite(est.latent_).all()
        np.testing.assert_allclose(est.transform(X), est.latent_, rtol=1e-5, atol=1e-5)
