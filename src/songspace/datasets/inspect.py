"""What a dataset folder holds, before any run: layout, tracks, formats, durations, tags, labels, lyrics (and
where they came from), the formats this machine cannot decode, problems.

Durations, sample rates and channel counts come from the audio headers (``soundfile.info``; mutagen's for the
formats libsndfile does not read, such as AAC in .m4a): no audio is decoded, so inspecting a large collection
takes seconds, not the time of a run.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import audioread
import numpy as np
import soundfile as sf

from songspace.datasets import read_dataset
from songspace.datasets.manifest import DEFAULT_MAX_LABELS, Problem, Track
from songspace.datasets.paths import relative_name


@dataclass(frozen=True)
class DurationSummary:
    """Durations of the probed files whose header gives one, in seconds."""

    min_s: float
    median_s: float
    max_s: float
    total_s: float
    n: int


@dataclass
class DatasetReport:
    """What :func:`inspect_dataset` found.

    ``labels`` maps each label column to its class counts (``""`` counts tracks whose label is unknown).
    ``lyrics_by_language`` maps each value of the ``language`` label (``""``: unknown) to
    ``(tracks, tracks with lyrics)``; it is empty when the dataset has no language column.
    ``n_probed`` is the number of audio headers read (all tracks unless ``max_probe`` limited it).
    ``tags`` counts the tracks whose own tags hold each field (``title``, ``artist``, ``genre``, ``language``,
    ``lyrics``, ...; see :mod:`songspace.datasets.tags`), ``n_tagged`` the tracks with any tag read.
    ``lyrics_sources`` counts the tracks with lyrics by where their lyrics came from (``Track.lyrics_source``;
    ``dataset`` where the reader does not say). ``undecodable`` maps each format this machine cannot decode to why.
    """

    root: Path
    layout: str
    n_tracks: int
    n_with_lyrics: int
    n_probed: int = 0
    formats: Counter[str] = field(default_factory=Counter)
    durations: DurationSummary | None = None
    sample_rates: Counter[int] = field(default_factory=Counter)
    channels: Counter[int] = field(default_factory=Counter)
    labels: dict[str, Counter[str]] = field(default_factory=dict)
    lyrics_by_language: dict[str, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    n_tagged: int = 0
    tags: Counter[str] = field(default_factory=Counter)
    lyrics_sources: Counter[str] = field(default_factory=Counter)
    undecodable: dict[str, str] = field(default_factory=dict)


# The libsndfile format that reads each extension; the others (.m4a, .aac, .mp4: AAC) need audioread and a system
# decoder (ffmpeg or GStreamer), as does any of these that this machine's libsndfile was built without.
SNDFILE_FORMATS = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "opus": "OGG", "mp3": "MP3", "au": "AU",
                   "aiff": "AIFF", "aif": "AIFF"}


def decoder_missing(fmt: str) -> str | None:
    """Why files of the format ``fmt`` (an extension without the dot) cannot be decoded on this machine, or
    ``None`` when they can: libsndfile reads it, or audioread has a decoder (ffmpeg, GStreamer, Core Audio)."""
    sndfile = SNDFILE_FORMATS.get(fmt)
    if sndfile in sf.available_formats() and (fmt != "opus" or "OPUS" in sf.available_subtypes("OGG")):
        return None
    if any(b.__name__ != "RawAudioFile" for b in audioread.available_backends()):  # RawAudioFile: WAV/AIFF/AU only
        return None
    return (f"cannot be decoded on this machine: libsndfile {sf.__libsndfile_version__} does not read .{fmt} files "
            "and audioread finds no decoder; install ffmpeg (scripts/install-system.sh, or 'sudo apt-get install "
            "ffmpeg'). Until then a run skips them")


def audio_format(path: Path) -> str:
    """The format a file's name says it holds: its extension, lower case, without the dot (``mp3``)."""
    return path.suffix.lower().lstrip(".")


def language_column(tracks: list[Track], label_columns: list[str]) -> str | None:
    """The label holding each track's language: ``language`` when tracks carry it, else a label column
    whose name starts with ``lang``, else ``None``."""
    if any("language" in t.labels for t in tracks):
        return "language"
    return next((c for c in label_columns if c.lower().startswith("lang")), None)


def probe_indices(n: int, max_probe: int | None) -> list[int]:
    """Positions of the tracks whose headers are read: all, or ``max_probe`` spread evenly over the sorted
    tracks (so every folder of a large collection is represented, the same ones every time)."""
    if max_probe is None or n <= max_probe:
        return list(range(n))
    return sorted({int(i) for i in np.linspace(0, n - 1, max(1, max_probe)).round()})


def inspect_dataset(root: Path | str, layout: str = "auto", *, probe_audio: bool = True,
                    max_probe: int | None = None, max_labels: int = DEFAULT_MAX_LABELS) -> DatasetReport:
    """Read the dataset folder ``root`` and describe it.

    Parameters
    ----------
    root : the dataset folder
    layout : reader name, or ``auto`` to detect it (see :func:`songspace.datasets.detect_layout`)
    probe_audio : read every audio header (durations, sample rates, channels); cheap, no decoding
    max_probe : read at most this many headers, spread evenly over the tracks
    max_labels : at most this many label columns, as a run reads them (the others are listed as problems)

    Raises
    ------
    DatasetError
        The folder cannot be read as a dataset (the message names the file and the fix).
    """
    root = Path(root).expanduser()
    manifest = read_dataset(root, layout=layout, max_labels=max_labels)
    tracks = manifest.tracks
    report = DatasetReport(root=root, layout=manifest.layout, n_tracks=len(tracks),
                           n_with_lyrics=sum(t.has_lyrics for t in tracks), problems=list(manifest.problems))
    report.formats = Counter(audio_format(t.audio_path) for t in tracks)
    for fmt in sorted(report.formats):
        why = decoder_missing(fmt)
        if why is not None:  # the run lists each file it skips; here the format is named once
            report.undecodable[fmt] = why
    report.n_tagged = sum(t.tags is not None for t in tracks)
    report.tags = Counter(f for t in tracks if t.tags is not None for f in t.tags.present())
    report.lyrics_sources = Counter(t.lyrics_source or "dataset" for t in tracks if t.has_lyrics)
    report.labels = {c: Counter(t.labels.get(c, "") for t in tracks) for c in manifest.label_columns}
    lang = language_column(tracks, manifest.label_columns)
    if lang is not None:
        counts: dict[str, list[int]] = {}
        for t in tracks:
            entry = counts.setdefault(t.labels.get(lang, ""), [0, 0])
            entry[0] += 1
            entry[1] += t.has_lyrics
        report.lyrics_by_language = {k: (v[0], v[1]) for k, v in sorted(counts.items(), key=lambda kv: -kv[1][0])}

    if probe_audio:
        durations = []
        for i in probe_indices(len(tracks), max_probe):
            path = tracks[i].audio_path
            report.n_probed += 1
            if audio_format(path) not in SNDFILE_FORMATS:  # AAC: mutagen reads the header
                header = mutagen_header(path)
                if header is not None:
                    rate, n_channels, seconds = header
                    report.sample_rates[rate] += 1
                    report.channels[n_channels] += 1
                    durations.append(seconds)
                    continue
            try:
                info = sf.info(str(path))
            except Exception as exc:  # libsndfile raises several types for unreadable files
                why = "libsndfile does not recognise its format" if path.is_file() else str(exc)
                report.problems.append(Problem(
                    relative_name(path, root),
                    f"audio header unreadable ({why}): not audio, corrupt or truncated; a run will try audioread "
                    "and skip the file if that fails too", False))
                continue
            report.sample_rates[int(info.samplerate)] += 1
            report.channels[int(info.channels)] += 1
            if 0 < info.frames < 1 << 62 and info.samplerate > 0:
                durations.append(info.frames / info.samplerate)
        if durations:
            report.durations = DurationSummary(min(durations), statistics.median(durations), max(durations),
                                               sum(durations), len(durations))
    return report


def mutagen_header(path: Path) -> tuple[int, int, float] | None:
    """(sample rate, channels, seconds) from the header of ``path`` as mutagen reads it, or ``None``."""
    import mutagen

    try:
        info = mutagen.File(str(path)).info
        rate, n_channels, seconds = int(info.sample_rate), int(info.channels), float(info.length)
    except Exception:  # noqa: BLE001 - not a format mutagen knows, or a damaged header: libsndfile is tried next
        return None
    return (rate, n_channels, seconds) if rate > 0 and n_channels > 0 and seconds > 0 else None
