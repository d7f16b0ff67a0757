"""``beta_conv_vae``: a Beta-VAE on log-mel spectrograms."""

from __future__ import annotations

from songspace.representations._state import embed_spectrogram, save_spectrogram_state
from songspace.representations.spec import AUDIO, RepresentationSpec


def build(ctx):
    from songspace.representations._spectrogram import build_conv

    return build_conv(ctx, SPEC, f"conv Beta-VAE (beta {ctx.cfg.model.beta_vae:g}) on log-mel", mfcc=False)


SPEC = RepresentationSpec(
    name="beta_conv_vae", modality=AUDIO, build=build, learned=True, model="beta_conv_vae", kl_beta="beta_vae",
    reconstructs="log-mel", traversal=True, description="β-VAE on log-mel spectrograms",
    save_state=save_spectrogram_state, embed_new=embed_spectrogram)
