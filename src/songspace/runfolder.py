"""The run folder: every path and column of it defined once, written and read through this module alone.

One module (about 850 lines) on purpose: it is the run folder's only reader and writer, schema included, so
that no second parser of a run folder exists.

A run folder (``runs/<date>-<time>-<name>/``)::

    .songspace-output  marks the folder as songspace's: dataset readers never read it as music
    UNFINISHED         present while the run writes the folder; left by a run that was stopped or failed
    config.toml        the resolved settings (rerun with --config)
    metrics.csv        one row per representation x clusterer (a "method"): mean over seeds and <col>_std per number;
                       conditioned_on names the labels a method was given; *_common in the shared space
    metrics_seeds.csv  the same, one row per method and seed
    beta_sweep.csv     when a representation's sweep is set (beta_vae's; and beta_sweep_seeds.csv)
    analysis.md        what the numbers say, written from them
    assignments.csv    track_id, title, artist, audio_path (relative to the dataset), cluster per method (first
                       seed), labels
    latents/<representation>.npy, models/<representation>.pt and <representation>_history.json (first seed)
    state/<representation>.npz, state/<method>.npz   what places new tracks (``songspace assign``): the fitted
                       arrays of a representation's transform and of a clustering (first seed; no pickle)
    assigned/<date>-<time>-<data>/   ``songspace assign``: assignments.csv of new tracks (cluster and
                       <method>_confidence per method), summary.json, problems.csv
    playlists/<method>/   ``songspace export``: one playlist per cluster (.m3u8 or .csv), unplaced.*
    projections/<representation>_<tsne|umap>.npz   the 2-D coordinates drawn (index, xy)
    figures/*.png, figures.json   every figure and its caption
    problems.csv       every skipped file or row, and why
    summary.json       counts, k and where it came from, seeds, timings, versions, each track's lyrics source
    report.html, report.pdf, explorer.html, clips/   written by ``songspace report``
    run.log

The runner writes a new folder through :class:`RunFolder` (``RunFolder.create``); ``songspace report`` adds its
files through ``RunFolder.open``. Every name that comes from data (a label column, a representation) passes
:func:`safe_name` before it becomes part of a path, every path is checked to lie inside the folder, and every file
is written under a temporary name and renamed, so that a full disk or a crash never leaves a half-written file
under its final name. :func:`read_run` reads a folder for the report and the explorer: old run folders (no
``metrics_seeds.csv``, no ``*_std`` columns, no ``conditioned_on``, no ``figures.json``) read fine: what is absent
is ``None`` or empty and listed in ``RunData.missing``. Memory and time stay bounded on a large collection:
``assignments.csv`` is streamed once (class counts only), ``problems.csv`` keeps its first rows and a count, and
only the figures are read whole (their number does not grow with the tracks).
"""

from __future__ import annotations

import csv
import errno
import io
import json
import logging
import math
import os
import tempfile
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import regex

from songspace.datasets.paths import OUTPUT_MARKER
from songspace.errors import RunError
from songspace.evaluation.registry import as_float, metric_columns

log = logging.getLogger(__name__)

# --- schema --------------------------------------------------------------------------------------------------------
CONFIG, METRICS, METRICS_SEEDS, BETA_SWEEP, BETA_SWEEP_SEEDS = ("config.toml", "metrics.csv", "metrics_seeds.csv",
                                                                "beta_sweep.csv", "beta_sweep_seeds.csv")
ANALYSIS, ASSIGNMENTS, FIGURES_INDEX, PROBLEMS, SUMMARY, LOG = ("analysis.md", "assignments.csv", "figures.json",
                                                               "problems.csv", "summary.json", "run.log")
REPORT_HTML, REPORT_PDF, EXPLORER_HTML, CLIPS = "report.html", "report.pdf", "explorer.html", "clips"
# Written when the run folder is made, removed when the run has written everything: a folder that still holds it
# was stopped (Ctrl-C, SIGTERM, an error, a crash) or is still being written.
UNFINISHED = "UNFINISHED"
IDENTITY_COLUMNS = ("method", "representation", "clusterer", "modality", "conditioned_on")
# cluster_sample_size: the seeded sample a clusterer that does not scale was fitted on (empty: all tracks)
TRAILING_COLUMNS = ("cluster_sample_size", "space", "notes")
TEXT_COLUMNS = (*IDENTITY_COLUMNS, "space", "notes")
BASE_COLUMNS = ("track_id", "title", "artist", "audio_path")  # assignments.csv before the methods and labels
ASSIGNED, PLAYLISTS = "assigned", "playlists"
CONFIDENCE = "_confidence"  # suffix of a method's confidence column in an assign's assignments.csv
PLAYLIST_COLUMNS = ("track_id", "title", "artist", "path", "cluster")
PROBLEM_COLUMNS = ("path", "reason", "skipped")


def metrics_columns(labels: Sequence[str]) -> list[str]:
    """Columns of one seed's row of ``metrics.csv``; the aggregated table adds ``n_seeds`` after the identity
    columns and a ``<col>_std`` after each number (:func:`aggregated_columns`)."""
    return [*IDENTITY_COLUMNS, *metric_columns(labels), *TRAILING_COLUMNS]


def aggregated_columns(labels: Sequence[str]) -> list[str]:
    out = [*IDENTITY_COLUMNS, "n_seeds"]
    for c in metric_columns(labels):
        out += [c, f"{c}_std"]
    return [*out, *TRAILING_COLUMNS]


def label_clashes(labels: Sequence[str], methods: Sequence[str]) -> dict[str, str]:
    """The labels (in order) that cannot be columns of a run folder, each with why: a label named like a column of
    ``assignments.csv`` (``audio_path``, ``track_id``, a method ``pca+kmeans``) or of ``metrics.csv``, or one whose
    metric columns are another label's (``genre_std`` beside ``genre``: ``nmi_genre_std`` would be both the spread
    of ``nmi_genre`` and the NMI of ``genre_std``). The first of two clashing labels keeps its columns."""
    reserved = {*BASE_COLUMNS, *methods, *IDENTITY_COLUMNS, *TRAILING_COLUMNS, "n_seeds"}
    taken = set(aggregated_columns([]))
    out: dict[str, str] = {}
    for label in labels:
        own = [c for c in aggregated_columns([label]) if c not in aggregated_columns([])]
        if label in reserved:
            what = "a method of this run" if label in methods else "a column songspace writes"
            out[label] = f"its name is {what} (assignments.csv and metrics.csv would get two columns {label!r})"
        elif any(c in taken for c in own):
            clash = next(c for c in own if c in taken)
            out[label] = f"its metric column {clash!r} would be another label's (or that label's spread, *_std)"
        else:
            taken.update(own)
    return out


def latent_file(representation: str) -> str:
    return f"latents/{safe_name(representation)}.npy"


def model_file(representation: str) -> str:
    return f"models/{safe_name(representation)}.pt"


def history_file(representation: str) -> str:
    return f"models/{safe_name(representation)}_history.json"


def state_file(representation: str) -> str:
    """The arrays that turn new tracks into ``representation`` (its spec's ``save_state``)."""
    return f"state/{safe_name(representation)}.npz"


def cluster_state_file(method: str) -> str:
    """The arrays of a clustering (``<representation>+<clusterer>``) that place new points in it."""
    return f"state/{safe_name(method)}.npz"


def assigned_columns(methods: Sequence[str]) -> list[str]:
    """Columns of the assignments.csv that ``songspace assign`` writes: the base columns, then per method its
    cluster and ``<method>_confidence``."""
    return [*BASE_COLUMNS, *[c for m in methods for c in (m, f"{m}{CONFIDENCE}")]]


def playlist_file(name: str, suffix: str) -> str:
    """A playlist's file name (``cluster_3.m3u8``), relative to its folder."""
    return f"{safe_name(name)}.{suffix}"


def projection_file(representation: str, technique: str) -> str:
    return f"projections/{safe_name(representation)}_{safe_name(technique)}.npz"


def figure_file(name: str) -> str:
    return f"figures/{safe_name(name)}.png"


_UNSAFE = regex.compile(r"[^\p{L}\p{M}\p{N}_.+-]+")  # letters with their vowel signs, any script


def safe_name(name: str, *, max_length: int = 80) -> str:
    """``name`` as one safe file-name component.

    Letters (with their vowel signs and marks) and digits of any script, ``.``, ``+``, ``-`` and ``_`` are kept;
    every other run of characters (``/``, ``\\``, spaces, control characters) becomes ``_``; leading and trailing
    dots go (no ``..``, no hidden file). A name that had to change, or is longer than ``max_length``, ends in a
    short hash of the original, so that two names never meet in one file. Never empty.
    """
    import hashlib

    text = unicodedata.normalize("NFC", str(name))
    safe = _UNSAFE.sub("_", text).strip(".") or "_"
    if safe != text or len(safe) > max_length:
        digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        safe = f"{safe[:max_length - 9]}-{digest}"
    return safe


def relative_audio_path(path: Path | str, dataset_root: Path | str) -> str:
    """How ``assignments.csv`` records a track's audio: relative to the dataset folder (POSIX), so that a run folder
    moves with its dataset; absolute when the file lies outside it (a link)."""
    p, root = Path(path).resolve(), Path(dataset_root).resolve()
    return p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p)


def audio_source(value: str, dataset_root: Path | str | None) -> Path | None:
    """The audio file an ``assignments.csv`` row names, only when it lies inside the run's dataset folder (a tampered
    run folder cannot make the report read any other file); None otherwise, or without a recorded dataset."""
    if not value or dataset_root is None:
        return None
    root = Path(dataset_root).expanduser().resolve()
    try:
        p = (root / Path(value).expanduser()).resolve()
    except (OSError, RuntimeError):  # a link loop
        return None
    return p if p.is_relative_to(root) and p.is_file() else None


def _disk_error(path: Path, exc: OSError) -> RunError:
    why = {errno.ENOSPC: "the disk is full", errno.EROFS: "the disk is read-only", errno.EACCES: "permission denied",
           errno.EPERM: "permission denied", errno.EDQUOT: "the disk quota is used up"}.get(exc.errno or 0,
                                                                                        exc.strerror or str(exc))
    return RunError(f"{path}: cannot write ({why}); free space or choose another --out.")


# --- writing -------------------------------------------------------------------------------------------------------
class RunFolder:
    """One run's folder. ``create`` makes a new one (never reusing or overwriting an existing folder); ``open`` an
    existing one to add the report. Every write goes through :meth:`write_bytes` (temporary name, then rename)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, out: Path | str, name: str = "") -> RunFolder:
        out = Path(out).expanduser()
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = f"{stamp}-{safe_name(name)}" if name else stamp
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
            except OSError as exc:
                raise _disk_error(out, exc) from exc
            folder = cls(path)
            folder.write_text(OUTPUT_MARKER, "Written by songspace: dataset readers skip this folder (its clips are "
                                             "not music of the collection).\n")
            return folder
        raise RunError(f"{out}: could not find a free run folder name for {base!r}.")

    @classmethod
    def open(cls, path: Path | str) -> RunFolder:
        path = Path(path)
        if not path.is_dir():
            raise RunError(f"{path}: no such run folder.")
        return cls(path)

    def file(self, rel: str) -> Path:
        """The path of ``rel`` inside the folder (its parent folders made); a path leading out is refused."""
        root = self.path.resolve()
        p = (root / rel).resolve()
        if not p.is_relative_to(root) or p == root:
            raise RunError(f"{rel!r}: refusing to write outside the run folder {self.path}.")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _disk_error(p.parent, exc) from exc
        return p

    def write_bytes(self, rel: str, data: bytes) -> Path:
        p = self.file(rel)
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=p.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a run's files read like any other file
            os.replace(tmp, p)
        except OSError as exc:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            raise _disk_error(p, exc) from exc
        return p

    def remove(self, rel: str) -> None:
        """Delete the file ``rel`` of the folder (absent already: nothing to do)."""
        try:
            self.file(rel).unlink(missing_ok=True)
        except OSError as exc:
            raise _disk_error(self.path / rel, exc) from exc

    def write_text(self, rel: str, text: str) -> Path:
        return self.write_bytes(rel, text.encode("utf-8"))

    def write_json(self, rel: str, value: Any) -> Path:
        return self.write_text(rel, json.dumps(value, indent=1, ensure_ascii=False, default=str))

    def write_csv(self, rel: str, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> Path:
        """``rows`` under ``columns``; a row with a column not in ``columns`` is an error, not a silent drop."""
        buf = io.StringIO(newline="")
        w = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="raise")
        w.writeheader()
        for r in rows:
            try:
                w.writerow({k: _fmt(v) for k, v in r.items()})
            except ValueError as exc:
                raise ValueError(f"{rel}: {exc}; add the column to the schema in songspace.runfolder") from exc
        return self.write_text(rel, buf.getvalue())

    def save_npy(self, rel: str, array: Any) -> Path:
        import numpy as np

        buf = io.BytesIO()
        np.save(buf, array)
        return self.write_bytes(rel, buf.getvalue())

    def save_npz(self, rel: str, **arrays: Any) -> Path:
        import numpy as np

        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return self.write_bytes(rel, buf.getvalue())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return "nan" if v != v else f"{v:.6g}"
    return v


# --- reading -------------------------------------------------------------------------------------------------------
# A cell may be as large as a dataset reader accepts (a whole lyrics text in metadata.csv): the same limit here, or a
# run that wrote such a cell could not be read back.
FIELD_LIMIT = 64 * 1024 * 1024


def _open_csv(path: Path):
    """A CSV file of the run folder, opened for ``csv`` readers (with the cell limit raised to :data:`FIELD_LIMIT`)."""
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    return path.open(newline="", encoding="utf-8", errors="replace")


IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml",
               ".webp": "image/webp"}
MAX_PROBLEMS = 200  # problems.csv rows kept for the report; the count covers them all
KIND_OF_NAME = (("tsne", "embedding"), ("umap", "embedding"), ("composition", "composition"),
                ("reconstruction", "reconstruction"), ("traversal", "traversal"), ("training", "training"),
                ("beta_sweep", "beta_sweep"), ("metrics", "metrics"))

Row = dict[str, Any]


@dataclass
class Figure:
    """One figure of the run: its file (relative to the run folder), caption, kind and bytes."""

    file: str
    caption: str
    kind: str
    data: bytes
    mime: str = "image/png"


@dataclass
class Table:
    """A CSV file as rows: text columns stay strings, the others are floats (NaN where empty or undefined)."""

    columns: list[str]
    rows: list[Row]


@dataclass
class RunData:
    """What the report shows of one run folder.

    ``metrics`` is ``metrics.csv``; ``seeds`` (``metrics_seeds.csv``) and ``beta_sweep`` are None when the run has
    none. ``class_counts[label]`` counts each class of ``label`` over ``assignments.csv`` ("" = unknown).
    ``missing`` names each absent or unreadable file of the run-folder contract and what the report does instead.
    """

    folder: Path
    summary: dict[str, Any]
    metrics: Table
    seeds: Table | None = None
    beta_sweep: Table | None = None
    analysis_md: str | None = None
    config_text: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    class_counts: dict[str, Counter] = field(default_factory=dict)
    n_tracks: int | None = None
    demo: bool = False  # the tracks are the built-in synthetic demo collection
    problems: list[dict[str, str]] = field(default_factory=list)
    n_problems: int = 0
    figures: list[Figure] = field(default_factory=list)
    has_explorer: bool = False
    missing: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def title(self) -> str:
        s = self.summary
        return str(s.get("title") or "") or f"Unsupervised clustering of {self.dataset_name} in learned latent spaces"

    @property
    def dataset_name(self) -> str:
        d = self.summary.get("dataset")
        if d:
            return Path(str(d)).name or str(d)
        return "the demo collection" if self.demo else "a music collection"

    @property
    def seed_count(self) -> int:
        """Seeds per method: summary's list, else the largest ``n_seeds`` in metrics.csv, else 1."""
        seeds = self.summary.get("seeds")
        if isinstance(seeds, list) and seeds:
            return len(seeds)
        ns = [v for r in self.metrics.rows if isinstance(v := r.get("n_seeds"), float) and not math.isnan(v)]
        return int(max(ns)) if ns else 1


def read_table(path: Path, *, text: tuple[str, ...] = TEXT_COLUMNS) -> Table:
    """A small CSV (metrics, seeds, beta sweep) with numbers parsed. Raises RunError naming the file."""
    try:
        with _open_csv(path) as fh:
            reader = csv.DictReader(fh)
            raw = list(reader)
            columns = list(reader.fieldnames or [])
    except (OSError, csv.Error) as exc:
        raise RunError(f"{path}: cannot be read as CSV ({exc}); the run folder is damaged. Rerun the experiment."
                       ) from exc
    rows = [{c: (r.get(c) or "") if c in text else as_float(r.get(c)) for c in columns} for r in raw]
    return Table(columns, rows)


def _optional_table(path: Path, missing: list[str], what: str) -> Table | None:
    if not path.is_file():
        missing.append(f"{path.name}: absent ({what})")
        return None
    try:
        return read_table(path)
    except RunError as exc:
        log.warning("report: %s", exc)
        missing.append(f"{path.name}: unreadable ({what})")
        return None


def _read_json(path: Path, default: Any, missing: list[str] | None = None) -> Any:
    """The JSON file ``path`` of the run folder (summary.json, figures.json) when it holds a value of ``default``'s
    type (an object, a list), else ``default``: absent, unreadable (logged) or of another type. An absent or
    unreadable file is also named in ``missing`` (the report's list of what it lacks) when one is given."""
    if not path.is_file():
        if missing is not None:
            missing.append(f"{path.name}: absent")
        return default
    try:
        value = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError) as exc:
        log.warning("%s cannot be read as JSON (%s); left out", path, exc)
        if missing is not None:
            missing.append(f"{path.name}: unreadable")
        return default
    return value if isinstance(value, type(default)) else default


def _kind(name: str) -> str:
    return next((k for key, k in KIND_OF_NAME if key in name), "figure")


def _figure(run_dir: Path, rel: str, caption: str, kind: str) -> Figure | None:
    """A figure file inside the run folder (a path leading out of it is refused), or None with a warning."""
    path = (run_dir / rel).resolve()
    mime = IMAGE_TYPES.get(path.suffix.lower())
    if not path.is_relative_to(run_dir.resolve()) or mime is None:
        log.warning("report: figures.json names %r, not an image file inside %s; left out", rel, run_dir)
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        log.warning("report: figure %s cannot be read (%s); left out", path, exc)
        return None
    return Figure(rel, caption, kind, data, mime)


def _figures(run_dir: Path, missing: list[str]) -> list[Figure]:
    """figures.json in its order, then any image of figures/ it does not list (caption from the file name)."""
    listed = _read_json(run_dir / FIGURES_INDEX, [], missing)
    figures: list[Figure] = []
    for entry in listed:
        if not isinstance(entry, dict) or not entry.get("file"):
            continue
        rel = str(entry["file"])
        fig = _figure(run_dir, rel, str(entry.get("caption") or ""), str(entry.get("kind") or _kind(rel)))
        if fig is not None:
            figures.append(fig)
        elif not (run_dir / rel).exists():
            missing.append(f"{rel}: listed in figures.json but absent")
    seen = {(run_dir / f.file).resolve() for f in figures}
    folder = run_dir / "figures"
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.suffix.lower() in IMAGE_TYPES and path.resolve() not in seen:
            caption = path.stem.replace("_", " ") + "."
            fig = _figure(run_dir, f"figures/{path.name}", caption, _kind(path.stem))
            if fig is not None:
                figures.append(fig)
    return figures


def _problems(path: Path) -> tuple[list[dict[str, str]], int]:
    if not path.is_file():
        return [], 0
    kept: list[dict[str, str]] = []
    n = 0
    try:
        with _open_csv(path) as fh:
            for row in csv.DictReader(fh):
                n += 1
                if len(kept) < MAX_PROBLEMS:
                    kept.append({k: v or "" for k, v in row.items() if k is not None})
    except (OSError, csv.Error) as exc:
        log.warning("report: %s cannot be read (%s); problems left out", path, exc)
    return kept, n


def read_run(run_dir: Path | str) -> RunData:
    """Read the run folder ``run_dir`` (see this module's docstring for its layout) for the report.

    Raises
    ------
    RunError
        ``run_dir`` is not a folder, or has no readable ``metrics.csv``: without results there is nothing to
        report.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run folder. Pass a folder written by `songspace run`, `demo` or "
                       "`experiment` (runs/<date>-<time>-<name>).")
    stopped = unfinished(run_dir)
    if stopped is not None:
        raise stopped
    metrics_path = run_dir / "metrics.csv"
    if not metrics_path.is_file():
        raise RunError(f"{metrics_path}: no such file, so there are no results to report; the run did not finish. "
                       "Rerun the experiment, or pass a finished run folder.")
    missing: list[str] = []
    metrics = read_table(metrics_path)
    if not metrics.rows:
        raise RunError(f"{metrics_path}: no rows (no method finished); rerun the experiment.")
    if not any(c.endswith("_std") for c in metrics.columns):
        missing.append("metrics.csv: no *_std columns (written before seeds were aggregated): means only")
    if "conditioned_on" not in metrics.columns:
        missing.append("metrics.csv: no conditioned_on column: no row can be marked as conditioned")
    summary = read_summary(run_dir, missing)
    data = RunData(folder=run_dir, summary=summary, metrics=metrics)
    data.seeds = _optional_table(run_dir / "metrics_seeds.csv", missing, "no per-seed table")
    if (run_dir / "beta_sweep.csv").is_file():
        data.beta_sweep = _optional_table(run_dir / "beta_sweep.csv", missing, "no beta sweep")
    for rel, attr in (("analysis.md", "analysis_md"), ("config.toml", "config_text")):
        try:
            setattr(data, attr, (run_dir / rel).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            missing.append(f"{rel}: absent")
    if data.config_text:
        try:
            data.config = tomllib.loads(data.config_text)
        except tomllib.TOMLDecodeError as exc:
            log.warning("report: %s/config.toml is not valid TOML (%s); shown as text only", run_dir, exc)
    labels = summary.get("labels")
    labels = [str(x) for x in labels] if isinstance(labels, list) else None
    methods = {str(r.get("method")) for r in metrics.rows}
    if (run_dir / ASSIGNMENTS).is_file():
        try:
            table = scan_assignments(run_dir, lambda columns: label_columns(columns, methods, summary))
            data.labels, data.class_counts, data.n_tracks, data.demo = (list(table.class_counts), table.class_counts,
                                                                         table.n_rows, table.demo)
        except RunError as exc:
            log.warning("report: %s; class counts left out", exc)
            missing.append("assignments.csv: unreadable: no class counts")
    else:
        missing.append("assignments.csv: absent: no class counts")
    if not data.labels:
        data.labels = labels or [c[4:] for c in metrics.columns if c.startswith("nmi_") and not c.endswith("_std")]
    data.demo = data.demo or "demo" in run_dir.name.split("-")
    data.problems, data.n_problems = _problems(run_dir / "problems.csv")
    data.figures = _figures(run_dir, missing)
    data.has_explorer = (run_dir / "explorer.html").is_file()
    data.missing = missing
    return data


# --- reading what `songspace assign` and `songspace export` need ----------------------------------------------------
def unfinished(run_dir: Path) -> RunError | None:
    """The error for a run folder whose run did not finish (it holds :data:`UNFINISHED`), else None."""
    marker = run_dir / UNFINISHED
    if not marker.is_file():
        return None
    return RunError(f"{run_dir}: this run did not finish (stopped by Ctrl-C or SIGTERM, or failed: see its run.log; "
                    f"{UNFINISHED} is still there), so its results are incomplete. Rerun the experiment.")


def _require(run_dir: Path | str, rel: str, why: str) -> Path:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run folder. Pass a folder written by `songspace run`, `demo` or "
                       "`experiment` (runs/<date>-<time>-<name>).")
    stopped = unfinished(run_dir)
    if stopped is not None:
        raise stopped
    path = run_dir / rel
    if not path.is_file():
        raise RunError(f"{path}: no such file, so {why}; pass a finished run folder.")
    return path


def read_summary(run_dir: Path | str, missing: list[str] | None = None) -> dict[str, Any]:
    """``summary.json`` of a run folder ({} when it is absent or unreadable; see :func:`_read_json`)."""
    return _read_json(Path(run_dir) / SUMMARY, {}, missing)


def read_metrics(run_dir: Path | str) -> Table:
    """``metrics.csv`` of a run folder. Raises RunError when the folder or the file is absent or unreadable."""
    return read_table(_require(run_dir, METRICS, "the run has no results"))


def assignment_columns(run_dir: Path | str) -> list[str]:
    """The header of ``assignments.csv``. Raises RunError naming the file when it cannot be read."""
    path = _require(run_dir, ASSIGNMENTS, "the run has no assignments")
    try:
        with _open_csv(path) as fh:
            return list(csv.DictReader(fh).fieldnames or [])
    except (OSError, csv.Error) as exc:
        raise damaged(path, f"cannot be read as CSV ({type(exc).__name__})") from None


def read_assignments(run_dir: Path | str) -> Iterable[dict[str, str]]:
    """The rows of ``assignments.csv``, streamed one at a time (a 100k-track run is never held whole). Raises
    RunError naming the file (and the line) when it cannot be read."""
    path = _require(run_dir, ASSIGNMENTS, "the run has no assignments")
    try:
        with _open_csv(path) as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                yield {k: v or "" for k, v in row.items() if isinstance(k, str)}
    except (OSError, csv.Error) as exc:
        raise damaged(path, f"cannot be read as CSV ({type(exc).__name__})") from None


def read_run_config(run_dir: Path | str) -> Any:
    """The run's resolved settings (``config.toml``) as a :class:`songspace.config.RunConfig`."""
    from songspace.settings import load

    return load(_require(run_dir, CONFIG, "the run's settings are unknown"))


def read_config_dict(run_dir: Path | str) -> dict[str, Any]:
    """``config.toml`` as plain TOML values, unvalidated ({} when absent or unreadable): for a setting or two of a
    run written by an older version, whose settings may no longer all validate."""
    try:
        return tomllib.loads((Path(run_dir) / CONFIG).read_text(encoding="utf-8", errors="replace"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}


class Arrays(dict):
    """The named arrays of one ``.npz`` of a run folder (:func:`load_arrays`). Asking for an array the file does not
    hold raises :class:`RunError` naming the file and the array (not a bare ``KeyError``)."""

    def __init__(self, path: Path, arrays: dict[str, Any]) -> None:
        super().__init__(arrays)
        self.path = path

    def __missing__(self, key: str) -> Any:
        raise RunError(f"{self.path}: no array {key!r} in it; the run folder is damaged. Rerun the experiment.")


def damaged(path: Path | str, why: str) -> RunError:
    """The one error for a run-folder file that is there but cannot be used: it names the file and what is wrong
    (never the file's content, never advice to unpickle it)."""
    return RunError(f"{path}: {why}; the run folder is damaged. Rerun the experiment.")


def load_arrays(run_dir: Path | str, rel: str) -> Arrays | None:
    """The named arrays of ``rel`` (a ``.npz`` of the run folder); None when it is absent.

    Read without pickle, and checked: every array holds numbers, booleans or text (never Python objects). Raises
    RunError naming the file when it cannot be read (not a zip of arrays, truncated, object arrays).
    """
    import numpy as np

    path = Path(run_dir) / rel
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise damaged(path, "not a .npz archive of named arrays")
            arrays = {k: npz[k] for k in npz.files}
    except RunError:
        raise
    except Exception as exc:  # noqa: BLE001 - numpy says "pickled data" or worse for any garbage: never quoted
        raise damaged(path, f"not a readable .npz archive of named arrays ({type(exc).__name__})") from None
    for key, value in arrays.items():
        if value.dtype.kind not in "biufcUS":
            raise damaged(path, f"array {key!r} holds {value.dtype} values, not numbers or text")
    return Arrays(path, arrays)


def audio_file(dataset: Path | str | None, audio_path: str) -> Path:
    """The file an ``audio_path`` of assignments.csv names: relative to the dataset folder (summary.json's
    ``dataset``), or absolute (run folders written before paths were made relative)."""
    path = Path(audio_path)
    if path.is_absolute() or not dataset:
        return path
    return Path(dataset) / path


# --- reading for the explorer: assignments streamed, latents and projections by path ------------------------------
@dataclass
class AssignmentsTable:
    """assignments.csv as :func:`scan_assignments` found it: where it is, its header, its number of data rows, the
    class counts of the label columns it was asked about ("" = unknown) and whether every track id is one of the
    demo collection's."""

    path: Path
    columns: list[str]
    n_rows: int
    class_counts: dict[str, Counter] = field(default_factory=dict)
    demo: bool = False


def scan_assignments(run_dir: Path, labels: Callable[[list[str]], Sequence[str]] | None = None) -> AssignmentsTable:
    """Stream ``assignments.csv`` once (a 100k-track run is never held whole): its header (empty for an empty file),
    its rows counted, and the classes of each label column that ``labels(header)`` picks counted.

    Raises RunError naming the file when it is absent or cannot be read as CSV.
    """
    path = run_dir / ASSIGNMENTS
    if not path.is_file():
        raise RunError(f"{path}: no such file; pass a finished run folder (one written by `songspace run`, `demo` "
                       "or `experiment`). Check the folder name, or rerun the experiment.")
    try:
        with _open_csv(path) as fh:
            reader = csv.DictReader(fh)
            columns = list(reader.fieldnames or [])
            picked = [c for c in (labels(columns) if labels is not None else []) if c in columns]
            counts: dict[str, Counter] = {lab: Counter() for lab in picked}
            n, demo = 0, True
            for row in reader:
                n += 1
                demo = demo and str(row.get("track_id") or "").startswith("demo_")
                for lab in picked:
                    counts[lab][row.get(lab) or ""] += 1
    except (OSError, csv.Error) as exc:
        raise RunError(f"{path}: cannot be read as CSV ({exc}); the run folder is damaged. Rerun the experiment."
                       ) from exc
    return AssignmentsTable(path, columns, n, counts, demo and n > 0)


def read_assignment_rows(table: AssignmentsTable, keep: set[int]) -> dict[int, dict[str, str]]:
    """The rows numbered in ``keep`` (0 = first data row), streamed: memory is that of the kept rows."""
    rows: dict[int, dict[str, str]] = {}
    with _open_csv(table.path) as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            if i in keep:
                rows[i] = {k: (v or "") for k, v in row.items() if k is not None}
    return rows


def method_representations(run_dir: Path, columns: list[str], summary: dict) -> dict[str, str]:
    """Method column of assignments.csv -> its representation, from metrics.csv, else from "<rep>+<clusterer>"."""
    methods: dict[str, str] = {}
    metrics = run_dir / METRICS
    if metrics.is_file():
        try:
            with _open_csv(metrics) as fh:
                for row in csv.DictReader(fh):
                    if row.get("method") in columns and row.get("representation"):
                        methods[row["method"]] = row["representation"]
        except (OSError, csv.Error) as exc:
            log.warning("%s: unreadable (%s); methods are read from assignments.csv's column names", metrics, exc)
    for c in columns:
        if c not in methods and c not in BASE_COLUMNS and "+" in c and c not in summary.get("labels", []):
            methods[c] = c.rsplit("+", 1)[0]
    return methods


def label_columns(columns: list[str], methods: Collection[str], summary: dict) -> list[str]:
    """The label columns of assignments.csv's header ``columns``: summary.json's ``labels`` that it holds, else
    every column that is neither a base column nor one of the run's ``methods``."""
    listed = summary.get("labels")
    if isinstance(listed, list):
        return [str(n) for n in listed if n in columns and n not in methods]
    return [c for c in columns if c not in BASE_COLUMNS and c not in methods]


def view_sources(run_dir: Path, order: list[str]) -> list[tuple[str, str, Path | None]]:
    """(representation, projection technique, npz file or None) per drawable space, in ``order``; None = no
    projection was saved, so one has to be computed from latents/<rep>.npy."""
    found: dict[str, dict[str, Path]] = {}
    for f in sorted((run_dir / "projections").glob("*.npz")):
        rep, _, proj = f.stem.rpartition("_")
        if rep and proj in ("tsne", "umap"):
            found.setdefault(rep, {})[proj] = f
        else:
            log.warning("%s: not named <representation>_<tsne|umap>.npz; skipped", f)
    for f in sorted((run_dir / "latents").glob("*.npy")):
        found.setdefault(f.stem, {})
    rank = {name: i for i, name in enumerate(order)}
    out: list[tuple[str, str, Path | None]] = []
    for rep in sorted(found, key=lambda r: (rank.get(r, len(rank)), r)):
        projs = found[rep]
        if projs:
            out += [(rep, p, projs[p]) for p in ("tsne", "umap") if p in projs]
        else:
            out.append((rep, "tsne", None))
    return out


def load_projection(path: Path, n_rows: int) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            index, xy = np.asarray(z["index"]), np.asarray(z["xy"], dtype=np.float64)
    except Exception as exc:  # missing keys, truncated or not an npz: all mean the same here (numpy's text is not
        log.warning("%s: unreadable projection (%s); view skipped", path, type(exc).__name__)  # quoted: it advises
        return None  # unpickling)
    if index.ndim != 1 or not np.issubdtype(index.dtype, np.integer) or xy.shape != (len(index), 2):
        log.warning("%s: expected an integer 'index' [m] and 'xy' [m, 2], got %s and %s; view skipped",
                    path, index.shape, xy.shape)
        return None
    if len(index) and (index.min() < 0 or index.max() >= n_rows):
        log.warning("%s: row indices outside assignments.csv's %d rows (a projection of another run?); view "
                    "skipped", path, n_rows)
        return None
    return index.astype(np.int64), xy


def load_latent(run_dir: Path, rep: str, n_rows: int) -> np.ndarray | None:
    path = run_dir / latent_file(rep)
    try:
        z = np.load(path, mmap_mode="r", allow_pickle=False)  # read only the sampled rows
    except Exception as exc:  # numpy's text is not quoted: for garbage it advises unpickling
        log.warning("%s: unreadable latents (%s); view skipped", path, type(exc).__name__)
        return None
    if z.ndim != 2 or z.shape[0] != n_rows:
        log.warning("%s: shape %s, expected (%d, d), one row per row of assignments.csv; view skipped",
                    path, z.shape, n_rows)
        return None
    return z
