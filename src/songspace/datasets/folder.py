"""The generic dataset folder: ``audio/``, optional ``lyrics/<track_id>.txt``, optional ``metadata.csv``.

A plain folder of audio files with no ``audio/`` sub-folder is read the same way, with no labels.
Lyrics files are decoded here by the policy of :mod:`songspace.datasets.lyrics` (UTF-8, UTF-16/32, plausible
cp1252, ...) into ``Track.lyrics_text``; a ``lyrics`` column of ``metadata.csv`` gives the lyrics of tracks
whose lyrics file is absent or unusable.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from songspace.datasets.lyrics import cell_lyrics, file_lyrics
from songspace.datasets.manifest import AUDIO_EXTENSIONS, NON_LABEL_COLUMNS, Manifest, Problem, Track, finish_manifest
from songspace.datasets.paths import is_inside, safe_track_id
from songspace.errors import DatasetError

log = logging.getLogger(__name__)

# Above this many metadata rows without audio, they are reported as one problem with a count.
MAX_LISTED_ROWS = 20


def audio_file_problem(path: Path, root: Path) -> str | None:
    """Why the audio file ``path`` cannot be used (``None`` when it can): it links outside ``root``, is a
    broken link, or is empty."""
    if not is_inside(path, root):
        return "links outside the dataset folder; not read"
    if not path.exists():
        return "broken symlink"
    if path.stat().st_size == 0:
        return "empty file (0 bytes)"
    return None


def list_audio(folder: Path, root: Path, problems: list[Problem]) -> dict[str, Path]:
    """Audio files under ``folder`` (recursively) keyed by track id (the file stem), in sorted order.

    Files that escape ``root`` through a symlink, empty files and second files with an id already
    seen are recorded in ``problems`` and left out.
    """
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in AUDIO_EXTENSIONS or path.is_dir():
            continue
        rel = path.relative_to(root).as_posix()
        why = audio_file_problem(path, root)
        if why:
            problems.append(Problem(rel, why))
            continue
        track_id = path.stem
        if track_id in found:
            first = found[track_id].relative_to(root).as_posix()
            problems.append(Problem(rel, f"duplicate track id {track_id!r} (already used by {first})"))
            continue
        found[track_id] = path
    return found


def read_metadata(path: Path, root: Path, problems: list[Problem]) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Rows of ``metadata.csv`` keyed by track id, and its column names.

    Raises
    ------
    DatasetError
        When the file cannot be decoded or has no ``track_id`` column.
    """
    rel = path.relative_to(root).as_posix()
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            raw_rows = list(reader)
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: metadata.csv is not UTF-8 ({exc.reason}); re-save it as UTF-8.") from exc
    except csv.Error as exc:
        raise DatasetError(f"{path}: metadata.csv is not valid CSV ({exc}).") from exc
    if "track_id" not in columns:
        raise DatasetError(f"{path}: metadata.csv has no 'track_id' column (columns: {columns}); "
                           "add one whose values are the audio file names without extension.")
    rows: dict[str, dict[str, str]] = {}
    for line_no, raw in enumerate(raw_rows, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        track_id = row.get("track_id", "")
        why = safe_track_id(track_id)
        if why:
            problems.append(Problem(f"{rel}:{line_no}", f"{why}; row ignored"))
        elif track_id in rows:
            problems.append(Problem(f"{rel}:{line_no}", f"duplicate track_id {track_id!r}; first row kept"))
        else:
            rows[track_id] = row
    return rows, columns


def label_columns_of(columns: list[str], rows: dict[str, dict[str, str]]) -> list[str]:
    """Columns that group tracks: not an identifier or free text, with at least two distinct values."""
    out = []
    for col in columns:
        if col.lower() in NON_LABEL_COLUMNS:
            continue
        values = {r.get(col, "") for r in rows.values()} - {""}
        if len(values) >= 2:
            out.append(col)
    return out


def read_folder(root: Path | str) -> Manifest:
    """Read a generic dataset folder into a :class:`Manifest`.

    Parameters
    ----------
    root : path to the dataset folder (``audio/``, ``lyrics/``, ``metadata.csv``) or a plain folder of audio.

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
    rows, columns = read_metadata(meta_path, root, problems) if meta_path.is_file() else ({}, [])
    labels = label_columns_of(columns, rows)

    missing = [track_id for track_id in rows if track_id not in audio]
    if len(missing) > MAX_LISTED_ROWS:  # a metadata.csv for a larger collection than the audio present
        problems.append(rows_without_audio("metadata.csv", missing, len(rows), f"in {audio_dir.name}/"))
    else:
        for track_id in missing:
            problems.append(Problem(f"metadata.csv:{track_id}", "metadata row has no audio file; row ignored"))

    lyrics_dir = root / "lyrics"
    tracks: list[Track] = []
    for track_id, audio_path in audio.items():
        row = rows.get(track_id)
        if rows and row is None:
            problems.append(Problem(audio_path.relative_to(root).as_posix(),
                                    "audio file has no metadata row; kept without labels", False))
        row = row or {}
        lyrics_path: Path | None = lyrics_dir / f"{track_id}.txt"
        text = file_lyrics(lyrics_path, root, problems) if lyrics_path.is_file() else None
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
            labels={c: row.get(c, "") for c in labels},
            lyrics_text=text,
        ))
    if lyrics_dir.is_dir():
        for path in sorted(lyrics_dir.glob("*.txt")):
            if path.stem not in audio:
                problems.append(Problem(path.relative_to(root).as_posix(), "lyrics file has no audio file"))

    layout = "folder" if (root / "audio").is_dir() else "plain"
    return finish_manifest(root, layout, tracks, problems, lambda: labels, none_usable="no usable audio files "
                           f"found (looked for {', '.join(AUDIO_EXTENSIONS)} under {audio_dir})")


def rows_without_audio(source: str, missing: list[str], n_rows: int, where: str) -> Problem:
    """One problem for all the metadata rows of ``source`` that have no audio file, with a few examples.

    Large collections are often used in part (FMA's ``tracks.csv`` lists 106,574 tracks, ``fma_small`` holds
    8,000): one line with the count says that, where a line per row would bury every other problem.
    """
    examples = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
    return Problem(source, f"{len(missing)} of {n_rows} metadata rows have no audio file {where} (e.g. {examples}); "
                           "those rows are ignored and only tracks with audio are read")
