"""Readers for public datasets (FMA, MTG-Jamendo, MIR-1K, lyrics tables), ``inspect``, and bad input.

No dataset is downloaded: each test writes a tiny folder in the dataset's documented layout (file names,
header rows, encodings) and checks what the reader makes of it.
"""

from __future__ import annotations

import csv
import os
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from conftest import make_dataset, tone, write_metadata, write_wav
from songspace.cli import app
from songspace.datasets import detect_layout, read_dataset
from songspace.datasets.inspect import inspect_dataset
from songspace.datasets.lyrics import decode_lyrics, read_lyrics_file
from songspace.datasets.lyrics_csv import normalise_name
from songspace.errors import DatasetError
from songspace.features import load_clip


def reasons(manifest) -> dict[str, str]:
    return {p.path: p.reason for p in manifest.problems}


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time: readers must leave it unchanged."""
    return {p.relative_to(root).as_posix(): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in root.rglob("*")}


# --- FMA ---------------------------------------------------------------------------------------------------

# tracks.csv's columns as in fma_metadata.zip: (group, field), in file order.
FMA_COLUMNS = (
    [("album", f) for f in ("comments", "date_created", "date_released", "engineer", "favorites", "id",
                            "information", "listens", "producer", "tags", "title", "tracks", "type")]
    + [("artist", f) for f in ("active_year_begin", "active_year_end", "associated_labels", "bio", "comments",
                               "date_created", "favorites", "id", "latitude", "location", "longitude", "members",
                               "name", "related_projects", "tags", "website", "wikipedia_page")]
    + [("set", "split"), ("set", "subset")]
    + [("track", f) for f in ("bit_rate", "comments", "composer", "date_created", "date_recorded", "duration",
                              "favorites", "genre_top", "genres", "genres_all", "information", "interest",
                              "language_code", "license", "listens", "lyricist", "number", "publisher", "tags",
                              "title")]
)


FMA_EXT = "mp3" if "MP3" in sf.available_formats() else "wav"  # FMA is mp3; older libsndfile cannot write it


def write_tracks_csv(path: Path, rows: list[dict], columns: list[tuple[str, str]] = FMA_COLUMNS) -> Path:
    """FMA's tracks.csv: group row, field row, index-name row, then one row per track."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([""] + [g for g, _ in columns])
        w.writerow([""] + [f for _, f in columns])
        w.writerow(["track_id"] + [""] * len(columns))
        for r in rows:
            cells = {("track", "genre_top"): r.get("genre", ""), ("track", "language_code"): r.get("lang", ""),
                     ("track", "title"): r.get("title", ""), ("artist", "name"): r.get("artist", ""),
                     ("set", "subset"): r.get("subset", "small"), ("set", "split"): "training",
                     ("track", "genres"): "[21]", ("artist", "bio"): "<p>Line one,\nline \"two\"</p>"}
            w.writerow([r["id"]] + [cells.get(c, "") for c in columns])
    return path


def fma_row(i: int, subset: str = "small") -> dict:
    return {"id": i, "genre": ["Hip-Hop", "Rock", "Folk"][i % 3], "lang": ["en", "", "fr"][i % 3],
            "title": f"Song {i}", "artist": f"Artist {i % 2}", "subset": subset}


def make_fma(root: Path, ids_with_audio: list[int], rows: list[dict], subset: str = "fma_small") -> Path:
    write_tracks_csv(root / "fma_metadata" / "tracks.csv", rows)
    (root / "fma_metadata" / "genres.csv").write_text("genre_id,#tracks,parent,title,top_level\n21,1,0,Hip-Hop,21\n")
    for i in ids_with_audio:
        tid = f"{i:06d}"
        path = root / subset / tid[:3] / f"{tid}.{FMA_EXT}"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, tone(200 + 40 * i, 1.2, seed=i), 22050, format=FMA_EXT.upper())
    return root


def test_fma_reads_labels_and_reports_rows_without_audio_once(tmp_path: Path) -> None:
    rows = [fma_row(i) for i in (2, 3, 5, 6, 10)] + [fma_row(i, "large") for i in range(1000, 1500)]
    make_fma(tmp_path, [2, 3, 5, 6, 99], rows)  # 10 (small) has no audio; 99 has no row
    assert detect_layout(tmp_path) == "fma"
    before = snapshot(tmp_path)
    m = read_dataset(tmp_path)
    assert snapshot(tmp_path) == before  # nothing written into the dataset
    assert m.layout == "fma" and [t.track_id for t in m.tracks] == ["000002", "000003", "000005", "000006",
                                                                    "000099"]
    t2 = m.tracks[0]
    assert (t2.title, t2.artist, t2.labels) == ("Song 2", "Artist 0", {"genre": "Folk", "language": "fr"})
    assert t2.audio_path == tmp_path / "fma_small" / "000" / f"000002.{FMA_EXT}"
    assert m.label_columns == ["genre", "language"]
    r = reasons(m)
    assert "no row in tracks.csv" in r[f"fma_small/000/000099.{FMA_EXT}"]
    meta = [p.reason for p in m.problems if p.path == "fma_metadata/tracks.csv"]
    # 500 rows of other subsets and one missing small file: two lines, not 501.
    assert len(meta) == 2
    assert any(s.startswith("1 of 505 metadata rows have no audio") and "000010" in s for s in meta)
    assert any(s.startswith("500 of 505 rows are tracks outside fma_small") for s in meta)


def test_fma_largest_subset_wins(tmp_path: Path) -> None:
    rows = [fma_row(i) for i in (2, 3)]
    make_fma(tmp_path, [2], rows, subset="fma_small")
    make_fma(tmp_path, [2, 3], rows, subset="fma_medium")
    m = read_dataset(tmp_path)
    assert len(m) == 2 and all("fma_medium" in str(t.audio_path) for t in m.tracks)
    assert "fma_medium" in reasons(m)["fma_small"]


def test_fma_missing_column_names_file_column_and_columns_found(tmp_path: Path) -> None:
    columns = [c for c in FMA_COLUMNS if c != ("track", "genre_top")]
    write_tracks_csv(tmp_path / "fma_metadata" / "tracks.csv", [fma_row(2)], columns)
    write_wav(tmp_path / "fma_small" / "000" / "000002.wav", tone(300))
    with pytest.raises(DatasetError) as err:
        read_dataset(tmp_path)
    msg = str(err.value)
    assert "tracks.csv" in msg and "track.genre_top missing" in msg and "columns found: album.comments" in msg


def test_fma_flattened_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fma_metadata" / "tracks.csv"
    path.parent.mkdir()
    path.write_text("track_id,genre_top,title\n2,Rock,x\n")
    write_wav(tmp_path / "fma_small" / "000" / "000002.wav", tone(300))
    with pytest.raises(DatasetError, match="two header rows"):
        read_dataset(tmp_path, layout="fma")


def test_fma_without_audio_or_metadata(tmp_path: Path) -> None:
    write_tracks_csv(tmp_path / "fma_metadata" / "tracks.csv", [fma_row(2)])
    (tmp_path / "fma_small").mkdir()
    with pytest.raises(DatasetError, match="no usable audio"):
        read_dataset(tmp_path)
    with pytest.raises(DatasetError, match="no fma_metadata/tracks.csv"):
        read_dataset(tmp_path / "fma_small", layout="fma")


# --- MTG-Jamendo -------------------------------------------------------------------------------------------

def write_tsv(path: Path, rows: list[tuple[str, str, list[str]]]) -> Path:
    """A Jamendo TSV: header, then TRACK_ID, ARTIST_ID, ALBUM_ID, PATH, DURATION and one column per tag."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS"]
    for tid, artist, tags in rows:
        num = int(tid.split("_")[1])
        lines.append("\t".join([tid, artist, "album_000001", f"{num % 100:02d}/{num}.mp3", "212.4", *tags]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def fake_mp3(path: Path) -> Path:
    """An audio file named ``.mp3``: MP3 where libsndfile can write it, else WAV (the reader goes by names)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(400), 22050, format="MP3" if FMA_EXT == "mp3" else "WAV")
    return path


def test_jamendo_genres_moods_and_audio_variants(tmp_path: Path) -> None:
    genre_rows = [("track_0000214", "artist_000014", ["genre---punkrock"]),
                  ("track_0000215", "artist_000014", ["genre---rock", "genre---alternative"]),
                  ("track_0000316", "artist_000020", ["genre---jazz"]),
                  ("track_0000417", "artist_000021", ["genre---pop"]),  # no audio
                  ("track_0000518", "artist_000022", ["genre---jazz"]),
                  ("track_0000619", "artist_000022", ["genre---punkrock"])]
    write_tsv(tmp_path / "data" / "autotagging_genre.tsv", genre_rows)
    write_tsv(tmp_path / "data" / "autotagging_moodtheme.tsv",
              [("track_0000214", "artist_000014", ["mood/theme---happy"]),
               ("track_0000316", "artist_000020", ["mood/theme---sad", "mood/theme---dark"])])
    audio = tmp_path / "raw_30s" / "audio"
    for rel in ("14/214.mp3", "15/215.low.mp3", "16/316.low.mp3", "16/316.mp3",  # 316: full quality preferred
                "18/518.mp3", "19/619.mp3"):
        fake_mp3(audio / rel)
    assert detect_layout(tmp_path) == "jamendo"
    m = read_dataset(tmp_path)
    assert m.layout == "jamendo" and [t.track_id for t in m.tracks] == ["track_0000214", "track_0000215",
                                                                        "track_0000316", "track_0000518",
                                                                        "track_0000619"]
    by_id = {t.track_id: t for t in m.tracks}
    assert by_id["track_0000214"].labels == {"genre": "punkrock", "genres": "punkrock", "mood": "happy",
                                             "moods": "happy"}
    t215 = by_id["track_0000215"]
    assert t215.labels["genre"] == "" and t215.labels["genres"] == "alternative|rock"  # several: unknown
    assert t215.audio_path.name == "215.low.mp3" and by_id["track_0000316"].audio_path.name == "316.mp3"
    assert by_id["track_0000316"].labels["mood"] == "" and by_id["track_0000214"].artist == "artist_000014"
    assert m.label_columns == ["genre"]  # mood has a single known value here: nothing to group
    r = reasons(m)
    assert r["data/autotagging_genre.tsv"].startswith("1 of 6 metadata rows have no audio")
    assert "1 low-quality .low.mp3 copies not read" in r["."]


def test_jamendo_tsv_missing_column(tmp_path: Path) -> None:
    (tmp_path / "autotagging_genre.tsv").write_text("TRACK_ID\tARTIST_ID\tPATH\ntrack_1\tartist_1\t01/1.mp3\n")
    with pytest.raises(DatasetError) as err:
        read_dataset(tmp_path)
    msg = str(err.value)
    assert "autotagging_genre.tsv" in msg and "TAGS missing" in msg and "'PATH'" in msg


def test_jamendo_without_audio(tmp_path: Path) -> None:
    write_tsv(tmp_path / "autotagging_genre.tsv", [("track_0000214", "artist_1", ["genre---rock"])])
    with pytest.raises(DatasetError, match="none of the tracks listed"):
        read_dataset(tmp_path)


# --- MIR-1K ------------------------------------------------------------------------------------------------

def test_mir1k_mixes_channels_decodes_big5_lyrics_and_names_singers(tmp_path: Path) -> None:
    base = tmp_path / "MIR-1K"
    sr = 16000
    for name, (acc, voice) in {"abjones_1_01": (300, 1200), "amy_2_03": (500, 900), "oddname": (700, 1500)}.items():
        stereo = np.stack([tone(acc, 1.5, sr=sr), tone(voice, 1.5, sr=sr)], axis=1)
        write_wav(base / "Wavfile" / f"{name}.wav", stereo, sr)
    (base / "Lyrics").mkdir()
    (base / "Lyrics" / "abjones_1_01.txt").write_bytes("我愛你 台灣".encode("big5hkscs"))
    (base / "Lyrics" / "amy_2_03.txt").write_bytes(b"\xff\xff\xfe")  # neither UTF-8 nor Big5
    (base / "PitchLabel").mkdir()
    (base / "PitchLabel" / "abjones_1_01.pv").write_text("0\n52.3\n")
    assert detect_layout(tmp_path) == "mir1k"
    m = read_dataset(tmp_path)
    assert m.layout == "mir1k" and m.label_columns == [] and len(m) == 3
    by_id = {t.track_id: t for t in m.tracks}
    assert by_id["abjones_1_01"].artist == "abjones" and by_id["amy_2_03"].artist == "amy"
    assert by_id["abjones_1_01"].lyrics_text == "我愛你 台灣"
    assert by_id["amy_2_03"].lyrics_path is None and not by_id["amy_2_03"].has_lyrics
    r = reasons(m)
    assert "Big5-HKSCS" in r["MIR-1K/Lyrics/amy_2_03.txt"]
    assert "not <singer>_<song>_<clip>" in r["MIR-1K/Wavfile/oddname.wav"]
    # Both channels are mixed: accompaniment (left, 300 Hz) and voice (right, 1200 Hz) are both in the clip.
    clip = load_clip(by_id["abjones_1_01"].audio_path, sr=sr, clip_seconds=1.0)
    spec = np.abs(np.fft.rfft(clip))
    freqs = np.fft.rfftfreq(clip.size, 1 / sr)
    peaks = sorted(freqs[np.argsort(spec)[-2:]])
    assert peaks == pytest.approx([300, 1200], abs=3)


def test_mir1k_empty_wavfile_folder(tmp_path: Path) -> None:
    (tmp_path / "Wavfile").mkdir()
    with pytest.raises(DatasetError, match="no usable .wav files"):
        read_dataset(tmp_path)


# --- Lyrics tables -----------------------------------------------------------------------------------------

def write_table(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


BN_ARTIST, BN_TITLE = "হেমন্ত মুখোপাধ্যায়", "আমার গানের স্বরলিপি"
BN_LYRICS = "আমার গানের স্বরলিপি লেখা রবে।\nপান্থ পাখির কূজন কাকলি"


def test_lyrics_table_joins_by_normalised_artist_and_title(tmp_path: Path) -> None:
    header = ["Artist", "Song Name", "Lyrics", "Lang", "Category"]
    rows = [["AC/DC", "Don't Stop", "<p>Don't stop<br>me now</p>", "en", "rock"],
            [BN_ARTIST, BN_TITLE, BN_LYRICS, "bn", "baul"],
            ["Lalon", "খাঁচার ভিতর অচিন পাখি।", "খাঁচার ভিতর অচিন পাখি কেমনে আসে যায়", "bn", "baul"],
            ["Hason Raja", "Loke Bole", "loke bole bole re", "bn", "baul"],
            ["Nobody", "No Audio", "la la", "en", "pop"]]
    write_table(tmp_path / "bangla_lyrics.csv", header, rows)  # UTF-8 with BOM, as Excel writes it
    audio = tmp_path / "audio"
    write_wav(audio / "ac_dc - dont  stop!.wav", tone(300))
    # Bengali file name in decomposed form (as macOS stores names) and with a zero-width non-joiner.
    write_wav(audio / f"{unicodedata.normalize('NFD', BN_ARTIST)} – {BN_TITLE}.wav", tone(500))
    write_wav(audio / "LALON - খাঁচার ভিতর অচিন\u200c পাখি.wav", tone(700))
    write_wav(audio / "Unknown - Untitled.wav", tone(900))
    write_wav(audio / "Hason Raja - Loke Bole.wav", tone(1100))
    assert detect_layout(tmp_path) == "lyrics_csv"
    before = snapshot(tmp_path)
    m = read_dataset(tmp_path)
    assert snapshot(tmp_path) == before  # lyrics text is not written anywhere
    assert m.layout == "lyrics_csv" and len(m) == 5
    by_artist = {t.artist: t for t in m.tracks}
    assert by_artist["AC/DC"].labels == {"language": "en", "genre": "rock"}
    assert by_artist["AC/DC"].lyrics_text == "<p>Don't stop<br>me now</p>"  # HTML kept; text features strip it
    assert by_artist[BN_ARTIST].lyrics_text == BN_LYRICS and by_artist[BN_ARTIST].title == BN_TITLE
    assert by_artist["Lalon"].labels["genre"] == "baul"
    unknown = by_artist["Unknown"]
    assert unknown.lyrics_text is None and unknown.labels == {"language": "", "genre": ""}
    assert m.label_columns == ["language", "genre"]
    r = reasons(m)
    assert r["bangla_lyrics.csv"].startswith("1 of 5 metadata rows have no audio") and "Nobody - No Audio" in \
        r["bangla_lyrics.csv"]
    assert "no row in bangla_lyrics.csv" in r["audio/Unknown - Untitled.wav"]


def test_normalise_name_handles_bengali_and_punctuation() -> None:
    assert normalise_name("Don't  Stop!") == normalise_name("dont stop") == "dontstop"
    assert normalise_name(unicodedata.normalize("NFD", BN_TITLE)) == normalise_name(BN_TITLE + "।")
    assert normalise_name("অচিন\u200cপাখি") == normalise_name("অচিন পাখি")
    assert normalise_name(BN_TITLE) != ""  # vowel signs and virama are combining marks: kept


def test_lyrics_table_by_id_with_spaces_duplicates_and_empty_ids(tmp_path: Path) -> None:
    rows = [["my song", "first words", "en"], ["my song", "duplicate", "en"], ["", "no id", "en"],
            ["../escape", "bad id", "en"], ["গান ১", "বাংলা কথা", "bn"]]
    write_table(tmp_path / "songs.csv", ["song_id", "lyrics", "language"], rows, encoding="utf-16")
    write_wav(tmp_path / "audio" / "my song.flac", tone(300))
    write_wav(tmp_path / "audio" / "গান ১.wav", tone(600))
    m = read_dataset(tmp_path)
    assert m.layout == "lyrics_csv" and [t.track_id for t in m.tracks] == ["my song", "গান ১"]
    assert m.tracks[0].lyrics_text == "first words" and m.tracks[1].lyrics_text == "বাংলা কথা"
    text = " ".join(reasons(m).values())
    assert "duplicate row for 'my song'" in text and "empty track_id" in text and "'../escape'" in text


def test_lyrics_table_cells_follow_the_lyrics_policy(tmp_path: Path) -> None:
    rows = [["a", "words to sing"], ["b", "[Instrumental]"], ["c", ""], ["d", BIJOY]]
    write_table(tmp_path / "songs.csv", ["id", "lyrics"], rows)
    for i, tid in enumerate("abcd"):
        write_wav(tmp_path / "audio" / f"{tid}.wav", tone(300 + 100 * i))
    m = read_dataset(tmp_path)
    assert [t.lyrics_text for t in m.tracks] == ["words to sing", None, None, None] and len(m) == 4
    r = reasons(m)  # a blank cell is no lyrics, not a problem; the line of each unusable cell is named
    assert set(r) == {"songs.csv:3", "songs.csv:5"}
    assert "no letters" in r["songs.csv:3"] and "Bijoy" in r["songs.csv:5"]
    assert not any(p.skipped for p in m.problems)


def test_lyrics_table_missing_join_columns(tmp_path: Path) -> None:
    write_table(tmp_path / "lyrics.csv", ["Artist", "Lyrics"], [["x", "y"]])
    write_wav(tmp_path / "audio" / "x - y.wav", tone(300))
    with pytest.raises(DatasetError) as err:
        read_dataset(tmp_path)
    msg = str(err.value)
    assert "lyrics.csv" in msg and "no title column" in msg and "columns found: ['Artist', 'Lyrics']" in msg


def test_forced_lyrics_layout_without_lyrics_column_lists_columns(tmp_path: Path) -> None:
    write_table(tmp_path / "songs.csv", ["artist", "title"], [["x", "y"]])
    with pytest.raises(DatasetError) as err:
        read_dataset(tmp_path, layout="lyrics_csv")
    assert "no lyrics table" in str(err.value) and "songs.csv has columns ['artist', 'title']" in str(err.value)


def test_lyrics_table_with_no_audio_and_symlink_outside(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write_table(data / "lyrics.csv", ["artist", "title", "lyrics"], [["a", "b", "c"]])
    outside = write_wav(tmp_path / "secret.wav", tone(300))
    (data / "audio").mkdir()
    os.symlink(outside, data / "audio" / "a - b.wav")
    with pytest.raises(DatasetError, match="no usable audio files") as err:
        read_dataset(data)
    assert "links outside the dataset folder" in str(err.value)


# --- Generic folder: lyrics encodings and columns ------------------------------------------------------------

BN_SONG = "আমি তোমায় ভালোবাসি\nতুমি আমার হৃদয়ের গান"
EN_SONG = "I walk alone along the river\nthe night is cold and I remember you"
BIJOY = "Avwg †Zvgv‡K fv‡jvevwm"  # আমি তোমাকে ভালোবাসি typed in the legacy Bijoy/SutonnyMJ font encoding


def test_folder_lyrics_encodings(dataset: Path) -> None:
    words = "আমি তোমার গান গাই\ncafé"
    (dataset / "lyrics" / "t01.txt").write_bytes(words.encode("utf-16"))  # with BOM
    (dataset / "lyrics" / "t03.txt").write_bytes(words.encode("utf-8-sig"))
    (dataset / "lyrics" / "t05.txt").write_bytes("café amour".encode("cp1252"))
    (dataset / "lyrics" / "t07.txt").write_text("<html><body><p>la <b>la</b></p></body></html>", encoding="utf-8")
    m = read_dataset(dataset)
    by_id = {t.track_id: t for t in m.tracks}
    assert by_id["t01"].lyrics_text == words and by_id["t03"].lyrics_text == words  # decoded once, kept
    # Plausible cp1252 is kept, and the guess is noted (the track is not skipped).
    assert by_id["t05"].lyrics_text == "café amour" and by_id["t05"].lyrics_path is not None
    note = next(p for p in m.problems if p.path == "lyrics/t05.txt")
    assert "cp1252" in note.reason and "re-save the file as UTF-8" in note.reason and note.skipped is False
    assert by_id["t07"].lyrics_text.startswith("<html>")  # HTML is kept as it is; the text features strip it
    assert {p.path for p in m.problems} == {"lyrics/t05.txt"}


def test_decode_lyrics_policy() -> None:
    assert decode_lyrics(b"\xef\xbb\xbf" + BN_SONG.encode()) == (BN_SONG, "utf-8-sig", None)
    assert decode_lyrics(BN_SONG.encode("utf-16")) == (BN_SONG, "utf-16", None)  # with BOM
    assert decode_lyrics(BN_SONG.encode("utf-32")) == (BN_SONG, "utf-32", None)
    assert decode_lyrics(EN_SONG.encode("utf-16-le")) == (EN_SONG, "utf-16-le", None)  # no BOM: its NUL bytes
    curly = "“Don’t go” – she said, café"
    text, codec, note = decode_lyrics(curly.encode("cp1252"))
    assert (text, codec) == (curly, "cp1252") and "cp1252" in note
    # The dataset's own codec replaces the cp1252 guess, silently (it is documented, not guessed).
    zh = "我愛你 台灣"
    assert decode_lyrics(zh.encode("big5hkscs"), fallback="Big5-HKSCS") == (zh, "Big5-HKSCS", None)
    assert decode_lyrics(zh.encode(), fallback="Big5-HKSCS").encoding == "utf-8"
    assert decode_lyrics(curly.encode("cp1252"), fallback="Big5-HKSCS").text is None  # not valid Big5


@pytest.mark.parametrize("data,why", [
    (b"", "empty lyrics file"),
    (b"  \n\t \r\n", "no letters"),
    ("... !!! — ?? ।".encode(), "no letters"),
    (b"<p><br/></p>&nbsp;", "no letters"),
    (b"[Instrumental]\n[00:12.34]", "no letters"),
    (bytes(range(256)) * 4, "Re-save the file as UTF-8"),  # binary
    ("Привет, как дела, моя любовь".encode("cp1251"), "Re-save the file as UTF-8"),  # mojibake as cp1252
    ("café amour".encode("cp1252") + b"\x81", "not UTF-8"),  # 0x81 is undefined in cp1252
    (BIJOY.encode("cp1252"), "Bijoy"),
    (BIJOY.encode("utf-8"), "Bijoy"),  # the same font-encoded text, re-saved as UTF-8
])
def test_unusable_lyrics_file_is_a_problem_and_the_track_is_kept(dataset: Path, data: bytes, why: str) -> None:
    (dataset / "lyrics" / "t01.txt").write_bytes(data)
    assert decode_lyrics(data).text is None and why in (decode_lyrics(data).note or "")
    m = read_dataset(dataset)
    t01 = next(t for t in m.tracks if t.track_id == "t01")
    assert len(m) == 12 and t01.lyrics_text is None and not t01.has_lyrics
    (p,) = [p for p in m.problems if p.path == "lyrics/t01.txt"]  # names the file
    assert why in p.reason and "treated as missing" in p.reason and p.skipped is False


def test_lyrics_file_too_large_unreadable_or_outside(dataset: Path, tmp_path: Path) -> None:
    big = dataset / "lyrics" / "t01.txt"
    big.write_bytes(b"la " * 1000)
    got = read_lyrics_file(big, max_bytes=100)
    assert got.text is None and "too large" in got.note
    assert "unreadable" in read_lyrics_file(dataset / "lyrics" / "nope.txt").note
    secret = tmp_path / "secret.txt"
    secret.write_text("outside words", encoding="utf-8")
    (dataset / "lyrics" / "t03.txt").unlink()
    os.symlink(secret, dataset / "lyrics" / "t03.txt")
    m = read_dataset(dataset)
    assert next(t for t in m.tracks if t.track_id == "t03").lyrics_text is None
    assert "links outside the dataset folder" in reasons(m)["lyrics/t03.txt"]


def test_folder_metadata_lyrics_column(tmp_path: Path) -> None:
    for i in range(2):
        write_wav(tmp_path / "audio" / f"t{i}.wav", tone(300 + 100 * i))
    write_wav(tmp_path / "audio" / "t2.wav", tone(600))
    write_wav(tmp_path / "audio" / "t3.wav", tone(700))
    write_metadata(tmp_path, [{"track_id": "t0", "genre": "a", "lyrics": "hello"},
                              {"track_id": "t1", "genre": "b", "lyrics": ""},
                              {"track_id": "t2", "genre": "b", "lyrics": BIJOY},
                              {"track_id": "t3", "genre": "a", "lyrics": ""}])
    m = read_dataset(tmp_path)
    assert m.layout == "folder" and m.label_columns == ["genre"]
    assert m.tracks[0].lyrics_text == "hello" and m.tracks[1].has_lyrics is False and m.tracks[2].has_lyrics is False
    assert list(reasons(m)) == ["metadata.csv:t2"] and "Bijoy" in reasons(m)["metadata.csv:t2"]  # blank: no problem


# --- inspect -----------------------------------------------------------------------------------------------

def test_inspect_reports_audio_labels_lyrics_and_problems(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", n=6)
    sf.write(data / "audio" / "t00.wav", np.stack([tone(300, 2.0, sr=44100)] * 2, axis=1), 44100)  # stereo
    (data / "audio" / "broken.wav").write_text("not audio")
    report = inspect_dataset(data)
    assert report.layout == "folder" and report.n_tracks == 7 and report.n_probed == 7
    assert report.formats == {"wav": 7}
    assert report.sample_rates == {22050: 5, 44100: 1} and report.channels == {1: 5, 2: 1}
    assert report.durations is not None and report.durations.n == 6
    assert report.durations.min_s == pytest.approx(1.5) and report.durations.max_s == pytest.approx(2.0)
    assert report.labels["genre"] == {"low": 2, "mid": 2, "high": 2, "": 1}
    assert report.lyrics_by_language == {"en": (3, 0), "bn": (3, 3), "": (1, 0)}
    broken = [p.reason for p in report.problems if p.path == "audio/broken.wav"]
    assert len(broken) == 2 and "no metadata row" in broken[0] and "audio header unreadable" in broken[1]
    limited = inspect_dataset(data, max_probe=3)
    assert limited.n_probed == 3 and sum(limited.sample_rates.values()) == 2  # spread: broken.wav, t02, t05
    assert inspect_dataset(data, probe_audio=False).durations is None


def test_inspect_command(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", n=6)
    res = CliRunner().invoke(app, ["inspect", str(data)])
    assert res.exit_code == 0, res.output
    for text in ("layout folder", "6 tracks", "3 with lyrics", "wav: 6", "22050 Hz: 6", "1 ch: 6", "genre", "coverage",
                 "no problems found"):
        assert text in res.output, text
    bad = CliRunner().invoke(app, ["inspect", str(tmp_path / "missing")])
    assert bad.exit_code == 2 and "error:" in bad.output and "no such folder" in bad.output
    empty = tmp_path / "empty"
    (empty / "audio").mkdir(parents=True)
    res = CliRunner().invoke(app, ["inspect", str(empty)])
    assert res.exit_code == 2 and "no usable audio files" in res.output


def test_inspect_reports_lyrics_problems_as_the_run_does(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", n=6)  # t01, t03, t05 have lyrics
    (data / "lyrics" / "t01.txt").write_bytes(BIJOY.encode("cp1252"))
    (data / "lyrics" / "t03.txt").write_bytes("café amour".encode("cp1252"))
    report = inspect_dataset(data, probe_audio=False)
    assert report.problems == read_dataset(data).problems  # the run lists the manifest's problems as they are
    assert report.n_with_lyrics == 2 and report.lyrics_by_language == {"en": (3, 0), "bn": (3, 2)}
    res = CliRunner().invoke(app, ["inspect", str(data), "--no-probe"], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "2 with lyrics" in res.output and "lyrics/t01.txt" in res.output and "Bijoy" in res.output
    assert "lyrics/t03.txt" in res.output and "cp1252" in res.output


def test_folder_metadata_for_a_larger_collection_is_one_problem(tmp_path: Path) -> None:
    write_wav(tmp_path / "audio" / "t0.wav", tone(300))
    write_wav(tmp_path / "audio" / "t1.wav", tone(600))
    write_metadata(tmp_path, [{"track_id": f"t{i}", "lang": "xx"[i % 2]} for i in range(5000)])
    m = read_dataset(tmp_path)
    assert len(m) == 2 and len(m.problems) == 1
    assert m.problems[0].reason.startswith("4998 of 5000 metadata rows have no audio file in audio/ (e.g. t2, t3")
