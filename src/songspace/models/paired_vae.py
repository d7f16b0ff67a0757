"""Conv VAEs that read one crop of a track and rebuild another crop of the same track.

Two crops of one track, taken at other times and augmented independently, share what the music of the track is
(its texture, its rhythm, its instruments) and differ in what happens at that moment and in what the augmentation
changed. Rebuilding the second crop from the latent of the first leaves the latent only what they share, which is
what a track should be clustered by. Items are pairs [shape=(batch, 2, n_bins, n_frames)]
(:class:`songspace.crops.CropDataset` with ``pairs=True``); single crops [shape=(batch, n_bins, n_frames)] are
read and rebuilt as themselves (embedding, reconstruction figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from songspace.models.base import ModelOutput, kl_to_standard_normal
from songspace.models.conv_vae import ConvVAE, ConvVAE1d


class _Paired:
    """What the paired variants change: the item is a pair, the encoder reads its first crop, and the loss
    compares the reconstruction with its second crop."""

    crop_shape: tuple[int, ...]

    @classmethod
    def size_kwargs(cls, input_shape: tuple[int, ...]) -> dict[str, Any]:
        """A pair [shape=(2, ...)] builds a model of one crop."""
        return {"input_shape": tuple(int(s) for s in input_shape[1:])}

    def _first(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0] if x.ndim == len(self.crop_shape) + 2 else x

    def forward(self, x: torch.Tensor) -> ModelOutput:
        return super().forward(self._first(x))  # type: ignore[misc]

    def loss(self, x: torch.Tensor, out: ModelOutput) -> dict[str, torch.Tensor]:
        target = x[:, 1] if x.ndim == len(self.crop_shape) + 2 else x
        recon = (out.recon - target).square().flatten(1).sum(1).mean()
        kl = kl_to_standard_normal(out.mu, out.logvar).mean()
        return {"reconstruction": recon, "kl": kl, "total": recon + self.beta * kl}  # type: ignore[attr-defined]

    @torch.no_grad()
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(self._first(x))[0]  # type: ignore[attr-defined]


class PairedConvVAE(_Paired, ConvVAE):
    """:class:`ConvVAE` over crops [shape=(n_bins, n_frames)], trained on pairs: reads the first, rebuilds the second.

    Parameters as :class:`ConvVAE`; ``input_shape`` is one crop's (``build_model`` takes it from a pair).
    """

    def __init__(self, *, input_shape: Sequence[int], latent_dim: int = 16,
                 channels: Sequence[int] = (16, 32, 64), beta: float = 1.0) -> None:
        super().__init__(input_shape=input_shape, latent_dim=latent_dim, channels=channels, beta=beta)
        self.crop_shape = self.input_shape


class PairedConvVAE1d(_Paired, ConvVAE1d):
    """:class:`ConvVAE1d` (MFCC sequences) trained on pairs of crops, as :class:`PairedConvVAE`."""

    def __init__(self, *, input_shape: Sequence[int], latent_dim: int = 16,
                 channels: Sequence[int] = (32, 64, 128), beta: float = 1.0) -> None:
        super().__init__(input_shape=input_shape, latent_dim=latent_dim, channels=channels, beta=beta)
        self.crop_shape = self.input_shape
