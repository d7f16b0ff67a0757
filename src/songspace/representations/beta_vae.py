"""``beta_vae``: a Beta-VAE on the statistics (its own ``beta``, optionally the capacity schedule, and a sweep of
``beta``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from songspace.config import MAX_BETA, MAX_EPOCHS
from songspace.representations._inputs import InputParams, embed_input, model_input, save_input_state
from songspace.representations.spec import AUDIO, RepresentationSpec

Beta = Annotated[float, Field(ge=0, le=MAX_BETA)]


class BetaParams(BaseModel):
    """The Beta-VAE's KL term: ``[representations.params.beta_vae]`` (and ``beta_conv_vae``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # beta = inf makes every loss NaN

    beta: Beta = 4.0  # weight of the KL term (> 1: a more factorised latent than the plain VAE's 1)
    capacity_max: Beta | None = None  # capacity schedule (Burgess et al. 2018): |KL - C|, C rising to this many nats
    capacity_epochs: int = Field(100, gt=0, le=MAX_EPOCHS)  # epochs over which C rises from 0 to capacity_max


class Params(InputParams, BetaParams):
    """``[representations.params.beta_vae]``: its input, its KL term and a sweep of its beta."""

    # Betas of a sweep: the representation trained once per value of beta, its K-Means clustering scored
    # (beta_sweep.csv, figures/beta_sweep.png); [] = no sweep.
    sweep: list[Beta] = []


def build(ctx):
    from songspace.representations.base import Representation
    from songspace.training import RowDataset

    X, state, of = model_input(ctx)
    model, hist, Z = ctx.train_model(ctx.name, RowDataset(X), model=SPEC.model, **ctx.kl_settings(),
                                     hidden_dims=ctx.cfg.model.hidden_dims)
    return Representation(ctx.name, Z, f"Beta-VAE (beta {ctx.params(ctx.name).beta:g}) posterior means{of} "
                          f"({ctx.cfg.model.latent_dim}-d)", model=model, history=hist, dataset=RowDataset(X),
                          state=state)


SPEC = RepresentationSpec(
    name="beta_vae", modality=AUDIO, build=build, learned=True, model="beta_vae", kl_beta="beta",
    reconstructs="spectral statistics", traversal=True, params=Params, description="β-VAE on the statistics",
    save_state=save_input_state, embed_new=embed_input,
    objective_note="the β-VAE weights the KL term by a β above 1 {cite}, trading reconstruction for a more "
                   "factorised latent",
    cite=("higgins2017", "Higgins et al., 2017", "I. Higgins, L. Matthey, A. Pal, C. Burgess, X. Glorot, M. Botvinick, "
          "S. Mohamed, and A. Lerchner. β-VAE: Learning basic visual concepts with a constrained variational "
          "framework. In <i>International Conference on Learning Representations (ICLR)</i>, 2017."))
