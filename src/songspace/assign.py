"""Place new tracks in a finished run's clusters without retraining (``songspace assign RUN_DIR NEW_DATA``).

The new tracks' features come from the run's feature settings (its ``config.toml``; so from the same cache), each
assignable representation turns them into its space with the arrays the run saved (``state/<rep>.npz``, its
spec's ``embed_new``) and its saved model (``models/<rep>.pt``), and each clustering of that space places them
with its saved state (``state/<rep>+<clusterer>.npz``, :mod:`songspace.clustering.placing`). Nothing is trained or
refitted: assigning the run's own tracks gives back the run's assignments.

What it writes, in a new folder ``RUN_DIR/assigned/<date>-<time>-<data>/`` (or under ``--out``):
``assignments.csv`` (track_id, title, artist, audio_path relative to NEW_DATA, then per method its cluster and
``<method>_confidence`` in [0, 1]; -1 = noise, not placed), ``summary.json`` (the run, the data, the methods
placed, those that cannot be and why) and ``problems.csv`` (files that could not be used).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from songspace import representations as registry
from songspace.errors import ConfigError, RunError, SongspaceError
from songspace.representations.spec import BOTH, LYRICS, RepresentationSpec
from songspace.runfolder import (
    ASSIGNED,
    ASSIGNMENTS,
    PROBLEM_COLUMNS,
    PROBLEMS,
    SUMMARY,
    RunFolder,
    assigned_columns,
    cluster_state_file,
    damaged,
    load_arrays,
    model_file,
    read_metrics,
    read_run_config,
    relative_audio_path,
    state_file,
)

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass
class Plan:
    """Which of a run's methods can place new tracks: ``methods[rep]`` lists the assignable methods of each
    representation (run order); ``reasons[name]`` says why a method or representation cannot."""

    methods: dict[str, list[str]] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    rep_reasons: dict[str, str] = field(default_factory=dict)  # representations none of whose methods can

    @property
    def assignable(self) -> list[str]:
        return [m for ms in self.methods.values() for m in ms]


@dataclass
class AssignResult:
    """What ``assign`` wrote: its folder, how many tracks were placed, by which methods (``approximate``: by an
    approximation of the run's rule, see :mod:`songspace.clustering.placing`), and what could not be placed and why."""

    folder: Path
    n_tracks: int
    methods: list[str]
    not_assignable: dict[str, str]
    approximate: list[str]
    problems: int
    counts: dict[str, dict[int, int]] = field(default_factory=dict)  # per method: tracks per cluster


def why_not_assignable(spec: RepresentationSpec) -> str:
    """Why new tracks cannot be placed in the representation ``spec`` (it has no ``save_state``/``embed_new``)."""
    if spec.needs_lyrics or spec.reads_lyrics or spec.modality in (LYRICS, BOTH):
        return ("reads lyrics: its lyrics features (TF-IDF vocabulary, SVD, language profile) are fitted to the "
                "run's texts and not saved")
    if spec.conditioned_by:
        return (f"conditioned on label columns (representations.params.{spec.name}.{spec.conditioned_by}) that new "
                "tracks are not given")
    return "its transform of new tracks is not saved as arrays (no save_state/embed_new hooks)"


def plan(run_dir: Path | str) -> Plan:
    """The assignable methods of the run folder ``run_dir`` and the reasons for the others.

    Raises RunError when ``run_dir`` is not a finished run folder (no metrics.csv).
    """
    run_dir = Path(run_dir)
    out = Plan()
    by_rep: dict[str, list[str]] = {}
    for row in read_metrics(run_dir).rows:
        by_rep.setdefault(str(row.get("representation") or ""), []).append(str(row["method"]))
    for rep, methods in by_rep.items():
        why = _representation_problem(run_dir, rep)
        if why:
            out.rep_reasons[rep] = why
            out.reasons.update({m: why for m in methods})
            continue
        for m in methods:
            if not (run_dir / cluster_state_file(m)).is_file():
                out.reasons[m] = (f"no {cluster_state_file(m)} in the run folder (the clustering failed, or its "
                                  "clusterer keeps nothing that can be saved as arrays)")
            else:
                out.methods.setdefault(rep, []).append(m)
    return out


def _representation_problem(run_dir: Path, rep: str) -> str:
    if not registry.exists(rep):
        return f"representation {rep!r} is unknown to this songspace version"
    spec = registry.get(rep)
    if not spec.assignable:
        return why_not_assignable(spec)
    if not (run_dir / state_file(rep)).is_file():
        return (f"no {state_file(rep)} in the run folder (written before songspace saved it, or it could not be "
                "saved: see run.log); rerun the experiment")
    if spec.learned and not (run_dir / model_file(rep)).is_file():
        return f"no {model_file(rep)} in the run folder: its trained model was not saved"
    return ""


def select(p: Plan, wanted: Sequence[str] | None) -> list[str]:
    """The methods of ``p`` that ``wanted`` names (a method, or a representation for all its methods); every
    assignable one when ``wanted`` is empty. Raises ConfigError naming an unknown or non-assignable method."""
    if not wanted:
        return p.assignable
    chosen: list[str] = []
    for w in wanted:
        if w in p.methods:
            chosen += p.methods[w]
        elif w in p.assignable:
            chosen.append(w)
        elif w in p.reasons or w in p.rep_reasons:
            raise ConfigError(f"-m/--method {w} is not assignable: {p.reasons.get(w) or p.rep_reasons[w]}")
        else:
            raise ConfigError(f"-m/--method must be a method of the run that can place new tracks: "
                              f"{', '.join(p.assignable) or 'none'} (got '{w}')")
    return list(dict.fromkeys(chosen))


def assign(run_dir: Path | str, data_dir: Path | str, *, out: Path | str | None = None,
           methods: Sequence[str] | None = None, layout: str = "auto",
           progress: Progress | None = None) -> AssignResult:
    """Place the tracks of the dataset folder ``data_dir`` in the clusters of the run folder ``run_dir``.

    Parameters
    ----------
    run_dir : a finished run folder (written by ``songspace run``, ``experiment`` or ``demo``).
    data_dir : a dataset folder, any layout ``songspace run`` reads (``layout``).
    out : the folder that receives the new assignments folder (default ``run_dir/assigned``).
    methods : the methods to place them with (``rep+clusterer``, or a representation for all its clusterers);
        default every assignable one.
    progress : ``progress(stage, done, total)`` while features are extracted and methods placed.

    Raises
    ------
    RunError : ``run_dir`` is not a finished run folder, none of its methods can place new tracks, or none of the
        new tracks is usable.
    ConfigError : ``methods`` names a method the run does not have, or one that cannot place new tracks.
    DatasetError : ``data_dir`` cannot be read as a dataset.
    """
    from songspace.datasets import read_dataset
    from songspace.representations._inputs import encoder_names
    from songspace.representations.base import Inputs
    from songspace.runner import encoder_vectors, usable_features

    run_dir = Path(run_dir)
    p = plan(run_dir)
    chosen = select(p, methods)
    if not chosen:
        raise RunError(f"{run_dir}: none of the run's methods can place new tracks: "
                       + "; ".join(f"{m}: {why}" for m, why in p.reasons.items()))
    cfg = read_run_config(run_dir)
    manifest = read_dataset(data_dir, layout=layout, max_labels=cfg.max_labels)
    manifest, feats, problems = usable_features(cfg, manifest, progress=progress)
    if len(manifest) == 0:
        raise RunError(f"{manifest.root}: no usable track ({len(problems)} problem(s): "
                       f"{'; '.join(f'{x.path}: {x.reason}' for x in problems[:3])}).")
    reps = [rep for rep, ms in p.methods.items() if any(m in chosen for m in ms)]
    # the pretrained encoders the chosen representations read (their inputs, as the run saved them)
    wanted = set(reps)
    for rep in reps:
        try:
            state = load_arrays(run_dir, state_file(rep))
        except SongspaceError:  # damaged: said when this representation is placed
            continue
        if state is not None and "input" in state:
            wanted.update(str(s) for s in np.asarray(state["input"]).ravel())
    encoders = encoder_names()
    embeddings, unavailable = encoder_vectors(cfg, manifest, [e for e in encoders if e in wanted], progress=progress)
    inputs = Inputs(stats=np.asarray(feats.stats, dtype=np.float32), log_mel=feats.log_mel,
                    n_mfcc=cfg.features.n_mfcc, stat_names=list(feats.stat_names), embeddings=embeddings,
                    unavailable=unavailable)
    placed: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    reasons = dict(p.reasons)
    approximate: list[str] = []
    for j, rep in enumerate(reps):
        mine = [m for m in p.methods[rep] if m in chosen]
        try:
            Z = _embed(run_dir, rep, inputs)
        except SongspaceError as exc:  # a damaged state or model file: this representation's methods only
            reasons.update({m: str(exc) for m in mine})
            log.warning("%s", exc)
            continue
        except ValueError as exc:  # statistics or mel bands of another songspace version
            reasons.update({m: str(exc) for m in mine})
            log.warning("%s: %s", rep, exc)
            continue
        for m in mine:
            try:
                placed[m], approx = _place(run_dir, m, rep, Z)
            except SongspaceError as exc:
                reasons[m] = str(exc)
                log.warning("%s", exc)
                continue
            if approx:
                approximate.append(m)
        if progress:
            progress("assign", j + 1, len(reps))
    if not placed:
        raise RunError(f"{run_dir}: no method could place the new tracks: "
                       + "; ".join(f"{m}: {reasons[m]}" for m in chosen if m in reasons))
    names = [m for m in chosen if m in placed]
    folder = RunFolder.create(Path(out) if out is not None else run_dir / ASSIGNED, Path(manifest.root).name)
    folder.write_csv(ASSIGNMENTS, _rows(manifest, names, placed), assigned_columns(names))
    folder.write_csv(PROBLEMS, [x.__dict__ for x in problems], PROBLEM_COLUMNS)
    counts = {m: {int(c): int(n) for c, n in zip(*np.unique(placed[m][0], return_counts=True), strict=True)}
              for m in names}
    not_assignable = {m: why for m, why in reasons.items() if m not in placed}
    folder.write_json(SUMMARY, {
        "run": str(run_dir.resolve()), "dataset": str(Path(manifest.root).resolve()), "layout": manifest.layout,
        "tracks": len(manifest), "problems": len(problems), "methods": names, "approximate": approximate,
        "not_assignable": not_assignable, "tracks_per_cluster": {m: {str(c): n for c, n in cs.items()}
                                                                for m, cs in counts.items()},
        "features_computed": feats.n_computed, "features_cached": feats.n_cached})
    return AssignResult(folder.path, len(manifest), names, not_assignable, approximate, len(problems), counts)


def _embed(run_dir: Path, rep: str, inputs: Any) -> np.ndarray:
    """New tracks in ``rep``'s space [shape=(m, d)], from the run's saved state (and model). Raises RunError or
    ModelError naming the file when a saved file is damaged (absent arrays, other shapes, garbage), ValueError when
    the new tracks' features do not match the run's (another songspace version)."""
    from songspace.models import load_model

    spec = registry.get(rep)
    rel = state_file(rep)
    state = load_arrays(run_dir, rel)
    if state is None or spec.embed_new is None:
        raise RunError(f"{run_dir / rel}: absent; rerun the experiment.")
    model = load_model(run_dir / model_file(rep)) if spec.learned else None
    try:
        Z = spec.embed_new(state, model, inputs)
    except SongspaceError:
        raise
    except ValueError as exc:
        if "songspace" in str(exc) or "mel bands" in str(exc):  # the features' own mismatch, said by embed_new
            raise
        raise damaged(run_dir / rel, f"its arrays do not fit together ({exc})") from None
    except (KeyError, IndexError, TypeError, RuntimeError) as exc:  # shapes or types a run never writes
        raise damaged(run_dir / rel, f"its arrays do not fit together ({type(exc).__name__})") from None
    Z = np.asarray(Z)
    if Z.ndim != 2 or len(Z) != len(inputs.stats) or not np.isfinite(Z).all():
        raise damaged(run_dir / rel, f"it turns the new tracks into {Z.shape} values that are not all finite"
                      if Z.ndim == 2 else f"it turns the new tracks into an array of shape {Z.shape}")
    return Z


def _place(run_dir: Path, method: str, rep: str, Z: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], bool]:
    """Cluster and confidence of each row of ``Z`` [shape=(m, d)] in ``method``'s clustering, and whether the rule
    is approximate. Raises RunError naming the state file when it is damaged or for another space."""
    from songspace.clustering.placing import is_approximate, placer

    rel = cluster_state_file(method)
    cs = load_arrays(run_dir, rel)
    if cs is None:
        raise RunError(f"{run_dir / rel}: absent; rerun the experiment.")
    try:
        dim = int(cs["dim"])
    except (TypeError, ValueError):
        raise damaged(run_dir / rel, "'dim' is not a whole number") from None
    if dim != Z.shape[1]:
        raise RunError(f"{run_dir / rel}: for a {dim}-d space, {rep} gives {Z.shape[1]}-d; the run folder is "
                       "damaged or mixed with another run's. Rerun the experiment.")
    try:
        return placer(cs).place(Z), is_approximate(cs)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise damaged(run_dir / rel, str(exc) if isinstance(exc, ValueError) else type(exc).__name__) from None


def _rows(manifest: Any, names: list[str], placed: dict[str, tuple[np.ndarray, np.ndarray]]):
    for i, tr in enumerate(manifest.tracks):
        row: dict[str, Any] = {"track_id": tr.track_id, "title": tr.title, "artist": tr.artist,
                               "audio_path": relative_audio_path(tr.audio_path, manifest.root)}
        for m in names:
            labels, conf = placed[m]
            row[m] = int(labels[i])
            row[f"{m}_confidence"] = round(float(conf[i]), 4)
        yield row
