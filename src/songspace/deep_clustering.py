"""Deep clustering: VaDE and IDEC fitted as their papers do, with songspace's one trainer.

Both start the same way: a plain autoencoder is pretrained on the items, its codes are clustered (a diagonal
Gaussian mixture for VaDE, K-Means for IDEC), and the clustering model is built from its layers and those
clusters, then trained on the joint objective (:mod:`songspace.models.vade`, :mod:`songspace.models.idec`).
The representation layer calls :func:`fit_vade` and :func:`fit_idec`; each returns the trained model, its
training history, the embedding of every item and its cluster probabilities.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from songspace.config import TrainConfig
from songspace.models import build_model
from songspace.models.autoencoder import Autoencoder
from songspace.models.idec import IDEC, init_idec_from
from songspace.models.vade import VaDE, init_vade_from
from songspace.training import History, RowDataset, embed, seed_everything, train

log = logging.getLogger(__name__)

# Called as progress(stage, epoch, max_epochs); stage is "pretrain" (the autoencoder) or "cluster" (the model).
StageProgress = Callable[[str, int, int], None]
PRETRAIN_EPOCHS = 100  # at most this many pretraining epochs (fewer if train.epochs is smaller; early stopping too)


def pretrain_autoencoder(X: np.ndarray, *, latent_dim: int, hidden_dims: list[int] | None, train_cfg: TrainConfig,
                         seed: int, epochs: int | None = None, progress: StageProgress | None = None,
                         checkpoint: Path | None = None, input_noise: float = 0.0
                         ) -> tuple[Autoencoder, History, np.ndarray]:
    """Train the plain autoencoder both models (VaDE, IDEC) start from.

    Parameters
    ----------
    X : np.ndarray [shape=(n, d), dtype=float32], standardised items.
    latent_dim, hidden_dims : the autoencoder's (and so the clustering model's) sizes.
    train_cfg : the trainer's settings; ``epochs`` replaces its ``epochs`` (default
        ``min(train_cfg.epochs, PRETRAIN_EPOCHS)``), early stopping as configured.
    seed : fixes the initial weights and the training.
    checkpoint : the trainer's checkpoint file for this training (None: none).
    input_noise : a denoising autoencoder when > 0 (see :class:`~songspace.models.autoencoder.Autoencoder`).

    Returns
    -------
    (autoencoder, history, codes) : codes np.ndarray [shape=(n, latent_dim), dtype=float32].
    """
    dataset = RowDataset(np.asarray(X, dtype=np.float32))
    epochs = min(train_cfg.epochs, PRETRAIN_EPOCHS) if epochs is None else epochs
    seed_everything(seed)  # the initial weights too
    noise = {"input_noise": input_noise} if input_noise else {}  # (so that a plain one is built as it always was)
    ae = build_model("autoencoder", input_shape=(dataset.data.shape[1],), latent_dim=latent_dim,
                     hidden_dims=hidden_dims, **noise)
    assert isinstance(ae, Autoencoder)
    hist = train(ae, dataset, train_cfg.model_copy(update={"epochs": epochs}), seed=seed,
                 progress=_stage(progress, "pretrain"), checkpoint=checkpoint)
    log.info("pretrained the autoencoder for %d epochs (best %d)", len(hist.train), hist.best_epoch + 1)
    return ae, hist, embed(ae, dataset)


def fit_vade(X: np.ndarray, *, n_clusters: int, latent_dim: int, hidden_dims: list[int] | None,
             train_cfg: TrainConfig, seed: int, pretrain_epochs: int | None = None, beta: float = 1.0,
             progress: StageProgress | None = None, checkpoint: Path | None = None,
             pretrain_noise: float = 0.0) -> tuple[VaDE, History, np.ndarray, np.ndarray]:
    """Pretrain an autoencoder, fit a diagonal GMM on its codes, and train a VaDE started from both.

    Parameters
    ----------
    X : np.ndarray [shape=(n, d), dtype=float32], standardised items.
    n_clusters : K, the mixture's components.
    latent_dim, hidden_dims : sizes of the autoencoder and the VaDE.
    train_cfg : the trainer's settings for the VaDE (device, epochs, early stopping, ...).
    seed : fixes every initialisation, the mixture fit and both trainings.
    pretrain_epochs : the autoencoder's epochs (default ``min(train_cfg.epochs, PRETRAIN_EPOCHS)``).
    beta : the VaDE's weight of the prior term.
    pretrain_noise : the autoencoder is a denoising one when > 0 (the input noise's standard deviation).
    progress : ``progress(stage, epoch, max_epochs)`` after each epoch of each training.
    checkpoint : the VaDE training's checkpoint file; the pretraining's sits beside it (``-pretrain`` added to
        its stem). None: no checkpoints.

    Returns
    -------
    (model, history, Z, probs) : the trained VaDE (evaluation mode), its training history, the posterior
        means np.ndarray [shape=(n, latent_dim), dtype=float32] and the responsibilities
        np.ndarray [shape=(n, n_clusters), dtype=float32] (rows sum to 1).
    """
    return _from_pretrained(X, lambda ae, codes: init_vade_from(ae, codes, n_clusters=n_clusters, seed=seed,
                                                                beta=beta),
                            latent_dim=latent_dim, hidden_dims=hidden_dims, train_cfg=train_cfg, seed=seed,
                            pretrain_epochs=pretrain_epochs, progress=progress, checkpoint=checkpoint,
                            pretrain_noise=pretrain_noise)


def fit_idec(X: np.ndarray, *, n_clusters: int, latent_dim: int, hidden_dims: list[int] | None,
             train_cfg: TrainConfig, seed: int, pretrain_epochs: int | None = None, gamma: float = 0.1,
             progress: StageProgress | None = None, checkpoint: Path | None = None,
             pretrain_noise: float = 0.0) -> tuple[IDEC, History, np.ndarray, np.ndarray]:
    """Pretrain an autoencoder, run K-Means on its codes, and train an IDEC started from both.

    Parameters are those of :func:`fit_vade`, with ``gamma`` (the weight of the clustering loss) for ``beta``.

    Returns
    -------
    (model, history, Z, probs) : the trained IDEC (evaluation mode), its training history, the codes
        np.ndarray [shape=(n, latent_dim), dtype=float32] and the soft assignments ``Q``
        np.ndarray [shape=(n, n_clusters), dtype=float32] (rows sum to 1).
    """
    return _from_pretrained(X, lambda ae, codes: init_idec_from(ae, codes, n_clusters=n_clusters, seed=seed,
                                                                gamma=gamma),
                            latent_dim=latent_dim, hidden_dims=hidden_dims, train_cfg=train_cfg, seed=seed,
                            pretrain_epochs=pretrain_epochs, progress=progress, checkpoint=checkpoint,
                            pretrain_noise=pretrain_noise)


@torch.no_grad()
def cluster_probs(model: VaDE | IDEC, dataset: RowDataset, *, batch_size: int = 256) -> np.ndarray:
    """``model.cluster_probs`` of every item, in order. [shape=(n, n_clusters), dtype=float32]"""
    model.eval()
    device = next(model.parameters()).device
    out = [model.cluster_probs(x.to(device)).cpu().numpy() for x in DataLoader(dataset, batch_size=batch_size)]
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, model.n_clusters), np.float32)


def _stage(progress: StageProgress | None, stage: str) -> Callable[[int, int, dict[str, float]], None] | None:
    if progress is None:
        return None
    return lambda epoch, epochs, _terms: progress(stage, epoch, epochs)


def _pretrain_checkpoint(checkpoint: Path | None) -> Path | None:
    if checkpoint is None:
        return None
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(f"{checkpoint.stem}-pretrain{checkpoint.suffix}")


def _from_pretrained(X: np.ndarray, init: Callable[[Any, np.ndarray], Any], *, latent_dim: int,
                     hidden_dims: list[int] | None, train_cfg: TrainConfig, seed: int, pretrain_epochs: int | None,
                     progress: StageProgress | None, checkpoint: Path | None,
                     pretrain_noise: float = 0.0) -> tuple[Any, History, np.ndarray, np.ndarray]:
    """Pretrain the autoencoder, start the clustering model from it (``init(autoencoder, codes)``), train it."""
    ae, _, codes = pretrain_autoencoder(X, latent_dim=latent_dim, hidden_dims=hidden_dims, train_cfg=train_cfg,
                                        seed=seed, epochs=pretrain_epochs, progress=progress,
                                        checkpoint=_pretrain_checkpoint(checkpoint), input_noise=pretrain_noise)
    model = init(ae, codes)
    dataset = RowDataset(np.asarray(X, dtype=np.float32))
    hist = train(model, dataset, train_cfg, seed=seed, progress=_stage(progress, "cluster"), checkpoint=checkpoint)
    return model, hist, embed(model, dataset), cluster_probs(model, dataset)
