"""Wall time and peak memory of any command and the processes it starts (a whole ``songspace run``, say).

    .venv/bin/python benchmarks/peak_memory.py -- songspace run DATA --config large --k 8

Samples the process tree every 0.2 s and prints, at the end: wall time; the peak resident set of the command's
own process (``rss``) and the part of it that is its own memory rather than mapped files (``anon`` = RSS minus
shared pages, which the kernel can drop at will); and the peak of the whole tree (the command and every worker
it started, summed at one instant). Nothing is asserted; the figures are the machine's.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import psutil

MB = 1 << 20


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        sys.exit(__doc__)
    peak = {"rss": 0, "anon": 0, "tree": 0, "tree_anon": 0}
    t = time.perf_counter()
    proc = subprocess.Popen(argv)
    top = psutil.Process(proc.pid)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            try:
                info = top.memory_info()
                tree, tree_anon = info.rss, info.rss - info.shared
                for child in top.children(recursive=True):
                    try:
                        ci = child.memory_info()
                        tree, tree_anon = tree + ci.rss, tree_anon + ci.rss - ci.shared
                    except psutil.Error:
                        pass
            except psutil.Error:
                continue
            peak["rss"] = max(peak["rss"], info.rss)
            peak["anon"] = max(peak["anon"], info.rss - info.shared)
            peak["tree"], peak["tree_anon"] = max(peak["tree"], tree), max(peak["tree_anon"], tree_anon)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rc = proc.wait()
    stop.set()
    sampler.join()
    wall = time.perf_counter() - t
    print(f"\nexit {rc}; wall {wall:.1f} s ({wall / 60:.1f} min); peak rss {peak['rss'] / MB:.0f} MB "
          f"(anon {peak['anon'] / MB:.0f} MB); whole tree {peak['tree'] / MB:.0f} MB "
          f"(anon {peak['tree_anon'] / MB:.0f} MB)", flush=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
