"""``hybrid_features``: the standardised statistics beside the lyrics, each block scaled to equal total variance."""

from __future__ import annotations

from songspace.representations.spec import BOTH, RepresentationSpec


def build(ctx):
    from songspace.fusion import Block, fuse, variance_shares
    from songspace.representations.base import Representation, shares_note

    lyr = ctx.inputs.lyrics
    blocks = [Block("audio", ctx.inputs.standardised_stats()), Block("lyrics", ctx.inputs.lyrics_block(), lyr.present)]
    weights = [1.0, ctx.cfg.representations.lyrics_weight]
    X = fuse(blocks, weights)
    return Representation(SPEC.name, BOTH, X, f"statistics + lyrics, block-scaled ({X.shape[1]}-d)",
                          notes=[shares_note(variance_shares(blocks, weights))])


SPEC = RepresentationSpec(name="hybrid_features", modality=BOTH, build=build, needs_lyrics=True, default=True,
                          description="the statistics and the lyrics embedding, block-scaled")
