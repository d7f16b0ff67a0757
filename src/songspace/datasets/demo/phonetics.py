"""From written words to sung syllables, with crude but language-specific rules.

English words go through spelling-to-sound rules (vowel digraphs, magic e, reduced schwa, diphthongs).
Bengali words are read from their romanised (phonemic) form with Bengali rules: seven pure vowels,
the inherent vowel as /ɔ/ unless a later /i/ or /u/ raises it to /o/, aspirated stops, and vowel
sequences sung as two pure targets instead of an English-style diphthong.

Phone symbols are ASCII: vowels ``i I e E ae a A O o U u V @ 3``; consonants ``p b t d k g f v s z S Z
T D h m n N l r w y tS dZ`` plus aspirated ``ph bh th dh kh gh tSh dZh``.
The vowel formant tables differ per language (textbook averages for adult male speakers; a singer's
``formant_scale`` shifts them for shorter vocal tracts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# F1, F2, F3 (Hz). English: Peterson & Barney / Hillenbrand style averages.
EN_VOWELS: dict[str, tuple[float, float, float]] = {
    "i": (270, 2290, 3010), "I": (390, 1990, 2550), "e": (440, 2020, 2600), "E": (530, 1840, 2480),
    "ae": (660, 1720, 2410), "a": (750, 1250, 2450), "A": (730, 1090, 2440), "O": (570, 840, 2410),
    "o": (460, 900, 2400), "U": (440, 1020, 2240), "u": (300, 870, 2240), "V": (640, 1190, 2390),
    "@": (500, 1500, 2500), "3": (490, 1350, 1690),
}  # fmt: skip
# Bengali's seven oral vowels (i e æ a ɔ o u): central open /a/, back /ɔ/, all monophthongs.
BN_VOWELS: dict[str, tuple[float, float, float]] = {
    "i": (290, 2250, 2950), "e": (410, 2080, 2650), "ae": (600, 1850, 2550), "a": (760, 1330, 2500),
    "O": (590, 960, 2480), "o": (420, 820, 2420), "u": (320, 780, 2350),
}  # fmt: skip
VOWEL_TABLES: dict[str, dict[str, tuple[float, float, float]]] = {"en": EN_VOWELS, "bn": BN_VOWELS}

# Voiced consonants sung as short formant-shaped segments: formants and relative level.
VOICED_CONSONANTS: dict[str, tuple[tuple[float, float, float], float]] = {
    "m": ((250, 1100, 2300), 0.35), "n": ((250, 1600, 2500), 0.35), "N": ((250, 2000, 2700), 0.3),
    "l": ((360, 1300, 2700), 0.5), "r": ((420, 1200, 1600), 0.5), "w": ((300, 700, 2200), 0.5),
    "y": ((280, 2200, 3000), 0.5),
}  # fmt: skip


@dataclass(frozen=True)
class Noise:
    """An unvoiced consonant burst: duration (s), noise band (Hz), level, voiced murmur, aspiration."""

    dur: float
    lo: float
    hi: float
    gain: float
    voiced: bool = False
    aspirated: bool = False


# Plosives are short, fricatives long; aspirated stops get an extra breath burst after the release.
NOISE_CONSONANTS: dict[str, Noise] = {
    "p": Noise(0.015, 300, 1500, 0.35), "t": Noise(0.015, 3000, 7000, 0.35), "k": Noise(0.02, 1500, 3500, 0.35),
    "b": Noise(0.012, 300, 1500, 0.18, voiced=True), "d": Noise(0.012, 2500, 6000, 0.18, voiced=True),
    "g": Noise(0.015, 1200, 3000, 0.18, voiced=True),
    "ph": Noise(0.015, 300, 1500, 0.35, aspirated=True), "th": Noise(0.015, 3000, 7000, 0.35, aspirated=True),
    "kh": Noise(0.02, 1500, 3500, 0.35, aspirated=True),
    "bh": Noise(0.012, 300, 1500, 0.2, voiced=True, aspirated=True),
    "dh": Noise(0.012, 2500, 6000, 0.2, voiced=True, aspirated=True),
    "gh": Noise(0.015, 1200, 3000, 0.2, voiced=True, aspirated=True),
    "tS": Noise(0.05, 2000, 5000, 0.3), "dZ": Noise(0.045, 2000, 5000, 0.2, voiced=True),
    "tSh": Noise(0.05, 2000, 5000, 0.3, aspirated=True),
    "dZh": Noise(0.045, 2000, 5000, 0.2, voiced=True, aspirated=True),
    "s": Noise(0.09, 4500, 9500, 0.25), "z": Noise(0.08, 4500, 9500, 0.15, voiced=True),
    "S": Noise(0.09, 2000, 5000, 0.3), "Z": Noise(0.08, 2000, 5000, 0.18, voiced=True),
    "f": Noise(0.07, 1000, 7000, 0.1), "v": Noise(0.06, 1000, 7000, 0.08, voiced=True),
    "T": Noise(0.06, 1500, 7000, 0.07), "D": Noise(0.04, 1500, 7000, 0.06, voiced=True),
    "h": Noise(0.06, 500, 3500, 0.12),
}  # fmt: skip


@dataclass(frozen=True)
class Syllable:
    """One sung syllable: onset consonants, one or two vowel targets, coda consonants."""

    onset: tuple[str, ...]
    nucleus: tuple[str, ...]
    coda: tuple[str, ...]
    lang: str  # "en" or "bn": which vowel table to use


def _is_vowel(phone: str, lang: str) -> bool:
    return phone in VOWEL_TABLES[lang]


def _scan(word: str, patterns: list[tuple[str, tuple[str, ...]]]) -> list[tuple[str, tuple[str, ...]]]:
    """Greedy longest-match tokenisation: ``[(grapheme, phones), ...]``; unknown letters are dropped."""
    out = []
    i = 0
    while i < len(word):
        for graph, phones in patterns:
            if word.startswith(graph, i):
                out.append((graph, phones))
                i += len(graph)
                break
        else:
            i += 1
    return out


# --------------------------------------------------------------------------------------------------
# English spelling -> phones
# --------------------------------------------------------------------------------------------------

_EN_EXCEPTIONS: dict[str, str] = {
    "the": "D @", "a": "@", "i": "aI", "you": "y u", "your": "y O r", "to": "t u", "of": "@ v",
    "my": "m aI", "me": "m i", "we": "w i", "they": "D eI", "oh": "o U", "with": "w I D", "love": "l V v",
    "heart": "h A r t", "eyes": "aI z", "mother": "m V D 3", "water": "w O t 3", "over": "o U v 3",
    "open": "o U p @ n", "slowly": "s l o U l i", "weather": "w E D 3", "by": "b aI", "through": "T r u",
}  # fmt: skip
_EN_PATTERNS: list[tuple[str, tuple[str, ...]]] = sorted(
    [
        ("igh", ("a", "I")), ("eigh", ("e", "I")), ("ee", ("i",)), ("ea", ("i",)), ("oo", ("u",)),
        ("ai", ("e", "I")), ("ay", ("e", "I")), ("ey", ("e", "I")), ("ei", ("e", "I")), ("oa", ("o", "U")),
        ("ou", ("a", "U")), ("oi", ("O", "I")), ("oy", ("O", "I")), ("ue", ("u",)), ("ew", ("u",)),
        ("au", ("O",)), ("aw", ("O",)), ("ar", ("A", "r")), ("or", ("O", "r")), ("er", ("3",)),
        ("ir", ("3",)), ("ur", ("3",)), ("our", ("a", "U", "r")),
        ("tch", ("tS",)), ("sh", ("S",)), ("ch", ("tS",)), ("th", ("T",)), ("ng", ("N",)), ("ph", ("f",)),
        ("ck", ("k",)), ("wh", ("w",)), ("qu", ("k", "w")), ("kn", ("n",)), ("wr", ("r",)), ("gh", ()),
        ("dge", ("dZ",)), ("x", ("k", "s")), ("j", ("dZ",)),
    ]
    + [(c, (c,)) for c in "bdfghklmnprstvwz"],
    key=lambda gp: -len(gp[0]),
)  # fmt: skip
_EN_SHORT = {"a": "ae", "e": "E", "i": "I", "o": "A", "u": "V", "y": "I"}
_EN_LONG = {"a": ("e", "I"), "e": ("i",), "i": ("a", "I"), "o": ("o", "U"), "u": ("u",), "y": ("a", "I")}


def english_phones(word: str) -> list[str]:
    """Crude English letter-to-sound rules.

    Parameters
    ----------
    word
        One English word (letters only are used).

    Returns
    -------
    list of str
        Phones; diphthongs come out as two consecutive vowel targets (``e I``, ``a I``, ``a U`` ...).
    """
    w = re.sub(r"[^a-z]", "", word.lower())
    if w in _EN_EXCEPTIONS:
        return _EN_EXCEPTIONS[w].split()
    # Magic e: a single vowel, one consonant, final silent e ("shine", "home", "tide") -> long vowel.
    magic = len(w) > 2 and w[-1] == "e" and w[-2] not in "aeiouy" and w[-3] in "aeiou"
    if magic or (len(w) > 2 and w.endswith("e") and w[-2] not in "aeiouy"):
        w = w[:-1]  # final e is silent
    w = re.sub(r"c(?!h)", "k", re.sub(r"c(?=[eiy])", "s", w)).replace("kk", "k")  # soft c, hard c
    phones: list[str] = []
    nuclei_single: list[int] = []  # indices of nuclei written with one letter (candidates for schwa)
    i = 0
    while i < len(w):
        ch = w[i]
        rest = w[i:]
        match = next((gp for gp in _EN_PATTERNS if rest.startswith(gp[0])), None)
        if ch in "aeiouy" and (match is None or len(match[0]) == 1):
            if ch == "y" and i == 0:
                phones.append("y")
                i += 1
                continue
            is_last_vowel = not re.search(r"[aeiouy]", w[i + 1 :])
            if magic and is_last_vowel:
                phones.extend(_EN_LONG[ch])
            elif ch == "y":
                phones.extend(_EN_LONG["y"] if not re.search(r"[aeiou]", w[:i]) else ("i",))
            elif ch == "o" and i == len(w) - 1:
                phones.extend(("o", "U"))  # go, so, no
            elif ch == "e" and i == len(w) - 1:
                phones.append("i")  # he, she, be
            else:
                nuclei_single.append(len(phones))
                phones.append(_EN_SHORT[ch])
            i += 1
            continue
        if match is None:
            i += 1
            continue
        phones.extend(match[1])
        i += len(match[0])
    # Unstressed reduction: a short vowel in the last syllable of a longer word becomes schwa ("heaven").
    vowel_idx = [j for j, p in enumerate(phones) if _is_vowel(p, "en")]
    if len(vowel_idx) >= 2 and nuclei_single and nuclei_single[-1] == vowel_idx[-1] and vowel_idx[0] != vowel_idx[-1]:
        phones[vowel_idx[-1]] = "@"
    # Doubled letters ("little", "follow") collapse to one consonant.
    dedup = [p for j, p in enumerate(phones) if j == 0 or p != phones[j - 1] or _is_vowel(p, "en")]
    return dedup


# --------------------------------------------------------------------------------------------------
# Romanised Bengali -> phones
# --------------------------------------------------------------------------------------------------

_BN_PATTERNS: list[tuple[str, tuple[str, ...]]] = sorted(
    [
        ("chh", ("tSh",)), ("kh", ("kh",)), ("gh", ("gh",)), ("th", ("th",)), ("dh", ("dh",)), ("ph", ("ph",)),
        ("bh", ("bh",)), ("jh", ("dZh",)), ("sh", ("S",)), ("ch", ("tS",)), ("ng", ("N",)), ("j", ("dZ",)),
        ("s", ("S",)), ("z", ("dZ",)), ("f", ("ph",)), ("v", ("bh",)), ("x", ("k", "S")), ("q", ("k",)),
        ("aa", ("a",)), ("ee", ("i",)), ("oo", ("u",)), ("a", ("a",)), ("i", ("i",)), ("u", ("u",)),
        ("e", ("e",)), ("o", ("o",)), ("w", ("o",)),
    ]
    + [(c, (c,)) for c in "bdghklmnprty"],
    key=lambda gp: -len(gp[0]),
)  # fmt: skip


def bangla_phones(roman: str) -> list[str]:
    """Bengali pronunciation of a romanised word.

    Parameters
    ----------
    roman
        The romanised (phonemic) spelling, e.g. ``"shopno"``, ``"bhalobasha"``.

    Returns
    -------
    list of str
        Phones from the Bengali inventory (pure vowels ``i e ae a O o u``).
    """
    w = re.sub(r"[^a-z]", "", roman.lower())
    phones: list[str] = []
    for _graph, ph in _scan(w, _BN_PATTERNS):
        phones.extend(ph)
    # "y" after a vowel is the vowel /i/ (kothay, aloy); before a vowel it is a glide.
    for j, p in enumerate(phones):
        if (
            p == "y"
            and j > 0
            and _is_vowel(phones[j - 1], "bn")
            and not (j + 1 < len(phones) and _is_vowel(phones[j + 1], "bn"))
        ):
            phones[j] = "i"
    vowel_idx = [j for j, p in enumerate(phones) if _is_vowel(p, "bn")]
    if vowel_idx:
        first = vowel_idx[0]
        later = {phones[j] for j in vowel_idx[1:]}
        # Inherent vowel: first-syllable "o" is open /ɔ/ (mon, poth, shopno) unless a later i/u raises it.
        if phones[first] == "o" and first + 1 < len(phones) and not (later & {"i", "u"}):
            if not _is_vowel(phones[first + 1], "bn"):
                phones[first] = "O"
        # Word-initial "e" before k/kh is /æ/ (eka, ekla, ekhono).
        if first == 0 and phones[0] == "e" and len(phones) > 1 and phones[1] in ("k", "kh"):
            phones[0] = "ae"
    return phones


# --------------------------------------------------------------------------------------------------
# Syllables
# --------------------------------------------------------------------------------------------------


def syllabify(phones: list[str], lang: str) -> list[Syllable]:
    """Group phones into syllables.

    Adjacent vowels merge into one nucleus with two targets (English diphthongs, Bengali vowel
    sequences such as ``jai``). Between nuclei, a single consonant starts the next syllable; of a
    cluster, the first consonant closes the previous syllable.
    """
    groups: list[list[str]] = []  # alternating consonant runs and vowel runs
    for p in phones:
        vowel = _is_vowel(p, lang)
        if groups and (_is_vowel(groups[-1][0], lang) == vowel):
            groups[-1].append(p)
        else:
            groups.append([p])
    nuclei = [g for g in groups if _is_vowel(g[0], lang)]
    if not nuclei:
        return []
    sylls: list[dict[str, list[str]]] = []
    pending: list[str] = []
    for g in groups:
        if _is_vowel(g[0], lang):
            for k in range(0, len(g), 2):  # at most two targets per nucleus
                sylls.append({"onset": pending, "nucleus": g[k : k + 2], "coda": []})
                pending = []
        else:
            pending = list(g)
            if sylls and len(pending) >= 2:
                sylls[-1]["coda"].append(pending.pop(0))
    if pending and sylls:
        sylls[-1]["coda"].extend(pending)
    return [Syllable(tuple(s["onset"]), tuple(s["nucleus"]), tuple(s["coda"]), lang) for s in sylls]


def word_syllables(sing: str, lang: str) -> list[Syllable]:
    """Syllables of one word read with the rules of ``lang`` (``"en"`` or ``"bn"``)."""
    phones = english_phones(sing) if lang == "en" else bangla_phones(sing)
    return syllabify(phones, lang)
