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

from threadpoolctl import threadpool_limits


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
