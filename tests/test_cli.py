"""End-to-end through the command line, on tiny generated data."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import TINY_RUN, make_dataset, tone, write_wav
from songspace.cli import app
from songspace.evaluation.registry import metric_columns

runner = CliRunner()

# Small and fast: short clips, few mels, few epochs, three representations, one clusterer, no UMAP (its JIT
# warm-up alone takes ~20 s).
TINY = TINY_RUN + """[representations]
names = ["vae", "pca", "features"]
[model]
channels = [4, 8]
time_frames = 16
[train]
epochs = 8
workers = 1
[cluster]
algorithms = ["kmeans"]
[plots]
umap = false
"""


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.toml"
    p.write_text(TINY)
    return p


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def only_run(runs: Path) -> Path:
    (folder,) = list(runs.iterdir())
    return folder


def test_run_writes_a_complete_run_folder(tmp_path: Path, tiny_config: Path) -> None:
    data = make_dataset(tmp_path / "data", n=15)
    runs = tmp_path / "runs"
    every = ["vae", "conv_vae", "mfcc_vae", "bimodal_vae", "pca", "features", "lyrics", "hybrid",
             "hybrid_features", "naive_hybrid"]
    args = ["run", str(data), "--config", str(tiny_config), "--out", str(runs), "--seed", "3", "-c", "kmeans",
            "-c", "dbscan", "--no-report", *[a for m in every for a in ("-r", m)]]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    folder = only_run(runs)
    assert "run folder:" in res.output
    for m in every:  # the headline table: each representation's best clusterer
        assert re.search(rf"(?<![\w]){m}\+(kmeans|dbscan)\b", res.output), m
    assert "Best unsupervised match to `genre`" in res.output
    for rel in ("config.toml", "metrics.csv", "assignments.csv", "summary.json", "problems.csv", "run.log",
                "analysis.md", "latents/vae.npy", "latents/conv_vae.npy", "latents/lyrics.npy", "models/vae.pt",
                "models/conv_vae.pt", "models/bimodal_vae.pt",
                "figures/training_curve_vae.png", "figures/training_curve_mfcc_vae.png"):
        assert (folder / rel).is_file(), rel
    # t-SNE drawn for the headline methods only (plots.figures = "headline"): fewer spaces than were learned
    drawn = {f["file"] for f in json.loads((folder / "figures.json").read_text(encoding="utf-8"))
             if f["kind"] == "embedding"}
    assert drawn and all((folder / f).is_file() for f in drawn) and len(drawn) < len(every)
    rows = read_csv(folder / "metrics.csv")
    # hybrid fuses its audio (vade), learned for it and listed after the configured ones
    assert [r["method"] for r in rows] == [f"{m}+{c}" for m in [*every, "vade"] for c in ("kmeans", "dbscan")]
    numbers = metric_columns(["language", "genre"])  # the metric registry's columns, in its order
    assert {"silhouette_common", "noise_fraction", "nmi_genre", "ari_language", "n_clusters"} <= set(numbers)
    expected = ["method", "representation", "clusterer", "modality", "conditioned_on", "n_seeds",
                *[c for n in numbers for c in (n, f"{n}_std")], "cluster_sample_size", "space", "notes"]
    assert list(rows[0]) == expected
    assert all(r["n_seeds"] == "1" and r["nmi_genre_std"] == "nan" for r in rows)  # one seed: no spread
    by = {r["method"]: r for r in rows}
    assert all(by[f"{m}+kmeans"]["n_clusters"] == "3" for m in every if m != "lyrics")  # k = 3 genre classes
    # The three sound classes of the fixture are easy: the baseline on raw features must find them.
    assert float(by["features+kmeans"]["nmi_genre"]) > 0.8
    # Lyrics cover 7 of 15 tracks: the others are unassigned in the lyrics-only clustering, and say so.
    assert float(by["lyrics+kmeans"]["noise_fraction"]) == pytest.approx(8 / 15, abs=1e-3)
    assert "8 tracks without lyrics left unassigned" in by["lyrics+kmeans"]["notes"]
    assert {r["modality"] for r in rows} == {"audio", "lyrics", "audio+lyrics"}
    assert "variance share" in by["naive_hybrid+kmeans"]["notes"]
    assignments = read_csv(folder / "assignments.csv")
    assert len(assignments) == 15 and {"vae+kmeans", "hybrid+dbscan", "language", "genre"} <= set(assignments[0])
    latent = np.load(folder / "latents/vae.npy")
    assert latent.shape == (15, 16) and np.all(np.isfinite(latent))
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["seed"] == 3 and summary["k"] == 3
    assert summary["features_computed"] + summary["features_cached"] == 15  # the session's cache may hold some
    assert summary["tracks_with_lyrics"] == 7 and "dbscan" in str(summary["cluster_params"])
    assert "seed = 3" in (folder / "config.toml").read_text()
    assert "## genre" in (folder / "analysis.md").read_text(encoding="utf-8")


def test_no_lyrics_falls_back_to_audio(tmp_path: Path, tiny_config: Path) -> None:
    data = make_dataset(tmp_path / "data", n=9)
    for f in (data / "lyrics").iterdir():
        f.unlink()
    runs = tmp_path / "runs"
    res = runner.invoke(app, ["run", str(data), "--config", str(tiny_config), "--out", str(runs), "-r", "pca",
                              "-r", "lyrics", "-r", "hybrid_features", "--no-report"])
    assert res.exit_code == 0, res.output
    assert "no track has lyrics" in res.output
    assert [r["method"] for r in read_csv(only_run(runs) / "metrics.csv")] == ["pca+kmeans"]


def test_second_run_new_folder_same_numbers_from_cache(tmp_path: Path, tiny_config: Path) -> None:
    data = make_dataset(tmp_path / "data", n=12)
    runs = tmp_path / "runs"
    args = ["run", str(data), "--config", str(tiny_config), "--out", str(runs), "--no-report"]
    assert runner.invoke(app, args).exit_code == 0
    first = only_run(runs)
    before = (first / "metrics.csv").read_bytes()
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    folders = sorted(runs.iterdir())
    assert len(folders) == 2 and (first / "metrics.csv").read_bytes() == before  # nothing overwritten
    second = next(f for f in folders if f != first)
    assert json.loads((second / "summary.json").read_text())["features_computed"] == 0
    assert (second / "metrics.csv").read_bytes() == before  # same seed, same numbers


def test_bad_files_are_skipped_and_listed(tmp_path: Path, tiny_config: Path) -> None:
    data = make_dataset(tmp_path / "data", n=12)
    (data / "audio" / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunk")
    (data / "audio" / "empty.wav").write_bytes(b"")
    write_wav(data / "audio" / "silent.wav", np.zeros(22050 * 2, np.float32))
    write_wav(data / "audio" / "short.wav", tone(440, 0.01))
    runs = tmp_path / "runs"
    res = runner.invoke(app, ["run", str(data), "--config", str(tiny_config), "--out", str(runs), "--no-report"])
    assert res.exit_code == 0, res.output
    assert "problem(s)" in res.output and "Traceback" not in res.output
    problems = {Path(r["path"]).name: r["reason"] for r in read_csv(only_run(runs) / "problems.csv")}
    assert "cannot decode" in problems["corrupt.wav"]
    assert "0 bytes" in problems["empty.wav"]
    assert "silent" in problems["silent.wav"]
    assert "below the minimum" in problems["short.wav"]
    assert len(read_csv(only_run(runs) / "assignments.csv")) == 12


def test_a_variant_is_a_representation_on_the_command_line(tmp_path: Path) -> None:
    res = runner.invoke(app, ["run", str(tmp_path / "missing"), "-r", "vae@features+musicnn", "--out",
                              str(tmp_path / "runs")])
    assert res.exit_code == 2 and "no such folder" in res.output and "representation" not in res.output


def test_clear_errors_without_traceback(tmp_path: Path, tiny_config: Path) -> None:
    res = runner.invoke(app, ["run", str(tmp_path / "missing"), "--out", str(tmp_path / "runs")])
    assert res.exit_code == 2 and "error:" in res.output and "no such folder" in res.output
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit)
    data = make_dataset(tmp_path / "data", n=6)
    res = runner.invoke(app, ["run", str(data), "--label", "mood", "--config", str(tiny_config), "--no-report"])
    assert res.exit_code == 2 and "mood" in res.output and "language, genre" in res.output


@pytest.mark.parametrize("k", ["50", "6"])
def test_k_not_below_the_number_of_tracks_stops_before_writing(tmp_path: Path, tiny_config: Path, k: str) -> None:
    data = make_dataset(tmp_path / "data", n=6)
    runs = tmp_path / "runs"
    res = runner.invoke(app, ["run", str(data), "--config", str(tiny_config), "--out", str(runs), "--k", k,
                              "--no-report"])
    assert res.exit_code == 2, res.output
    said = " ".join(res.output.split())
    assert "error:" in said and "impossible for 6 usable tracks" in said and "2 <= k < 6" in said
    assert "Traceback" not in res.output
    assert not runs.exists() or not any(runs.iterdir())  # nothing written


def test_demo_data_then_run(tmp_path: Path, tiny_config: Path) -> None:
    out = tmp_path / "demo"
    res = runner.invoke(app, ["demo-data", str(out), "--n-tracks", "24", "--seed", "1"])
    assert res.exit_code == 0, res.output
    assert (out / "metadata.csv").is_file() and len(list((out / "audio").iterdir())) == 24
    again = runner.invoke(app, ["demo-data", str(out), "--n-tracks", "24"])
    assert again.exit_code == 2 and "error:" in again.output  # never overwrites
    res = runner.invoke(app, ["run", str(out), "--config", str(tiny_config), "--out", str(tmp_path / "runs"),
                              "--no-report"])
    assert res.exit_code == 0, res.output
    rows = read_csv(only_run(tmp_path / "runs") / "metrics.csv")
    assert {"nmi_language", "nmi_genre"} <= set(rows[0])


def test_python_dash_m() -> None:
    out = subprocess.run([sys.executable, "-m", "songspace", "--help"], capture_output=True, text=True, check=True)
    assert "demo-data" in out.stdout and "run" in out.stdout


# -- what the command line prints ----------------------------------------------------------------------------------



def _one_error_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    line = lines[0]
    assert line.startswith("error: "), output
    for leak in ("pydantic", "http", "Traceback", "validation error", "╭"):
        assert leak not in line, output
    return line


@pytest.mark.parametrize("args, expected", [
    (["run", "DATA", "--k", "0"], "error: --k must be at least 2 (got 0)"),
    (["run", "DATA", "--seeds", "0"], "error: --seeds must be at least 1 (got 0)"),
    (["run", "DATA", "--epochs", "0"], "error: --epochs must be at least 1 (got 0)"),
    (["run", "DATA", "--k", "abc"], "error: --k must be a whole number (got 'abc')"),
    (["run", "DATA", "-r", "nosuchmethod"], "error: -r/--representation must be one of autoencoder, "),
    (["run", "DATA", "-r", "pca@musicnn"], "error: -r/--representation must be one of autoencoder, "),  # no input
    (["run", "DATA", "-c", "x"], "error: -c/--clusterer must be one of kmeans, "),
    (["run", "DATA", "--table", "wide"], "error: --table must be one of headline, full (got 'wide')"),
    (["run", "DATA", "--config", "nosuchlevel"], "error: --config must be a shipped config ("),
    (["experiment", "nosuchlevel", "--data", "DATA"], "error: CONFIG must be a shipped config ("),
    (["demo", "--level", "huge"], "error: --level must be one of "),
    (["run"], "error: missing argument DATA_DIR"),
])
def test_argument_errors_are_one_line_naming_the_option(tmp_path: Path, args: list[str], expected: str) -> None:
    from songspace import clustering
    from songspace.representations import names

    out = tmp_path / "runs"
    args = [str(tmp_path) if a == "DATA" else a for a in args] + ["--out", str(out)]
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    line = _one_error_line(res.output)
    assert line.startswith(expected), line
    if "-r/--representation" in line:
        assert all(n in line for n in names()) and ("(got 'nosuchmethod')" in line or "(got 'pca@musicnn')" in line)
    if "-c/--clusterer" in line:
        assert all(n in line for n in clustering.names()) and "(got 'x')" in line
    if "shipped config" in line:
        assert all(level in line for level in ("easy", "medium", "hard", "large")) and ".toml" in line
    assert not out.exists()  # nothing written before the inputs are known to be usable


def test_method_is_a_deprecated_alias_of_representation(tmp_path: Path) -> None:
    """``run -m/--method`` (the old name of -r/--representation) is read as it, after one warning line."""
    out = tmp_path / "runs"
    res = runner.invoke(app, ["run", str(tmp_path), "-r", "pca", "--method", "nosuch", "--out", str(out)])
    assert res.exit_code == 2, res.output
    warning, error = res.output.strip().splitlines()
    assert warning.startswith("warning: -m/--method is deprecated: use -r/--representation"), warning
    assert error.startswith("error: -r/--representation must be one of ") and "(got 'nosuch')" in error, error
    assert "--method" not in runner.invoke(app, ["run", "--help"]).output  # hidden: no longer advertised
    assert not out.exists()


def test_config_file_errors_name_the_file_and_the_setting(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[cluster]\nk = 0\n")
    res = runner.invoke(app, ["run", str(tmp_path), "--config", str(bad)])
    assert res.exit_code == 2
    assert _one_error_line(res.output) == f"error: {bad}: cluster.k must be at least 2 (got 0)"
    bad.write_text("[cluster]\nkk = 3\n")
    res = runner.invoke(app, ["run", str(tmp_path), "--config", str(bad)])
    assert res.exit_code == 2
    assert "unknown setting cluster.kk (did you mean cluster.k?)" in _one_error_line(res.output)
    res = runner.invoke(app, ["run", str(tmp_path), "--config", str(bad), "--k", "1"])  # two mistakes, two lines
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 2 and "--k must be at least 2" in res.output


def test_help_and_argument_errors_import_nothing_heavy() -> None:
    code = ("import sys\n"
            "from typer.testing import CliRunner\n"
            "from songspace.cli import app\n"
            "r = CliRunner()\n"
            "assert r.invoke(app, ['--help']).exit_code == 0\n"
            "assert r.invoke(app, ['run', '--help']).exit_code == 0\n"
            "assert r.invoke(app, ['run', '.', '--k', '0']).exit_code == 2\n"
            "assert r.invoke(app, ['run', '.', '-r', 'nosuch']).exit_code == 2\n"
            "heavy = ('torch', 'sklearn', 'librosa', 'umap', 'songspace.runner', 'songspace.datasets',\n"
            "         'songspace.features', 'songspace.clustering')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_run_prints_a_readable_table_writes_the_report_and_says_where(tmp_path: Path, tiny_config: Path) -> None:
    data = make_dataset(tmp_path / "data", n=12)
    runs = tmp_path / "runs"
    res = runner.invoke(app, ["run", str(data), "--config", str(tiny_config), "--out", str(runs)])
    assert res.exit_code == 0, res.output
    folder = only_run(runs)
    out = res.output
    # Not a terminal: plain progress lines, no bars.
    assert re.search(r"^features 12/12 done in \d+\.\d s$", out, re.M) and "━" not in out
    assert re.search(r"^train vae (8/8 done|stopped early at \d/8) in \d+\.\d s$", out, re.M)
    # The headline table fits 80 columns and prints counts as integers.
    rows = [ln for ln in out.splitlines() if re.fullmatch(r".*\b(vae|pca|features)\+kmeans( +[-\d.±]+)+ *", ln)]
    assert len(rows) == 3 and all(len(ln) <= 80 for ln in rows)
    assert all(ln.split()[-1] in ("3", "-") or "±" not in ln.split()[-1] for ln in rows)
    assert "3.000" not in out and "baseline" in out
    by = {r["method"]: r for r in read_csv(folder / "metrics.csv")}
    genre_nmi = f"{float(by['features+kmeans']['nmi_genre']):.2f}"
    assert genre_nmi in next(ln for ln in rows if "features+kmeans" in ln)
    # The report is written and the last lines say where it and the run folder are.
    last = out.strip().splitlines()
    assert last[-1] == f"run folder: {folder}"
    assert f"report: {folder / 'report.html'}" in last and f"explorer: {folder / 'explorer.html'}" in last
    assert (folder / "report.html").is_file() and (folder / "explorer.html").is_file()


def test_full_table_and_no_report(tmp_path: Path, tiny_config: Path) -> None:
    data = make_dataset(tmp_path / "data", n=9)
    runs = tmp_path / "runs"
    res = runner.invoke(app, ["run", str(data), "--config", str(tiny_config), "--out", str(runs), "-c", "kmeans",
                              "-c", "gmm", "--table", "full", "--no-report"])
    assert res.exit_code == 0, res.output
    folder = only_run(runs)
    methods = [r["method"] for r in read_csv(folder / "metrics.csv")]
    assert len(methods) == 6
    for m in methods:  # every row, in at least one part of the table
        assert re.search(rf"(?<!\w){re.escape(m)}\b", res.output), m
    assert "DB" in res.output and "CH" in res.output and "purity" in res.output  # every metric column
    assert not (folder / "report.html").exists()
    assert f"songspace report {folder}" in res.output and res.output.strip().splitlines()[-1] == f"run folder: {folder}"
