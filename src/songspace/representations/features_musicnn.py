"""``features_musicnn``: pretrained + statistics, the standardised statistics beside musicnn's vectors (as
``[representations.params.musicnn]`` sets them), each block scaled to total variance 1: what the collection sounds
like in general terms (timbre, rhythm, harmony) and what a tagger trained on a million songs hears in it."""

from __future__ import annotations

from songspace.representations._inputs import embed_input, save_input_state
from songspace.representations.musicnn import MUSICNN_CITE
from songspace.representations.spec import AUDIO, RepresentationSpec

INPUT = "features+musicnn"


def build(ctx):
    from songspace.representations._inputs import input_matrix
    from songspace.representations.base import Representation

    X, state = input_matrix(ctx.inputs, INPUT)
    return Representation(SPEC.name, X, f"statistics + musicnn, block-scaled ({X.shape[1]}-d)", state=state)


SPEC = RepresentationSpec(
    name="features_musicnn", modality=AUDIO, build=build, baseline=True, pretrained=True, cite=MUSICNN_CITE,
    default=True,
    reads=("musicnn",),
    description="pretrained + statistics: the standardised statistics beside musicnn's vectors, block-scaled",
    save_state=save_input_state, embed_new=embed_input)
