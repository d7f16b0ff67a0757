"""Which audio space a learned model of the statistics reads: its ``input`` parameter, and the variants it names.

Every learned representation that reads the standardised statistics (``vae``, ``vade``, ``idec``, ``autoencoder``,
``beta_vae``, ``cvae``) declares ``input`` (default ``features``, the statistics). Its value names one or more
sources joined by ``+``: ``features``, or a representation read from a pretrained encoder (``musicnn``,
``pretrained``; any spec with an ``encoder``). One source is standardised per column; several are each
standardised, then block-scaled to total variance 1 (as :func:`songspace.fusion.block_scale` scales a block), so
that neither decides the distances by its width.

A variant ``<base>@<input>`` (``vade@features+musicnn``) is the same representation on another input, as a
representation of its own: its own rows in ``metrics.csv``, its own model, checkpoint and state. Its settings are
the base's ``[representations.params.<base>]`` with ``input`` set by the name (and ``[representations.params.
"<base>@<input>"]`` over them, where given).

The arrays that turn new tracks into the same input (each source's standardisation and block factor) are kept in
the representation's state, so ``songspace assign`` places new tracks without refitting anything.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator

from songspace.representations._state import State, apply_scaler, new_stats, scaler_state, stats_state

if TYPE_CHECKING:
    from songspace.models import VAE
    from songspace.representations.base import Context, Inputs, Representation
    from songspace.representations.spec import RepresentationSpec

FEATURES = "features"  # the standardised statistics


def encoder_names() -> list[str]:
    """Representations read from a pretrained encoder: the sources an ``input`` may name beside ``features``."""
    from songspace import representations

    return [s.name for s in representations.specs() if s.encoder is not None]


def sources(value: str) -> list[str]:
    """The sources of an ``input`` value, in order; ValueError naming the valid ones."""
    parts = [p.strip() for p in str(value).split("+")]
    valid = [FEATURES, *encoder_names()]
    bad = [p for p in parts if p not in valid]
    if bad or not parts:
        raise ValueError(f"input = {value!r}: {', '.join(map(repr, bad)) or 'nothing'} is not an audio input; "
                         f"join any of {', '.join(valid)} with '+'")
    if len(set(parts)) != len(parts):
        raise ValueError(f"input = {value!r} names a source twice")
    return parts


class InputParams(BaseModel):
    """``input``: what the model reads (see the module's text). Models with settings of their own extend it."""

    model_config = ConfigDict(extra="forbid")

    input: str = FEATURES

    @field_validator("input")
    @classmethod
    def _input(cls, value: str) -> str:
        return "+".join(sources(value))


def variant(name: str) -> RepresentationSpec:
    """The spec of ``<base>@<input>``; KeyError when the base is unknown or reads no other input."""
    from songspace import representations

    base, _, value = name.partition("@")
    spec = representations.get(base)
    if spec.params is None or "input" not in spec.params.model_fields:
        readers = [s.name for s in representations.specs() if s.params is not None and "input" in s.params.model_fields]
        raise KeyError(f"unknown representation {name!r}: {base} reads no other input (the ones that do: "
                       f"{', '.join(readers)})")
    try:
        joined = "+".join(sources(value))
    except ValueError as exc:
        raise KeyError(f"unknown representation {name!r}: {exc}") from None
    described = f"{spec.description}, read from {describe(joined)} instead"
    return dataclasses.replace(spec, name=f"{base}@{joined}", default=False, description=described)


def describe(value: str) -> str:
    return " + ".join("the statistics" if s == FEATURES else s for s in sources(value))


def params_for(name: str, settings: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The raw settings of representation ``name`` from ``[representations.params]``: a variant's are its base's
    with ``input`` from its name, and its own table over them."""
    if "@" not in name:
        return dict(settings.get(name, {}))
    base, _, value = name.partition("@")
    return {**settings.get(base, {}), "input": value, **settings.get(name, {})}


def _finite_rows(X: np.ndarray) -> np.ndarray:
    """``X`` with rows that hold NaN (a file the encoder could not read) set to the mean of the others."""
    X = np.asarray(X, dtype=np.float32)
    bad = ~np.isfinite(X).all(1)
    if bad.any():
        X = X.copy()
        X[bad] = X[~bad].mean(0) if (~bad).any() else 0.0
    return X


def input_matrix(inputs: Inputs, value: str) -> tuple[np.ndarray, State]:
    """The input ``value`` of every track [shape=(n, d), float32] and the arrays that make it again for new tracks.

    ``features`` alone is :meth:`Inputs.standardised_stats` exactly (so the default models see what they always saw).
    """
    srcs = sources(value)
    state: State = {"input": np.array(srcs, dtype=str)}
    if srcs == [FEATURES]:
        return inputs.standardised_stats(), {**state, **stats_state(inputs)}
    parts = []
    for s in srcs:
        if s == FEATURES:
            state.update(stats_state(inputs))
            Z = new_stats(state, inputs)
        else:
            raw = _finite_rows(inputs.embedding(s))
            scaler = scaler_state(raw)
            state[f"{s}_mean"], state[f"{s}_scale"] = scaler["mean"], scaler["scale"]
            Z = apply_scaler(raw, scaler["mean"], scaler["scale"])
        total = float(np.asarray(Z, dtype=np.float64).var(0).sum())
        factor = 1.0 if len(srcs) == 1 else 1.0 / math.sqrt(total) if total > 1e-12 else 0.0
        state[f"{s}_factor"] = np.float64(factor)
        parts.append(Z * np.float32(factor))
    return np.concatenate(parts, axis=1).astype(np.float32), state


def new_input_matrix(state: State, inputs: Inputs) -> np.ndarray:
    """New tracks' input, made with the run's arrays (:func:`input_matrix`). [shape=(n_new, d), float32]

    Raises ValueError when the new tracks' vectors are not the run's kind (another encoder setting)."""
    srcs = [str(s) for s in state["input"]] if "input" in state else [FEATURES]
    if srcs == [FEATURES]:
        return new_stats(state, inputs)
    parts = []
    for s in srcs:
        if s == FEATURES:
            Z = new_stats(state, inputs)
        else:
            raw = _finite_rows(inputs.embedding(s))
            mean = state[f"{s}_mean"]
            if raw.shape[1] != mean.shape[0]:
                raise ValueError(f"the run's {s} vectors have {mean.shape[0]} values, the new tracks' "
                                 f"{raw.shape[1]}: place them with the run's [representations.params.{s}]")
            Z = apply_scaler(raw, mean, state[f"{s}_scale"])
        parts.append(Z * np.float32(float(state[f"{s}_factor"])))
    return np.concatenate(parts, axis=1).astype(np.float32)


def model_input(ctx: Context) -> tuple[np.ndarray, State, str]:
    """The input of the representation being built (``ctx.name``): its matrix, its state and a phrase for its
    ``space`` ("" for the statistics)."""
    value = ctx.params(ctx.name).input
    X, state = input_matrix(ctx.inputs, value)
    return X, state, "" if value == FEATURES else f" of {describe(value)}"


def encoder_space(ctx: Context, what: str) -> Representation:
    """The build of a representation read from a pretrained encoder (``musicnn``, ``pretrained``): its vectors,
    standardised, with the arrays that do the same to new tracks. ``what`` says which layer, for the space."""
    from songspace.representations.base import Representation

    X, state = input_matrix(ctx.inputs, ctx.name)
    return Representation(ctx.name, X, f"{what}, standardised ({X.shape[1]}-d)", state=state)


def embed_input(state: State, model: VAE | None, inputs: Inputs) -> np.ndarray:
    """``embed_new`` of a representation of an input: the input itself (no model) or the model's posterior means."""
    X = new_input_matrix(state, inputs)
    if model is None:
        return X
    from songspace.training import RowDataset, embed

    return embed(model, RowDataset(X))


def save_input_state(rep: Representation, inputs: Inputs) -> State:
    """``save_state`` of a representation of an input: the arrays its build kept (:func:`input_matrix`)."""
    if not rep.state:
        raise ValueError(f"{rep.name}: its build kept no input state")
    return dict(rep.state)
