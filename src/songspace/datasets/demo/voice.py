"""A small formant singer: sings syllables on notes, vectorised per note.

Vowels and voiced consonants are additive syntheses of the glottal source harmonics of f0 (amplitudes
falling as ``1/k**tilt``) shaped by a cascade of formant resonances, the formants taken from the
language's vowel table and scaled by the singer's vocal-tract length. Each note has a short pitch glide
from the previous note, delayed vibrato and an attack/release. Unvoiced consonants are band-limited
noise bursts (fricatives long, plosives short; aspirated stops add a breath burst). Breathiness adds
aspiration noise under the voiced parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal

from songspace.datasets.demo.phonetics import NOISE_CONSONANTS, VOICED_CONSONANTS, VOWEL_TABLES, Syllable

_F4 = 3400.0  # fourth formant (Hz), roughly constant across vowels
_BANDWIDTHS = np.array([80.0, 100.0, 140.0, 220.0])  # formant bandwidths (Hz)
_MURMUR = ((250.0, 900.0, 2300.0), 0.15)  # voice bar under voiced stops and fricatives


@dataclass(frozen=True)
class Voice:
    """A singer's voice.

    Attributes
    ----------
    register_midi
        Centre of the singing range (MIDI note number); ~50-57 for low voices, ~60-67 for high ones.
    formant_scale
        Multiplies every formant frequency (shorter vocal tract -> larger scale), ~0.95-1.22.
    breathiness
        Level of aspiration noise relative to the voiced sound, 0-0.3.
    vibrato_rate
        Vibrato rate (Hz), ~4.5-6.5.
    vibrato_depth
        Vibrato depth (semitones, peak), ~0.15-0.6.
    tilt
        Source spectral slope: harmonic ``k`` has amplitude ``1/k**tilt``, ~0.8-1.4 (bright to dark).
    """

    register_midi: float
    formant_scale: float
    breathiness: float
    vibrato_rate: float
    vibrato_depth: float
    tilt: float


@dataclass(frozen=True)
class SungNote:
    """One syllable on one note. ``start``/``dur`` in seconds; ``spoken`` is rap-like delivery."""

    syllable: Syllable
    start: float
    dur: float
    midi: float
    spoken: bool = False


def _hz(midi: np.ndarray | float) -> np.ndarray | float:
    return 440.0 * 2.0 ** ((np.asarray(midi) - 69.0) / 12.0)


def _harmonic_amplitudes(f0: float, k: np.ndarray, formants: Sequence[float], scale: float, tilt: float) -> np.ndarray:
    """Source-filter amplitudes of harmonics ``k*f0``, normalised to unit RMS. Shape ``(K,)``."""
    f = k * f0
    freqs = np.array([*formants, _F4]) * scale
    bws = _BANDWIDTHS * scale
    # Cascade of two-pole resonances; unit gain at DC, peaks of ~F/B at each formant.
    h = np.ones_like(f)
    for fc, bw in zip(freqs, bws, strict=True):
        h *= fc**2 / np.sqrt((fc**2 - f**2) ** 2 + (bw * f) ** 2)
    a = h / k**tilt
    return a / np.sqrt(np.sum(a**2) / 2.0)


class _NoiseBank:
    """Band-passed noise, one 0.5 s buffer per band, sliced at random offsets. Unit RMS."""

    def __init__(self, sr: int, rng: np.random.Generator) -> None:
        self.sr, self.rng, self.bands = sr, rng, {}

    def get(self, lo: float, hi: float, n: int) -> np.ndarray:
        key = (lo, hi)
        if key not in self.bands:
            nyq = self.sr / 2
            sos = signal.butter(2, [min(lo, 0.8 * nyq) / nyq, min(hi, 0.95 * nyq) / nyq], "bandpass", output="sos")
            x = signal.sosfilt(sos, self.rng.standard_normal(self.sr // 2 + 1))
            self.bands[key] = x / (np.std(x) + 1e-12)
        buf = self.bands[key]
        n = min(n, len(buf))
        off = int(self.rng.integers(0, len(buf) - n + 1))
        return buf[off : off + n]


def _consonant_dur(c: str) -> float:
    if c in NOISE_CONSONANTS:
        spec = NOISE_CONSONANTS[c]
        return spec.dur + (0.05 if spec.aspirated else 0.0) + (0.02 if spec.voiced else 0.0)
    return 0.05 if c in VOICED_CONSONANTS else 0.03


def sing(notes: Sequence[SungNote], voice: Voice, n_samples: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Render a vocal line.

    Parameters
    ----------
    notes
        Sung notes in time order.
    voice
        The singer.
    n_samples
        Length of the output (samples).
    sr
        Sample rate (Hz).
    rng
        Source of noise and small random variations.

    Returns
    -------
    numpy.ndarray
        Mono vocal, shape ``(n_samples,)``, roughly unit RMS over the sung parts (silence elsewhere).
    """
    out = np.zeros(n_samples + sr)  # one second of headroom for tails; cut at the end
    voiced_env = np.zeros_like(out)
    bank = _NoiseBank(sr, rng)
    prev_midi: float | None = None
    prev_end = -1.0
    vib_phase = float(rng.uniform(0, 2 * np.pi))
    for note in notes:
        glide_from = prev_midi if note.start - prev_end < 0.25 else None
        _sing_note(note, voice, sr, bank, out, voiced_env, glide_from, vib_phase)
        prev_midi, prev_end = note.midi, note.start + note.dur
    if voice.breathiness > 0:
        # Aspiration noise follows the voiced envelope: one filter pass for the whole line.
        nyq = sr / 2
        sos = signal.butter(2, [1200 / nyq, min(6000, 0.9 * nyq) / nyq], "bandpass", output="sos")
        breath = signal.sosfilt(sos, rng.standard_normal(len(out)))
        out += voice.breathiness * 2.0 * breath / (np.std(breath) + 1e-12) * voiced_env
    return out[:n_samples]


def _sing_note(
    note: SungNote,
    voice: Voice,
    sr: int,
    bank: _NoiseBank,
    out: np.ndarray,
    voiced_env: np.ndarray,
    prev_midi: float | None,
    vib_phase: float,
) -> None:
    """Add one sung syllable into ``out`` (and its voiced gain into ``voiced_env``)."""
    syl = note.syllable
    table = VOWEL_TABLES[syl.lang]
    on = [(c, _consonant_dur(c)) for c in syl.onset]
    co = [(c, _consonant_dur(c)) for c in syl.coda]
    # Why the caps: at fast (rap) tempos the consonants must shrink or the vowel disappears.
    on_total, co_total = sum(d for _, d in on), sum(d for _, d in co)
    if on_total > 0.4 * note.dur:
        on = [(c, d * 0.4 * note.dur / on_total) for c, d in on]
        on_total = 0.4 * note.dur
    if co_total > 0.3 * note.dur:
        co = [(c, d * 0.3 * note.dur / co_total) for c, d in co]
        co_total = 0.3 * note.dur
    # Onset consonants come before the beat so the vowel lands on it, as singers do.
    t_start = max(0.0, note.start - on_total)
    total = note.start + note.dur - t_start
    n = int(total * sr)
    if n < 16:
        return
    i0 = int(t_start * sr)
    if i0 + n > len(out):
        n = len(out) - i0
        if n < 16:
            return
    t = np.arange(n) / sr
    v_start = note.start - t_start
    v_end = max(v_start + 0.02, total - co_total)

    # --- f0 contour (semitones): glide from the previous note, vibrato after a delay, rap falls.
    semis = np.full(n, float(note.midi))
    if prev_midi is not None:
        semis += (prev_midi - note.midi) * np.exp(-t / 0.035)
    if note.spoken:
        semis -= 1.5 * t / total
    else:
        ramp = np.clip((t - v_start - 0.12) / 0.2, 0.0, 1.0)
        semis += voice.vibrato_depth * ramp * np.sin(2 * np.pi * voice.vibrato_rate * (t + t_start) + vib_phase)
    hz = _hz(semis)
    phase = 2 * np.pi * np.cumsum(hz) / sr
    f0 = float(_hz(note.midi))
    k_max = int(np.clip(4500.0 / (hz.max() + 1e-9), 4, 32))  # harmonics up to ~4.5 kHz
    k = np.arange(1, k_max + 1, dtype=float)

    # --- segments: (start s, end s, formants or None for silence, gain)
    segs: list[tuple[float, float, tuple[float, float, float] | None, float]] = []
    noises: list[tuple[float, str, float]] = []  # (start s, consonant, duration s)
    cursor = 0.0

    def consonant(c: str, d: float) -> None:
        nonlocal cursor
        if c in VOICED_CONSONANTS:
            formants, gain = VOICED_CONSONANTS[c]
            segs.append((cursor, cursor + d, formants, gain))
        else:
            spec = NOISE_CONSONANTS.get(c)
            if spec is not None and spec.voiced:
                segs.append((cursor, cursor + d, *_MURMUR))
            else:
                segs.append((cursor, cursor + d, None, 0.0))
            noises.append((cursor, c, d))
        cursor += d

    for c, d in on:
        consonant(c, d)
    if len(syl.nucleus) == 1:
        segs.append((v_start, v_end, table[syl.nucleus[0]], 1.0))
    else:  # two targets: hold the first, glide to the second in the last part of the note
        mid = v_start + 0.55 * (v_end - v_start)
        segs.append((v_start, mid, table[syl.nucleus[0]], 1.0))
        segs.append((mid, v_end, table[syl.nucleus[1]], 0.95))
    cursor = v_end
    for c, d in co:
        consonant(c, d)

    # --- control points of the harmonic amplitudes, interpolated linearly in time
    tc: list[float] = [0.0]
    ac: list[np.ndarray] = [np.zeros(k_max)]
    for j, (s, e, formants, gain) in enumerate(segs):
        amp = (
            np.zeros(k_max)
            if formants is None
            else gain * _harmonic_amplitudes(f0, k, formants, voice.formant_scale, voice.tilt)
        )
        vowel_pair = j > 0 and segs[j - 1][2] is not None and formants is not None
        ramp_in = min((0.3 if vowel_pair else 0.15) * (e - s), 0.06 if vowel_pair else 0.025)
        ramp_in = max(ramp_in, 1.0 / sr)
        release = min(0.04, 0.3 * (e - s)) if j == len(segs) - 1 else 0.0
        tc += [max(s + ramp_in, tc[-1] + 1e-6), max(e - release - 1.0 / sr, tc[-1] + 2e-6)]
        ac += [amp, amp]
    tc.append(max(total, tc[-1] + 1e-6))
    ac.append(np.zeros(k_max))
    tcs = np.asarray(tc)
    acs = np.stack(ac)  # (n_points, K)

    # --- additive synthesis. Rows of S are sin(k*phase), built by the Chebyshev recursion (one
    # multiply-add per harmonic, float32 is plenty); between two control points the amplitudes are a
    # linear blend, so each interval costs two matrix-vector products.
    ph32 = phase.astype(np.float32)
    S = np.empty((k_max, n), dtype=np.float32)
    S[0] = np.sin(ph32)
    c2 = 2.0 * np.cos(ph32)
    if k_max > 1:
        np.multiply(c2, S[0], out=S[1])
    for j in range(2, k_max):
        np.multiply(c2, S[j - 1], out=S[j])
        S[j] -= S[j - 2]
    voiced = np.zeros(n)
    bounds = np.searchsorted(t, tcs)
    acs32 = acs.astype(np.float32)
    for c in range(len(tcs) - 1):
        a, b = bounds[c], bounds[c + 1]
        if b <= a or not (acs[c].any() or acs[c + 1].any()):
            continue
        w = (t[a:b] - tcs[c]) / max(tcs[c + 1] - tcs[c], 1e-9)
        seg = S[:, a:b]
        voiced[a:b] = (1 - w) * (acs32[c] @ seg) + w * (acs32[c + 1] @ seg)
    out[i0 : i0 + n] += voiced
    gains = np.array([0.0] + [g for *_, g in segs for _ in (0, 1)] + [0.0])
    voiced_env[i0 : i0 + n] += np.interp(t, tcs, gains)

    # --- noise consonants
    for s, c, d in noises:
        spec = NOISE_CONSONANTS.get(c)
        if spec is None:
            continue
        burst_len = spec.dur if d >= spec.dur else d
        m = max(8, int(burst_len * sr))
        x = bank.get(spec.lo, spec.hi, m)
        tt = np.arange(len(x)) / sr
        if spec.dur < 0.03:  # plosive: sharp attack, fast decay
            env = np.exp(-tt / (0.25 * burst_len)) * np.minimum(1.0, tt / 0.001)
        else:  # fricative/affricate: smooth rise and fall
            env = np.sin(np.pi * np.clip(tt / burst_len, 0, 1)) ** 0.7
        j0 = i0 + int(s * sr)
        seg = spec.gain * 2.0 * env * x
        stop = min(len(out), j0 + len(seg))
        if stop <= j0:  # the note was cut at the end of the buffer
            continue
        out[j0:stop] += seg[: stop - j0]
        if spec.aspirated:  # breath after the release: the "h" of bh, kh, th ...
            m2 = int(0.06 * sr)
            h = bank.get(500, 3500, m2)
            h_env = np.sin(np.pi * np.arange(len(h)) / len(h))
            j1 = j0 + len(seg)
            stop = min(len(out), j1 + len(h))
            if stop > j1:
                out[j1:stop] += (0.35 * h * h_env)[: stop - j1]
