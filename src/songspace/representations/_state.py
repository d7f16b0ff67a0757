"""What ``songspace assign`` needs to place new tracks in a run's representations without retraining: the two hooks
of :class:`~songspace.representations.spec.RepresentationSpec` (``save_state`` and ``embed_new``) shared by the
audio representations whose transform is a fixed function of a few arrays.

``save_state(rep, inputs)`` returns named arrays (saved as ``state/<name>.npz``, no pickle); ``embed_new(state,
model, new_inputs)`` turns new tracks into the representation from them and the run's saved model. The run's own
tracks come out as the run's latents: the standardisation here repeats :func:`~songspace.representations.base.
standardise` operation for operation. Torch and scikit-learn are imported inside the functions, because every spec
module imports this one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from songspace.models import VAE
    from songspace.representations.base import Inputs, Representation

State = dict[str, np.ndarray]


def scaler_state(X: np.ndarray) -> State:
    """``mean`` and ``scale`` [shape=(d,), float64] of the standardisation fitted on ``X`` [shape=(n, d)] (as
    :func:`~songspace.representations.base.standardise` fits it: columns that never vary get scale 1)."""
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(np.asarray(X, dtype=np.float64))
    return {"mean": scaler.mean_, "scale": scaler.scale_}


def apply_scaler(X: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``(X - mean) / scale`` in float64, as scikit-learn's ``StandardScaler.transform`` computes it, so that the
    rows it was fitted on come out bit for bit as the run had them. [shape=(n, d), dtype=float32]"""
    Y = np.array(X, dtype=np.float64)
    Y -= mean
    Y /= scale
    return Y.astype(np.float32)


def stat_names(inputs: Inputs) -> list[str]:
    return list(inputs.stat_names or [f"stat{i}" for i in range(np.shape(inputs.stats)[1])])


def stats_state(inputs: Inputs, columns: np.ndarray | None = None) -> State:
    """The standardisation of the statistics (of ``columns`` only, when given) and their names, for
    :func:`new_stats`."""
    stats = np.asarray(inputs.stats)
    state: State = {"stat_names": np.array(stat_names(inputs), dtype=str)}
    if columns is not None:
        state["columns"] = np.asarray(columns, dtype=np.int64)
        stats = stats[:, state["columns"]]
    return {**state, **{f"stats_{k}": v for k, v in scaler_state(stats).items()}}


def new_stats(state: State, inputs: Inputs) -> np.ndarray:
    """New tracks' statistics standardised as the run's were (:func:`stats_state`). [shape=(n_new, d)]

    Raises ValueError when the statistics are not the run's (another songspace version computes others).
    """
    names = [str(n) for n in state["stat_names"]]
    got = stat_names(inputs)
    if got != names:
        raise ValueError(f"the run has {len(names)} statistics, this songspace computes {len(got)} others (the run "
                         "was made by another version); rerun the experiment to assign tracks to it")
    stats = np.asarray(inputs.stats)
    if "columns" in state:
        stats = stats[:, state["columns"]]
    return apply_scaler(stats, state["stats_mean"], state["stats_scale"])


def save_stats_state(rep: Representation, inputs: Inputs) -> State:
    """``save_state`` of a representation of the standardised statistics (the statistics, or a model of them)."""
    return stats_state(inputs)


def embed_stats(state: State, model: VAE | None, inputs: Inputs) -> np.ndarray:
    """``embed_new`` of a representation of the standardised statistics: the statistics themselves (no model) or
    the model's posterior means (codes). [shape=(n_new, d), dtype=float32]"""
    X = new_stats(state, inputs)
    if model is None:
        return X
    from songspace.training import RowDataset, embed

    return embed(model, RowDataset(X))


def save_spectrogram_state(rep: Representation, inputs: Inputs) -> State:
    """``save_state`` of a conv model: what its :class:`~songspace.training.SpectrogramDataset` serves (per-band
    ``mean`` and ``scale``, time ``frames`` (0 = all), ``n_mfcc`` (0 = log-mel)) and the mel bands it reads."""
    from songspace.training import SpectrogramDataset

    ds = rep.dataset
    if not isinstance(ds, SpectrogramDataset) or ds.mean is None or ds.scale is None:
        raise ValueError(f"{rep.name} was not trained on a standardised SpectrogramDataset; no state to save")
    return {"mean": np.asarray(ds.mean), "scale": np.asarray(ds.scale), "frames": np.int64(ds.frames or 0),
            "n_mfcc": np.int64(ds.n_mfcc or 0), "n_mels": np.int64(np.shape(inputs.log_mel)[1])}


def embed_spectrogram(state: State, model: VAE | None, inputs: Inputs) -> np.ndarray:
    """``embed_new`` of a conv model: new tracks' log-mels served as its training set was, through the model.
    [shape=(n_new, latent_dim), dtype=float32]"""
    from songspace.training import SpectrogramDataset, embed

    if model is None:
        raise ValueError("a conv representation needs its saved model")
    n_mels, got = int(state["n_mels"]), int(np.shape(inputs.log_mel)[1])
    if got != n_mels:
        raise ValueError(f"the run's model reads {n_mels} mel bands, the new tracks have {got}: extract them with "
                         "the run's [features] settings")
    ds = SpectrogramDataset(inputs.log_mel, state["mean"], state["scale"], frames=int(state["frames"]) or None,
                            n_mfcc=int(state["n_mfcc"]) or None)
    return embed(model, ds)


def save_built_state(rep: Representation, inputs: Any) -> State:
    """``save_state`` of a representation whose ``build`` kept its fitted arrays in ``rep.state``."""
    if not rep.state:
        raise ValueError(f"{rep.name}: its build kept no state")
    return dict(rep.state)
