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

from threadpoolctl import threadpool_limits


@lru_cache(maxsize=1)
def bounded_heap() -> bool:
    """Serve every allocation of 1 MB or more from its own memory mapping, given back when freed (glibc only).

    glibc raises its mmap threshold each time such a block is freed, after which batch buffers of a few MB come
    from the heap, which fragments and keeps what it took: embedding 100k log-mels in batches of 256 then
    held 1.1 GB more at the end than at the start, growing with the number of tracks. Fixing the threshold
    (``mallopt(M_MMAP_THRESHOLD)``, as ``MALLOC_MMAP_THRESHOLD_`` does) keeps it flat (+15 MB). Returns
    whether it was set (False off glibc). Called by :func:`songspace.training.read_rows` before a batch is read,
    and by every pool worker.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, 1 << 20))  # M_MMAP_THRESHOLD = -3 in malloc.h
    except (OSError, AttributeError):
        return False


def _one_thread_each() -> None:
    bounded_heap()
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
