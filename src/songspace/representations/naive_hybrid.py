"""``naive_hybrid``: the statistics and the lyrics embedding concatenated as they are, as a first attempt would;
it shows that the larger block then dominates the distances."""

from __future__ import annotations

from songspace.representations.spec import BOTH, RepresentationSpec


def build(ctx):
    from songspace.fusion import Block, fuse, variance_shares
    from songspace.representations.base import Representation, shares_note

    lyr = ctx.inputs.lyrics
    blocks = [Block("audio", ctx.inputs.standardised_stats()), Block("lyrics", lyr.embedding, lyr.present)]
    X = fuse(blocks, None, scale=False)
    return Representation(SPEC.name, X, f"statistics + lyrics, concatenated unscaled ({X.shape[1]}-d)",
                          notes=[shares_note(variance_shares(blocks, None, scale=False))])


SPEC = RepresentationSpec(
    name="naive_hybrid", modality=BOTH, build=build, needs_lyrics=True,
    description="the statistics and the lyrics embedding concatenated unscaled (shows why scaling matters)")
