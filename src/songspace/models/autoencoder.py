"""A plain (deterministic) autoencoder: the baseline that shows what the VAE's KL term and sampling add."""

from __future__ import annotations

import torch

from songspace.models.base import ModelOutput
from songspace.models.mlp_vae import MLPVAE


class Autoencoder(MLPVAE):
    """The layers of :class:`~songspace.models.mlp_vae.MLPVAE` without ``to_logvar``: ``in -> hidden... -> code``,
    ``code -> ... -> in``, trained on the reconstruction alone.

    Parameters
    ----------
    input_dim, latent_dim, hidden_dims : as for ``MLPVAE`` (``latent_dim`` is the width of the code).

    input_noise : a denoising autoencoder (Vincent et al., 2008) when > 0: while training, each item is read with
        Gaussian noise of this standard deviation (in the standardised units it sees) and rebuilt clean, so that the
        code keeps what is shared by many tracks rather than what singles one out (a few hundred tracks are easy to
        memorise). Embeddings and reconstructions in evaluation mode read the clean item.

    Items are [shape=(batch, input_dim)]; codes (the embedding) are [shape=(batch, latent_dim)]. ``encode`` returns
    ``(code, None)`` and ``ModelOutput.logvar`` is None; the loss reports ``kl`` as 0 so that its curves plot
    beside the VAEs'.
    """

    def __init__(self, *, input_dim: int, latent_dim: int = 16, hidden_dims: list[int] | None = None,
                 input_noise: float = 0.0) -> None:
        super().__init__(input_dim=input_dim, latent_dim=latent_dim, hidden_dims=hidden_dims, beta=0.0)
        del self.to_logvar  # no posterior variance: the code is a point
        self.input_noise = float(input_noise)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        return self.to_mu(self.encoder(x)), None

    def forward(self, x: torch.Tensor) -> ModelOutput:
        seen = x + self.input_noise * torch.randn_like(x) if self.training and self.input_noise > 0 else x
        code = self.encode(seen)[0]
        return ModelOutput(recon=self.decode(code), z=code, mu=code, logvar=None)

    def loss(self, x: torch.Tensor, out: ModelOutput) -> dict[str, torch.Tensor]:
        recon = (out.recon - x).square().flatten(1).sum(1).mean()
        return {"reconstruction": recon, "kl": recon.new_zeros(()), "total": recon}
