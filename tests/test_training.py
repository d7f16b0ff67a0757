"""Tests for songspace.training (the trainer, devices, RowDataset, SpectrogramDataset, embed, reconstruct)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from songspace.config import TrainConfig
from songspace.errors import ConfigError
from songspace.features.spectral import log_mel_from_mfcc, mfcc_sequence, time_pool
from songspace.models import build_model
from songspace.training import (
    RowDataset,
    SpectrogramDataset,
    embed,
    reconstruct,
    resolve_device,
    train,
)

N, D, LATENT = 64, 10, 2


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    """64 rows of 10-d data on a 2-d linear subspace plus a little noise."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(N, 2))
    w = rng.normal(size=(2, D))
    return (z @ w + 0.05 * rng.normal(size=(N, D))).astype(np.float32)


def _standardised(data: np.ndarray) -> RowDataset:
    return RowDataset(data, data.mean(0), data.std(0))


def _fresh_model(init_seed: int = 0):
    torch.manual_seed(init_seed)
    return build_model("mlp_vae", input_dim=D, latent_dim=LATENT, hidden_dims=[16])


def _cfg(**kw) -> TrainConfig:
    base = {"epochs": 30, "batch_size": 16, "lr": 1e-2, "patience": 100, "device": "cpu"}
    return TrainConfig(**{**base, **kw})


def test_loss_decreases(data: np.ndarray) -> None:
    model = _fresh_model()
    hist = train(model, _standardised(data), _cfg())
    assert len(hist.train) == 30
    assert hist.train[-1]["total"] < hist.train[0]["total"]
    assert hist.train[-1]["reconstruction"] < 0.5 * hist.train[0]["reconstruction"]
    assert set(hist.train[0]) == {"reconstruction", "kl", "total"}
    # 64 rows >= 20: a held-out split of round(64 * 0.1) = 6 rows, scored every epoch
    assert len(hist.val) == len(hist.train)
    assert hist.device == "cpu"
    assert not model.training


def test_same_seed_reproduces_exactly(data: np.ndarray) -> None:
    ds = _standardised(data)
    m1, m2 = _fresh_model(), _fresh_model()
    h1 = train(m1, ds, _cfg(epochs=10), seed=5)
    h2 = train(m2, ds, _cfg(epochs=10), seed=5)
    assert h1.train == h2.train and h1.val == h2.val and h1.best_epoch == h2.best_epoch
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert np.array_equal(embed(m1, ds), embed(m2, ds))


def test_different_seeds_differ(data: np.ndarray) -> None:
    ds = _standardised(data)
    m1, m2 = _fresh_model(), _fresh_model()
    h1 = train(m1, ds, _cfg(epochs=5), seed=1)
    h2 = train(m2, ds, _cfg(epochs=5), seed=2)
    assert h1.train != h2.train
    assert not np.array_equal(embed(m1, ds), embed(m2, ds))


def test_early_stopping_on_plateau(data: np.ndarray) -> None:
    # lr so small that the validation loss cannot improve by more than the 1e-6 tolerance
    model = _fresh_model()
    hist = train(model, _standardised(data), _cfg(epochs=50, lr=1e-12, patience=3))
    assert hist.stopped_early
    assert len(hist.train) == 4  # epoch 0 sets the best, then 3 epochs without improvement
    assert hist.best_epoch == 0


def test_no_early_stop_flag_when_running_to_the_end(data: np.ndarray) -> None:
    hist = train(_fresh_model(), _standardised(data), _cfg(epochs=3))
    assert not hist.stopped_early and len(hist.train) == 3


def test_model_left_at_best_validation_epoch(data: np.ndarray) -> None:
    ds = _standardised(data)
    model = _fresh_model()
    # a large learning rate makes the validation loss bounce, so the best epoch is usually not the last
    hist = train(model, ds, _cfg(epochs=15, lr=0.05), seed=0)
    val_totals = [v["total"] for v in hist.val]
    assert hist.best_epoch == int(np.argmin(val_totals))
    n_val = round(N * 0.1)
    val_idx = np.random.default_rng(0).permutation(N)[:n_val]
    x = torch.stack([ds[int(i)] for i in val_idx])
    with torch.no_grad():
        total = model.loss(x, model(x))["total"].item()
    assert total == pytest.approx(val_totals[hist.best_epoch], rel=1e-4)


def test_small_dataset_has_no_validation_split(data: np.ndarray) -> None:
    hist = train(_fresh_model(), _standardised(data[:10]), _cfg(epochs=2))
    assert hist.val == [] and len(hist.train) == 2


def test_progress_callback(data: np.ndarray) -> None:
    calls = []
    train(_fresh_model(), _standardised(data), _cfg(epochs=3), progress=lambda e, m, t: calls.append((e, m, t)))
    assert [(e, m) for e, m, _ in calls] == [(1, 3), (2, 3), (3, 3)]
    assert all("total" in t for _, _, t in calls)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_resolve_device_without_cuda() -> None:
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device() == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(ConfigError):
        resolve_device("cuda:0")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_train_with_cuda_device_raises_config_error(data: np.ndarray) -> None:
    with pytest.raises(ConfigError):
        train(_fresh_model(), _standardised(data), _cfg(device="cuda"))


def test_row_dataset_standardises() -> None:
    raw = np.array([[1.0, 10.0], [3.0, 30.0]], dtype=np.float64)
    ds = RowDataset(raw, mean=np.array([2.0, 20.0], np.float32), scale=np.array([1.0, 10.0], np.float32))
    assert len(ds) == 2
    assert ds[0].dtype == torch.float32
    assert torch.equal(ds[0], torch.tensor([-1.0, -1.0]))
    assert torch.equal(ds[1], torch.tensor([1.0, 1.0]))
    plain = RowDataset(raw)
    assert torch.equal(plain[1], torch.tensor([3.0, 30.0]))


def test_memory_mapped_npy(tmp_path, data: np.ndarray) -> None:
    path = tmp_path / "x.npy"
    np.save(path, data)
    mm = np.load(path, mmap_mode="r")
    assert isinstance(mm, np.memmap)
    ds_mm = RowDataset(mm, data.mean(0), data.std(0))
    ds_mem = _standardised(data)
    assert torch.equal(ds_mm[3], ds_mem[3])
    m1, m2 = _fresh_model(), _fresh_model()
    h1 = train(m1, ds_mm, _cfg(epochs=3), seed=0)
    h2 = train(m2, ds_mem, _cfg(epochs=3), seed=0)
    assert h1.train == h2.train
    z = embed(m1, ds_mm, batch_size=10)
    assert z.shape == (N, LATENT) and z.dtype == np.float32
    # Bit-identical only for the same batch shapes (the guarantee: same seed, same data, same batches); across batch
    # sizes a GEMM may sum in another order, so there the two agree to float32 rounding.
    assert np.array_equal(z, embed(m2, ds_mem, batch_size=10))
    np.testing.assert_allclose(z, embed(m2, ds_mem), rtol=1e-5, atol=1e-6)


def test_embed_order_and_empty(data: np.ndarray) -> None:
    model = _fresh_model().eval()
    ds = _standardised(data)
    z = embed(model, ds, batch_size=7)
    x = torch.stack([ds[i] for i in range(N)])
    assert np.allclose(z, model.embed(x).numpy(), atol=1e-6)
    empty = embed(model, RowDataset(np.zeros((0, D), np.float32)))
    assert empty.shape == (0, LATENT) and empty.dtype == np.float32


# --- spectrograms and the convolutional models ------------------------------------------------------------------

N_SPEC, MELS, FRAMES, POOLED = 24, 16, 40, 20


@pytest.fixture(scope="module")
def spectrograms() -> np.ndarray:
    """24 dB log-mels of 16 bands x 40 frames, float16: three classes (which band is loud, how fast it pulses),
    varied within a class by the band's exact centre and gain."""
    rng = np.random.default_rng(0)
    t = np.arange(FRAMES)
    out = np.empty((N_SPEC, MELS, FRAMES), np.float16)
    for i in range(N_SPEC):
        g = i % 3
        centre, gain = [3, 8, 13][g] + 0.5 * (i % 4), 40.0 + 2.0 * (i % 5)
        env = -60.0 + gain * np.exp(-0.5 * ((np.arange(MELS) - centre) / 1.5) ** 2)
        pulse = 6.0 * np.sin(2 * np.pi * [2, 5, 9][g] * t / FRAMES + i)
        out[i] = env[:, None] + pulse[None, :] + rng.normal(0, 0.3, (MELS, FRAMES))
    return out


@pytest.fixture(scope="module")
def spectrogram_memmap(tmp_path_factory, spectrograms: np.ndarray) -> np.ndarray:
    path = tmp_path_factory.mktemp("features") / "log_mel.npy"
    np.save(path, spectrograms)
    return np.load(path, mmap_mode="r")


def _conv_model(name: str, ds: SpectrogramDataset, init_seed: int = 0):
    torch.manual_seed(init_seed)
    return build_model(name, input_shape=ds.item_shape, latent_dim=LATENT, channels=[8, 16])


def _spec_ds(data: np.ndarray, name: str = "conv_vae") -> SpectrogramDataset:
    return SpectrogramDataset(data, frames=POOLED, n_mfcc=8 if name == "mfcc_conv_vae" else None).fit_standardisation()


class CountingArray:
    """An array-like that records every index it is read with (to check that reads are lazy)."""

    def __init__(self, data: np.ndarray) -> None:
        self.data, self.reads = data, []

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, key):
        self.reads.append(key)
        return self.data[key]


def test_time_pool_matches_adaptive_average_pooling() -> None:
    x = np.random.default_rng(0).normal(size=(3, 5, 41)).astype(np.float32)
    pooled = time_pool(x, 16)
    assert pooled.shape == (3, 5, 16) and pooled.dtype == np.float32
    expected = torch.nn.functional.adaptive_avg_pool1d(torch.from_numpy(x.reshape(15, 41)), 16).reshape(3, 5, 16)
    assert np.allclose(pooled, expected.numpy(), atol=1e-5)
    assert np.allclose(time_pool(x, 1)[..., 0], x.mean(-1), atol=1e-5)
    assert time_pool(x, None) is x and time_pool(x, 41) is x and time_pool(x, 100) is x


def test_mfcc_sequence_matches_librosa() -> None:
    librosa = pytest.importorskip("librosa")
    mel = np.random.default_rng(1).normal(-40, 15, size=(2, MELS, FRAMES)).astype(np.float32)
    mfcc = mfcc_sequence(mel, n_mfcc=8)
    assert mfcc.shape == (2, 8, FRAMES) and mfcc.dtype == np.float32
    assert np.allclose(mfcc[1], librosa.feature.mfcc(S=mel[1], n_mfcc=8), atol=1e-3)
    # all coefficients: the inverse DCT gives the spectrogram back; fewer: a smoother one, closer to it in total
    assert np.allclose(log_mel_from_mfcc(mfcc_sequence(mel, n_mfcc=MELS), n_mels=MELS), mel, atol=1e-3)
    smooth = log_mel_from_mfcc(mfcc, n_mels=MELS)
    assert smooth.shape == mel.shape
    assert np.abs(np.diff(smooth, axis=1)).mean() < np.abs(np.diff(mel, axis=1)).mean()
    assert np.allclose(smooth.mean(1), mel.mean(1), atol=1e-3)  # c0 keeps each frame's mean level
    with pytest.raises(ValueError, match="n_mfcc"):
        mfcc_sequence(mel, n_mfcc=MELS + 1)


@pytest.mark.parametrize("n_mfcc", [None, 8])
def test_spectrogram_dataset_standardises_per_bin_in_one_streaming_pass(spectrograms: np.ndarray,
                                                                         n_mfcc: int | None) -> None:
    counting = CountingArray(spectrograms)
    ds = SpectrogramDataset(counting, frames=POOLED, n_mfcc=n_mfcc).fit_standardisation(batch_size=5)
    bins = n_mfcc or MELS
    assert ds.mean.shape == ds.scale.shape == (bins, 1) and ds.mean.dtype == np.float32
    # read in slices of at most 5 items, each item once
    assert all(isinstance(k, slice) for k in counting.reads)
    assert [(k.start, min(k.stop, N_SPEC)) for k in counting.reads] == [(s, min(s + 5, N_SPEC))
                                                                          for s in range(0, N_SPEC, 5)]
    view = time_pool(spectrograms.astype(np.float32), POOLED)
    view = mfcc_sequence(view, n_mfcc=n_mfcc) if n_mfcc else view
    assert np.allclose(ds.mean[:, 0], view.mean((0, 2)), atol=1e-3)
    assert np.allclose(ds.scale[:, 0], view.std((0, 2)), rtol=1e-4)
    served = torch.stack([ds[i] for i in range(N_SPEC)]).numpy()
    assert served.shape == (N_SPEC, bins, POOLED) and ds.item_shape == (bins, POOLED)
    assert np.allclose(served.mean((0, 2)), 0, atol=1e-4) and np.allclose(served.std((0, 2)), 1, atol=1e-4)
    # the batch size of the pass does not matter
    other = SpectrogramDataset(spectrograms, frames=POOLED, n_mfcc=n_mfcc).fit_standardisation(batch_size=64)
    assert np.allclose(other.mean, ds.mean, atol=1e-4) and np.allclose(other.scale, ds.scale, rtol=1e-5)


def test_spectrogram_dataset_constant_bin_and_no_pooling(spectrograms: np.ndarray) -> None:
    data = spectrograms.copy()
    data[:, 0] = -100.0  # a band that is always silent
    ds = SpectrogramDataset(data, frames=None).fit_standardisation()
    assert ds.scale[0, 0] == 1.0 and ds.item_shape == (MELS, FRAMES)
    assert torch.equal(ds[3][0], torch.zeros(FRAMES))
    with pytest.raises(ValueError, match="empty"):
        SpectrogramDataset(data[:0]).fit_standardisation()


def test_spectrogram_dataset_reads_one_item_lazily_from_float16_memmap(spectrogram_memmap: np.ndarray,
                                                                        spectrograms: np.ndarray) -> None:
    assert isinstance(spectrogram_memmap, np.memmap) and spectrogram_memmap.dtype == np.float16
    counting = CountingArray(spectrogram_memmap)
    ds = SpectrogramDataset(counting, frames=POOLED)
    x = ds[7]
    assert counting.reads == [7]
    assert x.dtype == torch.float32 and x.shape == (MELS, POOLED)
    assert np.allclose(x.numpy(), time_pool(spectrograms[7].astype(np.float32), POOLED))
    mm, mem = _spec_ds(spectrogram_memmap), _spec_ds(np.asarray(spectrograms))
    assert torch.equal(mm[5], mem[5])
    # inverse_transform undoes the standardisation: back to (pooled) dB
    assert np.allclose(mm.inverse_transform(mm[5].numpy()[None])[0],
                       time_pool(spectrograms[5].astype(np.float32), POOLED), atol=1e-3)


def test_row_dataset_inverse_transform() -> None:
    ds = RowDataset(np.array([[1.0, 10.0]]), mean=np.array([2.0, 20.0], np.float32),
                    scale=np.array([1.0, 10.0], np.float32))
    assert np.allclose(ds.inverse_transform(ds[0].numpy()[None]), [[1.0, 10.0]])
    assert ds.item_shape == (2,)


@pytest.mark.parametrize("name", ["conv_vae", "mfcc_conv_vae"])
def test_conv_models_train_on_float16_memmap(spectrogram_memmap: np.ndarray, name: str) -> None:
    ds = _spec_ds(spectrogram_memmap, name)
    model = _conv_model(name, ds)
    hist = train(model, ds, _cfg(epochs=25, batch_size=8, lr=3e-3))
    assert set(hist.train[0]) == {"reconstruction", "kl", "total"}
    assert len(hist.val) == len(hist.train) == 25  # 24 items >= 20: 2 held out
    assert hist.train[-1]["reconstruction"] < 0.5 * hist.train[0]["reconstruction"]
    assert hist.val[hist.best_epoch]["total"] < hist.val[0]["total"]
    assert not model.training
    z = embed(model, ds, batch_size=5)
    assert z.shape == (N_SPEC, LATENT) and z.dtype == np.float32
    x = torch.stack([ds[i] for i in range(N_SPEC)])
    assert np.allclose(z, model.embed(x).numpy(), atol=1e-5)
    assert np.array_equal(z, embed(model, ds, batch_size=5))
    # reconstructions beat the per-bin mean (which scores 1 per element in standardised units)
    inputs, recon = reconstruct(model, ds, range(N_SPEC), restore=False)
    assert np.mean((recon - inputs) ** 2) < 0.5


def test_conv_same_seed_reproduces_exactly(spectrograms: np.ndarray) -> None:
    ds = _spec_ds(spectrograms)
    m1, m2, m3 = _conv_model("conv_vae", ds), _conv_model("conv_vae", ds), _conv_model("conv_vae", ds)
    h1 = train(m1, ds, _cfg(epochs=3, batch_size=8), seed=4)
    h2 = train(m2, ds, _cfg(epochs=3, batch_size=8), seed=4)
    h3 = train(m3, ds, _cfg(epochs=3, batch_size=8), seed=5)
    assert h1.train == h2.train and h1.val == h2.val
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert np.array_equal(embed(m1, ds), embed(m2, ds))
    assert h1.train != h3.train and not np.array_equal(embed(m1, ds), embed(m3, ds))


@pytest.mark.parametrize("name", ["conv_vae", "mfcc_conv_vae"])
def test_reconstruct_gives_spectrograms_in_db(spectrograms: np.ndarray, name: str) -> None:
    ds = _spec_ds(spectrograms, name)
    model = _conv_model(name, ds)
    train(model, ds, _cfg(epochs=2, batch_size=8))
    model.train()  # reconstruct must switch to evaluation mode (decode the posterior mean)
    inputs, recon = reconstruct(model, ds, [0, 5])
    assert not model.training
    assert inputs.shape == recon.shape == (2, MELS, POOLED) and recon.dtype == np.float32
    pooled = time_pool(spectrograms[[0, 5]].astype(np.float32), POOLED)
    if name == "mfcc_conv_vae":  # 8 of 16 coefficients: the spectral envelope of the input
        pooled = log_mel_from_mfcc(mfcc_sequence(pooled, n_mfcc=8), n_mels=MELS)
    assert np.allclose(inputs, pooled, atol=1e-3)
    std_inputs, std_recon = reconstruct(model, ds, [0, 5], restore=False)
    assert torch.equal(torch.from_numpy(std_inputs[1]), ds[5])
    assert np.allclose(ds.inverse_transform(std_recon), recon, atol=1e-3)
    assert np.array_equal(reconstruct(model, ds, [0, 5])[1], recon)  # deterministic


def test_conv_training_respects_cpu_device(spectrograms: np.ndarray) -> None:
    ds = _spec_ds(spectrograms)
    model = _conv_model("conv_vae", ds)
    hist = train(model, ds, _cfg(epochs=1, device="cpu"))
    assert hist.device == "cpu"
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert embed(model, ds).shape == (N_SPEC, LATENT)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", ["conv_vae", "mfcc_conv_vae"])
def test_conv_training_on_cuda(spectrograms: np.ndarray, name: str) -> None:
    ds = _spec_ds(spectrograms, name)
    model = _conv_model(name, ds)
    hist = train(model, ds, _cfg(epochs=3, batch_size=8, device="cuda"))
    assert hist.device.startswith("cuda") and all(p.device.type == "cuda" for p in model.parameters())
    z = embed(model, ds)
    assert z.shape == (N_SPEC, LATENT) and np.isfinite(z).all()
    inputs, recon = reconstruct(model, ds, [0, 1])
    assert isinstance(recon, np.ndarray) and recon.shape == inputs.shape


def test_read_rows_reads_a_memmapped_npy_like_indexing(tmp_path) -> None:
    from songspace.parallel import read_rows

    a = np.random.default_rng(0).normal(size=(50, 7, 9)).astype(np.float16)
    np.save(tmp_path / "x.npy", a)
    m = np.load(tmp_path / "x.npy", mmap_mode="r")
    for idx in (3, -1, slice(5, 17), slice(40, 99), slice(0, 50, 3), np.array([4, 5, 6, 10, 2, 2]),
                np.array([], dtype=np.int64)):
        got = read_rows(m, idx)
        assert not isinstance(got, np.memmap) and np.array_equal(got, np.asarray(a[idx])), idx
    assert np.array_equal(read_rows(m[10:], 0), a[10])  # a view of the mapping is indexed as it is
    assert np.array_equal(read_rows(a, np.array([1, 0])), a[[1, 0]])  # so is an array in memory
    with pytest.raises(IndexError):
        read_rows(m, np.array([50]))
