"""A corpus of named hostile inputs at the reader, features and config level (issue 17), each with its outcome.

Every case ends in one of three ways, asserted specifically: a problem listed with its reason (the valid tracks
all kept), a track kept, or one clean :class:`~songspace.errors.SongspaceError` naming what to fix. Nothing is
ever written into the dataset folder.
"""

from __future__ import annotations

import csv
import errno
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import songspace.datasets.folder as folder_mod
import songspace.datasets.paths as paths_mod
import songspace.features.extract as extract_mod
from conftest import tone
from songspace.config import FeatureConfig, load_config
from songspace.datasets import read_dataset
from songspace.datasets.inspect import inspect_dataset
from songspace.errors import ConfigError, DatasetError, SongspaceError
from songspace.features import extract_features
from songspace.features.checks import check_features

SR = 8000  # tiny audio: reading never decodes it, features decode 1 s of it
GOOD = [f"t{i:02d}" for i in range(8)]


def wav(path: Path, y: np.ndarray | None = None, *, subtype: str | None = None, seconds: float = 0.5) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(440, seconds, sr=SR) if y is None else y, SR, subtype=subtype)
    return path


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, delimiter: str = ",",
              encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def base(root: Path) -> Path:
    """Eight valid tracks with two labels (genre: 2 classes, language: 2 classes) and lyrics for half."""
    for i, tid in enumerate(GOOD):
        wav(root / "audio" / f"{tid}.wav")
        if i % 2:
            (root / "lyrics").mkdir(exist_ok=True)
            (root / "lyrics" / f"{tid}.txt").write_text("la la love song\n", encoding="utf-8")
    write_csv(root / "metadata.csv", ["track_id", "genre", "language"],
              [[tid, "ab"[i % 2], ["en", "bn"][i // 4]] for i, tid in enumerate(GOOD)])
    return root


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            out[p] = (st.st_size, st.st_mtime_ns)
    return out


# --- reader level ----------------------------------------------------------------------------------------------


@dataclass
class Case:
    """A dataset folder made by ``build`` (on top of :func:`base` unless ``plain``) and what reading it gives:
    ``problem`` = (path, reason substring) listed; ``error`` = (type, message substring) raised; ``kept`` =
    track ids present; ``check`` = any further assertion on the manifest."""

    build: Callable[[Path], object]
    problem: tuple[str, str] | None = None
    error: tuple[type[Exception], str] | None = None
    kept: list[str] = field(default_factory=lambda: list(GOOD))
    check: Callable[[object], object] | None = None
    plain: bool = False
    kwargs: dict = field(default_factory=dict)


def _symlink(src: str, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(src, dst)


def _locked(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Folders named ``name`` cannot be listed, as for another user's folder (the tests run as root, where
    chmod 000 changes nothing)."""
    real = os.scandir

    def scandir(path="."):
        if os.path.basename(os.fspath(path)) == name:
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(paths_mod.os, "scandir", scandir)


def _metadata(root: Path, header: list[str], rows: list[list[str]], **kw) -> None:
    write_csv(root / "metadata.csv", header, rows, **kw)


def _labels_table(root: Path, columns: dict[str, Callable[[int], str]]) -> None:
    _metadata(root, ["track_id", *columns], [[tid, *(f(i) for f in columns.values())] for i, tid in enumerate(GOOD)])


def _wide(n: int) -> Callable[[Path], None]:
    return lambda root: _labels_table(root, {f"c{j}": (lambda i, j=j: "xy"[(i + j) % 2]) for j in range(n)})


def _tagged(path: Path, *frames: object) -> Path:
    """A WAV file with an ID3 chunk holding ``frames`` (mutagen frames), as taggers write them into WAV."""
    from mutagen.wave import WAVE

    audio = WAVE(wav(path))
    audio.add_tags()
    for frame in frames:
        audio.tags.add(frame)
    audio.save()
    return path


def _patched(path: Path, old: bytes, new: bytes) -> Path:
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new, 1))
    return path


def _id3(name: str, text: str) -> object:
    import mutagen.id3

    if name == "USLT":
        return mutagen.id3.USLT(encoding=3, lang="eng", desc="", text=text)
    return getattr(mutagen.id3, name)(encoding=3, text=text)


def _flac_title(path: Path, title: str) -> Path:
    from mutagen.flac import FLAC

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(440, 0.5, sr=SR), SR, format="FLAC")
    audio = FLAC(path)
    audio["TITLE"] = title
    audio.save()
    return path


CASES: dict[str, Case] = {
    # links and folders
    "symlink_loop": Case(lambda r: (_symlink("loop2.wav", r / "audio" / "loop1.wav"),
                                    _symlink("loop1.wav", r / "audio" / "loop2.wav")),
                         problem=("audio/loop1.wav", "symlink loop")),
    "self_symlink": Case(lambda r: _symlink("self.wav", r / "audio" / "self.wav"), problem=("audio/self.wav", "loop")),
    "dangling_link": Case(lambda r: _symlink("nowhere.wav", r / "audio" / "gone.wav"),
                          problem=("audio/gone.wav", "broken symlink")),
    "dangling_link_without_suffix": Case(lambda r: _symlink("/nonexistent/folder", r / "audio" / "albums"),
                                         problem=("audio/albums", "broken symlink")),
    "folder_link_to_its_parent": Case(lambda r: _symlink("..", r / "audio" / "sub" / "up"),
                                      problem=("audio/sub/up", "a loop")),
    "folder_link_outside": Case(lambda r: (wav(r.parent / "elsewhere" / "x.wav"),
                                           _symlink(str(r.parent / "elsewhere"), r / "audio" / "ext")),
                                problem=("audio/ext", "outside the dataset folder; not followed")),
    "folder_link_inside": Case(lambda r: _symlink("../lyrics", r / "audio" / "also"),
                               problem=("audio/also", "link to a folder; not followed")),
    "file_link_outside": Case(lambda r: (wav(r.parent / "secret.wav"), _symlink(str(r.parent / "secret.wav"),
                                                                                 r / "audio" / "leak.wav")),
                              problem=("audio/leak.wav", "links outside the dataset folder")),
    "audio_folder_is_a_symlink_loop": Case(lambda r: _symlink("audio", r / "audio"), plain=True, kept=[],
                                           error=(DatasetError, "no usable audio")),
    "unreadable_subfolder": Case(lambda r: wav(r / "audio" / "locked" / "x.wav"),
                                 problem=("audio/locked", "folder cannot be read")),
    "unreadable_lyrics_folder": Case(lambda r: None, problem=("lyrics", "folder cannot be read"),
                                     check=lambda m: not any(t.has_lyrics for t in m.tracks)),
    "fifo_named_wav": Case(lambda r: os.mkfifo(r / "audio" / "pipe.wav"),
                           problem=("audio/pipe.wav", "not a regular file")),
    "fifo_lyrics": Case(lambda r: (os.remove(r / "lyrics" / "t01.txt"), os.mkfifo(r / "lyrics" / "t01.txt")),
                        problem=("lyrics/t01.txt", "not a regular file")),
    "fifo_metadata": Case(lambda r: (os.remove(r / "metadata.csv"), os.mkfifo(r / "metadata.csv")),
                          check=lambda m: m.label_columns == []),
    "symlink_loop_metadata": Case(lambda r: (os.remove(r / "metadata.csv"), _symlink("metadata.csv",
                                                                                     r / "metadata.csv")),
                                  check=lambda m: m.label_columns == []),
    "metadata_is_a_folder": Case(lambda r: (os.remove(r / "metadata.csv"), (r / "metadata.csv").mkdir()),
                                 check=lambda m: m.label_columns == []),
    "lyrics_is_a_file": Case(lambda r: (_rmtree(r / "lyrics"), (r / "lyrics").write_text("x")),
                             check=lambda m: not any(t.has_lyrics for t in m.tracks)),
    "lyrics_symlink_loop": Case(lambda r: (os.remove(r / "lyrics" / "t01.txt"),
                                           _symlink("t01.txt", r / "lyrics" / "t01.txt")),
                                problem=("lyrics/t01.txt", "symlink loop")),
    "lyrics_link_outside": Case(lambda r: (os.remove(r / "lyrics" / "t01.txt"), (r.parent / "x.txt").write_text("hi"),
                                           _symlink(str(r.parent / "x.txt"), r / "lyrics" / "t01.txt")),
                                problem=("lyrics/t01.txt", "outside the dataset folder")),
    "empty_wav": Case(lambda r: (r / "audio" / "empty.wav").write_bytes(b""), problem=("audio/empty.wav", "empty")),
    "folder_named_like_audio": Case(lambda r: wav(r / "audio" / "album.wav" / "t99.wav"), kept=[*GOOD, "t99"]),
    "file_name_not_utf8": Case(lambda r: os.rename(wav(r / "audio" / "cafe.wav"),
                                                   os.fsencode(r / "audio") + b"/caf\xe9.wav"),
                               problem=("audio/caf\ufffd.wav", "not valid UTF-8"), kept=[*GOOD, "caf\ufffd"]),
    "file_name_with_newline": Case(lambda r: wav(r / "audio" / "two\nlines.wav"), kept=[*GOOD, "two\nlines"]),
    "file_name_255_bytes": Case(lambda r: wav(r / "audio" / ("x" * 251 + ".wav")), kept=[*GOOD, "x" * 251]),
    "duplicate_file_in_subfolder": Case(lambda r: wav(r / "audio" / "sub" / "t03.wav"),  # the same bytes
                                        problem=("audio/t03.wav", "duplicate of audio/sub/t03.wav")),
    "same_stem_other_song_in_subfolder": Case(lambda r: wav(r / "audio" / "sub" / "t03.wav", tone(300, 0.5, sr=SR)),
                                              kept=[*GOOD, "sub__t03"]),
    # tags (issue 22): the track is kept, the bad value left out and named
    "tag_title_of_2_million_chars": Case(lambda r: _tagged(r / "audio" / "x1.wav", _id3("TIT2", "x" * 2_000_000)),
                                         problem=("audio/x1.wav", "title tag 2000000 characters"),
                                         kept=[*GOOD, "x1"]),
    "tag_binary_in_a_text_frame": Case(lambda r: _tagged(r / "audio" / "x1.wav", _id3("TPE1", "\x01\x02\x7fELF"),
                                                         _id3("TIT2", "Fine")),
                                       problem=("audio/x1.wav", "artist tag holds binary data"), kept=[*GOOD, "x1"],
                                       check=lambda m: next(t for t in m.tracks if t.track_id == "x1").title == "Fine"),
    "tag_bad_utf8_in_a_vorbis_comment": Case(lambda r: _patched(_flac_title(r / "audio" / "x1.flac", "caf\u00e9 noir"),
                                                                "\u00e9".encode(), b"\xff\xfe"),
                                             problem=("audio/x1.flac", "not valid text in its declared encoding"),
                                             kept=[*GOOD, "x1"]),
    "tag_lyrics_of_3_million_chars": Case(lambda r: _tagged(r / "audio" / "x1.wav", _id3("USLT", "la " * 1_000_000)),
                                          problem=("audio/x1.wav", "lyrics tag 2999999 characters"),
                                          kept=[*GOOD, "x1"]),
    "tag_id3_version_2_9": Case(lambda r: _patched(_tagged(r / "audio" / "x1.wav", _id3("TIT2", "Song")), b"ID3\x04",
                                                   b"ID3\x09"),
                                problem=("audio/x1.wav", "tags unreadable"), kept=[*GOOD, "x1"]),
    "tag_lyrics_markup_only": Case(lambda r: _tagged(r / "audio" / "x1.wav", _id3("USLT", "[00:01.00]\n[00:02.00]♪")),
                                   problem=("audio/x1.wav (lyrics tag)", "no letters"), kept=[*GOOD, "x1"]),
    "non_audio_named_m4a": Case(lambda r: (r / "audio" / "x1.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A " * 40),
                                kept=[*GOOD, "x1"]),  # listed; decoding will say it is not audio
    # sidecar lyrics beside the audio (t02 has no lyrics/ file)
    "sidecar_lrc_binary": Case(lambda r: (r / "audio" / "t02.lrc").write_bytes(bytes(range(256))),
                               problem=("audio/t02.lrc", "not UTF-8 nor UTF-16")),
    "sidecar_lrc_fifo": Case(lambda r: os.mkfifo(r / "audio" / "t02.lrc"),
                             problem=("audio/t02.lrc", "not a regular file")),
    "sidecar_txt_link_outside": Case(lambda r: ((r.parent / "secret.txt").write_text("la la"),
                                                _symlink(str(r.parent / "secret.txt"), r / "audio" / "t02.txt")),
                                     problem=("audio/t02.txt", "links outside the dataset folder")),
    "sidecar_txt_of_50_mb": Case(lambda r: ((r / "audio" / "t02.txt").write_text("x"),
                                            os.truncate(r / "audio" / "t02.txt", 50_000_000)),
                                 problem=("audio/t02.txt", "too large for a lyrics file")),
    "sidecar_lrc_stamps_only": Case(lambda r: (r / "audio" / "t02.lrc").write_text("[ar:x]\n[00:01.00]\n[00:02.00]\n"),
                                    problem=("audio/t02.lrc", "no letters")),
    "sidecar_lrc_is_a_folder": Case(lambda r: (r / "audio" / "t02.lrc").mkdir(),
                                    check=lambda m: not m.tracks[2].has_lyrics and not m.problems),
    "sidecar_lrc_symlink_loop": Case(lambda r: _symlink("t02.lrc", r / "audio" / "t02.lrc"),
                                     problem=("audio/t02.lrc", "lyrics file: symlink loop"),
                                     check=lambda m: not m.tracks[2].has_lyrics),
    # labels
    "1000_label_columns": Case(_wide(1000), problem=("metadata.csv", "at most max_labels = 8"),
                               check=lambda m: m.label_columns == [f"c{j}" for j in range(8)]
                               and all(len(t.labels) == 8 for t in m.tracks)),
    "12_columns_max_labels_3": Case(_wide(12), kwargs={"max_labels": 3}, problem=("metadata.csv", "9 ignored"),
                                    check=lambda m: m.label_columns == ["c0", "c1", "c2"]),
    "requested_label_beyond_the_cap": Case(_wide(12), kwargs={"labels": ["c11"]},
                                           check=lambda m: "c11" in m.label_columns and len(m.label_columns) == 8),
    "all_unique_label": Case(lambda r: _labels_table(r, {"genre": lambda i: "ab"[i % 2], "isrc": lambda i: f"X{i}"}),
                             problem=("metadata.csv", "'isrc' has 8 distinct values over 8 tracks (one per track)"),
                             check=lambda m: m.label_columns == ["genre"] and "isrc" not in m.tracks[0].labels),
    "more_values_than_half_the_tracks": Case(lambda r: _labels_table(r, {"mood": lambda i: "abcde"[min(i, 4)]}),
                                             problem=("metadata.csv", "more than half as many as tracks"),
                                             check=lambda m: m.label_columns == []),
    "single_value_label": Case(lambda r: _labels_table(r, {"genre": lambda i: "rock"}),
                               check=lambda m: m.label_columns == [] and not m.problems),
    "requested_all_unique_label": Case(lambda r: _labels_table(r, {"isrc": lambda i: f"X{i}"}), kwargs={
        "labels": ["isrc"]}, kept=[], error=(ConfigError, "labels: label column 'isrc' has 8 distinct values")),
    "requested_more_labels_than_max": Case(_wide(5), kwargs={"labels": ["c0", "c1", "c2"], "max_labels": 2},
                                           kept=[], error=(ConfigError, "max_labels = 2")),
    "path_like_column_name": Case(lambda r: _labels_table(r, {"/../../../../tmp/x/pwned": lambda i: "ab"[i % 2]}),
                                  check=lambda m: m.label_columns == ["/../../../../tmp/x/pwned"]),
    "unicode_column_names": Case(lambda r: _labels_table(r, {"ধারা": lambda i: "ab"[i % 2], "🎵": lambda i: "xy"[i % 2],
                                                             "שפה": lambda i: "pq"[i // 4]}),
                                 check=lambda m: m.label_columns == ["ধারা", "🎵", "שפה"]),
    "empty_column_name": Case(lambda r: _metadata(r, ["track_id", "", "genre"], [[t, "v", "ab"[i % 2]]
                                                                                   for i, t in enumerate(GOOD)]),
                              check=lambda m: m.label_columns == ["genre"]),
    "duplicate_column_name": Case(lambda r: _metadata(r, ["track_id", "genre", "genre"],
                                                      [[t, "ab"[i % 2], "zz"] for i, t in enumerate(GOOD)]),
                                  problem=("metadata.csv", "column 'genre' appears twice"),
                                  check=lambda m: m.tracks[1].labels["genre"] == "b"),
    # metadata.csv
    "semicolon_delimiter": Case(lambda r: _metadata(r, ["track_id", "genre"], [[t, "ab"[i % 2]]
                                                                               for i, t in enumerate(GOOD)],
                                                    delimiter=";"), check=lambda m: m.label_columns == ["genre"]),
    "tab_delimiter": Case(lambda r: _metadata(r, ["track_id", "genre"], [[t, "ab"[i % 2]] for i, t in enumerate(GOOD)],
                                              delimiter="\t"), check=lambda m: m.label_columns == ["genre"]),
    "latin1_metadata": Case(lambda r: (r / "metadata.csv").write_bytes("track_id,genre\nt01,caf\xe9\n"
                                                                      .encode("latin-1")),
                            kept=[], error=(DatasetError, "not UTF-8")),
    "utf16_metadata": Case(lambda r: (r / "metadata.csv").write_bytes("track_id,genre\nt01,x\n".encode("utf-16")),
                           kept=[], error=(DatasetError, "not UTF-8")),
    "binary_metadata": Case(lambda r: (r / "metadata.csv").write_bytes(bytes(range(256)) * 4),
                            kept=[], error=(DatasetError, "metadata.csv")),
    "no_track_id_column": Case(lambda r: _metadata(r, ["id", "genre"], [["t01", "a"]]), kept=[],
                               error=(DatasetError, "no 'track_id' column")),
    "nul_bytes_in_cells": Case(lambda r: _metadata(r, ["track_id", "genre"], [[t, "a\x00b" if i % 2 else "c"]
                                                                              for i, t in enumerate(GOOD)]),
                               check=lambda m: m.tracks[1].labels["genre"] == "a\x00b"),
    "cell_over_128_kib": Case(lambda r: _metadata(r, ["track_id", "lyrics"], [["t00", "la " * 100_000]]),
                              check=lambda m: m.tracks[0].has_lyrics),
    "quoted_newlines_and_quotes": Case(lambda r: _metadata(r, ["track_id", "genre"], [
        [t, 'a "b"\nc' if i % 2 else "d"] for i, t in enumerate(GOOD)]),
        check=lambda m: m.tracks[1].labels["genre"] == 'a "b"\nc'),
    "ragged_rows": Case(lambda r: (r / "metadata.csv").write_text("track_id,genre\nt00\nt01,a,extra,cells\nt02,b\n"
                                                                 "t03,a\nt04,b\n", encoding="utf-8"),
                        check=lambda m: m.tracks[0].labels.get("genre", "") == ""),
    "blank_lines_and_bom": Case(lambda r: (r / "metadata.csv").write_text("\ufefftrack_id,genre\n\n t00 ,a\n\n",
                                                                         encoding="utf-8")),
    "path_traversal_track_id": Case(lambda r: _metadata(r, ["track_id", "genre"], [["../../etc/passwd", "a"]]),
                                    problem=("metadata.csv:2", "path separator")),
    "nul_in_track_id": Case(lambda r: _metadata(r, ["track_id", "genre"], [["t0\x001", "a"]]),
                            problem=("metadata.csv:2", "NUL byte")),
    "duplicate_track_ids": Case(lambda r: _metadata(r, ["track_id", "genre"], [["t00", "a"], ["t00", "b"]]),
                                problem=("metadata.csv:3", "duplicate track_id 't00'")),
    "5000_rows_for_8_tracks": Case(lambda r: _metadata(r, ["track_id", "genre"], [[f"x{i}", "ab"[i % 2]]
                                                                                  for i in range(5000)]),
                                   problem=("metadata.csv", "5000 of 5000 metadata rows have no audio")),
    "unreadable_metadata": Case(lambda r: None, kept=[], error=(DatasetError, "cannot read metadata.csv")),
    # lyrics
    "binary_lyrics": Case(lambda r: (r / "lyrics" / "t01.txt").write_bytes(bytes(range(256))),
                          problem=("lyrics/t01.txt", "not UTF-8 nor UTF-16")),
    "huge_lyrics": Case(lambda r: os.truncate(r / "lyrics" / "t01.txt", 50_000_000),
                        problem=("lyrics/t01.txt", "too large for a lyrics file")),
    "lyrics_without_audio": Case(lambda r: (r / "lyrics" / "nobody.txt").write_text("hi"),
                                 problem=("lyrics/nobody.txt", "no audio file")),
    # the folder itself
    "root_is_a_file": Case(lambda r: None, kept=[], error=(DatasetError, "no such folder")),
    "no_audio_at_all": Case(lambda r: _rmtree(r / "audio"), kept=[], error=(DatasetError, "no usable audio")),
    "every_audio_file_empty": Case(lambda r: [p.write_bytes(b"") for p in (r / "audio").iterdir()], kept=[],
                                   error=(DatasetError, "empty file")),
    "io_error_on_a_file": Case(lambda r: None, kept=[], error=(DatasetError, "Input/output error")),
}


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path)


@pytest.mark.parametrize("name", list(CASES))
def test_reader_case(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[name]
    root = tmp_path / "data"
    root.mkdir()
    if not case.plain:
        base(root)
    case.build(root)
    if name == "unreadable_subfolder":
        _locked(monkeypatch, "locked")
    if name == "unreadable_lyrics_folder":
        _locked(monkeypatch, "lyrics")
    if name == "unreadable_metadata":
        real_open = Path.open

        def open_(self: Path, *args, **kwargs):
            if self.name == "metadata.csv":
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", open_)
    if name == "io_error_on_a_file":
        def io_error(path: Path, *args):
            raise OSError(errno.EIO, "Input/output error", str(path))

        monkeypatch.setattr(folder_mod, "read_metadata", io_error)
    target = root / "audio" / "t00.wav" if name == "root_is_a_file" else root
    before = snapshot(root)

    if case.error is not None:
        kind, text = case.error
        with pytest.raises(kind) as info:
            read_dataset(target, **case.kwargs)
        assert text in str(info.value)
        if "labels" not in case.kwargs:  # inspect reads as a run does, without the run's labels setting
            with pytest.raises(SongspaceError):
                inspect_dataset(target, **case.kwargs)
    else:
        m = read_dataset(target, **case.kwargs)
        ids = [t.track_id for t in m.tracks]
        assert set(case.kept) <= set(ids), "a valid track was lost"
        if case.problem is not None:
            path, text = case.problem
            got = [p.reason for p in m.problems if p.path == path]
            assert any(text in r for r in got), f"{path}: {got or [(p.path, p.reason) for p in m.problems]}"
        if case.check is not None:
            assert case.check(m), m
        report = inspect_dataset(target, **{k: v for k, v in case.kwargs.items() if k != "labels"})
        assert report.n_tracks == len(m)
        # Every problem is valid Unicode: problems.csv and the report can write it.
        for p in m.problems:
            (p.path + p.reason).encode("utf-8")
    assert snapshot(root) == before  # readers only read


# --- features level ------------------------------------------------------------------------------------------


def feature_cfg(tmp_path: Path, **kw) -> FeatureConfig:
    return FeatureConfig(cache_dir=str(tmp_path / "cache"), sample_rate=SR, clip_seconds=1.0, n_fft=512,
                         hop_length=128, n_mels=32, workers=1, batch_size=4, **kw)


def two_good(tmp_path: Path) -> list[Path]:
    return [wav(tmp_path / f"g{i}.wav", tone(300 + 200 * i, 1.2, sr=SR, seed=i)) for i in range(2)]


def float_sine(path: Path, amplitude: float) -> Path:
    y = np.sin(2 * np.pi * 440 * np.arange(int(1.2 * SR)) / SR) * amplitude
    sf.write(path, y, SR, subtype="DOUBLE" if amplitude > 3e38 else "FLOAT")
    return path


@pytest.mark.parametrize("name,amplitude,expect", [
    ("sine_x_1e30_float_wav", 1e30, "dB above full scale"),
    ("sine_x_1e5_float_wav", 1e5, "dB above full scale"),
    ("int16_values_stored_as_float", 32767.0, "dB above full scale"),
    ("sine_x_1e300_double_wav", 1e300, "NaN or infinite samples"),  # beyond float32 when decoded
    ("loud_but_sane_float_wav_plus_18_dbfs", 8.0, None),
])
def test_absurd_amplitudes_are_listed_never_cached(tmp_path: Path, name: str, amplitude: float,
                                                   expect: str | None) -> None:
    paths = [*two_good(tmp_path), float_sine(tmp_path / f"{name}.wav", amplitude)]
    cfg = feature_cfg(tmp_path)
    got = extract_features(paths, [p.stem for p in paths], cfg, device="cpu")
    assert np.isfinite(np.asarray(got.log_mel, dtype=np.float32)).all() and np.isfinite(np.asarray(got.stats)).all()
    if expect is None:
        assert got.track_ids == ["g0", "g1", name] and not got.failed
    else:
        assert got.track_ids == ["g0", "g1"]
        assert len(got.failed) == 1 and expect in got.failed[0].reason and name in got.failed[0].reason
        assert not any("nan" in str(v).lower() for v in np.asarray(got.stats).ravel())


def huge_load_clip(real, factor: float):
    """``load_clip`` that multiplies the clip of huge*.wav by ``factor`` after every check of the decoder, as if
    a decoder let absurd samples through: only the feature check stands between them and the cache."""

    def load(path, **kw):
        clip = real(path, **kw)
        return clip * np.float32(factor) if Path(path).name.startswith("huge") else clip

    return load


@pytest.mark.parametrize("factor,workers", [(1e30, 1), (1e12, 1), (1e30, 2)])
def test_features_out_of_range_are_checked_after_computing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           factor: float, workers: int) -> None:
    paths = [*two_good(tmp_path), wav(tmp_path / "huge.wav", tone(500, 1.2, sr=SR))]
    cfg = feature_cfg(tmp_path).model_copy(update={"workers": workers})
    monkeypatch.setattr(extract_mod, "load_clip", huge_load_clip(extract_mod.load_clip, factor))
    got = extract_features(paths, [p.stem for p in paths], cfg, device="cpu")
    assert got.track_ids == ["g0", "g1"]
    reason = got.failed[0].reason
    assert str(paths[2]) in reason and "not cached" in reason
    assert ("NaN or infinite" in reason) if factor > 1e20 else ("outside the -200..200 dB" in reason)
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 2 and not list((tmp_path / "cache").rglob("*.err"))
    again = extract_features(paths, [p.stem for p in paths], cfg, device="cpu")
    assert again.n_computed == 1  # never cached: computed (and refused) again


def _first_item(tmp_path: Path) -> Path:
    return sorted((tmp_path / "cache").rglob("items/*/*.npz"))[0]


def _damage_truncate(item: Path) -> None:
    item.write_bytes(item.read_bytes()[:100])


def _damage_garbage(item: Path) -> None:
    item.write_bytes(b"not a zip file at all" * 10)


def _damage_shapes(item: Path) -> None:
    with item.open("wb") as fh:
        np.savez(fh, log_mel=np.zeros((3, 3), np.float16), stats=np.zeros(2, np.float32))


def _damage_nan(item: Path) -> None:  # as cached by a version without the feature check
    with np.load(item) as z:
        mel, stats = z["log_mel"].copy(), z["stats"].copy()
    mel[0, 0] = np.nan
    with item.open("wb") as fh:
        np.savez(fh, log_mel=mel, stats=stats)


def _damage_missing_key(item: Path) -> None:
    with item.open("wb") as fh:
        np.savez(fh, log_mel=np.zeros((3, 3), np.float16))


def _damage_folder(item: Path) -> None:
    item.unlink()
    (item / "x").mkdir(parents=True)


@pytest.mark.parametrize("damage", [_damage_truncate, _damage_garbage, _damage_shapes, _damage_nan,
                                    _damage_missing_key, _damage_folder],
                         ids=["truncated_npz", "garbage_npz", "wrong_shapes_npz", "nan_in_cached_npz",
                              "npz_missing_stats", "folder_named_like_an_item"])
def test_a_damaged_cache_item_is_logged_deleted_and_recomputed(tmp_path: Path, damage, caplog) -> None:
    paths = two_good(tmp_path)
    cfg = feature_cfg(tmp_path)
    first = extract_features(paths, ["g0", "g1"], cfg, device="cpu")
    ref = np.asarray(first.stats).copy()
    _rmtree(next((tmp_path / "cache").rglob("sets")))  # so that the set is assembled from the items again
    damage(_first_item(tmp_path))
    with caplog.at_level(logging.WARNING, logger="songspace.features"):
        healed = extract_features(paths, ["g0", "g1"], cfg, device="cpu")
    assert healed.track_ids == ["g0", "g1"] and not healed.failed and healed.n_computed == 1
    np.testing.assert_array_equal(np.asarray(healed.stats), ref)
    assert "damaged cache item" in caplog.text
    assert extract_features(paths, ["g0", "g1"], cfg, device="cpu").n_computed == 0  # healed for good


@pytest.mark.parametrize("where,content", [("index.json", b"[1, 2, 3]"), ("index.json", b"{not json"),
                                           ("index.json", b'{"/x": "y", "%s": [1]}'),
                                           ("set", b"\x93NUMPY garbage")],
                         ids=["index_is_a_list", "index_not_json", "index_wrong_entries", "truncated_set"])
def test_damaged_index_or_set_is_rebuilt(tmp_path: Path, where: str, content: bytes) -> None:
    paths = two_good(tmp_path)
    cfg = feature_cfg(tmp_path)
    first = np.array(extract_features(paths, ["g0", "g1"], cfg, device="cpu").log_mel)  # a copy: the file is damaged
    if where == "set":
        next((tmp_path / "cache").rglob("sets/*/log_mel.npy")).write_bytes(content)
    else:
        next((tmp_path / "cache").rglob("index.json")).write_bytes(content.replace(b"%s", str(paths[0]).encode()))
    again = extract_features(paths, ["g0", "g1"], cfg, device="cpu")
    assert again.n_computed == 0 and again.track_ids == ["g0", "g1"]
    np.testing.assert_array_equal(np.asarray(again.log_mel), first)


def test_a_damaged_error_item_is_tried_again(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEfmt garbage")
    paths = [*two_good(tmp_path), bad]
    cfg = feature_cfg(tmp_path)
    extract_features(paths, ["g0", "g1", "bad"], cfg, device="cpu")
    next((tmp_path / "cache").rglob("*.err")).write_bytes(b"\xff\xfe\x00\xd8 not utf-8")
    again = extract_features(paths, ["g0", "g1", "bad"], cfg, device="cpu")
    assert again.n_computed == 1 and "cannot decode audio" in again.failed[0].reason


def test_a_file_squatting_on_the_items_folder_is_removed(tmp_path: Path) -> None:
    paths = two_good(tmp_path)
    cfg = feature_cfg(tmp_path)
    extract_features(paths, ["g0", "g1"], cfg, device="cpu")
    items = next((tmp_path / "cache").rglob("items"))
    _rmtree(items)
    items.write_text("in the way")
    got = extract_features(paths, ["g0", "g1"], cfg, device="cpu")
    assert got.track_ids == ["g0", "g1"] and items.is_dir()


def test_check_features_names_what_is_wrong() -> None:
    mel, stats = np.zeros((4, 5), np.float32), np.zeros(3, np.float32)
    assert check_features(mel, stats) is None
    assert "NaN or infinite" in check_features(np.full((4, 5), np.inf, np.float16), stats)
    assert "outside the -200..200 dB" in check_features(mel + 250.0, stats)
    assert "statistic(s) are NaN" in check_features(mel, np.array([0.0, np.nan, 1.0]))
    assert "beyond the 1e+06" in check_features(mel, np.array([0.0, -3e6, 1.0]))


# --- config level --------------------------------------------------------------------------------------------


CONFIG_CASES: dict[str, tuple[str, str | None]] = {
    # name: (TOML, substring of the ConfigError; None: loads)
    "sample_rate_100": ("[features]\nsample_rate = 100", "sample_rate = 100 Hz is outside the allowed range "
                                                          "4000..192000 Hz"),
    "sample_rate_1e6": ("[features]\nsample_rate = 1000000", "4000..192000 Hz"),
    "sample_rate_text": ('[features]\nsample_rate = "fast"', "sample_rate"),
    "sample_rate_fraction": ("[features]\nsample_rate = 22050.5", "sample_rate"),
    "clip_seconds_0.001": ("[features]\nclip_seconds = 0.001", "clip_seconds = 0.001 s is outside the allowed "
                                                                 "range 0.5..600 s"),
    "clip_seconds_1e9": ("[features]\nclip_seconds = 1e9", "0.5..600 s"),
    "clip_seconds_nan": ("[features]\nclip_seconds = nan", "finite number"),
    "clip_seconds_inf": ("[features]\nclip_seconds = inf", "finite number"),
    "n_fft_zero": ("[features]\nn_fft = 0", "n_fft"),
    "n_fft_huge": ("[features]\nn_fft = 1048576", "n_fft = 1048576 is outside the allowed range 256..65536"),
    "n_fft_16": ("[features]\nn_fft = 16\nhop_length = 16", "n_fft = 16 is outside the allowed range 256..65536"),
    "bins_too_wide": ("[features]\nsample_rate = 192000\nn_fft = 512", "gives FFT bins 375 Hz apart, more than 200 Hz "
                                                                        "(allowed: n_fft 960..65536"),
    "hop_length_1": ("[features]\nhop_length = 1\nclip_seconds = 60.0", "1025 x 1323001 values, more than 67108864"),
    "too_many_mels_per_clip": ("[features]\nclip_seconds = 600.0\nhop_length = 256\nn_mels = 512",
                               "log-mel values per clip, more than 16777216"),
    "min_seconds_above_clip": ("[features]\nclip_seconds = 5.0\nmin_seconds = 30.0",
                               "min_seconds = 30 s must be at most clip_seconds = 5 s"),
    "hop_longer_than_frame": ("[features]\nhop_length = 4096", "hop_length = 4096 must be at most n_fft = 2048"),
    "n_fft_longer_than_clip": ("[features]\nsample_rate = 4000\nclip_seconds = 0.5\nmin_seconds = 0.5\n"
                               "n_fft = 4096\nn_mels = 16",
                               "n_fft = 4096 is longer than one clip (sample_rate x clip_seconds = 2000 samples"),
    "empty_mel_bands": ("[features]\nn_fft = 512\nn_mels = 256", "mel band(s) would hold no FFT bin (allowed: 1..1"),
    "fmax_above_nyquist": ("[features]\nfmax = 20000.0", "fmax = 20000 Hz is outside the allowed range 0..11025"),
    "fmin_above_fmax": ("[features]\nfmin = 5000.0\nfmax = 4000.0", "fmin = 5000 Hz must be below fmax = 4000 Hz"),
    "n_mfcc_above_n_mels": ("[features]\nn_mels = 16\nn_mfcc = 40", "n_mfcc = 40 is more than n_mels = 16"),
    "100000_workers": ("[features]\nworkers = 100000", "workers"),
    "cache_dir_empty": ('[features]\ncache_dir = ""', "does not name a folder"),
    "cache_dir_is_a_file": ("[features]\ncache_dir = '{file}'", "is a file, not a folder"),
    "cache_dir_under_a_file": ("[features]\ncache_dir = '{file}/sub'", "is a file, not a folder"),
    "checkpoint_dir_is_a_file": ("[train]\ncheckpoint_dir = '{file}'", "checkpoint_dir"),
    "device_gpu0": ('[train]\ndevice = "gpu0"', "device = 'gpu0' is not one of auto, cpu, cuda, cuda:N"),
    "lr_inf": ("[train]\nlr = inf", "finite number"),
    "max_labels_0": ("max_labels = 0", "max_labels"),
    "nested_too_deeply": ("x = " + "[" * 5000 + "]" * 5000, "nested too deeply"),
    "smallest_runnable": ("[features]\nsample_rate = 4000\nclip_seconds = 0.5\nmin_seconds = 0.5\nn_fft = 256\n"
                          "hop_length = 1\nn_mels = 1\nn_mfcc = 1", None),
    "largest_runnable": ("[features]\nsample_rate = 192000\nclip_seconds = 600.0\nn_fft = 65536\n"
                         "hop_length = 65536\nn_mels = 256", None),
}


@pytest.mark.parametrize("name", list(CONFIG_CASES))
def test_config_case(name: str, tmp_path: Path) -> None:
    text, expect = CONFIG_CASES[name]
    file = tmp_path / "a_file"
    file.write_text("x")
    path = tmp_path / "c.toml"
    path.write_text(text.replace("{file}", str(file)), encoding="utf-8")
    if expect is None:
        assert load_config(path).features.sample_rate in (4000, 192000)
        return
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert expect in str(info.value) and str(path) in str(info.value)


def test_the_smallest_runnable_features_are_finite(tmp_path: Path) -> None:
    # The corner the config allows runs: the shortest clip at the lowest rate, 256-sample frames every sample,
    # one mel band, one MFCC.
    cfg = load_config(**{"features.sample_rate": 4000, "features.clip_seconds": 0.5, "features.n_fft": 256,
                         "features.hop_length": 1, "features.n_mels": 1, "features.n_mfcc": 1,
                         "features.min_seconds": 0.5,
                         "features.cache_dir": str(tmp_path / "c"), "features.workers": 1}).features
    path = wav(tmp_path / "a.wav", tone(300, 1.0, sr=4000))
    got = extract_features([path], ["a"], cfg, device="cpu")
    assert got.track_ids == ["a"] and np.isfinite(np.asarray(got.stats)).all()

