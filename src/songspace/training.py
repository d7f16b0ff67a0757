"""The one trainer used by every model: Adam on mini-batches, a seeded held-out split, early stopping.

Data can be any array-like indexable by items (a memory-mapped ``.npy`` included): batches are read as
they are needed, never the whole collection at once. :class:`RowDataset` serves feature vectors;
:class:`SpectrogramDataset` serves log-mel spectrograms (optionally pooled in time, or as MFCC sequences)
to the convolutional models.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from songspace import checkpoint as ckpt
from songspace.config import TrainConfig
from songspace.errors import ConfigError
from songspace.features.spectral import log_mel_from_mfcc, mfcc_sequence, time_pool
from songspace.models.base import VAE
from songspace.parallel import read_rows

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
    """Items (rows) of an array-like as float32 tensors, optionally standardised as ``(x - mean) / scale``.

    ``data[i]`` is read only when item ``i`` is asked for, so a memory-mapped array (any dtype, any number of
    axes) stays on disk; ``mean`` and ``scale`` broadcast against one item.
    """

    def __init__(self, data: np.ndarray, mean: np.ndarray | None = None, scale: np.ndarray | None = None) -> None:
        self.data, self.mean, self.scale = data, mean, scale

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> torch.Tensor:
        x = self.view(read_rows(self.data, i).astype(np.float32, copy=False))
        if self.mean is not None:
            x = (x - self.mean) / self.scale
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))

    def __getitems__(self, indices: Sequence[int]) -> list[torch.Tensor]:
        """A whole batch in one read and one vectorised transform (torch's DataLoader calls this when it
        exists): the same values as ``[self[i] for i in indices]``, several times faster for small items."""
        x = self.view(read_rows(self.data, np.asarray(indices, dtype=np.int64)).astype(np.float32, copy=False))
        if self.mean is not None:
            x = (x - self.mean) / self.scale
        return list(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))

    def view(self, x: np.ndarray) -> np.ndarray:
        """What the model sees of raw items, before standardisation (here: the items themselves)."""
        return x

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Items in model units back to the units of ``data`` (undoes the standardisation). [shape=(k, ...)]"""
        x = np.asarray(x, dtype=np.float32)
        return x * self.scale + self.mean if self.mean is not None else x

    def fingerprint(self, *, full_below: int = 64 << 20, rows: int = 1024) -> str:
        """A hash of what this dataset serves, for naming training checkpoints (hex).

        Covers the array's shape and dtype, the standardisation, how items are viewed, and the data itself:
        every row when the array is under ``full_below`` bytes, else ``rows`` rows spread evenly over it (with
        the mean and scale, fitted over every item, standing for the rest). Reads what it hashes in slices.
        """
        h = hashlib.blake2b(digest_size=16)
        shape, dtype = np.shape(self.data), np.asarray(self.data[:0]).dtype
        h.update(repr((type(self).__name__, shape, str(dtype), self._view_settings())).encode())
        for a in (self.mean, self.scale):
            h.update(b"-" if a is None else np.ascontiguousarray(a, dtype=np.float32).tobytes())
        n = len(self.data)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        picked = np.arange(n) if nbytes < full_below else np.unique(np.linspace(0, n - 1, rows).astype(np.int64))
        for start in range(0, len(picked), 256):
            h.update(np.ascontiguousarray(read_rows(self.data, picked[start:start + 256])).tobytes())
        return h.hexdigest()

    def _view_settings(self) -> tuple:
        return ()

    @property
    def item_shape(self) -> tuple[int, ...]:
        """Shape of one item as served (``build_model(..., input_shape=dataset.item_shape)``)."""
        return tuple(self[0].shape)


class SpectrogramDataset(RowDataset):
    """Log-mel spectrograms of an array-like [shape=(n, n_mels, n_frames)] (float16 memmap welcome), for conv models.

    Item ``i`` is read when asked for, converted to float32, pooled in time to ``frames`` frames
    (:func:`time_pool`; 431 frames of 10 s clips become 128, and a conv_vae epoch takes 2.7 x less time), turned into
    MFCCs when ``n_mfcc`` is set (:func:`mfcc_sequence`), then standardised per bin: ``mean`` and ``scale`` have
    shape ``(n_bins, 1)``, one value per mel band (or MFCC coefficient) over every item and frame, so that quiet
    high bands and loud low bands weigh alike in the squared-error loss while each band keeps its dynamics over
    time. Set them with :meth:`fit_standardisation`, or pass those of another dataset.

    Parameters
    ----------
    log_mel : array-like [shape=(n, n_mels, n_frames)], dB
    mean, scale : np.ndarray [shape=(n_bins, 1)] or None (no standardisation).
    frames : time frames served (``None`` keeps all).
    n_mfcc : serve MFCC sequences [shape=(n_mfcc, frames)] instead of log-mel [shape=(n_mels, frames)].
    """

    def __init__(self, log_mel: np.ndarray, mean: np.ndarray | None = None, scale: np.ndarray | None = None, *,
                 frames: int | None = 128, n_mfcc: int | None = None) -> None:
        super().__init__(log_mel, mean, scale)
        self.frames, self.n_mfcc = frames, n_mfcc

    def _view_settings(self) -> tuple:
        return (self.frames, self.n_mfcc)

    def view(self, x: np.ndarray) -> np.ndarray:
        """Raw log-mel [shape=(..., n_mels, n_frames)] to what the model sees, before standardisation."""
        x = time_pool(x, self.frames)
        return mfcc_sequence(x, n_mfcc=self.n_mfcc) if self.n_mfcc else x

    def fit_standardisation(self, *, batch_size: int = 64) -> SpectrogramDataset:
        """Set ``mean`` and ``scale`` per bin in one streaming pass over slices of ``batch_size`` items.

        Sums and sums of squares are accumulated in float64, so that only one slice is in memory at a time.
        Bins that never vary get scale 1 (like ``sklearn.preprocessing.StandardScaler``). Returns ``self``.
        """
        n = len(self.data)
        if n == 0:
            raise ValueError("cannot standardise an empty dataset")
        total = squares = 0.0
        count = 0
        for start in range(0, n, batch_size):
            x = self.view(read_rows(self.data, slice(start, start + batch_size)).astype(np.float32)).astype(np.float64)
            total = total + x.sum(axis=(0, 2))
            squares = squares + np.square(x).sum(axis=(0, 2))
            count += x.shape[0] * x.shape[2]
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
        scale = np.where(std > 1e-6 * np.maximum(np.abs(mean), 1.0), std, 1.0)
        self.mean, self.scale = mean[:, None].astype(np.float32), scale[:, None].astype(np.float32)
        return self

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Items in model units back to dB log-mel [shape=(k, n_mels, frames)]; MFCC items via
        :func:`log_mel_from_mfcc` (so their spectrograms are smoothed over frequency)."""
        x = super().inverse_transform(x)
        return log_mel_from_mfcc(x, n_mels=np.shape(self.data[0])[-2]) if self.n_mfcc else x


@dataclass
class History:
    """Loss terms per epoch (means over samples), and how training ended."""

    train: list[dict[str, float]] = field(default_factory=list)
    val: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False
    seconds: float = 0.0  # training time, over every session of a resumed training
    device: str = "cpu"
    from_checkpoint: str = ""  # "" (trained here), "finished" (loaded) or "resumed after epoch N"
    diverged: str = ""  # why training stopped on a loss that is no longer a number ("" = it did not)


def amp_dtype(device: torch.device, amp: bool) -> torch.dtype | None:
    """The autocast dtype of mixed precision (``train.amp``): bfloat16 where the GPU has it (no loss scaling
    needed), else float16; None on the CPU or when ``amp`` is off."""
    if not amp or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _run_epoch(model: VAE, loader: DataLoader, device: torch.device,
               optimiser: torch.optim.Optimizer | None, *, amp: torch.dtype | None = None,
               scaler: torch.amp.GradScaler | None = None) -> dict[str, float]:
    model.train(optimiser is not None)
    sums: dict[str, float] = {}
    n = 0
    for x in loader:
        x = x.to(device, non_blocking=True)
        # Mixed precision: matmuls and convolutions in amp's dtype, reductions and the loss in float32 (autocast).
        with torch.set_grad_enabled(optimiser is not None), \
                torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            terms = model.loss(x, model(x))
        if optimiser is not None:
            optimiser.zero_grad(set_to_none=True)
            if scaler is not None:  # float16: scale the loss so that small gradients do not underflow
                scaler.scale(terms["total"]).backward()
                scaler.step(optimiser)
                scaler.update()
            else:
                terms["total"].backward()
                optimiser.step()
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(x)
        n += len(x)
    return {k: v / n for k, v in sums.items()}


def train(model: VAE, dataset: Dataset, cfg: TrainConfig, *, seed: int = 0,
          progress: Callable[[int, int, dict[str, float]], None] | None = None,
          checkpoint: Path | None = None) -> History:
    """Fit ``model`` on ``dataset`` and leave it at its best validation epoch.

    Parameters
    ----------
    model : any model of ``songspace.models`` (it provides ``loss``).
    dataset : yields one input tensor per item (see :class:`RowDataset`, :class:`SpectrogramDataset`).
    cfg : optimiser, batch size, epochs, early stopping.
    seed : fixes initial weights, the split, the batch order and the reparameterisation noise.
    progress : called as ``progress(epoch, max_epochs, val_or_train_terms)`` after each epoch.
    checkpoint : a file for the state of this training (:mod:`songspace.checkpoint`): saved every
        ``cfg.checkpoint_minutes`` and at the end; when it exists, training goes on from it (or, finished,
        is not run again) and ends where an uninterrupted training ends. Its name must say everything that
        makes this training what it is (:func:`songspace.checkpoint.training_key`).
    """
    seed_everything(seed)
    device = resolve_device(cfg.device)
    model.to(device)
    n = len(dataset)
    groups = getattr(dataset, "groups", None)  # items of one group (the crops of one track) stay on one side
    g = np.arange(n) if groups is None else np.unique(groups, return_inverse=True)[1]
    order = np.random.default_rng(seed).permutation(int(g.max()) + 1 if n else 0)
    n_val = int(round(len(order) * cfg.val_fraction)) if len(order) >= 20 else 0  # too few tracks to spare a split
    val_idx, train_idx = order[:n_val].tolist(), order[n_val:].tolist()
    if groups is not None:
        held = np.isin(g, order[:n_val])
        val_idx, train_idx = np.flatnonzero(held).tolist(), np.flatnonzero(~held).tolist()
    gen = torch.Generator().manual_seed(seed)
    pin = device.type == "cuda"
    train_loader = DataLoader(torch.utils.data.Subset(dataset, train_idx), batch_size=cfg.batch_size, shuffle=True,
                              generator=gen, pin_memory=pin)
    val_loader = (DataLoader(torch.utils.data.Subset(dataset, val_idx), batch_size=cfg.batch_size, pin_memory=pin)
                  if n_val else None)
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    amp = amp_dtype(device, cfg.amp)
    scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 else None
    if amp is not None:
        log.info("mixed precision: autocast to %s", amp)
    hist = History(device=str(device))
    best, best_state, since_best, first = float("inf"), copy.deepcopy(model.state_dict()), 0, 0
    saved = ckpt.load(checkpoint) if checkpoint is not None else None
    if saved is not None:
        hist = History(**saved["history"])
        best, since_best, first = saved["best"], saved["since_best"], saved["epochs"]
        best_state = saved["best_state"]
        if saved["done"]:
            model.load_state_dict(best_state)
            model.eval()
            hist.from_checkpoint = "finished"
            log.info("%s: trained before (%d epochs, best %d); checkpoint %s reused", type(model).__name__,
                     len(hist.train), hist.best_epoch + 1, checkpoint)
            return hist
        model.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        if scaler is not None and saved.get("scaler"):
            scaler.load_state_dict(saved["scaler"])
        _set_rng(saved["rng"], gen)
        hist.from_checkpoint = f"resumed after epoch {first}"
        log.info("%s: resuming from the checkpoint of epoch %d (%s)", type(model).__name__, first, checkpoint)
    start = time.perf_counter() - hist.seconds
    last_save = time.monotonic()

    def snapshot(done: bool) -> None:
        assert checkpoint is not None
        hist.seconds = time.perf_counter() - start
        ckpt.save(checkpoint, {"done": done, "epochs": len(hist.train),
                               "history": {**asdict(hist), "from_checkpoint": ""}, "best": best,
                               "since_best": since_best, "best_state": best_state,
                               **({} if done else {"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                                                   "scaler": scaler.state_dict() if scaler else {},
                                                   "rng": _get_rng(gen)})})

    for epoch in range(first, cfg.epochs):
        model.on_epoch(epoch, cfg.epochs)
        if hasattr(dataset, "set_epoch"):  # a dataset that draws new items each epoch (random crops)
            dataset.set_epoch(epoch)
        hist.train.append(_run_epoch(model, train_loader, device, optimiser, amp=amp, scaler=scaler))
        if val_loader is not None:
            hist.val.append(_run_epoch(model, val_loader, device, None, amp=amp))
        monitor = (hist.val or hist.train)[-1]
        bad = [k for k, v in {**hist.train[-1], **monitor}.items() if not math.isfinite(v)]
        if bad:  # diverged: later epochs cannot recover, and a NaN latent must never be clustered as if fine
            hist.diverged = (f"training diverged: loss term(s) {', '.join(sorted(set(bad)))} not finite at epoch "
                             f"{epoch + 1} (lower model.beta or train.lr)")
            log.error("%s: %s", type(model).__name__, hist.diverged)
            break
        if monitor["total"] < best - 1e-6:
            best, since_best, hist.best_epoch = monitor["total"], 0, epoch
            best_state = copy.deepcopy(model.state_dict())
        else:
            since_best += 1
        stop = since_best >= cfg.patience
        if checkpoint is not None and not stop and epoch + 1 < cfg.epochs \
                and time.monotonic() - last_save >= 60 * cfg.checkpoint_minutes:
            snapshot(done=False)
            last_save = time.monotonic()
        if progress:
            progress(epoch + 1, cfg.epochs, monitor)
        if stop:
            hist.stopped_early = True
            break
    model.load_state_dict(best_state)
    model.eval()
    hist.seconds = time.perf_counter() - start
    if checkpoint is not None:
        snapshot(done=True)
    log.info("trained %s for %d epochs on %s in %.1f s (best epoch %d)", type(model).__name__, len(hist.train),
             device, hist.seconds, hist.best_epoch + 1)
    return hist


def _get_rng(gen: torch.Generator) -> dict:
    """Every random generator training draws from (plain types and tensors, for ``weights_only`` loading)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {"torch": torch.get_rng_state(), "loader": gen.get_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
            "python": random.getstate()}


def _set_rng(state: dict, gen: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    gen.set_state(state["loader"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))


@torch.no_grad()
def embed(model: VAE, dataset: Dataset, *, batch_size: int = 256) -> np.ndarray:
    """Posterior means of every item, in order. [shape=(n, latent_dim), dtype=float32]"""
    model.eval()
    device = next(model.parameters()).device
    out = [model.embed(x.to(device)).cpu().numpy() for x in DataLoader(dataset, batch_size=batch_size)]
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, model.latent_dim), np.float32)


@torch.no_grad()
def reconstruct(model: VAE, dataset: RowDataset, indices: Sequence[int], *,
                restore: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Items and their reconstructions (decoded posterior means), for plotting.

    Parameters
    ----------
    model : a trained model; it stays on its device and is left in evaluation mode.
    dataset : the dataset it was trained on (a :class:`RowDataset` or :class:`SpectrogramDataset`).
    indices : items to reconstruct (a handful: they go through the model as one batch).
    restore : back to the units of the data with ``dataset.inverse_transform``: dB log-mel for a
        :class:`SpectrogramDataset`, MFCC models included; else the standardised units the model sees.

    Returns
    -------
    (inputs, reconstructions) : np.ndarray [shape=(k, *item_shape), dtype=float32] each; with ``restore``
        and MFCC items, [shape=(k, n_mels, frames)].
    """
    model.eval()
    device = next(model.parameters()).device
    x = torch.stack([dataset[int(i)] for i in indices]).to(device)
    inputs, recon = x.cpu().numpy(), model(x).recon.cpu().numpy()
    if restore:
        inputs, recon = dataset.inverse_transform(inputs), dataset.inverse_transform(recon)
    return inputs.astype(np.float32), recon.astype(np.float32)
