"""Model quality on hybrid_music_dev (../shared/devbench): every representation of a config against genre and
language, mean ± std over seeds, beside the collection's reference baseline.

    python benchmarks/devbench.py ~/.cache/songspace-devbench/hybrid_music_dev [--config hard] [--seeds 5]
        [-r vae -r pca ...] [--markdown results.md] [--json results.json]

songspace learns and clusters exactly as a run does (k = 6, the config's representations and clusterers, seeds
seed .. seed + n - 1). metadata.csv is read here only to score: ``genre``, ``language`` (``none`` for
instrumentals) and language on the sung tracks only (``has_vocals``). Printed per representation: its row with
K-Means and its best clusterer (by genre NMI + language NMI), with genre NMI and ARI, language NMI on all tracks and
on sung tracks, language ARI, the 10-nearest-neighbour label agreement of the space for genre and language (any
clusterer), the common-space silhouette, and the noise share.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import time
from pathlib import Path

from songspace.datasets import read_dataset
from songspace.evaluation.registry import as_float, metric_columns
from songspace.evaluation.seeds import aggregate_seeds
from songspace.experiment import run_seeds
from songspace.runner import learning_inputs, usable_features
from songspace.settings import load

K = 6
COLUMNS = [("nmi_genre", "NMI genre"), ("ari_genre", "ARI genre"), ("nmi_language", "NMI lang"),
           ("nmi_language_sung", "NMI lang (sung)"), ("ari_language", "ARI lang"), ("knn_genre", "10-NN genre"),
           ("knn_language", "10-NN lang"), ("silhouette_common", "sil common"), ("noise_fraction", "noise")]


def scoring_labels(root: Path, track_ids: list[str]) -> dict[str, list[str]]:
    """genre, language and language on sung tracks ("" elsewhere), in ``track_ids`` order, from metadata.csv."""
    with (root / "metadata.csv").open(encoding="utf-8", newline="") as fh:
        meta = {r["track_id"]: r for r in csv.DictReader(fh)}
    rows = [meta[t] for t in track_ids]
    return {"genre": [r["genre"] for r in rows], "language": [r["language"] for r in rows],
            "language_sung": [r["language"] if r.get("has_vocals") == "1" else "" for r in rows]}


def vocal_auc(root: Path, track_ids: list[str], log_mel, cfg) -> float:
    """ROC AUC of the audio-only vocal-presence score against metadata's has_vocals (read here only to score)."""
    from sklearn.metrics import roc_auc_score

    from songspace.features.vocal import vocal_presence
    from songspace.parallel import read_rows

    with (root / "metadata.csv").open(encoding="utf-8", newline="") as fh:
        sung = {r["track_id"]: r.get("has_vocals") == "1" for r in csv.DictReader(fh)}
    scores = [vocal_presence(read_rows(log_mel, slice(i, i + 64)), sample_rate=cfg.features.sample_rate,
                             hop_length=cfg.features.hop_length, fmin=cfg.features.fmin, fmax=cfg.features.fmax)
              for i in range(0, len(track_ids), 64)]
    return float(roc_auc_score([sung[t] for t in track_ids], [v for s in scores for v in s]))


def cell(row: dict, col: str) -> str:
    v, sd = as_float(row.get(col)), as_float(row.get(f"{col}_std"))
    if math.isnan(v):
        return "–"
    return f"{v:.3f}" + ("" if math.isnan(sd) else f" ± {sd:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--config", default=None, help="a shipped config name or a .toml path (default: default)")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("-r", "--representation", "-m", dest="method", action="append",
                    help="representations (default: the config's)")
    ap.add_argument("-c", "--clusterer", action="append", help="clusterers (default: the config's)")
    ap.add_argument("--markdown", type=Path, help="write the table as Markdown here")
    ap.add_argument("--json", type=Path, help="write every aggregated row as JSON here")
    args = ap.parse_args()

    overrides = {"data": str(args.data), "n_seeds": args.seeds, "cluster.k": K, "layout": "folder"}
    if args.method:
        overrides["representations.names"] = args.method
    if args.clusterer:
        overrides["cluster.algorithms"] = args.clusterer
    cfg = load(args.config, **overrides)
    t0 = time.perf_counter()
    manifest = read_dataset(cfg.data, layout=cfg.layout)
    manifest, feats, _problems = usable_features(cfg, manifest)
    labels = scoring_labels(Path(cfg.data), [tr.track_id for tr in manifest.tracks])
    cfg, inputs, common, notes = learning_inputs(cfg, manifest, feats)
    t_feat = time.perf_counter() - t0
    vocal = vocal_auc(Path(cfg.data), [tr.track_id for tr in manifest.tracks], feats.log_mel, cfg)
    outcomes = list(run_seeds(cfg, inputs, K, common, labels))
    seconds = time.perf_counter() - t0
    seed_rows = sorted((r for o in outcomes for r in o.rows), key=lambda r: r["seed"])
    rows = aggregate_seeds(seed_rows, metric_columns(list(labels)))

    table = []
    for rep in dict.fromkeys(r["representation"] for r in rows):
        mine = [r for r in rows if r["representation"] == rep]
        score = [as_float(r.get("nmi_genre")) + as_float(r.get("nmi_language")) for r in mine]
        best = mine[max(range(len(mine)), key=lambda i: -1 if math.isnan(score[i]) else score[i])]
        picks = [r for r in mine if r["clusterer"] == "kmeans"]
        picks += [best] if best not in picks else []
        table += picks
    head = "| method | " + " | ".join(h for _, h in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    lines += ["| " + r["method"] + " | " + " | ".join(cell(r, c) for c, _ in COLUMNS) + " |" for r in table]
    ref_path = Path(cfg.data) / "reference_baseline.json"
    ref = json.loads(ref_path.read_text(encoding="utf-8")) if ref_path.is_file() else {}
    if ref:
        lines.append("")
        lines.append("Reference baseline (build.sh: MFCC statistics / character TF-IDF + K-Means, k = classes), NMI:")
        for key, what in (("genre (all tracks)", "genre"), ("language (all tracks, 'none'=instrumental)", "language"),
                          ("language (vocal tracks only)", "language (sung)")):
            parts = [f"{m} {ref[f'{key} | {m}']['NMI']:.3f}" for m in ("audio", "text", "audio+text")
                     if f"{key} | {m}" in ref]
            lines.append(f"- {what}: " + ", ".join(parts))
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, check=False).stdout.strip()
    except OSError:
        commit = "?"
    footer = (f"vocal presence (features.vocal, from the log-mel) against has_vocals: AUC {vocal:.3f}\n"
              f"{len(manifest)} tracks, k = {K}, {len(outcomes)} seed(s) from {cfg.seed}, commit {commit}, "
              f"{seconds:.0f} s ({t_feat:.0f} s reading and features); config {args.config or 'default'}")
    text = "\n".join(lines) + "\n\n" + footer + "\n" + "".join(f"note: {n}\n" for n in notes)
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str), encoding="utf-8")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
