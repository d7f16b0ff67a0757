"""VaDE (Jiang et al. 2017, "Variational Deep Embedding"): an MLP-VAE whose prior is a Gaussian mixture.

Generative model: ``c ~ Cat(pi)``, ``z | c ~ N(mu_c, diag(exp(logvar_c)))``, ``x | z`` Gaussian around
``decode(z)``. The posterior is ``q(z|x) = N(mu, diag(exp(logvar)))`` (the MLP-VAE's encoder), and the
cluster posterior is taken as ``gamma_c = p(c|z)`` (the responsibilities of the mixture for a posterior sample).
The loss per sample is the negative ELBO

    reconstruction + beta * ( E_q[log q(z|x)] - sum_c gamma_c E_q[log p(z|c)] + KL(gamma || pi) )

with the Gaussian expectations in closed form (the ``log 2 pi`` terms cancel). The bracket, reported as ``kl``,
is ``KL(q(z|x) gamma(c) || p(z, c))``, so it is never negative.

Initialisation (the paper's): pretrain a plain autoencoder, copy its encoder and decoder, fit a diagonal Gaussian
mixture on its codes and load it into the prior (:func:`init_vade_from`). ``pi`` is held as logits and
normalised by a softmax, so the prior stays a distribution whatever the optimiser does; log-variances are
clamped and every log-density is summed in the log domain.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from torch import nn

from songspace.models.autoencoder import Autoencoder
from songspace.models.base import ModelOutput
from songspace.models.mlp_vae import MLPVAE

LOGVAR_MIN, LOGVAR_MAX = -12.0, 8.0  # variances from 6e-6 to 3e3: far beyond what standardised data needs


class VaDE(MLPVAE):
    """MLP-VAE with a learnable mixture-of-Gaussians prior of ``n_clusters`` diagonal components.

    Parameters
    ----------
    input_dim, latent_dim, hidden_dims : as for :class:`~songspace.models.mlp_vae.MLPVAE`.
    n_clusters : K, the number of mixture components (8 when built without one, e.g. by name alone).
    beta : weight of the prior term (1 = the ELBO).

    Items are [shape=(batch, input_dim)]; embeddings (posterior means) [shape=(batch, latent_dim)];
    responsibilities [shape=(batch, n_clusters)]. The prior's ``pi_logits`` [shape=(K,)], ``mu_c``
    [shape=(K, latent_dim)] and ``logvar_c`` [shape=(K, latent_dim)] are parameters (saved with the weights).
    """

    def __init__(self, *, input_dim: int, latent_dim: int = 16, hidden_dims: list[int] | None = None,
                 n_clusters: int = 8, beta: float = 1.0) -> None:
        super().__init__(input_dim=input_dim, latent_dim=latent_dim, hidden_dims=hidden_dims, beta=beta)
        self.n_clusters = n_clusters
        self.pi_logits = nn.Parameter(torch.zeros(n_clusters))
        self.mu_c = nn.Parameter(torch.randn(n_clusters, latent_dim))  # replaced by init_vade_from
        self.logvar_c = nn.Parameter(torch.zeros(n_clusters, latent_dim))

    def prior_weights(self) -> torch.Tensor:
        """The mixture weights ``pi`` (a softmax of the logits: they sum to 1). [shape=(K,)]"""
        return torch.softmax(self.pi_logits, 0)

    def log_joint(self, z: torch.Tensor) -> torch.Tensor:
        """``log pi_c + log N(z | mu_c, exp(logvar_c))`` for every sample and component. [shape=(batch, K)]"""
        logvar_c = self.logvar_c.clamp(LOGVAR_MIN, LOGVAR_MAX)
        d = z.unsqueeze(1) - self.mu_c  # (batch, K, latent)
        log_pdf = -0.5 * (math.log(2 * math.pi) + logvar_c + d.square() * torch.exp(-logvar_c)).sum(-1)
        return torch.log_softmax(self.pi_logits, 0) + log_pdf

    def responsibilities(self, z: torch.Tensor) -> torch.Tensor:
        """``gamma = p(c|z)``, a softmax over components in the log domain. [shape=(batch, K)]"""
        return torch.softmax(self.log_joint(z), 1)

    def loss(self, x: torch.Tensor, out: ModelOutput) -> dict[str, torch.Tensor]:
        assert out.logvar is not None
        recon = (out.recon - x).square().flatten(1).sum(1)
        logvar = out.logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)
        logvar_c = self.logvar_c.clamp(LOGVAR_MIN, LOGVAR_MAX)
        log_gamma = torch.log_softmax(self.log_joint(out.z), 1)  # (batch, K)
        gamma = log_gamma.exp()
        # -E_q[log p(z|c)] + const, per component: 0.5 sum_d (logvar_c + (var + (mu - mu_c)^2) / var_c)
        d2 = (out.mu.unsqueeze(1) - self.mu_c).square() + logvar.exp().unsqueeze(1)  # (batch, K, latent)
        neg_log_pz_c = 0.5 * (logvar_c + d2 * torch.exp(-logvar_c)).sum(-1)
        neg_entropy = -0.5 * (1.0 + logvar).sum(1)  # E_q[log q(z|x)] + the same const
        kl_c = (gamma * (log_gamma - torch.log_softmax(self.pi_logits, 0))).sum(1)  # KL(gamma || pi)
        kl = (gamma * neg_log_pz_c).sum(1) + neg_entropy + kl_c
        recon, kl = recon.mean(), kl.mean()
        return {"reconstruction": recon, "kl": kl, "total": recon + self.beta * kl}

    @torch.no_grad()
    def cluster_probs(self, x: torch.Tensor) -> torch.Tensor:
        """``p(c | z = posterior mean)`` per item: each row sums to 1. [shape=(batch, K)]"""
        return self.responsibilities(self.encode(x)[0])

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The most probable component of each item. [shape=(batch,), dtype=int64]"""
        return self.cluster_probs(x).argmax(1)


def init_vade_from(autoencoder: Autoencoder, latent: np.ndarray, *, n_clusters: int, seed: int = 0,
                   beta: float = 1.0, n_init: int = 5) -> VaDE:
    """A VaDE that starts where the pretrained ``autoencoder`` ended, with a Gaussian mixture fitted on its codes.

    Parameters
    ----------
    autoencoder : a trained :class:`~songspace.models.autoencoder.Autoencoder`; its encoder, code layer and
        decoder are copied (the code layer becomes ``to_mu``).
    latent : np.ndarray [shape=(n, latent_dim)], the autoencoder's codes of the training items.
    n_clusters : K.
    seed : seeds the mixture's initialisation.
    beta : the VaDE's ``beta``.
    n_init : restarts of the mixture fit (the best likelihood is kept).

    ``to_logvar`` starts at zero weights and a constant posterior variance of 1 % of the mean component variance:
    the decoder first sees nearly the codes it was pretrained on, and the ELBO widens the posterior from there.
    """
    from songspace.models import build_model  # the registry imports this module

    hidden = [layer.out_features for layer in autoencoder.encoder if isinstance(layer, nn.Linear)]
    model = build_model("vade", input_dim=autoencoder.input_dim, latent_dim=autoencoder.latent_dim,
                        hidden_dims=hidden, n_clusters=n_clusters, beta=beta)
    for part in ("encoder", "to_mu", "decoder"):
        getattr(model, part).load_state_dict(getattr(autoencoder, part).state_dict())
    gmm = GaussianMixture(n_components=n_clusters, covariance_type="diag", n_init=n_init, random_state=seed)
    gmm.fit(np.asarray(latent, dtype=np.float64))
    with torch.no_grad():
        model.pi_logits.copy_(torch.as_tensor(np.log(np.maximum(gmm.weights_, 1e-12))))
        model.mu_c.copy_(torch.as_tensor(gmm.means_))
        model.logvar_c.copy_(torch.as_tensor(np.log(gmm.covariances_)).clamp(LOGVAR_MIN, LOGVAR_MAX))
        model.to_logvar.weight.zero_()
        model.to_logvar.bias.fill_(float(np.log(0.01 * np.mean(gmm.covariances_))))
    return model.to(next(autoencoder.parameters()).device)
