"""Tests for songspace.crops (random log-mel crops, their augmentations, crop embeddings) and the crop_vae and
crop_mfcc_vae representations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from songspace import crops
from songspace.config import RunConfig, TrainConfig
from songspace.crops import Augmentation, CropDataset, embed_crops
from songspace.models import build_model
from songspace.representations.base import Inputs, learn
from songspace.training import train

N_TRACKS, N_MELS, N_FRAMES = 24, 16, 60


def tiny_log_mel(seed: int = 0) -> np.ndarray:
    """Tracks of two kinds (a low or a high band pulsing at its own rate) over noise, dB. [shape=(24, 16, 60)]"""
    rng = np.random.default_rng(seed)
    x = -60.0 + 3.0 * rng.standard_normal((N_TRACKS, N_MELS, N_FRAMES))
    t = np.arange(N_FRAMES)
    for i in range(N_TRACKS):
        band, period = (3, 4) if i % 2 else (11, 9)
        x[i, band - 1:band + 2] += 30.0 * (t % period < 2)
    return x.astype(np.float32)


def dataset(**kw) -> CropDataset:
    settings = {"crop_frames": 24, "frames": 12, "bands": 8, "crops_per_track": 4, "seed": 0,
                "augmentation": Augmentation()} | kw
    return CropDataset(tiny_log_mel(), **settings)


def test_crops_have_the_asked_shape() -> None:
    assert dataset().item_shape == (8, 12)
    assert dataset(bands=None).item_shape == (N_MELS, 12)
    assert dataset(n_mfcc=5).item_shape == (5, 12)
    mod = dataset(modulation_hz=8.0)  # 24 frames at 43 frames/s: bins of 1.8 Hz, 4 of them up to 8 Hz
    assert mod.item_shape == (8, 4)
    assert len(dataset()) == 4 * N_TRACKS
    assert crops.take_crops(tiny_log_mel()[:, :, :10], [0, 5], [3, 7], 24).shape == (2, N_MELS, 24)  # repeated


def test_grid_spans_the_clip() -> None:
    starts = crops.grid_starts(N_FRAMES, 24, 5)
    assert starts[0] == 0 and starts[-1] == N_FRAMES - 24 and np.all(np.diff(starts) > 0)
    assert np.all(crops.grid_starts(10, 24, 3) == 0)


def test_crops_are_deterministic_for_a_seed_and_differ_between_seeds_and_epochs() -> None:
    a, b = dataset(), dataset()
    items = list(range(0, len(a), 7))
    first = a.raw_crops(items)
    assert np.array_equal(first, b.raw_crops(items))
    assert np.array_equal(first[2], a.raw_crops([items[2]])[0])  # the same whatever the batch
    assert not np.allclose(first, dataset(seed=1).raw_crops(items))
    a.set_epoch(1)
    assert not np.allclose(first, a.raw_crops(items))
    a.set_epoch(0)
    assert np.array_equal(first, a.raw_crops(items))


def test_groups_are_tracks() -> None:
    ds = dataset()
    assert np.array_equal(ds.groups[:N_TRACKS], np.arange(N_TRACKS))
    assert np.array_equal(ds.groups[N_TRACKS:2 * N_TRACKS], np.arange(N_TRACKS))


def test_gain_shifts_the_mean() -> None:
    x = tiny_log_mel()[:3, :, :20]
    y = crops.gain(x, np.array([6.0, -3.0, 0.0]))
    assert np.allclose(y.mean(axis=(1, 2)) - x.mean(axis=(1, 2)), [6.0, -3.0, 0.0], atol=1e-4)


def test_tilt_changes_the_band_slope() -> None:
    x = tiny_log_mel()[:2, :, :20]
    y = crops.eq_tilt(x, np.array([8.0, -4.0]))
    change = (y - x).mean(axis=2)  # per band
    assert np.allclose(change[:, -1] - change[:, 0], [8.0, -4.0], atol=1e-4)
    assert np.allclose(np.diff(change, axis=1), np.diff(change, axis=1)[:, :1], atol=1e-4)  # linear in the band


def test_pitch_shift_moves_a_peak_band() -> None:
    x = np.full((2, 32, 5), -80.0, np.float32)
    x[:, 10] = 0.0
    y = crops.pitch_shift(x, np.array([2.0, -3.0]))
    assert y[0].mean(axis=1).argmax() == 12 and y[1].mean(axis=1).argmax() == 7
    half = crops.pitch_shift(x, np.array([0.5, 0.0]))
    assert np.isclose(half[0, 10, 0], half[0, 11, 0]) and np.array_equal(half[1], x[1])


def test_smear_leaves_a_decaying_tail_after_a_click_and_nothing_before() -> None:
    x = np.full((2, 4, 30), -80.0, np.float32)
    x[:, :, 10] = 0.0
    y = crops.smear(x, np.array([8.0, 0.0]))
    assert np.allclose(y[0, :, :10], x[0, :, :10], atol=1e-3)  # a steady sound keeps its level
    tail = y[0, 0, 11:20]
    assert np.all(tail > -80.0 + 10) and np.all(np.diff(tail) < 0)
    assert y[0, 0, 10] < 0.0  # some of the click's energy went into the tail
    assert np.allclose(y[1], x[1], atol=1e-3)


def test_noise_floor_rises_under_the_peak() -> None:
    x = np.full((1, 8, 10), -100.0, np.float32)
    x[0, 3, 4] = -10.0
    y = crops.noise_floor(x, np.array([40.0]))
    assert np.isclose(y.min(), -50.0, atol=0.1) and np.isclose(y.max(), -10.0, atol=0.01)


def test_augmentation_values_stay_in_range_and_zero_turns_one_off() -> None:
    rng = np.random.default_rng(0)
    v = np.stack([Augmentation(gain_db=2, tilt_db=3, reverb_seconds=0.5, noise_db=30, pitch_bins=1).draw(rng)
                  for _ in range(200)])
    assert np.all(np.abs(v[:, 0]) <= 2) and np.all(np.abs(v[:, 1]) <= 3) and np.all((v[:, 2] >= 0) & (v[:, 2] <= 0.5))
    assert np.all((v[:, 3] >= 30) & (v[:, 3] <= 70)) and np.all(np.abs(v[:, 4]) <= 1)
    off = Augmentation(gain_db=0, tilt_db=0, reverb_seconds=0, noise_db=0, pitch_bins=0)
    x = tiny_log_mel()[:3, :, :20]
    assert np.allclose(crops.augment(x, np.stack([off.draw(rng) for _ in range(3)])), x)


def test_modulation_spectrum_finds_the_pulse_rate_wherever_the_crop_starts() -> None:
    t = np.arange(86)
    x = np.stack([-40 + 10 * np.sin(2 * np.pi * 4.0 * (t + shift) / 43.0) for shift in (0, 3)])[:, None, :]
    m = crops.modulation_spectrum(x.astype(np.float32), bins=20)
    assert np.all(m.argmax(axis=2)[:, 0] + 1 == 8)  # 4 Hz over 2 s: the 8th bin
    assert np.allclose(m[0], m[1], atol=0.1)
    assert crops.modulation_bins_for(86, 10.0) == 19  # bins of 43.07 / 86 = 0.501 Hz: the 20th is above 10 Hz


def test_centre_removes_the_level() -> None:
    x = tiny_log_mel()[:2]
    assert np.allclose(crops.centre(x, "crop").mean(axis=(1, 2)), 0, atol=1e-3)
    assert np.allclose(crops.centre(x, "band").mean(axis=2), 0, atol=1e-3)
    assert np.allclose(crops.centre(crops.gain(x, np.array([5.0, -5.0])), "crop"), crops.centre(x, "crop"), atol=1e-3)


def test_standardisation_is_per_bin() -> None:
    ds = dataset().fit_standardisation(n_crops=3)
    assert ds.mean.shape == (8, 1)
    grid = ds.grid(3)
    x = torch.stack([grid[i] for i in range(len(grid))]).numpy()
    assert np.allclose(x.mean(axis=(0, 2)), 0, atol=1e-3) and np.allclose(x.std(axis=(0, 2)), 1, atol=1e-2)
    assert dataset(modulation_hz=8.0).fit_standardisation(n_crops=3).mean.shape == (8, 4)


def _trained(seed: int = 0, epochs: int = 6, augmentation: Augmentation | None = None):
    ds = dataset(seed=seed, augmentation=augmentation, crops_per_track=16).fit_standardisation(n_crops=3)
    torch.manual_seed(seed)
    model = build_model("conv_vae", input_shape=ds.item_shape, latent_dim=3, channels=[4, 8])
    hist = train(model, ds, TrainConfig(epochs=epochs, batch_size=16, patience=50, device="cpu", lr=3e-3), seed=seed)
    return model, ds, hist


def test_the_loss_falls_on_crops() -> None:
    _, _, hist = _trained(epochs=8)
    assert hist.train[-1]["total"] < 0.8 * hist.train[0]["total"]
    assert min(v["total"] for v in hist.val[-3:]) < 0.85 * hist.val[0]["total"]  # crops of held-out tracks too


def test_crop_embedding_is_deterministic_for_a_seed() -> None:
    model, ds, _ = _trained(epochs=2, augmentation=Augmentation())
    Z = embed_crops(model, ds, n_crops=4)
    assert Z.shape == (N_TRACKS, 3) and np.isfinite(Z).all()
    assert np.array_equal(Z, embed_crops(model, ds, n_crops=4))
    model2, ds2, _ = _trained(epochs=2, augmentation=Augmentation())
    assert np.array_equal(Z, embed_crops(model2, ds2, n_crops=4))


def test_the_validation_split_holds_out_whole_tracks() -> None:
    ds = dataset().fit_standardisation(n_crops=2)
    model = build_model("conv_vae", input_shape=ds.item_shape, latent_dim=2, channels=[4])
    seen: dict[bool, set[int]] = {True: set(), False: set()}
    fetch = ds.__getitems__

    def spy(indices):  # the trainer sets the model's mode before it reads a pass's batches
        seen[model.training].update(int(i) % N_TRACKS for i in indices)
        return fetch(indices)

    ds.__getitems__ = spy
    train(model, ds, TrainConfig(epochs=1, batch_size=32, device="cpu", val_fraction=0.25), seed=0)
    assert len(seen[False]) == 6 and len(seen[True]) == N_TRACKS - 6 and not seen[True] & seen[False]


@pytest.mark.parametrize("name", ["crop_vae", "crop_mfcc_vae"])
@pytest.mark.parametrize("modulation_hz", [None, 10.0])
def test_learn_a_crop_representation_end_to_end(name: str, modulation_hz: float | None) -> None:
    rng = np.random.default_rng(1)
    inputs = Inputs(stats=rng.normal(size=(N_TRACKS, 6)).astype(np.float32), log_mel=tiny_log_mel(), n_mfcc=6)
    params = {"crop_seconds": 0.5, "crops_per_track": 3, "frames": 8, "bands": 8, "embed_crops": 3,
              "channels": [4, 8], "latent_dim": 3, "modulation_hz": modulation_hz}
    cfg = RunConfig.model_validate({"train": {"epochs": 2, "device": "cpu", "resume": False},
                                    "representations": {"params": {name: params}}})
    rep = learn(name, inputs, cfg, {})
    assert rep.latent.shape == (N_TRACKS, 3) and np.isfinite(rep.latent).all() and rep.spec.learned
    assert len(rep.history.train) == 2
    assert np.array_equal(rep.latent, learn(name, inputs, cfg, {}).latent)
    # 0.5 s = 22 frames: pooled to 8, or 5 modulation frequencies of 1.96 Hz up to 10 Hz
    assert rep.dataset is not None and rep.dataset.item_shape == ((6 if name == "crop_mfcc_vae" else 8),
                                                                   (5 if modulation_hz else 8))


def test_pairs_are_two_crops_of_one_track_and_the_model_rebuilds_the_second() -> None:
    ds = dataset(pairs=True).fit_standardisation(n_crops=3)
    assert ds.item_shape == (2, 8, 12) and ds.grid(3).item_shape == (8, 12)
    x = torch.stack(ds.__getitems__(range(8)))
    assert not torch.allclose(x[:, 0], x[:, 1])
    model = build_model("paired_conv_vae", input_shape=ds.item_shape, latent_dim=3, channels=[4, 8]).eval()
    out = model(x)
    assert out.recon.shape == (8, 8, 12)
    want = (out.recon - x[:, 1]).square().flatten(1).sum(1).mean()
    assert torch.isclose(model.loss(x, out)["reconstruction"], want)
    assert torch.equal(model.embed(x), model.embed(x[:, 0]))
    clean = dataset(pairs=True, augmentation=None, crops_per_track=16).fit_standardisation(n_crops=3)
    hist = train(model, clean, TrainConfig(epochs=6, batch_size=16, patience=50, device="cpu", lr=3e-3), seed=0)
    assert hist.train[-1]["total"] < 0.85 * hist.train[0]["total"]
