"""``idec``: Improved Deep Embedded Clustering (Guo et al., 2017): an autoencoder on the statistics trained with a
clustering loss (KL of Student-t soft assignments to their sharpened target) beside its reconstruction loss,
started from a pretrained autoencoder and K-Means on its codes. The track is its code."""

from __future__ import annotations

from pydantic import Field

from songspace.representations._inputs import InputParams, embed_input, save_input_state
from songspace.representations.spec import AUDIO, RepresentationSpec


class Params(InputParams):
    n_clusters: int | None = Field(None, ge=2)  # cluster centres; default: the run's k
    gamma: float = Field(0.1, ge=0)  # weight of the clustering loss (the paper's 0.1)
    pretrain_epochs: int | None = Field(None, gt=0)  # autoencoder pretraining; default: min(train.epochs, 100)
    pretrain_noise: float = Field(0.0, ge=0, le=10)  # > 0: a denoising autoencoder (input noise, standardised units)


def build(ctx):
    from songspace.deep_clustering import fit_idec
    from songspace.representations.base import Representation, fit_deep_clustering

    gamma = ctx.params(ctx.name).gamma
    model, hist, Z, _q, ds, k, state, of = fit_deep_clustering(ctx, fit_idec, gamma=gamma)
    return Representation(ctx.name, Z, f"IDEC codes{of}, {k} centres, clustering weight {gamma:g} "
                          f"({ctx.cfg.model.latent_dim}-d)", model=model, history=hist, dataset=ds, state=state)


SPEC = RepresentationSpec(
    name="idec", modality=AUDIO, build=build, learned=True, model="idec", params=Params,
    reconstructs="spectral statistics",
    objective_note="IDEC trains an autoencoder with the reconstruction loss plus γ·KL(<i>P</i> ‖ <i>Q</i>), where "
                   "<i>Q</i> are Student-t soft assignments of the codes to learnable centres and <i>P</i> their "
                   "sharpened target {cite}",
    cite=("guo2017", "Guo et al., 2017", "X. Guo, L. Gao, X. Liu, and J. Yin. Improved deep embedded clustering with "
          "local structure preservation. In <i>International Joint Conference on Artificial Intelligence "
          "(IJCAI)</i>, 2017."),
    description="IDEC: autoencoder on the statistics trained with a clustering loss (deep clustering)",
    save_state=save_input_state, embed_new=embed_input)
