"""Playlists of a run's clusters for a music player (``songspace export RUN_DIR [--method M] --format m3u|csv``).

One playlist per cluster of one method (a ``representation+clusterer`` column of assignments.csv), and one named
``unplaced`` for the tracks the method left out (noise of a density clusterer, tracks without lyrics: -1). Paths
are relative to the playlist's folder, so that the folder and the music can move together.

- ``m3u``: extended M3U in UTF-8 (``.m3u8``, what players expect of UTF-8 titles in any script): ``#EXTM3U``, a
  ``#PLAYLIST:`` name, then per track ``#EXTINF:-1,Artist - Title`` and its path.
- ``csv``: ``track_id, title, artist, path, cluster``; a cell that a spreadsheet would run as a formula
  (``=...``, ``+...``, ``-2+3``, ``@...``) starts with ``'`` (:func:`spreadsheet_safe`).

The method defaults to the run's headline (:func:`headline_method`). Playlists go to ``RUN_DIR/playlists/<method>/``
unless ``out`` names another folder.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from songspace.errors import ConfigError, RunError
from songspace.runfolder import (
    PLAYLIST_COLUMNS,
    PLAYLISTS,
    RunFolder,
    assignment_columns,
    audio_file,
    playlist_file,
    read_assignments,
    read_config_dict,
    read_metrics,
    read_summary,
    safe_name,
)

FORMATS = {"m3u": "m3u8", "csv": "csv"}  # format -> file suffix
UNPLACED = "unplaced"


@dataclass
class Entry:
    track_id: str
    title: str
    artist: str
    path: str  # relative to the playlist's folder (POSIX), or absolute when there is no relative way
    exists: bool


@dataclass
class ExportResult:
    """The playlists written: their folder, the method, each playlist's file and track count, and how many
    tracks' audio files were not found where the run recorded them (their entries are written all the same)."""

    folder: Path
    method: str
    files: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    missing_audio: int = 0


def methods(run_dir: Path | str) -> list[str]:
    """The run's methods that have a column in assignments.csv, in metrics.csv order."""
    columns = set(assignment_columns(run_dir))
    return [m for m in dict.fromkeys(str(r["method"]) for r in read_metrics(run_dir).rows) if m in columns]


def k_label(run_dir: Path | str) -> str | None:
    """The label k was taken from: ``cluster.k_label``, else ``genre``, else the first label (as the runner
    chooses it); None for a run without labels."""
    labels = [str(x) for x in read_summary(run_dir).get("labels") or []]
    cluster = read_config_dict(run_dir).get("cluster") or {}
    wanted = cluster.get("k_label") if isinstance(cluster, dict) else None
    if wanted in labels:
        return str(wanted)
    return "genre" if "genre" in labels else (labels[0] if labels else None)


def headline_method(run_dir: Path | str) -> str:
    """The method a run headlines for its k label: the best row by NMI against that label among those not given
    it; without labels (or NMI), the best by silhouette in the common space; else the first method."""
    from songspace.evaluation.analysis import best

    available = set(methods(run_dir))
    if not available:
        raise RunError(f"{run_dir}: assignments.csv has no method column; the run has no clusterings to export.")
    rows = [r for r in read_metrics(run_dir).rows if str(r["method"]) in available]
    label = k_label(run_dir)
    top = None
    if label is not None:
        free = [r for r in rows if label not in str(r.get("conditioned_on") or "").split(";")]
        top = best(free, f"nmi_{label}")
    top = top or best(rows, "silhouette_common")
    return str(top["method"]) if top is not None else next(m for m in methods(run_dir))


def _clean(text: str) -> str:
    """One line of text: control characters (a newline would end an M3U line) become spaces."""
    return " ".join("".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in str(text)).split())


def _relative(path: Path, folder: Path) -> str:
    """How a playlist names ``path``: relative to the playlist's folder; a ``file://`` URI (percent-encoded) when
    the path holds a control character (a newline in a file name would split an M3U entry in two)."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in str(path)):
        return path.absolute().as_uri()
    try:
        rel = Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return path.as_posix()
    return f"./{rel}" if rel.startswith("#") else rel  # a line starting with '#' is an M3U comment


# A cell starting with one of these is a formula to a spreadsheet (=, +, -, @, and the full-width forms that some
# spreadsheets also read), or hides one after a tab or line break (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_safe(cell: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text: a string starting like a formula gets a leading ``'`` (as OWASP
    recommends); numbers and other strings are unchanged."""
    return f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell


def playlist_names(clusters: list[int]) -> dict[int, str]:
    """``cluster_03`` for each cluster (zero-padded to sort in order), ``unplaced`` for -1."""
    width = max((len(str(c)) for c in clusters if c >= 0), default=1)
    return {c: UNPLACED if c < 0 else f"cluster_{c:0{width}d}" for c in clusters}


def m3u(name: str, entries: list[Entry]) -> str:
    """An extended M3U playlist [UTF-8 text]."""
    lines = ["#EXTM3U", f"#PLAYLIST:{_clean(name)}"]
    for e in entries:
        title = _clean(e.title) or _clean(e.track_id)
        artist = _clean(e.artist)
        lines += [f"#EXTINF:-1,{artist} - {title}" if artist else f"#EXTINF:-1,{title}", e.path]
    return "\n".join(lines) + "\n"


def csv_text(entries: list[Entry], cluster: int) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(PLAYLIST_COLUMNS)
    for e in entries:
        w.writerow([spreadsheet_safe(v) for v in (e.track_id, e.title, e.artist, e.path, cluster)])
    return buf.getvalue()


def export_playlists(run_dir: Path | str, *, method: str | None = None, fmt: str = "m3u",
                     out: Path | str | None = None) -> ExportResult:
    """Write one playlist per cluster of ``method`` (default :func:`headline_method`) of the run folder ``run_dir``.

    Parameters
    ----------
    run_dir : a finished run folder.
    method : a ``representation+clusterer`` column of its assignments.csv.
    fmt : ``m3u`` (extended M3U, UTF-8, ``.m3u8``) or ``csv``.
    out : the folder that receives the playlists (default ``run_dir/playlists/<method>/``).

    Raises
    ------
    RunError : ``run_dir`` is not a finished run folder, or the method placed no track (its clustering failed).
    ConfigError : an unknown method or format.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)} (got '{fmt}')")
    run_dir = Path(run_dir)
    available = methods(run_dir)
    if method is None:
        method = headline_method(run_dir)
    elif method not in available:
        raise ConfigError(f"--method must be one of {', '.join(available) or 'none'} (got '{method}')")
    if out is None:
        folder = RunFolder.open(run_dir)
        prefix = f"{PLAYLISTS}/{safe_name(method)}/"
    else:
        try:
            Path(out).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"{out}: cannot create the playlist folder ({exc.strerror or exc}); choose another "
                           "--out.") from exc
        folder, prefix = RunFolder.open(out), ""
    target = folder.file(f"{prefix}{playlist_file(UNPLACED, FORMATS[fmt])}").parent  # made, and checked inside
    dataset = read_summary(run_dir).get("dataset")
    root = Path(str(dataset)).expanduser().absolute() if dataset else None
    groups: dict[int, list[Entry]] = {}
    missing = 0
    for row in read_assignments(run_dir):
        value = _cluster(row.get(method, ""))
        if value is None:
            continue
        audio = audio_file(root, row.get("audio_path", "")).resolve()
        exists = audio.is_file()
        missing += not exists
        groups.setdefault(value, []).append(Entry(row.get("track_id", ""), row.get("title", ""),
                                                  row.get("artist", ""), _relative(audio, target), exists))
    if not groups:
        raise RunError(f"{run_dir}: {method} placed no track (its clustering failed; see metrics.csv notes).")
    result = ExportResult(target, method, missing_audio=missing)
    names = playlist_names(sorted(groups))
    for c in sorted(groups, key=lambda c: (c < 0, c)):
        name = names[c]
        title = f"{method} {name.replace('_', ' ')}"
        text = m3u(title, groups[c]) if fmt == "m3u" else csv_text(groups[c], c)
        result.files[name] = folder.write_text(f"{prefix}{playlist_file(name, FORMATS[fmt])}", text)
        result.counts[name] = len(groups[c])
    return result


def _cluster(value: Any) -> int | None:
    """A cluster of assignments.csv as an int (-1 = not placed); None for an empty cell (a failed clustering)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else int(x)
