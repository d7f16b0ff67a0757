"""Tests for songspace.runfolder: safe names, writes that stay inside the folder and never leave half a file, disk
errors as one clear error, and a hostile label column name end to end."""

from __future__ import annotations

import csv
import errno
import os
from pathlib import Path

import pytest

from conftest import TINY_RUN, make_dataset
from songspace.errors import RunError
from songspace.runfolder import RunFolder, audio_source, relative_audio_path, safe_name


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "..", ".", "a/b", "a\\b", "", "x\x00y", "ভাষা/..", "a" * 300])
def test_safe_name_is_one_harmless_component(name: str) -> None:
    safe = safe_name(name)
    assert safe and "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert safe not in (".", "..") and not safe.startswith(".") and len(safe) <= 80


def test_safe_name_keeps_plain_names_and_any_script_and_keeps_names_apart() -> None:
    assert safe_name("vae+kmeans") == "vae+kmeans" and safe_name("হৃদয়") == "হৃদয়"
    assert safe_name("a/b") != safe_name("a_b") and safe_name("a" * 100) != safe_name("a" * 101)


def test_a_path_leading_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    run = RunFolder.create(tmp_path / "runs", "x")
    for rel in ("../outside.txt", "/tmp/outside.txt", "figures/../../outside.txt", "."):
        with pytest.raises(RunError, match="outside the run folder"):
            run.write_text(rel, "no")
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [run.path.name]


def test_a_failed_write_leaves_no_file_under_its_name_and_says_which_folder(tmp_path: Path, monkeypatch) -> None:
    run = RunFolder.create(tmp_path / "runs")
    run.write_text("metrics.csv", "old")

    def full(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(RunError, match="the disk is full"):
        run.write_text("metrics.csv", "new")
    with pytest.raises(RunError, match="the disk is full"):
        run.write_text("summary.json", "{}")
    monkeypatch.undo()
    assert (run.path / "metrics.csv").read_text() == "old" and not (run.path / "summary.json").exists()
    assert not list(run.path.glob(".*.part"))  # the temporary file went too


def test_unknown_csv_column_is_an_error_not_a_silent_drop(tmp_path: Path) -> None:
    run = RunFolder.create(tmp_path / "runs")
    with pytest.raises(ValueError, match="schema"):
        run.write_csv("metrics.csv", [{"method": "a", "surprise": 1}], ["method"])


def test_audio_is_read_only_from_inside_the_dataset(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "audio").mkdir(parents=True)
    song = data / "audio" / "a.wav"
    song.write_bytes(b"RIFF")
    outside = tmp_path / "secret.wav"
    outside.write_bytes(b"RIFF")
    assert relative_audio_path(song, data) == "audio/a.wav"
    assert audio_source("audio/a.wav", data) == song.resolve()
    assert audio_source(str(song), data) == song.resolve()
    assert audio_source("../secret.wav", data) is None and audio_source(str(outside), data) is None
    assert audio_source("audio/a.wav", None) is None


def test_hostile_label_column_and_run_name_write_nothing_outside(tmp_path: Path) -> None:
    from songspace.config import load_config
    from songspace.runner import run_experiment

    data = make_dataset(tmp_path / "data", n=9)
    with (data / "metadata.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    hostile = "/../../../../" + str(tmp_path / "pwned").lstrip("/")
    for i, r in enumerate(rows):
        r[hostile] = "ab"[i % 2]
    with (data / "metadata.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    cfg_path = tmp_path / "cfg.toml"
    cfg_path.write_text('name = "../../escape"\n' + TINY_RUN + '[representations]\nnames = ["pca"]\n'
                        '[cluster]\nalgorithms = ["kmeans"]\n[plots]\ntsne = false\numap = false\n', encoding="utf-8")
    before = set(tmp_path.iterdir())
    result = run_experiment(load_config(cfg_path, data=str(data), out=str(tmp_path / "runs")))
    assert set(tmp_path.iterdir()) - before == {tmp_path / "runs"}  # nothing beside the runs folder
    assert not (tmp_path / "pwned.png").exists() and result.folder.parent == tmp_path / "runs"
    assert hostile in result.summary["labels"]  # a label like any other, scored and drawn
    drawn = [p for p in (result.folder / "figures").iterdir() if p.name.startswith("metrics_")]
    assert len(drawn) == 1 + len(result.summary["labels"])  # one per label and the internal one, all inside
    assert all(p.resolve().parent == (result.folder / "figures").resolve() for p in drawn)


def test_assignments_are_scanned_once_for_header_rows_classes_and_demo(tmp_path: Path) -> None:
    from songspace.runfolder import scan_assignments

    folder = RunFolder.open(tmp_path)
    columns = ["track_id", "title", "artist", "audio_path", "pca+kmeans", "genre", "language"]
    rows = [{"track_id": f"demo_{i}", "genre": "rock" if i < 2 else "", "language": "bn", "pca+kmeans": i % 2}
            for i in range(3)]
    folder.write_csv("assignments.csv", rows, columns)
    table = scan_assignments(tmp_path, lambda header: [c for c in header if c in ("genre", "nosuch")])
    assert table.columns == columns and table.n_rows == 3 and table.demo
    assert table.class_counts == {"genre": {"rock": 2, "": 1}}  # only the picked columns the file has
    assert scan_assignments(tmp_path).class_counts == {}
    folder.write_text("assignments.csv", "")
    assert scan_assignments(tmp_path).columns == [] and scan_assignments(tmp_path).n_rows == 0
    (tmp_path / "assignments.csv").unlink()
    with pytest.raises(RunError, match="assignments.csv: no such file"):
        scan_assignments(tmp_path)


def test_summary_is_read_as_an_object_or_empty_and_says_what_it_lacks(tmp_path: Path) -> None:
    from songspace.runfolder import read_summary

    missing: list[str] = []
    assert read_summary(tmp_path, missing) == {} and missing == ["summary.json: absent"]
    for text, why in (("[1, 2]", []), ("{not json", ["summary.json: unreadable"])):
        (tmp_path / "summary.json").write_text(text, encoding="utf-8")
        missing = []
        assert read_summary(tmp_path, missing) == {} and missing == why
    (tmp_path / "summary.json").write_text('{"k": 3}', encoding="utf-8")
    assert read_summary(tmp_path) == {"k": 3}
