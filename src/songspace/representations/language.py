"""``language``: which language each track is sung in, or that it is instrumental, from its lyrics and its audio.

Not learned, nothing trained on labels; every track is placed, with or without a lyrics file.

Geometry: one axis per language of the lyrics profile (:data:`songspace.features.langid.PROFILE_LANGUAGES` and
"other"), an *instrumental* axis and a *sung, language unknown* axis. A track's vector is a probability-like
mixture over these axes (non-negative, summing to 1), so distances compare "what is sung, if anything":

- ``s`` is how sure we are that the track is sung. From the audio, ``v`` = the vocal-presence score
  (:func:`songspace.features.vocal.vocal_presence`: coherent pitch motion of the lead partials), averaged with a
  *lyrics-guided* estimate ``q`` when the collection allows it: a logistic regression from the audio statistics to
  "has a lyrics file", fitted out of fold and rescaled as positive-unlabelled learning (Elkan & Noto, 2008), which
  says how much a track sounds like the collection's tracks with lyrics. A regression that cannot tell the two
  apart would call every track sung, so ``q`` counts with a weight ``w`` from its out-of-fold AUC for "has a
  lyrics file" (no label is read; :func:`guide_weight`): 1 when the AUC is 3 null standard errors above chance or
  more, 0 at 1 or less; ``s_audio = (v + w q) / (1 + w)``. On hybrid_music_dev the average of the two separates
  sung from instrumental tracks without lyrics better (AUC 0.97) than either (0.91 audio, 0.96 guided). A lyrics
  file is itself strong evidence of singing: with one, ``s = 1 - (1 - s_audio)(1 - lyrics_trust)``, else
  ``s = s_audio``.
- A track with lyrics puts ``s`` on its language proportions (script-aware, romanised Bangla and Hindi counted as
  Bangla and Hindi, code-mixed lyrics split between their languages; see :mod:`songspace.features.langid`) and
  ``1 - s`` on *instrumental*.
- A track without lyrics puts ``1 - s`` on *instrumental*; of ``s``, the share ``audio_language`` goes to the
  language its nearest tracks with lyrics in timbre (MFCC statistics: singer and production, i.e. mostly the artist,
  who mostly sings in one language) are sung in, the rest to *sung, language unknown*. The audio-only language cue
  is weak (about half right on hybrid_music_dev's sung tracks without lyrics, where a majority guess is a quarter):
  it places such a track with a plausible language group instead of with the instrumentals, not reliably with its own.

So instrumentals gather at the *instrumental* vertex, tracks with lyrics at their language's vertex (code-mixed ones on
the edge between two), and sung tracks without lyrics near the vertex their audio suggests, pulled towards
*unknown*; a doubtful vocal score puts a track part-way between *instrumental* and a language.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from songspace.representations.spec import BOTH, RepresentationSpec

if TYPE_CHECKING:
    from songspace.representations.base import Context, Inputs, Representation

MIN_GUIDE_TRACKS = 5  # tracks with and without lyrics each, below which the lyrics-guided estimate is skipped
VOCAL_BATCH = 64  # log-mel rows read at a time (a memmap stays on disk)


class LanguageParams(BaseModel):
    """``[representations.params.language]``."""

    model_config = ConfigDict(extra="forbid")

    # How sure a lyrics file makes us that a track is sung, before the audio is heard.
    lyrics_trust: float = Field(0.9, ge=0.0, le=1.0)
    # Average the audio vocal score with how much a track sounds like the collection's tracks with lyrics.
    lyrics_guided: bool = True
    # Share of a sung track without lyrics given to the language of its audio neighbours (the rest: "unknown").
    audio_language: float = Field(0.8, ge=0.0, le=1.0)
    # Tracks with lyrics that vote on the language of a track without (nearest in timbre).
    neighbours: int = Field(10, ge=1)


def vocal_scores(inputs: Inputs, *, sample_rate: int, hop_length: int, fmin: float, fmax: float | None) -> np.ndarray:
    """:func:`songspace.features.vocal.vocal_presence` of every track, read in batches. [shape=(n,), in [0, 1]]"""
    from songspace.features.vocal import vocal_presence
    from songspace.training import read_rows

    n = len(inputs.log_mel)
    out = np.zeros(n, dtype=np.float32)
    for start in range(0, n, VOCAL_BATCH):
        rows = read_rows(inputs.log_mel, slice(start, start + VOCAL_BATCH)).astype(np.float32)
        out[start:start + len(rows)] = vocal_presence(rows, sample_rate=sample_rate, hop_length=hop_length,
                                                      fmin=fmin, fmax=fmax)
    return out


def lyrics_guided_presence(audio: np.ndarray, has_lyrics: np.ndarray, *,
                           seed: int) -> tuple[np.ndarray, float] | None:
    """How much each track sounds like the tracks with lyrics, as a probability of being sung, and how reliably.

    Positive-unlabelled learning (Elkan & Noto, 2008): tracks with lyrics are sung (positive), tracks without are a
    mix of instrumentals and sung tracks whose lyrics are missing (unlabelled). A classifier ``g(x) = P(lyrics | x)``
    fitted on the audio, divided by ``c`` = its mean over the positives, estimates ``P(sung | x)`` when lyrics are
    missing at random among sung tracks. Each track's ``g`` comes from a model fitted without it (stratified folds),
    so a track is never scored by a model that saw its own lyrics flag.

    Parameters
    ----------
    audio : np.ndarray [shape=(n, d)], standardised audio features
    has_lyrics : np.ndarray [shape=(n,), dtype=bool]
    seed : int, the fold split

    Returns
    -------
    q : np.ndarray [shape=(n,)] in [0, 1]
    auc : float, the out-of-fold AUC of ``g`` for "has lyrics" (1/2: the audio says nothing about it)
    or None when fewer than :data:`MIN_GUIDE_TRACKS` tracks have lyrics or lack them (nothing to learn from).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    has_lyrics = np.asarray(has_lyrics, dtype=bool)
    n_pos, n_neg = int(has_lyrics.sum()), int((~has_lyrics).sum())
    if min(n_pos, n_neg) < MIN_GUIDE_TRACKS:
        return None
    g = np.zeros(len(audio))
    folds = StratifiedKFold(n_splits=min(10, n_pos, n_neg), shuffle=True, random_state=seed)
    for fit, held in folds.split(audio, has_lyrics):
        # Strong L2 (C = 0.1): a few hundred tracks, ~100 statistics; we want the broad sound of sung tracks.
        clf = LogisticRegression(C=0.1, max_iter=2000).fit(audio[fit], has_lyrics[fit])
        g[held] = clf.predict_proba(audio[held])[:, 1]
    c = float(g[has_lyrics].mean())
    return np.clip(g / max(c, 1e-6), 0.0, 1.0), float(roc_auc_score(has_lyrics, g))


def guide_weight(auc: float, n_with: int, n_without: int) -> float:
    """How much the lyrics-guided estimate counts, in [0, 1], from its out-of-fold AUC for "has a lyrics file".

    ``z = (auc - 1/2) / se`` with ``se = sqrt((n_with + n_without + 1) / (12 n_with n_without))``, the standard error
    of an AUC under chance (Mann-Whitney); the weight rises from 0 at ``z = 1`` to 1 at ``z = 3``.
    """
    se = np.sqrt((n_with + n_without + 1) / (12.0 * max(n_with, 1) * max(n_without, 1)))
    return float(np.clip(((auc - 0.5) / se - 1.0) / 2.0, 0.0, 1.0))


def audio_language_guess(timbre: np.ndarray, probs: np.ndarray, has_lyrics: np.ndarray, *, k: int) -> np.ndarray:
    """The language that most of each track's ``k`` nearest tracks with lyrics (in ``timbre``) are sung in.

    Parameters
    ----------
    timbre : np.ndarray [shape=(n, d)]
    probs : np.ndarray [shape=(n, n_languages)], language proportions (rows of tracks without lyrics ignored)
    has_lyrics : np.ndarray [shape=(n,), dtype=bool]

    Returns
    -------
    np.ndarray [shape=(n, n_languages)], one-hot rows (the neighbours' mean proportions, their largest entry);
    all zeros when no track has lyrics. A track with lyrics is not its own neighbour.
    """
    from sklearn.neighbors import NearestNeighbors

    has_lyrics = np.asarray(has_lyrics, dtype=bool)
    out = np.zeros_like(probs, dtype=np.float32)
    ref = np.flatnonzero(has_lyrics)
    if ref.size == 0:
        return out
    kk = min(k + 1, ref.size)
    _, idx = NearestNeighbors(n_neighbors=kk).fit(timbre[ref]).kneighbors(timbre)
    for i, row in enumerate(ref[idx]):
        row = row[row != i][:k] if has_lyrics[i] and row.size > 1 else row[:k]
        out[i, int(np.argmax(probs[row].mean(0)))] = 1.0
    return out


def language_space(probs: np.ndarray, has_lyrics: np.ndarray, sung: np.ndarray, guess: np.ndarray, *,
                   lyrics_trust: float, audio_language: float) -> np.ndarray:
    """The geometry of the module docstring. [shape=(n, n_languages + 2)]: languages, instrumental, unknown.

    Parameters
    ----------
    probs : np.ndarray [shape=(n, n_languages)], language proportions of the lyrics (rows without lyrics ignored)
    has_lyrics : np.ndarray [shape=(n,), dtype=bool]
    sung : np.ndarray [shape=(n,)], the audio's probability that the track is sung, in [0, 1]
    guess : np.ndarray [shape=(n, n_languages)], :func:`audio_language_guess` (all zeros: no guess)
    """
    has = np.asarray(has_lyrics, dtype=bool)
    sung = np.clip(np.asarray(sung, dtype=np.float64), 0.0, 1.0)
    s = np.where(has, 1.0 - (1.0 - sung) * (1.0 - lyrics_trust), sung)
    L = probs.shape[1]
    X = np.zeros((len(s), L + 2))
    p = np.asarray(probs, dtype=np.float64)
    p = p / np.maximum(p.sum(1, keepdims=True), 1e-12)
    X[has, :L] = s[has, None] * p[has]
    has_guess = np.asarray(guess).sum(1) > 0
    share = np.where(has_guess, audio_language, 0.0)
    X[~has, :L] = (s * share)[~has, None] * np.asarray(guess, dtype=np.float64)[~has]
    X[~has, L + 1] = (s * (1.0 - share))[~has]
    X[:, L] = 1.0 - s
    return X.astype(np.float32)


def build(ctx: Context) -> Representation:
    from songspace.features.langid import PROFILE_LANGUAGES
    from songspace.representations.base import Representation, mfcc_columns

    params: LanguageParams = ctx.params(SPEC.name)
    inputs, feat = ctx.inputs, ctx.cfg.features
    n = len(inputs.stats)
    v = vocal_scores(inputs, sample_rate=feat.sample_rate, hop_length=feat.hop_length, fmin=feat.fmin, fmax=feat.fmax)
    lyr = inputs.lyrics
    n_lang = len(PROFILE_LANGUAGES) + 1
    if lyr is not None and lyr.present.any():
        has = lyr.present.astype(bool)
        probs = lyr.profile[:, [i for i, name in enumerate(lyr.profile_names) if name.startswith("lang_")]]
    else:
        has, probs = np.zeros(n, dtype=bool), np.zeros((n, n_lang), dtype=np.float32)
    notes = [f"vocal presence (audio) > 0.5 on {np.mean(v > 0.5):.0%} of tracks"
             + (f", {np.mean(v[has] > 0.5):.0%} of those with lyrics" if has.any() else "")]
    sung = v
    stats = inputs.standardised_stats()
    guided = lyrics_guided_presence(np.hstack([stats, np.log(v[:, None] + 1e-3)]), has, seed=ctx.cfg.seed) \
        if params.lyrics_guided else None
    if guided is not None:
        q, auc = guided
        w = guide_weight(auc, int(has.sum()), int((~has).sum()))
        sung = (v + w * q) / (1.0 + w)
        notes.append(f"vocal presence averaged with a lyrics-guided estimate (positive-unlabelled logistic regression "
                     f"on the audio statistics; out-of-fold AUC for 'has lyrics' {auc:.2f}, weight {w:.2f})")
    cols = mfcc_columns(inputs.stat_names, stats.shape[1])
    timbre = stats[:, cols] if len(cols) else stats
    guess = audio_language_guess(timbre, probs, has, k=params.neighbours)
    X = language_space(probs, has, sung, guess, lyrics_trust=params.lyrics_trust,
                       audio_language=params.audio_language)
    if (~has).any():
        notes.append(f"{(~has).sum()} tracks without lyrics: {np.mean(sung[~has] > 0.5):.0%} placed as sung, their "
                     "language guessed from the nearest tracks with lyrics in timbre (a weak cue)")
    return Representation(SPEC.name, X, f"language proportions of the lyrics, instrumental and "
                          f"sung-unknown axes, weighted by vocal presence ({X.shape[1]}-d)", notes=notes)


SPEC = RepresentationSpec(
    name="language", default=True, modality=BOTH, build=build, reads_lyrics=True, params=LanguageParams,
    description="which language a track is sung in, or that it is instrumental: lyrics language proportions "
                "weighted by a vocal-presence score from the audio; tracks without lyrics placed by their audio")
