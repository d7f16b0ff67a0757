"""``autoencoder``: a plain deterministic autoencoder on the statistics (reconstruction only, no KL term)."""

from __future__ import annotations

from pydantic import Field

from songspace.representations._inputs import InputParams, embed_input, model_input, save_input_state
from songspace.representations.spec import AUDIO, RepresentationSpec


class Params(InputParams):
    input_noise: float = Field(0.0, ge=0, le=10)  # > 0: a denoising autoencoder (input noise, standardised units)


def build(ctx):
    from songspace.representations.base import Representation
    from songspace.training import RowDataset

    X, state, of = model_input(ctx)
    noise = ctx.params(ctx.name).input_noise
    model, hist, Z = ctx.train_model(ctx.name, RowDataset(X), model=SPEC.model, hidden_dims=ctx.cfg.model.hidden_dims,
                                     **({"input_noise": noise} if noise else {}))
    return Representation(ctx.name, Z, f"plain autoencoder codes{of} ({ctx.cfg.model.latent_dim}-d)",
                          model=model, history=hist, dataset=RowDataset(X), state=state)


SPEC = RepresentationSpec(
    name="autoencoder", modality=AUDIO, build=build, learned=True, model="autoencoder",
    reconstructs="spectral statistics", params=Params,
    objective_note="the plain autoencoder keeps only the reconstruction term (deterministic <i>z</i>)",
    description="plain deterministic autoencoder on the statistics (reconstruction only, no KL term)",
    save_state=save_input_state, embed_new=embed_input)
