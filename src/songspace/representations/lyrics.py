"""``lyrics``: TF-IDF/SVD embedding of the lyrics beside a language profile, block-scaled; tracks without lyrics
are not placed."""

from __future__ import annotations

from songspace.representations.spec import LYRICS, RepresentationSpec


def build(ctx):
    from songspace.representations.base import Representation

    X = ctx.inputs.lyrics_block()
    return Representation(SPEC.name, X, f"lyrics TF-IDF/SVD + language profile ({X.shape[1]}-d)",
                          present=ctx.inputs.lyrics.present.copy())


SPEC = RepresentationSpec(
    name="lyrics", modality=LYRICS, build=build, needs_lyrics=True, default=True,
    description="TF-IDF/SVD embedding of the lyrics (words, grapheme n-grams, phonetic keys) beside a language "
                "profile")
