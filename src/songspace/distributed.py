"""Per-file feature work on a Dask cluster (dask.distributed), for collections larger than one machine's cores.

Set ``features.scheduler`` (``songspace run DATA --scheduler tcp://HOST:8786``, or ``scheduler = "..."`` in the
``[features]`` section of a config). Without it nothing of Dask is imported, and Dask need not be installed.

- ``"local:N"`` starts a cluster of N one-thread worker processes on this machine and closes it afterwards
  (to try it out, and for the tests).
- ``"tcp://HOST:8786"`` (or any Dask address: ``tls://...``) connects to a running cluster.

Each worker decodes a file and computes its log-mel and statistics with one thread, exactly as this machine's
worker processes do, and sends back the float16 log-mel and the statistics (about 110 kB per 10-s clip);
this process writes them into its feature cache, the same cache a run without Dask uses and reuses. At most
four tasks per worker thread are in flight, so the client holds a bounded number of results at any time.

Pointing songspace at a real cluster
------------------------------------
1. Install the same songspace and the same library versions everywhere, client and workers::

       pip install "songspace[dask]" -c constraints.txt

2. Make the audio readable by every worker at the same path as on the client (an NFS or other shared mount
   at the same mount point). The cache needs no sharing: only the client writes it.
3. Start a scheduler on one machine and workers on the others, one thread per worker process::

       dask scheduler                                                 # on HOST; listens on port 8786
       dask worker tcp://HOST:8786 --nworkers 16 --nthreads 1         # on each worker machine

4. Run ``songspace run DATA --scheduler tcp://HOST:8786``. The dashboard (http://HOST:8787) shows progress.

Faults: a file that cannot be decoded comes back as its reason, as on one machine. A worker that dies has its
tasks retried on other workers (Dask's ``distributed.scheduler.allowed-failures``, 3 by default); a file that
kills every worker it lands on is then skipped (``KilledWorker``), and the run goes on. A worker process with
one thread also ends itself when one file takes longer than 1.5 x ``features.file_timeout_s`` + 2 s (a hung
decoder); with more threads per worker no per-file time limit is possible (threads cannot be stopped).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from songspace.errors import ConfigError, RunError

log = logging.getLogger(__name__)

LOCAL = re.compile(r"^local:(\d+)$")
# In-flight tasks per worker thread: enough to keep every worker busy, few enough to bound the client's memory.
IN_FLIGHT = 4


def check_scheduler(scheduler: str) -> str:
    """``scheduler`` when it is ``"local:N"`` (N >= 1) or a Dask address (``tcp://HOST:PORT``, ...), else a
    :class:`ConfigError` saying what is expected."""
    m = LOCAL.match(scheduler)
    if (m and int(m.group(1)) >= 1) or (not m and "://" in scheduler):
        return scheduler
    raise ConfigError(f"features.scheduler = {scheduler!r}: expected \"local:N\" (N worker processes on this "
                      "machine, N >= 1) or the address of a Dask scheduler, e.g. \"tcp://HOST:8786\".")


@contextmanager
def dask_client(scheduler: str) -> Iterator[Any]:
    """A ``distributed.Client`` for ``scheduler`` (see :func:`check_scheduler`), closed afterwards (with the
    cluster, when it was started here)."""
    check_scheduler(scheduler)
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ConfigError(f"features.scheduler = {scheduler!r} needs Dask: pip install \"songspace[dask]\" "
                          "(or unset features.scheduler).") from exc
    cluster = None
    try:
        m = LOCAL.match(scheduler)
        if m:
            cluster = LocalCluster(n_workers=int(m.group(1)), threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise RunError(f"cannot reach the Dask scheduler at {scheduler} ({type(exc).__name__}: {exc}). Start it "
                       "(dask scheduler; dask worker ADDRESS) or fix features.scheduler.") from exc
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _task(fn: Callable[..., Any], args: tuple, timeout_s: float) -> Any:
    """On a worker: ``fn(*args)``, under the hard per-file time limit where the worker has one thread."""
    from distributed import get_worker

    from songspace.parallel import time_limit

    try:
        hard = get_worker().state.nthreads == 1
    except (ValueError, AttributeError):  # not on a worker (a synchronous client), or another Dask
        hard = False
    if not hard:
        return fn(*args)
    with time_limit(timeout_s, hard=True):
        return fn(*args)


def map_files(scheduler: str, fn: Callable[..., Any], args: Sequence[tuple], *, timeout_s: float = 120.0
              ) -> Iterator[tuple[int, Any]]:
    """``fn(*a)`` for each ``a`` of ``args`` on the Dask cluster ``scheduler``, yielded as ``(position,
    result)`` in the order they finish. ``a[0]`` is the file's path; a task that fails on the cluster gives
    :class:`songspace.parallel.Fault` (a ``str``: the file is skipped, not cached) as its result."""
    from distributed import as_completed

    from songspace.parallel import Fault

    with dask_client(scheduler) as client:
        window = max(8, IN_FLIGHT * sum(client.nthreads().values()))
        log.info("Dask cluster %s: %d worker thread(s), %d tasks in flight", scheduler,
                 sum(client.nthreads().values()), window)
        position = {}
        todo = iter(range(len(args)))
        run = uuid.uuid4().hex[:12]  # keys of this call: two runs on one cluster never share a result

        def submit(k: int) -> Any:
            # pure=False: every task runs even when two files have the same arguments (never served stale)
            f = client.submit(_task, fn, args[k], timeout_s, pure=False, key=f"songspace-{run}-{k}")
            position[f.key] = k
            return f

        running = as_completed([submit(k) for _, k in zip(range(window), todo, strict=False)])
        for future in running:
            k = position.pop(future.key)
            try:
                result = future.result()
            except Exception as exc:  # KilledWorker, a worker's own error: this file, not the run
                result = Fault(f"{args[k][0]}: failed on the Dask cluster ({type(exc).__name__}: {exc}); "
                               "skipped.")
                log.warning("%s", result)
            future.release()
            nxt = next(todo, None)
            if nxt is not None:
                running.add(submit(nxt))
            yield k, result
