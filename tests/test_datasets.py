"""Reading dataset folders: the generic layout, GTZAN, and every kind of bad input named in the issue."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import make_dataset, tone, write_metadata, write_wav
from songspace.datasets import detect_layout, read_dataset
from songspace.errors import DatasetError


def reasons(manifest) -> dict[str, str]:
    return {p.path: p.reason for p in manifest.problems}


def test_generic_folder(dataset: Path) -> None:
    m = read_dataset(dataset)
    assert m.layout == "folder" and len(m) == 12
    assert m.label_columns == ["language", "genre"]  # title/artist are not labels
    assert [t.track_id for t in m.tracks] == sorted(t.track_id for t in m.tracks)
    t1 = next(t for t in m.tracks if t.track_id == "t01")
    assert t1.lyrics_path is not None and t1.labels == {"language": "bn", "genre": "mid"}
    assert t1.lyrics_text == "আমি তোমার গান গাই\nami tomar gan gai\n"  # decoded by the reader, once
    t0 = next(t for t in m.tracks if t.track_id == "t00")
    assert t0.lyrics_path is None and t0.lyrics_text is None and not t0.has_lyrics
    assert m.problems == []


def test_plain_folder_of_audio(tmp_path: Path) -> None:
    for i in range(3):
        write_wav(tmp_path / f"song {i}.wav", tone(300 + i * 100))
    m = read_dataset(tmp_path)
    assert m.layout == "plain" and len(m) == 3 and m.label_columns == []
    assert m.tracks[0].track_id == "song 0"  # ids with spaces are fine


def test_metadata_row_without_audio_and_audio_without_row(dataset: Path) -> None:
    (dataset / "audio" / "t00.wav").unlink()
    rows = [{"track_id": f"t{i:02d}", "language": "en", "genre": "x" if i % 2 else "y"} for i in range(11)]
    write_metadata(dataset, rows)
    m = read_dataset(dataset)
    r = reasons(m)
    assert "metadata row has no audio file" in r["metadata.csv:t00"]
    assert "no metadata row" in r["audio/t11.wav"]
    assert "t11" in [t.track_id for t in m.tracks]  # kept, without labels
    assert next(t for t in m.tracks if t.track_id == "t11").labels["genre"] == ""


def test_duplicate_ids_in_metadata_and_files(dataset: Path) -> None:
    rows = [{"track_id": "t01", "genre": "a"}, {"track_id": "t01", "genre": "b"}, {"track_id": "t02", "genre": "c"},
            {"track_id": "t03", "genre": "a"}, {"track_id": "t04", "genre": "c"}]
    write_metadata(dataset, rows)
    write_wav(dataset / "audio" / "sub" / "t02.wav", tone(500))  # same stem, another song: a track of its own
    (dataset / "audio" / "copy").mkdir()
    (dataset / "audio" / "copy" / "t03.wav").write_bytes((dataset / "audio" / "t03.wav").read_bytes())  # same bytes
    m = read_dataset(dataset)
    r = reasons(m)
    assert any("duplicate track_id 't01'" in v for v in r.values())
    assert next(t for t in m.tracks if t.track_id == "t01").labels["genre"] == "a"  # first row kept
    ids = [t.track_id for t in m.tracks]
    assert ids.count("t02") == 1 and "sub__t02" in ids  # the top-level file keeps its stem, and its metadata row
    assert next(t for t in m.tracks if t.track_id == "t02").labels["genre"] == "c"
    assert "no metadata row" in r["audio/sub/t02.wav"]
    assert "duplicate of audio/copy/t03.wav (the same content)" in r["audio/t03.wav"]
    assert ids.count("t03") == 1 and len(m) == 13


def test_track_id_escaping_the_folder_is_refused(dataset: Path) -> None:
    rows = [{"track_id": "../x", "genre": "a"}, {"track_id": "", "genre": "b"}, {"track_id": "t01", "genre": "c"},
            {"track_id": "t02", "genre": "d"}]
    write_metadata(dataset, rows)
    m = read_dataset(dataset)
    text = " ".join(reasons(m).values())
    assert "'../x' contains a path separator" in text and "empty track_id" in text
    assert all(".." not in t.track_id for t in m.tracks)


def test_symlink_outside_the_folder_is_not_read(dataset: Path, tmp_path: Path) -> None:
    outside = write_wav(tmp_path / "secret.wav", tone(300))
    os.symlink(outside, dataset / "audio" / "link.wav")
    m = read_dataset(dataset)
    assert "outside the dataset folder" in reasons(m)["audio/link.wav"]
    assert "link" not in [t.track_id for t in m.tracks]


def test_empty_audio_file_is_skipped(dataset: Path) -> None:
    (dataset / "audio" / "empty.wav").write_bytes(b"")
    m = read_dataset(dataset)
    assert reasons(m)["audio/empty.wav"] == "empty file (0 bytes)"


def test_undecodable_lyrics_treated_as_missing(dataset: Path) -> None:
    (dataset / "lyrics" / "t01.txt").write_bytes("café amour".encode("cp1252") + b"\xff\xfe\x81")
    m = read_dataset(dataset)
    p = next(p for p in m.problems if p.path == "lyrics/t01.txt")
    assert "not UTF-8" in p.reason and p.skipped is False
    t01 = next(t for t in m.tracks if t.track_id == "t01")
    assert t01.lyrics_path is None and t01.lyrics_text is None


def test_empty_dataset_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "audio").mkdir()
    with pytest.raises(DatasetError, match="no usable audio files"):
        read_dataset(tmp_path)
    with pytest.raises(DatasetError, match="no such folder"):
        read_dataset(tmp_path / "nope")


def test_metadata_without_track_id_column(dataset: Path) -> None:
    write_metadata(dataset, [{"id": "t01", "genre": "a"}])
    with pytest.raises(DatasetError, match="no 'track_id' column"):
        read_dataset(dataset)


def test_metadata_not_utf8(dataset: Path) -> None:
    # Windows-1252 (what Excel saves as "CSV") is read with a note, as a cp1252 lyrics file is (issue 23) ...
    (dataset / "metadata.csv").write_bytes("track_id,genre\nt01,caf\xe9\n".encode("latin-1"))
    m = read_dataset(dataset)
    assert any("decoded as cp1252" in p.reason and not p.skipped for p in m.problems)
    # ... bytes that no reading makes text of are refused
    (dataset / "metadata.csv").write_bytes(b"track_id,genre\nt01,caf\x81\x8d\n")
    with pytest.raises(DatasetError, match="not UTF-8"):
        read_dataset(dataset)


def test_bengali_file_names_and_metadata(tmp_path: Path) -> None:
    genres = {"গান_১": "আধুনিক", "গান_২": "লোকগীতি", "গান_৩": "আধুনিক", "গান_৪": "লোকগীতি"}
    for i, tid in enumerate(genres):
        write_wav(tmp_path / "audio" / f"{tid}.wav", tone(400 + 200 * i))
    write_metadata(tmp_path, [{"track_id": tid, "genre": g} for tid, g in genres.items()])
    m = read_dataset(tmp_path)
    assert {t.track_id: t.labels["genre"] for t in m.tracks} == genres


@pytest.mark.parametrize("nested", ["genres", "genres_original", None])
def test_gtzan_layouts(tmp_path: Path, nested: str | None) -> None:
    ext = "wav" if nested == "genres_original" else "au"
    for g in ("blues", "rock"):
        for i in range(2):
            folder = tmp_path / nested / g if nested else tmp_path
            write_wav(folder / f"{g}.{i:05d}.{ext}", tone(200 + i * 50))
    assert detect_layout(tmp_path) == "gtzan"
    m = read_dataset(tmp_path)
    assert m.layout == "gtzan" and m.label_columns == ["genre"]
    assert sorted(t.labels["genre"] for t in m.tracks) == ["blues", "blues", "rock", "rock"]


def test_forced_layout_and_unknown_layout(tmp_path: Path) -> None:
    make_dataset(tmp_path, n=3)
    with pytest.raises(DatasetError, match="not a GTZAN folder"):
        read_dataset(tmp_path, layout="gtzan")
    with pytest.raises(DatasetError, match="unknown layout"):
        read_dataset(tmp_path, layout="fma2")
