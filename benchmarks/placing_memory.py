"""Peak memory of HDBSCAN on N points (fitted on its 2,000-point sample, the rest placed), and its labels when the
rest is placed all at once instead of ``PLACE_CHUNK`` points at a time.

    python benchmarks/placing_memory.py [--n 100000] [--dim 16]

N seeded Gaussian blobs (8 centres). Prints wall time and the growth of this process's peak resident memory over
the clustering (UMAP's numba code is compiled first, on 300 points, and not counted), for chunked placing (the
code's) and for placing all at once, and how many labels differ between the two. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from sklearn.datasets import make_blobs

import songspace.clustering.result as result
from songspace.clustering import cluster


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=16)
    args = ap.parse_args()
    X = make_blobs(args.n, args.dim, centers=8, cluster_std=3.0, random_state=0)[0].astype(np.float32)
    cluster("hdbscan", X[:300], None, seed=1)  # compile UMAP's numba code
    out = {}
    for name, chunk in (("chunked", result.PLACE_CHUNK), ("all at once", args.n)):
        result.PLACE_CHUNK = chunk
        base, t = peak_mb(), time.perf_counter()
        out[name] = cluster("hdbscan", X, None, seed=0).labels
        print(f"{name:>12}: {time.perf_counter() - t:.1f} s, peak memory grew {peak_mb() - base:.0f} MB", flush=True)
    print(f"labels that differ: {int((out['chunked'] != out['all at once']).sum())} of {args.n}")


if __name__ == "__main__":
    main()
