"""``vae``: an MLP-VAE on the standardised spectral statistics; the track is its posterior mean."""

from __future__ import annotations

from songspace.representations._inputs import InputParams, embed_input, model_input, save_input_state
from songspace.representations.spec import AUDIO, SHARED_BETA, RepresentationSpec


def build(ctx):
    from songspace.representations.base import Representation
    from songspace.training import RowDataset

    X, state, of = model_input(ctx)
    model, hist, Z = ctx.train_model(ctx.name, RowDataset(X), model=SPEC.model, **ctx.kl_settings(),
                                     hidden_dims=ctx.cfg.model.hidden_dims)
    return Representation(ctx.name, Z, f"MLP-VAE posterior means{of} ({ctx.cfg.model.latent_dim}-d)",
                          model=model, history=hist, dataset=RowDataset(X), state=state)


SPEC = RepresentationSpec(
    name="vae", modality=AUDIO, build=build, learned=True, model="mlp_vae", kl_beta=SHARED_BETA,
    reconstructs="spectral statistics", default=True, params=InputParams,
    description="MLP-VAE on the standardised spectral statistics (timbre, rhythm, harmony and dynamics "
                "descriptors)",
    save_state=save_input_state, embed_new=embed_input)
