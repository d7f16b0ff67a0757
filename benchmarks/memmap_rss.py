"""Resident memory of reading a memory-mapped log-mel set through the mapping against ``read_rows`` (pread).

    .venv/bin/python benchmarks/memmap_rss.py [N]     # N items of 128 x 128 float16 (default 20000: 625 MB)

Writes a temporary ``.npy`` of N spectrograms, then, in two fresh processes, reads it all in batches of 256 as
training does, once by indexing the memmap and once with ``songspace.parallel.read_rows``, and prints each
process's resident set (VmRSS) before and after. Pages read through a mapping count as resident until the
kernel drops them; pread leaves them in the page cache only.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = """
import sys, numpy as np
from songspace.parallel import read_rows
def rss():
    return int([ln for ln in open("/proc/self/status") if ln.startswith("VmRSS")][0].split()[1]) // 1024
m = np.load(sys.argv[1], mmap_mode="r"); before = rss()
for s in range(0, len(m), 256):
    x = (read_rows(m, slice(s, s + 256)) if sys.argv[2] == "read_rows" else np.asarray(m[s:s + 256]))
    x = x.astype(np.float32)
print(f"{sys.argv[2]:<10} RSS {before} MB before, {rss()} MB after reading {m.nbytes / 2**20:.0f} MB")
"""


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log_mel.npy"
        m = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(n, 128, 128))
        for s in range(0, n, 1024):
            m[s:s + 1024] = -40.0
        m.flush()
        del m
        for how in ("mapping", "read_rows"):
            subprocess.run([sys.executable, "-c", CHILD, str(path), how], check=True)


if __name__ == "__main__":
    main()
