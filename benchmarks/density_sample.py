"""Quality of the density clusterers against the sample they are fitted on: the curve behind
``songspace.clustering.density.DENSITY_SAMPLE``.

    python benchmarks/density_sample.py ~/.cache/songspace-devbench/hybrid_music_dev [--sizes 100 200 300 400]
        [--seeds 5] [-r features -r pca] [-c hdbscan]

For each representation (fixed ones by default: they need no training), clusterer, sample size and seed, the
clusterer is fitted on a seeded sample of that many tracks, the rest placed through the fitted reduction, and the
genre NMI of every track is printed (mean ± std over seeds), with the wall time. metadata.csv is read only to
score. The last size at or above the collection is the whole collection (no sample).
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import numpy as np

from songspace.clustering import cluster
from songspace.datasets import read_dataset
from songspace.evaluation.metrics import nmi
from songspace.representations.base import learn
from songspace.runner import learning_inputs, usable_features
from songspace.settings import load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 150, 200, 300, 400])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("-r", "--representation", action="append", help="default: features, pca")
    ap.add_argument("-c", "--clusterer", action="append", help="default: hdbscan")
    args = ap.parse_args()
    reps, clusterers = args.representation or ["features", "pca"], args.clusterer or ["hdbscan"]
    cfg = load(None, data=str(args.data), layout="folder", **{"representations.names": reps})
    manifest = read_dataset(cfg.data, layout=cfg.layout)
    manifest, feats, _ = usable_features(cfg, manifest)
    with (Path(cfg.data) / "metadata.csv").open(encoding="utf-8", newline="") as fh:
        genre = {r["track_id"]: r["genre"] for r in csv.DictReader(fh)}
    truth = [genre[tr.track_id] for tr in manifest.tracks]
    cfg, inputs, _, _ = learning_inputs(cfg, manifest, feats)
    n = len(truth)
    print(f"{n} tracks; genre NMI, mean ± std over {args.seeds} seed(s); seconds per fit (mean)")
    print("| representation | clusterer | sample | genre NMI | clusters | noise | s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name in reps:
        X = learn(name, inputs, cfg, {}).latent
        for c in clusterers:
            for size in args.sizes:
                scores, found, noise, seconds = [], [], [], []
                for seed in range(args.seeds):
                    t = time.perf_counter()
                    res = cluster(c, X, None, seed=seed, sample_size=min(size, n))
                    seconds.append(time.perf_counter() - t)
                    scores.append(nmi(truth, res.labels))
                    found.append(res.n_clusters)
                    noise.append(res.noise_fraction)
                sd = float(np.std(scores)) if len(scores) > 1 else math.nan
                shown = "all" if size >= n else str(size)
                print(f"| {name} | {c} | {shown} | {np.mean(scores):.3f} ± {sd:.3f} | {np.mean(found):.1f} | "
                      f"{np.mean(noise):.2f} | {np.mean(seconds):.1f} |", flush=True)


if __name__ == "__main__":
    main()
