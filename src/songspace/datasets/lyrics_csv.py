"""A lyrics table with audio: one CSV with a lyrics column, and audio files in ``audio/`` (or beside the CSV).

Layout::

    <root>/<any name>.csv     columns, matched case-insensitively (spaces and '-' read as '_'):
                                lyrics    lyrics | lyric | text | song_lyrics | lyrics_text   (required)
                                id        track_id | id | song_id
                                artist    artist | artist_name | singer | singer_name | artists | band | ...
                                title     title | song | song_name | song_title | track_name | name | ...
                                language  language | lang | language_code                     (label)
                                genre     genre | category | genre_top | style                 (label)
    <root>/audio/<id>.mp3            when the table has an id column
    <root>/audio/Artist - Title.mp3  otherwise (also ' – ' or ' — ' between them)

The CSV may be UTF-8 (with or without BOM) or UTF-16 with a BOM, in any script (Bengali included).
Rows join audio by id when the table has an id column and some id names an audio file; otherwise by
artist and title, compared after normalising both the cells and the file name: Unicode NFC, case folded,
and everything but letters, combining marks and digits removed (punctuation, symbols, spaces, the
Bengali danda, zero-width joiners). So the row (artist ``AC/DC``, title ``Don't Stop``) matches the file
``ac_dc - dont stop!.mp3``. File names are read artist first; a leading track number is not understood.

The lyrics reach later stages as ``Track.lyrics_text``; nothing is written into the dataset folder. A cell
that is not usable lyrics (Bangla in the legacy Bijoy font encoding, no letters) is noted as a problem and
the track kept without lyrics (see :mod:`songspace.datasets.lyrics`); a blank cell is no lyrics.
Rows with no audio file are counted in one problem; audio files with no row are kept, without labels
or lyrics.
"""

from __future__ import annotations

import csv
import logging
import unicodedata
from pathlib import Path

from songspace.datasets.folder import list_audio, rows_without_audio
from songspace.datasets.lyrics import cell_lyrics, sniff_encoding
from songspace.datasets.manifest import (
    AUDIO_EXTENSIONS,
    DEFAULT_MAX_LABELS,
    Manifest,
    Problem,
    Track,
    columns_with_classes,
    finish_manifest,
)
from songspace.datasets.paths import readable_inside, relative_name, safe_track_id
from songspace.errors import DatasetError

log = logging.getLogger(__name__)

# Our name -> accepted column names (after :func:`column_key`), in order of preference.
SYNONYMS = {
    "lyrics": ("lyrics", "lyric", "text", "song_lyrics", "lyrics_text"),
    "track_id": ("track_id", "id", "song_id"),
    "artist": ("artist", "artist_name", "singer", "singer_name", "artists", "band", "performer", "interpreter"),
    "title": ("title", "song", "song_name", "song_title", "songname", "track_name", "track_title", "sname", "name"),
    "language": ("language", "lang", "language_code"),
    "genre": ("genre", "category", "genre_top", "style"),
}
LABELS = ("language", "genre")
SEPARATORS = (" - ", " – ", " — ")
FIELD_LIMIT = 1 << 24  # lyrics cells can pass the csv module's default 128 KiB limit


def column_key(name: str) -> str:
    """A header cell compared case-insensitively, spaces and hyphens read as underscores."""
    return "_".join(name.strip().casefold().replace("-", " ").split())


def find_columns(header: list[str]) -> dict[str, int]:
    """Our name -> column index for the columns of :data:`SYNONYMS` present in ``header``."""
    keys = [column_key(h) for h in header]
    found = {}
    for ours, names in SYNONYMS.items():
        for name in names:
            if name in keys and keys.index(name) not in found.values():
                found[ours] = keys.index(name)
                break
    return found


def normalise_name(text: str) -> str:
    """``text`` reduced for matching names: NFC, case folded, only letters, combining marks and digits kept.

    >>> normalise_name("Don't  Stop!") == normalise_name("dont stop")
    True
    """
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LMN")


def read_header(path: Path) -> list[str] | None:
    """The header row of the CSV ``path``, or ``None`` when it cannot be read as text CSV."""
    try:
        with path.open("rb") as fh:
            encoding = sniff_encoding(fh.read(4))
        with path.open(newline="", encoding=encoding) as fh:
            return next(csv.reader(fh), None)
    except (OSError, UnicodeError, csv.Error):
        return None


def find_lyrics_tables(root: Path) -> list[Path]:
    """CSV files directly in ``root`` whose header has a lyrics column, names holding 'lyric' first.

    ``metadata.csv`` with a ``track_id`` column is the generic folder layout's, not a lyrics table.
    """
    tables = []
    for path in sorted(root.glob("*.csv"), key=lambda p: ("lyric" not in p.name.casefold(), p.name)):
        header = read_header(path) if readable_inside(path, root) else None
        if not header:
            continue
        if path.name == "metadata.csv" and "track_id" in [column_key(h) for h in header]:
            continue
        if "lyrics" in find_columns(header):
            tables.append(path)
    return tables


def read_table(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and ``(line number, cells)`` rows of the CSV ``path``.

    Raises
    ------
    DatasetError
        The file is not UTF-8/UTF-16 text or not valid CSV.
    """
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    try:
        with path.open("rb") as fh:
            encoding = sniff_encoding(fh.read(4))
        with path.open(newline="", encoding=encoding) as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start}); re-save the table as UTF-8 "
                           "(Excel: 'CSV UTF-8').") from exc
    except UnicodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 ({exc}); re-save the table as UTF-8 (Excel: 'CSV UTF-8').") from exc
    except csv.Error as exc:
        raise DatasetError(f"{path}: not valid CSV ({exc}).") from exc
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the table ({exc.strerror or exc}).") from exc
    return header, rows


def split_artist_title(stem: str) -> tuple[str, str]:
    """``("Artist", "Title")`` from a file name ``Artist - Title``; ``("", stem)`` when it has no separator."""
    for sep in SEPARATORS:
        if sep in stem:
            artist, title = stem.split(sep, 1)
            return artist.strip(), title.strip()
    return "", stem


def read_lyrics_csv(root: Path | str, *, max_labels: int = DEFAULT_MAX_LABELS,
                    prefer: list[str] | None = None) -> Manifest:
    """Read a lyrics table and its audio into a :class:`Manifest` (see the module docstring).

    Raises
    ------
    DatasetError
        No lyrics table, a required column missing (the message names the file, the column and the
        columns found), an unreadable table, or no usable audio.
    """
    root = Path(root)
    tables = find_lyrics_tables(root) if root.is_dir() else []
    if not tables:
        found = "; ".join(f"{p.name} has columns {read_header(p)}" for p in sorted(root.glob("*.csv"))
                          if readable_inside(p, root)) \
            if root.is_dir() else ""
        raise DatasetError(f"{root}: no lyrics table: no CSV here has a lyrics column (one of "
                           f"{', '.join(SYNONYMS['lyrics'])}). {found or 'No CSV file found.'}")
    path = tables[0]
    problems: list[Problem] = []
    for other in tables[1:]:
        problems.append(Problem(other.name, f"second lyrics table; not read ({path.name} is)"))
    header, raw_rows = read_table(path)
    columns = find_columns(header)
    by_id = "track_id" in columns
    if not by_id and not {"artist", "title"} <= columns.keys():
        lacking = [c for c in ("artist", "title") if c not in columns]
        raise DatasetError(
            f"{path}: no {' or '.join(lacking)} column, and no id column to join the audio by (columns found: "
            f"{header}). Add an id column naming the audio files (track_id, id or song_id), or artist and title "
            f"columns (accepted: {', '.join(SYNONYMS['artist'][:4])}, ...; {', '.join(SYNONYMS['title'][:4])}, ...) "
            "with audio files named 'Artist - Title'.")

    audio_dir = root / "audio" if (root / "audio").is_dir() else root
    audio = list_audio(audio_dir, root, problems)
    rows = [(line, {ours: row[i].strip() if i < len(row) else "" for ours, i in columns.items()})
            for line, row in raw_rows]
    if by_id and not any(r["track_id"] in audio for _, r in rows) and {"artist", "title"} <= columns.keys():
        by_id = False  # ids name no audio file: the files are named 'Artist - Title'
        problems.append(Problem(path.name, "no id in the table names an audio file; joined by artist and title "
                                           "instead", False))

    file_of_key: dict[str, str] = {tid: tid for tid in audio} if by_id else {}  # join key -> track id
    clashes: set[str] = set()
    if not by_id:
        for tid in audio:
            key = normalise_name("".join(split_artist_title(tid)))
            if key in file_of_key:
                clashes.add(tid)
                problems.append(Problem(relative_name(audio[tid], root), "another audio file has the same "
                                        "normalised artist and title; kept without lyrics or labels", False))
            else:
                file_of_key[key] = tid

    joined: dict[str, dict[str, str]] = {}
    missing: list[str] = []
    where_of: dict[str, str] = {}  # track id -> "table.csv:line" of its row, for problems about the cell
    for line, r in rows:
        where = f"{path.name}:{line}"
        if by_id:
            key = r["track_id"]
            why = safe_track_id(key)
            if why:
                problems.append(Problem(where, f"{why}; row ignored"))
                continue
        else:
            key = normalise_name(r["artist"] + r["title"])
            if not key:
                problems.append(Problem(where, "empty artist and title; row ignored"))
                continue
        tid = file_of_key.get(key)
        if tid is None:
            missing.append(r["track_id"] if by_id else f"{r['artist']} - {r['title']}")
        elif tid in joined:
            problems.append(Problem(where, f"duplicate row for {tid!r}; first row kept"))
        else:
            joined[tid], where_of[tid] = r, where
    if missing:
        where = f"in {audio_dir.name}/ named <id>.ext" if by_id else f"in {audio_dir.name}/ named 'Artist - Title'"
        problems.append(rows_without_audio(path.name, missing, len(rows), where))

    tracks: list[Track] = []
    for tid, audio_path in audio.items():
        r = joined.get(tid)
        if r is None:
            if tid not in clashes:
                problems.append(Problem(relative_name(audio_path, root),
                                        f"audio file has no row in {path.name}; kept without lyrics or labels", False))
            artist, title = split_artist_title(tid)
            tracks.append(Track(track_id=tid, audio_path=audio_path, title=title, artist=artist,
                                labels={c: "" for c in LABELS if c in columns}))
            continue
        tracks.append(Track(track_id=tid, audio_path=audio_path, title=r.get("title", ""), artist=r.get("artist", ""),
                            labels={c: r[c] for c in LABELS if c in columns},
                            lyrics_text=cell_lyrics(r["lyrics"], where_of[tid], problems)))
    found = [c for c in LABELS if c in columns]
    return finish_manifest(root, "lyrics_csv", tracks, problems,
                           lambda: columns_with_classes(found, (t.labels for t in tracks)),
                           none_usable=f"no usable audio files found (looked for {', '.join(AUDIO_EXTENSIONS)} under "
                           f"{audio_dir})", max_labels=max_labels, prefer=prefer, label_source=path.name)
