"""The six musical styles of the demo, described as real genres differ.

A style fixes ranges, not values: tempo range, swing, drum patterns, harmony (modes, chord qualities,
progressions), instrument choices, accompaniment rhythms and dynamics. Each track draws its own tempo,
key, progression, pattern variant and (through its artist) instruments, so tracks of one style vary.

Drum patterns are 16-step strings per bar: ``X`` accent, ``x`` normal, ``o`` ghost, ``.`` rest.
"""

from __future__ import annotations

from dataclasses import dataclass

CHORD_INTERVALS: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "5": (0, 7, 12), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10), "m9": (0, 3, 7, 10, 14),
}  # fmt: skip
SCALES: dict[str, tuple[int, ...]] = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}

Progression = tuple[str, tuple[tuple[int, str], ...]]  # (mode, ((semitones above key, quality), ...))


@dataclass(frozen=True)
class Style:
    """How one genre sounds.

    Attributes
    ----------
    tempo
        BPM range (low, high).
    swing
        Position of the off-beat eighth within the beat (0.5 straight, ~0.67 triplet swing), range.
    progressions
        Candidate chord progressions, each with its mode.
    chords_per_bar
        Harmonic rhythm candidates (chords per 4/4 bar).
    drums
        Pattern variants: instrument name -> 16-step string. Empty: no drums.
    chord_timbres, bass_timbres, lead_timbres
        Instrument choices (an artist picks one of each).
    chord_rhythm
        ``"chug"``, ``"sustain"``, ``"comp"``, ``"strum"`` or ``"stab"``.
    bass_rhythm
        ``"eighths"``, ``"offbeat"``, ``"walking"``, ``"root_fifth"``, ``"whole"`` or ``"kick"``.
    drive
        Range of the bus saturation drive: loud, compressed styles high; 0 keeps the full dynamic range.
    crescendo
        Whether the track swells from soft to loud.
    vocal_grid
        Syllable grid in beats (0.5 sung eighths, 0.25 fast rap sixteenths).
    spoken
        Rap-like delivery: monotone, falling pitch, no vibrato.
    levels
        Relative RMS of the stems (drums, bass, chords, lead).
    """

    name: str
    tempo: tuple[float, float]
    swing: tuple[float, float]
    progressions: tuple[Progression, ...]
    chords_per_bar: tuple[int, ...]
    drums: tuple[dict[str, str], ...]
    chord_timbres: tuple[str, ...]
    bass_timbres: tuple[str, ...]
    lead_timbres: tuple[str, ...]
    chord_rhythm: str
    bass_rhythm: str
    drive: tuple[float, float]
    crescendo: bool
    vocal_grid: float
    spoken: bool
    levels: tuple[float, float, float, float]
    chord_register: int = 57  # MIDI around which chords are voiced
    bass_register: int = 36


STYLES: dict[str, Style] = {
    "rock": Style(
        "rock", (118, 142), (0.5, 0.5),
        (("major", ((0, "5"), (7, "5"), (9, "5"), (5, "5"))), ("major", ((0, "5"), (10, "5"), (5, "5"), (0, "5"))),
         ("minor", ((0, "5"), (8, "5"), (3, "5"), (10, "5")))),
        (1,),
        ({"kick": "X.......X.x.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
         {"kick": "X.....x.X.......", "snare": "....X.......X..o", "hat": "x.x.x.x.x.x.x.x."}),
        ("power",), ("pick_bass", "synth_bass"), ("lead_dist", "organ"),
        "chug", "eighths", (2.5, 4.0), False, 0.5, False, (1.0, 0.7, 0.9, 0.5), 52, 33,
    ),
    "electronic": Style(
        "electronic", (122, 130), (0.5, 0.52),
        (("minor", ((0, "m7"), (8, "maj7"), (3, "maj"), (10, "maj"))), ("minor", ((0, "min"), (5, "min"), (8, "maj"), (7, "min"))),
         ("minor", ((0, "m9"), (0, "m9"), (8, "maj7"), (10, "maj")))),
        (1,),
        ({"kick": "X...X...X...X...", "clap": "....X.......X...", "open_hat": "..x...x...x...x.", "hat": "o.o.o.o.o.o.o.o."},
         {"kick": "X...X...X...X...", "snare": "....X.......X...", "open_hat": "..x...x...x...x.", "hat": "oooooooooooooooo"}),
        ("pad",), ("synth_bass",), ("saw_lead", "square_lead", "bell"),
        "sustain", "offbeat", (2.0, 3.5), False, 0.5, False, (1.0, 0.8, 0.6, 0.45), 60, 36,
    ),
    "jazz": Style(
        "jazz", (100, 150), (0.62, 0.68),
        (("major", ((2, "m7"), (7, "7"), (0, "maj7"), (9, "7"))), ("major", ((0, "maj7"), (9, "m7"), (2, "m7"), (7, "7"))),
         ("major", ((4, "m7"), (9, "7"), (2, "m7"), (7, "7")))),
        (1, 2),
        ({"ride": "x...x.x.x...x.x.", "hat": "....x.......x...", "brush": "x...x...x...x...", "kick": "o.......o......."},
         {"ride": "x...x.xox...x.x.", "hat": "....x.......x...", "brush": "o.o.x.o.o.o.x.o."}),
        ("epiano", "organ"), ("upright",), ("vibes", "epiano", "flute"),
        "comp", "walking", (0.0, 0.0), False, 0.5, False, (0.45, 0.8, 0.7, 0.55), 58, 36,
    ),
    "folk": Style(
        "folk", (90, 112), (0.5, 0.56),
        (("major", ((0, "maj"), (5, "maj"), (7, "maj"), (0, "maj"))), ("major", ((0, "maj"), (9, "min"), (5, "maj"), (7, "maj"))),
         ("major", ((0, "maj"), (5, "maj"), (0, "maj"), (7, "maj")))),
        (1,),
        ({"hand_low": "X.....x.X.......", "hand_slap": "....x.......x.o.", "shaker": "x.o.x.o.x.o.x.o."},
         {"hand_low": "X..x..x.X..x....", "hand_slap": "....X.......X...", "shaker": "xoxoxoxoxoxoxoxo"}),
        ("pluck",), ("upright", "pluck"), ("flute", "pluck"),
        "strum", "root_fifth", (0.8, 1.3), False, 0.5, False, (0.55, 0.6, 1.0, 0.5), 55, 40,
    ),
    "classical": Style(
        "classical", (60, 82), (0.5, 0.5),
        (("minor", ((0, "min"), (5, "min"), (7, "maj"), (0, "min"))), ("minor", ((0, "min"), (8, "maj"), (3, "maj"), (10, "maj"))),
         ("major", ((0, "maj"), (9, "min"), (5, "maj"), (7, "maj")))),
        (1,),
        (),
        ("bowed",), ("bowed",), ("flute", "bowed"),
        "sustain", "whole", (0.0, 0.0), True, 0.5, False, (0.0, 0.6, 1.0, 0.7), 57, 38,
    ),
    "hip-hop": Style(
        "hip-hop", (84, 96), (0.54, 0.62),
        (("minor", ((0, "m7"), (0, "m7"), (8, "maj7"), (8, "maj7"))), ("minor", ((0, "m7"), (5, "m7"), (0, "m7"), (7, "min")))),
        (1,),
        ({"kick": "X......x..X.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
         {"kick": "X.x.......X..x..", "snare": "....X.......X...", "hat": "x.xox.x.x.xox.x."}),
        ("epiano", "bell", "bowed"), ("sine808",), ("bell", "epiano"),
        "stab", "kick", (1.5, 3.0), False, 0.25, True, (1.0, 1.0, 0.45, 0.35), 60, 31,
    ),
}  # fmt: skip

GENRES: tuple[str, ...] = tuple(STYLES)
