"""IDEC (Guo et al. 2017, "Improved Deep Embedded Clustering with Local Structure Preservation").

An autoencoder with ``K`` learnable cluster centres ``mu_j`` in its code space. Soft assignments are a Student-t
kernel (``alpha = 1``): ``q_ij ∝ (1 + |z_i - mu_j|^2 / alpha)^(-(alpha + 1) / 2)``; the target sharpens them,
``p_ij ∝ q_ij^2 / f_j`` with ``f_j = sum_i q_ij``; the loss is the reconstruction (which keeps the local
structure that DEC's clustering loss alone destroys) plus ``gamma * KL(P || Q)``.

The target. IDEC recomputes ``P`` from the whole data set every ``T`` iterations and holds it fixed in between.
songspace's one trainer shuffles items and hands a model batches without their indices, so a model cannot look
up a whole-data target for a batch item. Here ``P`` is computed per batch from the current ``Q``, detached (no
gradient flows through the target, as in DEC and IDEC), with ``f_j`` summed over the batch: the target-per-batch
scheme many DEC/IDEC implementations use. The target then follows the model at every step instead of every
``T`` steps; with the reconstruction term anchoring the codes, this sharpens clusters the same way, and it
needs no data outside the trainer. ``f_j`` from a batch is noisier than from the data set, which is why batches
should hold several items per cluster (the default 64 does for ``K`` up to about 10).

Scale. The paper's reconstruction is the mean squared error over features; songspace's models report the sum
over features (so curves compare across models). The total here is ``reconstruction + gamma * input_dim * kl``,
``input_dim`` times the paper's objective: the same balance, and the same optimum. The ``kl`` entry of
:meth:`IDEC.loss` holds the clustering term ``KL(P || Q)`` per item, so the trainer's history plots it where the
VAEs plot their KL.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.cluster import KMeans
from torch import nn

from songspace.models.autoencoder import Autoencoder
from songspace.models.base import ModelOutput


class IDEC(Autoencoder):
    """An :class:`~songspace.models.autoencoder.Autoencoder` with cluster centres and DEC's clustering loss.

    Parameters
    ----------
    input_dim, latent_dim, hidden_dims : as for the autoencoder (the code is the embedding).
    n_clusters : K (8 when built without one, e.g. by name alone).
    gamma : weight of the clustering loss against the mean-squared reconstruction (0.1, the paper's).
    alpha : degrees of freedom of the Student-t kernel (1, the paper's: cross-validating it is not possible
        without labels, as Xie et al. note for DEC).

    Items are [shape=(batch, input_dim)]; codes [shape=(batch, latent_dim)]; ``centres`` [shape=(K, latent_dim)]
    is a parameter (saved with the weights).
    """

    def __init__(self, *, input_dim: int, latent_dim: int = 16, hidden_dims: list[int] | None = None,
                 n_clusters: int = 8, gamma: float = 0.1, alpha: float = 1.0) -> None:
        super().__init__(input_dim=input_dim, latent_dim=latent_dim, hidden_dims=hidden_dims)
        self.n_clusters, self.gamma, self.alpha = n_clusters, gamma, alpha
        self.centres = nn.Parameter(torch.randn(n_clusters, latent_dim))  # replaced by init_idec_from

    def soft_assign(self, z: torch.Tensor) -> torch.Tensor:
        """Student-t soft assignments ``Q`` of codes to centres: rows sum to 1. [shape=(batch, K)]"""
        d2 = (z.unsqueeze(1) - self.centres).square().sum(-1)  # (batch, K)
        # log-domain normalisation: q ∝ exp(-(alpha + 1) / 2 * log1p(d2 / alpha))
        return torch.softmax(-0.5 * (self.alpha + 1.0) * torch.log1p(d2 / self.alpha), 1)

    def loss(self, x: torch.Tensor, out: ModelOutput) -> dict[str, torch.Tensor]:
        recon = (out.recon - x).square().flatten(1).sum(1).mean()
        q = self.soft_assign(out.z)
        p = target_distribution(q.detach())
        kl = (p * (torch.log(p.clamp_min(1e-12)) - torch.log(q.clamp_min(1e-12)))).sum(1).mean()
        return {"reconstruction": recon, "kl": kl, "total": recon + self.gamma * self.input_dim * kl}

    @torch.no_grad()
    def cluster_probs(self, x: torch.Tensor) -> torch.Tensor:
        """Soft assignments ``Q`` of items: each row sums to 1. [shape=(batch, K)]"""
        return self.soft_assign(self.encode(x)[0])

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The nearest centre of each item's code. [shape=(batch,), dtype=int64]"""
        return self.cluster_probs(x).argmax(1)


def target_distribution(q: torch.Tensor) -> torch.Tensor:
    """DEC's target: ``p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j')``, ``f_j = sum_i q_ij``. [shape=(n, K)]"""
    w = q.square() / q.sum(0).clamp_min(1e-12)
    return w / w.sum(1, keepdim=True)


def init_idec_from(autoencoder: Autoencoder, latent: np.ndarray, *, n_clusters: int, seed: int = 0,
                   gamma: float = 0.1, n_init: int = 10) -> IDEC:
    """An IDEC that starts where the pretrained ``autoencoder`` ended, with K-Means centres of its codes.

    Parameters
    ----------
    autoencoder : a trained :class:`~songspace.models.autoencoder.Autoencoder`; its layers are copied.
    latent : np.ndarray [shape=(n, latent_dim)], the autoencoder's codes of the training items.
    n_clusters : K.
    seed : seeds K-Means.
    gamma : the IDEC's ``gamma``.
    n_init : K-Means restarts (the best inertia is kept).
    """
    from songspace.models import build_model  # the registry imports this module

    hidden = [layer.out_features for layer in autoencoder.encoder if isinstance(layer, nn.Linear)]
    model = build_model("idec", input_dim=autoencoder.input_dim, latent_dim=autoencoder.latent_dim,
                        hidden_dims=hidden, n_clusters=n_clusters, gamma=gamma)
    missing, unexpected = model.load_state_dict(autoencoder.state_dict(), strict=False)
    assert missing == ["centres"] and not unexpected, (missing, unexpected)
    km = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed).fit(np.asarray(latent, dtype=np.float64))
    with torch.no_grad():
        model.centres.copy_(torch.as_tensor(km.cluster_centers_))
    return model.to(next(autoencoder.parameters()).device)
