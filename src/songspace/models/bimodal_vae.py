"""A VAE that reads and rebuilds audio features and lyrics features together, lyrics optional per track.

Each item is one vector ``[audio (input_dim - lyrics_dim - 1) | lyrics (lyrics_dim) | present (1)]``:
``present`` is 1 when the track has lyrics, 0 when not (then the lyrics slots hold zeros). The encoder sees
all of it, so the flag tells it when the zeros mean "no lyrics"; the lyrics reconstruction term is counted
only for tracks that have lyrics, so instrumentals never teach the model that lyrics are zeros.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from songspace.errors import ModelError
from songspace.models.base import VAE, ModelOutput, kl_to_standard_normal, mlp


class BimodalVAE(VAE):
    """MLP encoder over audio + lyrics + presence flag, one MLP decoder per modality.

    Parameters
    ----------
    input_dim : total width of an item (audio + lyrics + 1).
    lyrics_dim : width of the lyrics part.
    latent_dim, hidden_dims, beta : as for :class:`~songspace.models.mlp_vae.MLPVAE`.
    lyrics_weight : weight of the lyrics reconstruction term against the audio one, per dimension: with 1,
        each block's error is its mean squared error times the audio width, so a 32-d lyrics block counts as
        much as the 79-d audio block.
    """

    def __init__(self, *, input_dim: int, lyrics_dim: int, latent_dim: int = 16, hidden_dims: list[int] | None = None,
                 beta: float = 1.0, lyrics_weight: float = 1.0) -> None:
        super().__init__(latent_dim=latent_dim, beta=beta)
        if not 0 < lyrics_dim < input_dim - 1:
            raise ModelError(f"bimodal_vae: lyrics_dim must be between 1 and input_dim - 2 ({input_dim - 2}), "
                             f"got {lyrics_dim}")
        hidden = list(hidden_dims or [256, 128])
        self.input_dim, self.lyrics_dim = input_dim, lyrics_dim
        self.audio_dim = input_dim - lyrics_dim - 1
        self.lyrics_weight = lyrics_weight
        self.encoder = mlp([input_dim, *hidden], final_activation=True)
        self.to_mu = nn.Linear(hidden[-1], latent_dim)
        self.to_logvar = nn.Linear(hidden[-1], latent_dim)
        self.audio_decoder = mlp([latent_dim, *reversed(hidden), self.audio_dim])
        self.lyrics_decoder = mlp([latent_dim, *reversed(hidden), lyrics_dim])

    @classmethod
    def size_kwargs(cls, input_shape: tuple[int, ...]) -> dict[str, Any]:
        if len(input_shape) != 1:
            raise ModelError(f"bimodal_vae takes feature vectors, got items of shape {tuple(input_shape)}")
        return {"input_dim": int(input_shape[0])}

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(audio, lyrics, present)`` parts of a batch; ``present`` has shape (batch,)."""
        a = self.audio_dim
        return x[:, :a], x[:, a:a + self.lyrics_dim], x[:, -1]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Audio and lyrics reconstructions side by side, shape (batch, input_dim - 1)."""
        return torch.cat([self.audio_decoder(z), self.lyrics_decoder(z)], dim=1)

    def forward(self, x: torch.Tensor) -> ModelOutput:
        mu, logvar = self.encode(x)
        z = self.reparameterise(mu, logvar)
        return ModelOutput(recon=self.decode(z), z=z, mu=mu, logvar=logvar)

    def loss(self, x: torch.Tensor, out: ModelOutput) -> dict[str, torch.Tensor]:
        audio, lyrics, present = self.split(x)
        r_audio, r_lyrics = out.recon[:, :self.audio_dim], out.recon[:, self.audio_dim:]
        audio_err = (r_audio - audio).square().sum(1)
        lyrics_err = (r_lyrics - lyrics).square().mean(1) * self.audio_dim * self.lyrics_weight
        recon_audio = audio_err.mean()
        recon_lyrics = (lyrics_err * present).sum() / present.sum().clamp(min=1.0)
        kl = kl_to_standard_normal(out.mu, out.logvar).mean()
        recon = recon_audio + (lyrics_err * present).mean()
        return {"reconstruction": recon, "reconstruction_audio": recon_audio, "reconstruction_lyrics": recon_lyrics,
                "kl": kl, "total": recon + self.beta * kl}
