"""Worker processes that do not fight over the cores.

Each worker of a process pool would otherwise start its own BLAS/OpenMP thread pool with one thread
per core, so ``workers`` processes run ``workers x cores`` threads and go slower than one process.
"""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor

from threadpoolctl import threadpool_limits


def _one_thread_each() -> None:
    threadpool_limits(1)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers each use one BLAS/OpenMP/torch thread."""
    return ProcessPoolExecutor(max_workers=workers, initializer=_one_thread_each)
