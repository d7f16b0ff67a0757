"""Tags inside audio files, read with mutagen (what beets and MusicBrainz Picard use); never raises.

What is read, by tag format (the first key present wins; several values of a key are joined by ``"; "``,
except the genre, of which the first is kept: a label holds one value per track):

===========  ====================  ================================  =====================================
field        ID3 (MP3, WAV, AIFF)  Vorbis comment (FLAC, Ogg, Opus)  MP4 atom (M4A, MP4)
===========  ====================  ================================  =====================================
title        TIT2                  TITLE                             ©nam
artist       TPE1                  ARTIST                            ©ART
album_artist TPE2                  ALBUMARTIST, ALBUM ARTIST         aART
album        TALB                  ALBUM                             ©alb
track        TRCK                  TRACKNUMBER                       trkn
disc         TPOS                  DISCNUMBER                        disk
year         TDRC (TYER in 2.3)    DATE, YEAR                        ©day
genre        TCON (``(13)`` named) GENRE                             ©gen, gnre
language     TLAN                  LANGUAGE                          ----:com.apple.iTunes:LANGUAGE
lyrics       USLT                  LYRICS, UNSYNCEDLYRICS            ©lyr
===========  ====================  ================================  =====================================

ID3v2.3 and 2.4 are read (mutagen upgrades 2.3 frames to 2.4 ones), and an ID3v1 tag where there is no v2 one.
A tag value that is not text (control characters: binary in a text frame), is not valid text in its declared
encoding (bad bytes shown as U+FFFD), or is longer than any real value (:data:`MAX_TAG_CHARS`;
:data:`~songspace.datasets.lyrics.MAX_LYRICS_BYTES` for lyrics) is left out and listed as a problem; a tag that
cannot be parsed at all leaves the file without tags, with a problem. The track is always kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regex

from songspace.datasets.lyrics import MAX_LYRICS_BYTES
from songspace.datasets.manifest import Problem

log = logging.getLogger(__name__)

MAX_TAG_CHARS = 1000  # a title or an artist is a line; a longer value is something else stored in a text frame
_CONTROL = regex.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Keys per field and tag format, in the order tried (Vorbis keys are case-insensitive in mutagen).
ID3_FRAMES = {"title": "TIT2", "artist": "TPE1", "album_artist": "TPE2", "album": "TALB", "track": "TRCK",
              "disc": "TPOS", "year": "TDRC", "genre": "TCON", "language": "TLAN", "lyrics": "USLT"}
VORBIS_KEYS = {"title": ("title",), "artist": ("artist",), "album_artist": ("albumartist", "album artist"),
               "album": ("album",), "track": ("tracknumber",), "disc": ("discnumber",), "year": ("date", "year"),
               "genre": ("genre",), "language": ("language",), "lyrics": ("lyrics", "unsyncedlyrics")}
MP4_KEYS = {"title": ("\xa9nam",), "artist": ("\xa9ART",), "album_artist": ("aART",), "album": ("\xa9alb",),
            "track": ("trkn",), "disc": ("disk",), "year": ("\xa9day",), "genre": ("\xa9gen", "gnre"),
            "language": ("----:com.apple.iTunes:LANGUAGE",), "lyrics": ("\xa9lyr",)}
FIELDS = tuple(ID3_FRAMES)


@dataclass(frozen=True)
class TrackTags:
    """What a file's tags say about it (``""``: the tag is absent or unusable; ``lyrics`` ``None`` likewise).

    ``track`` and ``disc`` are as tagged (``"3/12"``), ``year`` the tag's date (``"1999"`` or
    ``"1999-04-02"``). Lyrics are as tagged (LRC timestamps included; the reader strips them).
    """

    title: str = ""
    artist: str = ""
    album_artist: str = ""
    album: str = ""
    track: str = ""
    disc: str = ""
    year: str = ""
    genre: str = ""
    language: str = ""
    lyrics: str | None = None
    format: str = ""  # "id3", "vorbis", "mp4", or "" when the file holds no tags mutagen reads

    def present(self) -> list[str]:
        """The fields with a value, in :data:`FIELDS` order."""
        return [f for f in FIELDS if getattr(self, f)]


def _id3_values(tags: Any, field: str) -> list[str]:
    frames = tags.getall(ID3_FRAMES[field])
    if field == "genre":
        return [g for fr in frames for g in fr.genres]  # "(13)" and "13" name ID3v1 genres: "Pop"
    if field == "lyrics":
        return [fr.text for fr in frames]
    return [str(t) for fr in frames for t in fr.text]  # TDRC holds ID3TimeStamp objects


def _vorbis_values(tags: Any, field: str) -> list[str]:
    for key in VORBIS_KEYS[field]:
        values = tags.get(key)
        if values:
            return [str(v) for v in values]
    return []


def _mp4_value(value: Any) -> str:
    if isinstance(value, tuple):  # trkn, disk: (number, total)
        number, total = (list(value) + [0, 0])[:2]
        return f"{number}/{total}" if total else str(number)
    if isinstance(value, bytes):  # a freeform atom (MP4FreeForm is bytes): UTF-8 text by iTunes' convention
        return value.decode("utf-8", "replace")
    if isinstance(value, int):  # gnre: an ID3v1 genre number + 1
        from mutagen.id3 import TCON

        return TCON.GENRES[value - 1] if 0 < value <= len(TCON.GENRES) else ""
    return str(value)


def _mp4_values(tags: Any, field: str) -> list[str]:
    for key in MP4_KEYS[field]:
        values = tags.get(key)
        if values:
            return [_mp4_value(v) for v in values]
    return []


def _usable(field: str, values: list[str], where: str, problems: list[Problem]) -> str:
    """The one value of ``field`` kept from ``values`` (``""`` when none is usable); why not, in ``problems``."""
    values = [v.strip() for v in values if v and v.strip()]
    if not values:
        return ""
    value = values[0] if field == "genre" else "; ".join(dict.fromkeys(values))
    limit = MAX_LYRICS_BYTES if field == "lyrics" else MAX_TAG_CHARS
    text = value.replace("\r", "") if field == "lyrics" else value
    if len(value) > limit:
        why = f"{len(value)} characters, more than any {field} (at most {limit})"
    elif _CONTROL.search(text if field == "lyrics" else text.replace("\n", " ")):
        why = "holds binary data (control characters), not text"
    elif "\ufffd" in value:
        why = "is not valid text in its declared encoding"
    else:
        return value
    problems.append(Problem(where, f"{field} tag {why}; ignored", False))
    return ""


def _tag_error_in(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    """True when a tag error of ``kinds`` led to ``exc`` (mutagen re-raises an ID3 error of a WAV file as a WAV
    error)."""
    seen: BaseException | None = exc
    for _ in range(8):
        seen = seen.__cause__ or seen.__context__ if seen is not None else None
        if seen is None:
            return False
        if isinstance(seen, kinds) and type(seen).__name__ != "ID3NoHeaderError":
            return True
    return False


def _audio_header_reads(path: Path) -> bool:
    """True when libsndfile reads the audio header of ``path``: what mutagen failed on was then its tags."""
    import soundfile as sf

    try:
        sf.info(str(path))
    except Exception:  # noqa: BLE001 - libsndfile raises several types for what it cannot read
        return False
    return True


def read_tags(path: Path, where: str, problems: list[Problem]) -> TrackTags:
    """The tags of the audio file ``path`` (:class:`TrackTags`, empty when it has none); never raises.

    A tag that cannot be parsed or a value that is not usable text is noted in ``problems`` under ``where``
    (the file's name relative to the dataset folder), with ``skipped=False``: the track is kept.
    """
    import mutagen
    from mutagen._vorbis import error as VorbisError
    from mutagen.flac import FLACVorbisError
    from mutagen.id3 import ID3, ID3NoHeaderError
    from mutagen.id3._util import error as ID3Error
    from mutagen.mp4 import MP4MetadataError, MP4Tags

    try:
        audio = mutagen.File(str(path))
    except (ID3Error, VorbisError, FLACVorbisError, MP4MetadataError) as exc:
        if isinstance(exc, ID3NoHeaderError):
            return TrackTags()
        problems.append(Problem(where, f"tags damaged ({type(exc).__name__}: {exc}); read without tags", False))
        return TrackTags()
    except mutagen.MutagenError as exc:
        if _tag_error_in(exc, (ID3Error, VorbisError, MP4MetadataError)) or _audio_header_reads(path):
            problems.append(Problem(where, f"tags unreadable ({exc}); read without tags", False))
        else:  # the audio stream itself is not what its name says: decoding reports that, not the tags
            log.debug("%s: no tags read (%s)", where, exc)
        return TrackTags()
    except Exception as exc:  # noqa: BLE001 - hostile bytes can fail inside any parser; a tag never stops a read
        problems.append(Problem(where, f"tags unreadable (damaged: {type(exc).__name__}: {exc}); read without "
                                       "tags", False))
        return TrackTags()
    tags = getattr(audio, "tags", None)
    if not tags:
        return TrackTags()
    if isinstance(tags, ID3):
        kind, values = "id3", _id3_values
    elif isinstance(tags, MP4Tags):
        kind, values = "mp4", _mp4_values
    elif hasattr(tags, "get") and hasattr(tags, "vendor"):  # VComment: FLAC, Ogg Vorbis/Opus/FLAC/Speex
        kind, values = "vorbis", _vorbis_values
    else:  # APEv2, ASF, ...: not read
        return TrackTags()
    found: dict[str, str] = {}
    for field in FIELDS:
        try:
            found[field] = _usable(field, values(tags, field), where, problems)
        except Exception as exc:  # noqa: BLE001 - a malformed frame value (wrong type, bad number)
            problems.append(Problem(where, f"{field} tag unreadable ({type(exc).__name__}); ignored", False))
            found[field] = ""
    return TrackTags(**{**found, "lyrics": found["lyrics"] or None}, format=kind)
