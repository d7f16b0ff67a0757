"""``hybrid``: a learned audio representation (its ``audio``, ``[representations.params.hybrid]``) beside the lyrics,
block-scaled and weighted."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from songspace.representations.spec import AUDIO, BOTH, RepresentationSpec


class Params(BaseModel):
    """``[representations.params.hybrid]``."""

    model_config = ConfigDict(extra="forbid")

    audio: str = "vade"  # the audio representation fused with the lyrics

    @field_validator("audio")
    @classmethod
    def _audio(cls, value: str) -> str:
        from songspace.representations import exists, get, specs

        if not exists(value) or get(value).modality != AUDIO:
            allowed = ", ".join(s.name for s in specs() if s.modality == AUDIO)
            raise ValueError(f"audio = {value!r} is not an audio representation; choose from: {allowed}")
        return value


def build(ctx):
    from songspace.fusion import Block, fuse, variance_shares
    from songspace.representations.base import Representation, shares_note

    audio_name = ctx.params(SPEC.name).audio
    lyr = ctx.inputs.lyrics
    audio, notes = ctx.need_audio(audio_name)
    blocks = [Block("audio", audio.latent), Block("lyrics", ctx.inputs.lyrics_block(), lyr.present)]
    weights = [1.0, ctx.cfg.representations.lyrics_weight]
    X = fuse(blocks, weights)
    return Representation(SPEC.name, X, f"{audio_name} latent + lyrics, block-scaled, lyrics weight "
                          f"{ctx.cfg.representations.lyrics_weight:g} ({X.shape[1]}-d)",
                          notes=[*notes, shares_note(variance_shares(blocks, weights))])


SPEC = RepresentationSpec(name="hybrid", modality=BOTH, build=build, needs_lyrics=True, params=Params,
                          description="a learned audio latent and the lyrics embedding, block-scaled and weighted")
