"""The generic dataset folder: ``audio/``, optional ``lyrics/<track_id>.txt``, optional ``metadata.csv``.

A plain folder of audio files with no ``audio/`` sub-folder is read the same way, with no labels.
Lyrics files are decoded here by the policy of :mod:`songspace.datasets.lyrics` (UTF-8, UTF-16/32, plausible
cp1252, ...) into ``Track.lyrics_text``; a ``lyrics`` column of ``metadata.csv`` gives the lyrics of tracks
whose lyrics file is absent or unusable.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import stat
from pathlib import Path

from songspace.datasets.lyrics import cell_lyrics, decode_table, file_lyrics
from songspace.datasets.manifest import (
    AUDIO_EXTENSIONS,
    DEFAULT_MAX_LABELS,
    NON_LABEL_COLUMNS,
    Manifest,
    Problem,
    Track,
    choose_labels,
    finish_manifest,
)
from songspace.datasets.paths import (
    is_inside,
    printable,
    readable_inside,
    relative_name,
    safe_track_id,
    walk_files,
)
from songspace.errors import DatasetError

log = logging.getLogger(__name__)

# Above this many metadata rows without audio, they are reported as one problem with a count.
MAX_LISTED_ROWS = 20
DELIMITERS = (",", ";", "\t", "|")  # of metadata.csv, tried in this order (see sniff_delimiter)
FIELD_LIMIT = 1 << 24  # a lyrics column can pass the csv module's default 128 KiB per cell


def audio_file_problem(path: Path, root: Path) -> str | None:
    """Why the audio file ``path`` cannot be used (``None`` when it can): it links outside ``root``, is not a
    regular file (a pipe would block the decoder), cannot be read, or is empty."""
    if not is_inside(path, root):
        return "links outside the dataset folder; not read"
    try:
        st = path.stat()
    except OSError as exc:
        return "broken symlink" if not path.exists() else f"cannot be read ({exc.strerror or exc}); not read"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file (a pipe, socket or device); not read"
    if st.st_size == 0:
        return "empty file (0 bytes)"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied); not read"
    return None


def list_audio(folder: Path, root: Path, problems: list[Problem]) -> dict[str, Path]:
    """Audio files under ``folder`` (recursively) keyed by track id (the file stem), in sorted order.

    Files that escape ``root`` through a symlink, empty or unreadable files and second files with an id already
    seen are recorded in ``problems`` and left out; so are symlink loops, dangling links, links to folders and
    folders that cannot be read (:func:`~songspace.datasets.paths.walk_files`).
    """
    found: dict[str, Path] = {}
    for path in walk_files(folder, root, problems, suffixes=AUDIO_EXTENSIONS):
        rel = relative_name(path, root)
        why = audio_file_problem(path, root)
        if why:
            problems.append(Problem(rel, why))
            continue
        track_id = printable(path.stem)
        if track_id != path.stem:
            problems.append(Problem(rel, f"file name is not valid UTF-8; read as track {track_id!r} (rename the file "
                                         "to keep its name)", False))
        if track_id in found:
            first = relative_name(found[track_id], root)
            problems.append(Problem(rel, f"duplicate track id {track_id!r} (already used by {first})"))
            continue
        found[track_id] = path
    return found


def sniff_delimiter(header: str) -> str:
    """The delimiter of a metadata table whose first line is ``header``: the first of ``,``, ``;`` (what Excel
    writes where the decimal mark is a comma), tab and ``|`` that sets ``track_id`` apart as a cell; ``,`` when
    none does (the table is then refused for lacking the column)."""
    for delimiter in DELIMITERS:
        if "track_id" in (cell.strip().strip('"') for cell in header.split(delimiter)):
            return delimiter
    return ","


def read_metadata(path: Path, root: Path, problems: list[Problem]) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Rows of ``metadata.csv`` keyed by track id, and its column names (without duplicates or blanks).

    The delimiter is sniffed from the header (:func:`sniff_delimiter`). A column name given twice is read from
    its first column (the others are noted in ``problems``); a column without a name is not read.

    Raises
    ------
    DatasetError
        When the file cannot be read or decoded, is not CSV, or has no ``track_id`` column.
    """
    rel = relative_name(path, root)
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    try:
        with path.open("rb") as fh:
            text, note = decode_table(fh.read())
        if note:
            problems.append(Problem(rel, note, False))
        delimiter = sniff_delimiter(text.split("\n", 1)[0])
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = [c.strip() for c in next(reader, [])]
        raw_rows = list(reader)
    except UnicodeError as exc:
        why = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
        raise DatasetError(f"{path}: metadata.csv is not UTF-8 ({why}); re-save it as UTF-8.") from exc
    except csv.Error as exc:
        raise DatasetError(f"{path}: metadata.csv is not valid CSV ({exc}).") from exc
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read metadata.csv ({exc.strerror or exc}); check its permissions, "
                           "or remove it to read the audio without labels.") from exc
    if "track_id" not in header:
        shown = header[:20] + (["..."] if len(header) > 20 else [])
        raise DatasetError(f"{path}: metadata.csv has no 'track_id' column (columns: {shown}; delimiters tried: "
                           f"{' '.join(repr(d) for d in DELIMITERS)}); add one whose values are the audio file names "
                           "without extension.")
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        if not name:
            continue
        if name in index:
            problems.append(Problem(rel, f"column {name!r} appears twice (columns {index[name] + 1} and {i + 1}); "
                                         "the first is read", False))
            continue
        index[name] = i
    rows: dict[str, dict[str, str]] = {}
    for line_no, raw in enumerate(raw_rows, start=2):
        if not any(cell.strip() for cell in raw):
            continue  # a blank line
        row = {name: raw[i].strip() if i < len(raw) else "" for name, i in index.items()}
        track_id = row["track_id"]
        why = safe_track_id(track_id)
        if why:
            problems.append(Problem(f"{rel}:{line_no}", f"{why}; row ignored"))
        elif track_id in rows:
            problems.append(Problem(f"{rel}:{line_no}", f"duplicate track_id {track_id!r}; first row kept"))
        else:
            rows[track_id] = row
    return rows, list(index)


def label_columns_of(columns: list[str], rows: dict[str, dict[str, str]]) -> list[str]:
    """Candidate label columns: not an identifier or free text by name, with at least two distinct values
    (:func:`~songspace.datasets.manifest.choose_labels` then judges and bounds them)."""
    out = []
    for col in columns:
        if not col or col.lower() in NON_LABEL_COLUMNS:
            continue
        values = {r.get(col, "") for r in rows.values()} - {""}
        if len(values) >= 2:
            out.append(col)
    return out


def read_folder(root: Path | str, *, max_labels: int = DEFAULT_MAX_LABELS, prefer: list[str] | None = None) -> Manifest:
    """Read a generic dataset folder into a :class:`Manifest`.

    Parameters
    ----------
    root : path to the dataset folder (``audio/``, ``lyrics/``, ``metadata.csv``) or a plain folder of audio.
    max_labels, prefer : at most ``max_labels`` label columns, those named in ``prefer`` first
        (:func:`~songspace.datasets.manifest.choose_labels`).

    Raises
    ------
    DatasetError
        The folder does not exist, holds no usable audio, or its metadata cannot be read.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder. Pass a dataset folder holding audio/ (and optionally "
                           "lyrics/ and metadata.csv), or a folder of audio files.")
    problems: list[Problem] = []
    audio_dir = root / "audio" if (root / "audio").is_dir() else root
    audio = list_audio(audio_dir, root, problems)

    meta_path = root / "metadata.csv"
    rows, columns = read_metadata(meta_path, root, problems) if readable_inside(meta_path, root, problems) \
        else ({}, [])
    # Judged on the rows of the tracks present; only the chosen columns are copied into each track.
    chosen = choose_labels(label_columns_of(columns, rows), (rows.get(tid, {}) for tid in audio), problems,
                           max_labels=max_labels, prefer=prefer, source="metadata.csv")

    missing = [track_id for track_id in rows if track_id not in audio]
    if len(missing) > MAX_LISTED_ROWS:  # a metadata.csv for a larger collection than the audio present
        problems.append(rows_without_audio("metadata.csv", missing, len(rows), f"in {audio_dir.name}/"))
    else:
        for track_id in missing:
            problems.append(Problem(f"metadata.csv:{track_id}", "metadata row has no audio file; row ignored"))

    lyrics_dir = root / "lyrics"
    lyrics_files = {p.name: p for p in walk_files(lyrics_dir, root, problems, suffixes=(".txt",), recursive=False)} \
        if lyrics_dir.is_dir() else {}
    tracks: list[Track] = []
    for track_id, audio_path in audio.items():
        row = rows.get(track_id)
        if rows and row is None:
            problems.append(Problem(relative_name(audio_path, root),
                                    "audio file has no metadata row; kept without labels", False))
        row = row or {}
        lyrics_path = lyrics_files.get(f"{track_id}.txt")
        text = file_lyrics(lyrics_path, root, problems) if lyrics_path is not None else None
        if text is None:
            lyrics_path = None
            # A lyrics column in metadata.csv, used when the lyrics file is absent or unusable.
            text = cell_lyrics(row.get("lyrics"), f"metadata.csv:{track_id}", problems)
        tracks.append(Track(
            track_id=track_id,
            audio_path=audio_path,
            lyrics_path=lyrics_path,
            title=row.get("title", ""),
            artist=row.get("artist", ""),
            labels={c: row.get(c, "") for c in chosen},
            lyrics_text=text,
        ))
    for path in lyrics_files.values():
        if path.stem not in audio:
            problems.append(Problem(relative_name(path, root), "lyrics file has no audio file"))

    layout = "folder" if (root / "audio").is_dir() else "plain"
    return finish_manifest(root, layout, tracks, problems, lambda: chosen, none_usable="no usable audio files "
                           f"found (looked for {', '.join(AUDIO_EXTENSIONS)} under {audio_dir})",
                           max_labels=max_labels, prefer=prefer, label_source="metadata.csv")


def rows_without_audio(source: str, missing: list[str], n_rows: int, where: str) -> Problem:
    """One problem for all the metadata rows of ``source`` that have no audio file, with a few examples.

    Large collections are often used in part (FMA's ``tracks.csv`` lists 106,574 tracks, ``fma_small`` holds
    8,000): one line with the count says that, where a line per row would bury every other problem.
    """
    examples = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
    return Problem(source, f"{len(missing)} of {n_rows} metadata rows have no audio file {where} (e.g. {examples}); "
                           "those rows are ignored and only tracks with audio are read")
