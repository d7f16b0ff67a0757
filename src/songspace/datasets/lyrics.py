"""Lyrics text: decoding lyrics files and tables, and the one rule for where a track's lyrics come from.

Accepted without complaint: UTF-8, UTF-8 with a BOM, UTF-16 and UTF-32 with a BOM (what Windows editors
write as "Unicode"). Anything else (cp1252, Latin-1, ...) is refused rather than guessed: a single-byte
code page decodes any byte string, so a guess would silently turn Bengali or accented lyrics into
mojibake. Readers record such a file as a problem and keep the track without lyrics. A dataset known to
use another encoding says so itself (MIR-1K: Big5-HKSCS, see :mod:`songspace.datasets.mir1k`).
"""

from __future__ import annotations

import codecs
from pathlib import Path

from songspace.datasets.manifest import Track
from songspace.errors import LyricsError

# Longest BOM first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def sniff_encoding(head: bytes) -> str:
    """The codec for a text file starting with ``head``: from its BOM, else ``utf-8``."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return "utf-8"


def decode_text(data: bytes) -> tuple[str, str]:
    """``data`` decoded by :func:`sniff_encoding`, and the codec used.

    Raises
    ------
    UnicodeDecodeError
        ``data`` has no BOM and is not valid UTF-8 (or is invalid for the codec its BOM names).
    """
    encoding = sniff_encoding(data[:4])
    return data.decode(encoding), encoding


def read_lyrics_file(path: Path) -> tuple[str, str]:
    """The text of a lyrics file and its codec (see :func:`decode_text`).

    Raises
    ------
    LyricsError
        The file cannot be read or decoded; the message names the file and the fix.
    """
    try:
        return decode_text(path.read_bytes())
    except UnicodeDecodeError as exc:
        raise LyricsError(f"{path}: lyrics are not UTF-8 ({exc.reason} at byte {exc.start}); re-save the file "
                          "as UTF-8 (or UTF-16 with a BOM).") from exc
    except OSError as exc:
        raise LyricsError(f"{path}: lyrics cannot be read ({exc.strerror}).") from exc


def track_lyrics(track: Track) -> str | None:
    """The lyrics of ``track``: its ``lyrics_text`` when set, else its ``lyrics_path`` decoded, else ``None``.

    Raises
    ------
    LyricsError
        The lyrics file cannot be read or decoded.
    """
    if track.lyrics_text is not None:
        return track.lyrics_text
    if track.lyrics_path is None:
        return None
    return read_lyrics_file(track.lyrics_path)[0]
