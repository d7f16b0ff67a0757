"""Plan and write the demo collection.

All per-track decisions (language, genre, artist, lyric, tempo, key, duration, mix) are made here, in
the parent process, in one pass of one random generator. Tracks are then rendered in parallel, each
from its own seed (``SeedSequence(seed)`` children), so the files are byte-identical for a seed
whatever the number of workers.

The collection is written to a temporary sibling folder and renamed into place at the end: an
interrupted run never leaves a half-written ``out_dir``.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from threadpoolctl import threadpool_limits

from songspace.datasets.demo import lexicon as lx
from songspace.datasets.demo.lyrics import Lyric, make_lyric
from songspace.datasets.demo.styles import GENRES, STYLES
from songspace.datasets.demo.synth import Mix, TrackSpec, render_track
from songspace.datasets.demo.voice import Voice
from songspace.errors import ConfigError
from songspace.parallel import process_pool

METADATA_COLUMNS = ("track_id", "title", "artist", "language", "genre")
# Bump when a change alters the generated files, so that cached copies (`songspace demo`) are remade.
DEMO_VERSION = 1
INSTRUMENTAL_SHARE = 0.17
BANGLISH_SHARE = 0.25  # of Bengali songs
MIXED_SHARE = 0.20  # of Bengali songs
ARTISTS_PER_LANGUAGE = {"en": 6, "bn": 6, "": 4}


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate_demo` wrote."""

    out_dir: Path
    n_tracks: int
    n_by_language: dict[str, int]  # "en", "bn", "" (instrumental)
    n_by_genre: dict[str, int]
    seconds: float  # wall time of generation


@dataclass(frozen=True)
class Artist:
    """A performer: one language ("" for instrumental acts), 2-3 genres, own voice, own sound."""

    name: str
    language: str
    genres: tuple[str, ...]
    voice: Voice | None
    mix: Mix
    timbres: dict[str, tuple[str, str, str]]  # genre -> (chords, bass, lead)
    drum_variants: dict[str, int]


@dataclass(frozen=True)
class PlannedTrack:
    """One track's metadata row, lyrics text (None for instrumentals) and render spec."""

    spec: TrackSpec
    title: str
    artist: str
    language: str
    lyrics: str | None


# --------------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------------


def _artist_name(rng: np.random.Generator, language: str, taken: set[str]) -> str:
    while True:
        if language == "en":
            name = f"{rng.choice(lx.EN_FIRST_NAMES)} {rng.choice(lx.EN_SURNAMES)}"
        elif language == "bn":
            name = f"{rng.choice(lx.BN_FIRST_NAMES)} {rng.choice(lx.BN_SURNAMES)}"
        else:
            name = f"The {rng.choice(lx.NEUTRAL_ADJECTIVES)} {rng.choice(lx.NEUTRAL_NOUNS)}s"
        if name not in taken:
            taken.add(name)
            return name


def _make_artists(rng: np.random.Generator) -> list[Artist]:
    """~16 artists; within each language every genre is covered by at least one artist."""
    artists: list[Artist] = []
    taken: set[str] = set()
    for language, count in ARTISTS_PER_LANGUAGE.items():
        order = [GENRES[i] for i in rng.permutation(len(GENRES))]
        repertoire: list[list[str]] = [[] for _ in range(count)]
        for j, genre in enumerate(order):  # round robin guarantees coverage
            repertoire[j % count].append(genre)
        for rep in repertoire:  # then 2-3 genres each
            want = int(rng.integers(2, 4))
            while len(rep) < want:
                g = GENRES[int(rng.integers(len(GENRES)))]
                if g not in rep:
                    rep.append(g)
        for rep in repertoire:
            voice = None
            if language:
                high = rng.random() < 0.5
                voice = Voice(
                    register_midi=float(rng.uniform(60, 66) if high else rng.uniform(50, 56)),
                    formant_scale=float(rng.uniform(1.1, 1.2) if high else rng.uniform(0.94, 1.04)),
                    breathiness=float(rng.uniform(0.02, 0.25)),
                    vibrato_rate=float(rng.uniform(4.6, 6.4)),
                    vibrato_depth=float(rng.uniform(0.15, 0.55)),
                    tilt=float(rng.uniform(0.9, 1.4)),
                )
            mix = Mix(
                tilt=float(rng.uniform(-0.8, 0.8)),
                reverb_s=float(rng.uniform(0.3, 1.6)),
                reverb_wet=float(rng.uniform(0.05, 0.35)),
                noise_db=float(rng.uniform(-72, -50)),
                loudness_db=float(rng.uniform(-18, -8)),
            )
            timbres, drums = {}, {}
            for g in rep:
                st = STYLES[g]
                timbres[g] = (
                    str(rng.choice(st.chord_timbres)),
                    str(rng.choice(st.bass_timbres)),
                    str(rng.choice(st.lead_timbres)),
                )
                drums[g] = int(rng.integers(0, 2))
            artists.append(Artist(_artist_name(rng, language, taken), language, tuple(rep), voice, mix, timbres, drums))
    return artists


def _labels(rng: np.random.Generator, n_tracks: int) -> list[tuple[str, str, str]]:
    """Balanced ``(language, genre, lyric kind)`` per track, stratified by genre x language, shuffled."""
    n_instr = int(round(INSTRUMENTAL_SHARE * n_tracks))
    n_vocal = n_tracks - n_instr
    n_en = n_vocal // 2 + int(n_vocal % 2 and rng.random() < 0.5)
    counts = {"en": n_en, "bn": n_vocal - n_en, "": n_instr}
    n_bn = counts["bn"]
    n_roman = max(int(n_bn >= 3), int(round(BANGLISH_SHARE * n_bn)))
    n_mixed = max(int(n_bn >= 3), int(round(MIXED_SHARE * n_bn)))
    bn_kinds = ["banglish"] * n_roman + ["mixed"] * n_mixed + ["bn"] * (n_bn - n_roman - n_mixed)
    bn_kinds = [bn_kinds[i] for i in rng.permutation(len(bn_kinds))]
    labels: list[tuple[str, str, str]] = []
    for language, count in counts.items():
        offset = int(rng.integers(len(GENRES)))
        genres = [GENRES[(offset + j) % len(GENRES)] for j in range(count)]  # balanced within language
        for g in genres:
            kind = {"en": "en", "": ""}.get(language) if language != "bn" else bn_kinds.pop()
            labels.append((language, g, kind or ""))
    return [labels[i] for i in rng.permutation(len(labels))]


def _instrumental_title(rng: np.random.Generator) -> str:
    title = f"{rng.choice(lx.NEUTRAL_ADJECTIVES)} {rng.choice(lx.NEUTRAL_NOUNS)}"
    return title + (f" No. {int(rng.integers(2, 9))}" if rng.random() < 0.25 else "")


def plan_collection(
    n_tracks: int, seed: int, sample_rate: int, min_seconds: float, max_seconds: float
) -> list[PlannedTrack]:
    """Decide every track of the collection (one pass of one generator; see module docstring)."""
    root = np.random.SeedSequence(seed)
    plan_seq, tracks_seq = root.spawn(2)
    rng = np.random.default_rng(plan_seq)
    track_seeds = tracks_seq.spawn(n_tracks)
    artists = _make_artists(rng)
    planned: list[PlannedTrack] = []
    for i, (language, genre, kind) in enumerate(_labels(rng, n_tracks)):
        eligible = [a for a in artists if a.language == language and genre in a.genres]
        artist = eligible[int(rng.integers(len(eligible)))]
        lyric: Lyric | None = make_lyric(rng, kind, str(rng.choice(lx.THEMES))) if language else None
        style = STYLES[genre]
        # Per-track nuisance on top of the artist's mix: a different master, a different room noise.
        mix = Mix(
            tilt=artist.mix.tilt + float(rng.normal(0, 0.1)),
            reverb_s=artist.mix.reverb_s,
            reverb_wet=artist.mix.reverb_wet,
            noise_db=artist.mix.noise_db + float(rng.uniform(-5, 5)),
            loudness_db=float(np.clip(artist.mix.loudness_db + rng.uniform(-2, 2), -20, -6)),
        )
        spec = TrackSpec(
            track_id=f"demo_{i:04d}",
            genre=genre,
            duration=float(rng.uniform(min_seconds, max_seconds)),
            sample_rate=sample_rate,
            tempo=float(rng.uniform(*style.tempo)),
            key=int(rng.integers(12)),
            timbres=artist.timbres[genre],
            drum_variant=artist.drum_variants[genre],
            mix=mix,
            voice=artist.voice,
            lyric=lyric,
            seed=track_seeds[i],
        )
        title = lyric.title if lyric is not None else _instrumental_title(rng)
        planned.append(PlannedTrack(spec, title, artist.name, language, lyric.text() if lyric else None))
    return planned


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def _render_to_file(spec: TrackSpec, path: Path) -> str:
    """Worker: render one track and write it as 16-bit PCM WAV. Returns the track id."""
    audio = render_track(spec)
    sf.write(str(path), audio, spec.sample_rate, subtype="PCM_16", format="WAV")
    return spec.track_id


def _check_args(n_tracks: int, sample_rate: int, min_seconds: float, max_seconds: float, workers: int | None) -> None:
    if n_tracks < 1:
        raise ConfigError(f"n_tracks must be at least 1, got {n_tracks}")
    if sample_rate < 8000:
        raise ConfigError(f"sample_rate must be at least 8000 Hz, got {sample_rate}")
    if not 0.5 <= min_seconds <= max_seconds:
        raise ConfigError(f"need 0.5 <= min_seconds <= max_seconds, got {min_seconds} and {max_seconds}")
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")


def _refuse_existing(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise FileExistsError(
            f"{out_dir} already exists and is not empty; the demo generator never overwrites. "
            "Choose another folder or remove this one first."
        )


def generate_demo(
    out_dir: Path | str,
    *,
    n_tracks: int = 300,
    seed: int = 0,
    sample_rate: int = 22050,
    min_seconds: float = 10.0,
    max_seconds: float = 15.0,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Write the built-in bilingual demo collection.

    Parameters
    ----------
    out_dir
        Folder to create: ``audio/<track_id>.wav`` (mono 16-bit PCM), ``lyrics/<track_id>.txt`` (UTF-8,
        vocal tracks only) and ``metadata.csv`` (``track_id,title,artist,language,genre``). It must not
        exist or be empty.
    n_tracks
        Number of tracks.
    seed
        Same seed and arguments give byte-identical files, whatever ``workers``.
    sample_rate
        Audio sample rate (Hz).
    min_seconds, max_seconds
        Range of track durations (s).
    workers
        Rendering processes; default ``min(2, os.cpu_count())``; 1 renders in this process.
    progress
        Called as ``progress(done, total)`` each time a track is finished.

    Returns
    -------
    DemoSummary
        Counts by language and genre, and the wall time.

    Raises
    ------
    FileExistsError
        ``out_dir`` exists and is not empty.
    songspace.errors.ConfigError
        An argument is out of range.
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    _check_args(n_tracks, sample_rate, min_seconds, max_seconds, workers)
    _refuse_existing(out_dir)
    workers = workers or min(2, os.cpu_count() or 1)
    planned = plan_collection(n_tracks, seed, sample_rate, min_seconds, max_seconds)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the dataset is an ordinary folder
        (tmp / "audio").mkdir()
        (tmp / "lyrics").mkdir()
        for p in planned:
            if p.lyrics is not None:
                (tmp / "lyrics" / f"{p.spec.track_id}.txt").write_text(p.lyrics, encoding="utf-8", newline="\n")
        jobs = [(p.spec, tmp / "audio" / f"{p.spec.track_id}.wav") for p in planned]
        total = len(jobs)
        if workers == 1:
            with threadpool_limits(1):  # small matrix products: threads only add overhead
                for done, (spec, path) in enumerate(jobs, start=1):
                    _render_to_file(spec, path)
                    if progress is not None:
                        progress(done, total)
        else:
            with process_pool(workers) as pool:
                futures = [pool.submit(_render_to_file, spec, path) for spec, path in jobs]
                for done, fut in enumerate(as_completed(futures), start=1):
                    fut.result()
                    if progress is not None:
                        progress(done, total)
        with open(tmp / "metadata.csv", "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(METADATA_COLUMNS)
            for p in planned:
                writer.writerow([p.spec.track_id, p.title, p.artist, p.language, p.spec.genre])
        _refuse_existing(out_dir)  # someone may have written there meanwhile
        if out_dir.exists():
            out_dir.rmdir()  # empty (checked just above); rename needs it gone
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return DemoSummary(
        out_dir=out_dir,
        n_tracks=len(planned),
        n_by_language=dict(Counter(p.language for p in planned)),
        n_by_genre=dict(Counter(p.spec.genre for p in planned)),
        seconds=time.perf_counter() - t0,
    )
