"""Datasets: turn a folder on disk into a :class:`Manifest` of tracks. Labels are for evaluation only."""

from __future__ import annotations

from pathlib import Path

from songspace.datasets.folder import read_folder
from songspace.datasets.gtzan import gtzan_audio_dir, read_gtzan
from songspace.datasets.manifest import Manifest, Problem, Track
from songspace.errors import DatasetError

READERS = {"folder": read_folder, "gtzan": read_gtzan}


def detect_layout(root: Path) -> str:
    """The layout name of ``root``: ``gtzan`` when its files are named like GTZAN's, else ``folder``."""
    if not (root / "metadata.csv").is_file() and not (root / "audio").is_dir() and gtzan_audio_dir(root):
        return "gtzan"
    return "folder"


def read_dataset(root: Path | str, *, layout: str = "auto") -> Manifest:
    """Read a dataset folder with the reader for ``layout`` (``auto`` picks one from the folder's shape)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder. Pass the folder that holds your audio.")
    name = detect_layout(root) if layout == "auto" else layout
    if name not in READERS:
        raise DatasetError(f"unknown layout {layout!r}; choose one of: auto, {', '.join(READERS)}")
    return READERS[name](root)


__all__ = ["Manifest", "Problem", "Track", "read_dataset", "detect_layout", "READERS"]
