"""The demo's metrics over several seeds, as mean ± std: the figures quoted in the README.

    python benchmarks/demo_seeds.py [--n-tracks 300] [--seeds 0 1 2 3 4] [--data DIR]

Uses the cached demo collection of `songspace demo` (made if missing), runs one experiment per seed
(MLP-VAE, PCA and raw statistics with K-Means; figures off; everything else default) into a temporary
folder, and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
from pathlib import Path

from songspace.config import load_config
from songspace.datasets.demo import DEMO_VERSION, generate_demo
from songspace.runner import run_experiment

COLUMNS = ("silhouette", "silhouette_common", "calinski_harabasz_common", "davies_bouldin_common",
           "nmi_genre", "ari_genre", "purity_genre", "nmi_language", "ari_language")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-tracks", type=int, default=300)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--data", type=Path, help="dataset folder (default: the cached demo collection)")
    args = ap.parse_args()
    data = args.data
    if data is None:
        cache = Path(os.environ.get("SONGSPACE_DEMO_DIR", "~/.cache/songspace/demo")).expanduser()
        data = cache / f"v{DEMO_VERSION}-n{args.n_tracks}-seed0"
        if not (data / "metadata.csv").exists():
            generate_demo(data, n_tracks=args.n_tracks, seed=0)
    rows: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            cfg = load_config(None, data=str(data), seed=seed, out=tmp,
                              **{"plots.tsne": False, "plots.umap": False, "cluster.algorithms": ["kmeans"],
                                 "methods.representations": ["vae", "pca", "features"]})
            for row in run_experiment(cfg).metrics:
                per = rows.setdefault(row["method"], {c: [] for c in COLUMNS})
                for c in COLUMNS:
                    if c in row and row[c] is not None and not math.isnan(float(row[c])):
                        per[c].append(float(row[c]))
    print(f"{data.name}: {len(args.seeds)} seeds ({' '.join(map(str, args.seeds))}), mean ± std, "
          f"{os.cpu_count()} cores\n")
    print("| method | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for method, per in rows.items():
        cells = []
        for c in COLUMNS:
            v = per[c]
            if not v:
                cells.append("n/a")
            else:
                digits = 1 if c.startswith("calinski") else 3
                sd = statistics.stdev(v) if len(v) > 1 else 0.0
                cells.append(f"{statistics.mean(v):.{digits}f} ± {sd:.{digits}f}")
        print(f"| {method} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
