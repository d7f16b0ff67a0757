"""FMA, the Free Music Archive dataset (Defferrard et al., ISMIR 2017; github.com/mdeff/fma).

Layout::

    <root>/fma_metadata/tracks.csv        (or <root>/tracks.csv next to genres.csv)
    <root>/fma_small/000/000002.mp3       (or fma_medium/, fma_large/, fma_full/)

An audio file is named by its track id zero-padded to 6 digits, in the folder named by the first 3 of them;
the track id (``000002``) is the file name without extension. ``tracks.csv`` has two header rows, the
column group (``album``, ``artist``, ``set``, ``track``) then the field (``genre_top``, ``title``, ...), then
a row naming the index column (``track_id``), then one row per track: pandas reads it with
``pd.read_csv(path, index_col=0, header=[0, 1])``. ``genres.csv`` is not needed (``genre_top`` already
holds the genre's title).

Labels: ``genre`` = ``track.genre_top`` (empty in tracks.csv for tracks whose genres span several top-level
genres: unknown here), ``language`` = ``track.language_code`` (mostly empty in FMA). Title = ``track.title``,
artist = ``artist.name``.

Subsets: the largest audio folder present is read (full > large > medium > small); the others are listed as
problems. ``tracks.csv`` lists all 106,574 tracks whatever the subset, so the rows without audio are
reported as counts, not one problem each: the tracks of the subset whose file is missing (a partial
download?) and the rows outside the subset (expected).
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from songspace.datasets.folder import list_audio, rows_without_audio
from songspace.datasets.manifest import (
    DEFAULT_MAX_LABELS,
    Manifest,
    Problem,
    Track,
    columns_with_classes,
    finish_manifest,
)
from songspace.datasets.paths import readable_inside, relative_name
from songspace.errors import DatasetError

log = logging.getLogger(__name__)

FMA_SUBSETS = ("fma_full", "fma_large", "fma_medium", "fma_small")  # largest first
# Values of the ('set', 'subset') column held by each audio folder: the subsets are nested.
SUBSET_HOLDS = {"fma_small": {"small"}, "fma_medium": {"small", "medium"},
                "fma_large": {"small", "medium", "large"}, "fma_full": {"small", "medium", "large"}}

# Our name -> (group, field) in tracks.csv.
COLUMNS = {"genre": ("track", "genre_top"), "language": ("track", "language_code"),
           "title": ("track", "title"), "artist": ("artist", "name")}
SUBSET_COLUMN = ("set", "subset")  # optional: only used to tell missing files from other subsets' rows
LABELS = ("genre", "language")

# tracks.csv holds artist biographies; the csv module refuses fields over 128 KiB by default.
FIELD_LIMIT = 1 << 24


def fma_metadata_path(root: Path) -> Path | None:
    """``tracks.csv`` of the FMA folder ``root``, or ``None``."""
    for path in (root / "fma_metadata" / "tracks.csv", root / "tracks.csv"):
        if readable_inside(path, root):
            return path
    return None


def is_fma(root: Path) -> bool:
    """True when ``root`` looks like an FMA folder (metadata or an ``fma_<subset>`` audio folder)."""
    return ((root / "fma_metadata" / "tracks.csv").is_file()
            or ((root / "tracks.csv").is_file() and (root / "genres.csv").is_file())
            or any((root / s).is_dir() for s in FMA_SUBSETS))


def read_tracks_csv(path: Path, root: Path, problems: list[Problem]) -> dict[str, dict[str, str]]:
    """The rows of FMA's ``tracks.csv`` keyed by 6-digit track id, with the fields of :data:`COLUMNS`
    (and ``subset`` when the file has it).

    Raises
    ------
    DatasetError
        The file is not UTF-8 CSV, lacks FMA's two header rows, or lacks a needed column.
    """
    rel = path.relative_to(root).as_posix()
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    rows: dict[str, dict[str, str]] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            groups, fields = next(reader, []), next(reader, [])
            if not groups or groups[0].strip() or not fields or fields[0].strip():
                raise DatasetError(
                    f"{path}: not FMA's tracks.csv layout: expected two header rows (column group such as "
                    f"'track', then field such as 'genre_top') with an empty first cell; found first row "
                    f"{groups[:4]}. Use tracks.csv from fma_metadata.zip unchanged.")
            index = {(g.strip(), f.strip()): i for i, (g, f) in enumerate(zip(groups, fields, strict=False))
                     if i > 0}  # a header row cut short just has fewer columns
            missing = [c for c in COLUMNS.values() if c not in index]
            if missing:
                found = ", ".join(".".join(c) for c in index)
                raise DatasetError(f"{path}: column(s) {', '.join('.'.join(c) for c in missing)} missing "
                                   f"(columns found: {found}). Use tracks.csv from fma_metadata.zip unchanged.")
            wanted = {name: index[c] for name, c in COLUMNS.items()}
            if SUBSET_COLUMN in index:
                wanted["subset"] = index[SUBSET_COLUMN]
            for row in reader:
                first = row[0].strip() if row else ""
                if not first or first == "track_id":  # blank line, or the row naming the index column
                    continue
                try:
                    track_id = f"{int(first):06d}"
                except ValueError:
                    problems.append(Problem(f"{rel}:{reader.line_num}", f"track id {first!r} is not a number; "
                                                                        "row ignored"))
                    continue
                if track_id in rows:
                    problems.append(Problem(f"{rel}:{reader.line_num}", f"duplicate track id {first}; first row kept"))
                    continue
                rows[track_id] = {name: row[i].strip() if i < len(row) else "" for name, i in wanted.items()}
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 ({exc.reason}); use tracks.csv from fma_metadata.zip "
                           "unchanged.") from exc
    except csv.Error as exc:
        raise DatasetError(f"{path}: not valid CSV ({exc}); the file may be truncated, unzip it again.") from exc
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read tracks.csv ({exc.strerror or exc}).") from exc
    return rows


def read_fma(root: Path | str, *, max_labels: int = DEFAULT_MAX_LABELS, prefer: list[str] | None = None) -> Manifest:
    """Read an FMA folder into a :class:`Manifest` (see the module docstring for the layout and labels).

    Raises
    ------
    DatasetError
        ``tracks.csv`` or every audio folder is missing, ``tracks.csv`` is malformed, or no audio is usable.
    """
    root = Path(root)
    audio_dir = next((root / s for s in FMA_SUBSETS if (root / s).is_dir()), None)
    meta = fma_metadata_path(root)
    if meta is None:
        raise DatasetError(f"{root}: no fma_metadata/tracks.csv. Unzip fma_metadata.zip into {root} "
                           "(next to the fma_small/ ... audio folder).")
    if audio_dir is None:
        raise DatasetError(f"{root}: no FMA audio folder (looked for {', '.join(FMA_SUBSETS)}). Unzip e.g. "
                           f"fma_small.zip into {root}.")
    problems: list[Problem] = []
    for name in FMA_SUBSETS:
        if (root / name).is_dir() and root / name != audio_dir:
            problems.append(Problem(name, f"not read: {audio_dir.name} (the largest subset present) is read instead"))
    rows = read_tracks_csv(meta, root, problems)
    audio = list_audio(audio_dir, root, problems)

    tracks: list[Track] = []
    for track_id, path in audio.items():
        row = rows.get(track_id)
        if row is None:
            problems.append(Problem(relative_name(path, root),
                                    "audio file has no row in tracks.csv; kept without labels", False))
            row = {}
        tracks.append(Track(track_id=track_id, audio_path=path, title=row.get("title", ""),
                            artist=row.get("artist", ""), labels={c: row.get(c, "") for c in LABELS}))

    meta_rel = meta.relative_to(root).as_posix()
    missing = [tid for tid in rows if tid not in audio]
    if missing and any("subset" in r for r in rows.values()):
        held = SUBSET_HOLDS[audio_dir.name]
        lost = [tid for tid in missing if rows[tid].get("subset") in held]
        if lost:
            problems.append(rows_without_audio(meta_rel, lost, len(rows), f"although their set.subset says "
                                               f"{audio_dir.name}/ holds them (missing or deleted files?)"))
        elsewhere = len(missing) - len(lost)
        if elsewhere:
            problems.append(Problem(meta_rel, f"{elsewhere} of {len(rows)} rows are tracks outside "
                                              f"{audio_dir.name} (expected: it is a subset); ignored"))
    elif missing:
        problems.append(rows_without_audio(meta_rel, missing, len(rows), f"in {audio_dir.name}/"))

    return finish_manifest(root, "fma", tracks, problems,
                           lambda: columns_with_classes(LABELS, (t.labels for t in tracks)),
                           none_usable=f"{audio_dir.name}/ holds no usable audio files (looked for NNN/NNNNNN.mp3)",
                           max_labels=max_labels, prefer=prefer, label_source=meta_rel)
