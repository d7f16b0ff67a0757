"""Tests for pretrained-encoder inputs: the embedding cache (songspace.features.embeddings), representations read
from an encoder, learned models on another input (``vae@features+toy_encoder``), and ``assign`` with them. A toy
encoder (log band energies of the clip) stands in for musicnn, whose own tests are in test_musicnn.py."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from conftest import TINY_RUN, make_dataset, tone, write_wav
from songspace import representations as registry
from songspace.config import FeatureConfig, load_config
from songspace.errors import ConfigError, EncoderUnavailable
from songspace.features.embeddings import embed_files
from songspace.features.encoders import AudioEncoder, pool
from songspace.representations import AUDIO, RepresentationSpec
from songspace.representations._inputs import embed_input, input_matrix, save_input_state
from songspace.settings import load


class ToyEncoder:
    """Log energies of 8 frequency bands in 0.25-s frames, pooled: a deterministic stand-in for a pretrained model."""

    sample_rate = 16000

    def __init__(self, pooling: str = "mean", version: int = 1) -> None:
        self.pooling, self.version = pooling, version

    def cache_key(self) -> dict:
        return {"model": "toy", "pooling": self.pooling, "version": self.version}

    @property
    def dim(self) -> int:
        return 8 if self.pooling == "mean" else 16

    def embed(self, clips):
        out = []
        for y in clips:
            frames = y[: len(y) // 4000 * 4000].reshape(-1, 4000)
            spec = np.abs(np.fft.rfft(frames, axis=1)) ** 2
            bands = np.log1p(np.stack([b.sum(1) for b in np.array_split(spec, 8, axis=1)], 1))
            out.append(pool(bands, self.pooling))
        return np.stack(out).astype(np.float32)


def test_the_toy_encoder_meets_the_protocol() -> None:
    assert isinstance(ToyEncoder(), AudioEncoder)


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    return [write_wav(tmp_path / "audio" / f"{i}.wav", tone(200 + 150 * i, 1.5, seed=i)) for i in range(4)]


def test_vectors_are_cached_by_content_and_encoder(tmp_path: Path, files) -> None:
    cfg = FeatureConfig(clip_seconds=1.5, workers=1, cache_dir=str(tmp_path / "cache"))
    first = embed_files(files, ToyEncoder(), cfg)
    assert first.vectors.shape == (4, 8) and first.n_computed == 4 and not first.failed
    assert np.isfinite(first.vectors).all() and len({tuple(v) for v in np.asarray(first.vectors)}) == 4
    again = embed_files(files[::-1], ToyEncoder(), cfg)  # another order: the cache serves each file's own vector
    assert again.n_computed == 0
    # bit-identical: a cached vector is the one computed (each clip goes through the encoder alone on the CPU)
    np.testing.assert_array_equal(np.asarray(again.vectors), np.asarray(first.vectors)[::-1])
    other = embed_files(files, ToyEncoder("mean+std"), cfg)  # another cache key: computed, never the old vectors
    assert other.n_computed == 4 and other.vectors.shape == (4, 16)
    assert embed_files(files, ToyEncoder(version=2), cfg).n_computed == 4


def test_a_file_that_cannot_be_decoded_is_listed_and_its_row_is_nan(tmp_path: Path, files) -> None:
    bad = tmp_path / "audio" / "bad.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    cfg = FeatureConfig(clip_seconds=1.5, workers=1, cache_dir=str(tmp_path / "cache"))
    got = embed_files([files[0], bad, files[1]], ToyEncoder(), cfg)
    assert [Path(p.path).name for p in got.failed] == ["bad.wav"]
    assert np.isnan(got.vectors[1]).all() and np.isfinite(got.vectors[[0, 2]]).all()


def test_a_damaged_cached_vector_is_computed_again(tmp_path: Path, files) -> None:
    cfg = FeatureConfig(clip_seconds=1.5, workers=1, cache_dir=str(tmp_path / "cache"))
    first = np.array(embed_files(files, ToyEncoder(), cfg).vectors)
    item = next((tmp_path / "cache" / "embeddings").rglob("items/*/*.npy"))
    item.write_bytes(b"\x93NUMPY garbage")
    for s in (tmp_path / "cache" / "embeddings").rglob("sets/*.npy"):
        s.unlink()
    again = embed_files(files, ToyEncoder(), cfg)
    assert again.n_computed == 1
    np.testing.assert_array_equal(np.asarray(again.vectors), first)


# --- representations read from an encoder, and models on them ---------------------------------------------------


class ToyParams(__import__("pydantic").BaseModel):
    model_config = {"extra": "forbid"}

    pooling: str = "mean"


def _toy_build(ctx):
    from songspace.representations.base import Representation

    X, state = input_matrix(ctx.inputs, ctx.name)
    return Representation(ctx.name, X, "toy encoder, standardised", state=state)


TOY = RepresentationSpec(name="toy_encoder", modality=AUDIO, build=_toy_build, baseline=True, pretrained=True,
                         encoder=lambda params: ToyEncoder(params.pooling), params=ToyParams,
                         description="toy pretrained encoder: log band energies",
                         save_state=save_input_state, embed_new=embed_input)


def _broken(params):
    raise EncoderUnavailable("broken_encoder: its weights are not here; run `songspace weights fetch`")


BROKEN = RepresentationSpec(name="broken_encoder", modality=AUDIO, build=_toy_build, baseline=True,
                            pretrained=True, encoder=_broken, params=ToyParams, description="an encoder never there")


@pytest.fixture
def toy_encoder():
    registry.register(TOY)
    registry.register(BROKEN)
    yield TOY
    registry.unregister(TOY.name)
    registry.unregister(BROKEN.name)


def test_variant_names_are_checked_against_the_registry(toy_encoder) -> None:
    assert registry.exists("vade@features+toy_encoder") and registry.exists("vae@toy_encoder")
    spec = registry.get("vade@features+toy_encoder")
    assert spec.name == "vade@features+toy_encoder" and spec.learned and not spec.default
    assert "statistics + toy_encoder" in spec.description
    for bad in ("pca@toy_encoder", "vae@nope", "vae@features+features", "nope@features"):
        assert not registry.exists(bad), bad
    with pytest.raises(ConfigError, match="unknown representation"):
        load(None, **{"representations.names": ["vae@lyrics"]})
    with pytest.raises(ConfigError, match="not an audio input"):
        load(None, **{"representations.params": {"vae": {"input": "lyrics"}}})


TOY_RUN = TINY_RUN + """
[model]
latent_dim = 3
hidden_dims = [16]
[train]
epochs = 3
batch_size = 8
[cluster]
algorithms = ["kmeans"]
[plots]
umap = false
tsne = false
"""


def _metrics(folder: Path) -> dict[str, dict[str, str]]:
    with (folder / "metrics.csv").open(encoding="utf-8", newline="") as fh:
        return {r["method"]: r for r in csv.DictReader(fh)}


def test_a_run_reads_encoders_learns_on_them_and_assign_places_new_tracks(tmp_path: Path, toy_encoder) -> None:
    from songspace.assign import assign
    from songspace.runner import run_experiment

    data = make_dataset(tmp_path / "data", n=12)
    names = ["toy_encoder", "vae@features+toy_encoder", "broken_encoder", "vade@broken_encoder", "pca"]
    cfg_path = tmp_path / "run.toml"
    cfg_path.write_text(TOY_RUN + f"[representations]\nnames = {names!r}\n".replace("'", '"'), encoding="utf-8")
    cfg = load_config(cfg_path, data=str(data), out=str(tmp_path / "runs"))
    result = run_experiment(cfg)
    rows = _metrics(result.folder)
    assert {"toy_encoder+kmeans", "vae@features+toy_encoder+kmeans", "pca+kmeans"} <= set(rows)
    assert not any(m.startswith(("broken_encoder", "vade@broken")) for m in rows)  # skipped, the others ran
    notes = (result.folder / "run.log").read_text(encoding="utf-8")
    assert "broken_encoder skipped" in notes and "songspace weights fetch" in notes
    assert "toy_encoder: 12 tracks embedded" in notes
    # a run's own tracks placed again get their clusters back, through the saved input state and model
    placed = assign(result.folder, data)
    assert {"toy_encoder+kmeans", "vae@features+toy_encoder+kmeans"} <= set(placed.methods)
    with (result.folder / "assignments.csv").open(encoding="utf-8", newline="") as fh:
        run_rows = {r["track_id"]: r for r in csv.DictReader(fh)}
    with (placed.folder / "assignments.csv").open(encoding="utf-8", newline="") as fh:
        new_rows = {r["track_id"]: r for r in csv.DictReader(fh)}
    for m in ("toy_encoder+kmeans", "vae@features+toy_encoder+kmeans"):
        assert all(new_rows[t][m] == run_rows[t][m] for t in run_rows), m


# --- musicnn in a run (its port is tested against musicnn's own outputs in test_musicnn.py) ----------------------


def _tiny(data: Path, tmp_path: Path, names: list[str], params: dict):
    """A one-seed K-Means run config of ``names`` on short clips."""
    return load_config(None, data=str(data), out=str(tmp_path / "runs"), n_seeds=1,
                       **{"representations.names": names, "representations.params": params,
                          "features.clip_seconds": 1.5, "features.n_mels": 32, "features.workers": 1,
                          "cluster.algorithms": ["kmeans"], "plots.umap": False, "plots.tsne": False})


def test_without_musicnn_weights_a_run_skips_what_needs_them_with_one_note(tmp_path: Path, monkeypatch) -> None:
    from songspace.runner import run_experiment

    monkeypatch.setenv("SONGSPACE_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    data = make_dataset(tmp_path / "data", n=9)
    result = run_experiment(_tiny(data, tmp_path, ["musicnn", "features_musicnn", "pca", "facets"],
                                  {"facets": {"style": "features_musicnn"}}))
    rows = _metrics(result.folder)
    assert "pca+kmeans" in rows and "facets+kmeans" in rows  # facets fell back to the statistics
    assert not any(m.startswith("musicnn") or m.startswith("features_musicnn") for m in rows)
    log = (result.folder / "run.log").read_text(encoding="utf-8")
    assert "musicnn skipped" in log and "songspace weights fetch" in log
    assert "features_musicnn unavailable" in rows["facets+kmeans"]["notes"]
    assert "its block is features instead" in rows["facets+kmeans"]["notes"]


@pytest.fixture(scope="module")
def musicnn_weights():
    from songspace.errors import WeightsError
    from songspace.features.weights import fetch_musicnn

    try:
        return fetch_musicnn()
    except WeightsError as exc:
        pytest.skip(f"musicnn weights unavailable (no registry and no cached wheel): {exc}")


def test_musicnn_spaces_in_a_run_and_assign(tmp_path: Path, musicnn_weights) -> None:
    from songspace.assign import assign
    from songspace.runner import run_experiment

    data = make_dataset(tmp_path / "data", n=9)
    result = run_experiment(_tiny(data, tmp_path, ["musicnn", "features_musicnn"], {"musicnn": {"layer": "taggram"}}))
    rows = _metrics(result.folder)
    assert {"musicnn+kmeans", "features_musicnn+kmeans"} <= set(rows)
    assert "taggram" in rows["musicnn+kmeans"]["space"] and "(50-d)" in rows["musicnn+kmeans"]["space"]
    placed = assign(result.folder, data)
    assert set(placed.methods) == {"musicnn+kmeans", "features_musicnn+kmeans"}
    with (result.folder / "assignments.csv").open(encoding="utf-8", newline="") as fh:
        run_rows = {r["track_id"]: r for r in csv.DictReader(fh)}
    with (placed.folder / "assignments.csv").open(encoding="utf-8", newline="") as fh:
        new_rows = {r["track_id"]: r for r in csv.DictReader(fh)}
    for m in placed.methods:  # the cached vectors are the run's: its own tracks land where they were
        assert all(new_rows[t][m] == run_rows[t][m] for t in run_rows), m


def test_where_workers_are_not_forked_this_process_embeds_the_same_vectors(tmp_path: Path, files,
                                                                            monkeypatch) -> None:
    import multiprocessing

    cfg = FeatureConfig(clip_seconds=1.5, workers=1, cache_dir=str(tmp_path / "forked"))
    forked = np.array(embed_files(files, ToyEncoder(), cfg).vectors)
    monkeypatch.setattr(multiprocessing, "get_start_method", lambda allow_none=False: "spawn")
    here = embed_files(files, ToyEncoder(), cfg.model_copy(update={"cache_dir": str(tmp_path / "here")}))
    assert here.n_computed == len(files) and not here.failed
    # each clip alone, one thread, either way: the same bits (numpy's FFT here; a GEMM would add in one order too)
    np.testing.assert_array_equal(np.asarray(here.vectors), forked)
