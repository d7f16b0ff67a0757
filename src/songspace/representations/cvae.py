"""``cvae``: a conditional VAE on the statistics, given the one-hot label columns of its ``condition_on``
(``[representations.params.cvae]``).

Its latent is meant to hold what the labels do not; its scores against those labels are not unsupervised.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from songspace.representations.spec import CONDITIONED, SHARED_BETA, RepresentationSpec


class Params(BaseModel):
    """``[representations.params.cvae]``."""

    model_config = ConfigDict(extra="forbid")

    # Label columns it is conditioned on, e.g. ["language"]; [] = the cvae is skipped, noted. Its scores against
    # these labels are marked in metrics.csv (conditioned_on): they are not unsupervised results.
    condition_on: list[str] = []


def build(ctx):
    import numpy as np

    from songspace.models.cvae import one_hot
    from songspace.representations.base import Representation
    from songspace.training import RowDataset

    given_on = list(ctx.params(SPEC.name).condition_on)
    if not given_on:
        raise ValueError("cvae needs representations.params.cvae.condition_on (the label columns it is conditioned "
                         "on)")
    C = np.concatenate([one_hot(ctx.inputs.conditions[c])[0] for c in given_on], axis=1)
    X = np.concatenate([ctx.inputs.standardised_stats(), C], axis=1)
    model, hist, Z = ctx.train_model(SPEC.name, RowDataset(X), **ctx.kl_settings(),
                                     hidden_dims=ctx.cfg.model.hidden_dims, cond_dim=C.shape[1])
    given = ", ".join(given_on)
    return Representation(SPEC.name, Z, f"conditional VAE given {given}, posterior means "
                          f"({ctx.cfg.model.latent_dim}-d)", model=model, history=hist, dataset=RowDataset(X),
                          notes=[f"conditioned on {given}: its scores against {given} are not unsupervised"],
                          conditioned_on=given_on)


SPEC = RepresentationSpec(
    name="cvae", modality=CONDITIONED, build=build, learned=True, model="cvae", kl_beta=SHARED_BETA, params=Params,
    conditioned_by="condition_on", conditions_required=True,
    cite=("sohn2015", "Sohn et al., 2015", "K. Sohn, H. Lee, and X. Yan. Learning structured output representation "
          "using deep conditional generative models. In <i>Advances in Neural Information Processing Systems "
          "(NeurIPS)</i>, 2015."),
    objective_note="the conditional VAE encodes <i>q</i><sub>φ</sub>(<i>z</i>|<i>x</i>, <i>c</i>) and decodes "
                   "<i>p</i><sub>θ</sub>(<i>x</i>|<i>z</i>, <i>c</i>) given the one-hot label <i>c</i> {cite}: its "
                   "latent is meant to hold what <i>c</i> does not",
    description="conditional VAE on the statistics, given label columns")
