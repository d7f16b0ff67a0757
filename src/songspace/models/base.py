"""The contract every representation model follows, and the VAE objective shared by the variants.

A model exposes ``encode(x) -> (mu, logvar)``, ``decode(z)``, ``forward(x) -> ModelOutput``,
``loss(x, out) -> dict`` of named terms (``reconstruction``, ``kl``, ``total``) and ``embed(x)`` (the
posterior mean). Variants override the smallest piece they change; training lives in ``songspace.training``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


@dataclass
class ModelOutput:
    """What one forward pass returns. ``logvar`` is None for deterministic models (plain autoencoder)."""

    recon: torch.Tensor
    z: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor | None = None


class VAE(nn.Module):
    """A Gaussian VAE: ``q(z|x) = N(mu, diag(exp(logvar)))``, prior ``N(0, I)``, Gaussian decoder.

    Loss per sample: ``sum_d (x_d - recon_d)^2 + beta * KL(q(z|x) || N(0, I))``, averaged over the batch.
    Subclasses build ``self.encoder`` (x -> features), ``self.to_mu``, ``self.to_logvar`` and ``self.decoder``.
    """

    def __init__(self, *, latent_dim: int, beta: float = 1.0) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.beta = beta

    @classmethod
    def size_kwargs(cls, input_shape: tuple[int, ...]) -> dict[str, Any]:
        """Constructor arguments for items of ``input_shape`` (one item, no batch axis); see ``build_model``."""
        return {"input_shape": tuple(int(s) for s in input_shape)}

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def reparameterise(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return mu
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    def forward(self, x: torch.Tensor) -> ModelOutput:
        mu, logvar = self.encode(x)
        z = self.reparameterise(mu, logvar)
        return ModelOutput(recon=self.decode(z), z=z, mu=mu, logvar=logvar)

    def loss(self, x: torch.Tensor, out: ModelOutput) -> dict[str, torch.Tensor]:
        recon = (out.recon - x).square().flatten(1).sum(1).mean()
        kl = kl_to_standard_normal(out.mu, out.logvar).mean()
        return {"reconstruction": recon, "kl": kl, "total": recon + self.beta * kl}

    @torch.no_grad()
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Posterior means: the embedding songspace clusters."""
        return self.encode(x)[0]

    def on_epoch(self, epoch: int, epochs: int) -> None:
        """Called by the trainer at the start of epoch ``epoch`` (0-based) of at most ``epochs``, before the
        training pass. A no-op here; schedules (the Beta-VAE's capacity) set their state from it."""


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample, summed over latent dimensions. [shape=(batch,)]"""
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).sum(1)


def mlp(sizes: list[int], *, final_activation: bool = False) -> nn.Sequential:
    """Linear layers with LayerNorm and GELU between them."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or final_activation:
            layers += [nn.LayerNorm(b), nn.GELU()]
    return nn.Sequential(*layers)
