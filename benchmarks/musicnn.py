"""musicnn (PyTorch port) throughput: tracks per second for 10-s clips already decoded at 16 kHz.

    python benchmarks/musicnn.py [--model MSD_musicnn] [--n 48] [--seconds 10] [--repeats 5] [--threads 2]
                                 [--batch N] [--device cpu] [--files [--workers 0]]

Needs the weights (``songspace weights fetch``). Times ``MusicnnEncoder.embed`` on --n synthetic clips (log-mel in
torch, all patches of the batch through the network --batch at a time, mean pooling); prints the median of
--repeats runs in tracks/s, and the process CPU seconds per track (on a machine shared with other work, CPU time
says what the code costs, wall time what the machine gave it). Decoding and resampling are not included (the
feature stage does those for every representation).

With ``--files``: what a run pays instead, end to end. The clips are written as 22.05 kHz WAV files and embedded by
:func:`songspace.features.embeddings.embed_files` into an empty cache (decoded, resampled to 16 kHz and embedded by
--workers processes of one thread each; 0 = one per core), median of --repeats, each into a fresh cache.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from songspace.features.musicnn import MusicnnEncoder


def make_clips(n: int, seconds: float, sr: int = 16000) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    clips = []
    for _ in range(n):
        f0 = rng.uniform(80, 400)
        y = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6)) + 0.1 * rng.standard_normal(t.size)
        clips.append((0.3 * y / np.max(np.abs(y))).astype(np.float32))
    return clips


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="MSD_musicnn")
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=None, help="patches per forward pass (default: the encoder's)")
    ap.add_argument("--device", default=None)
    ap.add_argument("--files", action="store_true", help="time embed_files on WAV files (decode + embed, cold cache)")
    ap.add_argument("--workers", type=int, default=0)
    args = ap.parse_args()
    if args.files:
        return files(args)
    torch.set_num_threads(args.threads)
    enc = MusicnnEncoder(args.model, device=args.device, batch_patches=args.batch)
    clips = make_clips(args.n, args.seconds)
    enc.embed(clips[:2])  # warm-up
    walls, cpus = [], []
    for _ in range(args.repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        out = enc.embed(clips)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    assert out.shape == (args.n, enc.dim) and np.isfinite(out).all()
    n_patches = enc.patches(clips[0]).shape[0]
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    print(f"musicnn {args.model} on {enc.device} ({args.threads} threads), {args.n} clips of {args.seconds:g} s "
          f"({n_patches} patches each), batch {enc.batch_patches}, median of {args.repeats}:")
    print(f"  {args.n / wall:.1f} tracks/s wall ({wall / args.n * 1000:.0f} ms a track); "
          f"{cpu / args.n:.3f} CPU s a track; runs: " + ", ".join(f"{args.n / w:.1f}" for w in walls))


def files(args: argparse.Namespace) -> None:
    import tempfile
    from pathlib import Path

    import soundfile as sf

    from songspace.config import FeatureConfig
    from songspace.features.embeddings import embed_files

    enc = MusicnnEncoder(args.model, device=args.device, batch_patches=args.batch)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, clip in enumerate(make_clips(args.n, args.seconds, sr=22050)):
            paths.append(Path(tmp) / f"{i}.wav")
            sf.write(paths[-1], clip, 22050)
        walls = []
        for r in range(args.repeats):
            cfg = FeatureConfig(clip_seconds=args.seconds, workers=args.workers, cache_dir=f"{tmp}/cache{r}")
            t = time.perf_counter()
            got = embed_files(paths, enc, cfg)
            walls.append(time.perf_counter() - t)
            assert got.n_computed == args.n and not got.failed
    wall = statistics.median(walls)
    print(f"embed_files, musicnn {args.model} on {enc.device}, {args.n} WAV files of {args.seconds:g} s, workers "
          f"{args.workers or 'one per core'}, cold cache, median of {args.repeats}:")
    print(f"  {args.n / wall:.1f} tracks/s ({wall / args.n * 1000:.0f} ms a track); runs: "
          + ", ".join(f"{args.n / w:.1f}" for w in walls))


if __name__ == "__main__":
    main()
