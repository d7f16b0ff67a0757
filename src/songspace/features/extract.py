"""Batch feature extraction for a whole collection, through the on-disk cache.

Files are always decoded in worker processes, one at least. With several CPU workers, each worker decodes a
file and computes its log-mel and statistics (one thread each, so the work spreads over the cores); on a GPU
(or with one worker), workers decode and compute the statistics that need the waveform (the music descriptors),
and log-mel runs in this process (in batches on a GPU; one clip at a time with one thread on the CPU, so that a
file's features on the CPU are the same bits whatever its neighbours and the worker count). With
``features.scheduler`` set, the per-file work runs on a Dask cluster instead (:mod:`songspace.distributed`),
and this process writes the same cache. Every finished file is cached at once, so an interrupted run resumes
where it stopped; the collection is then assembled, a chunk at a time, into memory-mapped arrays
(:meth:`FeatureCache.assemble`).

Faults are the file's, not the run's:

- a file that takes longer than ``features.file_timeout_s`` to decode is skipped (listed in ``failed``).
  The limit is enforced twice: an alarm interrupts Python code at the limit, and a
  watchdog thread that needs no interpreter lock ends the worker at 1.5 x the limit + 2 s when a decoder
  hangs inside C code;
- a worker process that dies (a decoder crash, the OS killing it for memory, the watchdog) breaks the pool:
  the pool is restarted, the files that were in flight are tried again one by one in a separate worker, the
  file that kills that worker too is skipped, and the rest finish. Timeouts and crashes are not cached (they
  may not recur); files that decode to an error are, under the decoders' versions;
- features that are not finite, or out of the range sound gives (:func:`~songspace.features.checks.check_features`),
  are listed in ``failed`` and never cached; a cached item that does not read back whole is deleted and computed
  again, in the same run.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from songspace.config import FeatureConfig
from songspace.datasets.manifest import Problem
from songspace.distributed import check_scheduler, map_files
from songspace.errors import AudioDecodeError
from songspace.features.audio import (
    STATS_VERSION,
    default_device,
    load_clip,
    log_mel,
    mel_stats,
    n_frames_for,
    spectral_stat_names,
)
from songspace.features.cache import DamagedItems, FeatureCache
from songspace.features.checks import check_features
from songspace.features.descriptors import music_descriptors
from songspace.parallel import Fault, TimeLimit, end_workers, one_thread, process_pool, time_limit

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
    """The settings that change feature values (batch size, workers, time limit, scheduler and the cache folder
    do not), and the version of the statistics' code, so that a cache never serves statistics of older code."""
    keep = ("sample_rate", "clip_seconds", "min_seconds", "n_fft", "hop_length", "n_mels", "fmin", "fmax",
            "n_mfcc")
    return {**{k: getattr(cfg, k) for k in keep}, "stats_version": STATS_VERSION}


# --- per-file work (runs in worker processes) --------------------------------------------------------------


def _decode(path: str, sr: int, clip_seconds: float, min_seconds: float) -> np.ndarray | str:
    """Worker: the clip, or the reason it cannot be used (a string crosses process borders safely)."""
    try:
        return load_clip(path, sr=sr, clip_seconds=clip_seconds, min_seconds=min_seconds)
    except AudioDecodeError as exc:
        return str(exc)
    except Exception as exc:  # a decoder bug must not end the whole run
        return f"{path}: unexpected error while decoding ({type(exc).__name__}: {exc})"


def featurize(path: str, cfg: FeatureConfig) -> tuple[np.ndarray, np.ndarray] | str:
    """``(log_mel, stats)`` of one file computed on the CPU, or the reason it cannot be used.

    Returns
    -------
    log_mel : np.ndarray [shape=(n_mels, n_frames), dtype=float16], dB, as the cache stores it
    stats : np.ndarray [shape=(n_stats,), dtype=float32]
    """
    got = decode_and_describe(path, cfg)
    if isinstance(got, str):
        return got
    mel, stats = _finish([got], cfg, "cpu")[0]
    return mel.astype(np.float16), stats


def decode_and_describe(path: str, cfg: FeatureConfig) -> tuple[np.ndarray, np.ndarray] | str:
    """Worker: the clip and its music descriptors (the statistics that need the waveform), or the reason the
    file cannot be used. The rest of the statistics come from the log-mel, which may be computed in a batch."""
    clip = _decode(path, cfg.sample_rate, cfg.clip_seconds, cfg.min_seconds)
    if isinstance(clip, str):
        return clip
    try:
        return clip, music_descriptors(clip, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length)
    except Exception as exc:  # a bug on one odd clip must not end the whole run
        return f"{path}: unexpected error in the music descriptors ({type(exc).__name__}: {exc})"


def _stats(mel: np.ndarray, descriptors: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """The statistics of one clip (:func:`~songspace.features.audio.spectral_stats`) from its log-mel and its
    descriptors. [shape=(n_stats,), dtype=float32]"""
    return np.concatenate([mel_stats(mel, sr=cfg.sample_rate, hop_length=cfg.hop_length, n_mfcc=cfg.n_mfcc),
                           descriptors]).astype(np.float32)


def _log_mel_batch(clips: np.ndarray, cfg: FeatureConfig, device: str) -> np.ndarray:
    return log_mel(clips, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, n_mels=cfg.n_mels,
                   fmin=cfg.fmin, fmax=cfg.fmax, device=device)


def _finish(decoded: list[tuple[np.ndarray, np.ndarray]], cfg: FeatureConfig, device: str
            ) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(log_mel, stats)`` of decoded ``(clip, descriptors)`` pairs. On a GPU the log-mels are one batch (a clip's
    values may then differ from a lone clip's by float32 rounding). On the CPU each clip is computed alone with one
    thread, as a worker computes it, so that a file's features never depend on its batch neighbours or on the
    worker count: bit-identical on a given machine (cached ≡ fresh, resumed ≡ uninterrupted)."""
    if device != "cpu":
        mels = _log_mel_batch(np.stack([clip for clip, _ in decoded]), cfg, device)
        return [(mel, _stats(mel, desc, cfg)) for mel, (_, desc) in zip(mels, decoded, strict=True)]
    out = []
    with one_thread():
        for clip, desc in decoded:
            mel = _log_mel_batch(clip[None], cfg, "cpu")[0]
            out.append((mel, _stats(mel, desc, cfg)))
    return out


def _limited(fn: Callable[..., Any], args: tuple, timeout_s: float) -> Any:
    """Worker process: ``fn(*args)`` under the time limit, or the reason it was stopped."""
    try:
        with time_limit(timeout_s, hard=True):
            return fn(*args)
    except TimeLimit:
        return Fault(_timeout_reason(args[0], timeout_s))


def _timeout_reason(path: str, timeout_s: float) -> str:
    return (f"{path}: decoding took longer than features.file_timeout_s = {timeout_s:g} s (a hung decoder?); "
            "skipped. Re-encode the file (e.g. to FLAC) or raise the limit.")


# --- worker processes that survive faults --------------------------------------------------------------------


@dataclass
class _Task:
    future: Future
    generation: int
    args: tuple


class FilePool:
    """Per-file tasks in ``workers`` processes (one at least: even a single worker runs apart from this process,
    so that a decoder hung in C code or crashing cannot take the run with it), each under a time limit,
    surviving workers that die: see the module docstring.

    ``submit(fn, path, *rest)`` then ``result(task)``; ``fn`` must return, not raise, per-file errors.
    """

    def __init__(self, workers: int, timeout_s: float) -> None:
        self.workers, self.timeout_s = max(1, workers), timeout_s
        self._pool = process_pool(self.workers, parent_handles_sigint=True)
        self._alone_pool: ProcessPoolExecutor | None = None
        self.generation = 0  # bumped at each restart: futures of an older pool are known broken
        self.restarts = 0

    def submit(self, fn: Callable[..., Any], *args: Any) -> _Task:
        f: Future = Future()
        try:
            f = self._pool.submit(_limited, fn, args, self.timeout_s)
        except BrokenProcessPool as exc:  # broken by a task before this one: result() handles it
            f.set_exception(exc)
        return _Task(f, self.generation, (fn, *args))

    def result(self, task: _Task) -> Any:
        """The task's result; when a worker died while it was in flight, the result of running it alone."""
        try:
            return task.future.result()
        except BrokenProcessPool:
            if task.generation == self.generation:  # the first of this pool's broken tasks: restart it
                self._restart()
            return self._alone(task.args)

    def _restart(self) -> None:
        log.warning("a feature worker died; restarting the pool and retrying the files in flight one by one")
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = process_pool(self.workers, parent_handles_sigint=True)
        self.generation += 1
        self.restarts += 1

    def _alone(self, args: tuple) -> Any:
        """Run one task in a separate one-worker pool: if that worker dies, this file is what killed it."""
        fn, path, *_ = args
        if self._alone_pool is None:
            self._alone_pool = process_pool(1, parent_handles_sigint=True)
        t = time.perf_counter()
        try:
            return self._alone_pool.submit(_limited, fn, tuple(args[1:]), self.timeout_s).result()
        except BrokenProcessPool:
            self._alone_pool.shutdown(wait=False, cancel_futures=True)
            self._alone_pool = None
            took = time.perf_counter() - t
            if took >= self.timeout_s:
                reason = _timeout_reason(path, self.timeout_s)
            else:
                reason = (f"{path}: the feature worker died while decoding it (a decoder crash, or the OS ended it "
                          "for memory); skipped. Re-encode the file (e.g. to FLAC) or remove it.")
            log.warning("%s", reason)
            return Fault(reason)

    def shutdown(self, *, terminate: bool = False) -> None:
        """Stop the pools; ``terminate`` also ends workers still busy (the run is stopping: no orphan)."""
        for pool in (self._pool, self._alone_pool):
            if pool is not None:
                if terminate:
                    end_workers(pool)
                else:
                    pool.shutdown(wait=False, cancel_futures=True)


# --- the collection -------------------------------------------------------------------------------------------


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def extract_features(paths: Sequence[Path], track_ids: Sequence[str], cfg: FeatureConfig, *,
                     device: str | None = None, scheduler: str | None = None,
                     progress: Progress | None = None) -> FeatureSet:
    """Log-mel spectrograms and spectral statistics for every file, computed once and cached.

    Parameters
    ----------
    paths, track_ids : the files and their ids, same length and order.
    cfg : feature settings; ``cfg.cache_dir`` is where features are kept between runs.
    device : torch device for log-mel; None picks CUDA when present.
    scheduler : run the per-file work on Dask: ``"local:N"`` or ``"tcp://HOST:8786"``
        (:mod:`songspace.distributed`); None takes ``cfg.scheduler`` (None there too: worker processes here).
    progress : called as ``progress(done, total)`` while files are processed.

    Returns
    -------
    FeatureSet with the usable tracks in input order; unusable files are listed in ``failed``.
    """
    scheduler = scheduler or cfg.scheduler
    if scheduler:
        check_scheduler(scheduler)
    cache = FeatureCache(cfg.cache_dir, cache_settings(cfg))
    total = len(paths)
    # Only a marker per file is kept in memory (True or the error message); arrays stay on disk.
    results: dict[int, bool | str] = {}
    digests: list[str] = []
    for i, p in enumerate(paths):
        try:
            digests.append(cache.digest(Path(p)))
        except OSError as exc:  # gone or unreadable since the dataset was read: this file, not the run
            digests.append("")
            results[i] = Fault(f"{p}: cannot read the file ({exc.strerror or exc}); it may have been moved or "
                               "deleted since the dataset was read.")
        if i % 5000 == 4999:  # a run killed while hashing a large collection keeps what it hashed
            cache.save_index()
    todo: list[int] = []
    for i, d in enumerate(digests):
        if i in results:
            continue
        state = cache.status(d)
        if state is None:
            todo.append(i)
        else:
            results[i] = state
    n_cached = len(results) - sum(isinstance(r, Fault) for r in results.values())
    if progress:
        progress(n_cached, total)

    def keep(i: int, got: tuple[np.ndarray, np.ndarray] | str) -> None:
        if isinstance(got, Fault):  # the worker's fault, not the file's: tried again next run
            results[i] = str(got)
        elif isinstance(got, str):
            cache.put_error(digests[i], got)
            results[i] = got
        else:
            why = check_features(*got)
            if why:  # never cached: listed, and computed again next run
                results[i] = f"{paths[i]}: {why}"
            else:
                cache.put(digests[i], *got)
                results[i] = True

    def compute(indices: list[int]) -> None:
        try:
            if indices and scheduler:  # map_files imports dask: only here, when a scheduler is set
                log.info("extracting features of %d files (%d cached) on the Dask cluster %s", len(indices),
                         n_cached, scheduler)
                for k, got in map_files(scheduler, featurize_one_thread, [(str(paths[i]), cfg) for i in indices],
                                        timeout_s=cfg.file_timeout_s):
                    keep(indices[k], got)
                    if progress:
                        progress(len(results), total)
            elif indices:
                _extract_here(paths, indices, cfg, device, keep,
                              lambda: progress(len(results), total) if progress else None)
        finally:
            cache.save_index()

    compute(todo)
    n_frames = n_frames_for(sr=cfg.sample_rate, clip_seconds=cfg.clip_seconds, hop_length=cfg.hop_length)
    n_stats = len(spectral_stat_names(n_mfcc=cfg.n_mfcc))
    ok = [i for i in range(total) if not isinstance(results[i], str)]
    try:
        mel_arr, stats_arr = cache.assemble([digests[i] for i in ok], (cfg.n_mels, n_frames), n_stats)
    except DamagedItems as exc:  # cached items that did not read back whole (deleted, logged): computed again
        damaged = set(exc.digests)
        redo = [i for i in ok if digests[i] in damaged]
        log.warning("%d cached feature item(s) were damaged; computing them again", len(redo))
        for i in redo:
            del results[i]
        n_cached -= sum(i not in todo for i in redo)
        todo = todo + [i for i in redo if i not in todo]
        compute(redo)
        ok = [i for i in range(total) if not isinstance(results[i], str)]
        mel_arr, stats_arr = cache.assemble([digests[i] for i in ok], (cfg.n_mels, n_frames), n_stats)
    failed = [Problem(str(paths[i]), str(results[i])) for i in range(total) if isinstance(results[i], str)]
    for p in failed:
        log.info("skipped: %s", p.reason)
    return FeatureSet(
        track_ids=[track_ids[i] for i in ok],
        log_mel=mel_arr,
        stats=stats_arr,
        stat_names=spectral_stat_names(n_mfcc=cfg.n_mfcc),
        failed=failed,
        n_computed=len(todo),
        n_cached=n_cached,
    )


def warm_up(cfg: FeatureConfig) -> None:
    """Features of one second of noise, so that librosa's compiled (numba) code and torch's first-call set-up
    are ready before workers fork: a worker's first file then takes what any file takes (tens of ms, not
    3 s), and the time limit measures the file alone."""
    noise = np.random.default_rng(0).standard_normal(cfg.sample_rate).astype(np.float32) * 0.1
    with one_thread():
        mel = _log_mel_batch(noise[None], cfg, "cpu")[0]
        _stats(mel, music_descriptors(noise, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length), cfg)


def _extract_here(paths: Sequence[Path], todo: list[int], cfg: FeatureConfig, device: str | None,
                  keep: Callable[[int, Any], None], tick: Callable[[], None]) -> None:
    """The files ``todo`` on this machine: worker processes, and batched log-mel here on a GPU."""
    dev = device or str(default_device())
    workers = min(cfg.workers or os.cpu_count() or 1, len(todo))
    warm_up(cfg)
    pool = FilePool(workers, cfg.file_timeout_s)
    log.info("extracting features of %d files with %d decode worker(s), log-mel on %s", len(todo), workers, dev)
    # Several CPU workers: each computes its own files' features. One worker or a GPU: batched log-mel here.
    on_cpu = dev == "cpu" and workers > 1
    try:
        batches = list(_chunks(todo, cfg.batch_size))

        def submit(batch: Sequence[int]) -> list[_Task]:
            if on_cpu:
                return [pool.submit(featurize, str(paths[i]), cfg) for i in batch]
            return [pool.submit(decode_and_describe, str(paths[i]), cfg) for i in batch]

        pending = submit(batches[0]) if batches else []
        for b, batch in enumerate(batches):
            tasks = pending
            pending = submit(batches[b + 1]) if b + 1 < len(batches) else []  # keep the workers busy
            got = [pool.result(t) for t in tasks]
            good = [k for k, g in enumerate(got) if not isinstance(g, str)]
            if not on_cpu and good:  # got holds (clip, descriptors): log-mel and statistics here
                for k, item in zip(good, _finish([got[k] for k in good], cfg, dev), strict=True):
                    got[k] = item
            for k, i in enumerate(batch):
                keep(i, got[k])
            tick()
    except BaseException:  # Ctrl-C, SIGTERM, an error: end the workers, never leave one running
        pool.shutdown(terminate=True)
        raise
    pool.shutdown()


def featurize_one_thread(path: str, cfg: FeatureConfig) -> tuple[np.ndarray, np.ndarray] | str:
    """:func:`featurize` with one BLAS/torch thread, as a pool worker runs it (so a Dask worker, whatever its
    thread settings, computes the same numbers as this machine's worker processes)."""
    with one_thread():
        return featurize(path, cfg)
