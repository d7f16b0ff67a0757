"""Beta-VAE (Higgins et al. 2017), optionally with the capacity schedule of Burgess et al. 2018.

Loss per batch: ``reconstruction + beta * KL``; with ``capacity_max`` set, ``reconstruction + beta * |KL - C|``,
where the capacity ``C`` (nats) rises linearly from 0 to ``capacity_max`` over ``capacity_epochs`` epochs: the
KL is first held near 0 and then let grow, a few nats at a time, so that the latent dimensions are taken into
use one after another. ``C`` is set by the trainer through :meth:`~songspace.models.base.VAE.on_epoch`; it is a
plain attribute, not a buffer, so saved weights load into any model of the same architecture.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from songspace.errors import ModelError
from songspace.models.base import ModelOutput
from songspace.models.conv_vae import ConvVAE
from songspace.models.mlp_vae import MLPVAE

log = logging.getLogger(__name__)


class BetaObjective:
    """The Beta-VAE loss, mixed in before a VAE class: it only adds the beta default and the capacity schedule.

    Parameters
    ----------
    beta : weight of the KL term; > 1 trades reconstruction for a more factorised latent (Higgins et al.
        report disentangling around 4, hence the default).
    capacity_max : None for the plain Beta-VAE; else the target KL in nats of Burgess et al.'s schedule.
    capacity_epochs : epochs over which ``C`` rises from 0 to ``capacity_max`` (100: a third of the default
        300 epochs, so most of a run trains at the final capacity and early stopping compares like with like).
    **kwargs : the VAE's own arguments (``input_dim`` / ``input_shape``, ``latent_dim``, ...).
    """

    beta: float
    capacity: float

    def __init__(self, *, beta: float = 4.0, capacity_max: float | None = None, capacity_epochs: int = 100,
                 **kwargs: Any) -> None:
        name = type(self).__name__
        if capacity_max is not None and not capacity_max >= 0:
            raise ModelError(f"{name}: capacity_max must be >= 0 nats (or None for no schedule), got {capacity_max}")
        if capacity_epochs < 1:
            raise ModelError(f"{name}: capacity_epochs must be at least 1, got {capacity_epochs}")
        super().__init__(beta=beta, **kwargs)
        self.capacity_max, self.capacity_epochs = capacity_max, int(capacity_epochs)
        self.capacity = 0.0  # C before any epoch: the schedule starts at 0

    def on_epoch(self, epoch: int, epochs: int) -> None:
        """Set the capacity for epoch ``epoch`` (0-based): ``capacity_max * min(1, epoch / capacity_epochs)``."""
        if self.capacity_max is None:
            return
        if epoch == 0 and self.capacity_epochs > epochs:
            log.info("%s: capacity rises over %d epochs but training has at most %d; C reaches %.3g of %.3g nats",
                     type(self).__name__, self.capacity_epochs, epochs,
                     self.capacity_max * (epochs - 1) / self.capacity_epochs, self.capacity_max)
        self.capacity = self.capacity_max * min(1.0, epoch / self.capacity_epochs)

    def loss(self, x: torch.Tensor, out: ModelOutput) -> dict[str, torch.Tensor]:
        """``reconstruction``, ``kl``, ``total`` and, with a schedule, ``capacity`` (the current ``C``)."""
        terms = super().loss(x, out)  # type: ignore[misc]  # reconstruction, kl, total = recon + beta * kl
        if self.capacity_max is None:
            return terms
        c = terms["kl"].new_tensor(self.capacity)
        terms["capacity"] = c
        terms["total"] = terms["reconstruction"] + self.beta * (terms["kl"] - c).abs()
        return terms


class BetaVAE(BetaObjective, MLPVAE):
    """Beta-VAE with the MLP encoder and decoder of :class:`~songspace.models.mlp_vae.MLPVAE`.

    Parameters are those of :class:`BetaObjective` and ``MLPVAE`` (``input_dim``, ``latent_dim``,
    ``hidden_dims``). Items are [shape=(batch, input_dim)]; embeddings [shape=(batch, latent_dim)].
    """


class BetaConvVAE(BetaObjective, ConvVAE):
    """Beta-VAE with the convolutional encoder and decoder of :class:`~songspace.models.conv_vae.ConvVAE`.

    Parameters are those of :class:`BetaObjective` and ``ConvVAE`` (``input_shape``, ``latent_dim``,
    ``channels``). Items are [shape=(batch, n_mels, n_frames)]; embeddings [shape=(batch, latent_dim)].
    """
