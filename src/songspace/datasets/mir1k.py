"""MIR-1K (Hsu & Jang, IEEE TASLP 2010; mirlab.org/dataset/public): 1,000 karaoke clips of 110 Mandarin pop
songs sung by 19 amateur singers.

Layout::

    <root>/Wavfile/<singer>_<song>_<clip>.wav     (or <root>/MIR-1K/Wavfile/...), e.g. abjones_1_01.wav
    <root>/Lyrics/<singer>_<song>_<clip>.txt      lyrics of the clip, traditional Chinese in Big5-HKSCS
    <root>/PitchLabel/, UnvoicedFrameLabel/, vocal-nonvocalLabel/, UndividedWavfile/, ...   not read

The clips are 16 kHz stereo: the left channel is the accompaniment, the right channel the singing voice.
Choice: the clip is read as a song, both channels mixed (``load_clip`` averages channels), since a
collection clusters songs. ``UndividedWavfile/`` (the whole songs, without lyrics files) is not read.

Artist = the singer id (the file name before the first ``_``). There is no genre: the manifest has no
label columns. Lyrics are decoded here by the policy of :mod:`songspace.datasets.lyrics`, with Big5-HKSCS as
the dataset's own legacy codec (a file already in UTF-8 or UTF-16 is read as such), and handed on as
``Track.lyrics_text``, so later stages never see Big5.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from songspace.datasets.folder import list_audio
from songspace.datasets.lyrics import file_lyrics
from songspace.datasets.manifest import DEFAULT_MAX_LABELS, Manifest, Problem, Track, finish_manifest
from songspace.datasets.paths import relative_name, walk_files
from songspace.errors import DatasetError

log = logging.getLogger(__name__)

CLIP_NAME = re.compile(r"^(?P<singer>[^_]+)_(?P<song>\d+)_(?P<clip>\d+)$")
LYRICS_ENCODING = "Big5-HKSCS"  # the Lyrics/ files' codec, as MIR-1K documents it


def mir1k_dir(root: Path) -> Path | None:
    """The folder holding ``Wavfile/`` (``root`` or ``root/MIR-1K``), or ``None``."""
    for base in (root, root / "MIR-1K"):
        if (base / "Wavfile").is_dir():
            return base
    return None


def read_mir1k(root: Path | str, *, max_labels: int = DEFAULT_MAX_LABELS, prefer: list[str] | None = None) -> Manifest:
    """Read a MIR-1K folder into a :class:`Manifest` (see the module docstring for layout and choices).
    MIR-1K has no label columns: ``max_labels`` and ``prefer`` change nothing.

    Raises
    ------
    DatasetError
        ``Wavfile/`` is missing or holds no usable audio.
    """
    root = Path(root)
    base = mir1k_dir(root) if root.is_dir() else None
    if base is None:
        raise DatasetError(f"{root}: not a MIR-1K folder (expected Wavfile/<singer>_<song>_<clip>.wav, here or in "
                           "MIR-1K/).")
    problems: list[Problem] = []
    tracks: list[Track] = []
    lyrics_dir = base / "Lyrics"
    lyrics_files = {p.name: p for p in walk_files(lyrics_dir, root, problems, suffixes=(".txt",), recursive=False)} \
        if lyrics_dir.is_dir() else {}
    for track_id, path in list_audio(base / "Wavfile", root, problems).items():
        m = CLIP_NAME.match(track_id)
        if not m:
            problems.append(Problem(relative_name(path, root),
                                    "name is not <singer>_<song>_<clip>; kept, singer taken before the first '_'",
                                    False))
        lyrics_path = lyrics_files.get(f"{track_id}.txt")
        text = file_lyrics(lyrics_path, root, problems, fallback=LYRICS_ENCODING) if lyrics_path is not None else None
        if text is None:
            lyrics_path = None
        tracks.append(Track(track_id=track_id, audio_path=path, lyrics_path=lyrics_path,
                            artist=m["singer"] if m else track_id.split("_")[0], lyrics_text=text))
    return finish_manifest(root, "mir1k", tracks, problems, list,
                           none_usable=f"no usable .wav files in {base / 'Wavfile'}", max_labels=max_labels,
                           prefer=prefer)
