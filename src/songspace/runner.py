"""The experiment runner: the only code that writes a run folder.

One run = read the dataset, extract (or load cached) audio features and lyrics features, learn each
representation, cluster it with each clusterer, score it, write the analysis, draw it, and write everything
into a new folder under ``out``::

    runs/20261123-101500-demo/
        config.toml        the resolved settings (rerun with --config)
        metrics.csv        one row per representation x clusterer; *_common columns are in the shared space
        analysis.md        what the numbers say, written from them
        assignments.csv    track_id, cluster per method, labels
        latents/<representation>.npy, models/<representation>.pt and <representation>_history.json
        figures/*.png      t-SNE / UMAP per representation by cluster and by label, training curves
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

from songspace.clustering import choose_k, cluster
from songspace.config import RunConfig, dump_config
from songspace.datasets import Manifest, Problem, read_dataset
from songspace.errors import ConfigError, RunError, SongspaceError
from songspace.evaluation import score_clustering
from songspace.evaluation.analysis import analyse
from songspace.features import FeatureSet, extract_features
from songspace.features.text import TextFeatureSet, lyrics_features, read_lyrics
from songspace.models import save_model
from songspace.representations import LYRICS_METHODS, Inputs, Representation, common_space, learn_all
from songspace.visualisation import (
    plot_embedding,
    plot_training_curve,
    project_2d,
    sample_indices,
    save_figure,
)

log = logging.getLogger("songspace")

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
    """One clustering of one representation."""

    name: str  # "<representation>+<clusterer>"
    rep: Representation
    clusterer: str
    labels: np.ndarray | None  # [shape=(n,)], -1 = noise or not covered (no lyrics); None when it failed
    row: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)


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
    position = {tr.track_id: i for i, tr in enumerate(manifest.tracks)}
    manifest = manifest.select([position[t] for t in feats.track_ids])
    if len(manifest) < 3:
        run.write_csv("problems.csv", [p.__dict__ for p in problems], ["path", "reason", "skipped"])
        raise RunError(f"{manifest.root}: only {len(manifest)} usable track(s) after skipping "
                       f"{len(feats.failed)} unusable file(s); see {run.path / 'problems.csv'}.")
    labels = {name: manifest.labels(name) for name in label_names}

    t = time.perf_counter()
    lyrics = _lyrics(cfg, manifest, problems)
    timings["lyrics"] = time.perf_counter() - t
    run.write_csv("problems.csv", [p.__dict__ for p in problems], ["path", "reason", "skipped"])
    inputs = Inputs(stats=np.asarray(feats.stats, dtype=np.float32), log_mel=feats.log_mel, lyrics=lyrics,
                    n_mfcc=cfg.features.n_mfcc)
    common = common_space(inputs)  # the space every clustering is also scored in
    k, k_source = resolve_k(cfg, labels, inputs.standardised_stats())
    n_lyrics = int(lyrics.present.sum()) if lyrics is not None else 0
    log.info("%d tracks (%d with lyrics), %d statistics each; k = %d (%s)", len(manifest), n_lyrics,
             inputs.stats.shape[1], k, k_source)

    t = time.perf_counter()
    reps, rep_notes = learn_all(inputs, cfg, progress=progress)
    for note in rep_notes:
        log.warning(note)
    timings["representations"] = time.perf_counter() - t

    t = time.perf_counter()
    results: list[MethodResult] = []
    todo = [(r, a) for r in reps for a in cfg.cluster.algorithms]
    for j, (rep, algorithm) in enumerate(todo):
        results.append(_cluster_and_score(cfg, rep, algorithm, k, common, labels))
        if progress:
            progress("cluster", j + 1, len(todo))
    timings["clustering"] = time.perf_counter() - t

    columns = _metric_columns(label_names)
    rows = [r.row for r in results]
    run.write_csv("metrics.csv", rows, columns)
    _write_assignments(run, manifest, results, labels)
    for rep in reps:
        np.save(run.file(f"latents/{rep.name}.npy"), rep.latent)
        if rep.model is not None and rep.history is not None:
            save_model(rep.model, run.file(f"models/{rep.name}.pt"))
            run.write_text(f"models/{rep.name}_history.json", json.dumps(rep.history.__dict__, indent=1))
            save_figure(plot_training_curve(rep.history, title=f"{rep.name}: loss per epoch"),
                        run.file(f"figures/training_curve_{rep.name}.png"))
    run.write_text("analysis.md", analyse(rows, label_names, n_tracks=len(manifest),
                                          n_with_lyrics=n_lyrics if lyrics is not None else None))

    t = time.perf_counter()
    _draw(cfg, run, reps, results, labels, progress)
    timings["figures"] = time.perf_counter() - t

    trained = [r for r in reps if r.history is not None]
    summary = {
        "dataset": str(manifest.root), "layout": manifest.layout, "tracks_used": len(manifest),
        "tracks_with_lyrics": n_lyrics, "problems": len(problems), "skipped": sum(p.skipped for p in problems),
        "features_computed": feats.n_computed, "features_cached": feats.n_cached,
        "labels": label_names, "k": k, "k_source": k_source, "seed": cfg.seed,
        "representations": [r.name for r in reps], "clusterers": list(cfg.cluster.algorithms),
        "notes": rep_notes,
        "cluster_params": {r.name: r.params for r in results if r.params},
        "timings_s": {k_: round(v, 2) for k_, v in timings.items()},
        "train_seconds": {r.name: round(r.history.seconds, 2) for r in trained},
        "versions": _versions(), "train_device": trained[0].history.device if trained else None,
    }
    run.write_text("summary.json", json.dumps(summary, indent=1, ensure_ascii=False, default=str))
    log.info("done: %s", run.path)
    return RunResult(run.path, rows, columns, summary)


def _lyrics(cfg: RunConfig, manifest: Manifest, problems: list[Problem]) -> TextFeatureSet | None:
    """Lyrics features of every track (None when no lyrics method is asked for or no track has lyrics)."""
    if not any(m in LYRICS_METHODS for m in cfg.methods.representations):
        return None
    texts: list[str | None] = []
    for tr in manifest.tracks:
        if tr.lyrics_text is not None:
            texts.append(tr.lyrics_text)
        elif tr.lyrics_path is not None:
            got = read_lyrics(tr.lyrics_path)
            if got.text is None:
                problems.append(Problem(str(tr.lyrics_path), got.problem or "lyrics unusable", skipped=False))
            texts.append(got.text)
        else:
            texts.append(None)
    if not any(texts):
        log.warning("no track has lyrics: lyrics and hybrid methods fall back to audio only")
        return None
    return lyrics_features(texts, n_components=cfg.methods.lyrics_components, seed=cfg.seed)


def _cluster_and_score(cfg: RunConfig, rep: Representation, algorithm: str, k: int, common: np.ndarray,
                       labels: dict[str, list[str]]) -> MethodResult:
    name = f"{rep.name}+{algorithm}"
    base = {"method": name, "representation": rep.name, "clusterer": algorithm, "modality": rep.modality,
            "learned": rep.learned, "space": rep.space}
    covered = np.ones(len(rep.latent), dtype=bool) if rep.present is None else rep.present
    notes = list(rep.notes)
    try:
        options = {"n_init": cfg.cluster.n_init} if algorithm == "kmeans" else {}
        res = cluster(algorithm, rep.latent[covered], k, seed=cfg.seed, **options)
    except SongspaceError as exc:  # e.g. k > n: a row of NaN with the reason, not a crash
        log.error("%s: %s", name, exc)
        return MethodResult(name, rep, algorithm, None, {**base, "notes": "; ".join([*notes, str(exc)])})
    pred = np.full(len(rep.latent), -1, dtype=np.int64)
    pred[covered] = res.labels
    row = {**base, **score_clustering(pred, own_space=rep.latent, common_space=common, labels=labels,
                                      seed=cfg.seed, silhouette_sample=cfg.eval.silhouette_sample)}
    if not covered.all():
        notes.append(f"{int((~covered).sum())} tracks without lyrics left unassigned (-1, counted as noise)")
    notes += [n for n in (res.notes, row.get("notes", "")) if n]
    row["notes"] = "; ".join(notes)
    return MethodResult(name, rep, algorithm, pred, row, dict(res.params))


def _metric_columns(label_names: list[str]) -> list[str]:
    cols = ["method", "representation", "clusterer", "modality", "silhouette", "calinski_harabasz", "davies_bouldin",
            "silhouette_common", "calinski_harabasz_common", "davies_bouldin_common", "noise_fraction"]
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


def _draw(cfg: RunConfig, run: RunFolder, reps: list[Representation], results: list[MethodResult],
          labels: dict[str, list[str]], progress: Progress | None) -> None:
    """t-SNE / UMAP of each representation, coloured by its first clusterer's clusters and by each label."""
    projections = [p for p, on in (("tsne", cfg.plots.tsne), ("umap", cfg.plots.umap)) if on]
    first = {}
    for r in results:
        if r.labels is not None:
            first.setdefault(r.rep.name, r)
    todo = [(rep, p) for rep in reps if rep.name in first for p in projections]
    for j, (rep, proj) in enumerate(todo):
        res = first[rep.name]
        idx = sample_indices(len(rep.latent), cfg.plots.max_points, seed=cfg.seed)
        coords = project_2d(rep.latent[idx], proj, seed=cfg.seed)
        colourings = {f"cluster ({res.clusterer})": [str(c) if c >= 0 else "none" for c in res.labels[idx]]}
        colourings.update({name: [vals[i] for i in idx] for name, vals in labels.items()})
        sampled = f", sample of {len(idx)}" if len(idx) < len(rep.latent) else ""
        fig = plot_embedding(coords, colourings, title=f"{rep.name}: {proj.upper()} of {rep.space}{sampled}")
        save_figure(fig, run.file(f"figures/{rep.name}_{proj}.png"))
        if progress:
            progress("figures", j + 1, len(todo))


def _versions() -> dict[str, str]:
    import librosa
    import sklearn
    import torch

    import songspace
    return {"songspace": songspace.__version__, "python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "scikit-learn": sklearn.__version__, "librosa": librosa.__version__}
