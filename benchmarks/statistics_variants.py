"""Ways of using the 110 statistics without a model, on hybrid_music_dev: as they are, with each descriptor family
block-scaled to equal weight, without the production-bound columns, and reduced by UMAP before clustering.

    python benchmarks/statistics_variants.py ~/.cache/songspace-devbench/hybrid_music_dev

Prints, per variant, K-Means genre NMI over seeds 0-4 (mean ± std), a diagonal GMM's over seeds 0-2, and the
10-nearest-neighbour agreement of the space with genre and with artist (artist is nuisance: lower is better at
equal genre agreement). metadata.csv is read only to score.
"""

from __future__ import annotations

import csv
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score as nmi
from sklearn.mixture import GaussianMixture

from songspace.datasets import read_dataset
from songspace.evaluation.metrics import neighbour_agreement
from songspace.fusion import Block, fuse
from songspace.representations.base import standardise
from songspace.runner import usable_features
from songspace.settings import load


def family(name: str) -> str:
    if name.startswith("mfcc") and name.endswith("_mean"):
        return "timbre_level"
    if name.startswith(("mfcc", "dmfcc")):
        return "timbre_motion"
    if name.startswith(("tempo_acf", "onset", "pulse")):
        return "rhythm"
    if name.startswith("loudness"):
        return "dynamics"
    if name.startswith(("chroma", "key", "tonnetz", "polyphony")):
        return "harmony"
    return "texture"


def main() -> None:
    data = Path(sys.argv[1])
    cfg = load(None, data=str(data), layout="folder")
    manifest, feats, _ = usable_features(cfg, read_dataset(data, layout="folder"))
    with (data / "metadata.csv").open(encoding="utf-8", newline="") as fh:
        meta = {r["track_id"]: r for r in csv.DictReader(fh)}
    genre = np.array([meta[t]["genre"] for t in feats.track_ids])
    artist = np.array([meta[t]["artist"] for t in feats.track_ids])
    S = np.asarray(feats.stats, dtype=np.float64)
    families: dict[str, list[int]] = {}
    for i, name in enumerate(feats.stat_names):
        families.setdefault(family(name), []).append(i)
    Z = standardise(S)
    blocks = [Block(f, standardise(S[:, cols])) for f, cols in families.items()]
    variants = {
        "statistics, standardised": Z,
        "families block-scaled": fuse(blocks),
        "without timbre level (MFCC means)": fuse([b for b in blocks if b.name != "timbre_level"]),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import umap

        for d in (6, 10):
            variants[f"UMAP of the statistics, {d}-d"] = umap.UMAP(n_components=d, n_neighbors=15, min_dist=0.0,
                                                                    random_state=0).fit_transform(Z)
    print(f"{len(feats.track_ids)} tracks, {S.shape[1]} statistics; families "
          + ", ".join(f"{f} {len(c)}" for f, c in families.items()))
    for name, X in variants.items():
        km = [nmi(genre, KMeans(6, n_init=10, random_state=s).fit_predict(X)) for s in range(5)]
        gm = [nmi(genre, GaussianMixture(6, covariance_type="diag", reg_covar=1e-3, random_state=s).fit(X).predict(X))
              for s in range(3)]
        print(f"{name:38s} K-Means {np.mean(km):.3f} ± {np.std(km, ddof=1):.3f}  GMM {np.mean(gm):.3f}  "
              f"10-NN genre {neighbour_agreement(X, genre):.3f}  artist {neighbour_agreement(X, artist):.3f}")


if __name__ == "__main__":
    main()
