"""``autoencoder``: a plain deterministic autoencoder on the statistics (reconstruction only, no KL term)."""

from __future__ import annotations

from songspace.representations._state import embed_stats, save_stats_state
from songspace.representations.spec import AUDIO, RepresentationSpec


def build(ctx):
    from songspace.representations.base import Representation
    from songspace.training import RowDataset

    X = ctx.inputs.standardised_stats()
    model, hist, Z = ctx.train_model(SPEC.name, RowDataset(X), hidden_dims=ctx.cfg.model.hidden_dims)
    return Representation(SPEC.name, AUDIO, Z, f"plain autoencoder codes ({ctx.cfg.model.latent_dim}-d)", True,
                          None, model, hist, RowDataset(X))


SPEC = RepresentationSpec(
    name="autoencoder", modality=AUDIO, build=build, learned=True, model="autoencoder",
    reconstructs="spectral statistics",
    objective_note="the plain autoencoder keeps only the reconstruction term (deterministic <i>z</i>)",
    description="plain deterministic autoencoder on the statistics (reconstruction only, no KL term)",
    save_state=save_stats_state, embed_new=embed_stats)
