"""The scikit-learn-style face of songspace: learn a representation of the tracks and cluster it, in one estimator.

    LatentClusterer(representation="vade", clusterer="gmm", n_clusters=8, epochs=50).fit(stats).labels_

It is built on the two registries and nothing else: ``representation`` is any name of
:mod:`songspace.representations` (or a ``<base>@<input>`` variant), built by its spec's own ``build`` through
:func:`songspace.representations.base.learn` (VaDE with its pretraining and mixture start, IDEC, N2D, the conv and
crop models, PCA, the statistics themselves, ...), and ``clusterer`` is any name of :mod:`songspace.clustering`,
whose placer (:mod:`songspace.clustering.placing`) puts new points in the fitted clusters (``predict``). The
settings below map onto a :class:`songspace.config.RunConfig`, with training checkpoints off (an estimator never
reads or writes a checkpoint cache).

``X`` is the spectral statistics [shape=(n, d)] (their names, where a representation picks columns by name as
``mfcc_stats`` does, from ``fit(X, stat_names=...)`` or a DataFrame's columns), log-mel spectrograms
[shape=(n, n_mels, n_frames)] in dB (a memmap is fine) for the representations that read only those, or an
:class:`songspace.representations.Inputs` holding what the representation reads (lyrics, log-mel, label columns for
the conditioned ones, a pretrained encoder's vectors).
A representation that reads something ``X`` does not hold is one :class:`songspace.errors.ConfigError` saying what.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from songspace import clustering, representations, settings
from songspace.clustering import cluster
from songspace.config import RunConfig
from songspace.errors import ConfigError, EncoderUnavailable
from songspace.representations.base import Inputs, Representation, learn


class _Absent:
    """Stands for an input ``X`` did not hold (``Inputs.stats`` or ``Inputs.log_mel``): any use of it is a
    ConfigError naming the representation and what to pass."""

    def __init__(self, what: str, name: str) -> None:
        self.what, self.name = what, name

    def _fail(self, *_: Any, **__: Any) -> Any:
        raise ConfigError(f"representation {self.name!r} reads {self.what}, which X does not hold; pass them in X "
                          "(an array of them, or songspace.representations.Inputs)")

    __len__ = __getitem__ = __array__ = __iter__ = _fail
    shape = property(_fail)
    dtype = property(_fail)


def representation_for_model(model: str) -> str:
    """The representation a deprecated ``model=`` name stands for: the representation of that name, else one whose
    spec trains that model (``mlp_vae`` -> ``vae``), the plainest where several do (no settings of its own:
    ``mfcc_conv_vae`` -> ``mfcc_vae``, not ``crop_mfcc_vae``)."""
    if representations.exists(model):
        return model
    for spec in sorted(representations.specs(), key=lambda s: s.params is not None):
        if spec.model == model:
            return spec.name
    raise ConfigError(f"unknown model {model!r}; pass representation= one of: {', '.join(representations.names())}")


class LatentClusterer(BaseEstimator, ClusterMixin, TransformerMixin):
    """Build a registered representation of the tracks, cluster it with a registered clusterer.

    Parameters
    ----------
    representation : a name of :func:`songspace.representations.names` (or ``<base>@<input>``).
    clusterer : a name of :func:`songspace.clustering.names`.
    n_clusters : k (ignored by the clusterers that find their own number, ``dbscan`` and ``hdbscan``); also the
        mixture size of the deep-clustering representations (``vade``, ``idec``) unless their params set one.
    params : the representation's own settings, as ``[representations.params.<name>]`` in a config
        (e.g. ``{"pretrain_epochs": 20}`` for ``vade``).
    latent_dim, hidden_dims, beta : ``[model]`` settings (None: the config's defaults).
    epochs, batch_size, lr, device : ``[train]`` settings (None: the config's defaults).
    n_init : K-Means restarts. (A GMM restart is a whole EM run, so ``gmm`` keeps its one run from a seeded
        K-Means start unless ``cluster_options`` says more.)
    cluster_options : further options of the clusterer (``{"min_samples": 10}`` for ``dbscan``); see
        :func:`songspace.clustering.clusterer_options`. An ``n_init`` here wins over the parameter.
    seed : fixes the representation's initial weights, its training and the clusterer.
    model : deprecated alias of ``representation`` (a model name such as ``mlp_vae`` is read as the representation
        that trains it); FutureWarning, removed in the next release.

    Attributes
    ----------
    labels_ : np.ndarray [shape=(n,)], cluster of each training row; -1 = noise.
    latent_ : np.ndarray [shape=(n, d)], the representation that was clustered.
    representation_ : the built :class:`songspace.representations.Representation` (its model, history, notes).
    config_ : the :class:`songspace.config.RunConfig` it was built with.
    n_features_in_ : columns of the statistics (None when ``X`` held none).
    n_clusters_, noise_fraction_ : clusters found (noise not counted), share of rows labelled noise.
    cluster_params_, cluster_notes_ : settings the clusterer used (including those chosen from the data), and
        what a reader of the results should know ("" when nothing).
    cluster_model_ : the fitted clustering's placer (``predict``).
    state_ : the arrays that turn new data into the representation (its spec's ``save_state``), or None.
    """

    def __init__(self, representation: str = "vae", clusterer: str = "kmeans", n_clusters: int = 8, *,
                 params: dict[str, Any] | None = None, latent_dim: int | None = None,
                 hidden_dims: list[int] | None = None, beta: float | None = None, epochs: int | None = None,
                 batch_size: int | None = None, lr: float | None = None, device: str | None = None, n_init: int = 10,
                 cluster_options: dict[str, Any] | None = None, seed: int = 0, model: str | None = None) -> None:
        self.representation = representation
        self.clusterer = clusterer
        self.n_clusters = n_clusters
        self.params = params
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.beta = beta
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.device = device
        self.n_init = n_init
        self.cluster_options = cluster_options
        self.seed = seed
        self.model = model

    def _name(self) -> str:
        if self.model is not None:
            warnings.warn("LatentClusterer(model=...) is deprecated; use representation= (a representation name, "
                          "e.g. 'vae' for the MLP-VAE)", FutureWarning, stacklevel=3)
            return representation_for_model(self.model)
        if not representations.exists(self.representation):
            raise ConfigError(f"unknown representation {self.representation!r}; choose one of: "
                              f"{', '.join(representations.names())} (or <name>@<input> of one that reads an input)")
        return self.representation

    def _config(self, name: str, inputs: Inputs) -> RunConfig:
        overrides: dict[str, Any] = {
            "seed": self.seed, "model.latent_dim": self.latent_dim, "model.hidden_dims": self.hidden_dims,
            "model.beta": self.beta, "train.epochs": self.epochs, "train.batch_size": self.batch_size,
            "train.lr": self.lr, "train.device": self.device,
            "train.resume": False,  # never read or write a user's checkpoint cache
            "representations.names": [name], "cluster.algorithms": [self.clusterer],
        }
        own = dict(self.params or {})
        spec = representations.get(name)
        if spec.conditioned_by:  # the label columns it is given: those X holds
            own[spec.conditioned_by] = list(inputs.conditions)
        if own:
            overrides["representations.params"] = {name: own}
        return settings.load(None, **overrides)

    def _inputs(self, X: Any, name: str, stat_names: list[str] | None) -> Inputs:
        if isinstance(X, Inputs):
            return X
        if stat_names is None and hasattr(X, "columns"):  # a pandas DataFrame names its statistics
            stat_names = [str(c) for c in X.columns]
        X = X if hasattr(X, "dtype") and np.ndim(X) == 3 else np.asarray(X, dtype=np.float32)  # memmap stays one
        if np.ndim(X) == 2:
            return Inputs(stats=X, log_mel=_Absent("log-mel spectrograms", name), stat_names=stat_names)
        if np.ndim(X) == 3:
            return Inputs(stats=_Absent("spectral statistics", name), log_mel=X,  # type: ignore[arg-type]
                          n_mfcc=min(20, int(np.shape(X)[1])))  # 20 MFCCs, or one per band where there are fewer
        raise ConfigError(f"X has shape {np.shape(X)}: pass statistics [n, d], log-mel spectrograms "
                          "[n, n_mels, n_frames] or songspace.representations.Inputs")

    def fit(self, X: Any, y: None = None, *, stat_names: list[str] | None = None,
            progress: Callable[[str, int, int], None] | None = None) -> LatentClusterer:
        """Build the representation of ``X`` and cluster it. ``stat_names`` names the columns of statistics;
        ``progress(stage, epoch, n_epochs)`` is called after each training epoch."""
        name = self._name()
        clustering.get(self.clusterer)  # ConfigError naming the registered ones
        spec = representations.get(name)
        inputs = self._inputs(X, name, stat_names)
        if (spec.needs_lyrics or (spec.reads_lyrics and spec.modality == representations.BOTH)) \
                and inputs.lyrics is None:
            raise ConfigError(f"representation {name!r} reads lyrics, which X does not hold; pass "
                              "songspace.representations.Inputs with lyrics")
        if spec.conditions_required and not inputs.conditions:
            raise ConfigError(f"representation {name!r} is conditioned on label columns, which X does not hold; "
                              "pass songspace.representations.Inputs with conditions")
        self.config_ = self._config(name, inputs)
        try:
            rep = learn(name, inputs, self.config_, {}, progress=progress, k=self.n_clusters)
        except EncoderUnavailable as exc:
            raise ConfigError(f"representation {name!r} reads a pretrained encoder's vectors, which X does not "
                              f"hold ({exc}); pass songspace.representations.Inputs with embeddings") from None
        stats = inputs.stats
        self.n_features_in_ = None if isinstance(stats, _Absent) else int(np.shape(stats)[1])
        self.representation_: Representation = rep
        self.state_, self.state_error_ = None, f"{name} has no state that places new tracks"
        if spec.assignable:
            try:
                self.state_ = spec.save_state(rep, inputs)  # type: ignore[misc]
            except (ValueError, ConfigError) as exc:
                self.state_error_ = str(exc)
        self.fingerprint_ = _fingerprint(inputs)
        return self._cluster(np.asarray(rep.latent, dtype=np.float32))

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

    def transform(self, X: Any, *, stat_names: list[str] | None = None) -> np.ndarray:
        """``X`` in the fitted representation [shape=(m, d)]: through the spec's ``embed_new`` and the state saved at
        fit (the fitted rows come out as ``latent_``); without those, only the fitted data itself (``latent_``)."""
        check_is_fitted(self, "representation_")
        rep = self.representation_
        inputs = self._inputs(X, rep.name, stat_names)
        spec = representations.get(rep.name)
        if self.state_ is not None and spec.embed_new is not None:
            return np.asarray(spec.embed_new(self.state_, rep.model, inputs), dtype=np.float32)
        if _fingerprint(inputs) == self.fingerprint_:
            return self.latent_
        raise ConfigError(f"cannot place new data in {rep.name!r}: {self.state_error_}; only the data it was fitted "
                          "on can be transformed")

    def predict(self, X: Any, *, stat_names: list[str] | None = None) -> np.ndarray:
        """Cluster of each row of ``X`` [shape=(m,)], by the fitted clustering's placer: the nearest centroid
        (K-Means, agglomerative), the likeliest component (GMM), or the nearest-point rule (DBSCAN, HDBSCAN; -1 for
        points in no dense region)."""
        check_is_fitted(self, "cluster_model_")
        return np.asarray(self.cluster_model_.predict(self.transform(X, stat_names=stat_names)), dtype=np.int64)

    def fit_predict(self, X: Any, y: None = None, **kwargs: Any) -> np.ndarray:
        return self.fit(X, **kwargs).labels_


def _fingerprint(inputs: Inputs) -> str:
    """Identifies the data an estimator was fitted on: a digest of the statistics (of the log-mel's identity and
    shape when there are none)."""
    if isinstance(inputs.stats, _Absent):
        return f"log_mel {id(inputs.log_mel)} {np.shape(inputs.log_mel)}"
    stats = np.ascontiguousarray(inputs.stats, dtype=np.float32)
    return f"{stats.shape} {hashlib.blake2b(stats.tobytes(), digest_size=16).hexdigest()}"
