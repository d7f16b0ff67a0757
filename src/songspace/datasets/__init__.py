"""Datasets: turn a folder on disk into a :class:`Manifest` of tracks. Labels are for evaluation only.

One reader per layout, picked from the folder's shape by :func:`detect_layout` or named by the user.
Readers only read: nothing is ever written into a dataset folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from songspace.datasets.fma import is_fma, read_fma
from songspace.datasets.folder import read_folder
from songspace.datasets.gtzan import gtzan_audio_dir, read_gtzan
from songspace.datasets.jamendo import is_jamendo, read_jamendo
from songspace.datasets.lyrics_csv import find_lyrics_tables, read_lyrics_csv
from songspace.datasets.manifest import DEFAULT_MAX_LABELS, Manifest, Problem, Track
from songspace.datasets.mir1k import mir1k_dir, read_mir1k
from songspace.errors import DatasetError

READERS = {"folder": read_folder, "gtzan": read_gtzan, "fma": read_fma, "jamendo": read_jamendo,
           "mir1k": read_mir1k, "lyrics_csv": read_lyrics_csv}


def detect_layout(root: Path) -> str:
    """The layout name of ``root``, from its shape; the first rule that matches wins.

    1. ``fma``: ``fma_metadata/tracks.csv``, or an ``fma_small/`` (medium, large, full) audio folder.
    2. ``jamendo``: an MTG-Jamendo ``autotagging*.tsv`` here or in ``data/``.
    3. ``mir1k``: a ``Wavfile/`` folder, here or in ``MIR-1K/``.
    4. ``gtzan``: no ``metadata.csv`` nor ``audio/``, and ``genres/``, ``genres_original/`` or files named
       ``<genre>.NNNNN.au``/``.wav``.
    5. ``lyrics_csv``: a CSV here with a lyrics column (``metadata.csv`` with a ``track_id`` column excepted).
    6. ``folder``: anything else (``audio/`` + ``lyrics/`` + ``metadata.csv``, or a plain folder of audio such as
       a music library, whose tags and sidecar lyrics are read).
    """
    if is_fma(root):
        return "fma"
    if is_jamendo(root):
        return "jamendo"
    if mir1k_dir(root) is not None:
        return "mir1k"
    if not (root / "metadata.csv").is_file() and not (root / "audio").is_dir() and gtzan_audio_dir(root):
        return "gtzan"
    if find_lyrics_tables(root):
        return "lyrics_csv"
    return "folder"


def read_dataset(root: Path | str, *, layout: str = "auto", max_labels: int = DEFAULT_MAX_LABELS,
                 labels: list[str] | None = None) -> Manifest:
    """Read a dataset folder with the reader for ``layout`` (``auto`` picks one from the folder's shape).

    Parameters
    ----------
    root : the dataset folder
    layout : reader name, or ``auto``
    max_labels : at most this many label columns are kept; the others are listed as ignored problems
    labels : label columns the run scores (its ``labels`` setting): kept first under ``max_labels``

    Raises
    ------
    DatasetError
        The folder cannot be read as a dataset, whatever the cause (a file or folder the reader needs cannot be
        read is named, never raised as an ``OSError``).
    ConfigError
        A column named in ``labels`` is not a label (one value per track, a single value), or ``labels`` names
        more than ``max_labels``.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder. Pass the folder that holds your audio.")
    if not os.access(root, os.R_OK | os.X_OK):
        raise DatasetError(f"{root}: the folder cannot be read (permission denied); check its permissions.")
    if layout != "auto" and layout not in READERS:
        raise DatasetError(f"unknown layout {layout!r}; choose one of: auto, {', '.join(READERS)}")
    try:
        name = detect_layout(root) if layout == "auto" else layout
        return READERS[name](root, max_labels=max_labels, prefer=labels)
    except OSError as exc:  # a file or folder that cannot be stat'ed or read, met where no reader expected it
        where = exc.filename or root
        raise DatasetError(f"{where}: cannot be read while reading the dataset ({exc.strerror or exc}); check its "
                           "permissions or remove it.") from exc


__all__ = ["Manifest", "Problem", "Track", "read_dataset", "detect_layout", "READERS"]
