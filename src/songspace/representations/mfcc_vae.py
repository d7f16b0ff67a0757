"""``mfcc_vae``: a 1-D convolutional VAE on MFCC sequences."""

from __future__ import annotations

from songspace.representations._state import embed_spectrogram, save_spectrogram_state
from songspace.representations.spec import AUDIO, SHARED_BETA, RepresentationSpec


def build(ctx):
    from songspace.representations._spectrogram import build_conv

    return build_conv(ctx, SPEC, "conv VAE on MFCC sequences", mfcc=True)


SPEC = RepresentationSpec(
    name="mfcc_vae", modality=AUDIO, build=build, learned=True, model="mfcc_conv_vae", kl_beta=SHARED_BETA,
    reconstructs="log-mel from MFCCs", description="1-D convolutional VAE on MFCC sequences",
    save_state=save_spectrogram_state, embed_new=embed_spectrogram)
