"""Lyrics text: the one decoding policy for lyrics files and table cells, applied by every dataset reader.

Each reader decodes a track's lyrics once, here, and hands the text on as ``Track.lyrics_text``; no later
stage opens a lyrics file. The bytes of a file are decoded by the first rule that applies
(:func:`decode_lyrics`):

1. a BOM names the codec: UTF-8, UTF-16 or UTF-32 (what Windows editors write as "Unicode");
2. strict UTF-8 (a file holding NUL bytes is never UTF-8 text);
3. UTF-16 without a BOM, recognised by its NUL bytes (every other byte of ASCII text is NUL);
4. the dataset's own legacy codec when its documentation names one (MIR-1K: Big5-HKSCS), else cp1252
   when the result is plausible Latin-script text: the track keeps its lyrics and a problem row notes the
   guess. A single-byte code page decodes any bytes, so an implausible result (control characters, mostly
   accented letters: Cyrillic or Greek from another code page) is refused rather than kept as mojibake;
5. anything else is undecodable: the track is kept without lyrics, and a problem row says why.

Then every text, decoded from a file or taken from a table cell, is checked (:func:`lyrics_problem`):
Bengali typed in a legacy Bijoy/SutonnyMJ font encoding (ASCII letters standing for Bengali glyph parts,
"Avwg †Zvgv‡K" for "আমি তোমাকে") is reported as a problem and dropped rather than fed to the lyrics features
as an English-looking garbage text, and a text without letters (whitespace, punctuation, markup or
``[Instrumental]``-style labels only) is no lyrics.

The rule for a problem row: lyrics that were *there* (a file, a non-blank cell) but are unusable give one
(``skipped=False``: the track stays, without lyrics); a blank cell is simply no lyrics.
"""

from __future__ import annotations

import codecs
import stat
from pathlib import Path
from typing import NamedTuple

import regex

from songspace.datasets.manifest import Problem
from songspace.datasets.paths import is_inside, relative_name

MAX_LYRICS_BYTES = 2_000_000  # a lyrics file is a few kB; a larger file is something else named .txt

# Longest BOM first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Characters that stand for Bengali glyph parts in the Bijoy/SutonnyMJ ASCII font encoding and almost never
# touch a letter inside a word of real Latin-script text ("†Zvgv‡K" is তোমাকে).
_BIJOY_CHARS = "†‡ˆ¨©ª¯°±²³´µ¶·¸¹º¼½¾¿×÷"
_BIJOY_MARKS = regex.compile(f"[A-Za-z][{_BIJOY_CHARS}]|[{_BIJOY_CHARS}][A-Za-z]")
_ANY_BIJOY_CHAR = regex.compile(f"[{_BIJOY_CHARS}]")
_BENGALI = regex.compile(r"\p{Bengali}")
_CONTROL = regex.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
# Markup and labels that are not sung words: HTML tags, entities, [Chorus] or [00:12.34] (LRC).
_NOT_WORDS = regex.compile(r"</?[A-Za-z!][^<>]{0,500}>|&#?\w{1,32};|\[[^\[\]\n]{0,60}\]")
_LETTER = regex.compile(r"\p{L}")


class DecodedLyrics(NamedTuple):
    """What :func:`decode_lyrics` or :func:`read_lyrics_file` made of a lyrics file.

    ``text`` is the usable lyrics as decoded (a BOM removed, nothing else changed; HTML is kept for the text
    features to strip) or ``None``. ``note`` is the problem-list entry: why ``text`` is ``None``, or what was
    guessed about a text that was kept (cp1252); ``None`` when there is nothing to say.
    """

    text: str | None
    encoding: str | None  # the codec that decoded the bytes, when one did
    note: str | None


def sniff_encoding(head: bytes) -> str:
    """The codec for a text file starting with ``head``: from its BOM, else ``utf-8``."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return "utf-8"


def _plausible_cp1252(text: str) -> bool:
    """Decoded as cp1252, does this look like text in a Latin-script language rather than mojibake?"""
    if _CONTROL.search(text.replace("\t", "").replace("\n", "").replace("\r", "").replace("\f", "")):
        return False
    visible = [c for c in text if not c.isspace()]
    letters = [c for c in visible if c.isalpha()]
    if len(letters) < 0.5 * len(visible):
        return False
    # Western languages write a small share of accented letters; text in another code page (cp1251 Cyrillic,
    # cp1250, ...) read as cp1252 becomes mostly accented letters.
    return sum(not c.isascii() for c in letters) <= 0.3 * len(letters)


def _unicode(data: bytes) -> tuple[str, str] | None:
    """(text, codec) by rules 1-3 of the module docstring, or ``None``."""
    head = sniff_encoding(data[:4])
    if head != "utf-8":  # a BOM
        try:
            return data.decode(head), head
        except UnicodeDecodeError:
            return None
    if b"\x00" not in data:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            return None
    if len(data) >= 4 and len(data) % 2 == 0:
        even, odd = data[0::2].count(0), data[1::2].count(0)
        for codec, nuls in (("utf-16-le", odd), ("utf-16-be", even)):
            if nuls >= 0.3 * len(data) / 2:
                try:
                    text = data.decode(codec)
                except UnicodeDecodeError:
                    continue
                if "\x00" not in text:
                    return text, codec
    return None


def lyrics_problem(text: str) -> str | None:
    """Why the decoded ``text`` is not usable lyrics (``None`` when it is): legacy Bijoy-encoded Bangla, or
    no letters once markup and bracketed labels are set aside. The reason ends with what was done."""
    tokens = text.split() if _ANY_BIJOY_CHAR.search(text) else []  # most texts hold none of them: done
    if tokens and not _BENGALI.search(text) and \
            sum(bool(_BIJOY_MARKS.search(t)) for t in tokens) >= 0.2 * len(tokens):
        return ("looks like Bengali typed in a legacy Bijoy/SutonnyMJ font encoding (ASCII letters standing for "
                "Bengali glyphs); treated as missing. Convert it to Unicode Bengali (a Bijoy-to-Unicode converter) "
                "and save it as UTF-8")
    if not _LETTER.search(_NOT_WORDS.sub(" ", text)):
        return "lyrics hold no letters (whitespace, punctuation, markup or labels only); treated as missing"
    return None


def decode_lyrics(data: bytes, *, fallback: str | None = None) -> DecodedLyrics:
    """Decode the bytes of a lyrics file by the policy of the module docstring; never raises.

    Parameters
    ----------
    data : bytes
        The whole file.
    fallback : str, optional
        The dataset's documented legacy codec (any name Python knows, e.g. ``"Big5-HKSCS"``), tried after the
        Unicode rules instead of the cp1252 guess.

    Returns
    -------
    DecodedLyrics
        The text (``None`` when unusable), the codec, and the note for the problem list.
    """
    if not data:
        return DecodedLyrics(None, None, "empty lyrics file; treated as missing")
    got = _unicode(data)
    note = None
    if got is None and b"\x00" not in data:  # NUL: binary, or UTF-16 that did not decode
        if fallback is not None:
            try:
                got = data.decode(fallback), fallback
            except UnicodeDecodeError:
                pass
        else:
            try:
                text = data.decode("cp1252")  # fails on the 5 bytes cp1252 leaves undefined
            except UnicodeDecodeError:
                text = ""
            if text and _plausible_cp1252(text):
                got = text, "cp1252"
                note = ("lyrics are not UTF-8; decoded as cp1252 (Windows Western European) and kept. Check the "
                        "accents; re-save the file as UTF-8 to be sure")
    if got is None:
        legacy = fallback or "plausible cp1252 text"
        return DecodedLyrics(None, None, f"lyrics are not UTF-8 nor UTF-16, nor {legacy}; treated as missing. "
                                         "Re-save the file as UTF-8")
    text, codec = got
    why = lyrics_problem(text)
    return DecodedLyrics(None, codec, why) if why else DecodedLyrics(text, codec, note)


def decode_table(data: bytes) -> tuple[str, str | None]:
    """The text of a metadata table and a note: UTF-8 (a BOM removed; no note), else plausible cp1252 (what
    Excel on Windows saves as "CSV"), read with a note as a cp1252 lyrics file is. Raises UnicodeDecodeError for
    anything else (UTF-16, binary)."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        if b"\x00" in data:
            raise
        text = data.decode("cp1252")  # raises on the 5 bytes cp1252 leaves undefined
        if not _plausible_cp1252(text):
            raise
        return text, ("not UTF-8; decoded as cp1252 (Windows Western European) and read. Check the accents; "
                      "re-save it as UTF-8 to be sure")


def read_lyrics_file(path: Path, *, fallback: str | None = None,
                     max_bytes: int = MAX_LYRICS_BYTES) -> DecodedLyrics:
    """Read and decode the lyrics file ``path`` (see :func:`decode_lyrics`); never raises for a bad file.

    A file larger than ``max_bytes`` is not read (it is not lyrics), nor is an unreadable one.
    """
    try:
        st = path.stat()
        size = st.st_size
        if not stat.S_ISREG(st.st_mode):  # reading a pipe would block the run
            return DecodedLyrics(None, None, "not a regular file (a pipe, socket or device); not read, treated "
                                             "as missing")
        if size > max_bytes:
            return DecodedLyrics(None, None, f"{size} bytes is too large for a lyrics file (at most {max_bytes}); "
                                             "not read, treated as missing")
        data = path.read_bytes()
    except OSError as exc:
        return DecodedLyrics(None, None, f"lyrics unreadable ({exc.strerror or exc}); treated as missing")
    return decode_lyrics(data, fallback=fallback)


def file_lyrics(path: Path, root: Path, problems: list[Problem], *, fallback: str | None = None) -> str | None:
    """The usable lyrics of the file ``path`` inside the dataset folder ``root``, or ``None``.

    What to note (a guessed codec, why the text is unusable, a file linking outside ``root``) is appended to
    ``problems`` under the path relative to ``root``, with ``skipped=False``: the track is kept.
    """
    rel = relative_name(path, root)
    if not is_inside(path, root):
        problems.append(Problem(rel, "lyrics file links outside the dataset folder; treated as missing", False))
        return None
    got = read_lyrics_file(path, fallback=fallback)
    if got.note:
        problems.append(Problem(rel, got.note, False))
    return got.text


def cell_lyrics(text: str | None, where: str, problems: list[Problem]) -> str | None:
    """The lyrics of a table cell (already text), or ``None``: blank is no lyrics; a non-blank cell that is not
    usable lyrics (:func:`lyrics_problem`) is noted in ``problems`` under ``where`` (e.g. ``"songs.csv:12"``)."""
    if text is None or not text.strip():
        return None
    why = lyrics_problem(text)
    if why:
        problems.append(Problem(where, why.replace("lyrics hold", "lyrics cell holds"), False))
        return None
    return text


# LRC (synchronised lyrics): "[mm:ss.xx]" line stamps, "<mm:ss.xx>" word stamps (enhanced LRC), and ID tags
# such as "[ar:Artist]" on their own lines. Only LRC's own tag names: "[Chorus: Artist]" is a label, kept.
_LRC_STAMP = regex.compile(r"\[(\d{1,3}):(\d{1,2}(?:[.:]\d{1,3})?)\]")
_LRC_WORD_STAMP = regex.compile(r"<\d{1,3}:\d{1,2}(?:[.:]\d{1,3})?>")
_LRC_ID_TAG = regex.compile(r"\s*\[(?:ar|ti|al|au|by|offset|re|ve|length|tool|la|lang|id|#)\s*:[^\]\n]*\]\s*",
                            regex.IGNORECASE)


def is_lrc(text: str) -> bool:
    """True when a line of ``text`` starts with an LRC time stamp (``[01:02.50]``)."""
    return any(_LRC_STAMP.match(line.lstrip()) for line in text.splitlines())


def strip_lrc(text: str) -> str:
    """The sung text of LRC lyrics: time stamps and ID-tag lines (``[ar:...]``, ``[ti:...]``) removed.

    A line stamped with several times (``[00:10.00][01:10.00]chorus``) is sung at each of them, so it is
    written once per stamp, every line in time order (lines without a stamp keep their place); repeated
    lines are kept as sung. Stamped lines without words (instrumental gaps) are dropped.
    """
    timed: list[tuple[float, int, str]] = []
    last = 0.0
    for order, raw in enumerate(text.splitlines()):
        if _LRC_ID_TAG.fullmatch(raw):
            continue
        line = raw.lstrip()
        times = []
        while (m := _LRC_STAMP.match(line)) is not None:
            times.append(int(m.group(1)) * 60 + float(m.group(2).replace(":", ".")))
            line = line[m.end():].lstrip()
        words = _LRC_WORD_STAMP.sub("", line).strip()
        for t in (times or [last]) if words else ():
            timed.append((t, order, words))
        last = max(times, default=last)
    return "\n".join(words for _, _, words in sorted(timed)) + ("\n" if timed else "")
