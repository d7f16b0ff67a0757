"""Representations: every way a run turns tracks into vectors before they are clustered, one module each.

Each module of this package defines ``SPEC``, a :class:`RepresentationSpec`: its name, modality, whether it is
learned or a baseline, what it reconstructs, which labels it is given, its own parameters and a one-line
description, and ``build(ctx)``, which makes it from the run's inputs. The registry below is the only list of
them. To add a representation: write ``representations/<name>.py`` with a ``SPEC`` (copy ``pca.py`` or
``vae.py``) and add its module name to ``_MODULES``; code outside the package (a plugin, a test) can call
:func:`register` instead. Config validation, the runner, the analysis, the report and its findings all read the
registry.

Labels enter only where a configuration asks for them by name (``conditioned_by``): such a representation
lists those labels in ``conditioned_on``, and its scores against them are not unsupervised results.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from songspace.representations.spec import AUDIO, BOTH, CONDITIONED, LYRICS, MODALITIES, RepresentationSpec

# Module names, in the order tables list them.
_MODULES = (
    "vae", "conv_vae", "mfcc_vae", "bimodal_vae", "autoencoder", "beta_vae", "beta_conv_vae", "cvae", "poe_vae",
    "vade", "idec", "n2d",
    "pca", "features", "mfcc_stats", "log_mel_flat", "musicnn", "features_musicnn", "pretrained",
    "lyrics", "hybrid", "hybrid_features", "naive_hybrid",
    "crop_vae", "crop_mfcc_vae",
    "language", "facets",
)
_REGISTRY: dict[str, RepresentationSpec] = {}

if TYPE_CHECKING:
    from songspace.config import RunConfig


def _load() -> dict[str, RepresentationSpec]:
    if not _REGISTRY:
        for module in _MODULES:
            spec = import_module(f"{__name__}.{module}").SPEC
            _REGISTRY[spec.name] = spec
    return _REGISTRY


def register(spec: RepresentationSpec) -> RepresentationSpec:
    """Add (or replace) a representation in the registry; returns it."""
    _load()[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a representation added by :func:`register` (tests)."""
    _load().pop(name, None)


def get(name: str) -> RepresentationSpec:
    """The spec registered as ``name``; KeyError naming the valid ones otherwise.

    ``<base>@<input>`` names a variant of a representation that declares an ``input`` parameter (the learned
    models of the statistics): the same representation trained on another audio input (``vae@musicnn``,
    ``vade@features+musicnn``; see :mod:`songspace.representations._inputs`)."""
    registry = _load()
    if name in registry:
        return registry[name]
    if "@" in name:
        from songspace.representations._inputs import variant

        return variant(name)
    raise KeyError(f"unknown representation {name!r}; choose from: {', '.join(names())}") from None


def exists(name: str) -> bool:
    """``name`` is a registered representation or a valid ``<base>@<input>`` variant of one."""
    try:
        get(name)
    except (KeyError, ValueError):
        return False
    return True


def names() -> list[str]:
    return list(_load())


def specs() -> list[RepresentationSpec]:
    return list(_load().values())


def default_names() -> list[str]:
    """What a plain ``songspace run`` compares."""
    return [s.name for s in specs() if s.default]


def validate(cfg: RunConfig, where: Path | str | None = None) -> list[str]:
    """What is wrong with the representations ``cfg`` names and their settings (``[representations]``): one
    sentence per problem, worded as :func:`songspace.config.setting_errors` words the schema's ([] = nothing).
    ``where`` is the config file, named in each sentence."""
    from pydantic import ValidationError

    from songspace.config import setting_errors

    at = f"{where}: " if where else ""
    reps = cfg.representations
    out = []
    unknown = [v for v in reps.names if not exists(v)]
    if unknown:
        out.append(f"{at}representations.names is not valid: unknown representation(s) "
                   f"{', '.join(map(repr, unknown))}; choose from: {', '.join(names())} (or <name>@<input> of one "
                   "that reads an input)")
    audio = [s.name for s in specs() if s.modality == AUDIO]
    if not exists(reps.hybrid_audio) or get(reps.hybrid_audio).modality != AUDIO:
        out.append(f"{at}representations.hybrid_audio is not valid: hybrid_audio = {reps.hybrid_audio!r} is not an "
                   f"audio representation; choose from: {', '.join(audio)}")
    for name, settings in reps.params.items():
        key = f"representations.params.{name}"
        if not exists(name):
            out.append(f"{at}{key}: params for unknown representation {name!r}; choose from: {', '.join(names())}")
        elif (params := get(name).params) is None:
            out.append(f"{at}{key}: {name} has no settings of its own; remove [{key}]")
        else:
            if "@" in name:  # a variant: its input comes from its name
                settings = {**settings, "input": name.split("@", 1)[1]}
            try:
                params.model_validate(settings)
            except ValidationError as exc:  # its errors name the setting and the allowed range
                out += setting_errors(exc, where=where, prefix=("representations", "params", name), model=params)
    return out


def __getattr__(attr: str):  # the build-time API, imported on first use (it pulls in torch and scikit-learn)
    if attr in ("Inputs", "Representation", "Context", "common_space", "language_vector", "learn", "learn_all",
                "checkpoint_path"):
        from songspace.representations import base

        return getattr(base, attr)
    raise AttributeError(attr)


__all__ = ["AUDIO", "BOTH", "CONDITIONED", "LYRICS", "MODALITIES", "RepresentationSpec", "register", "unregister",
           "get", "exists", "names", "specs", "default_names", "validate"]
