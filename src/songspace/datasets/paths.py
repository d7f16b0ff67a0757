"""Path safety: nothing a dataset names may lead outside the dataset folder, and walking it never crashes.

:func:`walk_files` is the one way readers list a folder: symlink loops, dangling links, links to folders and
folders that cannot be read are listed as problems, never raised.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from songspace.datasets.manifest import Problem

# A file of this name marks a folder songspace wrote (every run folder, with its clips/ and assigned/): dataset walks
# skip such a folder, so that a run written inside the music folder (--out ~/Music/runs) is never read as music.
OUTPUT_MARKER = ".songspace-output"


def is_inside(path: Path, root: Path) -> bool:
    """True when ``path``, with symlinks resolved, lies inside ``root``; False as well when it cannot be
    resolved (a symlink loop)."""
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):  # RuntimeError: "Symlink loop" (Python < 3.13)
        return False
    return True


def readable_inside(path: Path, root: Path, problems: list[Problem] | None = None) -> bool:
    """True when ``path`` is a regular file whose real location (links resolved) lies inside ``root``: the one test
    before a reader opens a table or text that the dataset names (metadata.csv, tracks.csv, a lyrics table). A
    file that links out of the dataset is never opened (it could be ``/etc/passwd``), and is listed in ``problems``
    without a word of its content."""
    if not path.is_file():
        return False
    if is_inside(path, root):
        return True
    if problems is not None:
        problems.append(Problem(relative_name(path, root), "links outside the dataset folder; not read"))
    return False


def printable(name: str) -> str:
    """``name`` as valid Unicode: the bytes of a file name that is not UTF-8 (which Python keeps as lone
    surrogates, and no UTF-8 file can hold) shown as U+FFFD."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace") \
            if _escaped_only(name) else name.encode("utf-8", "replace").decode("utf-8")


def _escaped_only(name: str) -> bool:
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in name)


def relative_name(path: Path, root: Path) -> str:
    """``path`` as a problem row names it: relative to ``root`` when inside it, else in full (always valid
    Unicode, see :func:`printable`)."""
    try:
        return printable(path.relative_to(root).as_posix() or ".")
    except ValueError:
        return printable(str(path))


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


def link_problem(path: Path, root: Path) -> str | None:
    """Why the symlink ``path`` cannot be followed (``None`` when it leads to an existing file): a loop, a
    dangling target, or a folder (links to folders are never walked, so no walk can loop)."""
    try:
        st = os.stat(path)  # follows the link
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop (the link leads back to itself); not read"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return f"broken symlink (its target {os.readlink(path)!r} does not exist); not read"
        return f"symlink unreadable ({exc.strerror or exc}); not read"
    if not stat.S_ISDIR(st.st_mode):
        return None
    target = path.resolve()
    if path.parent.resolve().is_relative_to(target):
        return "link to a folder that contains it (a loop); not followed"
    if not is_inside(path, root):
        return "link to a folder outside the dataset folder; not followed"
    return "link to a folder; not followed (the files in it are read where they really lie)"


def walk_files(folder: Path, root: Path, problems: list[Problem], *, suffixes: tuple[str, ...] | None = None,
               recursive: bool = True) -> list[Path]:
    """Files under ``folder`` (recursively unless told not to), sorted, whose lower-case suffix is one of
    ``suffixes`` (any suffix when ``None``); never raises for what it finds.

    Symlinks to files are returned like files (callers check where they lead with :func:`is_inside`). What
    cannot be read is recorded in ``problems`` under its path relative to ``root``: a folder that cannot be
    listed (permissions, I/O error), a symlink loop, a dangling link, a link to a folder (not walked). Broken
    links are listed when their name has one of ``suffixes`` or no suffix at all (it may have been a folder),
    so a dangling ``notes.txt`` among audio files stays quiet.
    """
    found: list[Path] = []
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            problems.append(Problem(relative_name(current, root), f"folder cannot be read ({exc.strerror or exc}); "
                                                                  "the files in it are not read"))
            continue
        if any(e.name == OUTPUT_MARKER for e in entries):  # the skip hook: songspace's own output is not music
            problems.append(Problem(relative_name(current, root), "a folder songspace wrote (a run folder); not read "
                                                                  "as music"))
            continue
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            suffix = path.suffix.lower()
            wanted = suffixes is None or suffix in suffixes
            try:
                if entry.is_symlink():
                    why = link_problem(path, root)
                    if why is None:
                        if wanted:
                            found.append(path)
                    elif wanted or "." not in entry.name or why.startswith("link to a folder"):
                        problems.append(Problem(relative_name(path, root), why))
                elif entry.is_dir(follow_symlinks=False):
                    if recursive:
                        subfolders.append(path)
                elif wanted:
                    found.append(path)
            except OSError as exc:  # a file that vanished or cannot be stat'ed while listed
                if wanted:
                    problems.append(Problem(relative_name(path, root), f"cannot be read ({exc.strerror or exc})"))
        stack.extend(reversed(subfolders))
    return sorted(found)
