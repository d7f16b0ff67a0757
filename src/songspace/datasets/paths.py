"""Path safety: nothing a dataset names may lead outside the dataset folder."""

from __future__ import annotations

from pathlib import Path


def is_inside(path: Path, root: Path) -> bool:
    """True when ``path``, with symlinks resolved, lies inside ``root``."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def safe_track_id(track_id: str) -> str | None:
    """Why ``track_id`` is unsafe as a file stem (``None`` when it is fine).

    A track id becomes part of file names (``lyrics/<id>.txt``); separators or ``..`` would escape the folder.
    """
    if not track_id.strip():
        return "empty track_id"
    if "/" in track_id or "\\" in track_id or track_id in {".", ".."} or track_id.startswith(".."):
        return f"track_id {track_id!r} contains a path separator or '..'"
    if "\x00" in track_id:
        return f"track_id {track_id!r} contains a NUL byte"
    return None
