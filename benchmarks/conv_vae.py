"""Seconds per training epoch of the convolutional VAEs on log-mel spectrograms.

    python benchmarks/conv_vae.py [--log-mel PATH/log_mel.npy] [--n 300] [--epochs 5] [--frames 128 0]

Without ``--log-mel``, a float16 memmap of random dB values of the real shape (n, 128, 431) is written to a
temporary folder (speed does not depend on the values). ``--frames 0`` keeps all 431 frames. Each setting
trains ``--epochs`` epochs with the default TrainConfig batch size (64) and learning rate, held-out split
included, on every core torch sees, and prints the median seconds per epoch and the final training loss.
Target (issue 3): a 300-track demo trains in well under a minute on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from songspace.config import TrainConfig
from songspace.models import build_model
from songspace.training import SpectrogramDataset, seed_everything, train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log-mel", type=Path, help="a FeatureSet's log_mel.npy [shape=(n, n_mels, n_frames)]")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--frames", type=int, nargs="+", default=[128, 0])
    ap.add_argument("--models", nargs="+", default=["conv_vae", "mfcc_conv_vae"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.log_mel:
            log_mel = np.load(args.log_mel, mmap_mode="r")[: args.n]
        else:
            log_mel = np.lib.format.open_memmap(Path(tmp) / "log_mel.npy", mode="w+", dtype=np.float16,
                                                shape=(args.n, 128, 431))
            log_mel[:] = np.random.default_rng(0).normal(-30, 15, size=log_mel.shape)
        print(f"{len(log_mel)} items of {log_mel.shape[1:]} {log_mel.dtype}, {os.cpu_count()} cores, "
              f"{torch.get_num_threads()} torch threads, {args.epochs} epochs each")
        for name in args.models:
            for frames in args.frames:
                t = time.perf_counter()
                ds = SpectrogramDataset(log_mel, frames=frames or None,
                                        n_mfcc=20 if name == "mfcc_conv_vae" else None).fit_standardisation()
                fit_s = time.perf_counter() - t
                seed_everything(0)
                model = build_model(name, input_shape=ds.item_shape, latent_dim=16)
                per_epoch: list[float] = []
                last = [time.perf_counter()]

                def tick(epoch: int, total: int, terms: dict[str, float], per_epoch=per_epoch, last=last) -> None:
                    now = time.perf_counter()
                    per_epoch.append(now - last[0])
                    last[0] = now

                hist = train(model, ds, TrainConfig(epochs=args.epochs, patience=args.epochs, device="cpu"),
                             progress=tick)
                n_params = sum(p.numel() for p in model.parameters())
                print(f"  {name:14s} items {ds.item_shape!s:11s} {n_params / 1e6:5.2f} M params  "
                      f"{statistics.median(per_epoch):5.2f} s/epoch  (standardisation pass {fit_s:.2f} s)  "
                      f"train loss per element {hist.train[0]['reconstruction'] / np.prod(ds.item_shape):.3f} "
                      f"-> {hist.train[-1]['reconstruction'] / np.prod(ds.item_shape):.3f}")


if __name__ == "__main__":
    main()
