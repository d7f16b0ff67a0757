"""Lyrics features of a collection: an embedding of Unicode-aware tokens, beside each lyric's language profile.

Pipeline for one collection (:func:`lyrics_features`)::

    text -> normalise -> three token channels -> TF-IDF per channel -> weighted concatenation
         -> truncated SVD -> L2-normalised rows                              = embedding
    text -> script shares + romanised-Bangla/Hindi scores + language proportions = profile

The three channels are word uni- and bigrams, grapheme 2-4-grams inside words, and phonetic keys
(:mod:`songspace.features.tokens`, which says why scikit-learn's own tokeniser is not used). The profile is
:mod:`songspace.features.langid`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from songspace.errors import ConfigError
from songspace.features.langid import profile_names, profile_of
from songspace.features.tokens import LETTER, graphemes, normalise, phonetic_key, words


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
    present = np.array([bool(LETTER.search(t)) for t in norms], dtype=bool)
    idx = np.flatnonzero(present)
    for i in idx:
        profile[i], languages[i] = profile_of(norms[i])
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
