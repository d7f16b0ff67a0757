"""Worker processes that do not fight over the cores, time limits for work that may hang, and reading rows of
memory-mapped arrays without growing the process.

Each worker of a process pool would otherwise start its own BLAS/OpenMP thread pool with one thread
per core, so ``workers`` processes run ``workers x cores`` threads and go slower than one process.
"""

from __future__ import annotations

import faulthandler
import mmap
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits


@lru_cache(maxsize=1)
def _libc() -> Any:
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only
        return libc
    except (OSError, AttributeError):
        return None


def trim_heap() -> bool:
    """Give the free memory inside the heap back to the system (glibc's ``malloc_trim``); False off glibc.

    Batch buffers of a few MB come from the heap once glibc has raised its mmap threshold, and freed ones
    leave holes that ordinary frees never return: embedding 100k log-mels in batches of 256 grew this
    process's own memory by 1.5 GB, with the number of tracks. :func:`read_rows` calls this
    after every 256 MB it reads, which keeps it flat (peak under 0.5 GB) at about 2% of training speed.
    (Fixing the mmap threshold instead keeps it flat too, but slows conv training 1.7x: every activation
    is then mapped and zeroed afresh.)
    """
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def _one_thread_each(parent_handles_sigint: bool = False) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the CLI's handler, inherited by a forked worker
    if parent_handles_sigint:
        # Ctrl-C reaches every process of the terminal's group: the parent stops the run and ends its workers
        # (end_workers), so a worker does not print its own KeyboardInterrupt traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    threadpool_limits(1)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def process_pool(workers: int, *, spawn: bool = False, parent_handles_sigint: bool = False) -> ProcessPoolExecutor:
    """A process pool whose workers each use one BLAS/OpenMP/torch thread.

    ``spawn``: start workers fresh rather than forked, for work that trains torch models (a forked child of a
    process whose OpenMP pool has run can hang in its first parallel region). ``parent_handles_sigint``: the
    workers ignore Ctrl-C, for a caller that ends them itself on KeyboardInterrupt (:func:`end_workers`).
    """
    context = multiprocessing.get_context("spawn") if spawn else None
    return ProcessPoolExecutor(max_workers=workers, initializer=_one_thread_each, initargs=(parent_handles_sigint,),
                               mp_context=context)


def end_workers(pool: ProcessPoolExecutor, grace_s: float = 5.0) -> None:
    """Shut ``pool`` down now when the run stops on a signal or an error: queued tasks cancelled, the workers given
    ``grace_s`` to finish the file in hand and leave, and those still busy then terminated (never left to block on a
    pipe nobody reads: an orphan).

    The grace matters: a worker terminated while it writes its result leaves half a message in the result pipe, and
    the pool's manager thread then waits for the rest for ever, which keeps this process from exiting."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public way before Python 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + grace_s
    for proc in processes:
        proc.join(timeout=max(0.0, deadline - time.monotonic()))
    for proc in processes:
        if proc.is_alive():  # a hung decoder: nothing else ends it
            proc.terminate()
    for proc in processes:
        proc.join(timeout=5)


@contextmanager
def one_thread(n: int = 1) -> Iterator[None]:
    """Run a block with one BLAS/OpenMP/torch thread (``n`` threads), as pool workers do, then restore the
    thread counts.

    Seeded training gives the same numbers in the parent as in a worker only when both use the same number of
    threads (a parallel reduction adds in another order).
    """
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(n):
        if torch is not None:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if torch is not None and before is not None:
                torch.set_num_threads(before)


class Fault(str):
    """Why a file was skipped when the fault was the worker's (a crash, a time limit): reported, not cached."""


class TimeLimit(BaseException):
    """Raised by the alarm; a BaseException, so that the decoders' ``except Exception`` cannot swallow it."""


_DEVNULL = None  # the watchdog's traceback goes nowhere: the parent logs the reason


@contextmanager
def time_limit(seconds: float, *, hard: bool = False) -> Iterator[None]:
    """Interrupt the block with :class:`TimeLimit` after ``seconds`` (an alarm: main thread only, where the
    block runs Python code); ``hard`` also ends the whole process at ``1.5 * seconds + 2`` (a watchdog thread
    that needs no interpreter lock, for code hung in C). Only worker processes may ask for ``hard``."""
    global _DEVNULL
    soft = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if soft:
        def on_alarm(signum: int, frame: Any) -> None:
            raise TimeLimit

        started = time.monotonic()
        previous = signal.signal(signal.SIGALRM, on_alarm)
        outer, interval = signal.setitimer(signal.ITIMER_REAL, seconds)  # an alarm set before ours: kept below
    if hard:
        if _DEVNULL is None:
            _DEVNULL = open(os.devnull, "w")  # noqa: SIM115 - kept open for the worker's life
        faulthandler.dump_traceback_later(1.5 * seconds + 2, exit=True, file=_DEVNULL)
    try:
        yield
    finally:
        if hard:
            faulthandler.cancel_dump_traceback_later()
        if soft:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if outer:
                signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 1e-3), interval)


def read_rows(data: np.ndarray, index: int | slice | np.ndarray) -> np.ndarray:
    """``data[index]`` as an array in memory, for an int, a slice of step 1 or an array of ints.

    A memory-mapped ``.npy`` (``np.load(path, mmap_mode="r")``) is read with ``os.pread`` instead of through the
    mapping: the rows then live in the page cache, not in this process's resident set, which so stays flat over an
    epoch of a 100k-track collection (reading through the mapping leaves every page touched counted as resident).
    Anything else (arrays, views, array-likes) is indexed as it is. Every 256 MB read, the heap is trimmed
    (:func:`~songspace.parallel.trim_heap`), so that batch buffers freed do not pile up over an epoch.
    """
    if not (isinstance(data, np.memmap) and isinstance(data.base, mmap.mmap) and data.filename
            and data.flags.c_contiguous and data.ndim >= 1):
        return np.asarray(data[index])
    n = data.shape[0]
    row_shape, row_bytes = data.shape[1:], int(np.prod(data.shape[1:], dtype=np.int64)) * data.dtype.itemsize
    if isinstance(index, slice):
        start, stop, step = index.indices(n)
        if step != 1:
            return np.asarray(data[index])
        rows = np.arange(start, stop)
    else:
        rows = np.asarray(index, dtype=np.int64)
        if rows.ndim > 1:
            return np.asarray(data[index])
    single = rows.ndim == 0
    rows = np.atleast_1d(rows)
    if rows.size and (rows.min() < -n or rows.max() >= n):
        raise IndexError(f"row index out of range for {n} rows")
    rows = np.where(rows < 0, rows + n, rows)
    out = np.empty((rows.size, *row_shape), dtype=data.dtype)
    if rows.size == 0 or row_bytes == 0:
        return out
    buf = out.reshape(rows.size, -1).view(np.uint8)
    fd = os.open(data.filename, os.O_RDONLY)
    try:
        j = 0
        while j < rows.size:  # one read per run of consecutive rows
            k = j + 1
            while k < rows.size and rows[k] == rows[k - 1] + 1:
                k += 1
            want, offset = (k - j) * row_bytes, data.offset + int(rows[j]) * row_bytes
            got = os.preadv(fd, [memoryview(buf[j:k]).cast("B")], offset)
            if got != want:
                raise OSError(f"{data.filename}: short read ({got} of {want} bytes); the file changed on disk?")
            j = k
    finally:
        os.close(fd)
    _trim_after(out.nbytes)
    return out[0] if single else out


TRIM_EVERY = 256 << 20  # bytes read by read_rows between two heap trims
_read_since_trim = 0


def _trim_after(nbytes: int) -> None:
    global _read_since_trim
    _read_since_trim += nbytes
    if _read_since_trim >= TRIM_EVERY:
        _read_since_trim = 0
        trim_heap()
