"""Render one track from its plan: arrangement, melody, vocal, mix.

Everything a track needs is in its :class:`TrackSpec` (decided by the planner in the parent process);
the rest (melody, drum humanisation, noise) comes from the track's own random generator, so a track
renders identically in any worker process.

Signal flow::

    drums + bass + chords + lead (+ sung vocal)  ->  section dynamics  ->  style dynamics (saturation,
    crescendo)  ->  artist mix (EQ tilt, reverb)  ->  loudness  ->  noise floor  ->  peak <= 0.99
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

from songspace.datasets.demo.instruments import NoteCache, drum_kit
from songspace.datasets.demo.lyrics import Lyric
from songspace.datasets.demo.phonetics import word_syllables
from songspace.datasets.demo.styles import CHORD_INTERVALS, SCALES, STYLES, Style
from songspace.datasets.demo.voice import SungNote, Voice, sing

PEAK = 0.99


@dataclass(frozen=True)
class Mix:
    """An artist's production: EQ tilt (-1 dark .. 1 bright), reverb (RT60 s, wet level), noise, loudness."""

    tilt: float
    reverb_s: float
    reverb_wet: float
    noise_db: float  # noise floor, dBFS RMS
    loudness_db: float  # target RMS, dBFS


@dataclass(frozen=True)
class TrackSpec:
    """Everything decided for one track before rendering. Durations in seconds, tempo in BPM."""

    track_id: str
    genre: str
    duration: float
    sample_rate: int
    tempo: float
    key: int  # pitch class of the tonic, 0 = C
    timbres: tuple[str, str, str]  # chords, bass, lead
    drum_variant: int
    mix: Mix
    voice: Voice | None
    lyric: Lyric | None
    seed: np.random.SeedSequence


@dataclass(frozen=True)
class _Chord:
    start: float  # beats
    dur: float  # beats
    root: int  # MIDI pitch class offset (key + degree), 0..11
    quality: str


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.dot(x, x) / max(len(x), 1)) + 1e-12)


def _place(buf: np.ndarray, x: np.ndarray, start: int, gain: float = 1.0) -> None:
    """Add ``gain*x`` into ``buf`` from sample ``start``, clipped to the buffer."""
    if start >= len(buf) or start + len(x) <= 0:
        return
    a, b = max(0, start), min(len(buf), start + len(x))
    buf[a:b] += gain * x[a - start : b - start]


def _swing(pos: float, swing: float) -> float:
    """Move off-beat eighths (and the sixteenths around them) to ``swing`` of the beat."""
    beat, frac = divmod(pos, 1.0)
    frac = frac / 0.5 * swing if frac <= 0.5 else swing + (frac - 0.5) / 0.5 * (1 - swing)
    return beat + frac


def _voicing(chord: _Chord, register: int) -> tuple[int, ...]:
    """Chord tones as MIDI notes near ``register`` (root chosen so the chord sits around it)."""
    root = register - ((register - chord.root) % 12)
    return tuple(root + iv for iv in CHORD_INTERVALS[chord.quality])


class _Track:
    """Working state for rendering one track (kept together to keep the stage functions short)."""

    def __init__(self, spec: TrackSpec) -> None:
        self.spec = spec
        self.style: Style = STYLES[spec.genre]
        self.rng = np.random.default_rng(spec.seed)
        self.sr = spec.sample_rate
        self.n = int(round(spec.duration * self.sr))
        self.beat = 60.0 / spec.tempo
        self.n_bars = math.ceil(spec.duration / (4 * self.beat)) + 1
        self.swing = float(self.rng.uniform(*self.style.swing))
        self.notes = NoteCache(self.sr, self.rng)
        mode, prog = self.style.progressions[int(self.rng.integers(len(self.style.progressions)))]
        self.scale = tuple((spec.key + s) % 12 for s in SCALES[mode])
        cpb = int(self.rng.choice(self.style.chords_per_bar))
        step = 4.0 / cpb
        self.chords = [
            _Chord(i * step, step, (spec.key + prog[i % len(prog)][0]) % 12, prog[i % len(prog)][1])
            for i in range(self.n_bars * cpb)
        ]
        self.sections: list[str] = ["verse"] * self.n_bars  # per bar: intro / verse / chorus

    # ---- helpers ------------------------------------------------------------------------------
    def sample(self, beats: float) -> int:
        return int(round(beats * self.beat * self.sr))

    def chord_at(self, beats: float) -> _Chord:
        return self.chords[min(int(beats // self.chords[0].dur), len(self.chords) - 1)]

    def section_at(self, beats: float) -> str:
        return self.sections[min(int(beats // 4), self.n_bars - 1)]

    def melody(self, onsets: list[float], center: int, spread: int = 7, step_pull: float = 2.0) -> list[int]:
        """A random walk over the scale, chord tones on the beat. ``onsets`` in beats; MIDI out."""
        pitches, cur = [], center
        for b in onsets:
            chord = self.chord_at(b)
            tones = {(chord.root + iv) % 12 for iv in CHORD_INTERVALS[chord.quality]}
            allowed = tones if abs(b - round(b)) < 1e-6 else set(self.scale)
            cand = np.array([m for m in range(center - spread, center + spread + 1) if m % 12 in allowed])
            w = np.exp(-np.abs(cand - cur) / step_pull) * np.exp(-np.abs(cand - center) / 5.0)
            w[cand == cur] *= 0.6  # some movement, not a drone
            cur = int(self.rng.choice(cand, p=w / w.sum()))
            pitches.append(cur)
        return pitches

    # ---- arrangement --------------------------------------------------------------------------
    def layout_vocal(self) -> list[SungNote]:
        """Place the lyric's lines on the bars after the intro; mark verse/chorus bars."""
        spec, style, rng = self.spec, self.style, self.rng
        assert spec.lyric is not None and spec.voice is not None
        lines = spec.lyric.sung_lines()
        start_line = 0 if rng.random() < 0.6 else 4  # clip starts at verse 1 or at the chorus
        bar = int(rng.integers(0, 2)) if 4 * self.beat < 3.0 else int(rng.integers(0, 1) + (rng.random() < 0.3))
        for b in range(bar):
            self.sections[b] = "intro"
        grid = style.vocal_grid
        notes: list[SungNote] = []
        li = start_line
        while bar * 4 * self.beat < self.spec.duration and li < len(lines):
            line = lines[li]
            sylls = [s for w in line.words for s in word_syllables(w.sing, w.lang)]
            if not sylls:
                li += 1
                continue
            n_syl = len(sylls)
            bars = max(1, math.ceil((n_syl * grid + 1.0) / 4))
            units = np.ones(n_syl)
            spare = int((bars * 4 - 1.0) / grid) - n_syl  # grid steps left over, one beat of rest kept
            if spare > 0:  # lengthen some syllables: line ends and random ones
                units[-1] += min(spare, 1 + int(rng.integers(0, 3)))
                extra = max(0, spare - int(units[-1] - 1))
                for j in rng.choice(n_syl, size=min(extra // 2, n_syl), replace=False):
                    units[j] += 1
            onsets = bar * 4 + grid * np.concatenate([[0.0], np.cumsum(units)[:-1]])
            in_chorus = 4 <= li % 8 < 8 or li >= 12
            for b in range(bar, min(bar + bars, self.n_bars)):
                self.sections[b] = "chorus" if in_chorus else "verse"
            center = spec.voice.register_midi + (3 if in_chorus else 0)
            if style.spoken:  # rap: near-monotone around a speaking pitch
                pitches = [int(round(spec.voice.register_midi - 4)) + int(rng.integers(-1, 2)) for _ in onsets]
            else:
                pitches = self.melody(list(onsets), int(round(center)))
            for s, on, u, p in zip(sylls, onsets, units, pitches, strict=True):
                pos = _swing(on, self.swing) if not style.spoken or grid >= 0.5 else on
                dur = u * grid * self.beat * (0.92 if style.spoken else 0.98)
                notes.append(SungNote(s, pos * self.beat, dur, float(p), spoken=style.spoken))
            bar += bars
            li += 1
        return notes

    def layout_instrumental(self) -> list[tuple[float, float, int]]:
        """Sections for a track without vocals, and the lead melody ``(start beats, dur beats, midi)``."""
        rng = self.rng
        intro = int(rng.integers(1, 3)) if self.n_bars > 4 else 1
        b = 0
        kinds = ["intro"] * intro
        while len(kinds) < self.n_bars:
            kinds += [("verse" if (b % 2 == 0) else "chorus")] * int(rng.integers(2, 5))
            b += 1
        self.sections = kinds[: self.n_bars]
        lead: list[tuple[float, float, int]] = []
        grid = 0.5
        pos = float(intro * 4)
        while pos < self.n_bars * 4:
            dur = float(rng.choice([0.5, 0.5, 1.0, 1.0, 1.5, 2.0])) if self.style.name != "hip-hop" else 1.0
            if rng.random() < 0.18:  # rests make phrases
                pos += dur
                continue
            lead.append((pos, dur, 0))
            pos += max(grid, dur)
        center = 72 if self.style.name != "hip-hop" else 76
        for j, p in enumerate(self.melody([s for s, _, _ in lead], center)):
            lead[j] = (lead[j][0], lead[j][1], p + (3 if self.section_at(lead[j][0]) == "chorus" else 0))
        return lead

    # ---- stems --------------------------------------------------------------------------------
    def drums(self) -> np.ndarray:
        style, rng = self.style, self.rng
        out = np.zeros(self.n)
        if not style.drums:
            return out
        pattern = style.drums[self.spec.drum_variant % len(style.drums)]
        kit = drum_kit(self.sr, rng)
        vel = {"X": 1.0, "x": 0.7, "o": 0.35}
        loose = {"jazz": 0.012, "folk": 0.01, "hip-hop": 0.008}.get(style.name, 0.002)  # timing spread (s)
        level = {"hat": 0.35, "open_hat": 0.4, "shaker": 0.35, "ride": 0.45, "brush": 0.5, "kick": 1.0}
        for bar in range(self.n_bars):
            section = self.sections[bar]
            for inst, steps in pattern.items():
                if section == "intro" and inst not in ("hat", "shaker", "ride", "brush"):
                    continue
                for s, ch in enumerate(steps):
                    if ch == ".":
                        continue
                    pos = _swing(bar * 4 + s / 4, self.swing)
                    t = pos * self.beat + rng.normal(0, loose)
                    g = vel[ch] * level.get(inst, 0.8) * rng.uniform(0.85, 1.0)
                    _place(out, kit[inst], int(t * self.sr), g)
            if bar > 0 and section == "chorus" and self.sections[bar - 1] != "chorus" and style.name != "jazz":
                _place(out, kit["crash"], self.sample(bar * 4), 0.5)
        return out

    def bass(self) -> np.ndarray:
        style, rng = self.style, self.rng
        out = np.zeros(self.n)
        timbre = self.spec.timbres[1]
        events: list[tuple[float, float, int]] = []  # (beats, dur beats, midi)
        for ch in self.chords:
            root = _voicing(ch, style.bass_register + 6)[0]
            fifth = root + 7
            if style.bass_rhythm == "eighths":
                events += [(ch.start + 0.5 * i, 0.45, root) for i in range(int(ch.dur * 2))]
            elif style.bass_rhythm == "offbeat":
                events += [(ch.start + 0.5 + i, 0.4, root + (12 if i % 2 else 0)) for i in range(int(ch.dur))]
            elif style.bass_rhythm == "walking":  # quarter notes: root, chord/scale tones, approach note
                nxt = _voicing(self.chord_at(ch.start + ch.dur), style.bass_register + 6)[0]
                beats = int(ch.dur)
                line = [root]
                tones = [root + iv for iv in CHORD_INTERVALS[ch.quality]] + [root + 2, root + 5]
                for _ in range(beats - 2):
                    line.append(int(rng.choice(tones)))
                if beats >= 2:
                    line.append(nxt + int(rng.choice([-1, 1])))
                events += [(ch.start + i, 0.95, m) for i, m in enumerate(line)]
            elif style.bass_rhythm == "root_fifth":
                events += [(ch.start + 2 * i, 1.8, root if i % 2 == 0 else fifth - 12) for i in range(int(ch.dur // 2))]
            elif style.bass_rhythm == "whole":
                events.append((ch.start, ch.dur, root))
            elif style.bass_rhythm == "kick":  # 808 follows the kick drum, long notes
                steps = style.drums[self.spec.drum_variant % len(style.drums)]["kick"]
                hits = [i / 4 for i, c in enumerate(steps) if c != "."]
                for j, h in enumerate(hits):
                    end = hits[j + 1] if j + 1 < len(hits) else 4.0
                    events.append((ch.start + h, end - h, root - 12 if root > 40 else root))
        for start, dur, midi in events:
            if self.section_at(start) == "intro" and style.name not in ("classical", "jazz"):
                continue
            x = self.notes.get(timbre, (midi,), dur * self.beat)
            _place(out, x, self.sample(_swing(start, self.swing)), rng.uniform(0.8, 1.0))
        return out

    def chord_stem(self) -> np.ndarray:
        style, rng = self.style, self.rng
        out = np.zeros(self.n)
        timbre = self.spec.timbres[0]
        for ch in self.chords:
            voicing = _voicing(ch, style.chord_register)
            section = self.section_at(ch.start)
            hits: list[tuple[float, float, float]] = []  # (beat offset, dur beats, velocity)
            if style.chord_rhythm == "chug":
                hits = (
                    [(0.5 * i, 0.42, 0.8) for i in range(int(ch.dur * 2))] if section == "verse" else [(0, ch.dur, 1.0)]
                )
            elif style.chord_rhythm == "sustain":
                hits = [(0, ch.dur, 1.0)]
            elif style.chord_rhythm == "comp":  # syncopated jazz comping
                options = [0.0, 1.5, 2.5, 3.5, 1.0, 3.0]
                k = int(rng.integers(1, 3))
                hits = [
                    (o, float(rng.uniform(0.4, 1.2)), 0.8)
                    for o in sorted(rng.choice(options, k, replace=False))
                    if o < ch.dur
                ]
            elif style.chord_rhythm == "strum":  # D . D U . U D U
                hits = [
                    (o, 0.6, v)
                    for o, v in ((0, 1.0), (1, 0.8), (1.5, 0.6), (2.5, 0.6), (3, 0.8), (3.5, 0.6))
                    if o < ch.dur
                ]
            elif style.chord_rhythm == "stab":
                hits = [(0, 0.9, 1.0)] + ([(2.5, 0.5, 0.7)] if rng.random() < 0.5 else [])
            for off, dur, v in hits:
                t = _swing(ch.start + off, self.swing)
                if style.chord_rhythm == "strum":  # strings sounded one after another, 12 ms apart
                    order = voicing if off % 1 == 0 else voicing[::-1]
                    for j, m in enumerate(order):
                        x = self.notes.get(timbre, (m,), dur * self.beat + 0.3)
                        _place(out, x, self.sample(t) + int(j * 0.012 * self.sr), v / np.sqrt(len(order)))
                else:
                    x = self.notes.get(timbre, voicing, dur * self.beat)
                    _place(out, x, self.sample(t), v * rng.uniform(0.85, 1.0))
        return out

    def lead(self, melody: list[tuple[float, float, int]]) -> np.ndarray:
        out = np.zeros(self.n)
        for start, dur, midi in melody:
            x = self.notes.get(self.spec.timbres[2], (midi,), dur * self.beat * 0.95)
            _place(out, x, self.sample(_swing(start, self.swing)), self.rng.uniform(0.75, 1.0))
        return out


def render_track(spec: TrackSpec) -> np.ndarray:
    """Render one track.

    Parameters
    ----------
    spec
        The track's plan.

    Returns
    -------
    numpy.ndarray
        Mono float64 audio, shape ``(round(duration * sample_rate),)``, peak <= 0.99.
    """
    tr = _Track(spec)
    style, rng, sr, n = tr.style, tr.rng, tr.sr, tr.n
    vocal_notes = tr.layout_vocal() if spec.lyric is not None else []
    # Instrumentals get a lead instrument playing the tune in place of the voice.
    lead_melody = tr.layout_instrumental() if spec.lyric is None else []

    stems = [tr.drums(), tr.bass(), tr.chord_stem(), tr.lead(lead_melody)]
    music = np.zeros(n)
    for x, level in zip(stems, style.levels, strict=True):
        if level > 0 and _rms(x) > 1e-6:
            music += level * x / _rms(x)

    # Section dynamics: intro soft, chorus full; smoothed over a quarter of a beat.
    bar_gain = np.array([{"intro": 0.6, "verse": 0.85, "chorus": 1.0}[s] for s in tr.sections])
    per_bar = 4 * tr.beat * sr
    edges = np.minimum((np.arange(1, tr.n_bars) * per_bar).astype(int), n)
    music *= np.repeat(bar_gain, np.diff(np.concatenate([[0], edges, [n]])))

    if vocal_notes:
        assert spec.voice is not None
        vocal = sing(vocal_notes, spec.voice, n, sr, rng)
        sung = np.abs(vocal) > 1e-4
        if sung.any():
            vocal *= _rms(music) / _rms(vocal[sung]) * rng.uniform(0.9, 1.4)
        music += vocal

    # Style dynamics: saturate loud styles (small crest factor), swell the crescendo style.
    music /= 4 * _rms(music)
    drive = float(rng.uniform(*style.drive))
    if drive > 0:
        music = np.tanh(drive * music) / np.tanh(drive)
    if style.crescendo:
        t = np.linspace(0, 1, n)
        music *= 0.15 + 0.85 * t**1.5
    elif drive == 0:  # wide-range styles breathe: slow random swells
        t = np.arange(n) / sr
        music *= 1 + 0.25 * np.sin(2 * np.pi * rng.uniform(0.05, 0.12) * t + rng.uniform(0, 6.28))

    music = _artist_mix(music, spec.mix, sr, rng)
    return music


def _artist_mix(x: np.ndarray, mix: Mix, sr: int, rng: np.random.Generator) -> np.ndarray:
    """EQ tilt, reverb (decaying-noise impulse response), loudness, noise floor, peak limit."""
    nyq = sr / 2
    low = signal.sosfilt(signal.butter(1, 800 / nyq, "lowpass", output="sos"), x)
    x = low * (1 - 0.4 * mix.tilt) + (x - low) * (1 + 0.4 * mix.tilt)
    m = int(mix.reverb_s * sr)
    t = np.arange(m) / sr
    ir = rng.standard_normal(m) * np.exp(-6.9 * t / mix.reverb_s)  # -60 dB at reverb_s
    ir = signal.sosfilt(signal.butter(1, 5000 / nyq, "lowpass", output="sos"), ir)
    wet = signal.fftconvolve(x.astype(np.float32), ir.astype(np.float32))[: len(x)]  # float32: 2x faster
    x = x + mix.reverb_wet * wet * _rms(x) / _rms(wet)
    x *= 10 ** (mix.loudness_db / 20) / _rms(x)
    noise = signal.sosfilt(signal.butter(1, 4000 / nyq, "lowpass", output="sos"), rng.standard_normal(len(x)))
    x += noise * 10 ** (mix.noise_db / 20) / _rms(noise)
    peak = np.max(np.abs(x))
    if peak > PEAK:
        x *= PEAK / peak
    return x
