"""Wall time of a plain `songspace run` with the default settings, per stage, on the demo collection.

    python benchmarks/default_time.py [--n-tracks 400] [--seeds 5] [--keep DIR]

Generates the demo collection (once, cached in DIR or a temporary folder), computes its features and musicnn's
vectors once (a first run, not timed: a rerun finds them cached, which is what a user's second run sees; what they
cost is printed from it), then times
`songspace run DATA` with the default config in a fresh process and prints the wall time and the stage times the
run recorded in summary.json (reading, features from the cache, lyrics, learning + clustering + scoring over the
seeds, figures), and the time of `songspace report` on the folder. Target (issue 16): the whole run under 5 min
on an idle 2-core machine, figures under a fifth of it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def songspace(*args: str, env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "songspace", *args], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-tracks", type=int, default=400)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--keep", type=Path, help="a folder for the collection and caches, kept between calls")
    args = ap.parse_args()
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="songspace-default-time-"))
    tmp.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, SONGSPACE_CACHE_DIR=str(tmp / "features"), SONGSPACE_CHECKPOINT_DIR=str(tmp / "ckpt"),
               MPLBACKEND="Agg")
    data = tmp / f"demo{args.n_tracks}"
    if not (data / "metadata.csv").is_file():
        songspace("demo-data", str(data), "--n-tracks", str(args.n_tracks), env=env)
    runs = tmp / "runs"
    # Features and musicnn's vectors once (and nothing else): the timed run then finds them cached, as a user's second
    # run does; what musicnn costs a first run is printed from this one.
    warm = songspace("run", str(data), "-m", "features", "-m", "features_musicnn", "-c", "kmeans", "--seeds", "1",
                     "--no-report", "--out", str(tmp / "warm"), env=env)
    first = json.loads(next((tmp / "warm").glob("*/summary.json")).read_text(encoding="utf-8"))["timings_s"]
    before = set(runs.iterdir()) if runs.is_dir() else set()
    # No training checkpoints from earlier calls: every model trains.
    env["SONGSPACE_CHECKPOINT_DIR"] = tempfile.mkdtemp(prefix="ckpt-", dir=tmp)
    wall = songspace("run", str(data), "--seeds", str(args.seeds), "--no-report", "--out", str(runs), env=env)
    (folder,) = set(runs.iterdir()) - before
    report = songspace("report", str(folder), env=env)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    print(f"songspace run (default config, {args.seeds} seeds) on {summary['tracks_used']} demo tracks, "
          f"{os.cpu_count()} cores: {wall:.0f} s wall")
    for stage, seconds in summary["timings_s"].items():
        print(f"  {stage:32s} {seconds:7.1f} s  ({seconds / wall:5.1%})")
    print(f"  {'songspace report (html, pdf, explorer)':32s} {report:7.1f} s")
    print(f"first run (not timed above, {warm:.0f} s): features {first.get('features', 0):.1f} s, musicnn's vectors "
          f"{first.get('encoders', 0):.1f} s (cached after it)")
    print(f"representations: {', '.join(summary['representations'])}; clusterers: "
          f"{', '.join(summary['clusterers'])}")
    print(f"run folder: {folder}")


if __name__ == "__main__":
    main()
