"""Music descriptors (rhythm, harmony, texture) on synthetic signals whose answer is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from conftest import SR, tone, write_wav
from songspace.config import FeatureConfig
from songspace.features import extract as extract_mod
from songspace.features import extract_features, log_mel, spectral_stat_names, spectral_stats
from songspace.features.audio import production_stats
from songspace.features.descriptors import _median, music_descriptor_names, music_descriptors, pitch_class_profile

NAMES = music_descriptor_names()


def value(d: np.ndarray, name: str) -> float:
    return float(d[NAMES.index(name)])


def clicks(rate_hz: float, seconds: float = 6.0) -> np.ndarray:
    """Short decaying noise bursts ``rate_hz`` times per second over a faint noise floor."""
    rng = np.random.default_rng(0)
    y = 0.001 * rng.standard_normal(int(seconds * SR))
    burst = rng.standard_normal(400) * np.exp(-np.arange(400) / 60)
    for start in np.arange(0, seconds - 0.05, 1 / rate_hz):
        y[int(start * SR):int(start * SR) + 400] += 0.5 * burst
    return y.astype(np.float32)


def chord(midi: list[int], seconds: float = 3.0) -> np.ndarray:
    """Sustained harmonic notes (5 partials each, 1/k amplitudes)."""
    t = np.arange(int(seconds * SR)) / SR
    y = np.zeros_like(t)
    for m in midi:
        f0 = 440.0 * 2 ** ((m - 69) / 12)
        y += sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))
    return (0.2 * y / np.abs(y).max()).astype(np.float32)


@pytest.mark.parametrize("rate", [2.0, 5.0])
def test_click_track_has_its_onset_rate_and_a_clear_pulse(rate: float) -> None:
    d = music_descriptors(clicks(rate))
    assert value(d, "onset_rate_hz") == pytest.approx(rate, rel=0.1)
    assert value(d, "pulse_clarity") > 0.5  # a metronome is as periodic as music gets
    assert value(d, "harmonic_ratio") < 0.5  # clicks are percussive
    noise = np.random.default_rng(1).standard_normal(6 * SR).astype(np.float32) * 0.1
    assert value(music_descriptors(noise), "pulse_clarity") < 0.3


def test_major_chord_has_its_pitch_classes_and_a_clear_key() -> None:
    y = chord([60, 64, 67])  # C4 E4 G4
    profile = pitch_class_profile(y)
    assert profile.sum() == pytest.approx(1.0)
    assert set(np.argsort(profile)[-3:].tolist()) == {0, 4, 7}  # C, E, G
    assert profile[[0, 4, 7]].sum() > 0.6
    d = music_descriptors(y)
    assert value(d, "key_clarity") > 0.7
    assert value(d, "harmonic_ratio") > 0.9  # sustained notes
    assert value(d, "onset_rate_hz") < 0.5  # one onset at most, at the start
    assert value(d, "chroma_change") < 0.05  # nothing moves
    assert 2.0 <= value(d, "polyphony") <= 5.0  # three notes (and some partials)
    # The DFT of a major triad {0, 4, 7}: |F3| (major thirds) outweighs |F6| (whole tones).
    assert value(d, "chroma_dft3") > value(d, "chroma_dft6")


def test_cadences_have_their_mode_and_move() -> None:
    major = np.concatenate([chord(c, 1.0) for c in ([60, 64, 67], [65, 69, 72], [67, 71, 74], [60, 64, 67])])
    minor = np.concatenate([chord(c, 1.0) for c in ([57, 60, 64], [62, 65, 69], [64, 68, 71], [57, 60, 64])])
    dmaj, dmin = music_descriptors(major), music_descriptors(minor)  # C: I IV V I; A minor: i iv V i
    assert value(dmaj, "key_mode") > 0 > value(dmin, "key_mode")
    steady = music_descriptors(chord([60, 64, 67], 4.0))
    # A new chord every second (every fifth 0.2-s block) moves pitch classes and the tonal centroid.
    assert value(dmaj, "chroma_change") > 0.08 > 2 * value(steady, "chroma_change")
    assert value(dmaj, "tonnetz_fifths_change") > 2 * value(steady, "tonnetz_fifths_change")


def test_chroma_descriptors_are_transposition_invariant() -> None:
    c, e = music_descriptors(chord([60, 64, 67])), music_descriptors(chord([64, 68, 71]))  # C major, E major
    assert np.argmax(pitch_class_profile(chord([64, 68, 71]))) in (4, 8, 11)  # E, G#, B: really transposed
    for name in [f"chroma_dft{k}" for k in range(1, 7)] + ["key_clarity", "key_mode", "polyphony"]:
        assert value(c, name) == pytest.approx(value(e, name), abs=0.05), name


def test_noise_is_flatter_than_a_tone() -> None:
    noise = music_descriptors(np.random.default_rng(0).standard_normal(3 * SR).astype(np.float32) * 0.1)
    sine = music_descriptors((0.3 * np.sin(2 * np.pi * 440 * np.arange(3 * SR) / SR)).astype(np.float32))
    assert value(noise, "flatness_mean_db") > value(sine, "flatness_mean_db") + 20
    assert value(noise, "contrast2_mean") < value(sine, "contrast2_mean")  # 400-800 Hz: no peak above the valley


def test_gain_leaves_the_descriptors_unchanged() -> None:
    rng = np.random.default_rng(2)
    y = chord([57, 60, 64], seconds=4.0) + clicks(3.0, seconds=4.0) + 0.005 * rng.standard_normal(4 * SR)
    y = y.astype(np.float32)
    loud, quiet = music_descriptors(y), music_descriptors(0.05 * y)  # -26 dB
    np.testing.assert_allclose(quiet, loud, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("y", [np.zeros(2 * SR, np.float32), np.full(2 * SR, 0.3, np.float32),
                               np.r_[np.zeros(SR), 1e-3 * np.ones(10)].astype(np.float32)],
                         ids=["silence", "constant", "one-blip"])
def test_silent_and_constant_input_give_finite_values(y: np.ndarray) -> None:
    d = music_descriptors(y)
    assert d.shape == (len(NAMES),) and d.dtype == np.float32 and np.all(np.isfinite(d))
    stats = spectral_stats(log_mel(y, device="cpu"), y)
    assert stats.shape == (len(spectral_stat_names()),) and np.all(np.isfinite(stats))


def test_names_match_values_and_keep_the_mfcc_columns() -> None:
    for n_mfcc in (13, 20):
        names = spectral_stat_names(n_mfcc=n_mfcc)
        stats = spectral_stats(log_mel(tone(330, 1.5), device="cpu"), tone(330, 1.5), n_mfcc=n_mfcc)
        assert stats.shape == (len(names),) and len(set(names)) == len(names)
        assert [f"mfcc{i}_mean" for i in range(n_mfcc)] == names[:n_mfcc]
        assert [f"mfcc{i}_std" for i in range(n_mfcc)] == names[n_mfcc:2 * n_mfcc]
    marked = [n for n, p in zip(names, production_stats(names), strict=True) if p]
    assert marked == [f"mfcc{i}_mean" for i in range(20)] + ["loudness_mean_db"]


def test_new_statistics_version_never_reuses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_wav(tmp_path / "a.wav", tone(440, 1.5))
    cfg = FeatureConfig(cache_dir=str(tmp_path / "cache"), clip_seconds=1.0, n_mels=32, workers=1)
    first = extract_features([path], ["a"], cfg, device="cpu")
    assert first.n_computed == 1 and first.stat_names == spectral_stat_names()
    assert first.stats.shape == (1, len(first.stat_names))
    monkeypatch.setattr(extract_mod, "STATS_VERSION", extract_mod.STATS_VERSION + 1)
    assert extract_features([path], ["a"], cfg, device="cpu").n_computed == 1


@pytest.mark.parametrize("shape,size,axis", [((128, 40), 17, 0), ((128, 40), 9, 1), ((5, 3), 17, 0)])
def test_running_median_is_scipys(shape: tuple[int, int], size: int, axis: int) -> None:
    # HPSS uses its own running median (3x faster); it must give scipy.ndimage's values, edges included.
    x = np.random.default_rng(0).random(shape)
    kernel = (size, 1) if axis == 0 else (1, size)
    np.testing.assert_array_equal(_median(x, size, axis=axis), ndimage.median_filter(x, size=kernel, mode="reflect"))


def test_a_descriptor_error_skips_the_file_not_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [write_wav(tmp_path / f"{i}.wav", tone(300 + 100 * i, 1.5, seed=i)) for i in range(3)]
    real = extract_mod.music_descriptors

    def fails_on_the_middle_one(y: np.ndarray, **kw) -> np.ndarray:
        if abs(np.fft.rfft(y).argmax() * SR / y.size - 400) < 20:
            raise ValueError("boom")
        return real(y, **kw)

    monkeypatch.setattr(extract_mod, "music_descriptors", fails_on_the_middle_one)
    cfg = FeatureConfig(cache_dir=str(tmp_path / "cache"), clip_seconds=1.0, n_mels=32, workers=1)
    got = extract_features(paths, ["0", "1", "2"], cfg, device="cpu")
    assert got.track_ids == ["0", "2"]
    assert "music descriptors (ValueError: boom)" in got.failed[0].reason
