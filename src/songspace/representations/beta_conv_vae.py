"""``beta_conv_vae``: a Beta-VAE on log-mel spectrograms (its own ``beta`` and capacity schedule, as ``beta_vae``'s)."""

from __future__ import annotations

from songspace.representations import beta_vae
from songspace.representations._state import embed_spectrogram, save_spectrogram_state
from songspace.representations.spec import AUDIO, RepresentationSpec


def build(ctx):
    from songspace.representations._spectrogram import build_conv

    beta = ctx.params(SPEC.name).beta
    return build_conv(ctx, SPEC, f"conv Beta-VAE (beta {beta:g}) on log-mel", mfcc=False)


SPEC = RepresentationSpec(
    name="beta_conv_vae", modality=AUDIO, build=build, learned=True, model="beta_conv_vae", kl_beta="beta",
    reconstructs="log-mel", traversal=True, params=beta_vae.BetaParams, description="β-VAE on log-mel spectrograms",
    save_state=save_spectrogram_state, embed_new=embed_spectrogram, objective_note=beta_vae.SPEC.objective_note,
    cite=beta_vae.SPEC.cite)
