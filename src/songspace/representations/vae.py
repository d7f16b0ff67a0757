"""``vae``: an MLP-VAE on the standardised spectral statistics; the track is its posterior mean."""

from __future__ import annotations

from songspace.representations._inputs import InputParams, embed_input, model_input, save_input_state
from songspace.representations.spec import AUDIO, RepresentationSpec


def build(ctx):
    from songspace.representations.base import Representation, vae_kwargs
    from songspace.training import RowDataset

    X, state, of = model_input(ctx)
    model, hist, Z = ctx.train_model(ctx.name, RowDataset(X), model=SPEC.model, **vae_kwargs(ctx.cfg, SPEC.kl_beta),
                                     hidden_dims=ctx.cfg.model.hidden_dims)
    return Representation(ctx.name, AUDIO, Z, f"MLP-VAE posterior means{of} ({ctx.cfg.model.latent_dim}-d)", True,
                          None, model, hist, RowDataset(X), state=state)


SPEC = RepresentationSpec(
    name="vae", modality=AUDIO, build=build, learned=True, model="mlp_vae", kl_beta="beta",
    reconstructs="spectral statistics", default=True, params=InputParams,
    description="MLP-VAE on the standardised spectral statistics (timbre, rhythm, harmony and dynamics "
                "descriptors)",
    save_state=save_input_state, embed_new=embed_input)
