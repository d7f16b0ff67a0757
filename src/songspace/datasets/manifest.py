"""The manifest: one record per usable track, plus the list of everything that was skipped and why."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from songspace.errors import ConfigError, DatasetError

if TYPE_CHECKING:
    from songspace.datasets.tags import TrackTags

log = logging.getLogger("songspace")

# Metadata columns that identify or describe a track rather than group it: never used as labels.
NON_LABEL_COLUMNS = frozenset({"track_id", "title", "artist", "album", "album_artist", "year", "duration", "path",
                               "file", "lyrics"})

# .m4a/.aac/.mp4 (AAC) decode through audioread and a system decoder (ffmpeg); the others through libsndfile.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".au", ".opus", ".aiff", ".aif", ".m4a", ".aac", ".mp4")

# At most this many label columns are scored unless the run says otherwise (RunConfig.max_labels): every label
# multiplies the metric columns and figures of a run, and a table of 1000 columns is not 1000 groupings.
DEFAULT_MAX_LABELS = 8
# Refused label columns named one problem each, up to this many; the rest are counted in one more.
MAX_LISTED_COLUMNS = 20


@dataclass(frozen=True)
class Track:
    """One track of a collection.

    ``labels`` hold metadata used only for evaluation and plots (language, genre, ...), never for training.
    An empty string means the label is unknown for this track. ``labels`` may hold more keys than the
    manifest's ``label_columns`` (e.g. Jamendo's ``genres``, every genre tag of a track): those are kept
    for reference and never scored.

    ``lyrics_text`` *is* the track's lyrics, decoded once by its reader under the one policy of
    :mod:`songspace.datasets.lyrics` (``None``: no usable lyrics; why is in the manifest's problems). Later
    stages read only this field, never a file. ``lyrics_path`` names the file the text came from (``None``
    for a table cell or a tag, or when there is no text), for messages only. ``lyrics_source`` says where the
    text came from: the folder reader's ``lyrics_folder``, ``metadata_csv``, ``sidecar_txt``, ``sidecar_lrc`` or
    ``tag`` (``""`` when there is no text or the reader does not say).

    ``album`` and ``album_artist`` identify a track; they never group, so they are not labels. ``tags`` holds what
    the audio file's own tags say (:class:`~songspace.datasets.tags.TrackTags`; ``None`` when the file has none
    or the reader does not read tags).
    """

    track_id: str
    audio_path: Path
    lyrics_path: Path | None = None
    title: str = ""
    artist: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    lyrics_text: str | None = None
    album: str = ""
    album_artist: str = ""
    lyrics_source: str = ""
    tags: TrackTags | None = None

    @property
    def has_lyrics(self) -> bool:
        """True when the track has lyrics text."""
        return bool(self.lyrics_text and self.lyrics_text.strip())


@dataclass(frozen=True)
class Problem:
    """Something wrong in the dataset, and what was done about it (listed in the run summary).

    ``skipped`` is True when the file or row was left out, False when the track was kept despite it
    (audio without a metadata row, an undecodable lyrics file treated as missing, ...).
    """

    path: str
    reason: str
    skipped: bool = True


@dataclass
class Manifest:
    """What a dataset reader found: the tracks in a stable order, the label columns, and every problem."""

    root: Path
    layout: str
    tracks: list[Track]
    label_columns: list[str]
    problems: list[Problem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tracks)

    def labels(self, column: str) -> list[str]:
        """Label values of ``column`` for every track, ``""`` where unknown."""
        return [t.labels.get(column, "") for t in self.tracks]

    def select(self, keep: list[int]) -> Manifest:
        """A manifest with only the tracks at positions ``keep`` (problems are carried over)."""
        return Manifest(self.root, self.layout, [self.tracks[i] for i in keep], self.label_columns,
                        list(self.problems))


def columns_with_classes(columns: Iterable[str], rows: Iterable[dict[str, str]]) -> list[str]:
    """The ``columns`` that hold at least two distinct non-empty values over ``rows``: a column with a single
    value (or none) groups nothing, so it is not offered as a label."""
    rows = list(rows)
    return [c for c in columns if len({r.get(c, "") for r in rows} - {""}) >= 2]


def choose_labels(candidates: Iterable[str], rows: Iterable[dict[str, str]], problems: list[Problem], *,
                  max_labels: int = DEFAULT_MAX_LABELS, prefer: list[str] | None = None,
                  source: str = ".") -> list[str]:
    """The label columns among ``candidates``, judged on ``rows`` (one dict per track), in candidate order.

    A column is a label when it groups tracks: at least two distinct non-empty values (a single value groups
    nothing, and is passed over silently), and at most half as many distinct values as tracks that have a value
    (each class holds two tracks on average). A column with more, such as one value per track, is an identifier
    or free text: scoring against it would headline a perfect score with k = the number of tracks; it is
    reported in ``problems`` (under ``source``) and not used. Of the labels left, the first ``max_labels`` are
    kept, those named in ``prefer`` (the run's ``labels`` setting) first; the rest are reported as ignored.

    Raises
    ------
    ConfigError
        A column named in ``prefer`` is refused as a label, or ``prefer`` names more than ``max_labels``.
    """
    prefer = list(dict.fromkeys(prefer or []))
    if len(prefer) > max_labels:
        raise ConfigError(f"labels names {len(prefer)} columns but max_labels = {max_labels}; raise max_labels "
                          f"to at least {len(prefer)} or name fewer labels.")
    rows = list(rows)
    labels: list[str] = []
    refused: list[str] = []
    for column in dict.fromkeys(candidates):
        values = [r.get(column, "") for r in rows]
        labelled = [v for v in values if v]
        distinct = len(set(labelled))
        if distinct < 2:
            if column in prefer:
                raise ConfigError(f"labels: column {column!r} of {source} holds {distinct} distinct value(s): it "
                                  "groups nothing; remove it from labels.")
            continue
        if 2 * distinct > len(labelled):
            what = "one per track" if distinct == len(labelled) else "more than half as many as tracks"
            why = (f"label column {column!r} has {distinct} distinct values over {len(labelled)} tracks ({what}): an "
                   "identifier or free text, not a grouping; not used as a label")
            if column in prefer:
                raise ConfigError(f"labels: {why.replace('; not used as a label', '')}. Remove it from labels.")
            refused.append(column)
            if len(refused) <= MAX_LISTED_COLUMNS:
                problems.append(Problem(source, why, False))
            continue
        labels.append(column)
    if len(refused) > MAX_LISTED_COLUMNS:
        problems.append(Problem(source, f"{len(refused) - MAX_LISTED_COLUMNS} more columns with as many distinct "
                                        "values (identifiers or free text) not used as labels", False))
    if len(labels) > max_labels:
        ranked = [c for c in labels if c in prefer] + [c for c in labels if c not in prefer]
        kept = set(ranked[:max_labels])
        ignored = [c for c in ranked if c not in kept]
        names = ", ".join(repr(c) for c in ignored[:10]) + (f", ... ({len(ignored) - 10} more)" if len(ignored) > 10
                                                            else "")
        problems.append(Problem(source, f"{len(labels)} label columns, at most max_labels = {max_labels} are scored: "
                                        f"{len(ignored)} ignored ({names}). Name the ones to score in labels, or "
                                        "raise max_labels", False))
        labels = [c for c in labels if c in kept]
    return labels


def finish_manifest(root: Path, layout: str, tracks: list[Track], problems: list[Problem],
                    label_columns: Callable[[], list[str]], *, none_usable: str,
                    max_labels: int = DEFAULT_MAX_LABELS, prefer: list[str] | None = None,
                    label_source: str = ".") -> Manifest:
    """What every reader ends with: a :class:`DatasetError` when no track is usable (``none_usable`` says what
    was looked for, then come the first five problems), else every problem logged and the manifest.

    Its label columns are those of the candidates ``label_columns()`` that :func:`choose_labels` keeps (judged
    on the tracks, under ``max_labels``, ``prefer`` first; refusals noted under ``label_source``); the values of
    refused candidates are removed from the tracks' labels.
    """
    if not tracks:
        shown = "; ".join(f"{p.path}: {p.reason}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise DatasetError(f"{root}: {none_usable}." + (f" {len(problems)} problem(s): {shown}{more}." if problems
                                                         else ""))
    candidates = list(dict.fromkeys(label_columns()))
    labels = choose_labels(candidates, (t.labels for t in tracks), problems, max_labels=max_labels, prefer=prefer,
                           source=label_source)
    dropped = set(candidates) - set(labels)
    if dropped:
        tracks = [replace(t, labels={k: v for k, v in t.labels.items() if k not in dropped}) for t in tracks]
    for p in problems:
        log.info("%s: %s", p.path, p.reason)
    return Manifest(root=root, layout=layout, tracks=tracks, label_columns=labels, problems=problems)
