"""Song lyrics from small template grammars: English SVO lines and Bengali SOV lines.

A song is verse 1, chorus, verse 2, chorus (the chorus repeated verbatim), written in one of four
scripts/mixes:

``"en"``        English.
``"bn"``        Bengali script.
``"banglish"``  The same Bengali words, romanised.
``"mixed"``     Bengali script with one or two English lines per verse (code-mixing).

Every word keeps the form the singer reads (``sing``) and the language whose pronunciation rules apply
(``lang``): English spelling for English words, the romanisation for Bengali words in either script.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from songspace.datasets.demo import lexicon as lx

LYRIC_KINDS: tuple[str, ...] = ("en", "bn", "banglish", "mixed")


@dataclass(frozen=True)
class Word:
    """One written word: ``text`` as printed in the lyrics, ``sing`` as read by the singer."""

    text: str
    sing: str
    lang: str  # "en" or "bn": which pronunciation rules the singer uses


@dataclass(frozen=True)
class Line:
    """One lyric line: its words and the printed text (with punctuation)."""

    words: tuple[Word, ...]
    text: str


@dataclass(frozen=True)
class Lyric:
    """A whole song text. ``stanzas`` are in sung order; the chorus object appears twice."""

    kind: str
    theme: str
    stanzas: tuple[tuple[Line, ...], ...]
    chorus_index: int  # index in ``stanzas`` of the first chorus
    title: str

    def text(self) -> str:
        """The lyrics file content: stanzas separated by a blank line, NFC, trailing newline."""
        body = "\n\n".join("\n".join(line.text for line in stanza) for stanza in self.stanzas)
        return unicodedata.normalize("NFC", body + "\n")

    def sung_lines(self) -> list[Line]:
        """All lines in the order they are sung."""
        return [line for stanza in self.stanzas for line in stanza]


# --------------------------------------------------------------------------------------------------
# English grammar
# --------------------------------------------------------------------------------------------------


def _pick(rng: np.random.Generator, items: tuple | list):
    return items[int(rng.integers(len(items)))]


def _en_line(rng: np.random.Generator, theme: str, hook: bool = False) -> list[str]:
    """One English line as a list of tokens (punctuation attached to the preceding word)."""
    nouns = lx.EN_NOUNS[theme]
    # Why a mix of themes: a song about rain still mentions a window or a heart now and then.
    other = lx.EN_NOUNS[_pick(rng, lx.THEMES)]
    s, vt, vi = _pick(rng, lx.EN_SUBJECTS), _pick(rng, lx.EN_VERBS_TRANSITIVE), _pick(rng, lx.EN_VERBS_INTRANSITIVE)
    n, n2, adj = _pick(rng, nouns), _pick(rng, nouns + other), _pick(rng, lx.EN_ADJECTIVES)
    p, time = _pick(rng, lx.EN_PREPOSITIONS), _pick(rng, lx.EN_TIMES)
    if hook:
        templates = [
            ["oh", adj, n + ",", vi, "with", "me"],
            [vt, "my", n, time],
            [adj, n, time],
        ]
    else:
        templates = [
            [s, vt, "the", n, p, "the", adj, n2],
            [s, vi, p, "the", n, time],
            [adj, n + ",", s, vt, "your", n2],
            [vt, "my", n, time],
            [s, vi, "like", "the", adj, n],
            [s, vt, "the", n, "and", vi],
        ]
    return list(_pick(rng, templates))


def _en_words(tokens: list[str]) -> Line:
    words = tuple(Word(t.rstrip(","), t.rstrip(",").lower() if t != "I" else "I", "en") for t in tokens)
    text = " ".join(tokens)
    return Line(words, text[0].upper() + text[1:])


# --------------------------------------------------------------------------------------------------
# Bengali grammar (subject-object-verb)
# --------------------------------------------------------------------------------------------------


def _bn_line(rng: np.random.Generator, theme: str, hook: bool = False) -> list[lx.BnWord]:
    """One Bengali line as a list of :class:`~lexicon.BnWord` s, verb last."""
    noun, place = _pick(rng, lx.BN_NOUNS[theme]), _pick(rng, lx.BN_PLACES[theme])
    subj3, verb3 = _pick(rng, lx.BN_CLAUSES[theme])
    time, manner, adj = _pick(rng, lx.BN_TIMES), _pick(rng, lx.BN_MANNERS), _pick(rng, lx.BN_ADJECTIVES)
    poss = _pick(rng, lx.BN_POSSESSIVES)
    if hook:
        templates = [
            [lx.BN_CALL, lx.BN_POSSESSIVES[0], noun],
            [noun, lx.BN_RE, noun, lx.BN_RE],
            [lx.BN_PRONOUN_I, lx.BN_OBJECT_YOU, _pick(rng, lx.BN_VERBS_I_OBJECT)],
        ]
    else:
        templates = [
            [time, lx.BN_PRONOUN_I, place, manner, _pick(rng, lx.BN_VERBS_I_MOTION)],  # আজ আমি পথে একা যাই
            [lx.BN_PRONOUN_I, lx.BN_POSSESSIVES[1], noun, _pick(rng, lx.BN_VERBS_I_OBJECT)],
            [place, subj3, verb3],  # রাতে চাঁদ ওঠে
            [lx.BN_PRONOUN_YOU, time, place, _pick(rng, lx.BN_VERBS_YOU)],
            [poss, noun, adj],  # আমার মন উদাস
            [lx.BN_PRONOUN_WE, place, _pick(rng, lx.BN_VERBS_I_MOTION)],
            [lx.BN_PRONOUN_YOU, lx.BN_POSSESSIVES[0], noun, _pick(rng, lx.BN_VERBS_YOU_OBJECT)],
        ]
    # Why no "we" verb forms: in Bengali the first person plural takes the same verb as "I".
    return list(_pick(rng, templates))


def _bn_words(items: list[lx.BnWord], romanised: bool) -> Line:
    words = tuple(Word(w.roman if romanised else w.bn, w.roman, "bn") for w in items)
    text = " ".join(w.text for w in words)
    if romanised:
        text = text[0].upper() + text[1:]
    return Line(words, unicodedata.normalize("NFC", text))


# --------------------------------------------------------------------------------------------------
# Songs
# --------------------------------------------------------------------------------------------------


def make_lyric(rng: np.random.Generator, kind: str, theme: str) -> Lyric:
    """Write one song.

    Parameters
    ----------
    rng
        Source of all choices.
    kind
        One of :data:`LYRIC_KINDS`.
    theme
        One of :data:`lexicon.THEMES`.

    Returns
    -------
    Lyric
        Verse 1 (4 lines), chorus (4 lines: hook, line, hook, line), verse 2, chorus again.
    """
    if kind not in LYRIC_KINDS:
        raise ValueError(f"unknown lyric kind {kind!r}; expected one of {LYRIC_KINDS}")

    def line(hook: bool = False, english: bool = False) -> Line:
        if kind == "en" or english:
            return _en_words(_en_line(rng, theme, hook))
        return _bn_words(_bn_line(rng, theme, hook), romanised=kind == "banglish")

    def verse() -> tuple[Line, ...]:
        english_at: set[int] = set()
        if kind == "mixed":  # one or two English lines inside each Bengali verse
            n_en = int(rng.integers(1, 3))
            english_at = {int(i) for i in rng.choice(4, size=n_en, replace=False)}
        return tuple(line(english=i in english_at) for i in range(4))

    hook, other_a, other_b = line(hook=True), line(), line()
    chorus = (hook, other_a, hook, other_b)
    stanzas = (verse(), chorus, verse(), chorus)
    return Lyric(kind, theme, stanzas, chorus_index=1, title=_title(hook, kind))


def _title(hook: Line, kind: str) -> str:
    """A title from the chorus hook's first words, in the song's own script."""
    words = [w.text for w in hook.words if w.text.lower() not in {"oh", "o", "ও"}][:3]
    title = " ".join(words)
    if kind in ("en", "banglish"):
        title = " ".join(w if w == "I" else w.capitalize() for w in title.split())
    return unicodedata.normalize("NFC", title)
