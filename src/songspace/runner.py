"""The experiment runner: the only code that writes a run folder.

One run = read the dataset, extract (or load cached) features, learn each representation, cluster it,
score it, draw it, and write everything into a new folder under ``out``::

    runs/20261123-101500-demo/
        config.toml        the resolved settings (rerun with --config)
        metrics.csv        one row per method; *_common columns are in the shared feature space
        assignments.csv    track_id, cluster per method, labels
        latents/<method>.npy, models/<model>.pt and <model>_history.json
        figures/*.png      t-SNE / UMAP by cluster and by label, training curve
        problems.csv       every skipped file or row, and why
        summary.json       counts, k and where it came from, timings, versions
        run.log
"""

from __future__ import annotations

import csv
import json
import logging
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.preprocessing import StandardScaler

from songspace.clustering import LatentClusterer, choose_k
from songspace.config import RunConfig, dump_config
from songspace.datasets import Manifest, Problem, read_dataset
from songspace.errors import ConfigError, RunError, SongspaceError
from songspace.evaluation import score_clustering
from songspace.features import FeatureSet, extract_features
from songspace.models import save_model
from songspace.visualisation import (
    plot_embedding,
    plot_training_curve,
    project_2d,
    sample_indices,
    save_figure,
)

log = logging.getLogger("songspace")

# Short method names for metrics.csv, as other tools' tables write them.
METHOD_NAMES = {"mlp_vae": "vae"}

# progress(stage, done, total): the CLI turns these into progress bars.
Progress = Callable[[str, int, int], None]


class RunFolder:
    """A new folder for one run's results. Never reuses or overwrites an existing folder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, out: Path | str, name: str = "") -> RunFolder:
        out = Path(out).expanduser()
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = f"{stamp}-{name}" if name else stamp
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"{out}: cannot create the runs folder ({exc.strerror}); choose another --out.") from exc
        for i in range(1, 1000):
            path = out / (base if i == 1 else f"{base}-{i}")
            try:
                path.mkdir()  # atomic: fails if a parallel run took the name
            except FileExistsError:
                continue
            return cls(path)
        raise RunError(f"{out}: could not find a free run folder name for {base!r}.")

    def file(self, rel: str) -> Path:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_text(self, rel: str, text: str) -> Path:
        p = self.file(rel)
        p.write_text(text, encoding="utf-8")
        return p

    def write_csv(self, rel: str, rows: list[dict[str, Any]], columns: list[str]) -> Path:
        p = self.file(rel)
        with p.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            w.writeheader()
            for r in rows:
                w.writerow({k: _fmt(v) for k, v in r.items()})
        return p


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return "nan" if np.isnan(v) else f"{v:.6g}"
    return v


@dataclass
class MethodResult:
    name: str
    space: str  # what the method's own space is, for the table
    labels: np.ndarray | None
    latent: np.ndarray | None
    row: dict[str, Any]
    clusterer: LatentClusterer | None = None


@dataclass
class RunResult:
    folder: Path
    metrics: list[dict[str, Any]]
    metric_columns: list[str]
    summary: dict[str, Any] = field(default_factory=dict)


def resolve_labels(manifest: Manifest, requested: list[str] | None) -> list[str]:
    """The label columns to evaluate against: the requested ones (which must exist) or all found."""
    if not requested:
        return list(manifest.label_columns)
    missing = [c for c in requested if c not in manifest.label_columns]
    if missing:
        found = ", ".join(manifest.label_columns) or "none"
        raise ConfigError(f"label column(s) {missing} not found in {manifest.root} (label columns found: {found}).")
    return list(requested)


def resolve_k(cfg: RunConfig, labels: dict[str, list[str]], common: np.ndarray) -> tuple[int, str]:
    """k and a sentence saying where it came from."""
    if cfg.cluster.k is not None:
        return cfg.cluster.k, "set by cluster.k / --k"
    source = cfg.cluster.k_label or ("genre" if "genre" in labels else next(iter(labels), None))
    if source is not None:
        if source not in labels:
            raise ConfigError(f"cluster.k_label = {source!r} is not a label column of this dataset "
                              f"(found: {', '.join(labels) or 'none'}).")
        n = len({v for v in labels[source] if v})
        if n >= 2:
            return n, f"number of classes of label '{source}' (label used for k only)"
    k = choose_k(common, tuple(cfg.cluster.k_range), seed=cfg.seed)
    return k, f"highest silhouette of K-Means on the standardised features over k in {list(cfg.cluster.k_range)}"


def run_experiment(cfg: RunConfig, *, progress: Progress | None = None) -> RunResult:
    """Run one experiment as configured and write its folder. See the module docstring for the layout."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    manifest = read_dataset(cfg.data, layout=cfg.layout)
    label_names = resolve_labels(manifest, cfg.labels)
    run = RunFolder.create(cfg.out, cfg.name or Path(cfg.data).name)
    handler = logging.FileHandler(run.file("run.log"), encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        run.write_text("config.toml", dump_config(cfg))
        log.info("run folder %s; dataset %s (%s layout): %d tracks, %d problem(s)", run.path, manifest.root,
                 manifest.layout, len(manifest), len(manifest.problems))
        timings["read"] = time.perf_counter() - t0
        return _run(cfg, manifest, label_names, run, timings, progress)
    finally:
        log.removeHandler(handler)
        handler.close()


def _run(cfg: RunConfig, manifest: Manifest, label_names: list[str], run: RunFolder, timings: dict[str, float],
         progress: Progress | None) -> RunResult:
    t = time.perf_counter()
    feats: FeatureSet = extract_features(
        [tr.audio_path for tr in manifest.tracks], [tr.track_id for tr in manifest.tracks], cfg.features,
        device=None if cfg.train.device == "auto" else cfg.train.device,
        progress=(lambda d, n: progress("features", d, n)) if progress else None)
    timings["features"] = time.perf_counter() - t
    problems: list[Problem] = [*manifest.problems, *feats.failed]
    run.write_csv("problems.csv", [p.__dict__ for p in problems], ["path", "reason", "skipped"])
    position = {tr.track_id: i for i, tr in enumerate(manifest.tracks)}
    manifest = manifest.select([position[t] for t in feats.track_ids])
    if len(manifest) < 3:
        raise RunError(f"{manifest.root}: only {len(manifest)} usable track(s) after skipping "
                       f"{len(feats.failed)} unusable file(s); see {run.path / 'problems.csv'}.")
    labels = {name: manifest.labels(name) for name in label_names}
    X = np.asarray(feats.stats, dtype=np.float32)
    common = StandardScaler().fit_transform(X).astype(np.float32)  # the space every method is also scored in
    k, k_source = resolve_k(cfg, labels, common)
    log.info("%d tracks, %d features each; k = %d (%s)", len(X), X.shape[1], k, k_source)

    methods = [
        (f"{METHOD_NAMES.get(cfg.model.name, cfg.model.name)}+{cfg.cluster.algorithm}", cfg.model.name,
         f"{cfg.model.name} posterior means"),
        (f"pca+{cfg.cluster.algorithm}", "pca", "PCA of the standardised features"),
        (f"features+{cfg.cluster.algorithm}", "features", "standardised features"),
    ]
    results: list[MethodResult] = []
    for name, model, space in methods:
        t = time.perf_counter()
        est = LatentClusterer(model=model, clusterer=cfg.cluster.algorithm, n_clusters=k,
                              latent_dim=cfg.model.latent_dim, hidden_dims=cfg.model.hidden_dims,
                              beta=cfg.model.beta, train=cfg.train, n_init=cfg.cluster.n_init, seed=cfg.seed)
        cb = (lambda e, n, _terms, _name=name: progress(f"train {_name}", e, n)) if progress else None
        try:
            est.fit(X, progress=cb)
        except SongspaceError as exc:  # e.g. k > n: a row of NaN with the reason, not a crash
            log.error("%s: %s", name, exc)
            results.append(MethodResult(name, space, None, None, {"method": name, "notes": str(exc)}))
            continue
        row = {"method": name, "space": f"{space} ({est.latent_.shape[1]}-d)",
               **score_clustering(est.labels_, own_space=est.latent_, common_space=common, labels=labels,
                                  seed=cfg.seed, silhouette_sample=cfg.eval.silhouette_sample)}
        results.append(MethodResult(name, space, est.labels_, est.latent_, row, est))
        timings[name] = time.perf_counter() - t

    columns = _metric_columns(label_names)
    rows = [r.row for r in results]
    run.write_csv("metrics.csv", rows, columns)
    _write_assignments(run, manifest, results, labels)
    for r in results:
        if r.latent is not None:
            np.save(run.file(f"latents/{r.name}.npy"), r.latent)
        if r.clusterer is not None and r.clusterer.history_.train:
            stem = r.name.split("+")[0]
            save_model(r.clusterer.model_, run.file(f"models/{stem}.pt"))
            run.write_text(f"models/{stem}_history.json", json.dumps(r.clusterer.history_.__dict__, indent=1))
            save_figure(plot_training_curve(r.clusterer.history_, title=f"{r.name}: loss per epoch"),
                        run.file(f"figures/training_curve_{stem}.png"))

    t = time.perf_counter()
    _draw(cfg, run, results, labels, progress)
    timings["figures"] = time.perf_counter() - t

    summary = {
        "dataset": str(manifest.root), "layout": manifest.layout, "tracks_used": len(manifest),
        "problems": len(problems), "skipped": sum(p.skipped for p in problems),
        "features_computed": feats.n_computed, "features_cached": feats.n_cached,
        "labels": label_names, "k": k, "k_source": k_source, "seed": cfg.seed,
        "timings_s": {k_: round(v, 2) for k_, v in timings.items()},
        "versions": _versions(), "train_device": results[0].clusterer.history_.device
        if results and results[0].clusterer else None,
    }
    run.write_text("summary.json", json.dumps(summary, indent=1, ensure_ascii=False))
    log.info("done: %s", run.path)
    return RunResult(run.path, rows, columns, summary)


def _metric_columns(label_names: list[str]) -> list[str]:
    cols = ["method", "silhouette", "calinski_harabasz", "davies_bouldin",
            "silhouette_common", "calinski_harabasz_common", "davies_bouldin_common"]
    for name in label_names:
        cols += [f"ari_{name}", f"nmi_{name}", f"purity_{name}"]
    return [*cols, "n_clusters", "space", "notes"]


def _write_assignments(run: RunFolder, manifest: Manifest, results: list[MethodResult],
                       labels: dict[str, list[str]]) -> None:
    rows = []
    for i, tr in enumerate(manifest.tracks):
        row: dict[str, Any] = {"track_id": tr.track_id, "title": tr.title, "artist": tr.artist}
        for r in results:
            row[r.name] = int(r.labels[i]) if r.labels is not None else ""
        row.update({name: vals[i] for name, vals in labels.items()})
        rows.append(row)
    cols = ["track_id", "title", "artist", *[r.name for r in results], *labels]
    run.write_csv("assignments.csv", rows, cols)


def _draw(cfg: RunConfig, run: RunFolder, results: list[MethodResult], labels: dict[str, list[str]],
          progress: Progress | None) -> None:
    projections = [p for p, on in (("tsne", cfg.plots.tsne), ("umap", cfg.plots.umap)) if on]
    todo = [(r, p) for r in results if r.latent is not None for p in projections]
    for j, (r, proj) in enumerate(todo):
        idx = sample_indices(len(r.latent), cfg.plots.max_points, seed=cfg.seed)
        coords = project_2d(r.latent[idx], proj, seed=cfg.seed)
        colourings = {"cluster": [str(c) for c in r.labels[idx]]}
        colourings.update({name: [vals[i] for i in idx] for name, vals in labels.items()})
        sampled = f", sample of {len(idx)}" if len(idx) < len(r.latent) else ""
        fig = plot_embedding(coords, colourings, title=f"{r.name}: {proj.upper()} of {r.space}{sampled}")
        save_figure(fig, run.file(f"figures/{r.name.replace('+', '_')}_{proj}.png"))
        if progress:
            progress("figures", j + 1, len(todo))


def _versions() -> dict[str, str]:
    import librosa
    import sklearn
    import torch

    import songspace
    return {"songspace": songspace.__version__, "python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "scikit-learn": sklearn.__version__, "librosa": librosa.__version__}
