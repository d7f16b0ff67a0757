"""``vade``: Variational Deep Embedding (Jiang et al., 2017): a VAE on the statistics whose prior is a Gaussian
mixture of ``n_clusters`` components, started from a pretrained autoencoder and a GMM on its codes. The track is its
posterior mean; every clusterer of the run clusters that latent like any other."""

from __future__ import annotations

from pydantic import Field

from songspace.representations._inputs import InputParams, embed_input, save_input_state
from songspace.representations.spec import AUDIO, SHARED_BETA, RepresentationSpec


class Params(InputParams):
    n_clusters: int | None = Field(None, ge=2)  # mixture components; default: the run's k
    pretrain_epochs: int | None = Field(None, gt=0)  # autoencoder pretraining; default: min(train.epochs, 100)
    pretrain_noise: float = Field(0.0, ge=0, le=10)  # > 0: a denoising autoencoder (input noise, standardised units)


def build(ctx):
    from songspace.deep_clustering import fit_vade
    from songspace.representations.base import Representation, fit_deep_clustering

    model, hist, Z, probs, ds, k, state, of = fit_deep_clustering(ctx, fit_vade, beta=ctx.cfg.model.beta)
    used = int((probs.argmax(1)[:, None] == range(k)).any(0).sum())
    return Representation(ctx.name, Z, f"VaDE posterior means{of}, {k}-component mixture prior "
                          f"({ctx.cfg.model.latent_dim}-d)", model=model, history=hist, dataset=ds,
                          notes=[f"VaDE: {used} of {k} mixture components hold tracks"], state=state)


SPEC = RepresentationSpec(
    name="vade", default=True, modality=AUDIO, build=build, learned=True, model="vade", kl_beta=SHARED_BETA,
    params=Params, reconstructs="spectral statistics",
    objective_note="VaDE replaces the prior by a Gaussian mixture, <i>p</i>(<i>z</i>) = Σ<sub><i>c</i></sub> "
                   "π<sub><i>c</i></sub> 𝒩(<i>μ</i><sub><i>c</i></sub>, diag <i>σ</i><sup>2</sup><sub><i>c</i></sub>), "
                   "learned with the encoder and started from a GMM on a pretrained autoencoder's codes {cite}",
    cite=("jiang2017", "Jiang et al., 2017", "Z. Jiang, Y. Zheng, H. Tan, B. Tang, and H. Zhou. Variational deep "
          "embedding: An unsupervised and generative approach to clustering. In <i>International Joint Conference "
          "on Artificial Intelligence (IJCAI)</i>, 2017."),
    description="VaDE: VAE on the statistics with a Gaussian-mixture prior (deep clustering)",
    save_state=save_input_state, embed_new=embed_input)
