"""MLP-VAE over a feature vector (the standardised spectral statistics)."""

from __future__ import annotations

from typing import Any

from torch import nn

from songspace.errors import ModelError
from songspace.models.base import VAE, mlp


class MLPVAE(VAE):
    """Fully connected encoder and decoder, mirrored: ``in -> hidden... -> (mu, logvar)``, ``z -> ... -> in``.

    Parameters
    ----------
    input_dim : length of a feature vector.
    latent_dim : size of the latent space.
    hidden_dims : widths of the hidden layers, encoder order.
    beta : weight of the KL term (1 = the plain VAE).
    """

    def __init__(self, *, input_dim: int, latent_dim: int = 16, hidden_dims: list[int] | None = None,
                 beta: float = 1.0) -> None:
        super().__init__(latent_dim=latent_dim, beta=beta)
        hidden = list(hidden_dims or [256, 128])
        self.input_dim = input_dim
        self.encoder = mlp([input_dim, *hidden], final_activation=True)
        self.to_mu = nn.Linear(hidden[-1], latent_dim)
        self.to_logvar = nn.Linear(hidden[-1], latent_dim)
        self.decoder = mlp([latent_dim, *reversed(hidden), input_dim])

    @classmethod
    def size_kwargs(cls, input_shape: tuple[int, ...]) -> dict[str, Any]:
        if len(input_shape) != 1:
            raise ModelError(f"mlp_vae takes feature vectors, got items of shape {tuple(input_shape)}; use conv_vae "
                             "or mfcc_conv_vae for spectrograms, or the spectral statistics for mlp_vae.")
        return {"input_dim": int(input_shape[0])}
