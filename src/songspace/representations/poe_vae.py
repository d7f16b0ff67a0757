"""``poe_vae``: a product-of-experts VAE over audio, lyrics (when any track has them) and the label columns of its
``labels`` (``[representations.params.poe_vae]``), any of them missing per track; scores against those labels are
not unsupervised."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from songspace.representations.spec import CONDITIONED, SHARED_BETA, RepresentationSpec


class Params(BaseModel):
    """``[representations.params.poe_vae]``."""

    model_config = ConfigDict(extra="forbid")

    # Label columns it reads as modalities beside audio and lyrics (tracks without a value miss that modality),
    # marked in metrics.csv like the cvae's conditions; [] = audio and lyrics only.
    labels: list[str] = ["genre"]


def build(ctx):
    import numpy as np

    from songspace.models.cvae import one_hot
    from songspace.representations.base import Representation
    from songspace.training import RowDataset

    inputs, cfg = ctx.inputs, ctx.cfg
    blocks: dict[str, np.ndarray] = {"audio": inputs.standardised_stats()}
    present: dict[str, np.ndarray] = {"audio": np.ones(len(inputs.stats), dtype=bool)}
    if inputs.lyrics is not None and inputs.lyrics.present.any():
        blocks["lyrics"], present["lyrics"] = inputs.lyrics_block(), inputs.lyrics.present.astype(bool)
    categorical = []
    for label in ctx.params(SPEC.name).labels:
        onehot, _classes = one_hot(inputs.conditions[label])
        blocks[label], present[label] = onehot, onehot.any(axis=1)
        categorical.append(label)
    dims = {m: b.shape[1] for m, b in blocks.items()}
    X = np.concatenate([*blocks.values(), *[p[:, None].astype(np.float32) for p in present.values()]], axis=1)
    X = X.astype(np.float32)
    model, hist, Z = ctx.train_model(SPEC.name, RowDataset(X), **ctx.kl_settings(), dims=dims,
                                     categorical=categorical, hidden_dims=cfg.model.hidden_dims)
    modalities = " + ".join(dims)
    notes = [f"modalities {modalities}; present: " + ", ".join(f"{m} {p.mean():.0%}" for m, p in present.items())]
    if categorical:
        notes.append(f"reads {', '.join(categorical)} as input: its scores against {', '.join(categorical)} are "
                     "not unsupervised")
    return Representation(SPEC.name, Z, f"product-of-experts VAE over {modalities}, joint posterior means "
                          f"({cfg.model.latent_dim}-d)", model=model, history=hist, dataset=RowDataset(X), notes=notes,
                          conditioned_on=categorical)


SPEC = RepresentationSpec(
    name="poe_vae", modality=CONDITIONED, build=build, learned=True, model="poe_vae", kl_beta=SHARED_BETA,
    params=Params, reads_lyrics=True, conditioned_by="labels",
    cite=("wu2018", "Wu &amp; Goodman, 2018", "M. Wu and N. Goodman. Multimodal generative models for scalable "
          "weakly-supervised learning. In <i>Advances in Neural Information Processing Systems (NeurIPS)</i>, 2018."),
    objective_note="the product-of-experts VAE combines one Gaussian expert per modality present, "
                   "<i>q</i>(<i>z</i>|<i>x</i><sub>1..<i>M</i></sub>) ∝ <i>p</i>(<i>z</i>) "
                   "Π<sub><i>m</i></sub> <i>q</i>(<i>z</i>|<i>x</i><sub><i>m</i></sub>), so a track missing lyrics "
                   "(or a label) still has a posterior {cite}",
    description="product-of-experts VAE, one encoder per modality present")
