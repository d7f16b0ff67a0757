"""``log_mel_flat``: baseline, the log-mel spectrogram pooled in time and flattened."""

from __future__ import annotations

from songspace.representations.spec import AUDIO, RepresentationSpec

FRAMES = 16  # 128 mels x 16 frames = 2048 values per track (0.6 s per frame of a 10 s clip)


def build(ctx):
    from songspace.representations.base import Representation, flat_log_mel, standardise

    X = standardise(flat_log_mel(ctx.inputs.log_mel, frames=FRAMES))
    return Representation(SPEC.name, AUDIO, X, f"log-mel pooled to {FRAMES} frames, flattened, standardised "
                          f"({X.shape[1]}-d)")


SPEC = RepresentationSpec(name="log_mel_flat", modality=AUDIO, build=build, baseline=True,
                          description=f"baseline: the log-mel spectrogram pooled to {FRAMES} frames and flattened")
