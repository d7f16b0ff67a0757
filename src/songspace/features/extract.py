"""Batch feature extraction for a whole collection, through the on-disk cache.

With several CPU workers, each worker process decodes a file and computes its log-mel and statistics
(one thread each, so the work spreads over the cores); on a GPU (or with one worker), workers only decode
and log-mel runs in batches in this process.
Every finished file is cached at once, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from songspace.config import FeatureConfig
from songspace.datasets.manifest import Problem
from songspace.errors import AudioDecodeError, RunError
from songspace.features.audio import (
    default_device,
    load_clip,
    log_mel,
    n_frames_for,
    spectral_stat_names,
    spectral_stats,
)
from songspace.features.cache import FeatureCache, disk_errors
from songspace.parallel import process_pool

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass
class FeatureSet:
    """Features of the tracks that could be used, in manifest order.

    ``log_mel`` and ``stats`` are memory-mapped from the cache: a 100k-track collection does not have to
    fit in RAM.
    """

    track_ids: list[str]
    log_mel: np.ndarray  # [shape=(n, n_mels, n_frames), dtype=float16], dB
    stats: np.ndarray  # [shape=(n, n_stats), dtype=float32], see stat_names
    stat_names: list[str]
    failed: list[Problem] = field(default_factory=list)  # files that could not be used, and why
    n_computed: int = 0
    n_cached: int = 0


def cache_settings(cfg: FeatureConfig) -> dict:
    """The settings that change feature values (batch size, workers and the cache folder do not)."""
    keep = ("sample_rate", "clip_seconds", "min_seconds", "n_fft", "hop_length", "n_mels", "fmin", "fmax",
            "n_mfcc")
    return {k: getattr(cfg, k) for k in keep}


def _decode(path: str, sr: int, clip_seconds: float, min_seconds: float) -> np.ndarray | str:
    """Worker: the clip, or the reason it cannot be used (a string crosses process borders safely)."""
    try:
        return load_clip(path, sr=sr, clip_seconds=clip_seconds, min_seconds=min_seconds)
    except AudioDecodeError as exc:
        return str(exc)
    except Exception as exc:  # a decoder bug must not end the whole run
        return f"{path}: unexpected error while decoding ({type(exc).__name__}: {exc})"


def _featurize(path: str, cfg: FeatureConfig) -> tuple[np.ndarray, np.ndarray] | str:
    """Worker (CPU path): ``(log_mel, stats)`` of one file, or the reason it cannot be used."""
    clip = _decode(path, cfg.sample_rate, cfg.clip_seconds, cfg.min_seconds)
    if isinstance(clip, str):
        return clip
    mel = _log_mel_batch(clip[None], cfg, "cpu")[0]
    return mel, spectral_stats(mel, sr=cfg.sample_rate, hop_length=cfg.hop_length, n_mfcc=cfg.n_mfcc)


def _log_mel_batch(clips: np.ndarray, cfg: FeatureConfig, device: str) -> np.ndarray:
    return log_mel(clips, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, n_mels=cfg.n_mels,
                   fmin=cfg.fmin, fmax=cfg.fmax, device=device)


class _Inline(Executor):
    """Runs tasks in this process (workers=1): no start-up cost, easier debugging."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        f: Future = Future()
        f.set_result(fn(*args, **kwargs))
        return f


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def extract_features(paths: Sequence[Path], track_ids: Sequence[str], cfg: FeatureConfig, *,
                     device: str | None = None, progress: Progress | None = None) -> FeatureSet:
    """Log-mel spectrograms and spectral statistics for every file, computed once and cached.

    Parameters
    ----------
    paths, track_ids : the files and their ids, same length and order.
    cfg : feature settings; ``cfg.cache_dir`` is where features are kept between runs.
    device : torch device for log-mel; None picks CUDA when present.
    progress : called as ``progress(done, total)`` while files are processed.

    Returns
    -------
    FeatureSet with the usable tracks in input order; unusable files are listed in ``failed``.
    """
    cache = FeatureCache(cfg.cache_dir, cache_settings(cfg))
    total = len(paths)
    digests = [cache.digest(Path(p)) for p in paths]
    # Only a marker per file is kept in memory (True or the error message); arrays stay on disk.
    results: dict[int, bool | str] = {}
    todo: list[int] = []
    for i, d in enumerate(digests):
        state = cache.status(d)
        if state is None:
            todo.append(i)
        else:
            results[i] = state
    n_cached = len(results)
    if progress:
        progress(n_cached, total)

    if todo:
        dev = device or str(default_device())
        workers = cfg.workers or os.cpu_count() or 1
        workers = min(workers, len(todo))
        pool: Executor = _Inline() if workers <= 1 else process_pool(workers)
        log.info("extracting features of %d files (%d cached) with %d decode worker(s), log-mel on %s",
                 len(todo), n_cached, workers, dev)
        # Several CPU workers: each computes its own files' features. One worker or a GPU: batched log-mel here.
        on_cpu = dev == "cpu" and workers > 1
        try:
            batches = list(_chunks(todo, cfg.batch_size))

            def submit(batch: Sequence[int]) -> list[Future]:
                if on_cpu:
                    return [pool.submit(_featurize, str(paths[i]), cfg) for i in batch]
                return [pool.submit(_decode, str(paths[i]), cfg.sample_rate, cfg.clip_seconds, cfg.min_seconds)
                        for i in batch]

            pending = submit(batches[0]) if batches else []
            for b, batch in enumerate(batches):
                futures = pending
                pending = submit(batches[b + 1]) if b + 1 < len(batches) else []  # keep the workers busy
                got = [f.result() for f in futures]
                good = [k for k, g in enumerate(got) if not isinstance(g, str)]
                if not on_cpu and good:  # got holds clips: one batched log-mel on the device
                    mels = _log_mel_batch(np.stack([got[k] for k in good]), cfg, dev)
                    for mel, k in zip(mels, good, strict=True):
                        got[k] = (mel, spectral_stats(mel, sr=cfg.sample_rate, hop_length=cfg.hop_length,
                                                      n_mfcc=cfg.n_mfcc))
                for k, i in enumerate(batch):
                    if isinstance(got[k], str):
                        cache.put_error(digests[i], got[k])
                        results[i] = got[k]
                    else:
                        cache.put(digests[i], *got[k])
                        results[i] = True
                if progress:
                    progress(len(results), total)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            cache.save_index()
    else:
        cache.save_index()

    ok = [i for i in range(total) if not isinstance(results[i], str)]
    failed = [Problem(str(paths[i]), str(results[i])) for i in range(total) if isinstance(results[i], str)]
    for p in failed:
        log.info("skipped: %s", p.reason)
    n_frames = n_frames_for(sr=cfg.sample_rate, clip_seconds=cfg.clip_seconds, hop_length=cfg.hop_length)
    n_stats = len(spectral_stat_names(n_mfcc=cfg.n_mfcc))
    mel_arr, stats_arr = _assemble(cache, [digests[i] for i in ok], (cfg.n_mels, n_frames), n_stats)
    return FeatureSet(
        track_ids=[track_ids[i] for i in ok],
        log_mel=mel_arr,
        stats=stats_arr,
        stat_names=spectral_stat_names(n_mfcc=cfg.n_mfcc),
        failed=failed,
        n_computed=len(todo),
        n_cached=n_cached,
    )


def _assemble(cache: FeatureCache, digests: list[str], mel_shape: tuple[int, int], n_stats: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """Stack cached items into memory-mapped arrays, one item in memory at a time.

    The result is kept in the cache and reused when the same ordered set of files comes again.
    """
    folder = cache.set_dir(digests)
    mel_path, stats_path = folder / "log_mel.npy", folder / "stats.npy"
    if mel_path.exists() and stats_path.exists():
        try:
            return np.load(mel_path, mmap_mode="r"), np.load(stats_path, mmap_mode="r")
        except (OSError, ValueError):
            pass  # damaged: rebuild below
    n = len(digests)
    with disk_errors(cache.root):
        folder.mkdir(parents=True, exist_ok=True)
        tmp_mel, tmp_stats = folder / "log_mel.tmp.npy", folder / "stats.tmp.npy"
        mel = np.lib.format.open_memmap(tmp_mel, mode="w+", dtype=np.float16, shape=(n, *mel_shape))
        stats = np.lib.format.open_memmap(tmp_stats, mode="w+", dtype=np.float32, shape=(n, n_stats))
        for j, d in enumerate(digests):
            item = cache.get(d)
            if not isinstance(item, tuple):
                raise RunError(f"{cache.root}: cached features of {d} vanished while assembling; run again.")
            mel[j], stats[j] = item
        mel.flush()
        stats.flush()
        del mel, stats
        os.replace(tmp_mel, mel_path)
        os.replace(tmp_stats, stats_path)
    return np.load(mel_path, mmap_mode="r"), np.load(stats_path, mmap_mode="r")
