"""``n2d``: N2D (McConville et al., 2020): a learned latent (``base``: by default the autoencoder's, trained on the
statistics beside musicnn's vectors) reduced by UMAP to a few dimensions that keep its local neighbourhoods; the
paper then fits a GMM, which is one of the run's clusterers. UMAP is seeded, so a seed gives the same embedding
(single-threaded). Without musicnn's weights the base is the autoencoder of the statistics, with a note."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from songspace.representations.spec import AUDIO, RepresentationSpec


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # the learned representation that UMAP reduces (hybrid_music_dev, 5 seeds: genre NMI 0.51 with Ward on this base,
    # 0.30-0.31 on the autoencoder of the statistics alone)
    base: str = "autoencoder@features+musicnn"
    n_components: int | None = Field(None, ge=2)  # default: the run's k (the paper's choice), at most 10
    n_neighbors: int = Field(20, ge=2)  # the paper's 20
    min_dist: float = Field(0.0, ge=0)  # 0: tight clumps, what clustering wants

    @field_validator("base")
    @classmethod
    def _base(cls, value: str) -> str:  # n2d's modality is its spec's (audio): so is its base's
        from songspace.representations import exists, get, specs

        if value == "n2d" or not exists(value) or get(value).modality != AUDIO:
            allowed = ", ".join(s.name for s in specs() if s.modality == AUDIO and s.name != "n2d")
            raise ValueError(f"base = {value!r} is not an audio representation to reduce; choose from: {allowed} (or "
                             "<name>@<input> of one that reads an input)")
        return value


def build(ctx):
    import warnings

    import numpy as np

    from songspace.representations.base import Representation

    params = ctx.params(SPEC.name)
    base, notes = ctx.need_audio(params.base, fallback="autoencoder")
    X = base.latent if base.present is None else base.latent[base.present]
    d = params.n_components or min(ctx.k or 10, 10)
    n_neighbors = max(2, min(params.n_neighbors, len(X) - 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state": seeded UMAP is single-threaded
        import umap

        reducer = umap.UMAP(n_components=d, n_neighbors=n_neighbors, min_dist=params.min_dist,
                            random_state=ctx.cfg.seed, init="spectral" if len(X) > d + 1 else "random")
        Z = reducer.fit_transform(np.asarray(X, dtype=np.float32)).astype(np.float32)
    if base.present is not None:
        full = np.zeros((len(base.latent), d), dtype=np.float32)
        full[base.present] = Z
        Z = full
    return Representation(SPEC.name, Z, f"UMAP ({d}-d, {n_neighbors} neighbours) of the {base.name} latent",
                          None if base.present is None else base.present.copy(), notes=notes,
                          conditioned_on=list(base.conditioned_on))


SPEC = RepresentationSpec(
    name="n2d", modality=AUDIO, build=build, learned=True, params=Params, default=True,
    cite=("mcconville2020", "McConville et al., 2020", "R. McConville, R. Santos-Rodriguez, R. J. Piechocki, and "
          "I. Craddock. N2D: (Not too) deep clustering via clustering the local manifold of an autoencoded "
          "embedding. In <i>International Conference on Pattern Recognition (ICPR)</i>, 2020."),
    objective_note="N2D reduces the autoencoder's codes with UMAP to a few dimensions before clustering {cite}",
    description="N2D: UMAP of a learned latent (an autoencoder of the statistics beside musicnn) to a few "
                "dimensions, then clustered")
