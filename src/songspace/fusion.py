"""Putting modalities side by side: audio and lyrics blocks scaled so that neither drowns the other.

Naive concatenation lets the block with more (or larger) columns decide the distances: 79 standardised
audio statistics carry a total variance of 79, a 32-d L2-normalised lyrics embedding less than 1, so the
lyrics barely move a Euclidean clustering. :func:`block_scale` centres a block and divides it by the
square root of its total variance, so that every block enters with total variance 1 (as in multiple-block
PCA), keeping the geometry inside the block; a weight then says how much each modality counts.

A block that barely varies is not scaled up: when its rows spread by less than :data:`RELATIVE_FLOOR` of their
own size (the root-mean-square row norm), the spread is noise around a constant (the language profile of a
collection sung in one language), and it is divided by that fraction of its size instead, so that it enters with
the little variance it really has rather than half the space.

Rows where a modality is missing (an instrumental has no lyrics) are set to the block's mean, i.e. zero
after centring: they are placed by the other modalities alone, never by a made-up value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# A block whose total standard deviation is below this fraction of its root-mean-square row norm is (nearly) a
# constant plus noise: it is scaled by this fraction of its size, not to unit variance. 0.25 leaves every block
# that carries a real split alone (a 97/3 split of two languages has 0.24 and keeps 92 % of unit variance; a
# standardised block has 1) and damps a monolingual language profile (float noise: 1e-8) to nothing.
RELATIVE_FLOOR = 0.25


@dataclass(frozen=True)
class Block:
    """One modality's features for every track.

    ``present[i]`` is False where the track lacks this modality; those rows of ``values`` are ignored.
    """

    name: str
    values: np.ndarray  # [shape=(n, d)]
    present: np.ndarray | None = None  # [shape=(n,), dtype=bool]; None = all present

    def mask(self) -> np.ndarray:
        n = len(self.values)
        return np.ones(n, dtype=bool) if self.present is None else np.asarray(self.present, dtype=bool)


def block_scale(X: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    """Centre ``X`` and scale it to total variance 1, fitting on the present rows; absent rows become 0.

    Parameters
    ----------
    X : np.ndarray [shape=(n, d)]
    present : np.ndarray [shape=(n,), dtype=bool] or None (all rows present)

    Returns
    -------
    np.ndarray [shape=(n, d), dtype=float32]; all zeros when fewer than two rows are present or the
    present rows are all identical (the block then carries no information); total variance below 1 when the
    block barely varies (see :data:`RELATIVE_FLOOR`).
    """
    X = np.asarray(X, dtype=np.float64)
    keep = np.ones(len(X), dtype=bool) if present is None else np.asarray(present, dtype=bool)
    out = np.zeros_like(X)
    if keep.sum() < 2 or X.shape[1] == 0:
        return out.astype(np.float32)
    mean = X[keep].mean(0)
    total_sd = float(np.sqrt(X[keep].var(0).sum()))
    size = float(np.sqrt((X[keep] ** 2).sum(1).mean()))  # root-mean-square row norm, offset included
    scale = max(total_sd, RELATIVE_FLOOR * size)
    if total_sd <= 1e-12 or scale <= 1e-12:
        return out.astype(np.float32)
    out[keep] = (X[keep] - mean) / scale
    return out.astype(np.float32)


def fuse(blocks: Sequence[Block], weights: Sequence[float] | None = None, *, scale: bool = True) -> np.ndarray:
    """Concatenate modality blocks, each block-scaled (``scale=True``) and multiplied by its weight.

    With ``scale=False`` the blocks are concatenated as they are (the naive fusion, kept to show what
    scaling changes). A weight of 2 counts a block as much as two unit blocks in squared distances.

    Returns
    -------
    np.ndarray [shape=(n, sum of block widths), dtype=float32]
    """
    if not blocks:
        raise ValueError("fuse needs at least one block")
    n = len(blocks[0].values)
    if any(len(b.values) != n for b in blocks):
        raise ValueError("every block needs one row per track: " + ", ".join(f"{b.name} {len(b.values)}"
                                                                              for b in blocks))
    weights = [1.0] * len(blocks) if weights is None else list(weights)
    parts = []
    for b, w in zip(blocks, weights, strict=True):
        if scale:
            part = block_scale(b.values, b.present)
        else:
            part = np.where(b.mask()[:, None], np.asarray(b.values, dtype=np.float32), 0.0)
        parts.append(np.sqrt(w) * part)
    return np.concatenate(parts, axis=1).astype(np.float32)


def variance_shares(blocks: Sequence[Block], weights: Sequence[float] | None = None, *,
                    scale: bool = True) -> dict[str, float]:
    """Share of the fused matrix's total variance that each block holds (what Euclidean distances see)."""
    fused = fuse(blocks, weights, scale=scale)
    widths = np.cumsum([0, *[b.values.shape[1] for b in blocks]])
    var = fused.var(0)
    total = float(var.sum()) or 1.0
    return {b.name: float(var[widths[i]:widths[i + 1]].sum()) / total for i, b in enumerate(blocks)}
