"""``beta_vae``: a Beta-VAE on the statistics (beta = ``model.beta_vae``, optionally the capacity schedule)."""

from __future__ import annotations

from songspace.representations._inputs import InputParams, embed_input, model_input, save_input_state
from songspace.representations.spec import AUDIO, RepresentationSpec


def build(ctx):
    from songspace.representations.base import Representation, vae_kwargs
    from songspace.training import RowDataset

    X, state, of = model_input(ctx)
    model, hist, Z = ctx.train_model(ctx.name, RowDataset(X), model=SPEC.model, **vae_kwargs(ctx.cfg, SPEC.kl_beta),
                                     hidden_dims=ctx.cfg.model.hidden_dims)
    return Representation(ctx.name, AUDIO, Z, f"Beta-VAE (beta {ctx.cfg.model.beta_vae:g}) posterior means{of} "
                          f"({ctx.cfg.model.latent_dim}-d)", True, None, model, hist, RowDataset(X), state=state)


SPEC = RepresentationSpec(
    name="beta_vae", modality=AUDIO, build=build, learned=True, model="beta_vae", kl_beta="beta_vae",
    reconstructs="spectral statistics", traversal=True, params=InputParams, description="β-VAE on the statistics",
    save_state=save_input_state, embed_new=embed_input)
