"""The scikit-learn-style face of songspace: learn a latent space of the tracks and cluster it in one estimator.

    LatentClusterer(model="mlp_vae", clusterer="kmeans", n_clusters=8).fit(features).labels_
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from songspace import clustering
from songspace.clustering import cluster
from songspace.config import TrainConfig
from songspace.errors import ConfigError
from songspace.models import MODELS, build_model
from songspace.training import History, RowDataset, SpectrogramDataset, embed, seed_everything, train

FIXED = ("pca", "features")  # models that are not trained: PCA of the standardised features, and those features

SPECTROGRAM_MODELS = ("conv_vae", "beta_conv_vae", "mfcc_conv_vae")


class LatentClusterer(BaseEstimator, ClusterMixin, TransformerMixin):
    """Standardise features, learn a latent space, cluster it.

    ``X`` is [shape=(n, d)] feature vectors (spectral statistics) for the MLP models and the baselines, or
    [shape=(n, n_mels, n_frames)] dB log-mel spectrograms (a memory-mapped array is fine: it is read in
    batches) for ``conv_vae`` and ``beta_conv_vae`` (pooled to 128 frames, standardised per mel band) and for
    ``mfcc_conv_vae`` (as 20 MFCCs per frame): ``LatentClusterer(model="conv_vae", n_clusters=8).fit(log_mel)``.

    Parameters
    ----------
    model : a name in ``songspace.models.MODELS`` (trained), ``"pca"`` (PCA to ``latent_dim``) or
        ``"features"`` (the standardised features themselves). ``cvae`` and ``poe_vae`` need their
        conditions / modalities in each row; build them as :mod:`songspace.representations` does.
    clusterer : a registered clusterer (:func:`songspace.clustering.names`).
    n_clusters : k (ignored by the density clusterers ``dbscan`` and ``hdbscan``).
    latent_dim, hidden_dims, beta : model settings (``latent_dim`` also sets the PCA baseline's dimension).
    train : trainer settings (None = defaults).
    n_init : K-Means restarts. (A GMM restart is a whole EM run, 75 s for 100k tracks in the 79-d feature
        space, so ``gmm`` keeps its one run from a seeded K-Means start unless ``cluster_options`` says more.)
    cluster_options : further options of the clusterer (e.g. ``{"min_samples": 10}`` for ``dbscan``); see
        :func:`clusterer_options`. An ``n_init`` here wins over the parameter.
    seed : fixes the model's initial weights, training and the clusterer.

    Attributes
    ----------
    labels_ : np.ndarray [shape=(n,)], cluster of each training row; -1 = noise.
    latent_ : np.ndarray [shape=(n, latent_dim)], the embedding that was clustered.
    n_clusters_ : clusters found (noise not counted).
    noise_fraction_ : share of training rows labelled noise (0 for the clusterers without noise).
    cluster_params_ : settings the clusterer used, including those chosen from the data (e.g. DBSCAN's eps).
    cluster_notes_ : what a reader of the results should know about this clustering ("" when nothing).
    scaler_, model_, history_ : the fitted standardiser, model (None for baselines) and training history.
    cluster_model_ : assigns new latents to clusters (``predict``).
    """

    def __init__(self, model: str = "mlp_vae", clusterer: str = "kmeans", n_clusters: int = 8, *,
                 latent_dim: int = 16, hidden_dims: list[int] | None = None, beta: float = 1.0,
                 train: TrainConfig | None = None, n_init: int = 10, cluster_options: dict[str, Any] | None = None,
                 seed: int = 0) -> None:
        self.model = model
        self.clusterer = clusterer
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.beta = beta
        self.train = train
        self.n_init = n_init
        self.cluster_options = cluster_options
        self.seed = seed

    def fit(self, X: np.ndarray, y: None = None, *,
            progress: Callable[[int, int, dict[str, float]], None] | None = None) -> LatentClusterer:
        if self.model not in MODELS and self.model not in FIXED:
            raise ConfigError(f"unknown model {self.model!r}; choose one of: "
                              f"{', '.join([*sorted(MODELS), *FIXED])}")
        clustering.get(self.clusterer)  # ConfigError naming the registered ones
        self.model_, self.history_ = None, History()
        self.n_features_in_ = int(np.shape(X)[1]) if np.ndim(X) == 2 else None
        if np.ndim(X) == 3:  # spectrograms: standardised per band by the dataset, never loaded whole
            if self.model not in SPECTROGRAM_MODELS:
                raise ConfigError(f"{self.model} takes feature vectors [shape=(n, d)], got spectrograms of shape "
                                  f"{np.shape(X)}; use one of {', '.join(SPECTROGRAM_MODELS)}.")
            self.scaler_, self.spectrogram_scale_ = None, None
            dataset = self._dataset(X)
            seed_everything(self.seed)
            self.model_ = build_model(self.model, input_shape=dataset.item_shape, latent_dim=self.latent_dim,
                                      beta=self.beta)
            self.history_ = train(self.model_, dataset, self.train or TrainConfig(), seed=self.seed,
                                  progress=progress)
            self.spectrogram_scale_ = (dataset.mean, dataset.scale)
            return self._cluster(embed(self.model_, dataset))
        if self.model in SPECTROGRAM_MODELS:
            raise ConfigError(f"{self.model} takes spectrograms [shape=(n, n_mels, n_frames)], got shape "
                              f"{np.shape(X)}.")
        X = np.asarray(X, dtype=np.float32)
        self.scaler_ = StandardScaler().fit(X)
        if self.model == "pca":
            self.model_ = PCA(n_components=min(self.latent_dim, *X.shape), random_state=self.seed).fit(
                self.scaler_.transform(X))
        elif self.model in MODELS:
            seed_everything(self.seed)  # the initial weights too must depend on the seed alone
            kwargs: dict[str, Any] = {"latent_dim": self.latent_dim, "hidden_dims": self.hidden_dims}
            if self.model != "autoencoder":
                kwargs["beta"] = self.beta
            self.model_ = build_model(self.model, input_shape=(X.shape[1],), **kwargs)
            self.history_ = train(self.model_, self._dataset(X), self.train or TrainConfig(), seed=self.seed,
                                  progress=progress)
        return self._cluster(self.transform(X))

    def _cluster(self, latent: np.ndarray) -> LatentClusterer:
        self.latent_ = latent
        options = dict(self.cluster_options or {})
        if self.clusterer == "kmeans":
            options.setdefault("n_init", self.n_init)
        result = cluster(self.clusterer, self.latent_, self.n_clusters, seed=self.seed, **options)
        self.labels_, self.cluster_model_ = result.labels, result.model
        self.n_clusters_, self.noise_fraction_ = result.n_clusters, result.noise_fraction
        self.cluster_params_, self.cluster_notes_ = result.params, result.notes
        return self

    def _dataset(self, X: np.ndarray) -> RowDataset:
        if np.ndim(X) == 3:
            n_mfcc = 20 if self.model == "mfcc_conv_vae" else None
            if getattr(self, "spectrogram_scale_", None) is not None:
                return SpectrogramDataset(X, *self.spectrogram_scale_, n_mfcc=n_mfcc)
            return SpectrogramDataset(X, n_mfcc=n_mfcc).fit_standardisation()
        return RowDataset(X, self.scaler_.mean_.astype(np.float32), self.scaler_.scale_.astype(np.float32))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """The latent embedding of ``X`` (posterior means for VAEs). [shape=(n, latent_dim)]"""
        check_is_fitted(self, "model_")
        if np.ndim(X) == 3:
            return embed(self.model_, self._dataset(X))
        X = np.asarray(X, dtype=np.float32)
        if self.model == "features":
            return self.scaler_.transform(X).astype(np.float32)
        if self.model == "pca":
            return self.model_.transform(self.scaler_.transform(X)).astype(np.float32)
        return embed(self.model_, self._dataset(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Cluster of each row of ``X`` [shape=(m,)]: the nearest learned cluster (K-Means, agglomerative: its
        centroid), the likeliest component (GMM), or the density rule of
        :class:`songspace.clustering.placing.NearestPoint` (DBSCAN, HDBSCAN; -1 for points in no dense region)."""
        check_is_fitted(self, "cluster_model_")
        return np.asarray(self.cluster_model_.predict(self.transform(X)), dtype=np.int64)

    def fit_predict(self, X: np.ndarray, y: None = None, **kwargs: Any) -> np.ndarray:
        return self.fit(X, **kwargs).labels_
