"""Training checkpoints: a run that is stopped and started again does not train again what it had trained.

:func:`songspace.training.train` saves the whole state of a training (weights, optimiser, the best epoch so far,
every random generator) to one file every ``train.checkpoint_minutes`` and when it ends. Started again with the
same file, it goes on from the last saved epoch and ends with the numbers an uninterrupted training gives
(bit-for-bit on the CPU); a finished file is loaded instead of training at all.

Files live in ``train.checkpoint_dir`` (default ``~/.cache/songspace/training``, or ``$SONGSPACE_CHECKPOINT_DIR``),
one per training, named by :func:`training_key`: a hash of the model, its settings, the training settings, the
seed, the device type, songspace's and torch's versions and a fingerprint of the data
(:meth:`songspace.training.RowDataset.fingerprint`). Any change to these gives another file, so a checkpoint
written by another version or other settings is never picked up. Delete the folder to reclaim the space; set
``train.resume = false`` to neither read nor write checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

from songspace import __version__
from songspace.errors import RunError

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 1  # bump when what a checkpoint holds, or how training uses it, changes


def training_key(model_name: str, model_kwargs: dict[str, Any], train_settings: dict[str, Any], seed: int,
                 device_type: str, data_fingerprint: str) -> str:
    """Name of the checkpoint file of one training (hex, 24 characters)."""
    blob = json.dumps({"model": model_name, "kwargs": model_kwargs, "train": train_settings, "seed": seed,
                       "device": device_type, "data": data_fingerprint, "songspace": __version__,
                       "torch": torch.__version__, "format": CHECKPOINT_VERSION},
                      sort_keys=True, default=repr)
    return hashlib.blake2b(blob.encode(), digest_size=12).hexdigest()


def load(path: Path) -> dict[str, Any] | None:
    """The checkpoint saved at ``path``, or None when there is none or it cannot be read (logged: a
    checkpoint cut short by a crash is trained again, not trusted)."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: start over
        log.warning("%s: unreadable training checkpoint (%s: %s); training from the start", path,
                    type(exc).__name__, exc)
        return None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_VERSION:
        log.warning("%s: not a songspace training checkpoint of this version; training from the start", path)
        return None
    return state


def save(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (a kill mid-write leaves the previous checkpoint)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({**state, "format": CHECKPOINT_VERSION}, tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RunError(f"{path.parent}: cannot write a training checkpoint ({exc.strerror or exc}); free some "
                       "space, point train.checkpoint_dir at another folder, or set train.resume = false.") from exc
