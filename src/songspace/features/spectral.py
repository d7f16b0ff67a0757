"""Signal processing on dB log-mel spectrograms in batches: pooling in time and MFCC sequences (and back).

These serve the convolutional models (:class:`songspace.training.SpectrogramDataset`), which read batches of
cached log-mels between training steps; the statistics of :mod:`songspace.features.audio` use librosa's MFCC, which
:func:`mfcc_sequence` equals (both are the orthonormal DCT-II of the log-mel bands).
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import torch
import torch.nn.functional as F


def time_pool(x: np.ndarray, frames: int | None) -> np.ndarray:
    """Average the last (time) axis down to ``frames`` frames (``torch.nn.functional.adaptive_avg_pool1d``).

    Output frame ``j`` averages input frames ``floor(j * t / frames)`` to ``ceil((j + 1) * t / frames)``
    (exclusive). On a dB spectrogram this averages log-power (the geometric mean of the power).
    ``frames=None`` or ``frames >= t`` returns ``x`` unchanged.

    Parameters
    ----------
    x : np.ndarray [shape=(..., t)]
    frames : number of output frames.

    Returns
    -------
    np.ndarray [shape=(..., frames), dtype=float32]
    """
    t = x.shape[-1]
    if frames is None or frames >= t:
        return x
    flat = torch.from_numpy(np.require(x, np.float32, "C").reshape(-1, 1, t))
    return F.adaptive_avg_pool1d(flat, frames).reshape(*x.shape[:-1], frames).numpy()


def mfcc_sequence(log_mel: np.ndarray, *, n_mfcc: int = 20) -> np.ndarray:
    """MFCCs of every frame of a dB log-mel spectrogram, as ``librosa.feature.mfcc(S=log_mel, n_mfcc=n_mfcc)``.

    Parameters
    ----------
    log_mel : np.ndarray [shape=(..., n_mels, t)], dB
    n_mfcc : number of coefficients kept (at most ``n_mels``).

    Returns
    -------
    np.ndarray [shape=(..., n_mfcc, t), dtype=float32]
    """
    n_mels = log_mel.shape[-2]
    if not 0 < n_mfcc <= n_mels:
        raise ValueError(f"n_mfcc must be between 1 and the number of mel bands ({n_mels}), got {n_mfcc}")
    coeffs = scipy.fft.dct(np.asarray(log_mel, dtype=np.float32), type=2, norm="ortho", axis=-2)
    return np.ascontiguousarray(coeffs[..., :n_mfcc, :], dtype=np.float32)


def log_mel_from_mfcc(mfcc: np.ndarray, *, n_mels: int = 128) -> np.ndarray:
    """The dB log-mel spectrogram that MFCCs describe: the inverse DCT, with dropped coefficients taken as zero.

    With ``n_mfcc < n_mels`` this is the spectral envelope (the log-mel smoothed over frequency); with
    ``n_mfcc == n_mels`` it inverts :func:`mfcc_sequence` exactly.

    Parameters
    ----------
    mfcc : np.ndarray [shape=(..., n_mfcc, t)]
    n_mels : number of mel bands of the output.

    Returns
    -------
    np.ndarray [shape=(..., n_mels, t), dtype=float32], dB
    """
    mfcc = np.asarray(mfcc, dtype=np.float32)
    padded = np.zeros((*mfcc.shape[:-2], n_mels, mfcc.shape[-1]), dtype=np.float32)
    padded[..., :mfcc.shape[-2], :] = mfcc
    return np.ascontiguousarray(scipy.fft.idct(padded, type=2, norm="ortho", axis=-2), dtype=np.float32)


__all__ = ["time_pool", "mfcc_sequence", "log_mel_from_mfcc"]
