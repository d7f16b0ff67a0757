"""``conv_vae``: a 2-D convolutional VAE on log-mel spectrograms."""

from __future__ import annotations

from songspace.representations._state import embed_spectrogram, save_spectrogram_state
from songspace.representations.spec import AUDIO, SHARED_BETA, RepresentationSpec


def build(ctx):
    from songspace.representations._spectrogram import build_conv

    return build_conv(ctx, SPEC, "conv VAE on log-mel", mfcc=False)


SPEC = RepresentationSpec(
    name="conv_vae", modality=AUDIO, build=build, learned=True, model="conv_vae", kl_beta=SHARED_BETA,
    reconstructs="log-mel", description="2-D convolutional VAE on log-mel spectrograms",
    save_state=save_spectrogram_state, embed_new=embed_spectrogram)
