"""Lyrics features that work for Bangla (Bengali script and romanised) as well as English and other languages.

One module (about 670 lines): normalisation, tokenisation, phonetic keys and language identification feed one
another and are tested together on the same scripts.

Why not the obvious tools: scikit-learn's default ``token_pattern`` (``\\b\\w\\w+\\b``) cuts Bengali words at
every vowel sign, hasanta and nukta, because Python's ``\\w`` does not match combining marks ("হৃদয়" becomes
"দয"). Here a word is a run of letters *and* combining marks, and character n-grams are n-grams of grapheme
clusters (``regex``'s ``\\X``), so a consonant is never separated from its vowel sign.

Pipeline for one collection (:func:`lyrics_features`)::

    text -> normalise -> three token channels -> TF-IDF per channel -> weighted concatenation
         -> truncated SVD -> L2-normalised rows                              = embedding
    text -> script shares + romanised-Bangla/Hindi scores + language proportions = profile

The three channels are word uni- and bigrams, grapheme 2-4-grams inside words, and a *phonetic key*: the
consonant skeleton of each word, computed the same way for Latin text and for Indic scripts (from the
Unicode character names), so that "ami tomake bhalobashi" and "আমি তোমাকে ভালোবাসি" share tokens
("m", "tmk", "blbs"). That is what lets romanised Bangla land near Bengali-script Bangla.

Language identification uses py3langid (a maintained fork of langid.py: pure Python and numpy, its model of
140 languages ships inside the wheel, about 4.5 MB, nothing is downloaded). It cannot tell romanised Bangla or
Hindi from noise (it answers Javanese, Shona, ...), so these are recognised by small lexicons of very common
function words (:data:`ROMANISED_BANGLA_WORDS`, :data:`ROMANISED_HINDI_WORDS`), reported as ``"bn-Latn"`` and
``"hi-Latn"``. A lyric's language proportions are estimated line by line (:func:`mixture_proportions`), so
code-mixed lyrics get mixed probabilities.
"""

from __future__ import annotations

import html
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import regex
import scipy.sparse as sp
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from songspace.errors import ConfigError

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
_LETTER = regex.compile(r"\p{L}")


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


# --------------------------------------------------------------------------------------------------
# Scripts, romanised Bangla and language identification
# --------------------------------------------------------------------------------------------------

# Scripts of the languages py3langid's model knows; a lyric written mostly in another script is "und".
KNOWN_SCRIPTS: tuple[str, ...] = (
    "Latin", "Cyrillic", "Greek", "Armenian", "Georgian", "Arabic", "Hebrew", "Devanagari", "Bengali",
    "Gurmukhi", "Gujarati", "Oriya", "Tamil", "Telugu", "Kannada", "Malayalam", "Sinhala", "Thai", "Lao",
    "Khmer", "Myanmar", "Tibetan", "Ethiopic", "Han", "Hiragana", "Katakana", "Hangul", "Bopomofo",
)
_SCRIPT_LETTER = regex.compile(
    "|".join(f"(?P<{s}>[[\\p{{Script={s}}}]&&[\\p{{L}}]])" for s in KNOWN_SCRIPTS) + "|(?P<Unknown>\\p{L})",
    regex.V1,
)
# The script groups of the profile; "other" holds every other letter.
PROFILE_SCRIPTS: dict[str, tuple[str, ...]] = {
    "bengali": ("Bengali",),
    "latin": ("Latin",),
    "devanagari": ("Devanagari",),
    "arabic": ("Arabic",),
    "cjk": ("Han", "Hiragana", "Katakana", "Hangul", "Bopomofo"),
    "cyrillic": ("Cyrillic",),
}
# Languages whose identification probability is a profile column; the rest is summed in "lang_other".
PROFILE_LANGUAGES: tuple[str, ...] = ("en", "bn", "hi", "ur", "ar", "es", "fr", "pt", "de", "ru", "ja", "ko", "zh")

# Very common romanised Bangla words, with the usual spelling variants. Written for this module, not taken
# from any data set. Words that are also common in English, Hindi/Urdu, Spanish, French, Italian, German or
# Indonesian romanised text are left out on purpose (na, ki, ke, je, o, ar, se, go, mon, din, rat, ache,
# jai, chai, pyar, dil, hay, habe, ...): a false "bn-Latn" on a Hinglish or Spanish song is worse than a miss.
# The last lines hold the spellings of transliteration schemes (ITRANS, ISO 15919 or Harvard-Kyoto without
# diacritics), which write the inherent vowel as "a" where informal Banglish writes "o" (ebam / ebong).
ROMANISED_BANGLA_WORDS: frozenset[str] = frozenset("""
ami amra amar amader amake amay amai tumi tomra tomar tomader tomake tomay tomai apnar apnake apnader
tomari amari tomarei amarei shey tar tader tahar tahake taake keu kew kichu kichhu kicchu konodin keno kothay
kothae kokhon kemon kemne jokhon jekhane ekhane okhane sekhane shekhane ekhon ekhono tokhon ekta ekti ekdin
ajke kalke aajke akashe aakashe bhalo bhalobasha bhalobasa bhalobashi bhalobasi bhalobeshe bhalobese
bhalobashbo bhalobasbo bhalobaso bhalobasho bhalolage mone moner shopno swapno sopno shopne swapne sopne
shopner hridoy hridoye hridoyer chokh chokhe chokher brishti bristi jibon jiboner jibone jibonta shudhu sudhu
shob shobai sobai shobi shathe sathe kache kachhe kacche theke dite niye hobe hoye hoyeche hoyni hoyna hoyto
hoito chilo chhilo chhile chila achhe achi achhi achho achis achhis nei korbo korchi korcho kori kore koro
korte korechi korecho korlam korle korish korbi bolchi bolbo bollam bolecho jabo jachhi jachi jacchi jete gelo
gele gechi gechhe gecho eshe esho asho ashbe ashbo ashe dekhbo dekhechi dekhlam shuno shuni shune shunbo bujhi
bujhe bujhina bojho bujhbe janina janish janbe chaina chaini chaichi chaibo dibo dilam nibo nilam thako thaki
thakbo thake thakish rakhbo phire phirbo phiro phirey ferao bhulbo bhulini bhulona kadi kando kande kadbo
hashi hashe haso hashbo gaan gaaner gaite gaibo nodi nodir nodite nouka pakhi phuler fuler rong aalo alo aalor
alor andhar andhare adhar adhare rater raater sokal shokal bikel shondhya sondhya shondha shesh sesh premer
priyo bondhu bondhura ghor ghore bari barite pother poth kotota onek khub aaro arek abar aabar ebar tobu tobuo
tahole ebong kintu othoba tomakei amakei chander tarar batash megh megher jhor jhorna shagor sagor shomudro
bangla banglar bangali desher matir
ebam ebang athaba kono konao sakal sokol shokol nijer nije nijeder jonno jonyo janya manush manusher
manushke shonge songe sange moddhe modhye madhye thakbe thakabe hisebe bhabe onno onyo noy tobe jodi jadi
sabai hayeche hayechhe hoyechhe tahader tahara
""".split())

# Very common romanised Hindi words (Hinglish), with the usual spelling variants; written for this module, not
# taken from any data set. Left out on purpose: words shared with Bangla (ki, ke, ek, kar, apni, diye, dvara, sab,
# pratyek, adhikar, yadi, koi), and words common in English, Spanish, German, French or Italian (main, mai, the,
# se, par, ab, ye, ham, tu, to, do, hi, na, ya, use, tune, mere, niche, jana, bola, bolo, har, mein, thin,
# andar), and sung interjections (yeh, yah, woh: "yeah", "whoa").
ROMANISED_HINDI_WORDS: frozenset[str] = frozenset("""
hai hain hoon hun tha thi hota hoti hote hona hoga hogi honge hua hui hue huye ka ko kya kyun kyon kyonki
kyunki aur bhi nahi nahin nahee nhi mujhe mujhko mujhse tujhe tujhko tujhse humein hamein hamko humko
hamara hamari hamare humara humari humare tum tumhara tumhari tumhare tumhe tumhein tumse tumko hum mera meri
tera teri tere apna apne aap aapka aapki aapke apka apki apke unka unki unke unhe unhein unse usse uska
uski uske iska iski iske inka inki inke isse inhe inhein vah wahi yahi yahan wahan jahan kahan
kaise kaisa kaisi jaise jaisa jaisi aisa aisi aise waisa waise kaun kuch kuchh kisi kisne kisko sabhi sabko
sabse jab tab kab phir abhi kabhi lekin magar agar warna karna karta karti karte kiya kiye karo karen karke
raha rahi rahe rehna rehta gaya gayi gaye jata jati jate diya liya liye lekar dekar sakta sakti sakte
chahiye chahta chahti chahte dena lena dekha dekho dekhna suna suno sunna bolna bahut bohot bahot
zindagi jeevan saath dwara evam pehle pahle baad bahar upar neeche
""".split())

# The romanised languages recognised, as (language, lexicon); the lexicons share no word.
ROMANISED_LEXICONS: dict[str, frozenset[str]] = {"bn": ROMANISED_BANGLA_WORDS, "hi": ROMANISED_HINDI_WORDS}
# Which lexicon, if any, a lyric's Latin lines are written in is a likelihood-ratio test of two word rates: in
# text of its language a lexicon covers about ROMANISED_RATE_IN of the words (function words are a third to a
# half of running text; formal text and Bangla, which writes case markers as suffixes, sit at the low end), in
# text of any other language at most ROMANISED_RATE_OUT (its words that are common elsewhere were left out).
# With these rates one hit in about 30 words decides; ROMANISED_MIN_HITS keeps one stray word from deciding.
ROMANISED_RATE_IN = 0.10
ROMANISED_RATE_OUT = 0.005
ROMANISED_MIN_HITS = 3
# A Latin line that py3langid gives to a profile language with this probability is that language, whatever
# the lexicons say (Spanish "amar", "tomar" and French "ami" are also romanised Bangla words). py3langid never
# comes near this on romanised Bangla or Hindi lines in a profile language (it answers Javanese, Shona, Uzbek...).
LANGID_CONFIDENT = 0.9
MIXTURE_ITERATIONS = 50  # EM steps for a lyric's language proportions (converges in far fewer on real lyrics)


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    """py3langid's identifier with normalised probabilities (loads its bundled model once, ~1 s)."""
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def script_counts(text: str) -> Counter[str]:
    """Letters of ``text`` per Unicode script (names of :data:`KNOWN_SCRIPTS`, others as ``"Unknown"``)."""
    return Counter(m.lastgroup for m in _SCRIPT_LETTER.finditer(text))


@lru_cache(maxsize=65536)
def _line_ranking(line: str) -> tuple[tuple[str, float], ...]:
    """py3langid's probabilities of every language of its model for one line, most likely first."""
    return tuple(_identifier().rank(line))


def _romanised_hits(text: str) -> tuple[dict[str, int], int]:
    """(words of ``text`` in each lexicon of :data:`ROMANISED_LEXICONS`, ASCII words of ``text``)."""
    latin = [w for w in words(text) if w.isascii()]
    return {lang: sum(w in lex for w in latin) for lang, lex in ROMANISED_LEXICONS.items()}, len(latin)


def romanised_scores(text: str) -> dict[str, float]:
    """Share of the ASCII words of ``text`` in each romanised lexicon (``"bn"``, ``"hi"``); 0.0 without any.

    Parameters
    ----------
    text : str
        Normalised text (lowercase).
    """
    hits, n = _romanised_hits(text)
    return {lang: h / n if n else 0.0 for lang, h in hits.items()}


def _is_latin(line: str) -> bool:
    return script_counts(line)["Latin"] > len(_LETTER.findall(line)) / 2


def _claimed(line: str) -> bool:
    """py3langid is sure the line is in a profile language."""
    top, p = _line_ranking(line)[0]
    return top in PROFILE_LANGUAGES and p >= LANGID_CONFIDENT


def romanised_language(lines: Sequence[str]) -> str | None:
    """``"bn"`` or ``"hi"`` when the Latin lines that py3langid cannot place are romanised Bangla or Hindi, else None.

    Among the Latin-script lines not claimed by py3langid (:data:`LANGID_CONFIDENT`), ``h`` of ``n`` words in a
    lexicon: the lexicon wins when ``h >= ROMANISED_MIN_HITS`` and the log-likelihood ratio
    ``h log(r_in / r_out) + (n - h) log((1 - r_in) / (1 - r_out))`` of the rates :data:`ROMANISED_RATE_IN` and
    :data:`ROMANISED_RATE_OUT` is positive; of two, the one with the larger ratio.

    Parameters
    ----------
    lines : sequence of str
        Normalised lines of one lyric.
    """
    # Distinct lines: a chorus repeated five times is one piece of evidence, not five.
    unclaimed = "\n".join(ln for ln in dict.fromkeys(lines) if _is_latin(ln) and not _claimed(ln))
    if not unclaimed:
        return None
    hits, n = _romanised_hits(unclaimed)
    hit_llr = np.log(ROMANISED_RATE_IN / ROMANISED_RATE_OUT)
    miss_llr = np.log((1.0 - ROMANISED_RATE_IN) / (1.0 - ROMANISED_RATE_OUT))
    llr = {lang: h * hit_llr + (n - h) * miss_llr for lang, h in hits.items() if h >= ROMANISED_MIN_HITS}
    best = max(llr, key=lambda k: llr[k], default=None)
    return best if best is not None and llr[best] > 0 else None


def _decide_language(norm: str, counts: Counter[str], probs: np.ndarray, roman: str | None) -> str:
    total = sum(counts.values())
    if total == 0 or counts["Unknown"] > total / 2:
        return "und"  # no letters (emoji, punctuation) or mostly a script the model has never seen
    if roman and counts["Latin"] > total / 2 and int(np.argmax(probs)) == PROFILE_LANGUAGES.index(roman):
        return f"{roman}-Latn"
    lang = _identifier().classify(norm)[0]
    return "und" if lang == "zxx" else lang


def detect_language(text: str) -> str:
    """The language of a lyric as an ISO 639 code: ``"en"``, ``"bn"``, ..., ``"bn-Latn"``, ``"hi-Latn"`` or ``"und"``.

    ``"bn-Latn"`` is romanised Bangla, ``"hi-Latn"`` romanised Hindi: mostly Latin letters, the lexicon of that
    language wins on the lines py3langid cannot place (:func:`romanised_language`) and that language has the
    largest share of the lyric. ``"und"`` is returned for text without letters (empty, punctuation, emoji) and for
    text mostly in a script outside :data:`KNOWN_SCRIPTS` (e.g. Ol Chiki), where the model would only guess.
    Otherwise the language py3langid finds in the whole text; :func:`language_profile` gives the proportions
    of a code-mixed lyric.
    """
    return _profile_of(normalise(text))[1]


def profile_names() -> list[str]:
    """Column names of :attr:`TextFeatureSet.profile`, in order."""
    return ([f"script_{s}" for s in PROFILE_SCRIPTS] + ["script_other"]
            + [f"romanised_{name}" for name in ("bangla", "hindi")]
            + [f"lang_{c}" for c in PROFILE_LANGUAGES] + ["lang_other"])


def mixture_proportions(likelihoods: np.ndarray, weights: np.ndarray, *,
                        iterations: int = MIXTURE_ITERATIONS) -> np.ndarray:
    """Maximum-likelihood mixing proportions of languages in a text from per-line language evidence (EM).

    Line ``i`` is taken to be in one language drawn from the text's proportions ``pi``; ``likelihoods[i, l]`` is
    proportional to the probability of the line if it is in language ``l``. EM maximises
    ``sum_i weights[i] * log(sum_l pi[l] * likelihoods[i, l])``, a concave function of ``pi``: a language that
    explains many lines gathers their mass, so short lines that py3langid spreads over neighbours (Hindi, Marathi,
    Nepali) are pulled to the language of the rest of the text, while a line clearly in another language (an
    English line in a Bangla song) keeps its share.

    Parameters
    ----------
    likelihoods : np.ndarray [shape=(n_lines, n_languages)], non-negative
    weights : np.ndarray [shape=(n_lines,)], e.g. letters per line

    Returns
    -------
    np.ndarray [shape=(n_languages,)], non-negative, summing to 1
    """
    lik = np.asarray(likelihoods, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64) / max(float(np.sum(weights)), 1e-12)
    rows = lik / np.maximum(lik.sum(1, keepdims=True), 1e-300)
    pi = w @ rows  # start from the letter-weighted average of the lines' posteriors
    for _ in range(iterations):
        post = rows * pi
        post /= np.maximum(post.sum(1, keepdims=True), 1e-300)
        new = w @ post
        if np.abs(new - pi).max() < 1e-7:
            return new / new.sum()
        pi = new
    return pi / pi.sum()


def _language_probabilities(norm: str, roman: str | None) -> np.ndarray:
    """Language proportions of a lyric over PROFILE_LANGUAGES and "other". [shape=(len(PROFILE_LANGUAGES) + 1,)]

    Each distinct line (a repeated chorus counts its letters, not its repeats) gets py3langid's probabilities
    over every language of its model. In a lyric whose Latin lines are romanised Bangla or Hindi (``roman``, from
    :func:`romanised_language`), a Latin line counts for that language when it holds a lexicon word,
    and otherwise with the weight py3langid does not give to a confident profile language: a romanised line
    is noise to py3langid, an English line in a Hinglish song is English. The lines are then combined by
    :func:`mixture_proportions`, so code-mixing stays visible (a Bengali song with one English line in four gets
    about a quarter of "en") while py3langid's hesitations on short lines are not.
    """
    ident = _identifier()
    weights: Counter[str] = Counter()
    for line in norm.splitlines():
        n = len(_LETTER.findall(line))
        if n:
            weights[line] += n
    lines = list(weights)
    if not lines:
        return np.zeros(len(PROFILE_LANGUAGES) + 1)
    classes = list(ident.nb_classes)
    col = {c: i for i, c in enumerate(classes)}
    lik = np.zeros((len(lines), len(classes) + 1))  # last column: a romanised language not in py3langid's model
    lexicon = ROMANISED_LEXICONS.get(roman or "", frozenset())
    for i, line in enumerate(lines):
        ranked = _line_ranking(line)
        for lang, p in ranked:
            lik[i, col[lang]] = p
        if roman and _is_latin(line):
            top, p_top = ranked[0]
            ours = 1.0 if any(w in lexicon for w in words(line)) else 1.0 - (p_top if top in PROFILE_LANGUAGES else 0)
            lik[i, :-1] *= 1.0 - ours
            lik[i, -1] = ours
    pi = mixture_proportions(lik, np.array([weights[ln] for ln in lines], dtype=np.float64))
    out = np.zeros(len(PROFILE_LANGUAGES) + 1)
    for j, lang in enumerate(PROFILE_LANGUAGES):
        out[j] = pi[col[lang]] if lang in col else 0.0
    if roman:
        out[PROFILE_LANGUAGES.index(roman)] += pi[-1]
    out[-1] = max(0.0, 1.0 - out[:-1].sum())
    return out / max(out.sum(), 1e-12)


def language_profile(text: str) -> tuple[np.ndarray, str]:
    """Profile vector and detected language of one lyric (see :func:`profile_names`).

    Returns
    -------
    profile : np.ndarray [shape=(len(profile_names()),), dtype=float32]
        Script shares (fractions of letters, summing to 1), the romanised-Bangla and romanised-Hindi scores in
        [0, 1], and language proportions (summing to 1; romanised lines count for their language). All zeros
        for a text without letters.
    language : str
        As :func:`detect_language`.
    """
    return _profile_of(normalise(text))


def _profile_of(norm: str) -> tuple[np.ndarray, str]:
    counts = script_counts(norm)
    total = sum(counts.values())
    vec = np.zeros(len(profile_names()), dtype=np.float32)
    if total == 0:
        return vec, "und"
    shares = [sum(counts[s] for s in group) / total for group in PROFILE_SCRIPTS.values()]
    vec[: len(shares)] = shares
    vec[len(shares)] = max(0.0, 1.0 - sum(shares))
    scores = romanised_scores(norm)
    vec[len(shares) + 1] = scores["bn"]
    vec[len(shares) + 2] = scores["hi"]
    roman = romanised_language(norm.splitlines())
    vec[len(shares) + 3:] = probs = _language_probabilities(norm, roman)
    return vec, _decide_language(norm, counts, probs, roman)


# --------------------------------------------------------------------------------------------------
# Collection features
# --------------------------------------------------------------------------------------------------


@dataclass
class TextFeatureSet:
    """Lyrics features of a collection, one row per input text, in input order.

    Rows of tracks without usable lyrics (``present`` False) are all zeros in ``embedding`` and ``profile``
    and must be masked out (or imputed) by the caller: zeros, not NaN, so that array code does not break,
    but they are not a text and must not be clustered as one.
    """

    embedding: np.ndarray  # [shape=(n, n_components), dtype=float32], unit rows where present; unused columns 0
    present: np.ndarray  # [shape=(n,), dtype=bool], False for missing lyrics
    profile: np.ndarray  # [shape=(n, len(profile_names)), dtype=float32], see profile_names
    profile_names: list[str]
    languages: list[str | None]  # detect_language of each text; None where missing


# Per channel; the most frequent tokens are kept. Bounds memory and SVD time on large collections.
MAX_FEATURES = 200_000


def _identity(tokens: list[str]) -> list[str]:
    return tokens


@lru_cache(maxsize=65536)
def _word_grams(word: str, lo: int, hi: int) -> tuple[str, ...]:
    """Grapheme n-grams of one word padded with spaces, like scikit-learn's ``char_wb`` but on graphemes."""
    g = [" ", *graphemes(word), " "]
    out = []
    for n in range(lo, hi + 1):
        if len(g) <= n:
            out.append("".join(g))
            break
        out.extend("".join(g[i:i + n]) for i in range(len(g) - n + 1))
    return tuple(out)


def _channels(norm: str, grapheme_ngrams: tuple[int, int]) -> tuple[list[str], list[str], list[str]]:
    """Tokens of the three channels of one normalised text: words, grapheme n-grams, phonetic keys."""
    word_tokens: list[str] = []
    gram_tokens: list[str] = []
    key_tokens: list[str] = []
    for line in norm.splitlines():
        ws = words(line)
        word_tokens.extend(ws)
        word_tokens.extend(f"{a} {b}" for a, b in zip(ws, ws[1:], strict=False))
        for w in ws:
            gram_tokens.extend(_word_grams(w, *grapheme_ngrams))
        keys = [k for k in map(phonetic_key, ws) if k]
        key_tokens.extend(keys)
        key_tokens.extend(f"{a} {b}" for a, b in zip(keys, keys[1:], strict=False))
    return word_tokens, gram_tokens, key_tokens


def _tfidf(docs: list[list[str]]) -> sp.csr_matrix | None:
    """Sublinear TF-IDF with L2 rows over pre-tokenised documents; None when no document has a token."""
    if not any(docs):
        return None
    # Sublinear tf: a chorus sung four times should not weigh four times as much as a verse.
    vec = TfidfVectorizer(analyzer=_identity, lowercase=False, sublinear_tf=True, max_features=MAX_FEATURES,
                          dtype=np.float32)
    return vec.fit_transform(docs).tocsr()


def lyrics_features(texts: Sequence[str | None], *, n_components: int = 32, seed: int = 0,
                    grapheme_ngrams: tuple[int, int] = (2, 4), phonetic: bool = True) -> TextFeatureSet:
    """Embed a collection's lyrics (TF-IDF of Unicode-aware tokens, truncated SVD) and profile their languages.

    Each present text gives three token channels: word unigrams and bigrams (within a line), grapheme
    n-grams inside words, and phonetic-key unigrams and bigrams (:func:`phonetic_key`). Each channel is a
    sublinear TF-IDF matrix with unit rows; the channels are concatenated with equal weight, reduced by
    ``TruncatedSVD`` and rows are L2-normalised. Labels are never used.

    Parameters
    ----------
    texts : sequence of str or None [shape=(n,)]
        Raw lyrics (``Track.lyrics_text``, as the dataset readers decoded them); ``None`` or a text without
        letters is missing.
    n_components : int
        Width of the embedding. When the present texts span fewer dimensions (few or identical texts), the
        unused columns are zero; one present text gets the unit vector ``e_0``. A present text that shares
        no token with any other text gets a zero row (it is unrelated to all of them).
    seed : int
        Seed of the randomized SVD: the same inputs and seed give the same embedding.
    grapheme_ngrams : (int, int)
        Smallest and largest n of the grapheme n-grams (word boundaries count as a grapheme).
    phonetic : bool
        Include the phonetic-key channel (links romanised and native-script spellings).

    Returns
    -------
    TextFeatureSet
        ``embedding`` [shape=(n, n_components)], ``present`` [shape=(n,)], ``profile`` [shape=(n, p)].
        With no text present: all rows zero and ``present`` all False (no error: lyrics are optional).

    Raises
    ------
    ConfigError
        ``n_components`` below 1 or an empty ``grapheme_ngrams`` range.
    """
    lo, hi = grapheme_ngrams
    if n_components < 1 or not 1 <= lo <= hi:
        raise ConfigError(f"lyrics features need n_components >= 1 and 1 <= grapheme_ngrams[0] <= grapheme_ngrams[1]; "
                          f"got n_components={n_components}, grapheme_ngrams={grapheme_ngrams}.")
    n = len(texts)
    names = profile_names()
    embedding = np.zeros((n, n_components), dtype=np.float32)
    profile = np.zeros((n, len(names)), dtype=np.float32)
    languages: list[str | None] = [None] * n
    norms = [normalise(t) if t else "" for t in texts]
    present = np.array([bool(_LETTER.search(t)) for t in norms], dtype=bool)
    idx = np.flatnonzero(present)
    for i in idx:
        profile[i], languages[i] = _profile_of(norms[i])
    if idx.size == 0:
        return TextFeatureSet(embedding, present, profile, names, languages)

    channels = list(zip(*(_channels(norms[i], grapheme_ngrams) for i in idx), strict=True))
    if not phonetic:
        channels = channels[:2]
    blocks = [m for m in (_tfidf(list(docs)) for docs in channels) if m is not None]
    x = sp.hstack(blocks, format="csr") * np.float32(1.0 / np.sqrt(len(blocks)))
    k = min(n_components, idx.size, x.shape[1])
    if idx.size == 1 or x.shape[1] < 2:
        z = np.zeros((idx.size, 1), dtype=np.float32)
        z[:, 0] = 1.0
    else:
        svd = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=7, random_state=seed)
        with np.errstate(invalid="ignore", divide="ignore"):  # explained_variance_ratio_ of identical texts is 0/0
            z = svd.fit_transform(x).astype(np.float32)
        # Directions beyond the data's rank are rounding noise: zero them so identical texts stay identical.
        s = svd.singular_values_
        z[:, s < 1e-5 * max(float(s.max()), 1e-30)] = 0.0
    z /= np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    embedding[idx, : z.shape[1]] = z
    return TextFeatureSet(embedding, present, profile, names, languages)
