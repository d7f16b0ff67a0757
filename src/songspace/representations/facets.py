"""``facets``: language and style from one space, the ``language`` representation beside an audio style space.

The two facets are blocks of one vector, each block-scaled to total variance 1 (:func:`songspace.fusion.fuse`) and
weighted, so that neither decides the distances by its width or units: nearest neighbours share a language (or
are both instrumental) *and* sound alike. The style block is the representation named by ``style`` (default
``features``, the standardised statistics; any audio representation, learned ones included, can be named).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from songspace.representations.spec import BOTH, RepresentationSpec

if TYPE_CHECKING:
    from songspace.representations.base import Context, Representation


class FacetsParams(BaseModel):
    """``[representations.params.facets]``."""

    model_config = ConfigDict(extra="forbid")

    # the representation that carries style; hybrid_music_dev, 5 seeds: features_musicnn gives language NMI 0.885 and
    # 10-NN genre 0.500, the statistics 0.872 and 0.475 (without musicnn's weights: the statistics, with a note)
    style: str = "features_musicnn"
    language_weight: float = Field(1.0, ge=0.0)  # the language block against ...
    style_weight: float = Field(1.0, ge=0.0)  # ... the style block (1 and 1: equal total variance)

    @field_validator("style")
    @classmethod
    def _style(cls, value: str) -> str:
        from songspace.representations import exists, names

        if value in ("facets", "language") or not exists(value):
            allowed = ", ".join(n for n in names() if n not in ("facets", "language"))
            raise ValueError(f"style = {value!r} is not a representation to fuse; choose from: {allowed}")
        return value


def build(ctx: Context) -> Representation:
    from songspace.fusion import Block, fuse, variance_shares
    from songspace.representations.base import Representation, shares_note

    params: FacetsParams = ctx.params(SPEC.name)
    style, notes = ctx.need_audio(params.style)
    blocks = [Block("language", ctx.need("language").latent), Block("style", style.latent, style.present)]
    weights = [params.language_weight, params.style_weight]
    X = fuse(blocks, weights)
    return Representation(SPEC.name, X, f"language facet + {params.style} style facet, block-scaled "
                          f"({X.shape[1]}-d)", notes=[*notes, shares_note(variance_shares(blocks, weights))])


SPEC = RepresentationSpec(
    name="facets", default=True, modality=BOTH, build=build, reads_lyrics=True, params=FacetsParams,
    description="the language facet (lyrics language, instrumental, vocal presence) beside an audio style space, "
                "block-scaled")
