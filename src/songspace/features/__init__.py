"""Features: audio decoding, log-mel spectrograms, spectral statistics, and their on-disk cache."""

from songspace.features.audio import load_clip, log_mel, spectral_stat_names, spectral_stats
from songspace.features.extract import FeatureSet, extract_features

__all__ = ["FeatureSet", "extract_features", "load_clip", "log_mel", "spectral_stats", "spectral_stat_names"]
