"""Pretrained audio encoders: what every one of them offers the feature stage.

An encoder turns a mono clip at its own sample rate into one vector per track (its layers pooled over the
clip's patches or frames). The feature stage decodes each file at ``encoder.sample_rate``, asks the encoder for
the vectors and caches them by file content and by :meth:`AudioEncoder.cache_key` (see
:mod:`songspace.features.embeddings`). Two encoders exist:

- ``musicnn`` (:mod:`songspace.features.musicnn`): a PyTorch port of musicnn (Pons & Serra, 2019) reading the
  weights that the ``musicnn`` wheel ships;
- ``pretrained`` (:mod:`songspace.features.hf_encoder`): any audio model that ``transformers`` loads from a local
  folder or its own cache.

This module imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

POOLINGS = ("mean", "mean+std")


@runtime_checkable
class AudioEncoder(Protocol):
    """The surface the feature stage uses. Implementations are plain classes (torch modules inside)."""

    sample_rate: int  # Hz: clips are decoded and resampled to this rate before :meth:`embed`

    def cache_key(self) -> dict[str, Any]:
        """Everything that changes the vectors (model id, a digest of the weights, layer, pooling, code version):
        JSON-serialisable; two encoders with equal keys give equal vectors."""
        ...

    @property
    def dim(self) -> int:
        """Length of one track's vector."""
        ...

    def embed(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        """One vector per clip. ``clips`` are mono float32 waveforms at :attr:`sample_rate` (any length at least
        one patch / a second long). Returns np.ndarray [shape=(len(clips), dim), dtype=float32], finite.
        Each clip's vector depends on that clip alone (no batch statistics)."""
        ...


def pool(frames: np.ndarray, pooling: str) -> np.ndarray:
    """Pool a track's patch or frame vectors [shape=(n_frames, d)] over time: ``mean`` gives [shape=(d,)],
    ``mean+std`` [shape=(2 * d,)] (means, then standard deviations). float32."""
    frames = np.asarray(frames, dtype=np.float32)
    if pooling == "mean":
        return frames.mean(0)
    if pooling == "mean+std":
        return np.concatenate([frames.mean(0), frames.std(0)]).astype(np.float32)
    raise ValueError(f"unknown pooling {pooling!r}; choose from: {', '.join(POOLINGS)}")
