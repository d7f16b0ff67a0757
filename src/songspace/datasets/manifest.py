"""The manifest: one record per usable track, plus the list of everything that was skipped and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Metadata columns that identify or describe a track rather than group it: never used as labels.
NON_LABEL_COLUMNS = frozenset({"track_id", "title", "artist", "album", "year", "duration", "path", "file", "lyrics"})

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".au")


@dataclass(frozen=True)
class Track:
    """One track of a collection.

    ``labels`` hold metadata used only for evaluation and plots (language, genre, ...), never for training.
    An empty string means the label is unknown for this track.
    """

    track_id: str
    audio_path: Path
    lyrics_path: Path | None = None
    title: str = ""
    artist: str = ""
    labels: dict[str, str] = field(default_factory=dict)


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
