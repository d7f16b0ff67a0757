"""``autoencoder``: a plain deterministic autoencoder on the statistics (reconstruction only, no KL term)."""

from __future__ import annotations

from songspace.representations._inputs import InputParams, embed_input, model_input, save_input_state
from songspace.representations.spec import AUDIO, RepresentationSpec


def build(ctx):
    from songspace.representations.base import Representation
    from songspace.training import RowDataset

    X, state, of = model_input(ctx)
    model, hist, Z = ctx.train_model(ctx.name, RowDataset(X), model=SPEC.model, hidden_dims=ctx.cfg.model.hidden_dims)
    return Representation(ctx.name, AUDIO, Z, f"plain autoencoder codes{of} ({ctx.cfg.model.latent_dim}-d)", True,
                          None, model, hist, RowDataset(X), state=state)


SPEC = RepresentationSpec(
    name="autoencoder", modality=AUDIO, build=build, learned=True, model="autoencoder",
    reconstructs="spectral statistics", params=InputParams,
    objective_note="the plain autoencoder keeps only the reconstruction term (deterministic <i>z</i>)",
    description="plain deterministic autoencoder on the statistics (reconstruction only, no KL term)",
    save_state=save_input_state, embed_new=embed_input)
