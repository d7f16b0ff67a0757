"""``hybrid_features``: a fixed audio space (the statistics beside musicnn's vectors by default) beside the lyrics,
each block scaled to equal total variance."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from songspace.representations.spec import AUDIO, BOTH, RepresentationSpec


class Params(BaseModel):
    """``[representations.params.hybrid_features]``."""

    model_config = ConfigDict(extra="forbid")

    # the audio block: any audio representation that is not learned (a fixed space); without musicnn's weights, the
    # statistics with a note
    audio: str = "features_musicnn"

    @field_validator("audio")
    @classmethod
    def _audio(cls, value: str) -> str:
        from songspace.representations import exists, get, specs

        if not exists(value) or get(value).modality != AUDIO or get(value).learned:
            allowed = ", ".join(s.name for s in specs() if s.modality == AUDIO and not s.learned)
            raise ValueError(f"audio = {value!r} is not a fixed audio representation; choose from: {allowed}")
        return value


def build(ctx):
    from songspace.fusion import Block, fuse, variance_shares
    from songspace.representations.base import Representation, shares_note

    params: Params = ctx.params(SPEC.name)
    if params.audio == "features":  # not through ctx.need: that would add the statistics' own rows to the run
        audio, notes, what = ctx.inputs.standardised_stats(), [], "statistics"
    else:
        rep, notes = ctx.need_audio(params.audio)
        audio, what = rep.latent, rep.name
    lyr = ctx.inputs.lyrics
    blocks = [Block("audio", audio), Block("lyrics", ctx.inputs.lyrics_block(), lyr.present)]
    weights = [1.0, ctx.cfg.representations.lyrics_weight]
    X = fuse(blocks, weights)
    return Representation(SPEC.name, X, f"{what} + lyrics, block-scaled ({X.shape[1]}-d)",
                          notes=[*notes, shares_note(variance_shares(blocks, weights))])


SPEC = RepresentationSpec(name="hybrid_features", modality=BOTH, build=build, needs_lyrics=True, default=True,
                          params=Params, description="a fixed audio space (the statistics beside musicnn by "
                                                     "default) and the lyrics embedding, block-scaled")
