"""A corpus of named hostile inputs at the reader, features and config level (issue 17), each with its outcome.

Every case ends in one of three ways, asserted specifically: a problem listed with its reason (the valid tracks
all kept), a track kept, or one clean :class:`~songspace.errors.SongspaceError` naming what to fix. Nothing is
ever written into the dataset folder.
"""

from __future__ import annotations

import csv
import errno
import json
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


SECRET = "root:x:0:0:root:/root:/bin/bash"


def _secret(path: Path) -> None:
    path.write_text(f"{SECRET}\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n", encoding="utf-8")


def _run_folder_in(out: Path) -> None:
    """A run folder written inside the dataset (``--out`` in the music folder), holding audio clips."""
    from songspace.runfolder import RunFolder

    run = RunFolder.create(out, "x")
    run.path.rename(run.path.parent / "x")
    wav(out / "x" / "clips" / "t00.wav")
    wav(out / "x" / "clips" / "c1.wav")


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
    "metadata_link_outside": Case(lambda r: (os.remove(r / "metadata.csv"), _secret(r.parent / "passwd"),
                                             _symlink(str(r.parent / "passwd"), r / "metadata.csv")),
                                  problem=("metadata.csv", "links outside the dataset folder; not read"),
                                  check=lambda m: m.label_columns == [] and SECRET not in repr(m.problems)),
    "run_folder_inside_the_music_folder": Case(lambda r: _run_folder_in(r / "audio" / "runs"),
                                               problem=("audio/runs/x", "a folder songspace wrote"),
                                               check=lambda m: len(m.tracks) == len(GOOD)),
    "runs_inside_a_plain_music_folder": Case(lambda r: ([wav(r / f"{t}.wav") for t in GOOD],
                                                        _run_folder_in(r / "runs")), plain=True,
                                             problem=("runs/x", "a folder songspace wrote"),
                                             check=lambda m: sorted(t.track_id for t in m.tracks) == GOOD),
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
                            problem=("metadata.csv", "not UTF-8; decoded as cp1252")),  # one row: no label
    "windows_1252_metadata": Case(lambda r: (r / "metadata.csv").write_bytes(
        b"track_id,genre,language\n" + "".join(f"{t},{'Québec' if i % 2 else 'Zürich'},{'fr'}\n"
                                                        for i, t in enumerate(GOOD)).encode("cp1252")),
        problem=("metadata.csv", "decoded as cp1252 (Windows Western European) and read"),
        check=lambda m: m.tracks[1].labels["genre"] == "Québec" and m.tracks[0].labels["genre"] == "Zürich"),
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
    # issue 23: every numeric setting bounded, checked before any work
    "hidden_dims_negative": ("[model]\nhidden_dims = [64, -4]", "hidden_dims"),
    "latent_dim_1e6": ("[model]\nlatent_dim = 1000000", "latent_dim"),
    "lyrics_components_1e9": ("[representations]\nlyrics_components = 1000000000", "lyrics_components"),
    "n_init_1e9": ("[cluster]\nn_init = 1000000000", "n_init"),
    "n_seeds_10000": ("n_seeds = 10000", "n_seeds"),
    "seed_negative": ("seed = -1", "seed"),
    "seed_above_2_32": ("seed = 4294967296", "seed"),
    "last_seed_above_2_32": ("seed = 4294967290\nn_seeds = 10", "seed + n_seeds - 1 = 4294967299 is above 4294967295"),
    "beta_inf": ("[model]\nbeta = inf", "beta"),
    "beta_1e300": ("[model]\nbeta = 1e300", "beta"),
    "epochs_1e12": ("[train]\nepochs = 1000000000000", "epochs"),
    "out_with_nul": ('out = "runs\\u0000x"', "NUL byte"),
    "toml_syntax_error": ("seed = \n[features", "not valid TOML"),
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


def test_a_config_with_a_bom_loads_and_a_folder_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes("\ufeffseed = 3\n[cluster]\nk = 4\n".encode())  # Notepad's UTF-8 with BOM
    cfg = load_config(path)
    assert cfg.seed == 3 and cfg.cluster.k == 4
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)


@pytest.mark.parametrize("args,text", [
    (["--config", "{folder}"], "is a folder"), (["--config", "{bad}"], "not valid TOML"),
    (["--seeds", "10000"], "--seeds must be at most 100 (got 10000)"), (["--seed", "-1"], "--seed must be at least 0"),
    (["--config", "{neg}"], "model.hidden_dims must be at least 1 (got -4)"), (["--out", "a\x00b"], "--out"),
])
def test_config_extremes_are_one_error_line_before_any_work(tmp_path: Path, args: list[str], text: str) -> None:
    from typer.testing import CliRunner

    from songspace.cli import app

    (tmp_path / "bad.toml").write_text("seed = \n", encoding="utf-8")
    (tmp_path / "neg.toml").write_text("[model]\nhidden_dims = [-4]\n", encoding="utf-8")
    files = {"folder": str(tmp_path), "bad": str(tmp_path / "bad.toml"), "neg": str(tmp_path / "neg.toml")}
    got = CliRunner().invoke(app, ["run", str(tmp_path / "no-data"), *[a.format(**files) for a in args]])
    assert got.exit_code == 2 and got.exc_info[0] is SystemExit, (got.output, got.exc_info)
    lines = got.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and text in lines[0], got.output


def test_unknown_eval_show_names_are_refused_before_features(tmp_path: Path) -> None:
    from conftest import tiny_run

    with pytest.raises(ConfigError, match="eval.show: 'nmi_genr' not a metrics.csv column"):
        tiny_run(tmp_path, representations=("pca",), clusterers=("kmeans",), extra="[eval]\nshow = ['nmi_genr']\n")
    assert not (tmp_path / "runs").exists() and not (tmp_path / "cache").exists()  # before any work


def test_a_diverged_training_is_reported_and_its_rows_are_not_scored() -> None:
    from songspace.config import TrainConfig
    from songspace.experiment import cluster_and_score
    from songspace.models import build_model
    from songspace.representations.base import Representation
    from songspace.training import RowDataset, train

    X = np.random.default_rng(0).standard_normal((24, 6)).astype(np.float32)
    model = build_model("mlp_vae", input_shape=(6,), latent_dim=2, hidden_dims=[8])
    hist = train(model, RowDataset(X), TrainConfig(epochs=20, batch_size=8, lr=1e30, checkpoint_minutes=0), seed=0)
    assert "training diverged" in hist.diverged and len(hist.train) < 20
    rep = Representation("vae", np.random.default_rng(1).standard_normal((24, 2)).astype(np.float32), "z",
                         history=hist)
    cfg = load_config(**{"n_seeds": 1})
    got = cluster_and_score(cfg, rep, "kmeans", 3, X, {"genre": ["a", "b", "c"] * 8})
    assert got.labels is None and "training diverged" in got.row["notes"] and "not scored" in got.row["notes"]
    assert "nmi_genre" not in got.row or not np.isfinite(got.row.get("nmi_genre", np.nan))


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



# --- run-folder level (issue 23): commands on a run folder someone changed ----------------------------------------


def _npz_edit(rel: str, **changes) -> Callable[[Path], None]:
    """Rewrite ``rel`` with some arrays replaced (a value of None drops the array)."""

    def edit(run: Path) -> None:
        with np.load(run / rel) as z:
            arrays = {k: z[k] for k in z.files}
        arrays.update(changes)
        np.savez(run / rel, **{k: v for k, v in arrays.items() if v is not None})

    return edit


def _write(rel: str, data: bytes) -> Callable[[Path], None]:
    return lambda run: (run / rel).write_bytes(data)


def _big_cell(run: Path) -> None:
    path = run / "assignments.csv"
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    rows[1][rows[0].index("title")] = "x" * 5_000_000
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)


RUN_CASES: dict[str, tuple[Callable[[Path], object], list[str], str, str]] = {
    # name: (damage, command (RUN = the run folder, DATA = its dataset), method that must fail, text of its
    #        reason or of the one error line); every other method of the run is still placed
    "cluster_state_other_shapes": (_npz_edit("state/vae+kmeans.npz", centroids=np.zeros((3, 7))), ["assign"],
                                   "vae+kmeans", "array 'centroids' has shape (3, 7)"),
    "cluster_state_nan": (_npz_edit("state/vae+gmm.npz", means=np.full((3, 3), np.nan)), ["assign"], "vae+gmm",
                          "NaN or infinite"),
    "cluster_state_classes_too_few": (_npz_edit("state/pca+kmeans.npz", classes=np.array([0, 1])), ["assign"],
                                      "pca+kmeans", "array 'classes' has shape (2,), expected (3,)"),
    "cluster_state_missing_array": (_npz_edit("state/pca+gmm.npz", weights=None), ["assign"], "pca+gmm",
                                    "no array 'weights'"),
    "representation_state_missing_array": (_npz_edit("state/pca.npz", stat_names=None), ["assign"], "pca+kmeans",
                                           "no array 'stat_names'"),
    "representation_state_other_shapes": (_npz_edit("state/pca.npz", components=np.zeros((3, 5))), ["assign"],
                                           "pca+gmm", "do not fit together"),
    "representation_state_object_array": (_npz_edit("state/pca.npz", stats_mean=np.array([None, 1], dtype=object)),
                                          ["assign"], "pca+kmeans", "not a readable .npz"),
    "garbage_state_npz": (_write("state/pca.npz", b"garbage " * 20), ["assign"], "pca+kmeans", "not a readable .npz"),
    "npy_named_npz": (lambda run: np.save(open(run / "state" / "pca.npz", "wb"), np.zeros(3)), ["assign"], "pca+gmm",
                      "not a readable .npz"),
    "garbage_model_pt": (_write("models/vae.pt", b"garbage " * 20), ["assign"], "vae+kmeans",
                         "models/vae.pt: not a model saved by songspace"),
    "truncated_model_pt": (lambda run: (run / "models" / "vae.pt").write_bytes((run / "models" / "vae.pt")
                                                                                .read_bytes()[:300]), ["assign"],
                           "vae+gmm", "models/vae.pt: not a model saved by songspace"),
    "cell_over_128_kib_in_assignments": (_big_cell, ["export"], "", ""),
}


@pytest.mark.parametrize("name", list(RUN_CASES))
def test_run_folder_case(name: str, finished_run: Path, tmp_path: Path) -> None:
    import shutil

    from typer.testing import CliRunner

    from songspace.cli import app

    damage, command, method, text = RUN_CASES[name]
    run = Path(shutil.copytree(finished_run, tmp_path / "run"))
    damage(run)
    data = json.loads((run / "summary.json").read_text(encoding="utf-8"))["dataset"]
    args = [*command, str(run), *([data] if command == ["assign"] else [])]
    limit = csv.field_size_limit(131072)  # csv's default, as in a fresh `songspace export` process
    try:
        got = CliRunner().invoke(app, args)
    finally:
        csv.field_size_limit(limit)
    assert got.exc_info is None or got.exc_info[0] is SystemExit, got.exc_info
    assert "Traceback" not in got.output and "allow_pickle" not in got.output and "pickle.load" not in got.output
    assert got.exit_code == 0, got.output
    if command == ["assign"]:
        summary = json.loads(next((run / "assigned").glob("*/summary.json")).read_text(encoding="utf-8"))
        assert method in summary["not_assignable"] and text in summary["not_assignable"][method]
        assert set(summary["methods"]) == {f"{r}+{c}" for r in ("pca", "vae") for c in ("kmeans", "gmm")} - {
            m for m in summary["not_assignable"]}
        assert len(summary["methods"]) >= 2  # the intact methods are still placed
    else:
        assert list((run / "playlists").rglob("*.m3u8"))


def _add_columns(columns: dict[str, Callable[[int, dict[str, str]], str]]) -> Callable[[Path], None]:
    """Add label columns to a generated dataset's metadata.csv (value from the row's index and cells)."""

    def edit(data: Path) -> None:
        rows = list(csv.DictReader((data / "metadata.csv").open(encoding="utf-8", newline="")))
        for i, row in enumerate(rows):
            row.update({name: f(i, row) for name, f in columns.items()})
        with (data / "metadata.csv").open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)

    return edit


def test_labels_named_like_run_folder_columns_are_left_out_with_a_note(tmp_path: Path) -> None:
    from conftest import tiny_run
    from songspace.playlists import export_playlists

    run = tiny_run(tmp_path, representations=("pca",), clusterers=("kmeans",), edit_data=_add_columns({
        "audio_path": lambda i, r: f"../../elsewhere/{i % 2}.wav", "genre_std": lambda i, r: "xy"[i % 2],
        "pca+kmeans": lambda i, r: "pq"[i % 2]}))
    with (run / "assignments.csv").open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
        rows = list(csv.DictReader(fh, fieldnames=header))
    assert len(header) == len(set(header)) and header.count("audio_path") == 1 and header.count("pca+kmeans") == 1
    assert all(r["audio_path"] == f"audio/{r['track_id']}.wav" for r in rows)
    assert {r["pca+kmeans"] for r in rows} <= {"0", "1", "2"}  # the method's clusters, not the label's values
    with (run / "metrics.csv").open(encoding="utf-8", newline="") as fh:
        metrics = next(csv.reader(fh))
    assert len(metrics) == len(set(metrics)) and "nmi_genre" in metrics
    notes = json.loads((run / "summary.json").read_text(encoding="utf-8"))["notes"]
    for name in ("audio_path", "genre_std", "pca+kmeans"):
        assert any(f"label column {name!r} not used" in n for n in notes), notes
    export = export_playlists(run, method="pca+kmeans", fmt="m3u")
    text = "".join(p.read_text(encoding="utf-8") for p in export.files.values())
    assert "elsewhere" not in text and text.count("#EXTINF") == 9


def test_a_requested_label_named_like_a_column_is_refused(tmp_path: Path) -> None:
    from conftest import tiny_run

    with pytest.raises(ConfigError, match="label column 'audio_path' cannot be used"):
        tiny_run(tmp_path, representations=("pca",), clusterers=("kmeans",), labels=["genre", "audio_path"],
                 edit_data=_add_columns({"audio_path": lambda i, r: "ab"[i % 2]}))


# --- names that break outputs (issue 23): playlists, terminal, spreadsheets ----------------------------------------

HOSTILE_NAMES = ["two\nlines", "esc\x1b]0;pwned\x07title", "bell\x07\x1b[2J"]


def _hostile_names(data: Path) -> None:
    from conftest import tone as make_tone
    from conftest import write_wav

    for i, name in enumerate(HOSTILE_NAMES):
        write_wav(data / "audio" / f"{name}.wav", make_tone(330 * (i + 1), 1.5, seed=40 + i))
    _add_columns({"mood": lambda i, r: ["[/]", "[bold]x"][i % 2]})(data)
    rows = list(csv.DictReader((data / "metadata.csv").open(encoding="utf-8", newline="")))
    for row, title in zip(rows, ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\ttab", "[/]"],
                          strict=False):
        row["title"] = title
    rows[0]["artist"] = ":smile: [/]"
    with (data / "metadata.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


@pytest.fixture(scope="module")
def hostile_names_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A `songspace run` through the CLI on a dataset folder named ``my:x:music[/]`` whose file names hold line
    breaks and terminal escapes, whose metadata holds formulas and markup: the run folder and what it printed."""
    from typer.testing import CliRunner

    from conftest import TINY_RUN, make_dataset
    from songspace.cli import app

    root = tmp_path_factory.mktemp("names")
    data = make_dataset(root / "my:x:music[/]", n=9)
    _hostile_names(data)
    cfg = root / "c.toml"
    cfg.write_text(TINY_RUN + f'cache_dir = "{(root / "cache").as_posix()}"\n[representations]\nnames = ["pca"]\n'
                   '[cluster]\nalgorithms = ["kmeans"]\nk = 3\n[plots]\ntsne = false\numap = false\n')
    got = CliRunner().invoke(app, ["run", str(data), "--config", str(cfg), "--out", str(root / "runs"),
                                   "--no-report"])
    assert got.exit_code == 0 and got.exc_info[0] is SystemExit, (got.output, got.exc_info)
    return next((root / "runs").iterdir()), got.output


def _no_terminal_controls(text: str) -> None:
    assert not any(ch in text for ch in "\x1b\x07\x00\x9b"), repr(text)


def test_names_with_markup_emoji_codes_and_escapes_print_as_written(hostile_names_run) -> None:
    from typer.testing import CliRunner

    from songspace.cli import app

    run, output = hostile_names_run
    _no_terminal_controls(output)
    assert "❌" not in output and "😄" not in output  # no emoji from ':x:' or ':smile:'
    data = json.loads((run / "summary.json").read_text(encoding="utf-8"))["dataset"]
    got = CliRunner().invoke(app, ["inspect", data, "--no-probe"])
    assert got.exit_code == 0, got.output
    _no_terminal_controls(got.output)
    assert "[/]" in got.output and "[bold]x" in got.output and "my:x:music[/]" in got.output  # as written
    assert "two\\nlines" in got.output or "two" not in got.output  # a name's line break shown escaped, if shown


def test_m3u_entries_stay_one_line_each(hostile_names_run) -> None:
    from songspace.playlists import export_playlists

    run, _ = hostile_names_run
    result = export_playlists(run, method="pca+kmeans", fmt="m3u")
    lines = "".join(p.read_text(encoding="utf-8") for p in result.files.values()).split("\n")
    extinf = [i for i, line in enumerate(lines) if line.startswith("#EXTINF")]
    assert len(extinf) == 12  # 9 tracks + the 3 hostile names
    paths = [lines[i + 1] for i in extinf]
    assert all(p and not p.startswith("#") for p in paths)
    assert len([line for line in lines if line and not line.startswith("#")]) == 12
    assert sum(p.startswith("file://") and "%0A" in p for p in paths) == 1  # the newline, percent-encoded
    _no_terminal_controls("\n".join(lines))


def test_csv_export_neutralises_formula_cells(hostile_names_run) -> None:
    from songspace.playlists import export_playlists

    run, _ = hostile_names_run
    result = export_playlists(run, method="pca+kmeans", fmt="csv", out=run.parent / "csv-out")
    cells = [c for p in result.files.values() for row in csv.reader(p.open(encoding="utf-8", newline=""))
             for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and c != "-1")]
    assert "'=HYPERLINK(\"http://x\")" in cells and "'-2+3" in cells and "'@SUM(A1)" in cells


# --- degenerate but legal collections (issue 23) ----------------------------------------------------------------


def test_block_scaling_does_not_amplify_a_block_that_barely_varies() -> None:
    from songspace.fusion import Block, block_scale, variance_shares

    rng = np.random.default_rng(0)
    words = rng.standard_normal((40, 8))
    one_language = np.tile([0.0, 1.0, 0.0], (40, 1)) + 1e-8 * rng.standard_normal((40, 3))  # float noise only
    assert block_scale(one_language).var(0).sum() < 1e-6
    np.testing.assert_allclose(block_scale(words).var(0).sum(), 1.0, rtol=1e-5)
    two_languages = np.eye(2)[np.arange(40) % 2]  # a real split keeps unit variance
    np.testing.assert_allclose(block_scale(two_languages).var(0).sum(), 1.0, rtol=1e-5)
    shares = variance_shares([Block("words", words), Block("language", one_language)])
    assert shares["words"] > 0.99


def test_a_one_language_collection_clusters_by_topic_with_lyrics_and_kmeans(tmp_path: Path) -> None:
    from conftest import TINY_RUN, make_bengali_topics
    from songspace.runner import run_experiment

    data = make_bengali_topics(tmp_path / "data", n=16)
    cfg = tmp_path / "c.toml"
    cfg.write_text(TINY_RUN + f'cache_dir = "{(tmp_path / "cache").as_posix()}"\n'
                   '[representations]\nnames = ["lyrics", "hybrid_features"]\n'
                   '[cluster]\nalgorithms = ["kmeans"]\nk = 2\n[plots]\ntsne = false\numap = false\n')
    result = run_experiment(load_config(cfg, data=str(data), out=str(tmp_path / "runs")))
    nmi = {r["method"]: r["nmi_topic"] for r in result.metrics}
    assert nmi["lyrics+kmeans"] >= 0.9 and nmi["hybrid_features+kmeans"] >= 0.9, nmi  # was 0.18 and 0.18


# --- passed, but read badly (issue 23) ----------------------------------------------------------------------------


def test_tsne_of_a_few_tracks_runs_on_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_info

    from songspace.visualisation.figures import project_2d

    seen: list[int] = []
    real = TSNE.fit_transform

    def fit_transform(self, X, y=None):
        seen.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp")
        return real(self, X)

    monkeypatch.setattr(TSNE, "fit_transform", fit_transform)
    xy = project_2d(np.random.default_rng(0).standard_normal((8, 5)).astype(np.float32), "tsne", seed=0)
    assert xy.shape == (8, 2) and np.isfinite(xy).all()
    assert seen and max(seen) == 1, seen  # no OpenMP threads spinning for 8 points


# --- signals (issue 23) -------------------------------------------------------------------------------------------

_SLOW = """
import os, sys, time
import songspace.features.extract as extract
import songspace.training as training
flag, stage = sys.argv.pop(1), sys.argv.pop(1)
real_featurize, real_train = extract.featurize, training.train
def featurize(*args, **kwargs):
    open(flag, "a").close()
    time.sleep(1.5)
    return real_featurize(*args, **kwargs)
def train(*args, **kwargs):
    open(flag, "a").close()
    time.sleep(60)
if stage == "features":
    extract.featurize = featurize
else:
    training.train = train
    import songspace.representations.base as base
    base.train = train
from songspace.cli import main
sys.argv[0] = "songspace"
main()
"""


def _stop_a_run(tmp_path: Path, stage: str, sig: int) -> tuple[int, str, Path]:
    """Start `songspace run` (2 feature workers) in its own process group, wait until it is in ``stage``, send
    ``sig`` as a terminal (SIGINT: to the group) or `kill` (SIGTERM: to the process) does; its exit code, output,
    and the runs folder. Fails if any process of the group is left running."""
    import signal
    import subprocess
    import sys
    import time

    from conftest import TINY_RUN, make_dataset

    data = make_dataset(tmp_path / "data", n=6)
    cfg = tmp_path / "c.toml"
    cfg.write_text(TINY_RUN.replace("workers = 1", "workers = 2") + f'cache_dir = "{(tmp_path / "cache").as_posix()}"'
                   '\n[representations]\nnames = ["vae"]\n[cluster]\nalgorithms = ["kmeans"]\nk = 2\n'
                   '[train]\nresume = false\n[plots]\ntsne = false\numap = false\n', encoding="utf-8")
    flag = tmp_path / "started"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", _SLOW, str(flag), stage, "run", str(data), "--config", str(cfg),
                             "--out", str(tmp_path / "runs"), "--no-report"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    time.sleep(0.5)
    try:
        os.killpg(proc.pid, 0)
        left = True
    except ProcessLookupError:
        left = False
    if left:
        os.killpg(proc.pid, signal.SIGKILL)
    assert not left, "a worker process was left running"
    return proc.returncode, out.decode("utf-8", "replace"), tmp_path / "runs"


def test_ctrl_c_during_features_stops_cleanly(tmp_path: Path) -> None:
    import signal

    code, out, _ = _stop_a_run(tmp_path, "features", signal.SIGINT)
    assert code == 130, out
    assert "Traceback" not in out and "KeyboardInterrupt" not in out and "interrupted." in out, out


def test_sigterm_during_training_exits_143_and_marks_the_run_folder_unfinished(tmp_path: Path) -> None:
    import signal

    from typer.testing import CliRunner

    from songspace.cli import app

    code, out, runs = _stop_a_run(tmp_path, "training", signal.SIGTERM)
    assert code == 143 and "Traceback" not in out and "terminated." in out, out
    (run,) = list(runs.iterdir())
    assert (run / "UNFINISHED").is_file() and (run / "config.toml").is_file()
    for command in (["report", str(run), "--no-pdf"], ["export", str(run)]):
        got = CliRunner().invoke(app, command)
        assert got.exit_code == 2 and "this run did not finish" in got.output, got.output


def test_one_sided_collection_runs_and_says_why_a_number_is_missing(tmp_path: Path) -> None:
    """Identical audio, one artist, one genre (a label with one value: not a label), no lyrics at all."""
    from conftest import TINY_RUN, write_metadata, write_wav
    from songspace.runner import run_experiment

    data = tmp_path / "data"
    y = tone(440, 1.5, seed=0)
    for i in range(8):
        write_wav(data / "audio" / f"t{i}.wav", y)
    write_metadata(data, [{"track_id": f"t{i}", "artist": "one", "genre": "rock"} for i in range(8)])
    cfg = tmp_path / "c.toml"
    cfg.write_text(TINY_RUN + f'cache_dir = "{(tmp_path / "cache").as_posix()}"\n'
                   '[representations]\nnames = ["pca", "features", "lyrics"]\n'
                   '[cluster]\nalgorithms = ["kmeans", "gmm", "hdbscan"]\n[plots]\ntsne = false\numap = false\n')
    result = run_experiment(load_config(cfg, data=str(data), out=str(tmp_path / "runs")))
    assert result.summary["labels"] == [] and any("no track has lyrics" in n for n in result.summary["notes"])
    assert "every track has the same features" in result.summary["k_source"]  # not "highest silhouette"
    assert {r["representation"] for r in result.metrics} == {"pca", "features"}
    for row in result.metrics:  # a number that cannot be computed is missing, and the row says why
        assert not np.isfinite(row["silhouette_common"]) and row["notes"], row
