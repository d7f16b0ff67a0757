"""Language identification of lyrics: the script shares, romanised-Bangla and romanised-Hindi scores and language
proportions of one lyric (its *profile*, :func:`language_profile`), and its language (:func:`detect_language`).

Language identification uses py3langid (a maintained fork of langid.py: pure Python and numpy, its model of
140 languages ships inside the wheel, about 4.5 MB, nothing is downloaded). It cannot tell romanised Bangla or
Hindi from noise (it answers Javanese, Shona, ...), so these are recognised by small lexicons of very common
function words (:data:`ROMANISED_BANGLA_WORDS`, :data:`ROMANISED_HINDI_WORDS`) and a likelihood-ratio test of
their word rates (:func:`romanised_language`), reported as ``"bn-Latn"`` and ``"hi-Latn"``. A lyric's language
proportions are estimated line by line (:func:`mixture_proportions`, EM), so code-mixed lyrics get mixed
probabilities.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import regex
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from songspace.features.tokens import LETTER, normalise, words

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
    return script_counts(line)["Latin"] > len(LETTER.findall(line)) / 2


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
    return profile_of(normalise(text))[1]


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
        n = len(LETTER.findall(line))
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
    return profile_of(normalise(text))


def profile_of(norm: str) -> tuple[np.ndarray, str]:
    """:func:`language_profile` of a lyric already normalised (:func:`songspace.features.tokens.normalise`)."""
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
