"""Tests for songspace.representations: the registry, and a representation added in one place showing up everywhere."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict

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


def test_every_module_file_of_the_package_registers_a_spec() -> None:
    package = Path(registry.__file__).parent
    files = {p.stem for p in package.glob("*.py") if not p.stem.startswith("_") and p.stem not in ("spec", "base")}
    assert set(registry.module_names()) == files
    assert {s.build.__module__.rsplit(".", 1)[1] for s in registry.specs()} == files  # each module's own SPEC


def test_a_module_without_a_spec_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "module_names", lambda: ["pca", "spec"])
    with pytest.raises(TypeError, match=r"representations.spec \(spec.py\) defines no SPEC.*_spec.py"):
        registry.names()


def test_spec_model_names_are_the_model_registrys() -> None:
    from songspace.models import MODELS
    from songspace.representations.spec import MODEL_NAMES

    assert sorted(MODEL_NAMES) == sorted(MODELS)


class _Own(BaseModel):
    model_config = ConfigDict(extra="forbid")

    beta: float = 1.0
    labels: list[str] = []


class _NoDefault(_Own):
    width: int


class _Open(BaseModel):  # accepts any setting: a typo in a config would be ignored
    beta: float = 1.0


class _Sweeps(_Own):
    sweep: list[float] = []


def _noop(ctx):
    raise AssertionError("never built")


@pytest.mark.parametrize("fields, match", [
    ({"modality": "sound"}, "modality = 'sound' is not one of audio"),
    ({"model": "mlp_vea"}, "model = 'mlp_vea' is not a model of songspace.models"),
    ({"kl_beta": "beta_vae"}, "kl_beta = 'beta_vae' is neither 'model.beta'.*none"),
    ({"kl_beta": "betta", "params": _Own}, "kl_beta = 'betta' is neither 'model.beta'.*beta, labels"),
    ({"conditioned_by": "labels"}, "conditioned_by = 'labels' is not one of its params"),
    ({"conditioned_by": "label", "params": _Own}, "conditioned_by = 'label' is not one of its params \\(beta, labels"),
    ({"conditions_required": True}, "conditions_required needs conditioned_by"),
    ({"params": dict}, "params = <class 'dict'> is not a pydantic model"),
    ({"params": _NoDefault}, "params _NoDefault must give every setting a default \\(no default: width"),
    ({"params": _Open}, 'params _Open must refuse unknown settings: model_config = ConfigDict\\(extra="forbid"\\)'),
    ({"params": _Sweeps, "kl_beta": "model.beta"}, "params declare 'sweep'.*kl_beta names no own setting"),
    ({"learned": True, "baseline": True}, "learned and baseline are exclusive"),
    ({"save_state": lambda rep, inputs: {}}, "save_state and embed_new go together"),
    ({"description": ""}, "description is empty"),
])
def test_a_spec_with_a_wrong_reference_fails_when_it_is_made(fields: dict, match: str) -> None:
    # the message names the module that made it, the spec and the field: a typo fails at import, not in a run
    with pytest.raises(TypeError, match=f"^test_representations: RepresentationSpec 'typo': {match}"):
        RepresentationSpec(**{"name": "typo", "modality": AUDIO, "build": _noop, "description": "x", **fields})


def test_register_refuses_a_spec_that_reads_an_unknown_encoder() -> None:
    spec = RepresentationSpec(name="typo", modality=AUDIO, build=_noop, description="x", reads=("musicn",))
    with pytest.raises(TypeError, match="RepresentationSpec 'typo': reads names 'musicn', not a representation read "
                                        "from a pretrained encoder \\(musicnn"):
        registry.register(spec)
    assert "typo" not in registry.names()


def test_one_sweep_at_most() -> None:
    spec = registry.register(RepresentationSpec(name="toy_sweep", modality=AUDIO, build=_noop, description="x",
                                                learned=True, params=_Sweeps, kl_beta="beta"))
    try:
        one = {"beta_vae": {"sweep": [1.0, 4.0]}}
        assert registry.sweeps(load(None, **{"representations.params": one})) == {"beta_vae": [1.0, 4.0]}
        with pytest.raises(ConfigError, match="beta_vae and toy_sweep both set a sweep; beta_sweep.csv holds one"):
            load(None, **{"representations.params": {**one, spec.name: {"sweep": [2.0]}}})
    finally:
        registry.unregister(spec.name)


def test_modality_and_learnedness_are_the_specs_alone() -> None:
    from dataclasses import fields

    from songspace.representations.base import Representation

    assert not {"modality", "learned"} & {f.name for f in fields(Representation)}
    rep = Representation("poe_vae", np.zeros((2, 2), dtype=np.float32), "z")
    assert rep.modality == registry.get("poe_vae").modality == registry.CONDITIONED and rep.spec.learned
    # n2d is an audio representation: the latent it reduces must be one too
    with pytest.raises(ConfigError, match="base = 'lyrics' is not an audio representation to reduce"):
        load(None, **{"representations.params": {"n2d": {"base": "lyrics"}}})


def test_config_validation_reads_the_registry() -> None:
    with pytest.raises(ConfigError, match="unknown representation.*nope.*choose from: autoencoder, beta_conv_vae"):
        load(None, **{"representations.names": ["vae", "nope"]})
    with pytest.raises(ConfigError, match="representations.params.hybrid.audio is not valid.*not an audio "
                                          "representation"):
        load(None, **{"representations.params": {"hybrid": {"audio": "lyrics"}}})
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
    return Representation("toy_projection", Z, "random projection of the statistics (3-d)")


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
