"""Lyrics features: Bengali-safe tokenisers, language profile, TF-IDF + SVD embedding.

Decoding lyrics files is the datasets stage's job: see the lyrics tests in ``tests/test_datasets_real.py``.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from songspace.errors import ConfigError
from songspace.features.langid import (
    detect_language,
    language_profile,
    mixture_proportions,
    profile_names,
    romanised_language,
)
from songspace.features.text import lyrics_features
from songspace.features.tokens import graphemes, normalise, phonetic_key, words

YA_NUKTA_PRECOMPOSED = "\u09df"  # য় as one code point
YA_NUKTA_DECOMPOSED = "\u09af\u09bc"  # য + ়
HRIDOY = "হৃদ" + YA_NUKTA_PRECOMPOSED

BN_SONG = "আমি তোমায় ভালোবাসি\nতুমি আমার হৃদয়ের গান\nরাতের আকাশে চাঁদ জ্বলে\nস্বপ্নে তোমার মুখ"
BN_SONG_2 = "তুমি আমার আকাশ\nআমি তোমার চাঁদ\nহঠাৎ বৃষ্টি নামে\nভালোবাসি তোমায়"
EN_SONG = "I walk alone along the river\nthe night is cold and I remember you\nsing me home tonight"
EN_SONG_2 = "hold my hand along the river\nthe night is long, remember me\nsing me home again"
BANGLISH_SONG = "ami tomay bhalobashi\ntumi amar hridoyer gaan\nrater akashe chand jwole\nshopne tomar mukh"
HINGLISH_SONG = "main tumse pyaar karta hoon\ntum meri zindagi ho\nkya tum jaanti ho mera dil kahan hai"
HI_SONG = "मैं तुमसे प्यार करता हूँ\nतुम मेरी ज़िंदगी हो\nयह रात बहुत लंबी है"
DE_SONG = "Ich gehe allein durch die dunkle Nacht\nund denke an dich, mein Herz ist schwer"
ES_SONG = "Camino solo por la noche oscura\ny pienso en ti, mi corazón está cansado"


def _category(ch: str) -> str:
    return unicodedata.category(ch)


# --- tokenisers --------------------------------------------------------------------------------------------


def test_default_token_pattern_breaks_bengali_but_words_keep_it() -> None:
    text = normalise(f"{HRIDOY} স্বপ্ন হঠাৎ")  # NFC: য় is য + nukta
    broken = CountVectorizer().build_analyzer()(text)
    assert broken == ["দয", "বপ", "হঠ"]  # the example: হৃদয় mangled to দয; vowel signs and hasanta cut
    assert words(text) == [normalise(HRIDOY), "স্বপ্ন", "হঠাৎ"]


@pytest.mark.parametrize("base", ["\u09af", "\u09a1", "\u09a2"])  # য় ড় ঢ়
def test_both_nukta_encodings_normalise_equal(base: str) -> None:
    precomposed = {"\u09af": "\u09df", "\u09a1": "\u09dc", "\u09a2": "\u09dd"}[base]
    a, b = normalise(f"হৃদ{precomposed}"), normalise(f"হৃদ{base}\u09bc")
    assert a == b
    assert words(a) == [a]  # the nukta stays inside the word


@pytest.mark.parametrize("word", [
    "স্বপ্ন",  # conjuncts with hasanta
    "ক্ষমা",  # ক্ষ
    "হঠাৎ",  # khanda ta
    "বাংলা",  # anusvara
    "নিঃশ্বাস",  # visarga
    "চাঁদ",  # candrabindu
    "কৃষ্ণ",  # vocalic r sign and conjunct
    "ভালোবাসি",  # vowel signs o and i
    "মৌমাছি",  # two-part vowel sign au
])
def test_words_keep_bengali_words_whole(word: str) -> None:
    assert words(word) == [word]
    assert words(f"  {word}, {word}! ") == [word, word]


def test_graphemes_never_split_a_consonant_from_its_signs() -> None:
    text = normalise(BN_SONG + " ক্ষমা হঠাৎ নিঃশ্বাস মৌমাছি")
    gs = graphemes(text)
    assert "".join(gs) == text
    for g in gs:  # no cluster starts with a vowel sign, hasanta, nukta or candrabindu
        assert not _category(g[0]).startswith("M"), g
    assert "মা" in graphemes("ক্ষমা")  # ma + aa-kar is one cluster
    assert graphemes("হৃদয়")[0] == "হৃ"


def test_normalise_joiners_and_old_khanda_ta() -> None:
    assert normalise("হঠাত্\u200d") == "হঠাৎ"  # pre-Unicode-4.1 khanda ta spelling
    assert normalise("র\u200d্যাব") == "র্যাব"  # ZWJ only chooses a rendering
    assert normalise("ক্\u200cষ") == "ক্ষ"
    assert words("ক্\u200cষমা") == ["ক্\u200cষমা"]  # without normalising, joiners still do not split words


def test_normalise_html_sections_case_and_whitespace() -> None:
    raw = "<div><b>[Chorus]</b><br>Don’t  STOP&nbsp;me<br/>\n\n\n[00:12.34]  আমার\tমন  </div>"
    assert normalise(raw) == "don't stop me\n\nআমার মন"


def test_words_in_english_and_mixed_lines() -> None:
    assert words(normalise("Don't stop, আমার মন! 2024 x")) == ["don't", "stop", "আমার", "মন", "x"]
    assert words("track 2 ০৯", digits=True) == ["track", "2", "০৯"]


@pytest.mark.parametrize("native,roman", [
    ("ভালোবাসি", "bhalobashi"), ("হৃদয়", "hridoy"), ("তোমাকে", "tomake"), ("স্বপ্ন", "shopno"),
    ("বাড়ি", "bari"), ("যদি", "jodi"), ("ছিল", "chhilo"), ("पहाड़", "pahar"),
])
def test_phonetic_key_links_native_and_romanised_spellings(native: str, roman: str) -> None:
    assert phonetic_key(normalise(native)) == phonetic_key(roman) != ""


# --- language profile and detection ------------------------------------------------------------------------


def test_profile_shares_and_probabilities_sum_to_one() -> None:
    names = profile_names()
    scripts = [i for i, n in enumerate(names) if n.startswith("script_")]
    langs = [i for i, n in enumerate(names) if n.startswith("lang_")]
    for text in (BN_SONG, EN_SONG, BANGLISH_SONG, BN_SONG + "\n" + EN_SONG):
        vec, _ = language_profile(text)
        assert vec.shape == (len(names),)
        assert vec[scripts].sum() == pytest.approx(1.0, abs=1e-5)
        assert vec[langs].sum() == pytest.approx(1.0, abs=1e-5)
        assert 0.0 <= vec[names.index("romanised_bangla")] <= 1.0
    mixed, _ = language_profile(BN_SONG + "\n" + EN_SONG)
    assert 0.2 < mixed[names.index("script_bengali")] < 0.8
    assert mixed[names.index("lang_en")] > 0.2 and mixed[names.index("lang_bn")] > 0.2  # code-mixing stays visible
    assert not language_profile("!!! 😀")[0].any()


@pytest.mark.parametrize("text,lang", [
    (EN_SONG, "en"),
    (BN_SONG, "bn"),
    (BANGLISH_SONG, "bn-Latn"),
    ("ki kore bolbo tomake, kotota bhalobashi\ntomar hashi dekhle ami sob bhule jai", "bn-Latn"),
    ("amar es tomar el riesgo de perder, y yo quiero amar hasta el amanecer", "es"),  # not bn-Latn
    (HINGLISH_SONG, "hi-Latn"),
    ("kal raat bahut der tak jaage, kyunki tum nahin the\nab kya karen, dil mera kahin nahin lagta", "hi-Latn"),
    (HI_SONG, "hi"),
    (DE_SONG, "de"),
    (ES_SONG, "es"),
    ("ami tomake chai, but I do not know why\nami tomake chai, tumi amar shob", "bn-Latn"),  # code-mixed
    ("ᱥᱟᱱᱛᱟᱲᱤ ᱯᱟᱹᱨᱥᱤ ᱫᱚ ᱢᱤᱫ ᱯᱟᱹᱨᱥᱤ", "und"),  # Ol Chiki: a script the model never saw
    ("😀🎵🎶 ❤️", "und"),
    ("", "und"),
])
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def _lang(text: str) -> dict[str, float]:
    names = profile_names()
    vec, _ = language_profile(text)
    return {n[5:]: float(vec[i]) for i, n in enumerate(names) if n.startswith("lang_")}


@pytest.mark.parametrize("text,lang", [
    (BN_SONG, "bn"), (BANGLISH_SONG, "bn"), (HI_SONG, "hi"), (HINGLISH_SONG, "hi"), (EN_SONG, "en"),
    (DE_SONG, "de"), (ES_SONG, "es"),
])
def test_language_probabilities_whatever_the_script(text: str, lang: str) -> None:
    probs = _lang(text)
    assert probs[lang] > 0.8, probs  # romanised Bangla and Hindi count as Bangla and Hindi


@pytest.mark.parametrize("text,a,b", [
    (BN_SONG + "\n" + EN_SONG, "bn", "en"),  # Bengali script and English lines
    (HINGLISH_SONG + "\n" + EN_SONG, "hi", "en"),  # romanised Hindi and English: both Latin script
    (HI_SONG + "\n" + ES_SONG, "hi", "es"),
])
def test_code_mixed_lyrics_get_mixed_probabilities(text: str, a: str, b: str) -> None:
    probs = _lang(text)
    assert 0.25 < probs[a] < 0.75 and 0.25 < probs[b] < 0.75, probs
    assert probs[a] + probs[b] > 0.9


def test_romanised_language_needs_more_than_a_stray_word() -> None:
    assert romanised_language(BANGLISH_SONG.splitlines()) == "bn"
    assert romanised_language(HINGLISH_SONG.splitlines()) == "hi"
    assert romanised_language(EN_SONG.splitlines()) is None
    assert romanised_language(["my friend, mon ami, is here tonight and we sing along all the night"]) is None
    assert romanised_language([]) is None


def test_mixture_proportions_pool_hesitant_lines_and_keep_clear_ones() -> None:
    # Three lines hesitate between languages 0 and 1 but lean to 0; one line is clearly language 2.
    lik = np.array([[0.5, 0.4, 0.1], [0.45, 0.5, 0.05], [0.6, 0.3, 0.1], [0.0, 0.01, 0.99]])
    pi = mixture_proportions(lik, np.ones(4))
    assert pi.sum() == pytest.approx(1.0) and np.all(pi >= 0)
    assert pi[0] > 0.6 and pi[1] < 0.1  # the hesitation is resolved in favour of the text's language
    assert pi[2] == pytest.approx(0.25, abs=0.05)  # the clear line keeps its share
    np.testing.assert_allclose(mixture_proportions(lik[:1], np.ones(1)), [1, 0, 0], atol=1e-3)


# --- collection features -----------------------------------------------------------------------------------


def test_lyrics_features_with_missing_entries() -> None:
    texts = [BN_SONG, BN_SONG_2, EN_SONG, EN_SONG_2, None, " ... ", BANGLISH_SONG]
    fs = lyrics_features(texts, n_components=8, seed=0)
    assert fs.present.tolist() == [True, True, True, True, False, False, True]
    assert fs.embedding.shape == (7, 8) and fs.embedding.dtype == np.float32
    assert fs.profile.shape == (7, len(fs.profile_names))
    assert not fs.embedding[~fs.present].any() and not fs.profile[~fs.present].any()
    np.testing.assert_allclose(np.linalg.norm(fs.embedding[fs.present], axis=1), 1.0, atol=1e-5)
    assert fs.languages == ["bn", "bn", "en", "en", None, None, "bn-Latn"]
    cos = fs.embedding @ fs.embedding.T
    assert cos[0, 1] > cos[0, 2] and cos[2, 3] > cos[2, 0]  # songs are closer to their own language
    assert cos[6, 0] > cos[6, 2]  # romanised Bangla is closer to Bengali script than to English


def test_lyrics_features_nothing_present() -> None:
    fs = lyrics_features([None, "", "   "], n_components=4)
    assert fs.embedding.shape == (3, 4) and not fs.embedding.any()
    assert not fs.present.any() and fs.languages == [None, None, None]
    assert lyrics_features([], n_components=4).embedding.shape == (0, 4)


def test_lyrics_features_one_and_identical_documents() -> None:
    one = lyrics_features([None, EN_SONG], n_components=5)
    np.testing.assert_array_equal(one.embedding[1], [1, 0, 0, 0, 0])
    same = lyrics_features([BN_SONG] * 4 + [None], n_components=16, seed=3)
    assert same.embedding.shape == (5, 16)
    np.testing.assert_allclose(same.embedding[:4], np.repeat(same.embedding[:1], 4, axis=0), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(same.embedding[:4], axis=1), 1.0, atol=1e-5)


def test_lyrics_features_deterministic_for_a_seed() -> None:
    texts = [BN_SONG, EN_SONG, BANGLISH_SONG, EN_SONG_2, BN_SONG_2, None]
    a = lyrics_features(texts, n_components=3, seed=7)
    b = lyrics_features(texts, n_components=3, seed=7)
    np.testing.assert_array_equal(a.embedding, b.embedding)
    np.testing.assert_array_equal(a.profile, b.profile)
    with pytest.raises(ConfigError):
        lyrics_features(texts, n_components=0)
    with pytest.raises(ConfigError):
        lyrics_features(texts, grapheme_ngrams=(3, 2))
