"""Feature-extraction throughput against librosa on the same clips, and the cached re-run.

    python benchmarks/features.py [--n 48] [--seconds 10] [--repeats 3] [--source-sr 44100]

Writes N noisy music-like clips at --source-sr (CD rate by default, so that both sides resample to
22.05 kHz as they would on a real collection) to a temporary folder, then times, on the same files:
  librosa   librosa.load + feature.melspectrogram + power_to_db, one clip at a time, one process
  songspace extract_features with 1 decode worker (per-core figure; includes spectral stats and cache writes)
  songspace extract_features with one worker per core
  cached    extract_features again: everything comes from the cache
Prints the median of --repeats runs (each on a fresh cache) and the ratio to librosa, then where the time of one
clip goes, on one thread: decoding (with resampling), log-mel, the log-mel statistics (MFCC, tempo profile,
loudness) and the music descriptors (rhythm, harmony, texture; HPSS and chroma are the expensive ones).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from songspace.config import FeatureConfig
from songspace.features import extract_features, load_clip, log_mel
from songspace.features.audio import mel_stats
from songspace.features.descriptors import music_descriptors
from songspace.parallel import one_thread


def make_clips(folder: Path, n: int, seconds: float, sr: int = 22050) -> list[Path]:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    paths = []
    for i in range(n):
        f0 = 110 * 2 ** rng.uniform(0, 3)
        y = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6)) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t))
        y = 0.2 * y / np.abs(y).max() + 0.01 * rng.standard_normal(t.size)
        p = folder / f"clip{i:04d}.wav"
        sf.write(p, y.astype(np.float32), sr)
        paths.append(p)
    return paths


def librosa_baseline(paths: list[Path], cfg: FeatureConfig) -> None:
    for p in paths:
        y, _ = librosa.load(p, sr=cfg.sample_rate, duration=cfg.clip_seconds)
        librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=cfg.sample_rate, n_fft=cfg.n_fft,
                                                           hop_length=cfg.hop_length, n_mels=cfg.n_mels))


def per_clip_ms(paths: list[Path], cfg: FeatureConfig) -> dict[str, float]:
    """Milliseconds per clip of each step of :func:`songspace.features.extract.featurize`, on one thread."""
    sr, hop = cfg.sample_rate, cfg.hop_length
    steps = {
        "decode + resample": lambda p, y, m: load_clip(p, sr=sr, clip_seconds=cfg.clip_seconds),
        "log-mel": lambda p, y, m: log_mel(y, sr=sr, n_fft=cfg.n_fft, hop_length=hop, n_mels=cfg.n_mels, device="cpu"),
        "log-mel statistics": lambda p, y, m: mel_stats(m, sr=sr, hop_length=hop, n_mfcc=cfg.n_mfcc),
        "music descriptors": lambda p, y, m: music_descriptors(y, sr=sr, n_fft=cfg.n_fft, hop_length=hop),
    }
    with one_thread():
        clips = [load_clip(p, sr=sr, clip_seconds=cfg.clip_seconds) for p in paths]
        mels = [log_mel(y, sr=sr, n_fft=cfg.n_fft, hop_length=hop, n_mels=cfg.n_mels, device="cpu") for y in clips]
        out = {}
        for name, step in steps.items():
            t = time.perf_counter()
            for p, y, m in zip(paths, clips, mels, strict=True):
                step(p, y, m)
            out[name] = 1000 * (time.perf_counter() - t) / len(paths)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--source-sr", type=int, default=44100, help="sample rate of the generated files")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = make_clips(tmp, args.n, args.seconds, sr=args.source_sr)
        ids = [p.stem for p in paths]
        base = FeatureConfig(clip_seconds=args.seconds)
        librosa_baseline(paths[:2], base)  # warm-up: numba JIT, imports
        extract_features(paths[:2], ids[:2], base.model_copy(update={"cache_dir": str(tmp / "warm"), "workers": 1}))
        times: dict[str, list[float]] = {"librosa (1 process)": [], "songspace, 1 worker": [],
                                         f"songspace, {cores} workers": [], "songspace, cached re-run": []}
        for r in range(args.repeats):
            t = time.perf_counter()
            librosa_baseline(paths, base)
            times["librosa (1 process)"].append(time.perf_counter() - t)
            for label, workers in (("songspace, 1 worker", 1), (f"songspace, {cores} workers", cores)):
                cfg = base.model_copy(update={"cache_dir": str(tmp / f"cache-{r}-{workers}"), "workers": workers})
                t = time.perf_counter()
                fs = extract_features(paths, ids, cfg, device="cpu")
                times[label].append(time.perf_counter() - t)
                assert fs.n_computed == len(paths)
            t = time.perf_counter()
            fs = extract_features(paths, ids, cfg, device="cpu")
            times["songspace, cached re-run"].append(time.perf_counter() - t)
            assert fs.n_computed == 0, "cached re-run recomputed features"
        steps = per_clip_ms(paths, base)
    ref = statistics.median(times["librosa (1 process)"])
    print(f"{args.n} clips of {args.seconds:g} s at {args.source_sr} Hz, {cores} cores, median of {args.repeats} runs")
    print(f"{'':28s} {'seconds':>8s} {'clips/s':>8s} {'x librosa time':>15s}")
    for label, ts in times.items():
        m = statistics.median(ts)
        print(f"{label:28s} {m:8.2f} {args.n / m:8.1f} {m / ref:15.2f}")
    print("\nper clip, one thread (ms):")
    for step, ms in steps.items():
        print(f"  {step:26s} {ms:8.1f}")


if __name__ == "__main__":
    main()
