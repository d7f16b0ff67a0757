"""``hybrid``: the ``representations.hybrid_audio`` representation beside the lyrics, block-scaled and weighted."""

from __future__ import annotations

from songspace.representations.spec import BOTH, RepresentationSpec


def build(ctx):
    from songspace.fusion import Block, fuse, variance_shares
    from songspace.representations.base import Representation, shares_note

    audio_name = ctx.cfg.representations.hybrid_audio
    lyr = ctx.inputs.lyrics
    audio, notes = ctx.need_audio(audio_name)
    blocks = [Block("audio", audio.latent), Block("lyrics", ctx.inputs.lyrics_block(), lyr.present)]
    weights = [1.0, ctx.cfg.representations.lyrics_weight]
    X = fuse(blocks, weights)
    return Representation(SPEC.name, BOTH, X, f"{audio_name} latent + lyrics, block-scaled, lyrics weight "
                          f"{ctx.cfg.representations.lyrics_weight:g} ({X.shape[1]}-d)", False,
                          notes=[*notes, shares_note(variance_shares(blocks, weights))])


SPEC = RepresentationSpec(name="hybrid", modality=BOTH, build=build, needs_lyrics=True,
                          description="a learned audio latent and the lyrics embedding, block-scaled and weighted")
