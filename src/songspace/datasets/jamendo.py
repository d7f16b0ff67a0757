"""MTG-Jamendo (Bogdanov et al., ICML 2019 workshop; github.com/MTG/mtg-jamendo-dataset).

Layout::

    <root>/autotagging_genre.tsv        (or <root>/data/..., as in a clone of the dataset's repository)
    <root>/autotagging_moodtheme.tsv    optional
    <root>/autotagging.tsv              optional: every tag, used for a category whose own file is absent
    <root>/.../NN/NNNNNNN.mp3           audio anywhere below root, e.g. raw_30s/audio/14/214.mp3, or
                                        14/214.low.mp3 from the low-quality download

Each TSV has the header ``TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION TAGS`` (tab separated); a track's tags
fill the ``TAGS`` column and every column after it, each written ``category---tag`` (``genre---rock``,
``mood/theme---happy``, ``instrument---piano``). ``PATH`` (``14/214.mp3``) locates the audio: a file is
matched by its folder and number, ``.mp3`` or ``.low.mp3``, wherever it lies below ``root`` (the full
quality file when both exist).

Labels. A track's tags come in no meaningful order (the dataset's own scripts write them from a Python
set), so there is no "first" genre to pick. ``genre`` is the track's genre when it has exactly one genre tag,
and unknown (``""``) when it has several: a multi-genre track is left out of genre scores rather than
assigned one of its genres at random. Every genre tag is kept in ``labels["genres"]`` (sorted,
``|``-joined), for reference, not scored. ``mood`` and ``moods`` likewise, from the mood/theme tags, when
``autotagging_moodtheme.tsv`` (or ``autotagging.tsv``) is present. Instrument tags are not read.
Artist = ``ARTIST_ID``; the TSVs have no titles.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from songspace.datasets.folder import audio_file_problem, rows_without_audio
from songspace.datasets.manifest import (
    DEFAULT_MAX_LABELS,
    Manifest,
    Problem,
    Track,
    columns_with_classes,
    finish_manifest,
)
from songspace.datasets.paths import readable_inside, relative_name, safe_track_id, walk_files
from songspace.errors import DatasetError

log = logging.getLogger(__name__)

# Label name -> (its own TSV, the tag category in TSVs).
CATEGORIES = {"genre": ("autotagging_genre.tsv", "genre"), "mood": ("autotagging_moodtheme.tsv", "mood/theme")}
ALL_TAGS_TSV = "autotagging.tsv"
REQUIRED_COLUMNS = ("TRACK_ID", "ARTIST_ID", "PATH", "TAGS")


def jamendo_tsvs(root: Path) -> dict[str, Path]:
    """Label name -> the TSV its tags are read from, for the Jamendo TSVs present in ``root`` or ``root/data``."""
    for base in (root, root / "data"):
        found = {label: base / name for label, (name, _) in CATEGORIES.items()
                 if readable_inside(base / name, root)}
        if readable_inside(base / ALL_TAGS_TSV, root):
            found = {label: found.get(label, base / ALL_TAGS_TSV) for label in CATEGORIES}
        if found:
            return found
    return {}


def is_jamendo(root: Path) -> bool:
    """True when ``root`` (or ``root/data``) holds an MTG-Jamendo autotagging TSV."""
    return bool(jamendo_tsvs(root))


def read_tsv(path: Path, root: Path, problems: list[Problem]) -> dict[str, dict]:
    """Rows of a Jamendo TSV keyed by ``TRACK_ID``: ``{"artist", "path", "tags"}``.

    Raises
    ------
    DatasetError
        The file is not UTF-8 or lacks one of :data:`REQUIRED_COLUMNS`.
    """
    rel = path.relative_to(root).as_posix()
    rows: dict[str, dict] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter="\t")
            header = [c.strip() for c in next(reader, [])]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise DatasetError(f"{path}: column(s) {', '.join(missing)} missing (columns found: {header}); "
                                   "expected MTG-Jamendo's TRACK_ID, ARTIST_ID, ALBUM_ID, PATH, DURATION, TAGS "
                                   "(tab separated).")
            i_id, i_artist, i_path, i_tags = (header.index(c) for c in REQUIRED_COLUMNS)
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                where = f"{rel}:{reader.line_num}"
                track_id = row[i_id].strip() if i_id < len(row) else ""
                why = safe_track_id(track_id)
                if why:
                    problems.append(Problem(where, f"{why}; row ignored"))
                elif track_id in rows:
                    problems.append(Problem(where, f"duplicate TRACK_ID {track_id!r}; first row kept"))
                else:
                    rows[track_id] = {"artist": row[i_artist].strip() if i_artist < len(row) else "",
                                      "path": row[i_path].strip() if i_path < len(row) else "",
                                      "tags": [t.strip() for t in row[i_tags:] if t.strip()]}
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 ({exc.reason}); use the TSV from the dataset unchanged.") from exc
    except csv.Error as exc:
        raise DatasetError(f"{path}: not a valid TSV ({exc}); use the TSV from the dataset unchanged.") from exc
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the TSV ({exc.strerror or exc}).") from exc
    return rows


def audio_key(path: str) -> str:
    """``14/214`` for ``14/214.mp3``, ``14/214.low.mp3`` or ``raw_30s/audio/14/214.mp3``."""
    parts = path.replace("\\", "/").split("/")
    name = parts[-1]
    for ext in (".low.mp3", ".mp3"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    return f"{parts[-2]}/{name}" if len(parts) > 1 else name


def index_audio(root: Path, problems: list[Problem]) -> dict[str, Path]:
    """Jamendo audio files below ``root`` keyed by :func:`audio_key`; full quality preferred over ``.low.mp3``."""
    found: dict[str, Path] = {}
    low_copies = 0
    for path in walk_files(root, root, problems, suffixes=(".mp3",)):
        why = audio_file_problem(path, root)
        if why:
            problems.append(Problem(relative_name(path, root), why))
            continue
        key = audio_key(path.relative_to(root).as_posix())
        is_low = path.name.lower().endswith(".low.mp3")
        if key not in found:
            found[key] = path
        elif found[key].name.lower().endswith(".low.mp3") and not is_low:
            found[key] = path
            low_copies += 1
        elif is_low:
            low_copies += 1
        else:
            first = relative_name(found[key], root)
            problems.append(Problem(relative_name(path, root),
                                    f"second file for PATH {key}.mp3 (already read: {first})"))
    if low_copies:
        problems.append(Problem(".", f"{low_copies} low-quality .low.mp3 copies not read: the full-quality file "
                                     "of the same track is"))
    return found


def read_jamendo(root: Path | str, *, max_labels: int = DEFAULT_MAX_LABELS,
                 prefer: list[str] | None = None) -> Manifest:
    """Read an MTG-Jamendo folder into a :class:`Manifest` (see the module docstring for layout and labels).

    Raises
    ------
    DatasetError
        No autotagging TSV, a malformed TSV, or no listed track with usable audio.
    """
    root = Path(root)
    sources = jamendo_tsvs(root)
    if not sources:
        raise DatasetError(f"{root}: no MTG-Jamendo TSV (looked for autotagging_genre.tsv, "
                           "autotagging_moodtheme.tsv, autotagging.tsv here and in data/).")
    problems: list[Problem] = []
    tables = {path: read_tsv(path, root, problems) for path in dict.fromkeys(sources.values())}
    audio = index_audio(root, problems)

    for path, rows in tables.items():
        missing = [r["path"] or tid for tid, r in rows.items() if audio_key(r["path"]) not in audio]
        if missing:
            problems.append(rows_without_audio(path.relative_to(root).as_posix(), missing, len(rows),
                                               f"below {root} (looked for NN/ID.mp3 and NN/ID.low.mp3)"))

    merged: dict[str, dict] = {}
    for rows in tables.values():
        for tid, r in rows.items():
            if audio_key(r["path"]) in audio:
                merged.setdefault(tid, r)
    tracks: list[Track] = []
    for tid in sorted(merged):
        r = merged[tid]
        labels: dict[str, str] = {}
        for label, path in sources.items():
            row = tables[path].get(tid)
            prefix = CATEGORIES[label][1] + "---"
            tags = sorted({t[len(prefix):] for t in (row["tags"] if row else []) if t.startswith(prefix)})
            labels[label] = tags[0] if len(tags) == 1 else ""
            labels[label + "s"] = "|".join(tags)
        tracks.append(Track(track_id=tid, audio_path=audio[audio_key(r["path"])], artist=r["artist"], labels=labels))

    manifest = finish_manifest(root, "jamendo", tracks, problems,
                               lambda: columns_with_classes(list(sources), (t.labels for t in tracks)),
                               none_usable=f"none of the tracks listed in {', '.join(p.name for p in tables)} has "
                               "a usable audio file below this folder (NN/ID.mp3 as in the PATH column). Unpack "
                               "the audio here", max_labels=max_labels, prefer=prefer,
                               label_source=relative_name(next(iter(tables)), root))
    for label in sources:
        n = sum(1 for t in tracks if "|" in t.labels[label + "s"])
        log.info("%d of %d tracks have several %s tags: their %r label is unknown", n, len(tracks), label, label)
    return manifest
