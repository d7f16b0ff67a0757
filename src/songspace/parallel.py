"""Worker processes that do not fight over the cores.

Each worker of a process pool would otherwise start its own BLAS/OpenMP thread pool with one thread
per core, so ``workers`` processes run ``workers x cores`` threads and go slower than one process.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

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
    process's own memory by 1.5 GB, with the number of tracks. :func:`songspace.training.read_rows` calls this
    after every 256 MB it reads, which keeps it flat (peak under 0.5 GB) at about 2% of training speed.
    (Fixing the mmap threshold instead keeps it flat too, but slows conv training 1.7x: every activation
    is then mapped and zeroed afresh.)
    """
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def _one_thread_each() -> None:
    threadpool_limits(1)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def process_pool(workers: int, *, spawn: bool = False) -> ProcessPoolExecutor:
    """A process pool whose workers each use one BLAS/OpenMP/torch thread.

    ``spawn``: start workers fresh rather than forked, for work that trains torch models (a forked child of a
    process whose OpenMP pool has run can hang in its first parallel region).
    """
    context = multiprocessing.get_context("spawn") if spawn else None
    return ProcessPoolExecutor(max_workers=workers, initializer=_one_thread_each, mp_context=context)


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
