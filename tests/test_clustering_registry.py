"""Tests for the clusterer registry (songspace.clustering): every module registers, a spec with a typo fails at
import, and a clusterer added in one place reaches config, CLI, metrics.csv, the report, saved state and assign."""

from __future__ import annotations

import csv
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import TINY_RUN, make_dataset
from songspace import clustering
from songspace.clustering import ClustererSpec
from songspace.clustering.placing import PLACERS, NearestCentroid
from songspace.clustering.result import ClusterResult, result


def test_every_module_file_registers_a_spec() -> None:
    modules = clustering.module_names()
    assert set(modules) == set(clustering.names())  # one clusterer per file, named as its file
    for name in modules:
        spec = clustering.get(name)
        assert spec.fit.__module__.startswith("songspace.clustering.") and spec.description and spec.reference
    assert set(clustering.own_number()) == {"dbscan", "hdbscan"}


def test_a_module_that_forgot_its_spec_is_an_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "songspace.clustering.forgot", types.ModuleType("songspace.clustering.forgot"))
    monkeypatch.setattr(clustering, "module_names", lambda: ["kmeans", "forgot"])
    monkeypatch.setattr(clustering, "_REGISTRY", {})
    with pytest.raises(TypeError, match=r"forgot.py\) defines no SPEC"):
        clustering.names()


def _fit(X: np.ndarray, k: int, *, seed: int = 0, sample_size: int = 10_000) -> ClusterResult:
    return result(np.zeros(len(X), np.int64), {"k": k}, [], NearestCentroid.of(X, np.zeros(len(X))))


def test_a_spec_with_a_mistyped_field_is_an_error_when_it_is_made() -> None:
    with pytest.raises(TypeError, match="takes_kk"):
        ClustererSpec(name="x", description="x", fit=_fit, takes_kk=False)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="seed and sample_size"):
        ClustererSpec(name="x", description="x", fit=lambda X, k: None)
    with pytest.raises(TypeError, match="identifier"):
        ClustererSpec(name="my clusterer", description="x", fit=_fit)


def _birch(X: np.ndarray, k: int, *, seed: int = 0, sample_size: int = 10_000,
           threshold: float = 0.1) -> ClusterResult:
    """BIRCH's CF tree, its leaves cut into k clusters; new points join the nearest centroid."""
    from sklearn.cluster import Birch

    labels = Birch(n_clusters=k, threshold=threshold).fit(X).labels_
    return result(labels, {"k": k, "threshold": threshold}, [], NearestCentroid.of(X, labels))


BIRCH = ClustererSpec(name="toy_birch", description="toy: BIRCH's tree cut into k clusters", fit=_birch,
                      reference="Zhang, Ramakrishnan and Livny 1996")


@pytest.fixture
def birch():
    clustering.register(BIRCH)
    yield BIRCH
    clustering.unregister(BIRCH.name)


def test_a_clusterer_added_in_one_place_reaches_config_cli_metrics_report_state_and_assign(tmp_path: Path,
                                                                                           birch) -> None:
    from songspace.assign import assign
    from songspace.cli import app
    from songspace.report import write_report

    data = make_dataset(tmp_path / "data", n=12)
    cfg_path = tmp_path / "toy.toml"
    cfg_path.write_text(TINY_RUN + '[cluster]\nk = 3\n[plots]\ntsne = false\numap = false\n', encoding="utf-8")
    out = tmp_path / "runs"
    res = CliRunner().invoke(app, ["run", str(data), "--config", str(cfg_path), "-r", "pca", "-c", "toy_birch",
                                   "-c", "kmeans", "--out", str(out), "--no-report"])
    assert res.exit_code == 0, res.output
    folder = next(p for p in out.iterdir() if (p / "metrics.csv").is_file())
    with (folder / "metrics.csv").open(encoding="utf-8") as fh:
        rows = {r["method"]: r for r in csv.DictReader(fh)}
    assert rows["pca+toy_birch"]["nmi_genre"] != "" and rows["pca+toy_birch"]["n_clusters"] == "3"
    with np.load(folder / "state" / "pca+toy_birch.npz", allow_pickle=False) as npz:
        assert str(npz["clusterer"]) == "toy_birch" and str(npz["kind"]) in PLACERS
    page = write_report(folder, pdf=False).html.read_text(encoding="utf-8")
    assert "toy: BIRCH&#39;s tree cut into k clusters (Zhang, Ramakrishnan and Livny 1996)" in page
    placed = assign(folder, data)
    assert "pca+toy_birch" in placed.methods
    with (placed.folder / "assignments.csv").open(encoding="utf-8") as fh:
        got = {r["track_id"]: r["pca+toy_birch"] for r in csv.DictReader(fh)}
    with (folder / "assignments.csv").open(encoding="utf-8") as fh:
        want = {r["track_id"]: r["pca+toy_birch"] for r in csv.DictReader(fh)}
    assert got == want  # the run's own tracks placed again: the clusters the run gave them
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert "toy_birch" in summary["clusterers"]
