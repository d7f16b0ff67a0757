"""A pretrained encoder's vectors for a whole collection, computed once per file and cached on disk.

Layout under ``<features.cache_dir>/embeddings/``::

    <encoder hash>/settings.json            the encoder's cache key and the decoding settings
        items/<ab>/<content hash>.npy        one file's vector [shape=(dim,), float32]
        sets/<set hash>.npy                  a collection's vectors stacked, memory-mappable [shape=(n, dim)]

The encoder hash covers :meth:`~songspace.features.encoders.AudioEncoder.cache_key` (model, weights digest, layer,
pooling, code version), the decoding settings (``clip_seconds``, ``min_seconds``, the encoder's sample rate) and
the decoders' versions: another model, layer or decoder never serves old vectors. A file is decoded as the
features decode it (the same middle excerpt, at the encoder's rate) in worker processes. On the CPU each worker
(one thread each, forked with the encoder) also embeds its file, alone, so that its vector is the same bits
whatever its neighbours and the work spreads over the cores; on a GPU the clips are batched there (equal within
float32 rounding). Items are written to a temporary name and renamed: an interrupted run
keeps what it finished. A set stays one float32 row per track: 100k tracks of a 200-d encoder are 80 MB.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from songspace.config import FeatureConfig
from songspace.datasets.manifest import Problem
from songspace.errors import SongspaceError
from songspace.features.cache import (
    FeatureCache,
    atomic_write_bytes,
    decoder_key,
    disk_errors,
    settings_hash,
)
from songspace.features.encoders import AudioEncoder
from songspace.features.extract import FilePool, Progress, _decode, cache_settings
from songspace.parallel import one_thread

log = logging.getLogger(__name__)


@dataclass
class EmbeddingSet:
    """An encoder's vectors of the files asked for, in their order. Rows of ``failed`` files are NaN."""

    vectors: np.ndarray  # [shape=(n, dim), dtype=float32], memory-mapped from the cache
    failed: list[Problem] = field(default_factory=list)
    n_computed: int = 0


def _root(cfg: FeatureConfig, encoder: AudioEncoder) -> tuple[Path, dict]:
    settings = {"encoder": encoder.cache_key(), "sample_rate": int(encoder.sample_rate),
                "clip_seconds": cfg.clip_seconds, "min_seconds": cfg.min_seconds, "decoders": decoder_key()}
    return Path(cfg.cache_dir).expanduser() / "embeddings" / settings_hash(settings), settings


def _read_item(path: Path, dim: int) -> np.ndarray | None:
    """A cached vector when it reads back whole, with ``dim`` finite values; else None (a damaged one deleted)."""
    if not path.is_file():
        return None
    try:
        v = np.load(path, allow_pickle=False)
        if v.shape == (dim,) and v.dtype == np.float32 and np.isfinite(v).all():
            return v
        why = f"shape {v.shape}, dtype {v.dtype}"
    except Exception as exc:  # truncated or foreign: computed again
        why = f"{type(exc).__name__}: {exc}"
    log.warning("%s: damaged embedding cache item (%s); deleted, recomputing it", path, why)
    path.unlink(missing_ok=True)
    return None


def _write_item(path: Path, vector: np.ndarray, root: Path) -> None:
    with disk_errors(root):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.tmp{os.getpid()}.npy")
        np.save(tmp, np.asarray(vector, dtype=np.float32))
        os.replace(tmp, path)


def embed_files(paths: Sequence[Path | str], encoder: AudioEncoder, cfg: FeatureConfig, *,
                progress: Progress | None = None) -> EmbeddingSet:
    """The encoder's vector of every file, from the cache where it is there, else computed (and cached).

    Parameters
    ----------
    paths : the audio files (those the features could use), in the order of the rows wanted.
    encoder : a pretrained encoder (:class:`~songspace.features.encoders.AudioEncoder`).
    cfg : the feature settings: the excerpt (``clip_seconds``, ``min_seconds``), ``workers`` that decode,
        ``batch_size`` (clips per encoder batch on a GPU), ``file_timeout_s`` and ``cache_dir``.
    progress : called as ``progress(done, total)``.

    Returns
    -------
    EmbeddingSet, vectors [shape=(len(paths), encoder.dim), dtype=float32]; a file that cannot be decoded or
    embedded is listed in ``failed`` and its row is NaN.
    """
    root, settings = _root(cfg, encoder)
    with disk_errors(root):
        (root / "items").mkdir(parents=True, exist_ok=True)
        if not (root / "settings.json").is_file():
            atomic_write_bytes(root / "settings.json", json.dumps(settings, indent=2, default=str).encode())
    dim = int(encoder.dim)
    digests_of = FeatureCache(cfg.cache_dir, cache_settings(cfg))  # its path -> content-hash index, shared
    total = len(paths)
    digests: list[str] = []
    failed: dict[int, str] = {}
    for i, p in enumerate(paths):
        try:
            digests.append(digests_of.digest(Path(p)))
        except OSError as exc:
            digests.append("")
            failed[i] = f"{p}: cannot read the file ({exc.strerror or exc})"
    digests_of.save_index()
    item = {i: root / "items" / d[:2] / f"{d}.npy" for i, d in enumerate(digests) if d}
    todo = [i for i in item if _read_item(item[i], dim) is None]
    done = total - len(todo)
    if progress:
        progress(done, total)
    if todo:
        on_gpu = str(getattr(encoder, "device", "cpu")) != "cpu"
        # Workers embed only where they are forked from this process (Linux): they then share the encoder without
        # pickling it. Where workers are spawned (macOS, Windows) they decode, and this process embeds.
        in_workers = not on_gpu and multiprocessing.get_start_method() == "fork"
        workers = max(1, min(cfg.workers or os.cpu_count() or 1, len(todo)))
        log.info("embedding %d files with %s (%d cached), %s", len(todo),
                 encoder.cache_key().get("model", "encoder"), done,
                 f"decoded and embedded by {workers} worker process(es) of one thread each" if in_workers else
                 f"decoded by {workers} worker(s), embedded " + ("in batches on the GPU" if on_gpu else "here"))
        global _WORKER_ENCODER
        _WORKER_ENCODER = encoder if in_workers else None  # forked workers find it there (never pickled)
        pool = FilePool(workers, cfg.file_timeout_s)
        try:
            chunks = [todo[s:s + cfg.batch_size] for s in range(0, len(todo), cfg.batch_size)]
            task_fn = _decode_and_embed if in_workers else _decode

            def submit(chunk: list[int]) -> list:
                return [pool.submit(task_fn, str(paths[i]), int(encoder.sample_rate), cfg.clip_seconds,
                                    cfg.min_seconds) for i in chunk]

            pending = submit(chunks[0])
            for c, chunk in enumerate(chunks):
                tasks, pending = pending, (submit(chunks[c + 1]) if c + 1 < len(chunks) else [])
                got = {i: pool.result(task) for i, task in zip(chunk, tasks, strict=True)}
                failed.update({i: g for i, g in got.items() if isinstance(g, str)})
                keys = [i for i, g in got.items() if not isinstance(g, str)]
                if on_gpu and keys:  # got holds clips: one batch through the encoder here
                    try:
                        vectors = list(encoder.embed([got[i] for i in keys]))
                    except SongspaceError:  # one clip's fault: each alone, to name it
                        vectors = [_embed_one(encoder, got[i], paths[i]) for i in keys]
                elif not in_workers:  # got holds clips: each alone through the encoder here
                    with one_thread():
                        vectors = [_embed_one(encoder, got[i], paths[i]) for i in keys]
                else:  # got holds vectors, each computed alone: a file's vector never depends on its neighbours
                    vectors = [got[i] for i in keys]
                for i, v in zip(keys, vectors, strict=True):
                    if isinstance(v, str):
                        failed[i] = v
                        continue
                    if v.shape != (dim,) or not np.isfinite(v).all():
                        failed[i] = f"{paths[i]}: the encoder gave {v.shape} values, not {dim} finite ones"
                    else:
                        _write_item(item[i], v, root)
                done += len(chunk)
                if progress:
                    progress(done, total)
        finally:
            pool.shutdown()
            _WORKER_ENCODER = None
    vectors = _assemble(root, digests, item, dim, failed)
    problems = [Problem(str(paths[i]), why) for i, why in sorted(failed.items())]
    for p in problems:
        log.warning("not embedded: %s", p.reason)
    return EmbeddingSet(vectors, problems, n_computed=len(todo))


# The encoder of the embedding under way, for worker processes forked from this one (copy-on-write: a model of
# hundreds of MB is neither pickled nor loaded again per worker).
_WORKER_ENCODER: AudioEncoder | None = None


def _embed_one(encoder: AudioEncoder, clip: np.ndarray, path: Path | str) -> np.ndarray | str:
    """One clip's vector, or why the encoder could not give it (the file named)."""
    try:
        return np.asarray(encoder.embed([clip])[0], dtype=np.float32)
    except SongspaceError as exc:
        return f"{path}: the encoder failed on it ({exc})"
    except Exception as exc:  # a model bug on one odd clip must not end the run
        return f"{path}: unexpected error in the encoder ({type(exc).__name__}: {exc})"


def _decode_and_embed(path: str, sr: int, clip_seconds: float, min_seconds: float) -> np.ndarray | str:
    """Worker (one thread): the file's vector from the forked-in encoder, or why it cannot be had."""
    clip = _decode(path, sr, clip_seconds, min_seconds)
    if isinstance(clip, str):
        return clip
    assert _WORKER_ENCODER is not None, "embedding workers are forked with the encoder set"
    return _embed_one(_WORKER_ENCODER, clip, path)


def _assemble(root: Path, digests: list[str], item: dict[int, Path], dim: int, failed: dict[int, str]) -> np.ndarray:
    """The items stacked in order into one memory-mapped ``.npy`` (NaN rows for ``failed``), reused while whole."""
    key = hashlib.blake2b("\n".join(d if i not in failed else "-" for i, d in enumerate(digests)).encode(),
                          digest_size=10).hexdigest()
    target = root / "sets" / f"{key}.npy"
    if target.is_file():
        try:
            got = np.load(target, mmap_mode="r", allow_pickle=False)
            if got.shape == (len(digests), dim) and got.dtype == np.float32:
                return got
        except Exception as exc:
            log.warning("%s: damaged embedding set (%s); assembled again", target, exc)
    with disk_errors(root):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.stem}.tmp{os.getpid()}.npy")
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(digests), dim))
        for i in range(len(digests)):
            v = None if i in failed else _read_item(item[i], dim)
            if v is None and i not in failed:
                failed[i] = f"{item[i]}: its cached vector was lost while the set was assembled; run again"
            out[i] = np.nan if v is None else v
        out.flush()
        del out
        os.replace(tmp, target)
    return np.load(target, mmap_mode="r", allow_pickle=False)
