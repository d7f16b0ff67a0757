"""Sanity of computed features: what is cached and clustered must be finite numbers in a range sound can give.

A float WAV may hold samples far beyond full scale (a sine x 1e30): the power spectrum then overflows float32 and
the log-mel turns to inf or NaN, which would poison the cache and end every later run in PCA. Such a file is
listed as a problem and skipped, and its features are never cached (:func:`check_features`, called where
features are about to be cached and where cached items are read back).
"""

from __future__ import annotations

import numpy as np

# Log-mel dB of real audio: the floor is -100 dB (AMIN), a full-scale sine gives about +41 dB at n_fft = 2048 and
# +69 dB at n_fft = 65536 (the largest allowed). 200 dB is a float sample of about 1e7 x full scale: no recording
# comes near either end.
MAX_ABS_LOG_MEL_DB = 200.0
# Statistics are MFCC moments (|c0| <= sqrt(n_mels) x 200 dB), autocorrelations in [-1, 1], loudness in dB and
# the like: a magnitude above a million is arithmetic gone wrong, not a property of the sound.
MAX_ABS_STAT = 1e6


def check_features(log_mel: np.ndarray, stats: np.ndarray) -> str | None:
    """Why the features of one file cannot be used (``None`` when they can).

    Parameters
    ----------
    log_mel : np.ndarray [shape=(n_mels, n_frames)], dB (float16 or float32)
    stats : np.ndarray [shape=(n_stats,)]

    Returns
    -------
    str or None
        A reason for the problem list (it ends with what was done), naming the first failed condition.
    """
    mel = np.asarray(log_mel)
    st = np.asarray(stats, dtype=np.float64)
    limit = MAX_ABS_LOG_MEL_DB
    if not _log_mel_within(mel, limit):
        bad = int(mel.size - np.count_nonzero(np.isfinite(mel)))
        if bad:
            return (f"log-mel holds {bad} NaN or infinite value(s) (samples far beyond full scale, or broken "
                    "arithmetic); skipped, features not cached")
        lo, hi = float(mel.astype(np.float32).min()), float(mel.astype(np.float32).max())
        return (f"log-mel spans {lo:.4g}..{hi:.4g} dB, outside the {-limit:g}..{limit:g} dB that audio gives "
                "(samples far beyond full scale?); skipped, features not cached")
    bad = int(st.size - np.count_nonzero(np.isfinite(st)))
    if bad:
        return f"{bad} spectral statistic(s) are NaN or infinite; skipped, features not cached"
    if st.size and float(np.abs(st).max()) > MAX_ABS_STAT:
        return (f"a spectral statistic reaches {float(np.abs(st).max()):.4g}, beyond the {MAX_ABS_STAT:g} sound can "
                "give; skipped, features not cached")
    return None


def _log_mel_within(mel: np.ndarray, limit: float) -> bool:
    """All of ``mel`` finite and within +-``limit``. A float16 log-mel (as cached: every item is checked when a
    set is assembled) is judged on its bits, 10x faster than numpy's float16 arithmetic: with the sign bit
    cleared, the bits of a float16 grow with its magnitude, and inf and NaN lie above every finite value."""
    if not mel.size:
        return True
    if mel.dtype == np.float16:
        return int((mel.view(np.uint16) & 0x7FFF).max()) <= int(np.float16(limit).view(np.uint16))
    return bool(np.isfinite(mel).all()) and float(np.abs(mel).max()) <= limit
