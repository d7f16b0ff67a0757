"""A music library as people keep it (issue 22): nested album folders whose file names collide, six formats,
tags written by a tagger (mutagen), lyrics in tags, in .lrc and in .txt files beside the audio, no metadata.csv."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from mutagen.flac import FLAC
from mutagen.id3 import ID3, TALB, TCON, TDRC, TIT2, TLAN, TPE1, TPE2, TRCK, USLT
from mutagen.mp4 import MP4, MP4FreeForm
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from conftest import TINY_RUN
from songspace.datasets import read_dataset
from songspace.datasets.demo import generate_demo
from songspace.datasets.folder import track_ids
from songspace.datasets.inspect import inspect_dataset
from songspace.datasets.lyrics import strip_lrc
from songspace.datasets.tags import read_tags

# (format, file stem, where its lyrics are kept) for the twelve demo tracks, in order. Every stem is used three
# times, in three album folders.
PLAN = [("mp3", "Intro", "tag"), ("flac", "Intro", "sidecar_lrc"), ("ogg", "Intro", "sidecar_txt"),
        ("opus", "Track 01", "tag"), ("m4a", "Track 01", "tag"), ("wav", "Track 01", "tag"),
        ("mp3", "03", "sidecar_lrc"), ("flac", "03", "tag"), ("ogg", "03", "tag"),
        ("opus", "Outro (2)", "sidecar_txt"), ("m4a", "Outro (2)", "sidecar_lrc"), ("wav", "Outro (2)", "tag")]
FORMATS = sorted({fmt for fmt, _, _ in PLAN})


def cannot_encode(fmt: str) -> str | None:
    """Why this machine cannot write ``fmt`` (``None`` when it can)."""
    if fmt == "m4a":
        return None if shutil.which("ffmpeg") else "no ffmpeg on PATH to encode AAC (scripts/install-system.sh)"
    if fmt == "opus":
        return None if "OPUS" in sf.available_subtypes("OGG") else "this libsndfile has no Opus encoder"
    if fmt == "mp3":
        return None if "MP3" in sf.available_formats() else "this libsndfile has no MP3 encoder"
    return None


def lrc(text: str, artist: str, title: str) -> str:
    """``text`` as an LRC file: ID tags, then one line per distinct sung line with every time it is sung."""
    lines = [line for line in text.splitlines() if line.strip()]
    stamps: dict[str, list[str]] = {}
    for i, line in enumerate(lines):
        stamps.setdefault(line, []).append(f"[{i // 60:02d}:{i % 60:02d}.50]")
    return f"[ar:{artist}]\n[ti:{title}]\n[length:00:12]\n\n" + "".join(
        f"{''.join(s)}{line}\n" for line, s in stamps.items())


def sung(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def write_tags(path: Path, fmt: str, row: dict[str, str], number: int, lyrics: str | None) -> None:
    """The demo row's title, artist, album, number, year, genre, language and lyrics as a tagger writes them."""
    if fmt in ("mp3", "wav"):
        audio = WAVE(path) if fmt == "wav" else None
        tags = ID3() if audio is None else (audio.add_tags() or audio.tags)
        for frame in (TIT2(encoding=3, text=row["title"]), TPE1(encoding=3, text=row["artist"]),
                      TPE2(encoding=3, text=row["artist"]), TALB(encoding=3, text=row["album"]),
                      TRCK(encoding=3, text=f"{number}/12"), TDRC(encoding=3, text="2024"),
                      TCON(encoding=3, text=row["genre"]), TLAN(encoding=3, text=row["language"])):
            tags.add(frame)
        if lyrics:
            tags.add(USLT(encoding=3, lang="eng", desc="", text=lyrics))
        if audio is None:  # one MP3 in ID3v2.3 (what Windows and older taggers write), the other in 2.4
            tags.save(path, v2_version=3 if number < 6 else 4)
        else:
            audio.save()
    elif fmt == "m4a":
        audio = MP4(path)
        audio.tags.update({"\xa9nam": row["title"], "\xa9ART": row["artist"], "aART": row["artist"],
                           "\xa9alb": row["album"], "trkn": [(number, 12)], "\xa9day": "2024",
                           "\xa9gen": row["genre"], "----:com.apple.iTunes:LANGUAGE":
                           [MP4FreeForm(row["language"].encode())]})
        if lyrics:
            audio.tags["\xa9lyr"] = lyrics
        audio.save()
    else:
        audio = {"flac": FLAC, "ogg": OggVorbis, "opus": OggOpus}[fmt](path)
        audio.update({"TITLE": row["title"], "ARTIST": row["artist"], "ALBUMARTIST": row["artist"],
                      "ALBUM": row["album"], "TRACKNUMBER": str(number), "DATE": "2024", "GENRE": row["genre"],
                      "LANGUAGE": row["language"]})
        if lyrics:
            audio["UNSYNCEDLYRICS" if number % 2 else "LYRICS"] = lyrics
        audio.save()


def write_audio(wav: Path, path: Path, fmt: str) -> None:
    y, sr = sf.read(wav, dtype="float32")
    if fmt == "m4a":
        subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(wav), "-c:a", "aac", "-b:a", "48k", str(path)],
                       check=True)
    elif fmt == "opus":
        sf.write(path, y, sr, format="OGG", subtype="OPUS")
    else:
        sf.write(path, y, sr, format={"mp3": "MP3", "ogg": "OGG", "flac": "FLAC", "wav": "WAV"}[fmt])


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, str]]]:
    """The demo collection re-laid as a music library: ``Artist/Album N/<stem>.<fmt>`` with tags and lyrics as
    PLAN says; returns the library and, per file (relative path), what its tags and lyrics hold."""
    root = tmp_path_factory.mktemp("library")
    demo = generate_demo(root / "demo", n_tracks=len(PLAN), seed=1, workers=1, min_seconds=1.5, max_seconds=1.5,
                         sample_rate=16000).out_dir
    with (demo / "metadata.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    lib = root / "My Music"
    truth: dict[str, dict[str, str]] = {}
    for i, ((fmt, stem, where), row) in enumerate(zip(PLAN, rows, strict=True)):
        if cannot_encode(fmt):
            continue
        lyrics_file = demo / "lyrics" / f"{row['track_id']}.txt"
        lyrics = lyrics_file.read_text(encoding="utf-8") if lyrics_file.is_file() else None
        row = {**row, "album": f"Album {i % 3}", "number": str(i + 1), "lyrics": lyrics or "",
               "where": where if lyrics else ""}
        path = lib / row["artist"] / row["album"] / f"{stem}.{fmt}"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_audio(demo / "audio" / f"{row['track_id']}.wav", path, fmt)
        write_tags(path, fmt, row, i + 1, lyrics if where == "tag" else None)
        if lyrics and where == "sidecar_txt":
            path.with_suffix(".txt").write_text(lyrics, encoding="utf-8")
        if lyrics and where == "sidecar_lrc":
            path.with_suffix(".lrc").write_text(lrc(lyrics, row["artist"], row["title"]), encoding="utf-8")
        truth[path.relative_to(lib).as_posix()] = row
    return lib, truth


def test_six_formats_are_encodable_here() -> None:
    missing = {fmt: why for fmt in FORMATS if (why := cannot_encode(fmt))}
    if missing:
        pytest.skip(f"the library test runs without {', '.join(missing)}: {missing}")


def test_every_file_is_a_track_with_its_tags_and_lyrics(library) -> None:
    lib, truth = library
    m = read_dataset(lib)
    assert m.layout == "plain" and m.problems == []
    by_file = {t.audio_path.relative_to(lib).as_posix(): t for t in m.tracks}
    assert set(by_file) == set(truth)  # every file is a track, none lost to a shared name
    assert len({t.track_id for t in m.tracks}) == len(m)
    for rel, want in truth.items():
        t = by_file[rel]
        assert t.track_id == rel.rsplit(".", 1)[0].replace("/", "__"), rel  # stems collide: the path names it
        assert (t.title, t.artist, t.album, t.album_artist) == (want["title"], want["artist"], want["album"],
                                                                want["artist"]), rel
        assert t.tags is not None and t.tags.year == "2024" and t.tags.track.split("/")[0] == want["number"], rel
        assert t.labels.get("genre", "") == want["genre"] and t.labels.get("language", "") == want["language"], rel
        assert t.lyrics_source == want["where"], rel
        assert (t.lyrics_path is not None) == want["where"].startswith("sidecar"), rel  # the file it came from
        assert sung(t.lyrics_text) == sung(want["lyrics"]), rel  # LRC stamps and ID tags gone, repeats kept
    assert set(m.label_columns) == {"genre", "language"}  # scored, never trained on
    assert {w["where"] for w in truth.values()} >= {"tag", "sidecar_lrc", "sidecar_txt"}


def test_inspect_tells_the_owner_what_they_have(library) -> None:
    lib, truth = library
    report = inspect_dataset(lib)
    assert report.n_tracks == len(truth) and sum(report.formats.values()) == len(truth)
    assert set(report.formats) == {rel.rsplit(".", 1)[1] for rel in truth}
    assert report.n_tagged == len(truth)
    with_language = sum(bool(w["language"]) for w in truth.values())
    assert report.tags["title"] == report.tags["artist"] == report.tags["genre"] == len(truth)
    assert report.tags["language"] == with_language
    lyrics_by = {w["where"] for w in truth.values() if w["where"]}
    assert set(report.lyrics_sources) == lyrics_by
    assert sum(report.lyrics_sources.values()) == report.n_with_lyrics == sum(bool(w["lyrics"]) for w in truth.values())
    assert set(report.labels) == {"genre", "language"}
    assert report.durations is not None and report.durations.n == len(truth)  # AAC headers read by mutagen
    assert not report.undecodable or not shutil.which("ffmpeg")


def test_a_run_assign_and_export_on_the_library(library, tmp_path: Path) -> None:
    from songspace.assign import assign
    from songspace.config import load_config
    from songspace.playlists import export_playlists
    from songspace.runner import run_experiment

    lib, truth = library
    cfg_path = tmp_path / "tiny.toml"
    cfg_path.write_text(TINY_RUN + f'cache_dir = "{(tmp_path / "cache").as_posix()}"\n[representations]\n'
                        'names = ["mfcc_stats"]\n[cluster]\nalgorithms = ["kmeans"]\nk = 3\n'
                        '[plots]\ntsne = false\numap = false\nfigures = "headline"\n', encoding="utf-8")
    run = run_experiment(load_config(cfg_path, data=str(lib), out=str(tmp_path / "runs"))).folder
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert summary["tracks_used"] == len(truth) and set(summary["labels"]) == {"genre", "language"}
    assert sorted(summary["lyrics_sources"]) == sorted({w["where"] for w in truth.values() if w["where"]})
    with (run / "metrics.csv").open(encoding="utf-8", newline="") as fh:
        metrics = next(csv.DictReader(fh))
    assert np.isfinite(float(metrics["nmi_genre"])) and np.isfinite(float(metrics["nmi_language"]))

    placed = assign(run, lib)
    assert placed.n_tracks == len(truth)
    result = export_playlists(run, fmt="m3u")
    assert result.missing_audio == 0 and sum(result.counts.values()) == len(truth)
    text = "".join(f.read_text(encoding="utf-8") for f in result.files.values())
    for rel, want in truth.items():
        assert f"#EXTINF:-1,{want['artist']} - {want['title']}" in text  # the real titles, from the tags
        assert Path(rel).name in text


def test_strip_lrc_keeps_repeats_in_time_order_and_drops_stamps_and_id_tags() -> None:
    text = ("[ar:Someone]\n[ti:Song]\n[offset:+100]\n[00:01.00]first\n[00:02.00][00:04.00]chorus\n"
            "[00:03.00]<00:03.10>second <00:03.50>line\n[00:05.00]\n[Chorus: Someone]\n")
    assert strip_lrc(text) == "first\nchorus\nsecond line\nchorus\n[Chorus: Someone]\n"


def test_track_ids_keep_stems_and_name_collisions_by_path(tmp_path: Path) -> None:
    names = ["Intro.mp3", "A/B/Intro.mp3", "A/B/Intro.flac", "A/Solo.ogg", "A__B__Intro.mp3.wav"]
    ids = track_ids([tmp_path / n for n in names], tmp_path)
    # a stem that equals another file's path id is numbered: ids stay unique
    assert list(ids.values()) == ["Intro", "A__B__Intro.mp3", "A__B__Intro.flac", "Solo", "A__B__Intro.mp3 (2)"]


@pytest.mark.parametrize("version", [1, 3, 4])
def test_id3_v1_v23_v24_tags(tmp_path: Path, version: int) -> None:
    if cannot_encode("mp3"):
        pytest.skip(cannot_encode("mp3"))
    path = tmp_path / "x.mp3"
    sf.write(path, np.zeros(8000, dtype=np.float32), 8000, format="MP3")
    tags = ID3()
    tags.add(TIT2(encoding=3, text="Tokyo" if version == 1 else "Tōkyō"))
    tags.add(TPE1(encoding=3, text="Ana"))
    tags.add(TCON(encoding=3, text="(13)"))  # an ID3v1 genre number: Pop
    tags.save(path, v1=2 if version == 1 else 0, v2_version=max(version, 3))
    if version == 1:  # keep the ID3v1 tail only, as a file tagged by an old player
        data = path.read_bytes()
        path.write_bytes(data[10 + (data[6] << 21 | data[7] << 14 | data[8] << 7 | data[9]):])
    problems: list = []
    got = read_tags(path, "x.mp3", problems)
    assert problems == []
    assert (got.title, got.artist, got.genre) == ("Tokyo" if version == 1 else "Tōkyō", "Ana", "Pop")


def test_aiff_with_an_id3_chunk(tmp_path: Path) -> None:
    from mutagen.aiff import AIFF

    path = tmp_path / "x.aiff"
    sf.write(path, np.zeros(8000, dtype=np.float32), 8000, format="AIFF")
    audio = AIFF(path)
    audio.add_tags()
    audio.tags.add(TIT2(encoding=3, text="Song"))
    audio.tags.add(TLAN(encoding=3, text="ben"))
    audio.save()
    got = read_tags(path, "x.aiff", [])
    assert (got.title, got.language, got.format) == ("Song", "ben", "id3")


def test_a_format_this_machine_cannot_decode_is_named(library, monkeypatch: pytest.MonkeyPatch) -> None:
    import audioread
    import audioread.rawread

    from songspace.errors import AudioDecodeError
    from songspace.features.audio import load_clip

    lib, truth = library
    m4a = next((lib / rel for rel in truth if rel.endswith(".m4a")), None)
    if m4a is None:
        pytest.skip(cannot_encode("m4a"))
    # as on a machine without ffmpeg: audioread has only its WAV/AIFF/AU reader
    monkeypatch.setattr(audioread, "available_backends", lambda flush_cache=False: [audioread.rawread.RawAudioFile])
    report = inspect_dataset(lib, probe_audio=False)
    assert list(report.undecodable) == ["m4a"] and "install ffmpeg" in report.undecodable["m4a"]
    with pytest.raises(AudioDecodeError, match=r"cannot decode \.m4a audio on this machine.*install ffmpeg"):
        load_clip(m4a, sr=16000, clip_seconds=1.0)
