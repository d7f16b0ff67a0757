"""How songspace's cost grows with the collection: every pipeline stage on N generated tracks.

    .venv/bin/python benchmarks/scale.py                     # N = 1000 and 10000
    .venv/bin/python benchmarks/scale.py 1000 10000 100000 --seconds 5 --json scale.json
    .venv/bin/python benchmarks/scale.py 100000 --cached --keep   # again, from the cache a --keep run left

For each N, writes N short tracks (``--seconds`` s of 22.05 kHz 16-bit WAV: 8 classes of pulsing harmonic tones
with noise, so that clustering has something to find; kept in ``--work`` and reused), then runs, timing each:

  features          extract_features on a fresh cache (decode + log-mel + statistics, one worker per core)
  features_cached   the same again: every file from the cache (a resumed or repeated run)
  musicnn           musicnn's vectors (MSD_musicnn, mean-pooled) of the first ``--musicnn`` tracks (default 10,000:
                    its cost per track does not depend on N, and 100k tracks take hours on 2 cores) into a fresh
                    cache: decode, resample to 16 kHz, embed, one worker process per core; tracks/s counts those
  musicnn_cached    the same again, from the cache
  train_mlp_vae     the VAE on spectral statistics, ``--epochs`` epochs, read from the memory-mapped set
  train_conv_vae    the conv VAE on log-mel, ``--conv-epochs`` epoch(s), read in batches from the memmap
  embed             both latents
  kmeans            MiniBatchKMeans (k = 8) of the VAE latent
  gmm, hdbscan,     fitted on all points up to their sample size (gmm 20,000, hdbscan and dbscan 2,000,
  dbscan,           agglomerative 10,000), on a seeded sample above it, the rest assigned; dbscan reuses the
  agglomerative     UMAP reduction hdbscan made (as in a run), so its row is what it adds; before them,
                    ``numba_compile`` clusters 200 random points: UMAP's numba code compiles once a process
  metrics           one metrics row (silhouette on a 10,000-point sample; ARI/NMI/purity on all)

and prints, per stage, wall time, tracks per second, and peak memory: ``peak_rss`` is this process's
high-water resident set (VmHWM, reset before each stage; it counts the memory-mapped pages a stage touched,
which the kernel can drop at will), ``peak_anon`` the sampled peak of its own (anonymous) memory, and
``workers`` the sampled peak of the decode workers' resident memory, summed. Figures are from the machine it
runs on; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psutil
import soundfile as sf
import torch

from songspace.clustering import cluster
from songspace.config import FeatureConfig, TrainConfig
from songspace.evaluation import score_clustering
from songspace.features import extract_features
from songspace.features.embeddings import embed_files
from songspace.features.musicnn import MusicnnEncoder
from songspace.models import build_model
from songspace.training import RowDataset, SpectrogramDataset, embed, train

SR = 22050
CLASSES = 8
MB = 1 << 20


def generate(folder: Path, n: int, seconds: float) -> tuple[list[Path], list[str]]:
    """``n`` WAV files in ``folder`` (reused when already there) and their class labels."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SR), dtype=np.float32) / SR
    paths, labels = [], []
    for i in range(n):
        c = i % CLASSES
        path = folder / f"t{i:06d}.wav"
        paths.append(path)
        labels.append(f"class{c}")
        f0 = 110.0 * 2 ** (c % 4) * (1 + 0.03 * rng.standard_normal())  # four registers ...
        pulse = (1.5, 6.0)[c // 4] * (1 + 0.05 * rng.standard_normal())  # ... times two tempi
        if path.exists():
            continue
        y = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 5))
        y *= 0.5 + 0.5 * np.sin(2 * np.pi * pulse * t)
        y = 0.25 * y / np.abs(y).max() + 0.02 * rng.standard_normal(t.size).astype(np.float32)
        sf.write(path, y.astype(np.float32), SR, subtype="PCM_16")
    return paths, labels


class Memory:
    """Peak memory of one stage: VmHWM of this process (reset at the start), and a 20 Hz sample of this process's
    anonymous memory and of its children's resident memory."""

    def __init__(self) -> None:
        self.me = psutil.Process()
        self.peak_anon = self.peak_children = 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            try:
                info = self.me.memory_info()
                self.peak_anon = max(self.peak_anon, info.rss - info.shared)
                kids = 0
                for child in self.me.children(recursive=True):
                    try:
                        kids += child.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak_children = max(self.peak_children, kids)
            except psutil.Error:
                pass

    @contextmanager
    def stage(self) -> Iterator[Memory]:
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (Linux >= 4.0)
        except OSError:
            pass
        self.peak_anon = self.peak_children = 0
        self._stop.clear()
        sampler = threading.Thread(target=self._sample, daemon=True)
        sampler.start()
        try:
            yield self
        finally:
            self._stop.set()
            sampler.join()

    @staticmethod
    def hwm() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return 0


def run(n: int, args: argparse.Namespace) -> list[dict]:
    work = Path(args.work)
    rows: list[dict] = []
    mem = Memory()

    def stage(name: str, fn: Callable[[], object], items: int | None = None) -> object:
        with mem.stage():
            t = time.perf_counter()
            out = fn()
            seconds = time.perf_counter() - t
        row = {"n": n, "stage": name, "seconds": round(seconds, 2),
               "tracks_per_s": round((items or n) / seconds, 1) if seconds > 0 else float("inf"),
               "peak_rss_mb": round(Memory.hwm() / MB), "peak_anon_mb": round(mem.peak_anon / MB),
               "workers_mb": round(mem.peak_children / MB)}
        rows.append(row)
        print(f"  {name:<16} {row['seconds']:>9.2f} s {row['tracks_per_s']:>10.1f} /s "
              f"{row['peak_rss_mb']:>7} MB rss {row['peak_anon_mb']:>7} MB anon {row['workers_mb']:>7} MB workers",
              flush=True)
        return out

    print(f"N = {n}", flush=True)
    t = time.perf_counter()
    paths, labels = generate(work / f"tracks-{n}-{args.seconds:g}s", n, args.seconds)
    print(f"  (tracks ready in {time.perf_counter() - t:.1f} s)", flush=True)
    cache = work / f"cache-{n}"
    if not args.cached:
        shutil.rmtree(cache, ignore_errors=True)
    fcfg = FeatureConfig(cache_dir=str(cache), clip_seconds=args.seconds, workers=args.workers)
    ids = [p.stem for p in paths]
    if not args.cached:
        stage("features", lambda: extract_features(paths, ids, fcfg, device=args.device))
    feats = stage("features_cached", lambda: extract_features(paths, ids, fcfg, device=args.device))
    assert len(feats.track_ids) == n, f"{len(feats.failed)} files failed: {feats.failed[:3]}"
    if args.musicnn:
        m = min(n, args.musicnn)
        encoder = MusicnnEncoder("MSD_musicnn", device=args.device)
        shutil.rmtree(cache / "embeddings", ignore_errors=True)  # the features' cache stays: a run has it
        got = stage("musicnn" if m == n else f"musicnn ({m})", lambda: embed_files(paths[:m], encoder, fcfg), items=m)
        assert got.n_computed == m and not got.failed, f"{len(got.failed)} files failed"  # type: ignore[attr-defined]
        stage("musicnn_cached" if m == n else f"musicnn_cached ({m})", lambda: embed_files(paths[:m], encoder, fcfg),
              items=m)

    device = args.device or "auto"
    stats = feats.stats  # memory-mapped: the trainer reads batches
    mean = np.asarray(stats, dtype=np.float64).mean(0).astype(np.float32)  # 79 columns: a small pass
    scale = np.asarray(stats, dtype=np.float64).std(0).astype(np.float32) + 1e-6
    rows_ds = RowDataset(stats, mean, scale)
    mlp = build_model("mlp_vae", input_shape=(stats.shape[1],), latent_dim=16, hidden_dims=[256, 128])
    tcfg = TrainConfig(epochs=args.epochs, batch_size=128, patience=args.epochs, device=device, amp=args.amp)
    stage("train_mlp_vae", lambda: train(mlp, rows_ds, tcfg, seed=0), items=n * args.epochs)

    spec_ds = SpectrogramDataset(feats.log_mel).fit_standardisation()
    conv = build_model("conv_vae", input_shape=tuple(spec_ds[0].shape), latent_dim=16)
    ccfg = TrainConfig(epochs=args.conv_epochs, batch_size=64, patience=args.conv_epochs, device=device,
                       amp=args.amp)
    stage("train_conv_vae", lambda: train(conv, spec_ds, ccfg, seed=0), items=n * args.conv_epochs)

    latent = stage("embed", lambda: (embed(mlp, rows_ds), embed(conv, spec_ds)))[0]  # type: ignore[index]
    km = stage("kmeans", lambda: cluster("kmeans", latent, CLASSES, seed=0, n_init=3, sample_size=1000))
    stage("gmm", lambda: cluster("gmm", latent, CLASSES, seed=0))
    warm = np.random.default_rng(0).standard_normal((200, latent.shape[1])).astype(np.float32)
    stage("numba_compile", lambda: cluster("hdbscan", warm, None, seed=0), items=len(warm))
    stage("hdbscan", lambda: cluster("hdbscan", latent, None, seed=0))
    stage("dbscan", lambda: cluster("dbscan", latent, None, seed=0))
    stage("agglomerative", lambda: cluster("agglomerative_ward", latent, CLASSES, seed=0))
    common = ((np.asarray(stats, dtype=np.float32) - mean) / scale).astype(np.float32)
    row = stage("metrics", lambda: score_clustering(km.labels, own_space=latent, common_space=common,  # type: ignore[attr-defined]
                                                    labels={"class": labels}, seed=0))
    print(f"  (MiniBatchKMeans of the VAE latent: ARI {row['ari_class']:.3f} against the 8 generated classes)")  # type: ignore[index]
    if not args.keep:
        shutil.rmtree(cache, ignore_errors=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", nargs="*", type=int, default=[1000, 10000], help="collection sizes (default 1000 10000)")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each generated track")
    ap.add_argument("--workers", type=int, default=0, help="decode workers; 0 = one per core")
    ap.add_argument("--epochs", type=int, default=5, help="epochs of the statistics VAE")
    ap.add_argument("--musicnn", type=int, default=10000,
                    help="embed the first this many tracks with musicnn (0 = no musicnn stage; needs "
                         "`songspace weights fetch`)")
    ap.add_argument("--conv-epochs", type=int, default=1, help="epochs of the conv VAE")
    ap.add_argument("--threads", type=int, default=0, help="torch threads for training; 0 = one per core")
    ap.add_argument("--device", default=None, help="cpu | cuda; default: CUDA when present")
    ap.add_argument("--amp", action="store_true", help="mixed precision on CUDA (train.amp)")
    ap.add_argument("--work", default="/tmp/songspace-scale", help="where tracks and caches go")
    ap.add_argument("--keep", action="store_true", help="keep each N's feature cache")
    ap.add_argument("--cached", action="store_true",
                    help="start from the feature cache a --keep run left (no fresh features stage)")
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    print(f"{os.cpu_count()} cores ({torch.get_num_threads()} torch threads), load average "
          f"{os.getloadavg()[0]:.1f}, torch {torch.__version__}, "
          f"{'CUDA ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU'}", flush=True)
    if len(args.n) == 1:
        rows = run(args.n[0], args)
    else:  # one process per N: each N's peak memory is its own, not what a smaller N left behind
        rows = []
        for n in args.n:
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "rows.json"
                argv = [f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items()
                        if k not in ("n", "json", "amp", "keep", "cached", "device") or (k == "device" and v)]
                argv += [f"--{flag}" for flag in ("amp", "keep", "cached") if getattr(args, flag)]
                subprocess.run([sys.executable, __file__, str(n), *argv, "--json", str(out)], check=True)
                rows += json.loads(out.read_text())
    if len(args.n) > 1:
        print()
    print("| N | stage | wall s | tracks/s | peak RSS MB | peak anon MB | workers MB |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['n']} | {r['stage']} | {r['seconds']} | {r['tracks_per_s']} | {r['peak_rss_mb']} | "
              f"{r['peak_anon_mb']} | {r['workers_mb']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
