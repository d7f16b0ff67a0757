"""songspace export: one playlist per cluster of a run's method (M3U or CSV), paths relative to the playlist."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from songspace.cli import app
from songspace.errors import ConfigError, RunError
from songspace.playlists import _relative, export_playlists, headline_method
from songspace.runfolder import BASE_COLUMNS, RunFolder, aggregated_columns, safe_name

LABELS = ["genre"]
# method -> (nmi_genre, silhouette_common, conditioned_on): cvae is given genre, so it is no headline for it
METHODS = {"vae+kmeans": (0.61, 0.20, ""), "pca+gmm": (0.74, 0.10, ""), "cvae+kmeans": (0.95, 0.30, "genre"),
           "lyrics+dbscan": (0.10, 0.05, "")}
TRACKS = [  # track_id, title, artist, cluster of pca+gmm, of lyrics+dbscan
    ("t0", "Rain", "Ana", 0, 0), ("t1", "আমার সোনার বাংলা", "রবীন্দ্রনাথ", 1, -1), ("t2", "Two\nlines", "", 1, 0),
    ("t3", "", "Bo", 0, -1), ("t4", "#hash", "Cy", 2, 0)]


def make_run(root: Path, *, absolute: bool = False) -> Path:
    """A finished run folder as the runner writes it (only the files export reads), with a dataset beside it."""
    data = root / "my music"
    for tid, *_ in TRACKS:
        f = data / "audio" / ("#odd" if tid == "t4" else "") / f"{tid}.wav"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"RIFF")
    run = RunFolder.create(root / "runs", "tiny")
    rows = [{"method": m, "representation": m.split("+")[0], "clusterer": m.split("+")[1], "modality": "audio",
             "conditioned_on": cond, "n_seeds": 1, "nmi_genre": nmi, "silhouette_common": sil}
            for m, (nmi, sil, cond) in METHODS.items()]
    run.write_csv("metrics.csv", rows, aggregated_columns(LABELS))
    assignments = []
    for tid, title, artist, gmm, dbscan in TRACKS:
        rel = f"audio/{'#odd/' if tid == 't4' else ''}{tid}.wav"
        assignments.append({"track_id": tid, "title": title, "artist": artist,
                            "audio_path": str((data / rel).resolve()) if absolute else rel,
                            "vae+kmeans": 0, "pca+gmm": gmm, "cvae+kmeans": 1, "lyrics+dbscan": dbscan,
                            "genre": "rock"})
    run.write_csv("assignments.csv", assignments, [*BASE_COLUMNS, *METHODS, *LABELS])
    run.write_json("summary.json", {"dataset": str(data), "labels": LABELS})
    run.write_text("config.toml", "[cluster]\nk = 3\n")
    return run.path


def _m3u(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_the_headline_method_is_the_best_unconditioned_one_for_the_k_label(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    assert headline_method(run) == "pca+gmm"  # cvae+kmeans scores higher but was given genre


def test_m3u_playlists_per_cluster_with_relative_paths_titles_and_artists(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    result = export_playlists(run, fmt="m3u")
    folder = run / "playlists" / "pca+gmm"
    assert result.folder == folder.resolve() and result.method == "pca+gmm"
    assert sorted(p.name for p in folder.iterdir()) == ["cluster_0.m3u8", "cluster_1.m3u8", "cluster_2.m3u8"]
    assert result.counts == {"cluster_0": 2, "cluster_1": 2, "cluster_2": 1} and result.missing_audio == 0
    one = _m3u(folder / "cluster_1.m3u8")
    assert one[:2] == ["#EXTM3U", "#PLAYLIST:pca+gmm cluster 1"]
    assert one[2] == "#EXTINF:-1,রবীন্দ্রনাথ - আমার সোনার বাংলা"
    assert one[4] == "#EXTINF:-1,Two lines"  # no artist; the newline of the title does not break the playlist
    assert len(one) == 6
    zero = _m3u(folder / "cluster_0.m3u8")
    assert zero[2] == "#EXTINF:-1,Ana - Rain" and zero[4] == "#EXTINF:-1,Bo - t3"  # no title: the track id
    for lines in (one, zero, _m3u(folder / "cluster_2.m3u8")):
        for path in lines[3::2]:
            assert not os.path.isabs(path) and not path.startswith("#")
            assert (folder / path).resolve().is_file()
    assert _m3u(folder / "cluster_2.m3u8")[3] == "../../../../my music/audio/#odd/t4.wav"
    assert _relative(Path("/music/#1 hit.wav"), Path("/music")) == "./#1 hit.wav"  # not an M3U comment


def test_unplaced_tracks_go_to_their_own_playlist(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    result = export_playlists(run, method="lyrics+dbscan", fmt="m3u")
    assert result.counts == {"cluster_0": 3, "unplaced": 2}
    unplaced = _m3u(run / "playlists" / "lyrics+dbscan" / "unplaced.m3u8")
    assert [line for line in unplaced if line.startswith("#EXTINF")] == [
        "#EXTINF:-1,রবীন্দ্রনাথ - আমার সোনার বাংলা", "#EXTINF:-1,Bo - t3"]


def test_csv_playlists_and_another_folder(tmp_path: Path) -> None:
    run = make_run(tmp_path, absolute=True)  # a run folder written before paths were relative
    out = tmp_path / "player" / "lists"
    result = export_playlists(run, method="lyrics+dbscan", fmt="csv", out=out)
    assert result.folder == out.resolve()
    with (out / "unplaced.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["track_id", "title", "artist", "path", "cluster"]
    assert [(r["track_id"], r["cluster"]) for r in rows] == [("t1", "-1"), ("t3", "-1")]
    assert rows[0]["path"] == "../../my music/audio/t1.wav"
    assert (out / rows[0]["path"]).resolve() == (tmp_path / "my music" / "audio" / "t1.wav").resolve()
    text = (out / "cluster_0.csv").read_text(encoding="utf-8")
    assert list(csv.DictReader(io.StringIO(text)))[1]["title"] == "Two\nlines"  # CSV quotes it


def test_playlist_folders_and_files_have_safe_names(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    result = export_playlists(run, method="pca+gmm")
    assert result.folder.name == safe_name("pca+gmm")
    assert all(p.name == safe_name(p.stem) + p.suffix for p in result.files.values())
    with pytest.raises(ConfigError, match="--method must be one of vae\\+kmeans, pca\\+gmm"):
        export_playlists(run, method="../../etc+kmeans")
    with pytest.raises(ConfigError, match="--format must be one of m3u, csv"):
        export_playlists(run, fmt="pls")
    with pytest.raises(RunError, match="no such run folder"):
        export_playlists(tmp_path / "nowhere")


def test_cli_export(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    runner = CliRunner()
    res = runner.invoke(app, ["export", str(run), "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert "3 playlist(s) of pca+gmm" in res.output and (run / "playlists" / "pca+gmm" / "cluster_2.csv").is_file()
    for args, message in ((["export", str(tmp_path / "none")], "no such run folder"),
                          (["export", str(run), "--method", "x+y"], "--method must be one of"),
                          (["export", str(run), "--format", "pls"], "--format must be one of m3u, csv")):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output
        lines = [x for x in res.output.splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], res.output
