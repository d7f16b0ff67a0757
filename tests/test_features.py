"""Audio decoding, log-mel (against librosa), spectral statistics, and the on-disk feature cache."""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from conftest import SR, tone, write_wav
from songspace.config import FeatureConfig
from songspace.errors import AudioDecodeError, RunError
from songspace.features import cache as cache_mod
from songspace.features import extract as extract_mod
from songspace.features import extract_features, load_clip, log_mel, spectral_stat_names, spectral_stats


def test_log_mel_matches_librosa() -> None:
    y = tone(440, 2.0) + 0.05 * np.random.default_rng(1).standard_normal(int(2.0 * SR)).astype(np.float32)
    ours = log_mel(y, sr=SR, n_fft=1024, hop_length=256, n_mels=64, device="cpu")
    ref = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SR, n_fft=1024, hop_length=256, n_mels=64),
                              ref=1.0, amin=1e-10, top_db=None)
    assert ours.shape == ref.shape == (64, 1 + y.size // 256)
    # Stated tolerance: 0.01 dB everywhere (float32 STFT in torch vs numpy).
    assert np.max(np.abs(ours - ref)) < 0.01


def test_log_mel_batch_equals_single() -> None:
    ys = np.stack([tone(f, 1.0) for f in (200, 800, 3000)])
    batch = log_mel(ys, n_mels=32, device="cpu")
    assert batch.shape[0] == 3
    for y, b in zip(ys, batch, strict=True):
        np.testing.assert_allclose(log_mel(y, n_mels=32, device="cpu"), b, atol=1e-3)


def test_load_clip_crops_long_files_to_their_middle(tmp_path: Path) -> None:
    y = np.concatenate([tone(200, 2.0), tone(2000, 2.0), tone(200, 2.0)])
    clip = load_clip(write_wav(tmp_path / "a.wav", y), sr=SR, clip_seconds=1.0)
    assert clip.shape == (SR,)
    spec = np.abs(np.fft.rfft(clip))
    assert np.argmax(spec) * SR / clip.size == pytest.approx(2000, rel=0.02)  # the middle part


def test_load_clip_repeats_short_files(tmp_path: Path) -> None:
    clip = load_clip(write_wav(tmp_path / "a.wav", tone(440, 1.2)), sr=SR, clip_seconds=3.0, min_seconds=1.0)
    assert clip.shape == (3 * SR,) and np.abs(clip[-SR:]).max() > 0.05  # filled with the music, not silence


@pytest.mark.parametrize("fmt,subtype", [("FLAC", "PCM_16"), ("OGG", "VORBIS"), ("AU", "PCM_16")])
def test_load_clip_formats(tmp_path: Path, fmt: str, subtype: str) -> None:
    path = tmp_path / f"a.{fmt.lower()}"
    sf.write(path, tone(440, 1.5), SR, format=fmt, subtype=subtype)
    assert load_clip(path, sr=SR, clip_seconds=1.0).shape == (SR,)


def test_load_clip_stereo_and_other_rates(tmp_path: Path) -> None:
    stereo = np.stack([tone(440, 1.5, sr=8000), tone(660, 1.5, sr=8000)], axis=1)
    sf.write(tmp_path / "s.wav", stereo, 8000)
    clip = load_clip(tmp_path / "s.wav", sr=SR, clip_seconds=1.0)
    assert clip.ndim == 1 and clip.shape == (SR,)


def test_bad_audio_gives_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "text.wav").write_text("this is not audio")
    with pytest.raises(AudioDecodeError, match=r"text\.wav: cannot decode audio"):
        load_clip(tmp_path / "text.wav")
    with pytest.raises(AudioDecodeError, match="is silent"):
        load_clip(write_wav(tmp_path / "silent.wav", np.zeros(SR * 2, np.float32)))
    with pytest.raises(AudioDecodeError, match="below the minimum"):
        load_clip(write_wav(tmp_path / "short.wav", tone(440, 0.001)))
    nan = tone(440, 2.0)
    nan[100:200] = np.nan
    sf.write(tmp_path / "nan.wav", nan, SR, subtype="FLOAT")
    with pytest.raises(AudioDecodeError, match="NaN"):
        load_clip(tmp_path / "nan.wav")


def clicks(rate_hz: float, seconds: float = 6.0) -> np.ndarray:
    """A click train: a short decaying noise burst ``rate_hz`` times per second."""
    rng = np.random.default_rng(0)
    y = 0.001 * rng.standard_normal(int(seconds * SR)).astype(np.float32)
    burst = (rng.standard_normal(400) * np.exp(-np.arange(400) / 60)).astype(np.float32)
    for start in np.arange(0, seconds - 0.05, 1 / rate_hz):
        i = int(start * SR)
        y[i:i + 400] += 0.5 * burst
    return y


def test_spectral_stats_capture_rhythm() -> None:
    names = spectral_stat_names()
    slow = spectral_stats(log_mel(clicks(1.5), device="cpu"), clicks(1.5))
    fast = spectral_stats(log_mel(clicks(4.0), device="cpu"), clicks(4.0))
    assert slow.shape == fast.shape == (len(names),) and np.all(np.isfinite(slow))
    tempo = np.array([i for i, n in enumerate(names) if n.startswith("tempo_acf")])
    # Bins are log-spaced lags from 0.1 s to 4 s: the strongest repetition sits at the click period.
    centres = np.geomspace(0.1, 4.0, len(tempo) + 1)
    assert centres[np.argmax(slow[tempo])] == pytest.approx(1 / 1.5, rel=0.3)
    assert centres[np.argmax(fast[tempo])] == pytest.approx(1 / 4.0, rel=0.3)


def cfg_for(tmp_path: Path, **kw) -> FeatureConfig:
    return FeatureConfig(cache_dir=str(tmp_path / "cache"), clip_seconds=1.0, n_mels=32, workers=1, batch_size=4,
                         **kw)


def test_extract_features_caches_and_skips(tmp_path: Path) -> None:
    paths = [write_wav(tmp_path / f"{i}.wav", tone(200 + 100 * i, 1.5, seed=i)) for i in range(5)]
    paths.append(write_wav(tmp_path / "silent.wav", np.zeros(SR * 2, np.float32)))
    (tmp_path / "bad.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    paths.append(tmp_path / "bad.wav")
    ids = [p.stem for p in paths]
    cfg = cfg_for(tmp_path)
    first = extract_features(paths, ids, cfg, device="cpu")
    assert first.track_ids == ["0", "1", "2", "3", "4"]
    assert first.log_mel.shape == (5, 32, 1 + SR // 512) and first.stats.shape == (5, len(first.stat_names))
    assert isinstance(first.log_mel, np.memmap)
    assert {Path(p.path).name for p in first.failed} == {"silent.wav", "bad.wav"}
    assert first.n_computed == 7 and first.n_cached == 0

    again = extract_features(paths, ids, cfg, device="cpu")
    assert again.n_computed == 0 and again.n_cached == 7  # failures are cached too
    np.testing.assert_array_equal(np.asarray(first.stats), np.asarray(again.stats))

    other = extract_features(paths, ids, cfg_for(tmp_path, n_mfcc=13), device="cpu")
    assert other.n_computed == 7  # other settings never reuse the cache
    assert other.stats.shape[1] != first.stats.shape[1]


def test_changed_file_is_recomputed_and_resume_after_interruption(tmp_path: Path) -> None:
    paths = [write_wav(tmp_path / f"{i}.wav", tone(300 + 50 * i, 1.5, seed=i)) for i in range(6)]
    ids = [p.stem for p in paths]
    cfg = cfg_for(tmp_path)
    extract_features(paths[:3], ids[:3], cfg, device="cpu")  # a run stopped half way
    resumed = extract_features(paths, ids, cfg, device="cpu")
    assert resumed.n_cached == 3 and resumed.n_computed == 3
    write_wav(paths[0], tone(5000, 1.5))  # new content under the same name
    changed = extract_features(paths, ids, cfg, device="cpu")
    assert changed.n_computed == 1
    assert not np.array_equal(np.asarray(changed.stats[0]), np.asarray(resumed.stats[0]))


def test_parallel_workers_equal_one_batched_worker(tmp_path: Path) -> None:
    # workers=1 batches log-mel in the parent; workers=2 computes each file in a worker: same features.
    paths = [write_wav(tmp_path / f"{i}.wav", tone(300 + 70 * i, 1.5, seed=i)) for i in range(4)]
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEfmt garbage")
    paths.insert(2, broken)
    a = extract_features(paths, [p.stem for p in paths], cfg_for(tmp_path / "a"), device="cpu")
    b = extract_features(paths, [p.stem for p in paths], cfg_for(tmp_path / "b").model_copy(update={"workers": 2}),
                         device="cpu")
    assert a.track_ids == b.track_ids == ["0", "1", "2", "3"]
    assert [p.path for p in a.failed] == [p.path for p in b.failed] == [str(broken)]
    np.testing.assert_allclose(np.asarray(a.log_mel, dtype=np.float32), np.asarray(b.log_mel, dtype=np.float32),
                               atol=0.1)
    np.testing.assert_allclose(np.asarray(a.stats), np.asarray(b.stats), rtol=1e-3, atol=1e-3)


def test_full_disk_names_the_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_wav(tmp_path / "a.wav", tone(440, 1.5))

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_mod.np, "savez", no_space)
    with pytest.raises(RunError, match=r"cache.*No space left on device"):
        extract_features([path], ["a"], cfg_for(tmp_path), device="cpu")


# --- faults: hung decoders, dying workers, decoder upgrades ------------------------------------------------


def faulty_load_clip(real):
    """``load_clip`` that hangs in Python on hang*.wav, hangs where no alarm reaches it on stuck*.wav and kills
    its process on crash*.wav (workers are forked, so they run it too)."""

    def load(path, **kw):
        name = Path(path).name
        if name.startswith("hang"):
            time.sleep(60)
        if name.startswith("stuck"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})  # as if inside a C decoder
            time.sleep(60)
        if name.startswith("crash"):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(path, **kw)

    return load


def test_hung_and_crashing_files_are_skipped_and_the_rest_finish(tmp_path: Path, monkeypatch) -> None:
    names = ["0", "hang", "1", "crash", "2", "stuck", "3"]
    paths = [write_wav(tmp_path / f"{n}.wav", tone(300 + 40 * i, 1.5, seed=i)) for i, n in enumerate(names)]
    cfg = cfg_for(tmp_path, file_timeout_s=1.0).model_copy(update={"workers": 2, "batch_size": 3})
    monkeypatch.setattr(extract_mod, "load_clip", faulty_load_clip(extract_mod.load_clip))
    t = time.perf_counter()
    got = extract_features(paths, names, cfg, device="cpu")
    assert time.perf_counter() - t < 30  # 60-s hangs were cut short
    assert got.track_ids == ["0", "1", "2", "3"]
    reasons = {Path(p.path).stem: p.reason for p in got.failed}
    assert set(reasons) == {"hang", "crash", "stuck"}
    assert "longer than features.file_timeout_s = 1 s" in reasons["hang"]
    assert "longer than features.file_timeout_s = 1 s" in reasons["stuck"]  # the watchdog ended its worker
    assert "worker died" in reasons["crash"] and str(paths[3]) in reasons["crash"]
    # Faults of the worker are not cached: with a decoder that works, the next run computes those three.
    monkeypatch.undo()
    again = extract_features(paths, names, cfg, device="cpu")
    assert again.n_computed == 3 and again.track_ids == names and not again.failed
    np.testing.assert_array_equal(np.asarray(again.stats[[0, 2, 4, 6]]), np.asarray(got.stats))


def test_one_worker_survives_hung_and_crashing_files(tmp_path: Path, monkeypatch) -> None:
    # One worker still decodes apart from this process: a decoder hung in C or one that crashes cannot take
    # the run with it.
    names = ["a", "hang", "stuck", "crash", "b"]
    paths = [write_wav(tmp_path / f"{n}.wav", tone(400 + 30 * i, 1.5, seed=i)) for i, n in enumerate(names)]
    monkeypatch.setattr(extract_mod, "load_clip", faulty_load_clip(extract_mod.load_clip))
    got = extract_features(paths, names, cfg_for(tmp_path, file_timeout_s=0.5), device="cpu")
    assert got.track_ids == ["a", "b"]
    reasons = {Path(p.path).stem: p.reason for p in got.failed}
    assert "longer than" in reasons["hang"] and "longer than" in reasons["stuck"]
    assert "worker died" in reasons["crash"]


def test_decode_failures_are_retried_when_the_decoder_changes(tmp_path: Path, monkeypatch) -> None:
    good = write_wav(tmp_path / "good.wav", tone(440, 1.5))
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEfmt garbage")
    cfg = cfg_for(tmp_path)
    first = extract_features([good, bad], ["good", "bad"], cfg, device="cpu")
    assert first.n_computed == 2 and len(first.failed) == 1
    errs = list(Path(cfg.cache_dir).rglob("*.err"))
    assert len(errs) == 1 and errs[0].name.endswith(f".{cache_mod.decoder_key()}.err")
    assert extract_features([good, bad], ["good", "bad"], cfg, device="cpu").n_computed == 0
    monkeypatch.setattr(cache_mod, "decoder_key", lambda: "0therdec")  # e.g. libsndfile was upgraded
    retried = extract_features([good, bad], ["good", "bad"], cfg, device="cpu")
    assert retried.n_computed == 1 and retried.failed[0].path == str(bad)  # only the failure is tried again
    assert "0therdec" in cache_mod.decoder_key() and len(list(Path(cfg.cache_dir).rglob("*.err"))) == 2


def test_decoder_versions_name_every_decoder() -> None:
    v = cache_mod.decoder_versions()
    assert {"soundfile", "libsndfile", "librosa", "audioread", "songspace_features"} <= set(v)
    assert v["libsndfile"] == sf.__libsndfile_version__


def test_another_feature_version_never_reuses_the_cache(tmp_path: Path, monkeypatch) -> None:
    path = write_wav(tmp_path / "a.wav", tone(440, 1.5))
    assert extract_features([path], ["a"], cfg_for(tmp_path), device="cpu").n_computed == 1
    monkeypatch.setattr(cache_mod, "FEATURE_VERSION", cache_mod.FEATURE_VERSION + 1)
    assert extract_features([path], ["a"], cfg_for(tmp_path), device="cpu").n_computed == 1
    assert len(list((tmp_path / "cache").glob("v*-*"))) == 2  # one folder per version, side by side


def test_full_disk_while_assembling_names_the_cache_folder(tmp_path: Path, monkeypatch) -> None:
    path = write_wav(tmp_path / "a.wav", tone(440, 1.5))

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_mod, "_npy_header", no_space)
    with pytest.raises(RunError, match=rf"{tmp_path / 'cache'}.*No space left on device.*features.cache_dir"):
        extract_features([path], ["a"], cfg_for(tmp_path), device="cpu")
    assert not list((tmp_path / "cache").rglob("sets/*/*"))


def test_a_file_gone_since_the_dataset_was_read_is_skipped(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "a.wav", tone(440, 1.5))
    got = extract_features([path, tmp_path / "gone.wav"], ["a", "gone"], cfg_for(tmp_path), device="cpu")
    assert got.track_ids == ["a"] and "gone.wav: cannot read the file" in got.failed[0].reason
