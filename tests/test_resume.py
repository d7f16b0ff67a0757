"""Ctrl-C during feature extraction or training, then the same run again: the cached features and the
trainings' checkpoints are reused and the run finishes with the numbers of an uninterrupted run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import songspace.runner
from conftest import TINY_RUN, make_dataset
from songspace.cli import app
from songspace.config import load_config
from songspace.runner import run_experiment

N_TRACKS = 9
N_DONE = 4  # files whose features are cached when Ctrl-C comes (a multiple of the batch size)

# One representation without training, one clusterer, no t-SNE or UMAP; one worker, two clips per batch, so the
# progress callback fires after every second file.
TINY = TINY_RUN + """batch_size = 2
[representations]
names = ["pca"]
[cluster]
algorithms = ["kmeans"]
[plots]
tsne = false
umap = false
"""


def write_config(tmp_path: Path) -> Path:
    """The tiny config, with a feature cache of its own: every file found cached was cached by this test."""
    path = tmp_path / "tiny.toml"
    cache = (tmp_path / "cache").as_posix()
    path.write_text(TINY.replace("batch_size = 2\n", f'batch_size = 2\ncache_dir = "{cache}"\n'), encoding="utf-8")
    return path


def ctrl_c_after(n: int) -> Callable[[str, int, int], None]:
    """A progress callback that presses Ctrl-C once ``n`` files have their features."""
    def progress(stage: str, done: int, total: int) -> None:
        if stage == "features" and done >= n:
            raise KeyboardInterrupt

    return progress


def test_interrupted_run_resumes_from_the_cache(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", n=N_TRACKS)
    cfg = load_config(write_config(tmp_path), data=str(data), out=str(tmp_path / "runs"))
    assert cfg.features.cache_dir == (tmp_path / "cache").as_posix()
    with pytest.raises(KeyboardInterrupt):
        run_experiment(cfg, progress=ctrl_c_after(N_DONE))
    runs = tmp_path / "runs"
    assert not runs.exists() or not any(runs.iterdir())  # stopped during extraction: no run folder yet

    result = run_experiment(cfg)
    s = result.summary
    assert s["features_cached"] == N_DONE and s["features_computed"] == N_TRACKS - N_DONE
    assert s["tracks_used"] == N_TRACKS
    assert (result.folder / "metrics.csv").is_file()
    assert [r["method"] for r in result.metrics] == ["pca+kmeans"]
    assert run_experiment(cfg).summary["features_cached"] == N_TRACKS  # and a third run computes nothing


def test_cli_ctrl_c_exits_130_with_a_resume_hint_and_the_rerun_uses_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_dataset(tmp_path / "data", n=N_TRACKS)
    cfg = write_config(tmp_path)
    real = songspace.runner.run_experiment

    def interrupted(cfg: Any, *, progress: Any = None) -> Any:  # the real run, Ctrl-C after N_DONE files
        def both(stage: str, done: int, total: int) -> None:
            if progress:
                progress(stage, done, total)
            ctrl_c_after(N_DONE)(stage, done, total)

        return real(cfg, progress=both)

    args = ["run", str(data), "--config", str(cfg), "--out", str(tmp_path / "runs")]
    monkeypatch.setattr(songspace.runner, "run_experiment", interrupted)
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 130, res.output
    said = " ".join(res.output.split())  # rich wraps lines at the terminal width
    assert "interrupted" in said and "run the same command again to resume" in said
    assert "Traceback" not in res.output

    monkeypatch.setattr(songspace.runner, "run_experiment", real)
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert f"{N_TRACKS - N_DONE} computed, {N_DONE} from cache" in " ".join(res.output.split())
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 1 and (folders[0] / "metrics.csv").is_file()  # the stopped run wrote no folder
    assert json.loads((folders[0] / "summary.json").read_text())["features_cached"] == N_DONE


def test_run_stopped_during_training_goes_on_from_the_checkpoints(tmp_path: Path, monkeypatch) -> None:
    data = make_dataset(tmp_path / "data", n=N_TRACKS)
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace('names = ["pca"]', 'names = ["vae", "beta_vae"]')
                    + "[train]\nepochs = 6\npatience = 6\ncheckpoint_minutes = 0\n", encoding="utf-8")
    cfg = load_config(path, data=str(data), out=str(tmp_path / "runs"))

    def stop_in_beta_vae(stage: str, done: int, total: int) -> None:
        if stage == "train beta_vae" and done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(cfg, progress=stop_in_beta_vae)
    resumed = run_experiment(cfg)
    assert resumed.summary["from_checkpoints"] == {"vae": "finished", "beta_vae": "resumed after epoch 3"}

    monkeypatch.setenv("SONGSPACE_CHECKPOINT_DIR", str(tmp_path / "fresh"))  # the same run, never stopped
    whole = run_experiment(load_config(path, data=str(data), out=str(tmp_path / "runs")))
    assert whole.summary["from_checkpoints"] == {}
    assert (resumed.folder / "metrics.csv").read_bytes() == (whole.folder / "metrics.csv").read_bytes()
