"""Instrument and drum sounds, each a small vectorised synthesiser.

Pitched timbres render one note (or one chord) of a given length; :class:`NoteCache` memoises them,
since songs repeat the same chords and bass notes. Drum sounds are rendered once per track and placed
at their onsets. Parameters vary with the per-track random generator, so the same timbre sounds a
little different from artist to artist.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import signal


def hz(midi: np.ndarray | float) -> np.ndarray:
    """MIDI note number -> frequency (Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=float) - 69.0) / 12.0)


def _saw(phase: np.ndarray) -> np.ndarray:
    """Naive sawtooth of a phase in cycles (aliasing is tolerable: every saw is low-passed later)."""
    return 2.0 * (phase - np.floor(phase + 0.5))


def _env(n: int, sr: int, attack: float, release: float, decay: float | None = None) -> np.ndarray:
    """Attack (s), optional exponential decay time constant (s), release (s) at the end. Shape ``(n,)``."""
    t = np.arange(n) / sr
    e = np.minimum(1.0, t / max(attack, 1e-4))
    if decay is not None:
        e *= np.exp(-t / decay)
    r = int(min(release * sr, n // 2))
    if r > 0:
        e[-r:] *= np.linspace(1.0, 0.0, r)
    return e


# Each timbre: (freqs (Hz, shape (m,)), n samples, sr, rng) -> waveform (n,), peak around 1.


def _power(f: np.ndarray, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Distorted guitar: detuned saws through a tanh overdrive (power chords)."""
    t = np.arange(n) / sr
    detune = np.array([0.997, 1.003])
    ph = t[None, :] * (f[:, None, None] * detune[None, :, None]).reshape(-1, 1)
    x = _saw(ph).sum(axis=0) / np.sqrt(ph.shape[0])
    return np.tanh(4.0 * x) * _env(n, sr, 0.004, 0.03, decay=1.5)


def _lead_dist(f: np.ndarray, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    vib = 1 + 0.004 * np.sin(2 * np.pi * 5.5 * t) * np.minimum(1, t / 0.3)
    x = _saw(np.cumsum(f[0] * vib) / sr)
    return np.tanh(3.0 * x) * _env(n, sr, 0.01, 0.05)


def _synth_bass(f: np.ndarray, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    x = 0.6 * _saw(f[0] * t) + 0.4 * np.sign(np.sin(2 * np.pi * f[0] * t))
    return x * _env(n, sr, 0.003, 0.02, decay=0.35)


def _pick_bass(f: np.ndarray, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    x = np.sin(2 * np.pi * f[0] * t) + 0.35 * _saw(f[0] * t)
    return x * _env(n, sr, 0.003, 0.02, decay=0.6)


def _pad(f: np.ndarray, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Synth pad: three detuned saws per chord tone, slow attack."""
    t = np.arange(n) / sr
    detune = np.array([0.994, 1.0, 1.006])
    ph = (f[:, None] * detune[None, :]).reshape(-1, 1) * t[None, :] + rng.uniform(0, 1, (len(f) * 3, 1))
    return _saw(ph).sum(axis=0) / np.sqrt(ph.shape[0]) * _env(n, sr, 0.25, 0.3)


def _saw_lead(f: np.ndarray, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    return (_saw(f[0] * t) + _saw(f[0] * 1.005 * t)) * 0.5 * _env(n, sr, 0.01, 0.04)


def _square_lead(f: np.ndarray, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    return 0.6 * np.sign(np.sin(2 * np.pi * f[0] * t)) * _env(n, sr, 0.005, 0.04, decay=0.8)


def _additive(
    f: np.ndarray, n: int, sr: int, ratios: np.ndarray, amps: np.ndarray, decays: np.ndarray, attack: float
) -> np.ndarray:
    """Sum of partials ``f*ratio`` with per-partial exponential decay (s). Partials above 0.45 sr dropped."""
    # Why float32 and a truncated length: partials are inaudible after ~7 decay constants.
    t = (np.arange(n) / sr).astype(np.float32)
    out = np.zeros(n)
    for fi in f:
        keep = fi * ratios < 0.45 * sr
        fr, a, d = fi * ratios[keep], amps[keep], decays[keep]
        m = min(n, int(7 * d.max() * sr) + 1)
        tt = t[:m]
        parts = np.exp(-tt[None, :] / d[:, None].astype(np.float32)) * np.sin(
            (2 * np.pi * fr[:, None]).astype(np.float32) * tt[None, :]
        )
        out[:m] += a.astype(np.float32) @ parts
    return out / np.sqrt(len(f)) * _env(n, sr, attack, 0.03)


def _pluck(f: np.ndarray, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Plucked string: harmonics with per-harmonic decay (upper harmonics die first), slight stretch."""
    k = np.arange(1, 11, dtype=float)
    ratios = k * (1 + 0.0004 * k**2)
    return _additive(f, n, sr, ratios, 1 / k**1.1, 1.2 / (1 + 0.7 * k), 0.002)


def _epiano(f: np.ndarray, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Electric-piano-like: soft fundamental-heavy partials plus a fast-decaying bell partial."""
    ratios = np.array([1.0, 2.0, 3.0, 7.1])
    amps = np.array([1.0, 0.35, 0.12, 0.25])
    decays = np.array([1.4, 0.8, 0.5, 0.06])
    t = np.arange(n) / sr
    return _additive(f, n, sr, ratios, amps, decays, 0.003) * (1 + 0.15 * np.sin(2 * np.pi * 4.5 * t))


def _organ(f: np.ndarray, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    ratios = np.array([0.5, 1.0, 2.0, 3.0, 4.0, 6.0])
    amps = np.array([0.6, 1.0, 0.7, 0.4, 0.3, 0.15])
    return _additive(f, n, sr, ratios, amps, np.full(6, 50.0), 0.01)


def _bell(f: np.ndarray, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    ratios = np.array([1.0, 2.76, 5.4, 8.93])
    return _additive(f, n, sr, ratios, np.array([1.0, 0.5, 0.25, 0.12]), np.array([1.2, 0.5, 0.25, 0.12]), 0.002)


def _vibes(f: np.ndarray, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    ratios, amps, decays = np.array([1.0, 4.0, 10.0]), np.array([1.0, 0.3, 0.1]), np.array([1.5, 0.4, 0.1])
    return _additive(f, n, sr, ratios, amps, decays, 0.002) * (1 + 0.3 * np.sin(2 * np.pi * 5.0 * t))


def _bowed(f: np.ndarray, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Bowed strings: a few detuned saws per tone with vibrato, slow attack and release."""
    t = np.arange(n) / sr
    out = np.zeros(n)
    for fi in f:
        for dt in (0.996, 1.004):
            rate = rng.uniform(4.8, 6.0)
            vib = 1 + 0.005 * np.sin(2 * np.pi * rate * t + rng.uniform(0, 6.28)) * np.minimum(1, t / 0.4)
            out += _saw(np.cumsum(fi * dt * vib) / sr + rng.uniform())
    return out / np.sqrt(2 * len(f)) * _env(n, sr, 0.3, 0.25)


def _flute(f: np.ndarray, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Flute-like: nearly sinusoidal, vibrato, a breath of band noise."""
    t = np.arange(n) / sr
    vib = 1 + 0.006 * np.sin(2 * np.pi * 5.0 * t) * np.minimum(1, t / 0.25)
    ph = 2 * np.pi * np.cumsum(f[0] * vib) / sr
    x = np.sin(ph) + 0.2 * np.sin(2 * ph) + 0.06 * np.sin(3 * ph)
    nyq = sr / 2
    sos = signal.butter(2, [min(2 * f[0], 0.8 * nyq) / nyq, min(4 * f[0], 0.9 * nyq) / nyq], "bandpass", output="sos")
    x += 0.15 * signal.sosfilt(sos, rng.standard_normal(n))
    return x * _env(n, sr, 0.07, 0.08)


def _sine808(f: np.ndarray, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """808 bass: a sine with a downward pitch punch and a long decay, lightly saturated."""
    t = np.arange(n) / sr
    fr = f[0] * (1 + 1.0 * np.exp(-t / 0.015))
    x = np.sin(2 * np.pi * np.cumsum(fr) / sr)
    return np.tanh(1.5 * x) * _env(n, sr, 0.002, 0.05, decay=0.9)


def _upright(f: np.ndarray, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Plucked upright/acoustic bass: few harmonics with per-harmonic decay."""
    k = np.arange(1, 6, dtype=float)
    return _additive(f, n, sr, k, np.array([1.0, 0.5, 0.25, 0.12, 0.06]), 0.9 / k, 0.004)


TIMBRES: dict[str, Callable[[np.ndarray, int, int, np.random.Generator], np.ndarray]] = {
    "power": _power, "lead_dist": _lead_dist, "synth_bass": _synth_bass, "pick_bass": _pick_bass,
    "pad": _pad, "saw_lead": _saw_lead, "square_lead": _square_lead, "pluck": _pluck, "epiano": _epiano,
    "organ": _organ, "bell": _bell, "vibes": _vibes, "bowed": _bowed, "flute": _flute,
    "sine808": _sine808, "upright": _upright,
}  # fmt: skip


class NoteCache:
    """Renders notes/chords once per (timbre, pitches, length) and reuses them within a track."""

    def __init__(self, sr: int, rng: np.random.Generator) -> None:
        self.sr, self.rng, self._cache = sr, rng, {}

    def get(self, timbre: str, midis: tuple[float, ...], dur: float) -> np.ndarray:
        """Waveform of ``midis`` played together for ``dur`` seconds (quantised to 10 ms)."""
        n = max(16, int(round(dur * 100)) * self.sr // 100)
        key = (timbre, tuple(round(m, 2) for m in midis), n)
        if key not in self._cache:
            self._cache[key] = TIMBRES[timbre](hz(np.array(midis)), n, self.sr, self.rng)
        return self._cache[key]


# --------------------------------------------------------------------------------------------------
# Drums
# --------------------------------------------------------------------------------------------------


def _band(x: np.ndarray, sr: int, lo: float | None, hi: float | None, order: int = 2) -> np.ndarray:
    nyq = sr / 2
    if lo and hi:
        sos = signal.butter(order, [lo / nyq, min(hi, 0.95 * nyq) / nyq], "bandpass", output="sos")
    elif lo:
        sos = signal.butter(order, min(lo, 0.9 * nyq) / nyq, "highpass", output="sos")
    else:
        sos = signal.butter(order, min(hi or nyq * 0.9, 0.95 * nyq) / nyq, "lowpass", output="sos")
    return signal.sosfilt(sos, x)


def drum_kit(sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One track's drum sounds, keyed by name; each a short waveform with peak ~1."""

    def t_of(sec: float) -> np.ndarray:
        return np.arange(int(sec * sr)) / sr

    def noise(sec: float) -> np.ndarray:
        return rng.standard_normal(int(sec * sr))

    kit: dict[str, np.ndarray] = {}
    t = t_of(0.4)
    f_end = rng.uniform(42, 58)
    kick_f = f_end + rng.uniform(80, 140) * np.exp(-t / 0.03)
    kit["kick"] = np.sin(2 * np.pi * np.cumsum(kick_f) / sr) * np.exp(-t / rng.uniform(0.1, 0.2))
    kit["kick"][: int(0.003 * sr)] += 0.4 * noise(0.003)
    t = t_of(0.3)
    tone = np.sin(2 * np.pi * rng.uniform(170, 220) * t) * np.exp(-t / 0.06)
    kit["snare"] = 0.5 * tone + _band(noise(0.3), sr, 1200, 7000) * np.exp(-t / rng.uniform(0.08, 0.15))
    t = t_of(0.35)
    clap = _band(noise(0.35), sr, 900, 3500)
    clap_env = sum(np.exp(-np.clip(t - d, 0, None) / 0.01) * (t >= d) for d in (0.0, 0.011, 0.022))
    kit["clap"] = clap * (clap_env + 0.6 * np.exp(-t / 0.12) * (t >= 0.03))
    t = t_of(0.05)
    kit["hat"] = _band(noise(0.05), sr, 7000, None) * np.exp(-t / 0.012) * 2.0
    t = t_of(0.35)
    kit["open_hat"] = _band(noise(0.35), sr, 6500, None) * np.exp(-t / 0.12) * 2.0
    t = t_of(1.0)
    partials = sum(np.sin(2 * np.pi * fr * t) for fr in rng.uniform(2900, 6000, 4))
    kit["ride"] = (0.3 * partials + _band(noise(1.0), sr, 5000, None)) * np.exp(-t / 0.5) * 0.6
    t = t_of(0.25)
    swish = np.minimum(1, t / 0.03) * np.exp(-t / 0.1)
    kit["brush"] = _band(noise(0.25), sr, 2000, 6000) * swish * 0.6
    t = t_of(0.4)
    hand_f = rng.uniform(95, 130) * (1 + 0.4 * np.exp(-t / 0.02))
    kit["hand_low"] = np.sin(2 * np.pi * np.cumsum(hand_f) / sr) * np.exp(-t / 0.18)
    t = t_of(0.15)
    slap = np.sin(2 * np.pi * rng.uniform(300, 380) * t) * np.exp(-t / 0.04)
    kit["hand_slap"] = 0.6 * slap + 0.6 * _band(noise(0.15), sr, 1500, 5000) * np.exp(-t / 0.015)
    t = t_of(0.08)
    kit["shaker"] = _band(noise(0.08), sr, 4000, 9000) * np.minimum(1, t / 0.01) * np.exp(-t / 0.03)
    t = t_of(1.5)
    kit["crash"] = _band(noise(1.5), sr, 3000, None) * np.exp(-t / 0.6)
    return {name: x / (np.max(np.abs(x)) + 1e-12) for name, x in kit.items()}
