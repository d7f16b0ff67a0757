"""Training checkpoints: a training stopped and started again ends where an uninterrupted one ends, a finished
one is not run again, and a checkpoint is only ever found by the training it belongs to."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from songspace.config import RunConfig, TrainConfig
from songspace.errors import RunError
from songspace.experiment import seed_threads
from songspace.models import build_model
from songspace.parallel import one_thread
from songspace.representations import Inputs, checkpoint_path, learn
from songspace.training import RowDataset, SpectrogramDataset, embed, train

N, D = 80, 10


@pytest.fixture(scope="module")
def ds() -> RowDataset:
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(N, 2)) @ rng.normal(size=(2, D)) + 0.05 * rng.normal(size=(N, D))).astype(np.float32)
    return RowDataset(x, x.mean(0), x.std(0))


def _model(init: int = 0):
    torch.manual_seed(init)
    return build_model("beta_vae", input_dim=D, latent_dim=2, hidden_dims=[16], beta=2.0, capacity_max=5.0,
                       capacity_epochs=6)


CFG = TrainConfig(epochs=9, batch_size=16, lr=1e-2, patience=100, device="cpu", checkpoint_minutes=0)


class Stop(Exception):
    pass


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_stopped_training_goes_on_to_the_uninterrupted_result(ds: RowDataset, tmp_path: Path) -> None:
    ref = _model()
    ref_hist = train(ref, ds, CFG, seed=3)

    def stop_after_4(epoch: int, total: int, terms: dict) -> None:
        if epoch == 4:
            raise Stop

    ck = tmp_path / "ck.pt"
    with pytest.raises(Stop):
        train(_model(), ds, CFG, seed=3, progress=stop_after_4, checkpoint=ck)
    assert ck.exists()
    seen: list[int] = []
    resumed = _model(init=99)  # other initial weights: the checkpoint's are what count
    hist = train(resumed, ds, CFG, seed=3, progress=lambda e, n, t: seen.append(e), checkpoint=ck)
    assert seen == [5, 6, 7, 8, 9]  # epochs 1-4 were not run again
    assert hist.from_checkpoint == "resumed after epoch 4"
    assert hist.train == ref_hist.train and hist.val == ref_hist.val and hist.best_epoch == ref_hist.best_epoch
    assert _same(resumed, ref)
    # Finished: loaded, not trained.
    again = _model(init=7)
    seen.clear()
    hist2 = train(again, ds, CFG, seed=3, progress=lambda e, n, t: seen.append(e), checkpoint=ck)
    assert seen == [] and hist2.train == ref_hist.train and _same(again, ref) and not again.training
    assert hist2.from_checkpoint == "finished" and hist2.seconds > 0
    assert np.array_equal(embed(again, ds), embed(ref, ds))


def test_unreadable_checkpoint_is_trained_again(ds: RowDataset, tmp_path: Path, caplog) -> None:
    ref = _model()
    train(ref, ds, CFG, seed=1)
    ck = tmp_path / "ck.pt"
    ck.write_bytes(b"PK\x03\x04 cut short by a crash")
    model = _model()
    with caplog.at_level(logging.WARNING):
        train(model, ds, CFG, seed=1, checkpoint=ck)
    assert "unreadable training checkpoint" in caplog.text
    assert _same(model, ref)
    assert torch.load(ck, weights_only=True)["done"]  # replaced by a good one


def test_a_checkpoint_is_found_only_by_its_own_training(ds: RowDataset, tmp_path: Path) -> None:
    cfg = RunConfig.model_validate({"train": {"checkpoint_dir": str(tmp_path), "epochs": 5}})
    kw = {"latent_dim": 16}
    base = checkpoint_path("vae", ds, cfg, kw)
    assert base is not None and base.parent == tmp_path
    assert checkpoint_path("vae", ds, cfg, kw) == base  # stable
    others = [
        checkpoint_path("beta_vae", ds, cfg, kw),
        checkpoint_path("vae", ds, cfg, {"latent_dim": 8}),
        checkpoint_path("vae", ds, cfg.model_copy(update={"seed": 1}), kw),
        checkpoint_path("vae", ds, RunConfig.model_validate({"train": {"checkpoint_dir": str(tmp_path),
                                                                        "epochs": 5, "lr": 0.01}}), kw),
        checkpoint_path("vae", RowDataset(ds.data + 1e-3, ds.mean, ds.scale), cfg, kw),
        checkpoint_path("vae", RowDataset(ds.data), cfg, kw),  # not standardised
    ]
    assert len({base, *others}) == 1 + len(others)
    # Settings that do not change what is learned keep the name.
    same = RunConfig.model_validate({"train": {"checkpoint_dir": str(tmp_path), "epochs": 5, "workers": 3,
                                               "checkpoint_minutes": 1}})
    assert checkpoint_path("vae", ds, same, kw) == base
    with one_thread(1):
        one = checkpoint_path("vae", ds, cfg, kw)
    with one_thread(2):  # another thread count adds in another order: another training
        assert checkpoint_path("vae", ds, cfg, kw) != one
    off = RunConfig.model_validate({"train": {"checkpoint_dir": str(tmp_path), "resume": False}})
    assert checkpoint_path("vae", ds, off, kw) is None


def test_spectrogram_fingerprint_sees_the_data_and_the_view(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    mel = rng.normal(-40, 10, size=(30, 16, 40)).astype(np.float16)
    np.save(tmp_path / "mel.npy", mel)
    mapped = np.load(tmp_path / "mel.npy", mmap_mode="r")
    a = SpectrogramDataset(mapped, frames=8).fit_standardisation()
    assert a.fingerprint() == SpectrogramDataset(mel, frames=8).fit_standardisation().fingerprint()
    assert a.fingerprint() != SpectrogramDataset(mapped, frames=16).fit_standardisation().fingerprint()
    assert a.fingerprint() != SpectrogramDataset(mapped, frames=8, n_mfcc=5).fit_standardisation().fingerprint()
    changed = mel.copy()
    changed[29, 3, 7] += 1
    assert a.fingerprint() != SpectrogramDataset(changed, frames=8).fit_standardisation().fingerprint()
    # Above full_below, a spread of rows and the standardisation stand for the data (a 100k-track set is not
    # read whole to name its checkpoint).
    assert a.fingerprint(full_below=0, rows=4) != \
        SpectrogramDataset(changed, frames=8).fit_standardisation().fingerprint(full_below=0, rows=4)


def test_learn_reuses_a_finished_training(tmp_path: Path, caplog) -> None:
    rng = np.random.default_rng(2)
    inputs = Inputs(stats=rng.normal(size=(40, 12)).astype(np.float32),
                    log_mel=np.zeros((40, 8, 8), np.float32))
    cfg = RunConfig.model_validate({"train": {"checkpoint_dir": str(tmp_path / "ck"), "epochs": 4,
                                              "device": "cpu"}, "model": {"hidden_dims": [16]}})
    first = learn("vae", inputs, cfg, {})
    assert len(list((tmp_path / "ck").glob("vae-seed0-*.pt"))) == 1
    with caplog.at_level(logging.INFO):
        second = learn("vae", inputs, cfg, {})
    assert "checkpoint" in caplog.text and "reused" in caplog.text
    assert second.history is not None and second.history.from_checkpoint == "finished"
    assert np.array_equal(first.latent, second.latent)
    assert second.history is not None and second.history.train == first.history.train


def test_seed_threads_share_out_the_cores() -> None:
    cores = os.cpu_count() or 1
    assert seed_threads(RunConfig(), 2) == 1  # the default: one thread, the same numbers anywhere
    assert seed_threads(RunConfig.model_validate({"train": {"threads": 0}}), 1) == cores
    assert seed_threads(RunConfig.model_validate({"train": {"threads": 0}}), 2) == max(1, cores // 2)
    assert seed_threads(RunConfig.model_validate({"train": {"threads": 3}}), 2) == 3


def test_full_disk_names_the_checkpoint_folder(ds: RowDataset, tmp_path: Path, monkeypatch) -> None:
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", no_space)
    with pytest.raises(RunError, match=r"checkpoints.*cannot write a training checkpoint.*No space left"):
        train(_model(), ds, CFG, seed=0, checkpoint=tmp_path / "checkpoints" / "ck.pt")
    assert list((tmp_path / "checkpoints").iterdir()) == []  # no half-written file left
