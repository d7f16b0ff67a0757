"""Lyrics as tokens: normalisation, words, grapheme clusters and a phonetic key, for Bangla (Bengali script and
romanised) as well as English and other languages.

Why not the obvious tools: scikit-learn's default ``token_pattern`` (``\\b\\w\\w+\\b``) cuts Bengali words at
every vowel sign, hasanta and nukta, because Python's ``\\w`` does not match combining marks ("হৃদয়" becomes
"দয"). Here a word is a run of letters *and* combining marks, and character n-grams are n-grams of grapheme
clusters (``regex``'s ``\\X``), so a consonant is never separated from its vowel sign.

The *phonetic key* is the consonant skeleton of a word, computed the same way for Latin text and for Indic scripts
(from the Unicode character names), so that "ami tomake bhalobashi" and "আমি তোমাকে ভালোবাসি" share tokens
("m", "tmk", "blbs"). That is what lets romanised Bangla land near Bengali-script Bangla
(:mod:`songspace.features.text`).
"""

from __future__ import annotations

import html
import unicodedata
from functools import lru_cache

import regex

# --------------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------------

_SCRIPT_STYLE = regex.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", regex.I | regex.S)
_BREAK_TAG = regex.compile(r"<\s*(?:br|/?p|/?div|/?li|/?tr|/?h[1-6])\b[^<>]*>", regex.I)
_TAG = regex.compile(r"</?[A-Za-z!][^<>]{0,500}>")
# [Chorus], [Verse 2: Artist], LRC time stamps [00:12.34] and LRC headers [ar:Someone]: labels, not sung words.
_BRACKETED = regex.compile(r"\[[^\[\]\n]{0,60}\]")
# Before ZWJ goes: the pre-Unicode-4.1 spelling of khanda ta (ta + hasanta + ZWJ) is the letter ৎ.
_OLD_KHANDA_TA = "\u09a4\u09cd\u200d"
# Invisible format characters that change rendering, never spelling. ZWJ/ZWNJ choose between a conjunct, a
# half form or a visible hasanta in Bengali (and joining in Arabic script); the letters and the hasanta stay,
# so removing them makes the variants people type for one word compare equal. Zero-width space is a break.
_INVISIBLE = {ord(c): None for c in "\u00ad\u034f\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\ufeff"
              "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"} | {0x200B: " "}
_APOSTROPHES = {ord(c): "'" for c in "\u2019\u2018\u02bc\u0060\u00b4"}


def normalise(text: str) -> str:
    """Canonical form of a lyric, used before every tokeniser and detector here.

    Steps: strip HTML (``<br>`` and block tags become line breaks, entities are unescaped), drop bracketed
    section labels and LRC time stamps (``[Chorus]``, ``[00:12.34]``), Unicode NFC, the old khanda-ta
    spelling to ``ৎ``, remove invisible format characters (ZWJ, ZWNJ, soft hyphen, bidi marks: see the
    comment on ``_INVISIBLE``), unify apostrophes, lowercase (only cased scripts change), collapse spaces
    inside lines and runs of blank lines. Line breaks are kept: code-mixing is measured line by line.

    NFC already unifies the Bengali nukta letters: য় U+09DF, ড় U+09DC and ঢ় U+09DD are composition
    exclusions, so both spellings end as base + nukta (U+09AF U+09BC, ...), which is the canonical form.

    Parameters
    ----------
    text : str
        Raw lyric text.

    Returns
    -------
    str
        The normalised text; ``""`` when nothing is left.
    """
    if "<" in text:
        text = _SCRIPT_STYLE.sub(" ", text)
        text = _BREAK_TAG.sub("\n", text)
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = _BRACKETED.sub(" ", text)
    text = unicodedata.normalize("NFC", text)
    text = text.replace(_OLD_KHANDA_TA, "\u09ce").translate(_INVISIBLE).translate(_APOSTROPHES)
    text = unicodedata.normalize("NFC", text.lower())  # lower() can undo NFC (e.g. "İ")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


# --------------------------------------------------------------------------------------------------
# Tokenisers
# --------------------------------------------------------------------------------------------------

_GRAPHEME = regex.compile(r"\X")
# A word: letters and combining marks (vowel signs, hasanta, nukta, candrabindu...), at least one letter,
# joined through inner apostrophes ("don't"). ZWJ/ZWNJ stay inside words for text that was not normalised.
_MARKS = r"\p{M}\u200c\u200d"
_WORD = regex.compile(rf"[{_MARKS}]*\p{{L}}[\p{{L}}{_MARKS}]*(?:['\u2019][\p{{L}}{_MARKS}]+)*")
_WORD_DIGITS = regex.compile(rf"[{_MARKS}]*[\p{{L}}\p{{Nd}}][\p{{L}}\p{{Nd}}{_MARKS}]*(?:['\u2019][\p{{L}}{_MARKS}]+)*")
# One letter of any script: whether a text has any, how many a line holds.
LETTER = regex.compile(r"\p{L}")


def graphemes(text: str) -> list[str]:
    """Extended grapheme clusters of ``text`` (``regex``'s ``\\X``, Unicode text segmentation).

    A Bengali consonant keeps its vowel signs, nukta and hasanta; with current Unicode rules a conjunct such
    as "স্ব" (sa + hasanta + ba) is one cluster. ``"".join(graphemes(t)) == t`` always holds.

    Returns
    -------
    list[str] [shape=(n_graphemes,)]
    """
    return _GRAPHEME.findall(text)


def words(text: str, *, digits: bool = False) -> list[str]:
    """Words of ``text``: runs of letters and combining marks (Unicode-aware, unlike ``\\w``).

    Bengali vowel signs, hasanta (U+09CD), nukta (U+09BC), anusvara, candrabindu and khanda ta (ৎ) stay
    inside words. The text is taken as it is: call :func:`normalise` first for matching across spellings.

    Parameters
    ----------
    text : str
    digits : bool
        Also keep runs of digits (any script) as words or parts of words.

    Returns
    -------
    list[str] [shape=(n_words,)]
    """
    return (_WORD_DIGITS if digits else _WORD).findall(text)


# --------------------------------------------------------------------------------------------------
# Phonetic key: one consonant skeleton for Latin and Indic scripts
# --------------------------------------------------------------------------------------------------

_INDIC = regex.compile(r"[\u0900-\u0d7f]")
_CONSONANT_NAME = regex.compile(r"([B-DF-HJ-NP-TV-Z]+)A")  # "KHA" -> "KH"; vowel letters ("AA", "AI") do not match
_ASPIRATE = regex.compile(r"([bcdgjkprst])h+")  # bh, chh, dh, gh, jh, kh, ph, rh, sh, th -> b, c, d, ...
_NOT_CONSONANT = regex.compile(r"[^bcdghjklmnprst]+")
_DOUBLE = regex.compile(r"(.)\1+")
_LATIN_FOLD = str.maketrans({"f": "p", "v": "b", "q": "k", "z": "j", "x": "ks", "ß": "ss"})
# Context rules a per-character table cannot express (Bengali and Devanagari, after NFC).
_INDIC_CONTEXT = [
    (regex.compile("[\u09a1\u09a2]\u09bc|[\u0921\u0922]\u093c"), "\u09b0"),  # ড় ঢ় ड़ ढ़ sound r (bari)
    (regex.compile("\u09af\u09bc"), ""),  # য় is a glide, romanised y or nothing (hridoy, tomay)
    (regex.compile("\u09cd\u09af"), ""),  # ya-phala (্য) lengthens the consonant (byatha)
    (regex.compile("\u09af"), "\u099c"),  # য elsewhere sounds j (jodi, jokhon)
    (regex.compile("\u0995\u09cd\u09b7"), "\u0996"),  # ক্ষ sounds kh (khoma)
    (regex.compile("(?<=[\u0995-\u09ad\u09af-\u09b9])\u09cd\u09ac"), ""),  # ba-phala is silent (shopno), not after ম
]


@lru_cache(maxsize=4096)
def _indic_sound(ch: str) -> str:
    """Rough Latin sound of one Indic character from its Unicode name ("BENGALI LETTER BHA" -> "bh")."""
    name = unicodedata.name(ch, "")
    for part in (" LETTER ", " VOWEL SIGN "):
        if part in name:
            sound = name.split(part, 1)[1]
            if sound.startswith("VOCALIC "):
                return sound[8].lower()  # ঋ, ৃ: "ri" in romanisation
            if sound == "KHANDA TA":
                return "t"
            m = _CONSONANT_NAME.fullmatch(sound.split()[-1])
            # A consonant letter carries the inherent vowel; a following virama removes it (dropped in phonetic_key).
            return m.group(1).lower() + "a" if m and part == " LETTER " else "a"
    if name.endswith("SIGN VIRAMA"):
        return "-"
    if name.endswith("SIGN ANUSVARA"):
        return "ng" if name.startswith("BENGALI") else "n"  # Bengali ং is always "ng"; Hindi ं takes the next sound
    return ""  # nukta, candrabindu, visarga, digits, danda


@lru_cache(maxsize=65536)
def phonetic_key(word: str) -> str:
    """Consonant skeleton of a word, equal for a Bangla word in Bengali script and in common romanisations.

    Indic letters become Latin through their Unicode names; then, for both, aspiration and sh are folded
    (bh -> b, chh -> c, sh -> s), f/v/q/z/x become p/b/k/j/ks, vowels, y and w are dropped (romanisations
    disagree most about vowels), and doubled letters are collapsed. Retroflex and dental consonants merge.
    Other scripts (Arabic, Cyrillic, CJK, ...) give ``""``.

    Examples: "ভালোবাসি" and "bhalobashi" -> "blbs"; "হৃদয়" and "hridoy" -> "hrd"; "তোমায়" and "tomay" -> "tm".

    Parameters
    ----------
    word : str
        One normalised word (lowercase, NFC).

    Returns
    -------
    str
        The key, possibly empty (a word of vowels only, or a script without a mapping).
    """
    if _INDIC.search(word):
        for pattern, repl in _INDIC_CONTEXT:
            word = pattern.sub(repl, word)
        word = "".join(_indic_sound(c) if "\u0900" <= c <= "\u0d7f" else c for c in word).replace("a-", "")
    # Latin with diacritics (IAST "ś", "ṭ", Spanish "ñ") -> base letters.
    word = "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))
    word = _ASPIRATE.sub(r"\1", word.translate(_LATIN_FOLD))
    return _DOUBLE.sub(r"\1", _NOT_CONSONANT.sub("", word))
