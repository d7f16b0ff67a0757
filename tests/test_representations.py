"""Tests for songspace.representations: the registry, and a representation added in one place showing up everywhere."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import TINY_RUN, make_dataset
from songspace import representations as registry
from songspace.errors import ConfigError
from songspace.representations import AUDIO, MODALITIES, RepresentationSpec
from songspace.settings import load


def test_every_module_declares_a_consistent_spec() -> None:
    specs = registry.specs()
    assert len({s.name for s in specs}) == len(specs) == len(registry.names())
    for s in specs:
        assert s.modality in MODALITIES and s.description, s.name
        assert not (s.learned and s.baseline), s.name
        if s.learned and s.model is not None:
            from songspace.models import MODELS

            assert s.model in MODELS, s.name
        if s.conditions_required:
            assert s.conditioned_by, s.name
        if s.params is not None:
            s.params()  # every own setting has a default
    assert set(registry.default_names()) <= set(registry.names())
    assert {s.name for s in specs if s.baseline} >= {"pca", "features", "mfcc_stats", "log_mel_flat"}


def test_config_validation_reads_the_registry() -> None:
    with pytest.raises(ConfigError, match="unknown representation.*nope.*choose from: vae"):
        load(None, **{"representations.names": ["vae", "nope"]})
    with pytest.raises(ConfigError, match="not an audio representation"):
        load(None, **{"representations.hybrid_audio": "lyrics"})
    with pytest.raises(ConfigError, match="n_clusters"):
        load(None, **{"representations.params": {"vade": {"n_clusters": 1}}})
    with pytest.raises(ConfigError, match="no settings of its own"):
        load(None, **{"representations.params": {"pca": {"x": 1}}})
    cfg = load(None, **{"representations.params": {"n2d": {"n_neighbors": 5}}})
    assert cfg.representations.params == {"n2d": {"n_neighbors": 5}}


def _toy(ctx):
    """A seeded random projection of the statistics to 3 dimensions."""
    from songspace.representations.base import Representation

    rng = np.random.default_rng(ctx.cfg.seed)
    X = ctx.inputs.standardised_stats()
    Z = (X @ rng.normal(size=(X.shape[1], 3))).astype(np.float32)
    return Representation("toy_projection", AUDIO, Z, "random projection of the statistics (3-d)")


TOY = RepresentationSpec(name="toy_projection", modality=AUDIO, build=_toy, baseline=True,
                         description="toy baseline: a seeded random projection of the statistics")


@pytest.fixture
def toy():
    registry.register(TOY)
    yield TOY
    registry.unregister(TOY.name)


def test_a_representation_added_in_one_place_reaches_config_metrics_report_and_explorer(tmp_path: Path, toy) -> None:
    from songspace.report import write_report
    from songspace.runner import run_experiment

    data = make_dataset(tmp_path / "data", n=12)
    cfg_path = tmp_path / "toy.toml"
    cfg_path.write_text(TINY_RUN + '[representations]\nnames = ["toy_projection", "pca"]\n'
                        '[cluster]\nalgorithms = ["kmeans"]\n[plots]\ntsne = false\numap = false\n', encoding="utf-8")
    cfg = load(cfg_path, data=str(data), out=str(tmp_path / "runs"))  # validation knows the new name
    result = run_experiment(cfg)
    with (result.folder / "metrics.csv").open(encoding="utf-8") as fh:
        rows = {r["method"]: r for r in csv.DictReader(fh)}
    assert "toy_projection+kmeans" in rows and rows["toy_projection+kmeans"]["nmi_genre"] != ""
    summary = json.loads((result.folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["representation_specs"]["toy_projection"]["baseline"] is True
    files = write_report(result.folder, pdf=False)
    page = files.html.read_text(encoding="utf-8")
    assert "toy baseline: a seeded random projection of the statistics" in page
    assert "toy_projection" in (result.folder / "explorer.html").read_text(encoding="utf-8")
    analysis = (result.folder / "analysis.md").read_text(encoding="utf-8")
    assert "toy_projection" in analysis


def test_unknown_representation_is_an_error_with_the_choices() -> None:
    with pytest.raises(KeyError, match="choose from"):
        registry.get("nope")
