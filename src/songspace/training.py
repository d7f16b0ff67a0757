"""The one trainer used by every model: Adam on mini-batches, a seeded held-out split, early stopping.

Data can be any array-like indexable by rows (a memory-mapped ``.npy`` included): batches are read as
they are needed, never the whole collection at once.
"""

from __future__ import annotations

import copy
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from songspace.config import TrainConfig
from songspace.errors import ConfigError
from songspace.models.base import VAE

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    """Fix python's, numpy's and torch's generators (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` gives CUDA when present, else CPU; anything else is passed to torch."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device = {name!r} but CUDA is not available here; use 'auto' or 'cpu'.")
    return dev


class RowDataset(Dataset):
    """Rows of an array-like as float32 tensors, optionally standardised as ``(x - mean) / scale``."""

    def __init__(self, data: np.ndarray, mean: np.ndarray | None = None, scale: np.ndarray | None = None) -> None:
        self.data, self.mean, self.scale = data, mean, scale

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> torch.Tensor:
        x = np.asarray(self.data[i], dtype=np.float32)
        if self.mean is not None:
            x = (x - self.mean) / self.scale
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


@dataclass
class History:
    """Loss terms per epoch (means over samples), and how training ended."""

    train: list[dict[str, float]] = field(default_factory=list)
    val: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False
    seconds: float = 0.0
    device: str = "cpu"


def _run_epoch(model: VAE, loader: DataLoader, device: torch.device,
               optimiser: torch.optim.Optimizer | None) -> dict[str, float]:
    model.train(optimiser is not None)
    sums: dict[str, float] = {}
    n = 0
    for x in loader:
        x = x.to(device, non_blocking=True)
        with torch.set_grad_enabled(optimiser is not None):
            terms = model.loss(x, model(x))
        if optimiser is not None:
            optimiser.zero_grad(set_to_none=True)
            terms["total"].backward()
            optimiser.step()
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(x)
        n += len(x)
    return {k: v / n for k, v in sums.items()}


def train(model: VAE, dataset: Dataset, cfg: TrainConfig, *, seed: int = 0,
          progress: Callable[[int, int, dict[str, float]], None] | None = None) -> History:
    """Fit ``model`` on ``dataset`` and leave it at its best validation epoch.

    Parameters
    ----------
    model : any model of ``songspace.models`` (it provides ``loss``).
    dataset : yields one input tensor per item (see :class:`RowDataset`).
    cfg : optimiser, batch size, epochs, early stopping.
    seed : fixes initial weights, the split, the batch order and the reparameterisation noise.
    progress : called as ``progress(epoch, max_epochs, val_or_train_terms)`` after each epoch.
    """
    seed_everything(seed)
    device = resolve_device(cfg.device)
    model.to(device)
    n = len(dataset)
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * cfg.val_fraction)) if n >= 20 else 0  # too few tracks to spare a split
    val_idx, train_idx = order[:n_val].tolist(), order[n_val:].tolist()
    gen = torch.Generator().manual_seed(seed)
    pin = device.type == "cuda"
    train_loader = DataLoader(torch.utils.data.Subset(dataset, train_idx), batch_size=cfg.batch_size, shuffle=True,
                              generator=gen, pin_memory=pin)
    val_loader = (DataLoader(torch.utils.data.Subset(dataset, val_idx), batch_size=cfg.batch_size, pin_memory=pin)
                  if n_val else None)
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    hist = History(device=str(device))
    best, best_state, since_best = float("inf"), copy.deepcopy(model.state_dict()), 0
    start = time.perf_counter()
    for epoch in range(cfg.epochs):
        hist.train.append(_run_epoch(model, train_loader, device, optimiser))
        if val_loader is not None:
            hist.val.append(_run_epoch(model, val_loader, device, None))
        monitor = (hist.val or hist.train)[-1]
        if progress:
            progress(epoch + 1, cfg.epochs, monitor)
        if monitor["total"] < best - 1e-6:
            best, since_best, hist.best_epoch = monitor["total"], 0, epoch
            best_state = copy.deepcopy(model.state_dict())
        else:
            since_best += 1
            if since_best >= cfg.patience:
                hist.stopped_early = True
                break
    model.load_state_dict(best_state)
    model.eval()
    hist.seconds = time.perf_counter() - start
    log.info("trained %s for %d epochs on %s in %.1f s (best epoch %d)", type(model).__name__, len(hist.train),
             device, hist.seconds, hist.best_epoch + 1)
    return hist


@torch.no_grad()
def embed(model: VAE, dataset: Dataset, *, batch_size: int = 256) -> np.ndarray:
    """Posterior means of every item, in order. [shape=(n, latent_dim), dtype=float32]"""
    model.eval()
    device = next(model.parameters()).device
    out = [model.embed(x.to(device)).cpu().numpy() for x in DataLoader(dataset, batch_size=batch_size)]
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, model.latent_dim), np.float32)
