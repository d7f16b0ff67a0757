"""Features: audio decoding, log-mel spectrograms, spectral statistics, their on-disk cache, and lyrics features."""

from songspace.features.audio import load_clip, log_mel, spectral_stat_names, spectral_stats
from songspace.features.extract import FeatureSet, extract_features
from songspace.features.langid import detect_language, language_profile, profile_names
from songspace.features.text import TextFeatureSet, lyrics_features
from songspace.features.tokens import graphemes, normalise, phonetic_key, words

__all__ = [
    "FeatureSet", "extract_features", "load_clip", "log_mel", "spectral_stats", "spectral_stat_names",
    "TextFeatureSet", "detect_language", "graphemes", "language_profile", "lyrics_features",
    "normalise", "phonetic_key", "profile_names", "words",
]
