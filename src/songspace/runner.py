"""The experiment runner: the only code that writes a run folder.

One run = read the dataset, extract (or load cached) audio features and lyrics features, then for each seed
learn each representation, cluster it with each clusterer and score it (:mod:`songspace.experiment`), average
over seeds, write the analysis, draw, and write everything into a new folder under ``out``, laid out as
:mod:`songspace.runfolder` says.
"""

from __future__ import annotations

import io
import json
import logging
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from songspace import representations as registry
from songspace.clustering import choose_k
from songspace.config import RunConfig, dump_config
from songspace.datasets import Manifest, Problem, read_dataset
from songspace.errors import ConfigError, RunError
from songspace.evaluation.analysis import analyse
from songspace.evaluation.registry import metric_columns
from songspace.evaluation.seeds import aggregate_seeds, with_std
from songspace.experiment import MethodResult, run_seeds, seed_threads, seed_workers, seeds_of
from songspace.features import FeatureSet, extract_features
from songspace.features.text import TextFeatureSet, lyrics_features
from songspace.models import save_model
from songspace.representations.base import Inputs, Representation, common_space
from songspace.runfolder import (
    ANALYSIS,
    ASSIGNMENTS,
    BASE_COLUMNS,
    BETA_SWEEP,
    BETA_SWEEP_SEEDS,
    CONFIG,
    FIGURES_INDEX,
    LOG,
    METRICS,
    METRICS_SEEDS,
    PROBLEM_COLUMNS,
    PROBLEMS,
    SUMMARY,
    RunFolder,
    aggregated_columns,
    figure_file,
    history_file,
    latent_file,
    metrics_columns,
    model_file,
    projection_file,
)
from songspace.training import reconstruct
from songspace.visualisation import (
    plot_embedding,
    plot_training_curve,
    project_2d,
    sample_indices,
    save_figure,
)
from songspace.visualisation.results import (
    plot_beta_sweep,
    plot_composition,
    plot_metric_bars,
    plot_reconstructions,
    plot_traversal,
)

log = logging.getLogger("songspace")

# progress(stage, done, total): the CLI turns these into progress bars.
Progress = Callable[[str, int, int], None]


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
    manifest = read_dataset(cfg.data, layout=cfg.layout, max_labels=cfg.max_labels, labels=cfg.labels)
    label_names = resolve_labels(manifest, cfg.labels)
    run = RunFolder.create(cfg.out, cfg.name or Path(cfg.data).name)
    handler = logging.FileHandler(run.file(LOG), encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        run.write_text(CONFIG, dump_config(cfg))
        log.info("run folder %s; dataset %s (%s layout): %d tracks, %d problem(s)", run.path, manifest.root,
                 manifest.layout, len(manifest), len(manifest.problems))
        timings["read"] = time.perf_counter() - t0
        return _run(cfg, manifest, label_names, run, timings, progress)
    finally:
        log.removeHandler(handler)
        handler.close()


def usable_features(cfg: RunConfig, manifest: Manifest, *, progress: Progress | None = None
                    ) -> tuple[Manifest, FeatureSet, list[Problem]]:
    """Audio features of the manifest's tracks (cached), the manifest narrowed to the tracks that have them, and
    every problem so far (the reader's and the files that could not be used)."""
    feats: FeatureSet = extract_features(
        [tr.audio_path for tr in manifest.tracks], [tr.track_id for tr in manifest.tracks], cfg.features,
        device=None if cfg.train.device == "auto" else cfg.train.device,
        progress=(lambda d, n: progress("features", d, n)) if progress else None)
    problems: list[Problem] = [*manifest.problems, *feats.failed]
    position = {tr.track_id: i for i, tr in enumerate(manifest.tracks)}
    return manifest.select([position[t] for t in feats.track_ids]), feats, problems


def learning_inputs(cfg: RunConfig, manifest: Manifest, feats: FeatureSet
                    ) -> tuple[RunConfig, Inputs, np.ndarray, list[str]]:
    """What the representations learn from (audio features, lyrics features, the labels a config names as
    conditions), the common space every clustering is scored in, the config narrowed to the conditions this
    dataset has, and notes on what was left out."""
    lyrics = _lyrics(cfg, manifest)
    cfg, conditions, notes = _conditions(cfg, manifest)
    inputs = Inputs(stats=np.asarray(feats.stats, dtype=np.float32), log_mel=feats.log_mel, lyrics=lyrics,
                    n_mfcc=cfg.features.n_mfcc, stat_names=list(feats.stat_names), conditions=conditions)
    return cfg, inputs, common_space(inputs), notes


def _run(cfg: RunConfig, manifest: Manifest, label_names: list[str], run: RunFolder, timings: dict[str, float],
         progress: Progress | None) -> RunResult:
    t = time.perf_counter()
    manifest, feats, problems = usable_features(cfg, manifest, progress=progress)
    timings["features"] = time.perf_counter() - t
    if len(manifest) < 3:
        run.write_csv(PROBLEMS, [p.__dict__ for p in problems], PROBLEM_COLUMNS)
        raise RunError(f"{manifest.root}: only {len(manifest)} usable track(s) after skipping "
                       f"{len(feats.failed)} unusable file(s); see {run.path / 'problems.csv'}.")
    labels = {name: manifest.labels(name) for name in label_names}

    t = time.perf_counter()
    cfg, inputs, common, cond_notes = learning_inputs(cfg, manifest, feats)
    lyrics = inputs.lyrics
    timings["lyrics"] = time.perf_counter() - t
    run.write_csv(PROBLEMS, [p.__dict__ for p in problems], PROBLEM_COLUMNS)
    k, k_source = resolve_k(cfg, labels, inputs.standardised_stats())
    # Tracks with usable lyrics in the dataset, whether or not this run's methods read them.
    n_lyrics = int(lyrics.present.sum()) if lyrics is not None else sum(tr.has_lyrics for tr in manifest.tracks)
    seeds = seeds_of(cfg)
    log.info("%d tracks (%d with lyrics), %d statistics each; k = %d (%s); seeds %s", len(manifest), n_lyrics,
             inputs.stats.shape[1], k, k_source, seeds)

    t = time.perf_counter()
    outcomes = list(run_seeds(cfg, inputs, k, common, labels, progress=progress))
    first = outcomes[0]
    assert first.reps is not None and first.results is not None
    reps, results = first.reps, first.results
    rep_notes = [*cond_notes, *first.notes]
    for note in rep_notes:
        log.warning(note)
    timings["representations+clustering"] = time.perf_counter() - t

    columns = metrics_columns(label_names)
    numeric = metric_columns(label_names)
    seed_rows = sorted((r for o in outcomes for r in o.rows), key=lambda r: r["seed"])
    rows = aggregate_seeds(seed_rows, numeric)
    agg_columns = aggregated_columns(label_names)
    run.write_csv(METRICS, rows, agg_columns)
    run.write_csv(METRICS_SEEDS, seed_rows, ["seed", *columns])
    sweep = []
    if cfg.methods.beta_sweep:
        sweep_seed_rows = sorted((r for o in outcomes for r in o.sweep), key=lambda r: (r["beta"], r["seed"]))
        sweep_numeric = [c for c in sweep_seed_rows[0] if c not in ("beta", "seed")] if sweep_seed_rows else []
        sweep = aggregate_seeds(sweep_seed_rows, sweep_numeric, key="beta")
        run.write_csv(BETA_SWEEP, sweep, ["beta", "n_seeds", *with_std(sweep_numeric, sweep_numeric)])
        run.write_csv(BETA_SWEEP_SEEDS, sweep_seed_rows, ["beta", "seed", *sweep_numeric])
    _write_assignments(run, manifest, results, labels)
    for rep in reps:
        run.save_npy(latent_file(rep.name), rep.latent)
        if rep.model is not None and rep.history is not None:
            buf = io.BytesIO()
            save_model(rep.model, buf)
            run.write_bytes(model_file(rep.name), buf.getvalue())
            run.write_text(history_file(rep.name), json.dumps(rep.history.__dict__, indent=1))
    run.write_text(ANALYSIS, analyse(rows, label_names, n_tracks=len(manifest),
                                          n_with_lyrics=n_lyrics if lyrics is not None else None,
                                          seeds=len(seeds)))

    t = time.perf_counter()
    figures = _Figures(run)
    _draw(cfg, figures, reps, results, rows, sweep, labels, k_label=_k_label(cfg, labels), progress=progress)
    figures.write_index()
    timings["figures"] = time.perf_counter() - t

    trained = [r for r in reps if r.history is not None]
    summary = {
        "experiment": cfg.experiment or Path(cfg.data).name, "title": cfg.title,
        "dataset": str(manifest.root), "layout": manifest.layout, "tracks_used": len(manifest),
        "tracks_with_lyrics": n_lyrics, "lyrics_used": lyrics is not None,
        "problems": len(problems), "skipped": sum(p.skipped for p in problems),
        "features_computed": feats.n_computed, "features_cached": feats.n_cached,
        "labels": label_names, "k": k, "k_source": k_source, "seed": cfg.seed, "seeds": seeds,
        "seed_workers": seed_workers(cfg, len(seeds)),
        "train_threads": seed_threads(cfg, seed_workers(cfg, len(seeds))), "scheduler": cfg.features.scheduler,
        "representations": [r.name for r in reps], "clusterers": list(cfg.cluster.algorithms),
        # what each representation is (its registry entry), so that the report needs no registry to read the run
        "representation_specs": {r.name: registry.get(r.name).describe() for r in reps},
        "conditioned_on": {r.name: r.conditioned_on for r in reps if r.conditioned_on},
        "notes": rep_notes,
        "cluster_params": {r.name: r.params for r in results if r.params},
        "timings_s": {k_: round(v, 2) for k_, v in timings.items()},
        "train_seconds": {r.name: round(r.history.seconds, 2) for r in trained},
        # first seed's trainings taken from train.checkpoint_dir: "finished" (not run again) or "resumed ..."
        "from_checkpoints": {r.name: r.history.from_checkpoint for r in trained if r.history.from_checkpoint},
        "train_seconds_all_seeds": {str(o.seed): o.train_seconds for o in outcomes},
        "versions": _versions(), "train_device": trained[0].history.device if trained else None,
    }
    run.write_json(SUMMARY, summary)
    log.info("done: %s", run.path)
    return RunResult(run.path, rows, agg_columns, summary)


def _conditions(cfg: RunConfig, manifest: Manifest) -> tuple[RunConfig, dict[str, list[str]], list[str]]:
    """The label columns that representations are configured to be given (their spec's ``conditioned_by``), and the
    config without those this dataset lacks: a missing column is an error where the spec requires its conditions
    (cvae), else it is left out, noted (poe_vae)."""
    notes: list[str] = []
    wanted: list[str] = []
    for name in cfg.methods.representations:
        spec = registry.get(name)
        if spec.conditioned_by is None:
            continue
        key = spec.conditioned_by
        given = list(getattr(cfg.methods, key))
        absent = [c for c in given if c not in manifest.label_columns]
        if absent and spec.conditions_required:
            raise ConfigError(f"methods.{key} names {absent}, not label columns of {manifest.root} "
                              f"(found: {', '.join(manifest.label_columns) or 'none'}).")
        if absent:
            notes.append(f"{name}: no label column {', '.join(absent)} in this dataset; modalities without it")
            cfg = cfg.model_copy(deep=True)
            setattr(cfg.methods, key, [c for c in given if c not in absent])
        wanted += getattr(cfg.methods, key)
    return cfg, {c: manifest.labels(c) for c in dict.fromkeys(wanted)}, notes


def _k_label(cfg: RunConfig, labels: dict[str, list[str]]) -> str | None:
    """The label whose classes choose the reconstruction examples (k's label, else the first)."""
    name = cfg.cluster.k_label or ("genre" if "genre" in labels else next(iter(labels), None))
    return name if name in labels else None


def _lyrics(cfg: RunConfig, manifest: Manifest) -> TextFeatureSet | None:
    """Lyrics features of every track (None when no lyrics method is asked for or no track has lyrics).

    The texts are ``Track.lyrics_text``, decoded once by the dataset reader; its lyrics problems are already in
    ``manifest.problems``. No file is read here.
    """
    if not any(registry.get(m).needs_lyrics or registry.get(m).reads_lyrics for m in cfg.methods.representations):
        return None
    texts = [tr.lyrics_text for tr in manifest.tracks]
    if not any(texts):
        log.warning("no track has lyrics: lyrics and hybrid methods fall back to audio only")
        return None
    # Seed 0 whatever the run's seed: lyrics features are features, like the audio ones, so that seed s of a run
    # of several seeds gives the same numbers as a run of seed s alone.
    return lyrics_features(texts, n_components=cfg.methods.lyrics_components, seed=0)


def _write_assignments(run: RunFolder, manifest: Manifest, results: list[MethodResult],
                       labels: dict[str, list[str]]) -> None:
    rows = []
    for i, tr in enumerate(manifest.tracks):
        row: dict[str, Any] = {"track_id": tr.track_id, "title": tr.title, "artist": tr.artist,
                               "audio_path": str(Path(tr.audio_path).resolve())}
        for r in results:
            row[r.name] = int(r.labels[i]) if r.labels is not None else ""
        row.update({name: vals[i] for name, vals in labels.items()})
        rows.append(row)
    run.write_csv(ASSIGNMENTS, rows, [*BASE_COLUMNS, *[r.name for r in results], *labels])


class _Figures:
    """Saves figures into the run folder and lists them, with captions, in figures.json."""

    def __init__(self, run: RunFolder) -> None:
        self.run, self.index = run, []

    def add(self, fig: Any, name: str, caption: str, kind: str) -> None:
        buf = io.BytesIO()
        save_figure(fig, buf)
        rel = figure_file(name)
        self.run.write_bytes(rel, buf.getvalue())
        self.index.append({"file": rel, "caption": caption, "kind": kind})

    def write_index(self) -> None:
        self.run.write_json(FIGURES_INDEX, self.index)


def _draw(cfg: RunConfig, figures: _Figures, reps: list[Representation], results: list[MethodResult],
          rows: list[dict[str, Any]], sweep: list[dict[str, Any]], labels: dict[str, list[str]], *,
          k_label: str | None, progress: Progress | None) -> None:
    """Every figure of a run: from the first seed, the latent spaces (by cluster and by each label), cluster
    composition, reconstructions, traversals and training curves; from all seeds, metric bars with error bars and
    the beta sweep."""
    seed_note = f"seed {cfg.seed}"
    for rep in reps:
        if rep.history is not None:
            figures.add(plot_training_curve(rep.history, title=f"{rep.name}: loss per epoch"),
                        f"training_curve_{rep.name}", f"Training and validation loss of {rep.name} per epoch "
                        f"({seed_note}); the kept weights are those of the best validation epoch.", "training")
    projections = [p for p, on in (("tsne", cfg.plots.tsne), ("umap", cfg.plots.umap)) if on]
    first: dict[str, MethodResult] = {}
    for r in results:
        if r.labels is not None:
            first.setdefault(r.rep.name, r)
    todo = [(rep, p) for rep in reps if rep.name in first for p in projections]
    for j, (rep, proj) in enumerate(todo):
        res = first[rep.name]
        idx = sample_indices(len(rep.latent), cfg.plots.max_points, seed=cfg.seed)
        coords = project_2d(rep.latent[idx], proj, seed=cfg.seed)
        figures.run.save_npz(projection_file(rep.name, proj), index=idx, xy=coords)
        colourings = {f"cluster ({res.clusterer})": [str(c) if c >= 0 else "none" for c in res.labels[idx]]}
        colourings.update({name: [vals[i] for i in idx] for name, vals in labels.items()})
        sampled = f", sample of {len(idx)}" if len(idx) < len(rep.latent) else ""
        fig = plot_embedding(coords, colourings, title=f"{rep.name}: {proj.upper()} of {rep.space}{sampled}")
        by = ", ".join(["its " + res.clusterer + " clusters", *labels])
        figures.add(fig, f"{rep.name}_{proj}", f"{proj.upper()} of the {rep.name} space ({rep.space}{sampled}, "
                    f"{seed_note}), coloured by {by}.", "embedding")
        if progress:
            progress("figures", j + 1, len(todo))
    if labels:
        for r in results:
            if r.labels is None:
                continue
            figures.add(plot_composition(r.labels, labels, title=f"{r.name}: cluster composition"),
                        f"composition_{r.rep.name}_{r.clusterer}",
                        f"Composition of the {r.name} clusters over {', '.join(labels)} ({seed_note}): one bar per "
                        "cluster, its size on top; -1 = noise or not placed.", "composition")
    for rep in reps:
        spec = registry.get(rep.name)
        if spec.reconstructs and rep.model is not None and rep.dataset is not None:
            _draw_reconstructions(figures, rep, labels.get(k_label or "", None), k_label, cfg.seed)
        if spec.traversal and rep.model is not None and rep.dataset is not None:
            _draw_traversal(figures, rep, cfg.seed)
    for name in labels:
        cols = [f"nmi_{name}", f"ari_{name}", f"purity_{name}"]
        # Hatched: only the rows given this label (a cvae given the language is unsupervised about genre).
        marked = [{**r, "conditioned_on": name if name in str(r.get("conditioned_on", "")).split(";") else ""}
                  for r in rows]
        figures.add(plot_metric_bars(marked, cols, title=f"Agreement with {name} (mean ± std over seeds)"),
                    f"metrics_{name}", f"NMI, ARI and purity against {name} per method, mean ± standard deviation "
                    f"over {cfg.n_seeds} seed(s). Hatched: conditioned on that label, not an unsupervised result.",
                    "metrics")
    figures.add(plot_metric_bars([{**r, "conditioned_on": ""} for r in rows],
                                 ["silhouette_common", "davies_bouldin_common"],
                                 title="Internal quality in the common space (mean ± std over seeds)"),
                "metrics_internal", "Silhouette (higher is better) and Davies-Bouldin (lower is better) of each "
                f"method's clusters, all measured in the same common space, mean ± std over {cfg.n_seeds} seed(s).",
                "metrics")
    if sweep:
        betas = [float(r["beta"]) for r in sweep]

        def series(col: str) -> tuple[list[float], list[float]]:
            return [float(r.get(col, np.nan)) for r in sweep], [float(r.get(f"{col}_std", np.nan)) for r in sweep]

        scores = {c: series(c) for c in ["silhouette_common", *[f"nmi_{n}" for n in labels]]}
        figures.add(plot_beta_sweep(betas, series("reconstruction"), scores,
                                    title="Beta-VAE: reconstruction against cluster quality"),
                    "beta_sweep", "Beta-VAE beta sweep: validation reconstruction error (left) and K-Means cluster "
                    f"quality of its latent (right) per beta, mean ± std over {cfg.n_seeds} seed(s).", "beta_sweep")


def _draw_reconstructions(figures: _Figures, rep: Representation, classes: list[str] | None, label: str | None,
                          seed: int, per_class: int = 2, max_rows: int = 12) -> None:
    """Originals against reconstructions for a few tracks of each class of ``label`` (seeded choice)."""
    rng = np.random.default_rng(seed)
    n = len(rep.latent)
    if classes is None:
        picks = [(int(i), f"track {int(i)}") for i in rng.choice(n, size=min(6, n), replace=False)]
    else:
        picks = []
        for c in sorted({v for v in classes if v}):
            members = np.flatnonzero(np.asarray(classes) == c)
            picks += [(int(i), f"{label}: {c}") for i in rng.choice(members, min(per_class, len(members)), False)]
        picks = picks[:max_rows]
    if not picks:
        return
    assert rep.model is not None and rep.dataset is not None
    originals, recon = reconstruct(rep.model, rep.dataset, [i for i, _ in picks])
    units = "dB" if originals.ndim == 3 else "standardised"
    what = registry.get(rep.name).reconstructs
    figures.add(plot_reconstructions(originals, recon, [t for _, t in picks], title=f"{rep.name}: reconstructions",
                                     units=units), f"reconstructions_{rep.name}",
                f"{rep.name}: original (left) and reconstructed (right) {what} of a few tracks per class"
                + (f" of {label}" if label else "") + " (decoded posterior means).", "reconstruction")


def _draw_traversal(figures: _Figures, rep: Representation, seed: int, n_dims: int = 4) -> None:
    """Decode the mean latent moved along its most used dimensions, from -3 to +3 standard deviations."""
    import torch

    assert rep.model is not None and rep.dataset is not None
    Z = np.asarray(rep.latent, dtype=np.float64)
    spread = Z.std(axis=0)
    dims = [int(d) for d in np.argsort(-spread)[:n_dims]]
    steps = np.linspace(-3.0, 3.0, 7)
    centre = Z.mean(axis=0)
    zs = np.stack([centre + np.outer(steps * spread[d], np.eye(len(centre))[d]) for d in dims])  # (dims, steps, d)
    model = rep.model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        flat = torch.as_tensor(zs.reshape(-1, zs.shape[-1]), dtype=torch.float32, device=device)
        decoded = model.decode(flat).cpu().numpy()
    decoded = rep.dataset.inverse_transform(decoded)
    decoded = decoded.reshape(len(dims), len(steps), *decoded.shape[1:])
    figures.add(plot_traversal(decoded, list(steps), dims, title=f"{rep.name}: latent traversals"),
                f"traversal_{rep.name}", f"{rep.name}: the mean latent moved along its {len(dims)} most spread "
                "dimensions from -3 to +3 standard deviations, decoded" + (" to log-mel (dB)." if decoded.ndim == 4
                                                                          else " (statistics, change from the "
                                                                               "centre)."), "traversal")


def _versions() -> dict[str, str]:
    import librosa
    import sklearn
    import torch

    import songspace
    return {"songspace": songspace.__version__, "python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "scikit-learn": sklearn.__version__, "librosa": librosa.__version__}
