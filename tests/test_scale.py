"""Big collections: the streamed set assembly, resume after a kill, what float16 loses, sampled clustering."""

from __future__ import annotations

import importlib.util
import platform
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import tone, write_wav
from songspace import parallel
from songspace.clustering import cluster
from songspace.config import FeatureConfig
from songspace.features import cache as cache_mod
from songspace.features import extract_features, log_mel
from songspace.features.extract import cache_settings
from songspace.parallel import trim_heap


def cfg_for(tmp_path: Path, **kw) -> FeatureConfig:
    return FeatureConfig(**{"cache_dir": str(tmp_path / "cache"), "clip_seconds": 1.0, "n_mels": 24, "workers": 1,
                            "batch_size": 3, **kw})


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("audio")
    return [write_wav(root / f"{i}.wav", tone(200 + 90 * i, 1.2, seed=i)) for i in range(8)]


def test_set_is_streamed_in_chunks_and_equals_the_items(tmp_path: Path, files, monkeypatch) -> None:
    monkeypatch.setattr(cache_mod, "CHUNK", 3)  # 8 items: chunks of 3, 3, 2
    cfg = cfg_for(tmp_path)
    feats = extract_features(files, [p.stem for p in files], cfg, device="cpu")
    assert isinstance(feats.log_mel, np.memmap) and isinstance(feats.stats, np.memmap)
    assert feats.log_mel.dtype == np.float16 and not feats.log_mel.flags.writeable
    cache = cache_mod.FeatureCache(cfg.cache_dir, cache_settings(cfg))
    for j, p in enumerate(files):
        item = cache.get(cache.digest(p))
        assert isinstance(item, tuple)
        np.testing.assert_array_equal(feats.log_mel[j], item[0])
        np.testing.assert_array_equal(feats.stats[j], item[1])
    assert not list((tmp_path / "cache").rglob("*.tmp*"))  # nothing half written left behind


def test_resume_after_a_kill_finishes_from_the_cache(tmp_path: Path, files) -> None:
    cfg = cfg_for(tmp_path)
    ids = [p.stem for p in files]
    done = []

    def killed(d: int, n: int) -> None:
        done.append(d)
        if d >= 3:  # the first batch of 3 is cached: the run dies here
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract_features(files, ids, cfg, device="cpu", progress=killed)
    resumed = extract_features(files, ids, cfg, device="cpu")
    assert resumed.n_cached == 3 and resumed.n_computed == 5 and resumed.track_ids == ids
    clean = extract_features(files, ids, cfg_for(tmp_path / "clean"), device="cpu")
    np.testing.assert_array_equal(np.asarray(resumed.log_mel), np.asarray(clean.log_mel))
    np.testing.assert_array_equal(np.asarray(resumed.stats), np.asarray(clean.stats))


def test_kill_while_assembling_leaves_no_partial_set(tmp_path: Path, files, monkeypatch) -> None:
    cfg = cfg_for(tmp_path)
    ids = [p.stem for p in files]
    real_get, calls = cache_mod.FeatureCache.get, []

    def dies_half_way(self, digest):
        calls.append(digest)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real_get(self, digest)

    extract_features(files, ids, cfg, device="cpu")  # items cached, set assembled
    for d in (tmp_path / "cache").rglob("sets/*"):
        for f in d.iterdir():
            f.unlink()
    monkeypatch.setattr(cache_mod.FeatureCache, "get", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        extract_features(files, ids, cfg, device="cpu")
    assert not list((tmp_path / "cache").rglob("sets/*/*"))  # neither the partial file nor a set
    monkeypatch.undo()
    again = extract_features(files, ids, cfg, device="cpu")
    assert again.n_computed == 0 and again.log_mel.shape[0] == len(files)


def test_damaged_item_while_assembling_is_deleted_and_recomputed(tmp_path: Path, files) -> None:
    cfg = cfg_for(tmp_path)
    first = extract_features(files[:2], ["a", "b"], cfg, device="cpu")
    for f in (tmp_path / "cache").rglob("sets/*/*"):
        f.unlink()
    item = next((tmp_path / "cache").rglob("items/*/*.npz"))
    np.savez(item, log_mel=np.zeros((3, 3), np.float16), stats=np.zeros(3, np.float32))  # wrong shape
    healed = extract_features(files[:2], ["a", "b"], cfg, device="cpu")  # the damaged item is computed again
    # Bit-identical by construction: on the CPU each file's features are computed alone with one thread
    # (features.extract._finish), so the healed item, computed without its neighbour, is the same bits.
    assert healed.n_computed == 1 and np.array_equal(np.asarray(healed.stats), np.asarray(first.stats))


def test_more_mfccs_than_mel_bands_is_a_config_error(tmp_path: Path, files) -> None:
    with pytest.raises(ValueError, match="n_mfcc = 20 is more than n_mels = 16"):
        cfg_for(tmp_path, n_mels=16)


def test_float16_loses_at_most_three_hundredths_of_a_db() -> None:
    # Every dB value a log-mel can hold: the floor of -100 dB up to +60 dB (far above full scale).
    db = np.linspace(-100.0, 60.0, 1_000_001, dtype=np.float32)
    assert np.max(np.abs(db.astype(np.float16).astype(np.float32) - db)) <= 2.0 ** -5 + 1e-6  # 0.031 dB
    mel = log_mel(tone(440, 2.0), n_mels=64, device="cpu")
    err = np.abs(mel.astype(np.float16).astype(np.float32) - mel)
    assert err.max() <= 2.0 ** -5 + 1e-6 and err.mean() < 0.01


def test_sampled_clustering_of_many_points_is_marked() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 10, (5, 4))
    X = (centres[rng.integers(0, 5, 3000)] + rng.normal(0, 1, (3000, 4))).astype(np.float32)
    for name in ("agglomerative_ward", "hdbscan", "dbscan", "gmm"):
        res = cluster(name, X, 5, seed=0, sample_size=500)
        assert res.sample_size == 500 and res.labels.shape == (3000,), name
        assert res.n_clusters == 5, name
    km = cluster("kmeans", X, 5, seed=0, sample_size=500, n_init=3)
    assert km.sample_size is None and km.params["algorithm"] == "minibatch" and km.n_clusters == 5


# --- mixed precision (train.amp) -------------------------------------------------------------------------


def test_amp_is_off_on_the_cpu_and_changes_nothing_there() -> None:
    from songspace.config import TrainConfig
    from songspace.models import build_model
    from songspace.training import RowDataset, amp_dtype, train

    assert amp_dtype(torch.device("cpu"), True) is None and amp_dtype(torch.device("cuda"), False) is None
    X = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
    hists = []
    for amp in (False, True):
        torch.manual_seed(0)  # the same initial weights
        model = build_model("mlp_vae", input_shape=(6,), latent_dim=2, hidden_dims=[8])
        hists.append(train(model, RowDataset(X), TrainConfig(epochs=3, batch_size=16, device="cpu", amp=amp), seed=1))
    assert hists[0].train == hists[1].train


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_amp_on_cuda_trains_a_conv_vae() -> None:
    from songspace.config import TrainConfig
    from songspace.models import build_model
    from songspace.training import SpectrogramDataset, amp_dtype, embed, train

    assert amp_dtype(torch.device("cuda"), True) in (torch.bfloat16, torch.float16)
    X = np.random.default_rng(0).normal(-40, 10, size=(64, 32, 64)).astype(np.float16)
    ds = SpectrogramDataset(X, frames=64).fit_standardisation()
    model = build_model("conv_vae", input_shape=tuple(ds[0].shape), latent_dim=4)
    hist = train(model, ds, TrainConfig(epochs=3, batch_size=16, device="cuda", amp=True), seed=0)
    assert all(np.isfinite(e["total"]) for e in hist.train)
    assert embed(model, ds).dtype == np.float32


# --- the benchmark's own parts ---------------------------------------------------------------------------


def test_benchmark_generates_labelled_tracks_and_measures_memory(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("scale_bench", Path(__file__).parents[1] / "benchmarks" / "scale.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    paths, labels = bench.generate(tmp_path, 10, 0.5)
    assert len(paths) == 10 and labels[:2] == ["class0", "class1"] and labels[8] == "class0"
    info = sf.info(paths[3])
    assert info.samplerate == bench.SR and info.frames == bench.SR // 2
    mem = bench.Memory()
    with mem.stage():
        block = np.ones(64 << 20, dtype=np.uint8)  # 64 MB touched
        time.sleep(0.2)
    del block
    assert bench.Memory.hwm() >= 64 << 20 and mem.peak_anon >= 60 << 20


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_reading_batches_trims_the_heap(tmp_path: Path, monkeypatch) -> None:
    # Batch buffers freed leave holes in the heap that grow with the collection: read_rows trims it as it reads.
    calls = []
    monkeypatch.setattr(parallel, "trim_heap", lambda: calls.append(1) or True)
    monkeypatch.setattr(parallel, "TRIM_EVERY", 1 << 20)
    monkeypatch.setattr(parallel, "_read_since_trim", 0)
    np.save(tmp_path / "x.npy", np.zeros((64, 128, 128), np.float16))  # 2 MB
    x = np.load(tmp_path / "x.npy", mmap_mode="r")
    for start in range(0, 64, 8):
        parallel.read_rows(x, slice(start, start + 8))  # 256 KB each
    assert len(calls) == 2
    assert trim_heap() is True
