"""Seeds and error bars: aggregation, exact reproduction of a seed in any process, conditioned rows marked,
the figures of a Hard-level run, and the shipped experiment configs."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import TINY_RUN, make_dataset
from songspace.cli import app
from songspace.config import SHIPPED, load_config
from songspace.evaluation.seeds import aggregate_seeds, mean_std, with_std

runner = CliRunner()

TINY = TINY_RUN + """[model]
channels = [4, 8]
time_frames = 16
[train]
epochs = 6
workers = 1
[cluster]
algorithms = ["kmeans"]
[plots]
umap = false
"""


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _config(tmp_path: Path, extra: str = "") -> Path:
    p = tmp_path / "tiny.toml"
    p.write_text(TINY.replace("n_seeds = 1\n", "n_seeds = 1\n" + extra))
    return p


def test_mean_std_and_aggregation() -> None:
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)  # sample standard deviation (ddof 1)
    m, s = mean_std(["0.5", "nan", 0.7])  # strings from a CSV; an undefined seed is left out
    assert m == pytest.approx(0.6) and s == pytest.approx(math.sqrt(0.02))
    assert math.isnan(mean_std([0.4])[1]) and all(math.isnan(v) for v in mean_std([float("nan")]))
    rows = [{"method": "a", "seed": s, "nmi": v, "notes": n, "space": "x"}
            for s, v, n in ((0, 0.2, "one"), (1, 0.4, "one; two"), (2, 0.6, ""))]
    rows.append({"method": "b", "seed": 0, "nmi": 0.9, "notes": "", "space": "y"})
    out = aggregate_seeds(rows, ["nmi"])
    assert [r["method"] for r in out] == ["a", "b"]
    assert out[0]["n_seeds"] == 3 and out[0]["nmi"] == pytest.approx(0.4) and out[0]["nmi_std"] == pytest.approx(0.2)
    assert out[0]["notes"] == "one; two" and "seed" not in out[0] and out[1]["n_seeds"] == 1
    assert with_std(["method", "nmi", "space"], ["nmi"]) == ["method", "nmi", "nmi_std", "space"]


def test_seeds_give_mean_std_and_each_seed_reproduces_in_any_process(tmp_path: Path, monkeypatch) -> None:
    data = make_dataset(tmp_path / "data", n=12)
    cfg = _config(tmp_path)
    runs = tmp_path / "runs"
    # Three seeds, the first in this process and two in a spawned worker process.
    cfg.write_text(cfg.read_text().replace("umap = false", "umap = false\ntsne = false"))  # figures: not tested here
    res = runner.invoke(app, ["run", str(data), "--config", str(cfg), "--out", str(runs / "all"), "--seeds", "3",
                              "--workers", "2", "-r", "vae", "-r", "pca"])
    assert res.exit_code == 0, res.output
    (folder,) = list((runs / "all").iterdir())
    rows = {r["method"]: r for r in read_csv(folder / "metrics.csv")}
    assert set(rows) == {"vae+kmeans", "pca+kmeans"}
    assert rows["vae+kmeans"]["n_seeds"] == "3" and "nmi_genre_std" in rows["vae+kmeans"]
    assert float(rows["vae+kmeans"]["silhouette_std"]) >= 0
    per_seed = read_csv(folder / "metrics_seeds.csv")
    assert sorted((r["seed"], r["method"]) for r in per_seed) == sorted(
        (str(s), m) for s in range(3) for m in ("vae+kmeans", "pca+kmeans"))
    vae = [float(r["silhouette"]) for r in per_seed if r["method"] == "vae+kmeans"]
    assert len(set(vae)) > 1  # the seeds differ ...
    assert float(rows["vae+kmeans"]["silhouette"]) == pytest.approx(sum(vae) / 3, rel=1e-4)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["seeds"] == [0, 1, 2] and summary["seed_workers"] == 2
    # ... and seed 2, run alone in this process, gives exactly the numbers the worker process gave (trained
    # again: not from the worker's checkpoint).
    monkeypatch.setenv("SONGSPACE_CHECKPOINT_DIR", str(tmp_path / "fresh-checkpoints"))
    res = runner.invoke(app, ["run", str(data), "--config", str(cfg), "--out", str(runs / "two"), "--seed", "2",
                              "-r", "vae", "-r", "pca"])
    assert res.exit_code == 0, res.output
    (alone,) = list((runs / "two").iterdir())
    again = {r["method"]: r for r in read_csv(alone / "metrics_seeds.csv")}
    for r in per_seed:
        if r["seed"] == "2":
            assert {k: v for k, v in r.items() if k != "notes"} == \
                {k: v for k, v in again[r["method"]].items() if k != "notes"}


def test_hard_level_run_marks_conditioned_rows_and_draws_every_figure(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", n=15)
    cfg = _config(tmp_path, 'experiment = "hard-tiny"\n')
    text = cfg.read_text() + '\n[representations]\nnames = ["beta_vae", "cvae", "poe_vae", "autoencoder", ' \
        '"mfcc_stats", "log_mel_flat", "beta_conv_vae"]\n[representations.params.cvae]\n' \
        'condition_on = ["language"]\n[representations.params.poe_vae]\nlabels = ["genre"]\n' \
        '[representations.params.beta_vae]\nsweep = [1.0, 4.0]\n'
    cfg.write_text(text.replace("[plots]\n", '[plots]\nfigures = "all"\n'))
    runs = tmp_path / "runs"
    res = runner.invoke(app, ["run", str(data), "--config", str(cfg), "--out", str(runs)])
    assert res.exit_code == 0, res.output
    (folder,) = list(runs.iterdir())
    rows = {r["representation"]: r for r in read_csv(folder / "metrics.csv")}
    assert rows["cvae"]["conditioned_on"] == "language" and rows["poe_vae"]["conditioned_on"] == "genre"
    assert rows["beta_vae"]["conditioned_on"] == "" and rows["log_mel_flat"]["conditioned_on"] == ""
    assert "not unsupervised" in rows["cvae"]["notes"]
    assert re.search(r"cvae\+\w+ †", res.output) and "† given (conditioned on)" in res.output
    analysis = (folder / "analysis.md").read_text(encoding="utf-8")
    assert "was given `language`" in analysis or "cvae" not in analysis.split("## language")[1].split("##")[0]
    sweep = read_csv(folder / "beta_sweep.csv")
    assert [float(r["beta"]) for r in sweep] == [1.0, 4.0] and all(float(r["reconstruction"]) > 0 for r in sweep)
    index = json.loads((folder / "figures.json").read_text(encoding="utf-8"))
    kinds = {f["kind"] for f in index}
    assert {"embedding", "composition", "reconstruction", "traversal", "training", "metrics", "beta_sweep"} <= kinds
    for f in index:
        assert (folder / f["file"]).is_file() and f["caption"]
    assert (folder / "figures/traversal_beta_conv_vae.png").is_file()
    assert (folder / "figures/reconstructions_beta_conv_vae.png").is_file()
    assert (folder / "projections/beta_vae_tsne.npz").is_file()
    assert "audio_path" in read_csv(folder / "assignments.csv")[0]


def test_missing_condition_column_is_a_clear_error(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", n=9)
    cfg = _config(tmp_path)
    cfg.write_text(cfg.read_text() + '\n[representations]\nnames = ["cvae"]\n[representations.params.cvae]\n'
                   'condition_on = ["mood"]\n')
    res = runner.invoke(app, ["run", str(data), "--config", str(cfg), "--out", str(tmp_path / "runs")])
    assert res.exit_code == 2 and "condition_on" in res.output and "mood" in res.output


@pytest.mark.parametrize("level", ["easy", "medium", "hard", "large"])
def test_shipped_experiment_configs_load_by_name_and_path(level: str) -> None:
    by_name = load_config(level, data="x")
    assert by_name == load_config(SHIPPED / f"{level}.toml", data="x")
    assert by_name.experiment == level and by_name.n_seeds == (1 if level == "large" else 5)
    assert (Path(__file__).resolve().parents[1] / "configs" / f"{level}.toml").is_file()


def test_experiment_command_runs_a_config_on_a_folder(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", n=9)
    cfg = _config(tmp_path, 'experiment = "mini"\n')
    cfg.write_text(cfg.read_text() + '\n[representations]\nnames = ["pca"]\n')
    res = runner.invoke(app, ["experiment", str(cfg), "--data", str(data), "--out", str(tmp_path / "runs"),
                              "--no-report"])
    assert res.exit_code == 0, res.output
    (folder,) = list((tmp_path / "runs").iterdir())
    assert folder.name.endswith("mini-data") and (folder / "metrics_seeds.csv").is_file()
