"""The generic dataset folder: ``audio/``, optional ``lyrics/<track_id>.txt``, optional ``metadata.csv``; and a
music library as people keep it (a plain folder: ``Artist/Album/Intro.mp3``, tags, lyrics beside the audio).

A plain folder of audio files with no ``audio/`` sub-folder is read the same way. Every audio file is a track
(:func:`track_ids`: the stem, or the path where stems collide; only the same bytes twice is a duplicate).
The audio files' tags (:mod:`songspace.datasets.tags`) give title, artist and album where ``metadata.csv`` has
none, and the labels ``genre`` and ``language`` where it has no such column: metadata.csv, when present, wins.
Lyrics come from the first usable of :data:`LYRICS_SOURCES` (:func:`track_lyrics`), each decoded by the policy
of :mod:`songspace.datasets.lyrics` (UTF-8, UTF-16/32, plausible cp1252, ...) into ``Track.lyrics_text``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import stat
from collections import Counter
from dataclasses import replace
from pathlib import Path

from songspace.datasets.lyrics import cell_lyrics, decode_table, file_lyrics, is_lrc, strip_lrc
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
    link_problem,
    printable,
    readable_inside,
    relative_name,
    safe_track_id,
    walk_files,
)
from songspace.datasets.tags import TrackTags, read_tags
from songspace.errors import DatasetError

log = logging.getLogger(__name__)

# Above this many metadata rows without audio, they are reported as one problem with a count.
MAX_LISTED_ROWS = 20
DELIMITERS = (",", ";", "\t", "|")  # of metadata.csv, tried in this order (see sniff_delimiter)
FIELD_LIMIT = 1 << 24  # a lyrics column can pass the csv module's default 128 KiB per cell
TAG_LABELS = ("genre", "language")  # tags that become labels (scored, never trained on) as metadata.csv columns do
LYRICS_SOURCES = ("lyrics_folder", "metadata_csv", "sidecar_txt", "sidecar_lrc", "tag")  # in order of precedence
PATH_JOIN = "__"  # joins the folders of a path into a track id (a track id names files: it holds no "/")


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
    """Audio files under ``folder`` (recursively) keyed by track id (:func:`track_ids`), in sorted order.

    Files that escape ``root`` through a symlink, empty or unreadable files, and second copies of a file (the same
    bytes under the same name elsewhere) are recorded in ``problems`` and left out; so are symlink loops,
    dangling links, links to folders and folders that cannot be read
    (:func:`~songspace.datasets.paths.walk_files`).
    """
    usable: list[Path] = []
    for path in walk_files(folder, root, problems, suffixes=AUDIO_EXTENSIONS):
        why = audio_file_problem(path, root)
        if why:
            problems.append(Problem(relative_name(path, root), why))
        else:
            usable.append(path)
    usable = drop_copies(usable, root, problems)
    ids = track_ids(usable, folder)
    for path, track_id in ids.items():
        if printable(path.stem) != path.stem:
            why = f"file name is not valid UTF-8; read as track {track_id!r} (rename the file to keep its name)"
            problems.append(Problem(relative_name(path, root), why, False))
    return {track_id: path for path, track_id in ids.items()}


def track_ids(paths: list[Path], folder: Path) -> dict[Path, str]:
    """The track id of each audio file in ``paths`` (all under ``folder``), unique, in the order given.

    The id is the file stem (``Intro`` for ``Album/Intro.mp3``), as the dataset layouts name their tracks
    (``lyrics/<track_id>.txt``, the ``track_id`` of ``metadata.csv``). Where several files share a stem, as
    ripped albums do (``Track 01``, ``Intro``), each of them is named by its path relative to ``folder``
    without the extension, folders joined by ``__`` (:data:`PATH_JOIN`): ``Artist__Album__Intro``; a file at
    the top of ``folder`` keeps its stem. Files still alike (``Intro.mp3`` and ``Intro.flac`` side by side)
    keep their extension (``Artist__Album__Intro.flac``). The id of a file thus depends only on its place
    and on the names of the other audio files in the collection, never on reading order.
    """
    by_stem: dict[str, list[Path]] = {}
    for path in paths:
        by_stem.setdefault(printable(path.stem), []).append(path)
    ids: dict[Path, str] = {}
    for stem, group in by_stem.items():
        if len(group) == 1:
            ids[group[0]] = stem
            continue
        named = {p: PATH_JOIN.join(printable(part) for part in p.relative_to(folder).with_suffix("").parts)
                 for p in group}
        alike = Counter(named.values())
        for p, name in named.items():
            ids[p] = f"{name}{p.suffix}" if alike[name] > 1 else name
    taken: Counter[str] = Counter()
    out: dict[Path, str] = {}
    for path in paths:  # a path id that equals another file's stem (``A__B.mp3`` beside ``A/B.mp3``): numbered
        track_id = ids[path]
        taken[track_id] += 1
        out[path] = track_id if taken[track_id] == 1 else f"{track_id} ({taken[track_id]})"
    return out


def drop_copies(paths: list[Path], root: Path, problems: list[Problem]) -> list[Path]:
    """``paths`` without second copies: files with the same stem and the same bytes as an earlier one (each
    noted in ``problems``). Two songs that share a name (``Intro``) are two tracks; only files whose stems
    collide are compared, by size, then by content."""
    by_key: dict[tuple[str, int], list[Path]] = {}
    stems = Counter(p.stem for p in paths)
    for path in paths:
        if stems[path.stem] > 1:
            by_key.setdefault((path.stem, path.stat().st_size), []).append(path)  # readable: audio_file_problem
    copies: set[Path] = set()
    for group in by_key.values():
        seen: dict[bytes, Path] = {}
        for path in group if len(group) > 1 else ():
            try:
                digest = content_digest(path)
            except OSError:  # unreadable after all: kept, and decoding will say why
                continue
            if digest in seen:
                copies.add(path)
                why = (f"duplicate of {relative_name(seen[digest], root)} (the same content): track "
                       f"{printable(path.stem)!r} is read once")
                problems.append(Problem(relative_name(path, root), why))
            else:
                seen[digest] = path
    return [p for p in paths if p not in copies]


def content_digest(path: Path) -> bytes:
    """A digest of the bytes of ``path`` (BLAKE2b, read in 1 MiB blocks)."""
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.digest()


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
    # Tags give the labels metadata.csv does not have (a column of the table wins for every track: one label is
    # never read from two sources); they give a title or an artist where the table has none for the track.
    tag_labels = [c for c in TAG_LABELS if c not in columns]
    tracks: list[Track] = []
    for track_id, audio_path in audio.items():
        rel = relative_name(audio_path, root)
        row = rows.get(track_id)
        if rows and row is None:
            problems.append(Problem(rel, "audio file has no metadata row; kept without labels", False))
        row = row or {}
        tags = read_tags(audio_path, rel, problems)
        lyrics_path = lyrics_files.get(f"{track_id}.txt")
        text, source, lyrics_path = track_lyrics(track_id, audio_path, lyrics_path, row, tags, root, problems)
        tracks.append(Track(
            track_id=track_id,
            audio_path=audio_path,
            lyrics_path=lyrics_path,
            title=row.get("title") or tags.title,
            artist=row.get("artist") or tags.artist,
            labels={**{c: row.get(c, "") for c in chosen}, **{c: getattr(tags, c) for c in tag_labels}},
            lyrics_text=text,
            album=row.get("album") or tags.album,
            album_artist=row.get("album_artist") or tags.album_artist,
            lyrics_source=source,
            tags=tags if tags.format else None,
        ))
    for path in lyrics_files.values():
        if path.stem not in audio:
            problems.append(Problem(relative_name(path, root), "lyrics file has no audio file"))

    layout = "folder" if (root / "audio").is_dir() else "plain"
    tagged = [c for c in tag_labels if any(t.labels.get(c) for t in tracks)]
    if len(tagged) < len(tag_labels):  # a tag no file holds is no candidate label
        tracks = [replace(t, labels={k: v for k, v in t.labels.items() if k in chosen or k in tagged}) for t in tracks]
    source = " and ".join(["metadata.csv"] * bool(columns) + ["tags"] * bool(tagged)) or "metadata.csv"
    return finish_manifest(root, layout, tracks, problems, lambda: [*chosen, *tagged], none_usable="no usable audio "
                           f"files found (looked for {', '.join(AUDIO_EXTENSIONS)} under {audio_dir})",
                           max_labels=max_labels, prefer=prefer, label_source=source)


def track_lyrics(track_id: str, audio_path: Path, lyrics_path: Path | None, row: dict[str, str], tags: TrackTags,
                 root: Path, problems: list[Problem]) -> tuple[str | None, str, Path | None]:
    """A track's lyrics, where they came from (:data:`LYRICS_SOURCES`; ``""`` with ``None``: no lyrics) and the
    file that held them (``None`` for a table cell or a tag).

    The first usable of: ``lyrics/<track_id>.txt``; the ``lyrics`` cell of metadata.csv; the text file beside the
    audio with its name (``Intro.txt`` for ``Intro.mp3``); the LRC file beside it (``Intro.lrc``, time stamps and
    ID tags stripped); the lyrics tag of the audio file. What is unusable on the way is noted in ``problems``.
    """
    if lyrics_path is not None:
        text = file_lyrics(lyrics_path, root, problems)
        if text is not None:
            return text, "lyrics_folder", lyrics_path
    text = cell_lyrics(row.get("lyrics"), f"metadata.csv:{track_id}", problems)
    if text is not None:
        return text, "metadata_csv", None
    for suffix, source in ((".txt", "sidecar_txt"), (".lrc", "sidecar_lrc")):
        sidecar = sidecar_file(audio_path, suffix, root, problems)
        text = file_lyrics(sidecar, root, problems) if sidecar is not None else None
        if text is not None:
            return (strip_lrc(text) if source == "sidecar_lrc" else text), source, sidecar
    if tags.lyrics is not None:
        where = f"{relative_name(audio_path, root)} (lyrics tag)"
        text = cell_lyrics(strip_lrc(tags.lyrics) if is_lrc(tags.lyrics) else tags.lyrics, where, problems)
        if text is not None:
            return text, "tag", None
    return None, "", None


def sidecar_file(audio_path: Path, suffix: str, root: Path, problems: list[Problem]) -> Path | None:
    """The file beside ``audio_path`` with its stem and ``suffix`` (either case: ``.lrc``, ``.LRC``), if any; a
    symlink that cannot be followed (a loop, a dangling or folder link) is noted in ``problems`` instead."""
    for candidate in (audio_path.with_suffix(suffix), audio_path.with_suffix(suffix.upper())):
        if candidate.is_symlink():
            why = link_problem(candidate, root)
            if why is None:
                return candidate
            problems.append(Problem(relative_name(candidate, root), f"lyrics file: {why}", False))
        elif candidate.exists() and not candidate.is_dir():
            return candidate
    return None


def rows_without_audio(source: str, missing: list[str], n_rows: int, where: str) -> Problem:
    """One problem for all the metadata rows of ``source`` that have no audio file, with a few examples.

    Large collections are often used in part (FMA's ``tracks.csv`` lists 106,574 tracks, ``fma_small`` holds
    8,000): one line with the count says that, where a line per row would bury every other problem.
    """
    examples = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
    return Problem(source, f"{len(missing)} of {n_rows} metadata rows have no audio file {where} (e.g. {examples}); "
                           "those rows are ignored and only tracks with audio are read")
