"""The experiment runner: the only code that writes a run folder.

One run = read the dataset, extract (or load cached) audio features and lyrics features, then for each seed
learn each representation, cluster it with each clusterer and score it (:mod:`songspace.experiment`), average
over seeds, write the analysis, draw, and write everything into a new folder under ``out``, laid out as
:mod:`songspace.runfolder` says.

One module (about 490 lines): it reads top to bottom as a run happens, from the dataset to the finished folder.
The inputs it prepares (usable features, lyrics, encoder vectors) are also what ``songspace assign`` prepares for
new tracks, which imports them from here rather than from a second copy.
"""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from songspace import representations as registry
from songspace.config import RunConfig, dump_config
from songspace.datasets import Manifest, Problem, read_dataset
from songspace.errors import ConfigError, RunError
from songspace.evaluation.analysis import analyse
from songspace.evaluation.registry import metric_columns
from songspace.evaluation.seeds import aggregate_seeds, with_std
from songspace.experiment import MethodResult, choose_k, run_seeds, seed_threads, seed_workers, seeds_of
from songspace.features import FeatureSet, extract_features
from songspace.features.text import TextFeatureSet, lyrics_features
from songspace.models import save_model
from songspace.representations.base import Inputs, common_space
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
    UNFINISHED,
    RunFolder,
    aggregated_columns,
    cluster_state_file,
    figure_file,
    history_file,
    label_clashes,
    latent_file,
    metrics_columns,
    model_file,
    projection_file,
    relative_audio_path,
    state_file,
)
from songspace.settings import validate
from songspace.visualisation.run_figures import Projection, draw_run

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


def _usable_labels(cfg: RunConfig, names: list[str]) -> tuple[list[str], list[str]]:
    """The labels that can be columns of the run folder, and a note per label left out (an error when the config
    asked for it by name): see :func:`songspace.runfolder.label_clashes`."""
    methods = [f"{r}+{c}" for r in cfg.representations.names for c in cfg.cluster.algorithms]
    clashes = label_clashes(names, methods)
    if clashes and cfg.labels:
        raise ConfigError("; ".join(f"labels: label column {n!r} cannot be used: {why}; rename it in the metadata"
                                    for n, why in clashes.items()))
    notes = [f"label column {n!r} not used: {why}; rename it in the metadata to evaluate against it"
             for n, why in clashes.items()]
    for note in notes:
        log.warning("%s", note)
    return [n for n in names if n not in clashes], notes


def _check_show(cfg: RunConfig, labels: list[str]) -> None:
    """eval.show names metrics.csv columns of this run: an unknown one is an error before any work (a table
    without its columns is no headline)."""
    known = metric_columns(labels)
    unknown = [c for c in cfg.eval.show if c not in known]
    if unknown:
        raise ConfigError(f"eval.show: {', '.join(map(repr, unknown))} not a metrics.csv column of this run; choose "
                          f"from: {', '.join(known)}")


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
    if len(common) and len(np.unique(np.asarray(common).round(6), axis=0)) < 2:  # silhouette is undefined
        return cfg.cluster.k_range[0], ("every track has the same features (identical audio?): no k can be chosen "
                                        "by silhouette; the smallest of cluster.k_range")
    k = choose_k(common, tuple(cfg.cluster.k_range), seed=cfg.seed)
    return k, f"highest silhouette of K-Means on the standardised features over k in {list(cfg.cluster.k_range)}"


class _RunLog(logging.FileHandler):
    """run.log; a disk error stops the log (the run's own writes report it as one error line), never a traceback."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        log.removeHandler(self)


def run_experiment(cfg: RunConfig, *, progress: Progress | None = None) -> RunResult:
    """Run one experiment as configured and write its folder (see :mod:`songspace.runfolder` for its layout).

    Nothing is written before the inputs are known to be usable: the folder is made once the features are there,
    at least 3 tracks are usable and k fits them; what was logged until then goes into its run.log.
    """
    validate(cfg)  # the names it refers to, against the registries (a config built in code was not loaded)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    early = logging.handlers.MemoryHandler(capacity=1 << 30, flushLevel=logging.CRITICAL + 1)
    log.addHandler(early)
    log.setLevel(logging.INFO)
    handler: logging.Handler | None = None
    try:
        manifest = read_dataset(cfg.data, layout=cfg.layout, max_labels=cfg.max_labels, labels=cfg.labels)
        label_names = resolve_labels(manifest, cfg.labels)
        label_names, label_notes = _usable_labels(cfg, label_names)
        _check_show(cfg, label_names)
        log.info("dataset %s (%s layout): %d tracks, %d problem(s)", manifest.root, manifest.layout, len(manifest),
                 len(manifest.problems))
        timings["read"] = time.perf_counter() - t0
        t = time.perf_counter()
        manifest, feats, problems = usable_features(cfg, manifest, progress=progress)
        timings["features"] = time.perf_counter() - t
        if len(manifest) < 3:
            shown = "; ".join(f"{Path(p.path).name}: {p.reason}" for p in problems[:3])
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise RunError(f"{manifest.root}: only {len(manifest)} usable track(s); clustering needs at least 3. "
                           + (f"Skipped: {shown}{more}." if problems else "Add audio files to the folder."))
        labels = {name: manifest.labels(name) for name in label_names}
        cfg, inputs, common, cond_notes = learning_inputs(cfg, manifest, feats, progress=progress, timings=timings)
        k, k_source = resolve_k(cfg, labels, inputs.standardised_stats())
        if not 2 <= k < len(manifest):
            raise ConfigError(f"k = {k} clusters ({k_source}) is impossible for {len(manifest)} usable tracks: "
                              f"choose --k (cluster.k) with 2 <= k < {len(manifest)}.")
        run = RunFolder.create(cfg.out, cfg.name or Path(cfg.data).name)
        handler = _RunLog(run.file(LOG), encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        early.setTarget(handler)
        early.flush()
        log.removeHandler(early)
        log.addHandler(handler)
        log.info("run folder %s", run.path)
        run.write_text(UNFINISHED, "This run has not finished: it is being written, or it was stopped or failed "
                                   "(see run.log).\n")
        run.write_text(CONFIG, dump_config(cfg))
        run.write_csv(PROBLEMS, [p.__dict__ for p in problems], PROBLEM_COLUMNS)
        try:
            result = _run(cfg, manifest, label_names, labels, feats, problems, inputs, common,
                          [*label_notes, *cond_notes], (k, k_source), run, timings, progress)
        except BaseException as exc:  # UNFINISHED stays: the folder says it is not a finished run
            why = type(exc).__name__ if isinstance(exc, KeyboardInterrupt) else exc
            log.info("run stopped before it finished: %s", why)  # run.log; the CLI prints the one error line
            raise
        run.remove(UNFINISHED)
        return result
    finally:
        log.removeHandler(early)
        early.close()
        if handler is not None:
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


def learning_inputs(cfg: RunConfig, manifest: Manifest, feats: FeatureSet, *, progress: Progress | None = None,
                    timings: dict[str, float] | None = None) -> tuple[RunConfig, Inputs, np.ndarray, list[str]]:
    """What the representations learn from (audio features, pretrained encoders' vectors where the config reads
    them, lyrics features, the labels a config names as conditions), the common space every clustering is scored
    in, the config narrowed to the conditions this dataset has, and notes on what was left out. ``timings`` gets
    the seconds of the lyrics features and of the encoders."""
    t = time.perf_counter()
    lyrics = _lyrics(cfg, manifest)
    cfg, conditions, notes = _conditions(cfg, manifest)
    t_enc = time.perf_counter()
    embeddings, unavailable = encoder_vectors(cfg, manifest, wanted_encoders(cfg), progress=progress)
    if timings is not None:
        timings["lyrics"] = t_enc - t
        timings["encoders"] = time.perf_counter() - t_enc
    inputs = Inputs(stats=np.asarray(feats.stats, dtype=np.float32), log_mel=feats.log_mel, lyrics=lyrics,
                    n_mfcc=cfg.features.n_mfcc, stat_names=list(feats.stat_names), conditions=conditions,
                    embeddings=embeddings, unavailable=unavailable)
    return cfg, inputs, common_space(inputs), notes


def wanted_encoders(cfg: RunConfig) -> list[str]:
    """The representations read from a pretrained encoder that this config uses: named in ``names``, or as a
    value of any representation setting (an ``input``, facets' ``style``, hybrid's ``audio``)."""
    from songspace.representations._inputs import encoder_names

    words: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, str):
            for part in value.replace("@", "+").split("+"):
                words.add(part.strip())
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list | tuple):
            for v in value:
                collect(v)

    reps = cfg.representations
    collect([reps.names, reps.params])
    for name in list(words):  # what the representations named read beside their own (features_musicnn: musicnn)
        if registry.exists(name):
            words.update(registry.get(name).reads)
    return [name for name in encoder_names() if name in words]


def encoder_vectors(cfg: RunConfig, manifest: Manifest, names: list[str], *, progress: Progress | None = None
                    ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Each named encoder representation's vectors of the manifest's tracks (cached on disk, computed once for
    every seed), and why an encoder could not be used (no weights, no library): those representations are then
    skipped with that note, and nothing else fails."""
    from songspace.errors import SongspaceError
    from songspace.features.embeddings import embed_files
    from songspace.representations._inputs import params_for

    vectors: dict[str, np.ndarray] = {}
    unavailable: dict[str, str] = {}
    for name in names:
        spec = registry.get(name)
        assert spec.encoder is not None and spec.params is not None
        params = spec.params.model_validate(params_for(name, cfg.representations.params))
        try:
            encoder = spec.encoder(params)
        except SongspaceError as exc:
            unavailable[name] = str(exc)
            log.warning("%s cannot be used: %s", name, exc)
            continue
        t = time.perf_counter()
        got = embed_files([tr.audio_path for tr in manifest.tracks], encoder, cfg.features,
                          progress=(lambda d, n, name=name: progress(name, d, n)) if progress else None)
        log.info("%s: %d tracks embedded in %.1f s (%d computed, %d cached)", name, len(manifest),
                 time.perf_counter() - t, got.n_computed, len(manifest) - got.n_computed)
        vectors[name] = got.vectors
    return vectors, unavailable


def _run(cfg: RunConfig, manifest: Manifest, label_names: list[str], labels: dict[str, list[str]],
         feats: FeatureSet, problems: list[Problem], inputs: Inputs, common: np.ndarray, cond_notes: list[str],
         k_and_source: tuple[int, str], run: RunFolder, timings: dict[str, float], progress: Progress | None
         ) -> RunResult:
    k, k_source = k_and_source
    lyrics = inputs.lyrics
    # Tracks with usable lyrics in the dataset, whether or not this run's representations read them.
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
    if registry.sweeps(cfg):
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
    _save_states(run, reps, results, inputs)
    run.write_text(ANALYSIS, analyse(rows, label_names, n_tracks=len(manifest),
                                          n_with_lyrics=n_lyrics if lyrics is not None else None,
                                          seeds=len(seeds)))

    t = time.perf_counter()
    index = []
    for item in draw_run(cfg, reps, results, rows, sweep, labels, k_label=_k_label(cfg, labels), progress=progress):
        if isinstance(item, Projection):
            run.save_npz(projection_file(item.representation, item.technique), index=item.index, xy=item.xy)
        else:
            rel = run.write_bytes(figure_file(item.name), item.png).relative_to(run.path.resolve()).as_posix()
            index.append({"file": rel, "caption": item.caption, "kind": item.kind})
    run.write_json(FIGURES_INDEX, index)
    timings["figures"] = time.perf_counter() - t

    trained = [r for r in reps if r.history is not None]
    summary = {
        "experiment": cfg.experiment or Path(cfg.data).name, "title": cfg.title,
        "dataset": str(Path(manifest.root).resolve()), "layout": manifest.layout, "tracks_used": len(manifest),
        "tracks_with_lyrics": n_lyrics, "lyrics_used": lyrics is not None,
        # where each track's lyrics came from (Track.lyrics_source): source -> track ids
        "lyrics_sources": _lyrics_sources(manifest),
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


def _lyrics_sources(manifest: Manifest) -> dict[str, list[str]]:
    """The ids of the tracks with lyrics, by where their lyrics came from (``dataset``: the reader does not say)."""
    out: dict[str, list[str]] = {}
    for tr in manifest.tracks:
        if tr.has_lyrics:
            out.setdefault(tr.lyrics_source or "dataset", []).append(tr.track_id)
    return out


def _conditions(cfg: RunConfig, manifest: Manifest) -> tuple[RunConfig, dict[str, list[str]], list[str]]:
    """The label columns that representations are configured to be given (the setting their spec's
    ``conditioned_by`` names), and the config without those this dataset lacks: a missing column is an error where
    the spec requires its conditions (cvae), else it is left out, noted (poe_vae)."""
    notes: list[str] = []
    wanted: list[str] = []
    for name in cfg.representations.names:
        spec = registry.get(name)
        if spec.conditioned_by is None:
            continue
        given = registry.conditions(name, cfg)
        absent = [c for c in given if c not in manifest.label_columns]
        if absent and spec.conditions_required:
            raise ConfigError(f"representations.params.{name}.{spec.conditioned_by} names {absent}, not label columns "
                              f"of {manifest.root} (found: {', '.join(manifest.label_columns) or 'none'}).")
        if absent:
            notes.append(f"{name}: no label column {', '.join(absent)} in this dataset; modalities without it")
            given = [c for c in given if c not in absent]
            cfg = registry.with_settings(cfg, name, **{spec.conditioned_by: given})
        wanted += given
    return cfg, {c: manifest.labels(c) for c in dict.fromkeys(wanted)}, notes


def _k_label(cfg: RunConfig, labels: dict[str, list[str]]) -> str | None:
    """The label whose classes choose the reconstruction examples (k's label, else the first)."""
    name = cfg.cluster.k_label or ("genre" if "genre" in labels else next(iter(labels), None))
    return name if name in labels else None


def _lyrics(cfg: RunConfig, manifest: Manifest) -> TextFeatureSet | None:
    """Lyrics features of every track (None when no representation that reads lyrics is asked for or no track has
    lyrics).

    The texts are ``Track.lyrics_text``, decoded once by the dataset reader; its lyrics problems are already in
    ``manifest.problems``. No file is read here.
    """
    if not any(registry.get(m).needs_lyrics or registry.get(m).reads_lyrics for m in cfg.representations.names):
        return None
    texts = [tr.lyrics_text for tr in manifest.tracks]
    if not any(texts):
        log.warning("no track has lyrics: lyrics and hybrid representations fall back to audio only")
        return None
    # Seed 0 whatever the run's seed: lyrics features are features, like the audio ones, so that seed s of a run
    # of several seeds gives the same numbers as a run of seed s alone.
    return lyrics_features(texts, n_components=cfg.representations.lyrics_components, seed=0)


def _write_assignments(run: RunFolder, manifest: Manifest, results: list[MethodResult],
                       labels: dict[str, list[str]]) -> None:
    rows = []
    for i, tr in enumerate(manifest.tracks):
        row: dict[str, Any] = {"track_id": tr.track_id, "title": tr.title, "artist": tr.artist,
                               "audio_path": relative_audio_path(tr.audio_path, manifest.root)}
        for r in results:
            row[r.name] = int(r.labels[i]) if r.labels is not None else ""
        row.update({name: vals[i] for name, vals in labels.items()})
        rows.append(row)
    run.write_csv(ASSIGNMENTS, rows, [*BASE_COLUMNS, *[r.name for r in results], *labels])


def _save_states(run: RunFolder, reps: list, results: list[MethodResult], inputs: Inputs) -> None:
    """The first seed's fitted arrays that place new tracks (``songspace assign``): each assignable
    representation's transform (``state/<rep>.npz``) and each of its clusterings (``state/<rep>+<clusterer>.npz``)."""
    from songspace.clustering.placing import cluster_state

    saved = set()
    for rep in reps:
        spec = registry.get(rep.name)
        if spec.save_state is None or spec.embed_new is None:
            continue
        try:
            run.save_npz(state_file(rep.name), **spec.save_state(rep, inputs))
            saved.add(rep.name)
        except ValueError as exc:
            log.warning("%s: no state saved, new tracks cannot be assigned to it (%s)", rep.name, exc)
    for r in results:
        if r.rep.name in saved and r.labels is not None and r.model is not None:
            covered = slice(None) if r.rep.present is None else r.rep.present
            try:
                arrays = cluster_state(r.clusterer, r.model, r.rep.latent[covered], r.labels[covered], r.params)
            except ValueError as exc:
                log.warning("%s: no state saved, new tracks cannot be assigned to it (%s)", r.name, exc)
                continue
            run.save_npz(cluster_state_file(r.name), **arrays)


def _versions() -> dict[str, str]:
    import librosa
    import sklearn
    import torch

    import songspace
    return {"songspace": songspace.__version__, "python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "scikit-learn": sklearn.__version__, "librosa": librosa.__version__}
