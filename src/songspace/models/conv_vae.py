"""Convolutional VAEs: 2-D over a log-mel spectrogram (frequency x time), 1-D over an MFCC sequence (time)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from songspace.errors import ModelError
from songspace.models.base import VAE, ModelOutput


def _norm(channels: int) -> nn.GroupNorm:
    # GroupNorm, not BatchNorm: a track's embedding must not depend on the other tracks of its batch, train and
    # eval modes behave alike, and a last batch of one item is fine. Up to 8 groups of at least 4 channels: one
    # channel per group would be instance normalisation, which erases each item's level (its loudness, its timbre).
    groups = max([g for g in range(1, min(8, channels // 4) + 1) if channels % g == 0], default=1)
    return nn.GroupNorm(groups, channels)


class ConvVAE(VAE):
    """Convolutional VAE over a spectrogram, reconstructing it at its own size.

    Encoder: one block per entry of ``channels``, each ``Conv(kernel, stride 2, padding kernel // 2) -> GroupNorm
    -> GELU``, which halves frequency and time (rounding up); the last feature map is flattened to ``mu`` and
    ``logvar``. Decoder: ``Linear -> GELU`` to that feature map, then the blocks mirrored with transposed
    convolutions whose output padding is chosen per layer, so that every size is the encoder's exactly and the
    reconstruction has the input's shape for any ``n_mels`` and ``n_frames`` (no cropping). The last layer is
    linear: reconstructions are in the (standardised) units of the input.

    Parameters
    ----------
    input_shape : shape of one item without the batch axis: ``(n_mels, n_frames)`` (one input channel), or
        ``(n_channels, n_mels, n_frames)``.
    latent_dim : size of the latent space.
    channels : output channels of the encoder blocks, in encoder order; the decoder mirrors them. The default
        trains 300 clips of 128 x 128 in about 1 s per epoch on 2 CPU cores; twice the width costs twice the time
        and clustered the demo no better.
    beta : weight of the KL term (1 = the plain VAE).

    Inputs ``x`` are [shape=(batch, n_mels, n_frames)] or [shape=(batch, 1, n_mels, n_frames)]; ``forward`` gives
    reconstructions of the same shape as ``x``, ``decode(z)`` gives [shape=(batch, *input_shape)].
    """

    spatial_dims = 2  # frequency and time
    kernel_size = 3
    conv: type[nn.Module] = nn.Conv2d
    deconv: type[nn.Module] = nn.ConvTranspose2d

    def __init__(self, *, input_shape: Sequence[int], latent_dim: int = 16,
                 channels: Sequence[int] = (8, 16, 32, 64), beta: float = 1.0) -> None:
        super().__init__(latent_dim=latent_dim, beta=beta)
        self.input_shape = tuple(int(s) for s in input_shape)
        name = type(self).__name__
        if len(self.input_shape) not in (self.spatial_dims, self.spatial_dims + 1) or min(self.input_shape) < 1:
            raise ModelError(f"{name} takes items of {self.spatial_dims} or {self.spatial_dims + 1} positive sizes "
                             f"(channels optional), got input_shape={self.input_shape}.")
        if not channels:
            raise ModelError(f"{name} needs at least one convolution block; pass channels like [16, 32, 64].")
        self.in_channels = self.input_shape[0] if len(self.input_shape) > self.spatial_dims else 1
        self.spatial = self.input_shape[-self.spatial_dims:]

        sizes = [self.spatial]  # feature-map size after each block: ceil(size / 2)
        for _ in channels:
            sizes.append(tuple((s + 1) // 2 for s in sizes[-1]))
        widths = [self.in_channels, *(int(c) for c in channels)]
        k, p = self.kernel_size, self.kernel_size // 2

        blocks: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            blocks += [self.conv(a, b, k, stride=2, padding=p), _norm(b), nn.GELU()]
        self.encoder = nn.Sequential(*blocks, nn.Flatten())
        flat = widths[-1] * math.prod(sizes[-1])
        self.to_mu = nn.Linear(flat, latent_dim)
        self.to_logvar = nn.Linear(flat, latent_dim)

        blocks = [nn.Linear(latent_dim, flat), nn.GELU(), nn.Unflatten(1, (widths[-1], *sizes[-1]))]
        for i in range(len(widths) - 1, 0, -1):
            # a transposed conv gives 2 * small - 1 + output_padding; pick the padding that lands on the encoder size
            pad = tuple(big - (2 * small - 1) for big, small in zip(sizes[i - 1], sizes[i], strict=True))
            blocks.append(self.deconv(widths[i], widths[i - 1], k, stride=2, padding=p, output_padding=pad))
            if i > 1:
                blocks += [_norm(widths[i - 1]), nn.GELU()]
        self.decoder = nn.Sequential(*blocks)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if tuple(x.shape[-self.spatial_dims:]) != self.spatial or math.prod(x.shape[1:]) != math.prod(self.input_shape):
            raise ModelError(f"{type(self).__name__} was built for items of shape {self.input_shape}, got a batch "
                             f"of shape {tuple(x.shape)}; build it with input_shape=dataset[0].shape.")
        return super().encode(x.reshape(len(x), self.in_channels, *self.spatial))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Reconstructions [shape=(batch, *input_shape)]."""
        return self.decoder(z).reshape(len(z), *self.input_shape)

    def forward(self, x: torch.Tensor) -> ModelOutput:
        out = super().forward(x)
        out.recon = out.recon.reshape(x.shape)  # (batch, 1, ...) in, (batch, 1, ...) out
        return out


class ConvVAE1d(ConvVAE):
    """Convolutional VAE over a sequence of feature vectors, convolving over time only.

    Made for MFCC sequences: the coefficients are the input channels, so each kernel sees the whole timbre
    of a few frames. Same blocks as :class:`ConvVAE` with 1-D convolutions and a wider kernel (5 frames,
    about 0.12 s at the default hop of 512 samples and 22,050 Hz).

    Parameters
    ----------
    input_shape : ``(n_mfcc, n_frames)``; a single sequence ``(n_frames,)`` is one channel.
    latent_dim, beta : as in :class:`ConvVAE`.
    channels : output channels of the encoder blocks; wider than the 2-D defaults since the input already
        has ``n_mfcc`` channels and 1-D convolutions are cheap (300 sequences of 20 x 128: about 0.5 s per epoch).

    Inputs ``x`` are [shape=(batch, n_mfcc, n_frames)]; reconstructions have the same shape.
    """

    spatial_dims = 1  # time
    kernel_size = 5
    conv = nn.Conv1d
    deconv = nn.ConvTranspose1d

    def __init__(self, *, input_shape: Sequence[int], latent_dim: int = 16, channels: Sequence[int] = (32, 64, 128),
                 beta: float = 1.0) -> None:
        super().__init__(input_shape=input_shape, latent_dim=latent_dim, channels=channels, beta=beta)
