"""Conditional VAE (Sohn et al. 2015): encoder ``q(z | x, c)`` and decoder ``p(x | z, c)`` given a known condition.

Each item is one vector ``[x (input_dim - cond_dim) | c (cond_dim)]``: ``c`` is a one-hot condition (a genre, a
language), several one-hots side by side, or all zeros where the condition is unknown. The model splits it, so
:class:`~songspace.training.RowDataset` and the trainer serve it unchanged; only ``x`` is reconstructed. What the
condition explains need not be stored in ``z``, so the latent describes the track *given* its condition: scores
of its clusters against the conditioning labels are not unsupervised results.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from songspace.errors import ModelError
from songspace.models.base import VAE, ModelOutput, mlp

log = logging.getLogger(__name__)


def one_hot(values: Sequence[str | None], classes: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """One-hot rows of string labels; ``""`` or None (unknown) gives a row of zeros.

    Parameters
    ----------
    values : one label per item [shape=(n,)]; surrounding spaces are ignored, and a float NaN (a missing pandas
        value) is unknown too.
    classes : the column order; None takes the sorted distinct known values. Values not among ``classes``
        (a label the model was not trained with) are treated as unknown, with a logged warning.

    Returns
    -------
    (onehot, classes) : np.ndarray [shape=(n, len(classes)), dtype=float32], and the classes in column order.
    """
    labels = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip() for v in values]
    if classes is None:
        classes = sorted({v for v in labels if v})
    classes = [str(c) for c in classes]
    column = {c: i for i, c in enumerate(classes)}
    out = np.zeros((len(labels), len(classes)), dtype=np.float32)
    rows = [(i, column[v]) for i, v in enumerate(labels) if v in column]
    if rows:
        r, c = np.array(rows).T
        out[r, c] = 1.0
    unseen = {v for v in labels if v and v not in column}
    if unseen:
        log.warning("one_hot: %d label(s) not among the %d classes, treated as unknown: %s",
                    sum(v in unseen for v in labels), len(classes), ", ".join(sorted(unseen)[:5]))
    return out, classes


class ConditionalVAE(VAE):
    """MLP conditional VAE: ``[x | c] -> hidden... -> (mu, logvar)``, ``[z | c] -> ... -> x``.

    Parameters
    ----------
    input_dim : total width of an item, condition included.
    cond_dim : width of the condition ``c`` (the last ``cond_dim`` entries of an item).
    latent_dim, hidden_dims, beta : as for :class:`~songspace.models.mlp_vae.MLPVAE`.

    Items are [shape=(batch, input_dim)]; ``forward`` reconstructs ``x`` only: recon [shape=(batch, input_dim -
    cond_dim)]; embeddings are posterior means given ``x`` and ``c`` [shape=(batch, latent_dim)].
    """

    def __init__(self, *, input_dim: int, cond_dim: int, latent_dim: int = 16, hidden_dims: list[int] | None = None,
                 beta: float = 1.0) -> None:
        super().__init__(latent_dim=latent_dim, beta=beta)
        if not 0 < cond_dim < input_dim:
            raise ModelError(f"cvae: cond_dim must be between 1 and input_dim - 1 ({input_dim - 1}), got {cond_dim}; "
                             "an item is [features | one-hot condition].")
        hidden = list(hidden_dims or [256, 128])
        self.input_dim, self.cond_dim = input_dim, cond_dim
        self.x_dim = input_dim - cond_dim
        self.encoder = mlp([input_dim, *hidden], final_activation=True)  # reads x and c together
        self.to_mu = nn.Linear(hidden[-1], latent_dim)
        self.to_logvar = nn.Linear(hidden[-1], latent_dim)
        self.decoder = mlp([latent_dim + cond_dim, *reversed(hidden), self.x_dim])

    @classmethod
    def size_kwargs(cls, input_shape: tuple[int, ...]) -> dict[str, Any]:
        if len(input_shape) != 1:
            raise ModelError(f"cvae takes feature vectors [features | condition], got items of shape "
                             f"{tuple(input_shape)}")
        return {"input_dim": int(input_shape[0])}

    def split(self, item: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, c)`` parts of a batch of items: [shape=(batch, x_dim)] and [shape=(batch, cond_dim)]."""
        if item.ndim != 2 or item.shape[1] != self.input_dim:
            raise ModelError(f"cvae was built for items of width {self.input_dim} (features + {self.cond_dim} "
                             f"condition columns), got a batch of shape {tuple(item.shape)}")
        return item[:, :self.x_dim], item[:, self.x_dim:]

    def encode(self, item: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.split(item)  # checks the width
        return super().encode(item)

    def decode(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Reconstructions of ``x`` given ``z`` [shape=(batch, latent_dim)] and ``c`` [shape=(batch, cond_dim)];
        ``c=None`` decodes under the unknown condition (zeros). Returns [shape=(batch, x_dim)]."""
        if c is None:
            c = z.new_zeros(len(z), self.cond_dim)
        return self.decoder(torch.cat([z, c], dim=1))

    def forward(self, item: torch.Tensor) -> ModelOutput:
        _, c = self.split(item)
        mu, logvar = self.encode(item)
        z = self.reparameterise(mu, logvar)
        return ModelOutput(recon=self.decode(z, c), z=z, mu=mu, logvar=logvar)

    def loss(self, item: torch.Tensor, out: ModelOutput) -> dict[str, torch.Tensor]:
        """The VAE loss with the reconstruction of ``x`` alone (the condition is given, not modelled)."""
        return super().loss(self.split(item)[0], out)
