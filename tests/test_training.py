"""Tests for songspace.training (the trainer, devices, RowDataset, embed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from songspace.config import TrainConfig
from songspace.errors import ConfigError
from songspace.models import build_model
from songspace.training import RowDataset, embed, resolve_device, train

N, D, LATENT = 64, 10, 2


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors train faster on one thread (and the suite must stay quick on 2 shared cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
    assert np.array_equal(z, embed(m2, ds_mem))


def test_embed_order_and_empty(data: np.ndarray) -> None:
    model = _fresh_model().eval()
    ds = _standardised(data)
    z = embed(model, ds, batch_size=7)
    x = torch.stack([ds[i] for i in range(N)])
    assert np.allclose(z, model.embed(x).numpy(), atol=1e-6)
    empty = embed(model, RowDataset(np.zeros((0, D), np.float32)))
    assert empty.shape == (0, LATENT) and empty.dtype == np.float32
