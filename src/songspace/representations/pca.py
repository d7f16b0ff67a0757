"""``pca``: baseline, PCA of the standardised statistics to the latent size."""

from __future__ import annotations

from songspace.representations.spec import AUDIO, RepresentationSpec


def build(ctx):
    import numpy as np
    from sklearn.decomposition import PCA

    from songspace.representations.base import Representation

    X = ctx.inputs.standardised_stats()
    d = min(ctx.cfg.model.latent_dim, X.shape[0], X.shape[1])
    Z = PCA(n_components=d, random_state=ctx.cfg.seed).fit_transform(X).astype(np.float32)
    return Representation(SPEC.name, AUDIO, Z, f"PCA of the standardised statistics ({d}-d)")


SPEC = RepresentationSpec(name="pca", modality=AUDIO, build=build, baseline=True, default=True,
                          description="baseline: PCA of the statistics to the latent size")
