"""Music descriptors of one clip: rhythm, harmony and texture, computed from the waveform.

The log-mel statistics (:func:`songspace.features.audio.mel_stats`) mostly describe the recording chain:
MFCC means are the channel's EQ, loudness is the mastering. These descriptors describe the music, and are
built to be invariant to what does not carry style:

- level: every descriptor is a ratio, a normalised spectrum, a dB difference or a count, so a gain change
  leaves it unchanged;
- key: the pitch-class profile enters through the magnitudes of its discrete Fourier transform, which no
  transposition changes, and through key clarity and mode; not as 12 pitch classes, which name the key of the
  piece (not its style) and would move with every error of a key estimate;
- recording chain: spectral contrast and flatness are measured on the octaves from 200 Hz to 6.4 kHz, where
  the notes are; the band below holds rumble and bass EQ, the band above hiss, air EQ and reverb tails;
- silent frames (below -60 dB of the loudest frame) are left out of every average, so a fade or a pause does
  not dilute them, and a silent or constant clip gives neutral finite values, never NaN.

One STFT (librosa's framing) feeds everything; HPSS runs on its 128 mel bands, not on all STFT bins (20x
cheaper); chroma comes from the STFT, not the CQT (40x cheaper).
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import librosa
import numpy as np

# Frames more than 60 dB below the loudest frame are silence for the averages.
ACTIVE_DB = 60.0
# Lags of a musical beat: 30 to 240 BPM.
BEAT_SECONDS = (0.25, 2.0)
# Blocks of pitch-class change and tonal movement: a note or a fast chord.
CHANGE_SECONDS = 0.2
# Mel bands of the onset envelope and of HPSS (songspace's log-mel has as many): an envelope and an energy ratio
# need no finer grid than that, and HPSS on 1025 STFT bins would cost 20x more.
N_MELS = 128
# HPSS runs on pairs of frames summed (~46 ms at 22.05 kHz, hop 512: finer than any note, and a third of the
# cost); its median filters span 9 of them (~0.4 s) in time for the harmonic part and 17 mel bands for the
# percussive part (wide enough that the partials of one chord, a few bands apart low down, are not a hit).
HPSS_POOL = 2
HPSS_KERNEL = (9, 17)
# An onset is a rise of the level, averaged over all mel bands, of at least this much above its neighbourhood
# (an absolute threshold: a relative one finds onsets in the ripple of a held chord).
ONSET_DELTA_DB = 0.5
# Tuning is one number per recording: every 4th frame estimates it as well as all of them, at a quarter of the cost.
TUNING_STRIDE = 4
# Krumhansl-Kessler key profiles (probe-tone ratings), tonic first.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# Octave bands of spectral contrast, librosa's numbering: band 0 is below 200 Hz, band 6 above 6.4 kHz (both
# left out, see the module docstring); bands 1-5 are the octaves 200-400 Hz ... 3.2-6.4 kHz.
N_CONTRAST_BANDS = 6
MUSIC_BANDS = range(1, N_CONTRAST_BANDS)
TONNETZ_PAIRS = ("fifths", "minor_thirds", "major_thirds")
TINY = 1e-12


def music_descriptor_names() -> list[str]:
    """Column names of :func:`music_descriptors`, in order."""
    names = ["onset_rate_hz", "pulse_clarity", "harmonic_ratio"]
    names += [f"chroma_dft{k}" for k in range(1, 7)] + ["key_clarity", "key_mode", "polyphony", "chroma_change"]
    names += [f"tonnetz_{p}_strength" for p in TONNETZ_PAIRS] + [f"tonnetz_{p}_change" for p in TONNETZ_PAIRS]
    names += [f"contrast{b}_mean" for b in MUSIC_BANDS] + [f"contrast{b}_std" for b in MUSIC_BANDS]
    return names + ["flatness_mean_db", "flatness_std_db"]


@lru_cache(maxsize=8)
def _mel_basis(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels).astype(np.float32)


def _spectrogram(y: np.ndarray, n_fft: int, hop_length: int) -> tuple[np.ndarray, np.ndarray]:
    """STFT magnitude [shape=(1 + n_fft // 2, t)] and which frames are not silent [shape=(t,), bool]."""
    mag = np.abs(librosa.stft(np.asarray(y, dtype=np.float32), n_fft=n_fft, hop_length=hop_length, center=True,
                              pad_mode="constant"))
    energy = (mag ** 2).sum(axis=0)
    return mag, energy > energy.max() * 10.0 ** (-ACTIVE_DB / 10.0)


def music_descriptors(y: np.ndarray, *, sr: int = 22050, n_fft: int = 2048, hop_length: int = 512) -> np.ndarray:
    """Rhythm, harmony and texture descriptors of one clip.

    Rhythm: onsets per second, pulse clarity (the highest normalised autocorrelation of the onset envelope at
    a beat lag, 30-240 BPM), and the share of harmonic energy after harmonic/percussive separation. (No tempo
    value: a tempo estimate is an octave off for about a third of real tracks; the tempo profile of
    :func:`~songspace.features.audio.mel_stats` keeps every periodicity without choosing.)
    Harmony: the magnitudes of the DFT of the pitch-class profile (:func:`pitch_class_profile`; k = 1..6,
    transposition-invariant: k = 5 is how diatonic, k = 3 and 4 how much major/augmented or minor/diminished
    thirds), key clarity (the best correlation with a Krumhansl key profile) and mode (best major minus best
    minor correlation), polyphony (pitch classes within 3 dB of a frame's strongest, averaged), chroma change
    (mean total-variation distance between successive 0.2 s pitch-class distributions: how fast notes and
    chords move), and tonal-centroid (tonnetz) strength and movement (between the same blocks) per circle.
    Texture: spectral contrast per octave band from 200 Hz to 6.4 kHz (mean and std, dB) and spectral
    flatness of that range (mean and std, dB).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)], mono audio at ``sr``

    Returns
    -------
    np.ndarray [shape=(len(music_descriptor_names()),), dtype=float32]; finite for any finite input
    """
    mag, active = _spectrogram(y, n_fft, hop_length)
    if not active.any():  # digital silence: nothing to describe
        return _neutral()
    mel = _mel_basis(sr, n_fft, N_MELS) @ mag ** 2
    return np.concatenate([
        _rhythm(mel, sr=sr, hop_length=hop_length),
        _harmony(_chroma(mag[:, active], sr=sr, n_fft=n_fft), sr=sr, hop_length=hop_length),
        _texture(mag[:, active], sr=sr, n_fft=n_fft, hop_length=hop_length),
    ]).astype(np.float32)


def pitch_class_profile(y: np.ndarray, *, sr: int = 22050, n_fft: int = 2048, hop_length: int = 512) -> np.ndarray:
    """Energy-weighted distribution of the clip's energy over the 12 pitch classes, C first.

    Returns
    -------
    np.ndarray [shape=(12,)], sums to 1 (all zeros for a silent clip)
    """
    mag, active = _spectrogram(y, n_fft, hop_length)
    chroma = _chroma(mag[:, active], sr=sr, n_fft=n_fft)
    total = chroma.sum()
    return chroma.sum(axis=1) / total if total > TINY else np.zeros(12)


def _neutral() -> np.ndarray:
    out = np.zeros(len(music_descriptor_names()), dtype=np.float32)
    out[music_descriptor_names().index("harmonic_ratio")] = 0.5
    return out


def _rhythm(mel: np.ndarray, *, sr: int, hop_length: int) -> np.ndarray:
    mel_db = librosa.power_to_db(mel, ref=float(mel.max()), amin=1e-10, top_db=80.0)  # level-invariant
    env = librosa.onset.onset_strength(S=mel_db, sr=sr, hop_length=hop_length)
    fps = sr / hop_length
    onsets = librosa.onset.onset_detect(onset_envelope=env, sr=sr, hop_length=hop_length, normalize=False,
                                        delta=ONSET_DELTA_DB)
    onset_rate = len(onsets) * fps / env.size

    x = env - env.mean()
    spec = np.fft.rfft(x, n=2 * x.size)
    acf = np.fft.irfft(spec * np.conj(spec))[:x.size]
    lo, hi = int(round(BEAT_SECONDS[0] * fps)), min(int(round(BEAT_SECONDS[1] * fps)), x.size - 1)
    pulse = float(max((acf[lo:hi + 1] / acf[0]).max(), 0.0)) if acf[0] > TINY and hi > lo else 0.0

    # Energy sums: silent frames weigh nothing in them, so they need no mask (and the filters need neighbours).
    n = mel.shape[1] // HPSS_POOL
    pooled = mel[:, :n * HPSS_POOL].reshape(mel.shape[0], n, HPSS_POOL).sum(axis=2)
    total = float(pooled.sum())
    if total <= TINY:
        return np.array([onset_rate, pulse, 0.5])
    # librosa.decompose.hpss's soft (Wiener) mask, power 2, margin 1; its median filters, 3x faster.
    harm = librosa.util.softmask(_median(pooled, HPSS_KERNEL[0], axis=1), _median(pooled, HPSS_KERNEL[1], axis=0),
                                 power=2.0, split_zeros=True)
    return np.array([onset_rate, pulse, float((pooled * harm).sum()) / total])


def _median(x: np.ndarray, size: int, *, axis: int) -> np.ndarray:
    """Running median of ``size`` along ``axis`` with mirrored edges: ``scipy.ndimage.median_filter`` with a
    1-d kernel (mode "reflect"), same values."""
    pad = [(size // 2, (size - 1) // 2) if a == axis else (0, 0) for a in range(x.ndim)]
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(x, pad, mode="symmetric"), size, axis=axis)
    return np.partition(windows, size // 2, axis=-1)[..., size // 2]


def _chroma(mag: np.ndarray, *, sr: int, n_fft: int) -> np.ndarray:
    """Chromagram of the energy [shape=(12, t)], not normalised per frame, tuned to the recording."""
    if mag.shape[1] == 0:
        return np.zeros((12, 0))
    # Tuning from the spectrum's peaks, so that a recording a quarter-tone off A440 still has sharp pitch classes.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # no spectral peaks (noise, DC): tuning 0, said quietly
        tuning = librosa.estimate_tuning(S=mag[:, ::TUNING_STRIDE], sr=sr, n_fft=n_fft)
    return librosa.feature.chroma_stft(S=mag ** 2, sr=sr, n_fft=n_fft, tuning=tuning, norm=None)


def _harmony(chroma: np.ndarray, *, sr: int, hop_length: int) -> np.ndarray:
    total = chroma.sum(axis=0)
    keep = total > TINY
    if not keep.any():
        return np.zeros(6 + 4 + 6)
    chroma, total = chroma[:, keep], total[keep]
    profile = chroma.sum(axis=1) / total.sum()

    dft = np.abs(np.fft.fft(profile))[1:7]
    major, minor = _key_correlation(profile, KK_MAJOR), _key_correlation(profile, KK_MINOR)
    polyphony = float(((chroma / chroma.max(axis=0)) >= 0.5).sum(axis=0).mean())

    blocks = _blocks(chroma, max(1, round(CHANGE_SECONDS * sr / hop_length)))
    if blocks.shape[1] >= 2:
        change = float(0.5 * np.abs(np.diff(blocks, axis=1)).sum(axis=0).mean())
        ton = librosa.feature.tonnetz(chroma=blocks).reshape(3, 2, -1)
        ton_change = np.linalg.norm(np.diff(ton, axis=2), axis=1).mean(axis=1)
    else:
        change, ton_change = 0.0, np.zeros(3)
    ton = librosa.feature.tonnetz(chroma=chroma).reshape(3, 2, -1)
    ton_strength = np.linalg.norm(ton, axis=1).mean(axis=1) / np.array([1.0, 1.0, 0.5])  # librosa's radii
    return np.concatenate([dft, [max(major, minor), major - minor, polyphony, change], ton_strength, ton_change])


def _blocks(chroma: np.ndarray, frames: int) -> np.ndarray:
    """Pitch-class distributions of successive ``frames``-long blocks [shape=(12, t // frames)], each summing to 1."""
    n = chroma.shape[1] // frames
    blocks = chroma[:, :n * frames].reshape(12, n, frames).sum(axis=2)
    return blocks / np.maximum(blocks.sum(axis=0), TINY)


def _key_correlation(profile: np.ndarray, key: np.ndarray) -> float:
    """The best Pearson correlation of ``profile`` with ``key`` on any of the 12 tonics (0 for a flat profile)."""
    keys = np.stack([np.roll(key, k) for k in range(12)])
    keys = keys - keys.mean(axis=1, keepdims=True)
    p = profile - profile.mean()
    den = np.sqrt((p * p).sum() * (keys * keys).sum(axis=1))
    return float((keys @ p / den).max()) if den.min() > TINY else 0.0


def _texture(mag: np.ndarray, *, sr: int, n_fft: int, hop_length: int) -> np.ndarray:
    # Octave bands from 200 Hz when the rate allows; lower rates shift them down to fit under Nyquist.
    fmin = min(200.0, 0.99 * 0.5 * sr / 2 ** N_CONTRAST_BANDS)
    contrast = librosa.feature.spectral_contrast(S=mag, sr=sr, n_fft=n_fft, hop_length=hop_length, fmin=fmin,
                                                 n_bands=N_CONTRAST_BANDS)[list(MUSIC_BANDS)]
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    band = (freqs >= fmin) & (freqs < fmin * 2 ** (N_CONTRAST_BANDS - 1))  # the span of MUSIC_BANDS
    flat = librosa.feature.spectral_flatness(S=mag[band], power=2.0)[0]
    flat_db = 10.0 * np.log10(np.maximum(flat, 1e-10))
    return np.concatenate([contrast.mean(axis=1), contrast.std(axis=1), [flat_db.mean(), flat_db.std()]])


__all__ = ["music_descriptors", "music_descriptor_names", "pitch_class_profile"]
