"""``pca``: baseline, PCA of the standardised statistics to the latent size."""

from __future__ import annotations

from songspace.representations._state import save_built_state
from songspace.representations.spec import AUDIO, RepresentationSpec


def project(X, state):
    """Standardised statistics [shape=(n, n_stats)] onto the principal axes of ``state``. [shape=(n, d), float32]"""
    import numpy as np

    return ((np.asarray(X, dtype=np.float32) - state["pca_mean"]) @ state["components"].T).astype(np.float32)


def build(ctx):
    from sklearn.decomposition import PCA

    from songspace.representations._state import stats_state
    from songspace.representations.base import Representation

    X = ctx.inputs.standardised_stats()
    d = min(ctx.cfg.model.latent_dim, X.shape[0], X.shape[1])
    pca = PCA(n_components=d, random_state=ctx.cfg.seed).fit(X)
    # projected by the saved arrays, as new tracks are (embed_new): the run's tracks and new ones meet exactly
    state = {**stats_state(ctx.inputs), "pca_mean": pca.mean_, "components": pca.components_}
    return Representation(SPEC.name, project(X, state), f"PCA of the standardised statistics ({d}-d)",
                          state=state)


def embed_new(state, model, inputs):
    from songspace.representations._state import new_stats

    return project(new_stats(state, inputs), state)


SPEC = RepresentationSpec(name="pca", modality=AUDIO, build=build, baseline=True, default=True,
                          description="baseline: PCA of the statistics to the latent size",
                          save_state=save_built_state, embed_new=embed_new)
