"""Tests for songspace.config (typed settings, TOML load/dump, dotted overrides)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from songspace.config import ClusterConfig, RunConfig, TrainConfig, dump_config, load_config
from songspace.errors import ConfigError
from songspace.settings import load


def test_defaults_load() -> None:
    cfg = load_config()
    assert cfg == RunConfig()
    assert cfg.seed == 0 and cfg.labels is None
    assert cfg.model.latent_dim == 16 and cfg.model.hidden_dims == [256, 128]
    assert cfg.train.epochs == 300 and cfg.train.device == "auto"
    assert cfg.cluster.k is None and cfg.cluster.k_range == (2, 12)
    assert cfg.features.sample_rate == 22050


def test_dump_round_trip_defaults() -> None:
    cfg = RunConfig()
    assert RunConfig.model_validate(tomllib.loads(dump_config(cfg))) == cfg


def test_dump_round_trip_customised(tmp_path) -> None:
    cfg = load_config(**{"cluster.k": 6, "cluster.k_range": (3, 9), "labels": ["genre", "mood"], "seed": 4,
                         "model.hidden_dims": [32, 8], "features.fmax": 8000.0, "train.lr": 3e-4, "name": "x"})
    text = dump_config(cfg)
    assert RunConfig.model_validate(tomllib.loads(text)) == cfg
    path = tmp_path / "resolved.toml"
    path.write_text(text, encoding="utf-8")
    assert load_config(path) == cfg


def test_dump_leaves_out_unset_optionals() -> None:
    data = tomllib.loads(dump_config(RunConfig()))
    assert "labels" not in data and "k" not in data["cluster"] and "fmax" not in data["features"]


def test_dotted_overrides() -> None:
    cfg = load_config(**{"cluster.k": 6, "train.epochs": 7, "seed": 3, "model.beta": 4.0})
    assert cfg.cluster.k == 6 and cfg.train.epochs == 7 and cfg.seed == 3 and cfg.model.beta == 4.0
    assert cfg.train.lr == TrainConfig().lr  # siblings keep their defaults


def test_overrides_apply_on_top_of_file_and_none_is_ignored(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('seed = 1\n[train]\nepochs = 5\nlr = 0.01\n[cluster]\nk = 3\n', encoding="utf-8")
    cfg = load_config(path, **{"train.epochs": 9, "cluster.k": None})
    assert cfg.train.epochs == 9  # override wins
    assert cfg.train.lr == 0.01  # file value kept
    assert cfg.cluster.k == 3  # None means "not given"
    assert cfg.seed == 1


def test_unknown_key_in_file(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[train]\nepochs = 5\nepoch_count = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="epoch_count") as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_unknown_top_level_key(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('colour = "red"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="colour"):
        load_config(path)


def test_unknown_override_key() -> None:
    with pytest.raises(ConfigError, match="nonsense"):
        load_config(**{"train.nonsense": 1})


@pytest.mark.parametrize(
    ("key", "value"),
    [("train.epochs", -1), ("train.epochs", 0), ("train.val_fraction", 1.0), ("cluster.k", 1),
     ("cluster.algorithms", ["dbscan", "spectral"]), ("model.latent_dim", "many")],
)
def test_invalid_values(key: str, value) -> None:
    with pytest.raises(ConfigError, match=key.split(".")[-1]):
        load(**{key: value})  # the schema's checks, then the registries' (cluster.algorithms)


def test_negative_epochs_in_file(tmp_path) -> None:
    path = tmp_path / "neg.toml"
    path.write_text("[train]\nepochs = -5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="epochs"):
        load_config(path)


def test_missing_file(tmp_path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError, match="not found"):
        load_config(path)


def test_invalid_toml(tmp_path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[train\nepochs = = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(str(path))


def test_validate_assignment() -> None:
    cfg = ClusterConfig()
    with pytest.raises(ValueError):
        cfg.k = 0
    cfg.k = 5
    assert cfg.k == 5


def test_directory_instead_of_file(tmp_path) -> None:
    with pytest.raises(ConfigError):
        load_config(tmp_path)


def test_non_utf8_file(tmp_path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError):
        load_config(path)


def test_shipped_default_config_states_the_real_defaults() -> None:
    # configs/default.toml documents every setting: it must stay equal to the code's defaults.
    shipped = Path(__file__).resolve().parents[1] / "configs" / "default.toml"
    assert load_config(shipped) == RunConfig()


def test_old_methods_section_is_read_with_a_warning(tmp_path, caplog) -> None:
    old = tmp_path / "old.toml"
    old.write_text('[methods]\nrepresentations = ["pca", "vae"]\nlyrics_weight = 0.5\n', encoding="utf-8")
    with caplog.at_level("WARNING", logger="songspace"):
        cfg = load_config(old)
    assert cfg.representations.names == ["pca", "vae"] and cfg.representations.lyrics_weight == 0.5
    assert "[methods] is now [representations]" in caplog.text
    both = tmp_path / "both.toml"
    both.write_text('[methods]\nrepresentations = ["pca"]\n[representations]\nnames = ["vae"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="keep \\[representations\\] only"):
        load_config(both)


def test_settings_that_moved_into_a_representation_are_read_there_with_a_warning(tmp_path, caplog) -> None:
    from songspace import representations

    old = tmp_path / "old.toml"
    old.write_text('[model]\nbeta_vae = 2\ncapacity_max = 5.0\ncapacity_epochs = 7\n[representations]\n'
                   'hybrid_audio = "vae"\ncondition_on = ["language"]\npoe_labels = []\nbeta_sweep = [1, 2]\n'
                   '[representations.params.beta_conv_vae]\nbeta = 8.0\n', encoding="utf-8")
    with caplog.at_level("WARNING", logger="songspace"):
        cfg = load(old)
    assert cfg.representations.params == {
        "beta_vae": {"beta": 2, "capacity_max": 5.0, "capacity_epochs": 7, "sweep": [1, 2]},
        "beta_conv_vae": {"beta": 8.0, "capacity_max": 5.0, "capacity_epochs": 7},  # its own beta wins
        "hybrid": {"audio": "vae"}, "cvae": {"condition_on": ["language"]}, "poe_vae": {"labels": []}}
    for key, new in [("model.beta_vae", "representations.params.beta_vae.beta and "
                                        "representations.params.beta_conv_vae.beta"),
                     ("representations.hybrid_audio", "representations.params.hybrid.audio"),
                     ("representations.condition_on", "representations.params.cvae.condition_on"),
                     ("representations.poe_labels", "representations.params.poe_vae.labels"),
                     ("representations.beta_sweep", "representations.params.beta_vae.sweep")]:
        assert f"{key} is now {new}; the old key is read until the next release" in caplog.text
    assert representations.kl_settings("beta_conv_vae", cfg) == {"beta": 8.0, "capacity_max": 5.0,
                                                                  "capacity_epochs": 7}
    assert representations.sweeps(cfg) == {"beta_vae": [1.0, 2.0]}
    assert representations.conditions("cvae", cfg) == ["language"] and representations.conditions("poe_vae", cfg) == []
    assert "beta_vae" not in dump_config(cfg).split("[model]")[1].split("[")[0]  # written back under the new keys
    # an old key's value is checked where it now lives, and named there
    with pytest.raises(ConfigError, match="representations.params.hybrid.audio is not valid.*not an audio"):
        load(None, **{"representations.hybrid_audio": "lyrics"})


def test_config_imports_nothing_of_songspace_above_it() -> None:
    import subprocess
    import sys

    code = ("import sys\nimport songspace.config\n"
            "print(sorted(m for m in sys.modules if m.startswith('songspace.') and m not in "
            "('songspace.config', 'songspace.errors', 'songspace.renamed_settings')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_default_representations_are_the_registrys() -> None:
    from songspace import representations

    assert set(RunConfig().representations.names) == set(representations.default_names())


def test_registry_errors_are_worded_like_the_schemas_and_all_reported(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[representations]\nnames = ["pca", "nope"]\n[cluster]\nalgorithms = ["kmeans", "spectral"]\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 2 and all(line.startswith(f"{path}: ") for line in lines)
    assert lines[0].startswith(f"{path}: representations.names is not valid: unknown representation(s) 'nope'")
    assert lines[1].startswith(f"{path}: cluster.algorithms is not valid: unknown clusterer(s) 'spectral'")
    path.write_text('[cluster]\nk = 1\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.toml: cluster.k must be at least 2 \(got 1\)$"):
        load(path)
