"""GTZAN: ``genres/<genre>/<genre>.00000.au`` (also ``genres_original/`` with wav, or the files flat).

The genre label comes from the file name; GTZAN has no lyrics and no other metadata.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from songspace.datasets.folder import list_audio
from songspace.datasets.manifest import DEFAULT_MAX_LABELS, Manifest, Problem, Track, finish_manifest
from songspace.datasets.paths import relative_name, walk_files
from songspace.errors import DatasetError

log = logging.getLogger(__name__)

GTZAN_NAME = re.compile(r"^(?P<genre>[a-z]+)\.(?P<num>\d{5})$")


def gtzan_audio_dir(root: Path) -> Path | None:
    """The folder holding GTZAN files under ``root``, or ``None`` when ``root`` is not GTZAN-shaped."""
    for name in ("genres", "genres_original", "Data/genres_original"):
        if (root / name).is_dir():
            return root / name
    stems = [p.stem for p in walk_files(root, root, [], suffixes=(".au", ".wav"), recursive=False)]
    if stems and all(GTZAN_NAME.match(s) for s in stems):
        return root
    return None


def read_gtzan(root: Path | str, *, max_labels: int = DEFAULT_MAX_LABELS, prefer: list[str] | None = None) -> Manifest:
    """Read a GTZAN folder; the ``genre`` label is the part of the file name before the number."""
    root = Path(root)
    audio_dir = gtzan_audio_dir(root) if root.is_dir() else None
    if audio_dir is None:
        raise DatasetError(f"{root}: not a GTZAN folder (expected genres/<genre>/<genre>.00000.au, "
                           "genres_original/, or <genre>.00000.au files).")
    problems: list[Problem] = []
    tracks = []
    for track_id, path in list_audio(audio_dir, root, problems).items():
        m = GTZAN_NAME.match(track_id)
        if not m:
            problems.append(Problem(relative_name(path, root),
                                    "name is not <genre>.NNNNN; kept without a genre label", False))
        tracks.append(Track(track_id=track_id, audio_path=path, labels={"genre": m["genre"] if m else ""}))
    return finish_manifest(root, "gtzan", tracks, problems, lambda: ["genre"],
                           none_usable="GTZAN folder holds no usable audio files", max_labels=max_labels,
                           prefer=prefer, label_source=audio_dir.relative_to(root).as_posix() or ".")
