"""A multimodal VAE whose posterior is a product of experts over the modalities an item has (Wu & Goodman 2018).

Each modality ``m`` (audio statistics, lyrics, a label read as a one-hot) has its own encoder, giving a Gaussian
expert ``N(mu_m, exp(logvar_m))``, and its own decoder. The posterior of an item is the product of the prior
``N(0, I)`` and the experts of the modalities it has: a Gaussian with precision ``1 + sum_m exp(-logvar_m)`` and the
precision-weighted mean of the experts' means. A missing modality's expert is left out of the product and its
reconstruction is not counted, so a track without lyrics is neither described nor judged by zeros. An item with no
modality present gets the prior (mean 0): allowed, though it carries no information.

Each item is one vector: the modalities' blocks in ``dims`` order, then one presence flag (0 or 1) per modality in
the same order; a missing modality's block should hold zeros, and whatever it holds is ignored. Flags and
categorical blocks must reach the model as they are (do not standardise those columns).

With ``subsample`` (MVAE's sub-sampled training) the loss adds to the joint ELBO the ELBO of each single present
modality (its expert alone with the prior, reconstructing that modality), so that every encoder is trained to
describe an item alone, as it must when the others are missing (:meth:`PoEVAE.without`). It costs one more decoder
pass per modality, and learns more slowly at first: on 60 toy items, 10 epochs left the joint reconstruction
behind the joint-only model's on some seeds, 40 epochs did not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from songspace.errors import ModelError
from songspace.models.base import VAE, ModelOutput, kl_to_standard_normal, mlp


@dataclass
class PoEOutput(ModelOutput):
    """A :class:`ModelOutput` that also keeps each modality's expert, so that the loss need not encode again.

    ``experts`` is ``(mu, logvar)``, each [shape=(n_modalities, batch, latent_dim)], or None.
    """

    experts: tuple[torch.Tensor, torch.Tensor] | None = None


class PoEVAE(VAE):
    """Product-of-experts VAE: one MLP encoder and one MLP decoder per modality, a shared latent space.

    Parameters
    ----------
    dims : width of each modality's block, in item order, e.g. ``{"audio": 79, "lyrics": 40, "genre": 6}``.
        Names must be non-empty and contain no ``"."``.
    categorical : modalities that are one one-hot (class) block each: decoded as class logits and scored by
        cross-entropy (soft targets allowed). The others are scored by squared error.
    input_dim : total width of an item, ``sum(dims.values()) + len(dims)``; checked when given (``build_model``
        passes it from ``input_shape``).
    latent_dim, hidden_dims, beta : as for :class:`~songspace.models.mlp_vae.MLPVAE`; every encoder is
        ``block -> hidden...`` and every decoder mirrors it.
    weights : per-modality reconstruction weights (missing names: 1). Each modality's error (summed squared error,
        or cross-entropy) is divided by its width and multiplied by the first modality's width, so that with
        weight 1 a 40-d lyrics block counts as much as the 79-d audio block (as in ``BimodalVAE``).
    subsample : add the single-modality ELBOs to the joint one (MVAE); False keeps the joint ELBO alone.

    Items are [shape=(batch, sum(dims) + len(dims))]; ``forward`` gives recon [shape=(batch, sum(dims))] (the
    blocks side by side; logits for categorical modalities) and the joint posterior [shape=(batch, latent_dim)].
    """

    def __init__(self, *, dims: dict[str, int], categorical: Sequence[str] | None = None, input_dim: int | None = None,
                 latent_dim: int = 16, hidden_dims: list[int] | None = None, beta: float = 1.0,
                 weights: dict[str, float] | None = None, subsample: bool = True) -> None:
        super().__init__(latent_dim=latent_dim, beta=beta)
        dims = {str(m): int(d) for m, d in dict(dims or {}).items()}
        categorical, weights = list(categorical or []), dict(weights or {})
        if not dims or any(not m or "." in m or d < 1 for m, d in dims.items()):
            raise ModelError(f"poe_vae: dims must name each modality (no '.') with a positive width, got {dims}")
        for what, names in (("categorical", categorical), ("weights", list(weights))):
            if unknown := [m for m in names if m not in dims]:
                raise ModelError(f"poe_vae: {what} names {unknown}, which are not modalities of dims "
                                 f"({', '.join(dims)})")
        if short := [m for m in categorical if dims[m] < 2]:
            raise ModelError(f"poe_vae: categorical modalities need at least 2 classes, {short} have fewer")
        if any(not w >= 0 for w in weights.values()):
            raise ModelError(f"poe_vae: weights must be >= 0, got {weights}")
        expected = sum(dims.values()) + len(dims)
        if input_dim is not None and input_dim != expected:
            raise ModelError(f"poe_vae: items are {input_dim} wide but dims {dims} need {sum(dims.values())} "
                             f"columns of blocks + {len(dims)} presence flags = {expected}; build each item as the "
                             "blocks in dims order followed by one 0/1 flag per modality.")
        hidden = list(hidden_dims or [256, 128])
        self.dims, self.categorical, self.subsample = dims, categorical, subsample
        self.input_dim = expected
        first = next(iter(dims.values()))
        self.scales = {m: weights.get(m, 1.0) * first / d for m, d in dims.items()}
        self.encoders = nn.ModuleDict({m: mlp([d, *hidden], final_activation=True) for m, d in dims.items()})
        self.to_mu = nn.ModuleDict({m: nn.Linear(hidden[-1], latent_dim) for m in dims})
        self.to_logvar = nn.ModuleDict({m: nn.Linear(hidden[-1], latent_dim) for m in dims})
        self.decoders = nn.ModuleDict({m: mlp([latent_dim, *reversed(hidden), d]) for m, d in dims.items()})

    @classmethod
    def size_kwargs(cls, input_shape: tuple[int, ...]) -> dict[str, Any]:
        if len(input_shape) != 1:
            raise ModelError(f"poe_vae takes feature vectors [blocks | presence flags], got items of shape "
                             f"{tuple(input_shape)}")
        return {"input_dim": int(input_shape[0])}

    def split(self, item: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Blocks of a batch of items, zeroed where missing (each [shape=(batch, dims[m])]), and the presence
        flags [shape=(batch, n_modalities)]."""
        if item.ndim != 2 or item.shape[1] != self.input_dim:
            raise ModelError(f"poe_vae was built for items of width {self.input_dim} (blocks {self.dims} + "
                             f"{len(self.dims)} presence flags), got a batch of shape {tuple(item.shape)}")
        present = item[:, -len(self.dims):]
        if not ((present == 0) | (present == 1)).all():
            raise ModelError("poe_vae: the presence flags (the last column per modality of each item) must be 0 or "
                             "1; leave those columns out of any standardisation.")
        blocks, start = {}, 0
        for i, (m, d) in enumerate(self.dims.items()):
            blocks[m] = torch.where(present[:, i:i + 1] > 0, item[:, start:start + d], 0.0)
            start += d
        return blocks, present

    def experts(self, blocks: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Each modality's expert ``(mu, logvar)``, each [shape=(n_modalities, batch, latent_dim)]."""
        h = {m: self.encoders[m](x) for m, x in blocks.items()}
        return (torch.stack([self.to_mu[m](h[m]) for m in self.dims]),
                torch.stack([self.to_logvar[m](h[m]) for m in self.dims]))

    @staticmethod
    def product(mu: torch.Tensor, logvar: torch.Tensor, present: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The product of the prior ``N(0, I)`` and the present experts: ``(mu, logvar)`` [shape=(batch, latent)].

        ``mu``, ``logvar`` are [shape=(k, batch, latent)], ``present`` [shape=(batch, k)]. Computed in log-precision
        with ``logsumexp``, so that a confident expert (very negative logvar) does not overflow; a missing expert
        gets weight exactly 0, whatever its values.
        """
        keep = present.T[..., None] > 0
        log_precision = torch.where(keep, -logvar, float("-inf"))
        log_precision = torch.cat([torch.zeros_like(log_precision[:1]), log_precision])  # the prior: precision 1
        means = torch.cat([torch.zeros_like(mu[:1]), torch.where(keep, mu, 0.0)])
        weights = torch.softmax(log_precision, dim=0)  # each expert's share of the total precision
        return (weights * means).sum(0), -torch.logsumexp(log_precision, dim=0)

    def encode(self, item: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Joint posterior over the present modalities, ``(mu, logvar)`` [shape=(batch, latent_dim)] each."""
        blocks, present = self.split(item)
        return self.product(*self.experts(blocks), present)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Every modality's reconstruction side by side [shape=(batch, sum(dims))]; logits for categorical ones."""
        return torch.cat([self.decoders[m](z) for m in self.dims], dim=1)

    def forward(self, item: torch.Tensor) -> PoEOutput:
        blocks, present = self.split(item)
        mus, logvars = self.experts(blocks)
        mu, logvar = self.product(mus, logvars, present)
        z = self.reparameterise(mu, logvar)
        return PoEOutput(recon=self.decode(z), z=z, mu=mu, logvar=logvar, experts=(mus, logvars))

    def error(self, modality: str, recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Weighted reconstruction error of one modality per item [shape=(batch,)]: summed squared error, or the
        cross-entropy of logits against a one-hot target, times ``weights[m] * dims[first] / dims[m]``."""
        if modality in self.categorical:
            err = -(target * F.log_softmax(recon, dim=1)).sum(1)
        else:
            err = (recon - target).square().sum(1)
        return err * self.scales[modality]

    def loss(self, item: torch.Tensor, out: ModelOutput) -> dict[str, torch.Tensor]:
        """``reconstruction`` (present modalities only, per item, batch mean), ``kl`` of the joint posterior,
        ``reconstruction_<m>`` (mean over the items that have ``m``), ``subsampled`` (the single-modality
        ELBOs, with ``subsample``) and ``total``."""
        blocks, present = self.split(item)
        experts = getattr(out, "experts", None)
        mus, logvars = experts if experts is not None else self.experts(blocks)
        terms: dict[str, torch.Tensor] = {}
        recon = item.new_zeros(())
        singles = item.new_zeros(())
        start = 0
        for i, (m, d) in enumerate(self.dims.items()):
            p = present[:, i]
            err = torch.where(p > 0, self.error(m, out.recon[:, start:start + d], blocks[m]), 0.0)
            start += d
            recon = recon + err.mean()
            terms[f"reconstruction_{m}"] = err.sum() / p.sum().clamp(min=1.0)
            if self.subsample:  # ELBO of modality m alone: its expert with the prior, reconstructing m
                mu_m, logvar_m = self.product(mus[i:i + 1], logvars[i:i + 1], present[:, i:i + 1])
                z_m = self.reparameterise(mu_m, logvar_m)
                kl_m = kl_to_standard_normal(mu_m, logvar_m)
                own = self.error(m, self.decoders[m](z_m), blocks[m]) + self.beta * kl_m
                singles = singles + torch.where(p > 0, own, 0.0).mean()
        kl = kl_to_standard_normal(out.mu, out.logvar).mean()
        total = recon + self.beta * kl
        if self.subsample:
            terms["subsampled"] = singles
            total = total + singles
        return {"reconstruction": recon, "kl": kl, **terms, "total": total}

    def without(self, x: torch.Tensor, modalities: Sequence[str]) -> torch.Tensor:
        """Items with ``modalities`` marked missing (flags and blocks zeroed), e.g. to embed without a label
        the model was trained with. ``x`` [shape=(batch, input_dim)]; returns a new tensor of the same shape."""
        if isinstance(modalities, str):
            modalities = [modalities]
        if unknown := [m for m in modalities if m not in self.dims]:
            raise ModelError(f"poe_vae: no modality {unknown}; this model has {', '.join(self.dims)}")
        out = x.clone()
        start, n = 0, len(self.dims)
        for i, (m, d) in enumerate(self.dims.items()):
            if m in modalities:
                out[:, start:start + d] = 0.0
                out[:, self.input_dim - n + i] = 0.0
            start += d
        return out
