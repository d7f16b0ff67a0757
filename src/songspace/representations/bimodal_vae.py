"""``bimodal_vae``: one VAE that reads and rebuilds the statistics and the lyrics (lyrics optional per track)."""

from __future__ import annotations

from songspace.representations.spec import BOTH, SHARED_BETA, RepresentationSpec


def build(ctx):
    import numpy as np

    from songspace.representations.base import Representation
    from songspace.training import RowDataset

    block = ctx.inputs.lyrics_block()
    present = ctx.inputs.lyrics.present[:, None].astype(np.float32)
    X = np.concatenate([ctx.inputs.standardised_stats(), block, present], axis=1)
    model, hist, Z = ctx.train_model(SPEC.name, RowDataset(X), **ctx.kl_settings(),
                                     hidden_dims=ctx.cfg.model.hidden_dims, lyrics_dim=block.shape[1],
                                     lyrics_weight=ctx.cfg.representations.lyrics_weight)
    return Representation(SPEC.name, Z, f"audio + lyrics VAE posterior means ({ctx.cfg.model.latent_dim}-d)",
                          model=model, history=hist, dataset=RowDataset(X))


SPEC = RepresentationSpec(
    name="bimodal_vae", modality=BOTH, build=build, learned=True, model="bimodal_vae", kl_beta=SHARED_BETA,
    needs_lyrics=True,
    description="VAE that reads and rebuilds the statistics and the lyrics (lyrics optional per track)")
