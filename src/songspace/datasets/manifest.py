"""The manifest: one record per usable track, plus the list of everything that was skipped and why."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from songspace.errors import DatasetError

log = logging.getLogger("songspace")

# Metadata columns that identify or describe a track rather than group it: never used as labels.
NON_LABEL_COLUMNS = frozenset({"track_id", "title", "artist", "album", "year", "duration", "path", "file", "lyrics"})

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".au")


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
    for a table cell, or when there is no text), for messages only.
    """

    track_id: str
    audio_path: Path
    lyrics_path: Path | None = None
    title: str = ""
    artist: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    lyrics_text: str | None = None

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


def finish_manifest(root: Path, layout: str, tracks: list[Track], problems: list[Problem],
                    label_columns: Callable[[], list[str]], *, none_usable: str) -> Manifest:
    """What every reader ends with: a :class:`DatasetError` when no track is usable (``none_usable`` says what
    was looked for, then come the first five problems), else every problem logged and the manifest, with the
    label columns ``label_columns()`` picks from the tracks."""
    if not tracks:
        raise DatasetError(f"{root}: {none_usable}; {len(problems)} problem(s): "
                           + "; ".join(f"{p.path}: {p.reason}" for p in problems[:5]))
    for p in problems:
        log.info("%s: %s", p.path, p.reason)
    return Manifest(root=root, layout=layout, tracks=tracks, label_columns=label_columns(), problems=problems)
