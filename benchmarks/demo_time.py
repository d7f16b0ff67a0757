"""Wall time of the demo, cold (nothing cached) and warm (collection and features cached).

    python benchmarks/demo_time.py [--n-tracks 300] [--repeats 1]

Runs `songspace demo` (the easy, medium and hard experiments, 5 seeds each, with their reports) in a fresh
process with empty, temporary demo and feature caches, then again with both caches filled, and prints the
wall time of each and the stage times each experiment recorded in its summary.json. Target (issue 4): the
whole demo in a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_demo(tmp: Path, n_tracks: int, tag: str) -> tuple[float, dict[str, dict]]:
    env = dict(os.environ, SONGSPACE_DEMO_DIR=str(tmp / "demo"), SONGSPACE_CACHE_DIR=str(tmp / "features"),
               MPLBACKEND="Agg")
    out = tmp / f"runs-{tag}"
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "songspace", "demo", "--n-tracks", str(n_tracks), "--out", str(out)],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    return wall, {run.name.split("-demo-")[-1]: json.loads((run / "summary.json").read_text())["timings_s"]
                  for run in sorted(out.iterdir())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-tracks", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    cold, warm, stages_cold, stages_warm = [], [], {}, {}
    for r in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            w, stages_cold = run_demo(Path(tmp), args.n_tracks, f"cold{r}")
            cold.append(w)
            w, stages_warm = run_demo(Path(tmp), args.n_tracks, f"warm{r}")
            warm.append(w)
    print(f"songspace demo, {args.n_tracks} tracks, {os.cpu_count()} cores, median of {args.repeats} run(s)")
    print(f"  cold (generate collection + everything): {statistics.median(cold):6.1f} s")
    print(f"  warm (collection and features cached):   {statistics.median(warm):6.1f} s")
    for what, stages in (("cold", stages_cold), ("warm", stages_warm)):
        for level, times in stages.items():
            print(f"  {what} {level:<7} stages (s):", ", ".join(f"{k} {v:.1f}" for k, v in times.items()))


if __name__ == "__main__":
    main()
