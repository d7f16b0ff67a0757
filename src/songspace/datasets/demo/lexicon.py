"""Word lists for the demo lyrics: real English words and real Bengali words.

Every Bengali word carries its Bengali-script spelling (NFC) and a common romanisation ("Banglish").
The romanisation doubles as the phonemic form the synthetic singer reads, so a Bengali-script song and
its Banglish version sound alike.

Words are grouped by part of speech and, for content words, by lyric theme. Themes are drawn per song
independently of the musical genre, so the words carry the language of a song and nothing else: no word
here names a genre, a style or a language (see :data:`BANNED_WORDS`, checked by the tests).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

THEMES: tuple[str, ...] = ("love", "rain", "road", "home", "night", "sea")


@dataclass(frozen=True)
class BnWord:
    """One Bengali word: its Bengali-script spelling and a common romanisation."""

    bn: str
    roman: str

    def __post_init__(self) -> None:
        # Why: some Bengali letters (য়, ড়, ঢ়) have two Unicode spellings; store the NFC one only.
        object.__setattr__(self, "bn", unicodedata.normalize("NFC", self.bn))


def _bn(pairs: str) -> tuple[BnWord, ...]:
    """Parse ``"বাংলা roman, ..."`` pairs into :class:`BnWord` s."""
    out = []
    for item in pairs.split(","):
        bn, roman = item.split()
        out.append(BnWord(bn, roman))
    return tuple(out)


# --------------------------------------------------------------------------------------------------
# English
# --------------------------------------------------------------------------------------------------

EN_SUBJECTS: tuple[str, ...] = ("I", "you", "we", "they")
EN_VERBS_TRANSITIVE: tuple[str, ...] = (
    "hold", "find", "follow", "remember", "carry", "keep", "call", "chase",
    "miss", "need", "see", "hear", "paint", "cross", "open", "light",
)  # fmt: skip
EN_VERBS_INTRANSITIVE: tuple[str, ...] = (
    "wait", "dream", "run", "sing", "stay", "fall", "shine", "drift",
    "wander", "breathe", "whisper", "burn", "fly", "sleep",
)  # fmt: skip
EN_NOUNS: dict[str, tuple[str, ...]] = {
    "love": ("heart", "hand", "eyes", "kiss", "name", "smile", "arms", "love"),
    "rain": ("rain", "cloud", "storm", "window", "thunder", "river", "umbrella", "weather"),
    "road": ("road", "mile", "dust", "wheel", "highway", "map", "bridge", "train"),
    "home": ("home", "door", "garden", "kitchen", "mother", "roof", "table", "fire"),
    "night": ("night", "moon", "star", "candle", "shadow", "midnight", "sky", "dream"),
    "sea": ("sea", "wave", "shore", "sand", "boat", "tide", "harbour", "water"),
}
EN_ADJECTIVES: tuple[str, ...] = (
    "cold", "bright", "silver", "quiet", "golden", "lonely", "gentle", "broken",
    "open", "wild", "little", "endless", "tender", "empty", "warm", "distant",
)  # fmt: skip
EN_TIMES: tuple[str, ...] = ("tonight", "tomorrow", "again", "forever", "always", "today", "slowly")
EN_PREPOSITIONS: tuple[str, ...] = ("in", "under", "by", "through", "across", "along", "over", "beyond")

# --------------------------------------------------------------------------------------------------
# Bengali (script, romanisation)
# --------------------------------------------------------------------------------------------------

BN_NOUNS: dict[str, tuple[BnWord, ...]] = {
    "love": _bn("ভালোবাসা bhalobasha, হৃদয় hridoy, প্রেম prem, মন mon, চোখ chokh, হাসি hashi, ফুল phul"),
    "rain": _bn("বৃষ্টি brishti, মেঘ megh, জল jol, বাতাস batash, আকাশ akash, জানালা janala"),
    "road": _bn("পথ poth, মাটি mati, ধুলো dhulo, গ্রাম gram, শহর shohor, পাখি pakhi"),
    "home": _bn("ঘর ghor, মা ma, উঠোন uthon, ভোর bhor, সন্ধ্যা shondhya, গান gan"),
    "night": _bn("রাত raat, চাঁদ chand, তারা tara, আঁধার andhar, স্বপ্ন shopno, আলো alo"),
    "sea": _bn("নদী nodi, সাগর sagor, ঢেউ dheu, নৌকা nouka, তীর tir, জীবন jibon"),
}
# Locative forms ("in the rain", "on the road"): Bengali marks place with a suffix, so keep whole words.
BN_PLACES: dict[str, tuple[BnWord, ...]] = {
    "love": _bn("মনে mone, চোখে chokhe, হৃদয়ে hridoye"),
    "rain": _bn("বৃষ্টিতে brishtite, মেঘে meghe, আকাশে akashe, জানালায় janalay"),
    "road": _bn("পথে pothe, মাটিতে matite, শহরে shohore"),
    "home": _bn("ঘরে ghore, ভোরে bhore, সন্ধ্যায় shondhyay"),
    "night": _bn("রাতে rate, আলোয় aloy, আকাশে akashe"),
    "sea": _bn("নদীতে nodite, সাগরে sagore, তীরে tire"),
}
# Natural subject + third-person verb pairs ("the moon rises"), by theme.
BN_CLAUSES: dict[str, tuple[tuple[BnWord, BnWord], ...]] = {
    "love": tuple(zip(_bn("ফুল phul, মন mon, চোখ chokh"), _bn("ফোটে phote, কাঁদে kande, হাসে hashe"), strict=True)),
    "rain": tuple(zip(_bn("বৃষ্টি brishti, মেঘ megh, বাতাস batash"), _bn("নামে name, ডাকে dake, বয় boy"), strict=True)),
    "road": tuple(zip(_bn("পাখি pakhi, ধুলো dhulo, পথ poth"), _bn("গায় gay, ওড়ে ore, ডাকে dake"), strict=True)),
    "home": tuple(zip(_bn("আলো alo, মা ma, ভোর bhor"), _bn("জ্বলে jole, ডাকে dake, হাসে hashe"), strict=True)),
    "night": tuple(zip(_bn("চাঁদ chand, তারা tara, আলো alo"), _bn("ওঠে othe, জ্বলে jole, ঝরে jhore"), strict=True)),
    "sea": tuple(zip(_bn("নদী nodi, নৌকা nouka, ঢেউ dheu"), _bn("বয় boy, ভাসে bhashe, ডোবে dobe"), strict=True)),
}
BN_PRONOUN_I = BnWord("আমি", "ami")
BN_PRONOUN_YOU = BnWord("তুমি", "tumi")
BN_PRONOUN_WE = BnWord("আমরা", "amra")
BN_POSSESSIVES: tuple[BnWord, ...] = _bn("আমার amar, তোমার tomar, আমাদের amader")
BN_OBJECT_YOU = BnWord("তোমায়", "tomay")
BN_TIMES: tuple[BnWord, ...] = _bn("আজ aaj, কাল kal, আবার abar, এখনো ekhono, সারাদিন saradin, ধীরে dhire")
BN_MANNERS: tuple[BnWord, ...] = _bn("দূরে dure, একা eka, চুপচাপ chupchap, কোথায় kothay")
BN_ADJECTIVES: tuple[BnWord, ...] = _bn(
    "নীল nil, লাল lal, সোনালি shonali, নতুন notun, পুরোনো purono, মিষ্টি mishti, উদাস udash, "
    "গভীর gobhir, শান্ত shanto, অন্ধকার ondhokar, সাদা shada, ভেজা bheja, একলা ekla, হারানো harano"
)
# First person ("I go"), split into motion verbs (take a place) and verbs that take an object.
BN_VERBS_I_MOTION: tuple[BnWord, ...] = _bn("যাই jai, হাঁটি hanti, ফিরি phiri, ভাসি bhashi, থাকি thaki, গাই gai")
BN_VERBS_I_OBJECT: tuple[BnWord, ...] = _bn("খুঁজি khuji, দেখি dekhi, চাই chai, ভাবি bhabi, ডাকি daki")
BN_VERBS_YOU: tuple[BnWord, ...] = _bn("আসো asho, যাও jao, গাও gao, ফেরো phero, থাকো thako")
BN_VERBS_YOU_OBJECT: tuple[BnWord, ...] = _bn("দেখো dekho, শোনো shono, ডাকো dako, বলো bolo")
BN_CALL = BnWord("ও", "o")
BN_RE = BnWord("রে", "re")

# --------------------------------------------------------------------------------------------------
# Neutral words for instrumental titles and artist names
# --------------------------------------------------------------------------------------------------

NEUTRAL_ADJECTIVES: tuple[str, ...] = (
    "Amber", "Paper", "Glass", "Copper", "Velvet", "Hollow", "Northern", "Sleepless",
    "Crimson", "Faded", "Slow", "Hidden", "Painted", "Second", "Winter", "Morning",
)  # fmt: skip
NEUTRAL_NOUNS: tuple[str, ...] = (
    "Lantern", "Orchard", "Compass", "Harbour", "Meridian", "Atlas", "Kite", "Window",
    "Current", "Echo", "Signal", "Ember", "Field", "Mirror", "Station", "Tide",
)  # fmt: skip
EN_FIRST_NAMES: tuple[str, ...] = ("Ella", "Tom", "Maya", "Jack", "Nora", "Sam", "Lucy", "Owen", "Ruth", "Leo")
EN_SURNAMES: tuple[str, ...] = ("Marsh", "Hale", "Brooks", "Keane", "Lowe", "Finch", "Wade", "Reed", "Cole")
BN_FIRST_NAMES: tuple[str, ...] = ("Rina", "Arif", "Tania", "Sohel", "Mitali", "Rahul", "Shila", "Anik", "Pia")
BN_SURNAMES: tuple[str, ...] = ("Sen", "Hossain", "Chowdhury", "Das", "Rahman", "Bose", "Akter", "Roy")

# Words that must never appear in titles or lyrics: genre/style names and language names. The demo's
# labels live only in metadata.csv; a lyric or title that named them would leak the answer.
BANNED_WORDS: frozenset[str] = frozenset(
    {
        "rock", "electronic", "electro", "techno", "house", "trance", "disco", "edm", "jazz", "swing",
        "bebop", "blues", "folk", "country", "classical", "ambient", "orchestral", "symphony", "hip",
        "hop", "hip-hop", "hiphop", "rap", "rapper", "pop", "metal", "punk", "soul", "funk", "reggae",
        "gospel", "genre", "english", "bangla", "bengali", "banglish", "language",
        "বাংলা", "ইংরেজি", "ভাষা",
    }
)  # fmt: skip
