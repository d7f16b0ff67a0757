"""``vae``: an MLP-VAE on the standardised spectral statistics; the track is its posterior mean."""

from __future__ import annotations

from songspace.representations._state import embed_stats, save_stats_state
from songspace.representations.spec import AUDIO, RepresentationSpec


def build(ctx):
    from songspace.representations.base import Representation, vae_kwargs
    from songspace.training import RowDataset

    X = ctx.inputs.standardised_stats()
    model, hist, Z = ctx.train_model(SPEC.name, RowDataset(X), **vae_kwargs(ctx.cfg, SPEC.kl_beta),
                                     hidden_dims=ctx.cfg.model.hidden_dims)
    return Representation(SPEC.name, AUDIO, Z, f"MLP-VAE posterior means ({ctx.cfg.model.latent_dim}-d)", True,
                          None, model, hist, RowDataset(X))


SPEC = RepresentationSpec(
    name="vae", modality=AUDIO, build=build, learned=True, model="mlp_vae", kl_beta="beta",
    reconstructs="spectral statistics", default=True,
    description="MLP-VAE on the standardised spectral statistics (timbre, rhythm, harmony and dynamics "
                "descriptors)",
    save_state=save_stats_state, embed_new=embed_stats)
