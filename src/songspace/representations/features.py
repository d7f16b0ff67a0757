"""``features``: baseline, the standardised spectral statistics themselves."""

from __future__ import annotations

from songspace.representations._state import embed_stats, save_stats_state
from songspace.representations.spec import AUDIO, RepresentationSpec


def build(ctx):
    from songspace.representations.base import Representation

    X = ctx.inputs.standardised_stats()
    return Representation(SPEC.name, X, f"standardised spectral statistics ({X.shape[1]}-d)")


SPEC = RepresentationSpec(name="features", modality=AUDIO, build=build, baseline=True, default=True,
                          description="baseline: the standardised statistics themselves",
                          save_state=save_stats_state, embed_new=embed_stats)
