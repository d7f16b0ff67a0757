"""``musicnn``: pretrained, a layer of musicnn (Pons & Serra, 2019), a convolutional tagger trained on the Million
Song Dataset (``MSD_musicnn``, 50 tags: genres, moods, instruments, vocals) or MagnaTagATune (``MTT_musicnn``),
pooled over a track's 3-s patches and standardised. Nothing is trained on the collection; the weights come from the
``musicnn`` wheel (``songspace weights fetch``), read by a PyTorch port (:mod:`songspace.features.musicnn`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from songspace.representations._inputs import embed_input, encoder_space, save_input_state
from songspace.representations.spec import AUDIO, RepresentationSpec

MUSICNN_CITE = ("pons2019", "Pons & Serra, 2019", "J. Pons and X. Serra. musicnn: Pre-trained convolutional neural "
                "networks for music audio tagging. In <i>Late-Breaking/Demo Session of the International Society for "
                "Music Information Retrieval Conference (ISMIR)</i>, 2019.")


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Literal["MSD_musicnn", "MTT_musicnn"] = "MSD_musicnn"  # MSD: 50 tags with genres; MTT: MagnaTagATune
    layer: Literal["penultimate", "taggram", "pooled"] = "penultimate"  # the 200-d dense layer before the tags
    pooling: Literal["mean", "mean+std"] = "mean"  # over a track's 3-s patches


def encoder(params: Params):
    """musicnn as the run's encoder; WeightsError (the run skips musicnn with its message) without the weights."""
    from songspace.features.musicnn import MusicnnEncoder

    return MusicnnEncoder(model=params.model, layer=params.layer, pooling=params.pooling)


def build(ctx):
    params: Params = ctx.params(SPEC.name)
    return encoder_space(ctx, f"musicnn {params.model} {params.layer} layer, {params.pooling} over 3-s patches")


SPEC = RepresentationSpec(
    name="musicnn", modality=AUDIO, build=build, baseline=True, pretrained=True, encoder=encoder, params=Params,
    cite=MUSICNN_CITE,
    objective_note="musicnn is not trained on this collection: its layers come from a tagger trained on the Million "
                   "Song Dataset {cite}",
    description="pretrained: a layer of musicnn (trained on the Million Song Dataset's tags), pooled over 3-s patches",
    save_state=save_input_state, embed_new=embed_input)
