"""Short log-mel crops of each track, augmented with what varies between recordings of the same music.

A conv VAE trained on whole 10 s clips sees one sample per track per epoch. Trained on 2-4 s crops drawn anew
every epoch it sees ``crops_per_track`` times as many, and never the same one twice; the augmentations (a gain, an
EQ tilt, reverb-like smearing in time, a noise floor, a small pitch shift) vary what a recording chain varies, so
that what the latent keeps is what the music does. A model may read each crop as it is, or as its modulation
spectrum (:func:`modulation_spectrum`: how strongly each band fluctuates at each rate, which hardly depends on where
the crop starts), and may be trained on pairs of crops of one track, reading one and rebuilding the other
(``pairs``). A track is embedded as the mean posterior mean over a fixed grid of crops spanning its clip
(:func:`embed_crops`).

Crops are dB log-mel arrays [shape=(k, n_mels, t)]; every function below works on a batch of them with one value
per crop. :class:`CropDataset` serves them to the one trainer (:func:`songspace.training.train`): item ``i`` is a
crop of track ``i % n_tracks``, and every random choice for it comes from a generator seeded by
``(seed, epoch, i)`` (and the crop's place in a pair), so that a crop is the same whatever batch or process it
falls in, and differs between epochs.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import astuple, dataclass

import numpy as np
import torch

from songspace.features.spectral import log_mel_from_mfcc, mfcc_sequence, time_pool
from songspace.models.base import VAE
from songspace.parallel import read_rows
from songspace.training import RowDataset, embed

FRAMES_PER_SECOND = 22050 / 512  # log-mel frame rate at the default sample rate and hop length
_DB = float(np.log(10.0) / 10.0)  # dB to natural log of power (a Python float: keeps float32 arrays float32)
CENTRES = ("none", "crop", "band")


def crop_frames_for(seconds: float, *, frame_rate: float = FRAMES_PER_SECOND) -> int:
    """Number of log-mel frames in ``seconds`` (at least 1)."""
    return max(1, int(round(seconds * frame_rate)))


def grid_starts(n_frames: int, crop_frames: int, n_crops: int) -> np.ndarray:
    """First frames of ``n_crops`` crops spread evenly over a clip, the first at its start, the last at its end.

    Returns np.ndarray [shape=(n_crops,), dtype=int64]; all zeros when the clip is not longer than a crop.
    """
    return np.linspace(0, max(n_frames - crop_frames, 0), n_crops).round().astype(np.int64)


def take_crops(clips: np.ndarray, tracks: Sequence[int], starts: Sequence[int], crop_frames: int) -> np.ndarray:
    """Crop ``j`` is ``clips[tracks[j]]`` from frame ``starts[j]`` for ``crop_frames`` frames.

    A clip that ends before a crop does is repeated in time to fill it (as short tracks are repeated to fill a clip).

    Parameters
    ----------
    clips : np.ndarray [shape=(n, n_mels, n_frames)], dB (any float dtype)
    tracks, starts : clip and first frame of each crop [shape=(k,)]

    Returns
    -------
    np.ndarray [shape=(k, n_mels, crop_frames), dtype=float32]
    """
    need = int(np.max(starts, initial=0)) + crop_frames
    if clips.shape[-1] < need:
        clips = np.concatenate([clips] * -(-need // clips.shape[-1]), axis=-1)
    out = np.empty((len(tracks), clips.shape[1], crop_frames), dtype=np.float32)
    for j, (t, s) in enumerate(zip(tracks, starts, strict=True)):
        out[j] = clips[t, :, s:s + crop_frames]
    return out


def gain(x: np.ndarray, db: np.ndarray) -> np.ndarray:
    """Louder or quieter by ``db[j]`` dB: the recording's level. [shape=(k, n_mels, t)]"""
    return x + np.asarray(db, dtype=np.float32)[:, None, None]


def eq_tilt(x: np.ndarray, db: np.ndarray) -> np.ndarray:
    """A linear EQ slope over the mel bands, from ``-db[j] / 2`` dB at the lowest band to ``+db[j] / 2`` at the
    highest: a brighter or duller recording chain. [shape=(k, n_mels, t)]"""
    ramp = np.linspace(-0.5, 0.5, x.shape[1], dtype=np.float32)[None, :, None]
    return x + np.asarray(db, dtype=np.float32)[:, None, None] * ramp


def smear(x: np.ndarray, rt60_frames: np.ndarray) -> np.ndarray:
    """Reverb-like smearing in time: each frame's power leaves an exponentially decaying tail.

    In power, ``out[t] = (p[t] + sum_{i >= 1} (1 - a) a^i p[t - i]) / (1 + a)`` with ``a = 10^(-6 / rt60_frames[j])``
    (the tail falls 60 dB in ``rt60_frames`` frames; its energy is ``a`` times the direct sound's, and the division
    keeps a steady sound at its level). The tail before the first frame is taken as that frame's steady state.
    ``rt60_frames[j] = 0`` leaves crop ``j`` unchanged.

    Parameters
    ----------
    x : np.ndarray [shape=(k, n_mels, t)], dB
    rt60_frames : reverberation time of each crop in frames [shape=(k,)]

    Returns
    -------
    np.ndarray [shape=(k, n_mels, t), dtype=float32], dB
    """
    rt = np.asarray(rt60_frames, dtype=np.float64)
    a = np.where(rt > 0, 10.0 ** (-6.0 / np.maximum(rt, 1e-9)), 0.0)[:, None].astype(np.float32)
    p = np.exp(_DB * np.asarray(x, dtype=np.float32))
    out = np.empty_like(p)
    tail = a * p[:, :, 0]
    for t in range(p.shape[2]):
        out[:, :, t] = p[:, :, t] + tail
        tail = a * (tail + (1.0 - a) * p[:, :, t])
    return np.log(out / (1.0 + a[:, :, None])) / _DB


def noise_floor(x: np.ndarray, below_peak_db: np.ndarray) -> np.ndarray:
    """Add a flat noise floor ``below_peak_db[j]`` dB under the crop's loudest bin (power sum). [shape=(k, n_mels, t)]
    """
    floor = x.max(axis=(1, 2)) - np.asarray(below_peak_db, dtype=np.float32)
    return (np.logaddexp(_DB * x, _DB * floor[:, None, None]) / _DB).astype(np.float32)


def pitch_shift(x: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Move every crop up by ``bins[j]`` mel bins (fractional: linear interpolation; the edge bands are repeated).

    On a mel scale a shift of whole bins is close to a transposition in the middle of the range (a mel band of
    128 between 22 Hz and 11 kHz is about a semitone at 1-2 kHz). [shape=(k, n_mels, t)]
    """
    n = x.shape[1]
    src = np.clip(np.arange(n, dtype=np.float64)[None, :] - np.asarray(bins, dtype=np.float64)[:, None], 0, n - 1)
    lo = np.minimum(np.floor(src).astype(np.int64), n - 2) if n > 1 else np.zeros_like(src, dtype=np.int64)
    w = (src - lo).astype(np.float32)[:, :, None]
    hi = np.minimum(lo + 1, n - 1)
    take = lambda i: np.take_along_axis(x, i[:, :, None], axis=1)  # noqa: E731
    return take(lo) * (1.0 - w) + take(hi) * w


@dataclass(frozen=True)
class Augmentation:
    """Strengths of the augmentations; each crop draws its own values, uniformly; 0 turns one off.

    gain_db : gain in ``[-gain_db, +gain_db]`` dB.
    tilt_db : EQ slope over the whole mel range in ``[-tilt_db, +tilt_db]`` dB.
    reverb_seconds : reverberation time (RT60) in ``[0, reverb_seconds]`` s.
    noise_db : a noise floor between ``noise_db`` and ``noise_db + 40`` dB under the crop's peak (0: none).
    pitch_bins : pitch shift in ``[-pitch_bins, +pitch_bins]`` mel bins.
    """

    gain_db: float = 6.0
    tilt_db: float = 6.0
    reverb_seconds: float = 0.8
    noise_db: float = 50.0
    pitch_bins: float = 1.5

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """One crop's values: gain dB, tilt dB, RT60 s, noise dB under the peak, pitch bins. [shape=(5,)]"""
        u = rng.random(5)
        noise = self.noise_db + 40.0 * u[3] if self.noise_db > 0 else 0.0
        return np.array([self.gain_db * (2 * u[0] - 1), self.tilt_db * (2 * u[1] - 1), self.reverb_seconds * u[2],
                         noise, self.pitch_bins * (2 * u[4] - 1)])


def augment(x: np.ndarray, values: np.ndarray, *, frame_rate: float = FRAMES_PER_SECOND,
            bin_scale: float = 1.0) -> np.ndarray:
    """Apply :meth:`Augmentation.draw`'s values [shape=(k, 5)] to crops [shape=(k, n_bins, t)], dB.

    In the order sound goes through: the music (pitch), the room (reverb), the recording chain (EQ, gain), then
    the noise floor (which is skipped where its value is 0). ``frame_rate`` is the crops' frames per second (for
    the reverb time); ``bin_scale`` their bands per mel band of the drawn pitch shift (0.5 on bands pooled by two).
    """
    v = np.asarray(values, dtype=np.float64)
    if np.any(v[:, 4]):
        x = pitch_shift(x, v[:, 4] * bin_scale)
    if np.any(v[:, 2]):
        x = smear(x, v[:, 2] * frame_rate)
    x = gain(eq_tilt(x, v[:, 1]), v[:, 0])
    noisy = v[:, 3] > 0
    if noisy.any():
        x = x.copy()
        x[noisy] = noise_floor(x[noisy], v[noisy, 3])
    return x


def centre(x: np.ndarray, how: str) -> np.ndarray:
    """Remove each crop's level: ``crop`` subtracts its mean over bands and frames (the recording level), ``band``
    each band's mean over frames (the long-term spectrum, as cepstral mean normalisation does: level, EQ and much of
    the timbre), ``none`` nothing. [shape=(k, n_bins, t)]"""
    if how == "crop":
        return x - x.mean(axis=(1, 2), keepdims=True)
    if how == "band":
        return x - x.mean(axis=2, keepdims=True)
    if how != "none":
        raise ValueError(f"centre must be one of {', '.join(CENTRES)}, got {how!r}")
    return x


def modulation_spectrum(x: np.ndarray, *, bins: int) -> np.ndarray:
    """How strongly each band fluctuates at each rate over the crop: a shift-invariant view of its rhythm.

    The magnitude of the Fourier transform over time of each band (mean removed, Hann window) as the amplitude in
    dB of a sinusoidal fluctuation, for modulation frequencies ``1 .. bins`` times ``frame_rate / t`` Hz, then
    ``log1p``. Moving the crop in time changes it little (only through the window), where the crop itself changes
    entirely; this is the fluctuation pattern of Pampalk et al. (2002) computed on one crop.

    Parameters
    ----------
    x : np.ndarray [shape=(k, n_bins, t)], dB
    bins : modulation frequencies kept (at most ``t // 2``).

    Returns
    -------
    np.ndarray [shape=(k, n_bins, bins), dtype=float32]
    """
    t = x.shape[2]
    if not 0 < bins <= t // 2:
        raise ValueError(f"bins must be between 1 and half the crop's frames ({t // 2}), got {bins}")
    w = np.hanning(t + 2)[1:-1].astype(np.float32)  # no zero end points: every frame counts
    c = (x - x.mean(axis=2, keepdims=True)) * w
    amp = 2.0 * np.abs(np.fft.rfft(c, axis=2)[:, :, 1:bins + 1]) / w.sum()
    return np.log1p(amp).astype(np.float32)


def modulation_bins_for(crop_frames: int, max_hz: float, *, frame_rate: float = FRAMES_PER_SECOND) -> int:
    """Modulation frequencies of a crop up to ``max_hz`` (:func:`modulation_spectrum`'s ``bins``, at least 1)."""
    return int(np.clip(np.floor(max_hz * crop_frames / frame_rate), 1, crop_frames // 2))


class CropDataset(RowDataset):
    """Crops of the log-mel of every track, ``crops_per_track`` per track per epoch, for the conv VAEs.

    Item ``i`` is a crop of track ``i % n_tracks``. In training mode its start frame and augmentation values come
    from ``np.random.default_rng((seed, epoch, i))`` (:meth:`set_epoch`, which the trainer calls before each
    epoch); on a grid (:meth:`grid`) item ``i`` is crop ``i // n_tracks`` of :func:`grid_starts`, not augmented.
    A crop is pooled to ``frames`` frames (:func:`~songspace.features.spectral.time_pool`) and ``bands`` mel bands,
    goes through :func:`augment` and :func:`centre`, becomes MFCCs (``n_mfcc``, then from every band), and is
    standardised per bin (``mean``, ``scale`` [shape=(n_bins, 1)], from :meth:`fit_standardisation`). With
    ``modulation_hz`` a crop keeps its frames and becomes its :func:`modulation_spectrum` up to that rate, standardised
    per bin and modulation frequency (``mean``, ``scale`` [shape=(n_bins, n_mod)]). ``groups`` tells the trainer
    which items are one track, so that its validation split holds out whole tracks.

    Parameters
    ----------
    log_mel : array-like [shape=(n_tracks, n_mels, n_frames)], dB (a float16 memmap stays on disk).
    crop_frames : frames of a crop before pooling.
    frames : frames served (at most ``crop_frames``).
    bands : mel bands served (pooled; ``None`` keeps all); ignored with ``n_mfcc``.
    crops_per_track : crops of each track per epoch (on a grid: per track).
    seed : seeds every crop with the epoch and the item.
    augmentation : None: crops are not augmented.
    centre_by : ``none``, ``crop`` or ``band`` (:func:`centre`).
    n_mfcc : serve MFCC sequences [shape=(n_mfcc, frames)] instead of log-mel.
    on_grid : serve the fixed crops of :meth:`grid` instead of random ones.
    frame_rate : log-mel frames per second (sets the reverb time in frames).
    modulation_hz : serve each crop's modulation spectrum up to this rate [shape=(n_bins, n_mod)] (``frames`` is
        then unused).
    pairs : serve two crops of the track per item [shape=(2, n_bins, frames)] (for a model that reads one and
        rebuilds the other: :class:`~songspace.models.paired_vae.PairedConvVAE`); a grid serves single crops.
    """

    def __init__(self, log_mel: np.ndarray, mean: np.ndarray | None = None, scale: np.ndarray | None = None, *,
                 crop_frames: int = 129, frames: int = 32, bands: int | None = None, crops_per_track: int = 16,
                 seed: int = 0, augmentation: Augmentation | None = None, centre_by: str = "crop",
                 n_mfcc: int | None = None, on_grid: bool = False, frame_rate: float = FRAMES_PER_SECOND,
                 modulation_hz: float | None = None, pairs: bool = False) -> None:
        super().__init__(log_mel, mean, scale)
        if not 0 < frames <= crop_frames:
            raise ValueError(f"frames must be between 1 and crop_frames ({crop_frames}), got {frames}")
        if centre_by not in CENTRES:
            raise ValueError(f"centre_by must be one of {', '.join(CENTRES)}, got {centre_by!r}")
        self.crop_frames, self.frames, self.bands, self.crops_per_track = crop_frames, frames, bands, crops_per_track
        self.seed, self.augmentation, self.centre_by, self.n_mfcc = seed, augmentation, centre_by, n_mfcc
        self.on_grid, self.frame_rate, self.modulation_hz, self.pairs = on_grid, frame_rate, modulation_hz, pairs
        self.epoch = 0
        self.n_tracks = len(log_mel)
        self.n_frames = int(np.shape(log_mel)[-1]) if self.n_tracks else 0

    def __len__(self) -> int:
        return self.n_tracks * self.crops_per_track

    @property
    def groups(self) -> np.ndarray:
        """The track of each item, for a validation split by track. [shape=(len(self),)]"""
        return np.arange(len(self)) % max(self.n_tracks, 1)

    def set_epoch(self, epoch: int) -> None:
        """Draw the crops of ``epoch`` from now on (the trainer calls this before each epoch)."""
        self.epoch = int(epoch)

    def grid(self, n_crops: int) -> CropDataset:
        """The same tracks and standardisation, as ``n_crops`` fixed crops per track spanning each clip, not
        augmented: what a track is embedded from (:func:`embed_crops`)."""
        other = copy.copy(self)
        other.on_grid, other.crops_per_track, other.augmentation = True, n_crops, None
        return other

    def _view_settings(self) -> tuple:
        aug = astuple(self.augmentation) if self.augmentation is not None else None
        return (self.crop_frames, self.frames, self.bands, self.crops_per_track, self.seed, aug, self.centre_by,
                self.n_mfcc, self.on_grid, self.frame_rate, self.modulation_hz, self.pairs)

    def raw_crops(self, indices: Sequence[int]) -> np.ndarray:
        """Items ``indices`` as dB crops before standardisation: cropped, pooled in time and over mel bands,
        augmented, centred, and turned into MFCCs (``n_mfcc``) or modulation spectra (``modulation_hz``).
        Augmenting pooled crops costs several times less; gain, tilt and (scaled) pitch shift commute with pooling,
        reverb and noise nearly do.

        Returns np.ndarray [shape=(k, n_bins, frames), dtype=float32]; with ``pairs`` (not on a grid),
        [shape=(k, 2, n_bins, frames)]: two crops of each item's track, drawn and augmented independently.
        """
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(f"item index out of range for {len(self)} items")
        if self.pairs and not self.on_grid:
            return np.stack([self._crops(idx, (0,)), self._crops(idx, (1,))], axis=1)
        return self._crops(idx, ())

    def _crops(self, idx: np.ndarray, view: tuple[int, ...]) -> np.ndarray:
        unique, where = np.unique(idx % self.n_tracks, return_inverse=True)
        values = None
        if self.on_grid:
            starts = grid_starts(self.n_frames, self.crop_frames, self.crops_per_track)[idx // self.n_tracks]
        else:
            gens = [np.random.default_rng((self.seed, self.epoch, int(i), *view)) for i in idx]
            starts = np.array([g.integers(0, max(self.n_frames - self.crop_frames, 0) + 1) for g in gens])
            if self.augmentation is not None and len(idx):
                values = np.stack([self.augmentation.draw(g) for g in gens])
        x = take_crops(read_rows(self.data, unique), where, starts, self.crop_frames)
        if not self.modulation_hz:
            x = time_pool(x, self.frames)
        n_mels = x.shape[1]
        if self.bands is not None and self.bands < n_mels and not self.n_mfcc:
            x = time_pool(np.ascontiguousarray(x.swapaxes(1, 2)), self.bands).swapaxes(1, 2)
        if values is not None:
            x = augment(x, values, frame_rate=self.frame_rate * x.shape[2] / self.crop_frames,
                        bin_scale=x.shape[1] / n_mels)
        x = centre(x, self.centre_by)
        if self.n_mfcc:
            x = mfcc_sequence(x, n_mfcc=self.n_mfcc)
        if self.modulation_hz:
            x = modulation_spectrum(x, bins=modulation_bins_for(self.crop_frames, self.modulation_hz,
                                                               frame_rate=self.frame_rate))
        return np.ascontiguousarray(x, dtype=np.float32)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.__getitems__([i])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[torch.Tensor]:
        x = self.raw_crops(indices)
        if self.mean is not None:
            x = (x - self.mean) / self.scale
        return list(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))

    def fit_standardisation(self, *, n_crops: int = 8, batch_size: int = 256) -> CropDataset:
        """Set ``mean`` and ``scale`` per bin over ``n_crops`` grid crops of every track (not augmented), every
        frame (per bin and modulation frequency with ``modulation_hz``), in one streaming pass in float64; bins
        that never vary get scale 1. Returns ``self``."""
        grid = self.grid(n_crops)
        n = len(grid)
        if n == 0:
            raise ValueError("cannot standardise an empty dataset")
        axes = (0,) if self.modulation_hz else (0, 2)  # frames are alike; modulation frequencies are not
        total = squares = 0.0
        count = 0
        for start in range(0, n, batch_size):
            x = grid.raw_crops(range(start, min(start + batch_size, n))).astype(np.float64)
            total = total + x.sum(axis=axes, keepdims=True)[0]
            squares = squares + np.square(x).sum(axis=axes, keepdims=True)[0]
            count += int(np.prod([x.shape[a] for a in axes]))
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
        scale = np.where(std > 1e-6 * np.maximum(np.abs(mean), 1.0), std, 1.0)
        self.mean, self.scale = mean.astype(np.float32), scale.astype(np.float32)
        return self

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Items in model units back to (centred) dB log-mel [shape=(k, n_bins, frames)], MFCC items via
        :func:`~songspace.features.spectral.log_mel_from_mfcc` (smoothed over frequency, all mel bands); modulation
        spectra stay modulation spectra [shape=(k, n_bins, n_mod)]."""
        x = super().inverse_transform(x)
        return log_mel_from_mfcc(x, n_mels=np.shape(self.data)[1]) if self.n_mfcc and not self.modulation_hz else x


def embed_crops(model: VAE, dataset: CropDataset, *, n_crops: int = 8, batch_size: int = 256) -> np.ndarray:
    """Each track's mean posterior mean over ``n_crops`` evenly spaced crops of its clip (:meth:`CropDataset.grid`).

    Returns np.ndarray [shape=(n_tracks, latent_dim), dtype=float32]; deterministic (no random crop).
    """
    Z = embed(model, dataset.grid(n_crops), batch_size=batch_size)
    return Z.reshape(n_crops, dataset.n_tracks, -1).mean(axis=0).astype(np.float32)
