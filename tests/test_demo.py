"""The built-in demo collection: layout, balance, lyrics, determinism, refusal to overwrite."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from songspace.datasets import read_dataset
from songspace.datasets.demo import generate_demo
from songspace.datasets.demo.styles import GENRES
from songspace.errors import ConfigError

BENGALI = re.compile(r"[\u0980-\u09FF]")
LATIN = re.compile(r"[A-Za-z]")
SMALL = {"n_tracks": 24, "min_seconds": 1.0, "max_seconds": 1.5, "sample_rate": 16000}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "collection"
    summary = generate_demo(out, seed=3, workers=1, **SMALL)
    assert summary.n_tracks == 24 and summary.out_dir == out
    return out


def _rows(root: Path) -> list[dict[str, str]]:
    with open(root / "metadata.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_reads_as_an_ordinary_dataset_folder(demo: Path) -> None:
    manifest = read_dataset(demo)
    assert len(manifest.tracks) == 24
    assert manifest.problems == []
    assert manifest.label_columns == ["language", "genre"]
    assert set(manifest.labels("genre")) == set(GENRES)


def test_language_and_genre_are_not_confounded(demo: Path) -> None:
    rows = _rows(demo)
    by_lang = Counter(r["language"] for r in rows)
    assert by_lang["en"] >= 8 and by_lang["bn"] >= 8 and by_lang[""] >= 2
    assert set(r["genre"] for r in rows) == set(GENRES)
    for genre in GENRES:  # every genre is sung in both languages
        langs = {r["language"] for r in rows if r["genre"] == genre}
        assert {"en", "bn"} <= langs, genre
    assert len({r["artist"] for r in rows}) >= 6


def test_lyrics_scripts_and_instrumentals(demo: Path) -> None:
    kinds = Counter()
    for r in _rows(demo):
        path = demo / "lyrics" / f"{r['track_id']}.txt"
        if r["language"] == "":
            assert not path.exists()
            continue
        text = path.read_text(encoding="utf-8")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        assert len(lines) >= 6 and "\n\n" in text  # verse / chorus blocks
        if r["language"] == "en":
            assert not BENGALI.search(text)
            kinds["en"] += 1
        elif BENGALI.search(text) and LATIN.search(text):
            kinds["code-mixed"] += 1
        elif BENGALI.search(text):
            kinds["bengali script"] += 1
        else:
            kinds["romanised"] += 1
    assert kinds["en"] and kinds["bengali script"] and kinds["code-mixed"] and kinds["romanised"], kinds


def test_lyrics_never_name_the_labels(demo: Path) -> None:
    label_words = set(GENRES) | {"hip", "hop", "english", "bangla", "bengali", "banglish", "instrumental"}
    for path in (demo / "lyrics").glob("*.txt"):
        words = set(re.findall(r"[a-z]+", path.read_text(encoding="utf-8").lower()))
        assert not words & label_words, (path.name, words & label_words)


def test_audio_is_sound_of_the_requested_length(demo: Path) -> None:
    for path in sorted((demo / "audio").glob("*.wav")):
        audio, sr = sf.read(path)
        assert sr == SMALL["sample_rate"] and audio.ndim == 1
        assert SMALL["min_seconds"] - 0.01 <= len(audio) / sr <= SMALL["max_seconds"] + 0.01
        assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0
        assert np.sqrt(np.mean(audio**2)) > 1e-3, path.name  # not silent


def test_same_seed_same_bytes_whatever_the_workers(demo: Path, tmp_path: Path) -> None:
    other = generate_demo(tmp_path / "again", seed=3, workers=2, **SMALL).out_dir
    files = sorted(p.relative_to(demo) for p in demo.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file())
    for rel in files:
        assert (demo / rel).read_bytes() == (other / rel).read_bytes(), rel


def test_another_seed_another_collection(demo: Path, tmp_path: Path) -> None:
    other = generate_demo(tmp_path / "seed4", seed=4, workers=1, **SMALL).out_dir
    assert (demo / "metadata.csv").read_bytes() != (other / "metadata.csv").read_bytes()
    assert (demo / "audio" / "demo_0000.wav").read_bytes() != (other / "audio" / "demo_0000.wav").read_bytes()


def test_never_overwrites_and_leaves_nothing_half_written(demo: Path, tmp_path: Path) -> None:
    before = (demo / "metadata.csv").read_bytes()
    with pytest.raises(FileExistsError, match="never overwrites"):
        generate_demo(demo, seed=9, workers=1, **SMALL)
    assert (demo / "metadata.csv").read_bytes() == before
    empty = tmp_path / "empty"
    empty.mkdir()
    generate_demo(empty, workers=1, n_tracks=2, min_seconds=0.5, max_seconds=0.5)  # an empty folder is fine
    assert len(list((empty / "audio").iterdir())) == 2
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


@pytest.mark.parametrize("bad", [{"n_tracks": 0}, {"sample_rate": 4000}, {"min_seconds": 3, "max_seconds": 2},
                                 {"workers": 0}])
def test_bad_arguments_are_config_errors(tmp_path: Path, bad: dict) -> None:
    with pytest.raises(ConfigError):
        generate_demo(tmp_path / "x", **bad)
    assert not (tmp_path / "x").exists()
