"""Clusterers by name, the choice of k, and :class:`LatentClusterer`, the scikit-learn-style face of songspace.

    LatentClusterer(model="mlp_vae", clusterer="kmeans", n_clusters=8).fit(features).labels_
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from songspace.config import TrainConfig
from songspace.errors import ConfigError
from songspace.evaluation.metrics import silhouette
from songspace.models import MODELS, build_model
from songspace.training import History, RowDataset, embed, seed_everything, train

log = logging.getLogger(__name__)

# Representations that are not trained models: the baselines.
BASELINES = ("pca", "features")


def kmeans(X: np.ndarray, k: int, *, seed: int = 0, n_init: int = 10) -> tuple[np.ndarray, KMeans]:
    """K-Means labels of ``X`` [shape=(n, d)] with ``k`` clusters, and the fitted estimator."""
    if not 1 <= k <= len(X):
        raise ConfigError(f"k = {k} clusters is impossible for {len(X)} tracks; choose 2 <= k < {len(X)}.")
    est = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(X)
    return est.labels_.astype(np.int64), est


CLUSTERERS: dict[str, Callable[..., tuple[np.ndarray, Any]]] = {"kmeans": kmeans}


def choose_k(X: np.ndarray, k_range: tuple[int, int] = (2, 12), *, seed: int = 0, sample_size: int = 5000) -> int:
    """The k in ``k_range`` (inclusive) whose K-Means clustering of ``X`` has the highest silhouette.

    Used only when neither k nor a label to take it from is given.
    """
    lo, hi = k_range[0], min(k_range[1], len(X) - 1)
    if hi < lo:
        raise ConfigError(f"cannot choose k in {k_range} for {len(X)} tracks; set cluster.k explicitly.")
    scores = {k: silhouette(X, kmeans(X, k, seed=seed, n_init=3)[0], sample_size=sample_size, seed=seed)
              for k in range(lo, hi + 1)}
    best = max(scores, key=lambda k: (np.nan_to_num(scores[k], nan=-2.0), -k))
    log.info("chose k = %d by silhouette (%s)", best, ", ".join(f"{k}: {s:.3f}" for k, s in scores.items()))
    return best


class LatentClusterer(BaseEstimator, ClusterMixin, TransformerMixin):
    """Standardise features, learn a latent space, cluster it.

    Parameters
    ----------
    model : a name in ``songspace.models.MODELS`` (trained), ``"pca"`` (PCA to ``latent_dim``) or
        ``"features"`` (the standardised features themselves).
    clusterer : a name in ``CLUSTERERS``.
    n_clusters : k.
    latent_dim, hidden_dims, beta : model settings (``latent_dim`` also sets the PCA baseline's dimension).
    train : trainer settings (None = defaults).
    seed : fixes the model's initial weights, training and the clusterer.

    Attributes
    ----------
    labels_ : np.ndarray [shape=(n,)], cluster of each training row.
    latent_ : np.ndarray [shape=(n, latent_dim)], the embedding that was clustered.
    scaler_, model_, history_ : the fitted standardiser, model (None for baselines) and training history.
    """

    def __init__(self, model: str = "mlp_vae", clusterer: str = "kmeans", n_clusters: int = 8, *,
                 latent_dim: int = 16, hidden_dims: list[int] | None = None, beta: float = 1.0,
                 train: TrainConfig | None = None, n_init: int = 10, seed: int = 0) -> None:
        self.model = model
        self.clusterer = clusterer
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.beta = beta
        self.train = train
        self.n_init = n_init
        self.seed = seed

    def fit(self, X: np.ndarray, y: None = None, *,
            progress: Callable[[int, int, dict[str, float]], None] | None = None) -> LatentClusterer:
        if self.model not in MODELS and self.model not in BASELINES:
            raise ConfigError(f"unknown model {self.model!r}; choose one of: "
                              f"{', '.join([*sorted(MODELS), *BASELINES])}")
        if self.clusterer not in CLUSTERERS:
            raise ConfigError(f"unknown clusterer {self.clusterer!r}; choose one of: {', '.join(CLUSTERERS)}")
        X = np.asarray(X, dtype=np.float32)
        self.scaler_ = StandardScaler().fit(X)
        self.model_, self.history_ = None, History()
        if self.model == "pca":
            self.model_ = PCA(n_components=min(self.latent_dim, *X.shape), random_state=self.seed).fit(
                self.scaler_.transform(X))
        elif self.model in MODELS:
            seed_everything(self.seed)  # the initial weights too must depend on the seed alone
            self.model_ = build_model(self.model, input_dim=X.shape[1], latent_dim=self.latent_dim,
                                      hidden_dims=self.hidden_dims, beta=self.beta)
            self.history_ = train(self.model_, self._dataset(X), self.train or TrainConfig(), seed=self.seed,
                                  progress=progress)
        self.latent_ = self.transform(X)
        self.labels_, self.cluster_model_ = CLUSTERERS[self.clusterer](
            self.latent_, self.n_clusters, seed=self.seed, n_init=self.n_init)
        return self

    def _dataset(self, X: np.ndarray) -> RowDataset:
        return RowDataset(X, self.scaler_.mean_.astype(np.float32), self.scaler_.scale_.astype(np.float32))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """The latent embedding of ``X`` (posterior means for VAEs). [shape=(n, latent_dim)]"""
        X = np.asarray(X, dtype=np.float32)
        if self.model == "features":
            return self.scaler_.transform(X).astype(np.float32)
        if self.model == "pca":
            return self.model_.transform(self.scaler_.transform(X)).astype(np.float32)
        return embed(self.model_, self._dataset(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Cluster of each row of ``X``: the nearest learned cluster."""
        return self.cluster_model_.predict(self.transform(X)).astype(np.int64)

    def fit_predict(self, X: np.ndarray, y: None = None, **kwargs: Any) -> np.ndarray:
        return self.fit(X, **kwargs).labels_
