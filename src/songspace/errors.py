"""Typed errors. Each message names the file involved and what to do about it."""

from __future__ import annotations


class SongspaceError(Exception):
    """Base class of every error songspace raises on purpose."""


class ConfigError(SongspaceError):
    """A setting is missing, unknown or out of range."""


class DatasetError(SongspaceError):
    """A dataset folder cannot be read as a whole (no audio, unsafe path, broken metadata)."""


class AudioDecodeError(SongspaceError):
    """One audio file cannot be used (corrupt, empty, silent, too short, NaN samples)."""


class ModelError(SongspaceError):
    """A model name is unknown or a model cannot be built for the given input."""


class EncoderError(SongspaceError):
    """A pretrained audio encoder cannot be loaded or used (package missing, not a model, not an audio model)."""


class RunError(SongspaceError):
    """A run cannot start or finish (run folder, cache folder, nothing left to cluster)."""


class EncoderUnavailable(SongspaceError):
    """A pretrained encoder cannot be used here (its weights are not fetched, its library is not installed, the
    model folder is not an audio model). A run skips the representations that need it, with this message as the
    note; the message says how to make it available."""


class WeightsError(EncoderUnavailable):
    """Pretrained weights are missing or damaged; the message says how to fetch them."""


class CheckpointError(WeightsError):
    """A checkpoint file cannot be read (missing shard, damaged index, unsupported content)."""
