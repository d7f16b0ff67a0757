"""``pretrained``: bring your own encoder. A layer of any audio model that Hugging Face ``transformers`` loads from a
local folder or its own cache (wav2vec2 / HuBERT-style, MERT, AST, CLAP's audio tower), pooled over the clip's
frames and standardised. Nothing is trained on the collection. Needs ``pip install 'songspace[pretrained]'`` and
``[representations.params.pretrained] model = "PATH or id"``; see :mod:`songspace.features.hf_encoder`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from songspace.representations._inputs import embed_input, encoder_space, save_input_state
from songspace.representations.spec import AUDIO, RepresentationSpec


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = None  # a local folder, or an id in transformers' cache (or the hub, where reachable)
    layer: int | Literal["last"] = "last"  # an index into the model's hidden states (negative from the end)
    pooling: Literal["mean", "mean+std"] = "mean"  # over the clip's frames
    trust_remote_code: bool = False  # MERT and other models with their own code need it: only for models you trust


def encoder(params: Params):
    """The model as the run's encoder; an EncoderError (transformers missing, not a model, not an audio model) or
    EncoderUnavailable (no model named) makes the run skip ``pretrained`` with its message."""
    from songspace.errors import EncoderUnavailable
    from songspace.features.hf_encoder import HFEncoder

    if not params.model:
        raise EncoderUnavailable('pretrained: no model named; set [representations.params.pretrained] model = '
                                 '"PATH or id" (a transformers audio model)')
    return HFEncoder(params.model, layer=params.layer, pooling=params.pooling,
                     trust_remote_code=params.trust_remote_code)


def build(ctx):
    params: Params = ctx.params(SPEC.name)
    return encoder_space(ctx, f"{params.model} layer {params.layer}, {params.pooling} over frames")


SPEC = RepresentationSpec(
    name="pretrained", modality=AUDIO, build=build, baseline=True, pretrained=True, encoder=encoder, params=Params,
    description="pretrained: a layer of a Hugging Face audio encoder of your choice, pooled over frames",
    save_state=save_input_state, embed_new=embed_input)
