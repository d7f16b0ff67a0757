"""``mfcc_stats``: baseline, the MFCC means and standard deviations alone (the classic MIR summary)."""

from __future__ import annotations

from songspace.representations.spec import AUDIO, RepresentationSpec


def build(ctx):
    import numpy as np

    from songspace.representations.base import Representation, mfcc_columns, standardise

    cols = mfcc_columns(ctx.inputs.stat_names, ctx.inputs.stats.shape[1])
    X = standardise(np.asarray(ctx.inputs.stats)[:, cols])
    return Representation(SPEC.name, X, f"standardised MFCC means and standard deviations ({X.shape[1]}-d)")


def save_state(rep, inputs):
    from songspace.representations._state import stats_state
    from songspace.representations.base import mfcc_columns

    return stats_state(inputs, mfcc_columns(inputs.stat_names, inputs.stats.shape[1]))


def embed_new(state, model, inputs):
    from songspace.representations._state import new_stats

    return new_stats(state, inputs)


SPEC = RepresentationSpec(name="mfcc_stats", modality=AUDIO, build=build, baseline=True,
                          description="baseline: MFCC means and spreads only", save_state=save_state,
                          embed_new=embed_new)
