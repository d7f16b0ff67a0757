"""The ``language`` and ``facets`` representations and the vocal-presence score they read (tiny synthetic data)."""

from __future__ import annotations

import numpy as np
import pytest

from songspace.config import RunConfig
from songspace.errors import ConfigError
from songspace.features.audio import log_mel
from songspace.features.langid import PROFILE_LANGUAGES
from songspace.features.text import lyrics_features
from songspace.features.vocal import pitch_motion, vocal_presence
from songspace.representations.base import Inputs, learn
from songspace.representations.language import (
    audio_language_guess,
    guide_weight,
    language_space,
    lyrics_guided_presence,
)
from songspace.settings import load

SR = 22050
SECONDS = 1.5
LANGS = [*PROFILE_LANGUAGES, "other"]
INSTRUMENTAL, UNKNOWN = len(LANGS), len(LANGS) + 1

BN_SCRIPT = "আমি তোমায় ভালোবাসি\nতুমি আমার হৃদয়ের গান\nরাতের আকাশে চাঁদ জ্বলে"
BN_ROMAN = "ami tomay bhalobashi\ntumi amar hridoyer gaan\nrater akashe chand jwole"
EN = "I walk alone along the river\nthe night is cold and I remember you\nsing me home tonight"
EN_2 = "hold my hand along the road\nthe morning light is coming through\ncarry me home again"
DE = "Ich gehe allein durch die dunkle Nacht\nund denke an dich, mein Herz ist schwer"
HI_ROMAN = "main tumse pyaar karta hoon\ntum meri zindagi ho\nkya tum jaanti ho mera dil kahan hai"


def _tone(f0: np.ndarray, n_harmonics: int = 8) -> np.ndarray:
    phase = 2 * np.pi * np.cumsum(f0) / SR
    return sum(np.sin(k * phase) / k for k in range(1, n_harmonics + 1))


def _sung(rng: np.random.Generator) -> np.ndarray:
    """A harmonic tone in the voice band with 5.5 Hz vibrato (±60 cents) and 5 Hz syllable-rate loudness."""
    t = np.arange(int(SECONDS * SR)) / SR
    f0 = rng.uniform(180, 400) * 2 ** (60 / 1200 * np.sin(2 * np.pi * 5.5 * t + rng.uniform(0, 6)))
    return _tone(f0) * (0.55 + 0.45 * np.sin(2 * np.pi * 5.0 * t))


def _chord(rng: np.random.Generator) -> np.ndarray:
    """A steady major triad."""
    t = np.arange(int(SECONDS * SR)) / SR
    root = rng.uniform(150, 300)
    return sum(_tone(np.full_like(t, root * r)) for r in (1.0, 1.26, 1.5))


def _drums(rng: np.random.Generator) -> np.ndarray:
    """Noise hits every 1/8 s and a 60 Hz kick every 1/4 s, decaying."""
    y = np.zeros(int(SECONDS * SR))
    n = int(0.08 * SR)
    env = np.exp(-np.arange(n) / (0.02 * SR))
    for j, start in enumerate(np.arange(0, SECONDS - 0.1, 0.125)):
        i = int(start * SR)
        y[i:i + n] += rng.standard_normal(n) * env
        if j % 2 == 0:
            y[i:i + n] += 3 * np.sin(2 * np.pi * 60 * np.arange(n) / SR) * env
    return y


def _log_mel(signals: list[np.ndarray]) -> np.ndarray:
    return log_mel(np.stack(signals).astype(np.float32) * 0.1, sr=SR, device="cpu")


def test_vocal_score_is_high_on_a_sung_tone_and_low_on_a_chord_and_drums() -> None:
    rng = np.random.default_rng(0)
    sung, chord, drums = _sung(rng), _chord(rng), _drums(rng)
    mel = _log_mel([sung, chord, drums, sung + chord, np.zeros_like(sung)])
    v = vocal_presence(mel, sample_rate=SR, hop_length=512)
    assert v.shape == (5,) and v.dtype == np.float32 and np.all((v >= 0) & (v <= 1))
    assert v[0] > 0.8 and v[1] < 0.1 and v[2] < 0.1  # sung vs a steady chord and a drum loop
    assert v[3] > 0.5  # the voice over a chord of the same loudness
    assert v[4] == 0.0  # silence
    # Float16 rows (as the cache stores them) give the same answer.
    np.testing.assert_allclose(vocal_presence(mel.astype(np.float16), sample_rate=SR, hop_length=512), v, atol=0.02)


def test_pitch_motion_is_coherent_for_vibrato_and_not_for_a_steady_tone() -> None:
    rng = np.random.default_rng(1)
    mel = _log_mel([_sung(rng), _chord(rng)])
    from songspace.features.vocal import mel_band_hz

    m = pitch_motion(mel, band_hz=mel_band_hz(128, fmin=0.0, fmax=SR / 2), frame_rate=SR / 512)
    assert m[0] > 10 * max(m[1], 1e-3)
    with pytest.raises(ValueError, match="n_mels, n_frames"):
        vocal_presence(mel[0], sample_rate=SR, hop_length=512)


def _inputs(rng: np.random.Generator) -> tuple[Inputs, np.ndarray, np.ndarray]:
    """Six sung tracks with lyrics, two sung without, four instrumentals (two chords, two drum loops)."""
    texts = [BN_SCRIPT, BN_ROMAN, EN, EN_2, DE, HI_ROMAN, None, None, None, None, None, None]
    signals = [_sung(rng) for _ in range(8)] + [_chord(rng), _chord(rng), _drums(rng), _drums(rng)]
    mel = _log_mel(signals)
    stats = np.concatenate([mel.mean(2), mel.std(2)], axis=1).astype(np.float32)
    inputs = Inputs(stats=stats, log_mel=mel.astype(np.float16), lyrics=lyrics_features(texts, n_components=4))
    sung = np.array([True] * 8 + [False] * 4)
    has = np.array([t is not None for t in texts])
    return inputs, sung, has


@pytest.mark.parametrize("guided", [True, False])
def test_language_places_every_track_and_keeps_instrumentals_apart(guided: bool) -> None:
    inputs, sung, has = _inputs(np.random.default_rng(2))
    cfg = RunConfig.model_validate({"methods": {"params": {"language": {"lyrics_guided": guided}}}})
    rep = learn("language", inputs, cfg, {})
    X = rep.latent
    assert X.shape == (12, len(LANGS) + 2) and np.all(np.isfinite(X)) and rep.present is None
    np.testing.assert_allclose(X.sum(1), 1.0, atol=1e-5)  # a mixture over the axes, for every track
    assert np.all(X >= 0)
    instr = ~sung
    assert np.all(X[instr, INSTRUMENTAL] > 0.5) and np.all(X[sung, INSTRUMENTAL] < 0.5)
    d = np.linalg.norm(X[:, None] - X[None], axis=-1)
    assert d[np.ix_(instr, sung)].min() > d[np.ix_(instr, instr)].max()  # instrumentals form their own group
    bn, en, de, hi = LANGS.index("bn"), LANGS.index("en"), LANGS.index("de"), LANGS.index("hi")
    assert X[0, bn] > 0.8 and X[1, bn] > 0.8  # Bengali script and romanised Bangla: both Bangla
    assert d[0, 1] < d[0, 2] and d[0, 1] < d[1, 2]  # and closer to each other than to English
    assert X[2, en] > 0.8 and X[4, de] > 0.8 and X[5, hi] > 0.8
    # Sung tracks without lyrics are placed as sung: a guessed language plus the unknown axis.
    assert np.all(X[6:8, UNKNOWN] > 0) and np.all(X[6:8, : len(LANGS)].sum(1) > 0.3)


def test_language_without_any_lyrics_still_separates_sung_from_instrumental() -> None:
    inputs, sung, _ = _inputs(np.random.default_rng(3))
    inputs.lyrics = None
    X = learn("language", inputs, RunConfig(), {}).latent
    assert np.all(np.isfinite(X)) and not X[:, : len(LANGS)].any()  # no language without lyrics
    assert X[sung, UNKNOWN].min() > X[~sung, UNKNOWN].max()


def test_language_space_geometry() -> None:
    probs = np.zeros((4, 3))
    probs[0] = [1, 0, 0]
    probs[1] = [0.5, 0.5, 0]  # code-mixed
    has = np.array([True, True, False, False])
    guess = np.zeros((4, 3))
    guess[2:, 2] = 1
    X = language_space(probs, has, np.array([0.0, 1.0, 1.0, 0.0]), guess, lyrics_trust=0.9, audio_language=0.75)
    np.testing.assert_allclose(X[0], [0.9, 0, 0, 0.1, 0], atol=1e-6)  # lyrics outweigh a silent vocal score
    np.testing.assert_allclose(X[1], [0.5, 0.5, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(X[2], [0, 0, 0.75, 0, 0.25], atol=1e-6)  # sung, no lyrics: guessed + unknown
    np.testing.assert_allclose(X[3], [0, 0, 0, 1, 0], atol=1e-6)  # instrumental


def test_audio_language_guess_follows_the_neighbours_and_lyrics_guided_presence() -> None:
    rng = np.random.default_rng(4)
    timbre = np.concatenate([rng.normal(0, 0.1, (10, 3)), rng.normal(5, 0.1, (10, 3))])
    probs = np.zeros((20, 2))
    probs[:10, 0] = probs[10:, 1] = 1
    has = np.ones(20, dtype=bool)
    has[[0, 10]] = False
    guess = audio_language_guess(timbre, probs, has, k=3)
    assert guess[0].tolist() == [1, 0] and guess[10].tolist() == [0, 1]
    assert not audio_language_guess(timbre, probs, np.zeros(20, dtype=bool), k=3).any()
    # Sung tracks (one cluster of sound) mostly have lyrics; instrumentals (another) have none.
    audio = np.concatenate([rng.normal(0, 1, (30, 4)), rng.normal(4, 1, (12, 4))])
    lyrics = np.array([i % 5 != 0 for i in range(30)] + [False] * 12)
    q, auc = lyrics_guided_presence(audio, lyrics, seed=0)
    assert auc > 0.8 and q[30:].max() < 0.5 and np.median(q[:30][~lyrics[:30]]) > 0.5
    assert lyrics_guided_presence(audio[:8], lyrics[:8], seed=0) is None  # too few tracks without lyrics
    # The guided estimate counts only when it tells tracks with lyrics from those without better than chance.
    assert guide_weight(0.5, 300, 100) == 0.0 and guide_weight(0.8, 300, 100) == 1.0
    assert guide_weight(0.6, 6, 6) == 0.0 < guide_weight(0.8, 6, 6) < 0.5  # on twelve tracks it could be luck


def test_facets_stacks_language_and_style() -> None:
    inputs, sung, _ = _inputs(np.random.default_rng(5))
    learned: dict = {}
    rep = learn("facets", inputs, RunConfig(), learned)
    assert {"language", "features"} <= set(learned)  # built through ctx.need
    X = rep.latent
    assert X.shape == (12, len(LANGS) + 2 + inputs.stats.shape[1]) and np.all(np.isfinite(X))
    # the default style (features_musicnn) needs musicnn's vectors, which these inputs lack: the statistics, said
    assert "its block is features instead" in rep.notes[0]
    assert "variance share language" in rep.notes[-1]
    heavy = learn("facets", inputs, RunConfig.model_validate(
        {"methods": {"params": {"facets": {"language_weight": 4.0}}}}), dict(learned))
    share = [float(n.split("language ")[1].split("%")[0]) for n in (rep.notes[-1], heavy.notes[-1])]
    assert share[1] > share[0]
    with pytest.raises(ConfigError, match="style"):
        load(None, **{"representations.params": {"facets": {"style": "facets"}}})
    with pytest.raises(ConfigError, match="style"):
        load(None, **{"representations.params": {"facets": {"style": "nosuchspace"}}})
