"""Audio features: decode a file to a fixed-length mono clip, log-mel spectrograms, summary statistics.

Log-mel is computed in torch so that a batch runs on the GPU when there is one; its mel filterbank is
librosa's (Slaney scale and norm), so values match ``librosa.feature.melspectrogram`` (see tests).
"""

from __future__ import annotations

import logging
import math
import warnings
from functools import lru_cache
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
import torch

from songspace.errors import AudioDecodeError
from songspace.features.descriptors import music_descriptor_names, music_descriptors

log = logging.getLogger(__name__)

# Below this peak amplitude (-80 dBFS) a clip is treated as digital silence: it carries nothing to cluster.
SILENCE_PEAK = 1e-4
# Floor of the dB scale: log10 of a zero power would be -inf.
AMIN = 1e-10
# Above this peak amplitude (+60 dBFS) float samples are not audio as recorded (integer samples stored as float,
# garbage, a sine x 1e30): their power spectrum would overflow into inf/NaN features.
MAX_PEAK = 1e3
# Bump when the statistics change (their columns or their values): it is part of the feature cache's key.
STATS_VERSION = 2


def _read_excerpt(sfile: sf.SoundFile, start: int, frames: int) -> np.ndarray:
    """``frames`` frames from ``start`` [shape=(<= frames, channels)]; empty when the seek lands past the data."""
    try:
        if start:
            sfile.seek(start)
        return sfile.read(frames, dtype="float32", always_2d=True)
    except sf.LibsndfileError:
        return np.zeros((0, sfile.channels), dtype=np.float32)


def _decode(path: Path, sr: int, clip_seconds: float) -> tuple[np.ndarray, float]:
    """Mono samples of the middle ``clip_seconds`` of ``path`` at the file's own rate, and that rate.

    Only the excerpt is decoded: libsndfile (wav, flac, ogg, mp3, au, ...) seeks to it, so an hour-long file
    costs what a ten-second one does, in time and memory. Channels are averaged: stereo, 5.1 or 8 channels
    give their mix (for MIR-1K, accompaniment + voice: the song). A file whose header promises more frames
    than it holds (a truncated download) gives what decodes from its start, with a warning. Formats
    libsndfile cannot open go through librosa/audioread, which decodes from the start to the excerpt's end,
    streaming (memory stays that of the excerpt), and resamples as it reads.
    """
    try:
        sfile = sf.SoundFile(str(path))
    except Exception as sf_exc:  # not a libsndfile format (or not audio): let librosa (audioread) try
        return _decode_audioread(path, sr, clip_seconds, sf_exc)
    with sfile:
        native = float(sfile.samplerate)
        n = max(1, int(round(clip_seconds * native)))
        frames = sfile.frames if 0 < sfile.frames < 1 << 62 else 0  # 0: length unknown, read from the start
        start = max(0, (frames - n) // 2)
        y = _read_excerpt(sfile, start, n)
    if start and y.shape[0] < min(n, frames - start):
        with sf.SoundFile(str(path)) as sfile:  # afresh: a failed seek can leave the decoder at the end
            y = _read_excerpt(sfile, 0, n)
            log.warning("%s: the header says %.1f s but the data ends early (truncated file?); using the first "
                        "%.1f s that decode", path, frames / native, y.shape[0] / native)
    return y.mean(axis=1), native


def _decode_audioread(path: Path, sr: int, clip_seconds: float, sf_exc: Exception) -> tuple[np.ndarray, float]:
    """The middle ``clip_seconds`` of ``path`` through librosa/audioread, mono at ``sr``, and ``sr``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # librosa's notice that audioread is deprecated
            duration = float(librosa.get_duration(path=str(path)))
            offset = max(0.0, (duration - clip_seconds) / 2.0)
            y, _ = librosa.load(str(path), sr=sr, mono=True, offset=offset, duration=clip_seconds)
    except Exception as exc:
        if type(exc).__name__ == "NoBackendError" and path.is_file() and not _audioread_decoders():  # none here
            raise AudioDecodeError(f"{path}: cannot decode {path.suffix or 'this'} audio on this machine: libsndfile "
                                   "does not read it and audioread finds no decoder; install ffmpeg "
                                   "(scripts/install-system.sh, or 'sudo apt-get install ffmpeg'), or re-encode "
                                   "the file to FLAC.") from exc
        why = "libsndfile does not recognise its format" if path.is_file() else str(sf_exc)
        raise AudioDecodeError(f"{path}: cannot decode audio ({why}, and no audioread backend could decode it: "
                               f"{type(exc).__name__}). The file may be corrupt, truncated or not audio; re-encode "
                               "it (e.g. to WAV or FLAC) or remove it.") from exc
    return y, float(sr)


def _audioread_decoders() -> list[str]:
    """audioread's backends on this machine that decode compressed audio (ffmpeg, GStreamer, ...): without one,
    audioread's NoBackendError means "install a decoder"; with one, it means the file itself could not be decoded.
    (audioread caches what it finds.)"""
    import audioread

    return [b.__name__ for b in audioread.available_backends() if "RawAudio" not in b.__name__]


def load_clip(path: Path | str, *, sr: int = 22050, clip_seconds: float = 10.0,
              min_seconds: float = 1.0) -> np.ndarray:
    """Decode ``path`` to a mono clip of exactly ``clip_seconds`` at ``sr``.

    Longer files give their middle ``clip_seconds`` (intros and fades say little about a song; the middle of
    a song is usually verse or chorus), and only that excerpt is decoded, whatever the file's length.
    Shorter files are repeated to fill the clip, so that summary statistics are not diluted by padding
    silence. Any number of channels is mixed to mono; any sample rate is resampled to ``sr``.

    Returns
    -------
    y : np.ndarray [shape=(round(clip_seconds * sr),), dtype=float32]

    Raises
    ------
    AudioDecodeError
        The file is missing or empty, cannot be decoded, is shorter than ``min_seconds``, holds NaN/Inf
        samples, or is silent. The message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioDecodeError(f"{path}: no such file; it may have been moved or deleted since the dataset was read.")
    if path.stat().st_size == 0:
        raise AudioDecodeError(f"{path}: empty file (0 bytes); remove it or replace it with a valid file.")
    try:
        y, native_sr = _decode(path, sr, clip_seconds)
    except AudioDecodeError:
        raise
    except Exception as exc:  # decoders raise many types; all mean the same to the user
        raise AudioDecodeError(f"{path}: cannot decode audio ({type(exc).__name__}: {exc}). The file may be "
                               "corrupt or not audio; re-encode it (e.g. to WAV) or remove it.") from exc
    if y.size == 0:
        raise AudioDecodeError(f"{path}: decodes to no samples; remove it or replace it with a valid file.")
    if not np.all(np.isfinite(y)):
        raise AudioDecodeError(f"{path}: holds NaN or infinite samples; re-encode it from a clean source.")
    seconds = y.size / native_sr
    if seconds < min_seconds:
        raise AudioDecodeError(f"{path}: only {seconds:.3f} s of audio, below the minimum of {min_seconds} s "
                               "(features.min_seconds).")
    peak = float(np.max(np.abs(y)))
    if peak < SILENCE_PEAK:
        raise AudioDecodeError(f"{path}: is silent (peak below -80 dBFS); nothing to cluster.")
    if peak > MAX_PEAK:
        raise AudioDecodeError(f"{path}: samples reach {peak:.3g}, {20 * math.log10(peak):.0f} dB above full scale "
                               f"(float samples lie within +-1; beyond +-{MAX_PEAK:g} they are not audio as recorded, "
                               "e.g. integer samples stored as float); re-encode it from a clean source.")
    if native_sr != sr:
        y = librosa.resample(y, orig_sr=native_sr, target_sr=sr)
    n = int(round(clip_seconds * sr))
    if y.size < n:
        y = np.resize(y, n)  # repeat the clip to fill
    return np.ascontiguousarray(y[:n], dtype=np.float32)


@lru_cache(maxsize=8)
def _mel_basis(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> np.ndarray:
    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax).astype(np.float32)


def log_mel(y: np.ndarray | torch.Tensor, *, sr: int = 22050, n_fft: int = 2048, hop_length: int = 512,
            n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None,
            device: str | torch.device | None = None) -> np.ndarray:
    """Log-power mel spectrogram in dB, for one clip or a batch.

    Same framing as ``librosa.feature.melspectrogram`` (centred frames, zero padding, periodic Hann window,
    power 2, Slaney mel filterbank), then ``10 * log10(max(S, 1e-10))`` with no per-clip reference, so that
    loudness differences between tracks are kept.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (batch, n)], mono audio at ``sr``
    device : where to compute; ``None`` picks CUDA when available.

    Returns
    -------
    np.ndarray [shape=(n_mels, 1 + n // hop_length) or (batch, n_mels, 1 + n // hop_length), dtype=float32]
    """
    dev = torch.device(device) if device is not None else default_device()
    x = torch.as_tensor(y, dtype=torch.float32).to(dev)
    single = x.ndim == 1
    if single:
        x = x[None]
    window = torch.hann_window(n_fft, periodic=True, device=dev)
    spec = torch.stft(x, n_fft=n_fft, hop_length=hop_length, window=window, center=True,
                      pad_mode="constant", return_complex=True)
    power = spec.real.square() + spec.imag.square()
    mel = torch.as_tensor(_mel_basis(sr, n_fft, n_mels, fmin, fmax), device=dev) @ power
    out = (10.0 * torch.log10(torch.clamp(mel, min=AMIN))).cpu().numpy()
    return out[0] if single else out


def default_device() -> torch.device:
    """CUDA when present, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def n_frames_for(*, sr: int, clip_seconds: float, hop_length: int) -> int:
    """Number of log-mel frames of a clip (centred framing)."""
    return 1 + int(round(clip_seconds * sr)) // hop_length


def mel_stats(mel_db: np.ndarray, *, sr: int = 22050, hop_length: int = 512, n_mfcc: int = 20,
              n_tempo_bins: int = 16) -> np.ndarray:
    """Summary statistics of one clip's log-mel spectrogram (the first columns of :func:`spectral_stats`).

    Timbre: MFCC mean and std over time, and the std of their first difference (how fast timbre moves).
    Rhythm: autocorrelation of the onset-strength envelope at log-spaced lags from 0.1 s to 4 s (a coarse
    tempogram: which beat periods repeat), normalised by its value at lag 0.
    Dynamics: mean, std and 95th-5th percentile range of frame loudness in dB.

    MFCC means and mean loudness describe the recording chain (EQ, mastering level) as much as the music;
    they are kept for the ``mfcc_stats`` baseline, and :func:`production_stats` marks them.

    Parameters
    ----------
    mel_db : np.ndarray [shape=(n_mels, t)], log-mel in dB (from :func:`log_mel`)

    Returns
    -------
    np.ndarray [shape=(3 * n_mfcc + n_tempo_bins + 3,), dtype=float32]; names in :func:`mel_stat_names`
    """
    mel_db = np.asarray(mel_db, dtype=np.float32)
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=n_mfcc)
    d_mfcc = np.diff(mfcc, axis=1)

    onset = librosa.onset.onset_strength(S=mel_db, sr=sr, hop_length=hop_length)
    onset = onset - onset.mean()
    n = onset.size
    spec = np.fft.rfft(onset, n=2 * n)
    acf = np.fft.irfft(spec * np.conj(spec))[:n]
    acf = acf / acf[0] if acf[0] > 0 else np.zeros(n)
    fps = sr / hop_length
    edges = np.geomspace(0.1 * fps, min(4.0 * fps, n - 1), n_tempo_bins + 1)
    lags = np.arange(n)
    # Bins are closed on whole lags so that even the narrowest (short lags) holds at least one.
    tempo = np.array([acf[(lags >= math.floor(lo)) & (lags <= math.ceil(hi))].max(initial=0.0)
                      for lo, hi in zip(edges[:-1], edges[1:], strict=True)])

    loud = 10.0 * np.log10(np.maximum(np.mean(10.0 ** (mel_db / 10.0), axis=0), AMIN))
    dyn = np.array([loud.mean(), loud.std(), np.percentile(loud, 95) - np.percentile(loud, 5)])
    return np.concatenate([mfcc.mean(1), mfcc.std(1), d_mfcc.std(1), tempo, dyn]).astype(np.float32)


def mel_stat_names(*, n_mfcc: int = 20, n_tempo_bins: int = 16) -> list[str]:
    """Column names of :func:`mel_stats`, in order."""
    names = [f"mfcc{i}_mean" for i in range(n_mfcc)] + [f"mfcc{i}_std" for i in range(n_mfcc)]
    names += [f"dmfcc{i}_std" for i in range(n_mfcc)] + [f"tempo_acf{i}" for i in range(n_tempo_bins)]
    return names + ["loudness_mean_db", "loudness_std_db", "loudness_range_db"]


def spectral_stats(mel_db: np.ndarray, y: np.ndarray, *, sr: int = 22050, n_fft: int = 2048, hop_length: int = 512,
                   n_mfcc: int = 20, n_tempo_bins: int = 16) -> np.ndarray:
    """Per-track statistics: :func:`mel_stats` of the log-mel, then
    :func:`~songspace.features.descriptors.music_descriptors` of the waveform (rhythm, harmony, texture).

    Parameters
    ----------
    mel_db : np.ndarray [shape=(n_mels, t)], log-mel in dB of ``y`` (from :func:`log_mel`)
    y : np.ndarray [shape=(n,)], the clip, mono at ``sr``

    Returns
    -------
    np.ndarray [shape=(len(spectral_stat_names(...)),), dtype=float32]
    """
    return np.concatenate([mel_stats(mel_db, sr=sr, hop_length=hop_length, n_mfcc=n_mfcc, n_tempo_bins=n_tempo_bins),
                           music_descriptors(y, sr=sr, n_fft=n_fft, hop_length=hop_length)]).astype(np.float32)


def spectral_stat_names(*, n_mfcc: int = 20, n_tempo_bins: int = 16) -> list[str]:
    """Column names of :func:`spectral_stats`, in order."""
    return mel_stat_names(n_mfcc=n_mfcc, n_tempo_bins=n_tempo_bins) + music_descriptor_names()


def production_stats(names: list[str]) -> list[bool]:
    """Which of ``names`` (from :func:`spectral_stat_names`) describe the recording chain rather than the music:
    the MFCC means (the channel's EQ; per-track cepstral mean normalisation removes exactly these) and the mean
    loudness (the mastering level)."""
    return [(n.startswith("mfcc") and n.endswith("_mean")) or n == "loudness_mean_db" for n in names]


def clip_samples(*, sr: int, clip_seconds: float) -> int:
    """Number of samples of a clip."""
    return int(round(clip_seconds * sr))


__all__ = ["load_clip", "log_mel", "mel_stats", "mel_stat_names", "spectral_stats", "spectral_stat_names",
           "production_stats", "n_frames_for", "default_device", "clip_samples", "STATS_VERSION"]
