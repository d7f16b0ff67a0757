"""Decoding real-world audio: every format, channel count and sample rate, long files, and broken files.

Each broken file must give an :class:`AudioDecodeError` naming the file, never a crash or a silent zero clip.
"""

from __future__ import annotations

import logging
import struct
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import SR, tone, write_wav
from songspace.errors import AudioDecodeError
from songspace.features import load_clip

HAS_MP3 = "MP3" in sf.available_formats()


def peak_hz(clip: np.ndarray, sr: int = SR) -> float:
    return float(np.argmax(np.abs(np.fft.rfft(clip))) * sr / clip.size)


@pytest.mark.parametrize("fmt,subtype,ext", [("WAV", "PCM_16", "wav"), ("FLAC", "PCM_24", "flac"),
                                             ("OGG", "VORBIS", "ogg"), ("OGG", "OPUS", "opus.ogg"),
                                             ("AU", "PCM_16", "au"), ("MP3", "MPEG_LAYER_III", "mp3")])
def test_every_format_decodes_to_the_same_tone(tmp_path: Path, fmt: str, subtype: str, ext: str) -> None:
    if fmt not in sf.available_formats() or subtype not in sf.available_subtypes(fmt):
        pytest.skip(f"this libsndfile ({sf.__libsndfile_version__}) cannot write {fmt}/{subtype}")
    sr = 48000 if subtype == "OPUS" else SR  # Opus only exists at 8/12/16/24/48 kHz
    path = tmp_path / f"a.{ext}"
    sf.write(path, tone(1000, 2.0, sr=sr), sr, format=fmt, subtype=subtype)
    clip = load_clip(path, sr=SR, clip_seconds=1.0)
    assert clip.shape == (SR,) and clip.dtype == np.float32
    assert peak_hz(clip) == pytest.approx(1000, abs=5)


@pytest.mark.parametrize("native_sr", [8000, 16000, 44100, 96000])
def test_any_sample_rate_is_resampled_to_the_configured_one(tmp_path: Path, native_sr: int) -> None:
    path = write_wav(tmp_path / "a.wav", tone(1500, 1.5, sr=native_sr), native_sr)
    clip = load_clip(path, sr=SR, clip_seconds=1.0)
    assert clip.shape == (SR,) and peak_hz(clip) == pytest.approx(1500, abs=5)


def test_eight_channels_are_mixed_to_mono(tmp_path: Path) -> None:
    freqs = [200 * (k + 1) for k in range(8)]
    y = np.stack([tone(f, 1.5) for f in freqs], axis=1)
    y[:, 3] = 0.0  # a silent channel does not silence the mix
    clip = load_clip(write_wav(tmp_path / "octo.wav", y), sr=SR, clip_seconds=1.0)
    spec = np.abs(np.fft.rfft(clip))
    level = {f: spec[int(round(f * clip.size / SR))] for f in freqs}
    assert all(level[f] > 50 * np.median(spec) for f in freqs if f != 800)  # every live channel is in the mix
    assert level[800] < 0.05 * level[200]


def write_sparse_hour(path: Path, sr: int = 8000, seconds: int = 3600) -> Path:
    """One hour of 16-bit mono WAV with a tone in the middle minute and (sparse) silence elsewhere.

    The file's apparent size is 57.6 MB, but only the tone is written to disk: cheap for any test.
    """
    n = sr * seconds
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, sr, 2 * sr, 2, 16)  # PCM, mono, 16-bit
    header = b"RIFF" + struct.pack("<I", 36 + 2 * n) + b"WAVEfmt " + fmt + b"data" + struct.pack("<I", 2 * n)
    middle = (tone(440, 60.0, sr=sr) * 32767).astype("<i2").tobytes()
    with path.open("wb") as fh:
        fh.write(header)
        fh.truncate(len(header) + 2 * n)
        fh.seek(len(header) + 2 * (n // 2 - 30 * sr))
        fh.write(middle)
    return path


def test_an_hour_of_audio_decodes_only_the_middle_excerpt(tmp_path: Path) -> None:
    path = write_sparse_hour(tmp_path / "hour.wav")
    assert sf.info(str(path)).duration == pytest.approx(3600)
    tracemalloc.start()
    t0 = time.perf_counter()
    clip = load_clip(path, sr=8000, clip_seconds=10.0)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert clip.shape == (80000,) and peak_hz(clip, 8000) == pytest.approx(440, abs=2)  # the middle minute
    # Decoding the whole hour would take 115 MB as float32 (and seconds); the excerpt is 0.3 MB.
    assert peak < 8_000_000, f"load_clip allocated {peak / 1e6:.1f} MB: it decoded more than the excerpt"
    assert seconds < 2.0


def test_truncated_mp3_gives_what_decodes_or_a_clear_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    if not HAS_MP3:
        pytest.skip(f"this libsndfile ({sf.__libsndfile_version__}) cannot write MP3, so no MP3 can be made here")
    full = tmp_path / "full.mp3"
    sf.write(full, tone(700, 20.0), SR, format="MP3", subtype="MPEG_LAYER_III")
    data = full.read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(data[: int(len(data) * 0.3)])  # the header still says 20 s; the middle is gone
    with caplog.at_level(logging.WARNING, logger="songspace.features.audio"):
        clip = load_clip(cut, sr=SR, clip_seconds=2.0)
    assert clip.shape == (2 * SR,) and peak_hz(clip) == pytest.approx(700, abs=5)
    assert "cut.mp3" in caplog.text and "truncated" in caplog.text
    stub = tmp_path / "stub.mp3"
    stub.write_bytes(data[:200])
    with pytest.raises(AudioDecodeError, match=r"stub\.mp3: cannot decode audio"):
        load_clip(stub)


@pytest.mark.parametrize("name,content,message", [
    ("empty.wav", b"", r"empty\.wav: empty file \(0 bytes\)"),
    ("text.wav", b"this is a text file, not audio\n", r"text\.wav: cannot decode audio"),
    ("garbage.flac", bytes(range(256)) * 8, r"garbage\.flac: cannot decode audio"),
    ("riff.wav", b"RIFF\x10\x00\x00\x00WAVEfmt garbage", r"riff\.wav: cannot decode audio"),
])
def test_broken_files_name_themselves(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(AudioDecodeError, match=message):
        load_clip(tmp_path / name)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match=r"gone\.wav: no such file"):
        load_clip(tmp_path / "gone.wav")


def test_one_millisecond_silence_and_nan(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match=r"ms\.wav: only 0\.001 s of audio"):
        load_clip(write_wav(tmp_path / "ms.wav", tone(440, 0.001)))
    with pytest.raises(AudioDecodeError, match=r"zero\.wav: is silent"):
        load_clip(write_wav(tmp_path / "zero.wav", np.zeros(3 * SR, np.float32)))
    y = tone(440, 2.0)
    y[SR // 2: SR] = np.nan  # inside the excerpt
    sf.write(tmp_path / "nan.wav", y, SR, subtype="FLOAT")
    with pytest.raises(AudioDecodeError, match=r"nan\.wav: holds NaN"):
        load_clip(tmp_path / "nan.wav", clip_seconds=1.5)
    inf = tone(440, 2.0)
    inf[SR] = np.inf
    sf.write(tmp_path / "inf.wav", inf, SR, subtype="DOUBLE")
    with pytest.raises(AudioDecodeError, match="infinite"):
        load_clip(tmp_path / "inf.wav", clip_seconds=1.5)


def test_unicode_file_name(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "গান ১ – আমার সোনার বাংলা.wav", tone(440, 1.5))
    assert load_clip(path, clip_seconds=1.0).shape == (SR,)


@pytest.mark.parametrize("peak,ok", [(0.9, True), (8.0, True), (999.0, True), (32767.0, False), (1e30, False)])
def test_samples_far_beyond_full_scale_are_refused(tmp_path: Path, peak: float, ok: bool) -> None:
    # Float files may exceed +-1 a little (an unclipped mix); beyond +60 dBFS they are not audio as recorded, and
    # their power spectrum would overflow float32 into inf/NaN features.
    path = tmp_path / "float.wav"
    sf.write(path, peak * np.sin(2 * np.pi * 440 * np.arange(int(1.5 * SR)) / SR), SR, subtype="FLOAT")
    if ok:
        assert np.abs(load_clip(path, clip_seconds=1.0)).max() == pytest.approx(peak, rel=1e-3)
    else:
        with pytest.raises(AudioDecodeError, match=r"float\.wav: samples reach .* dB above full scale"):
            load_clip(path, clip_seconds=1.0)
