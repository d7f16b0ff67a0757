"""Representations: every way a run turns tracks into vectors before they are clustered, one module each.

Each module of this package defines ``SPEC``, a :class:`RepresentationSpec`: its name, modality, whether it is
learned or a baseline, what it reconstructs, which labels it is given, its own parameters and a one-line
description, and ``build(ctx)``, which makes it from the run's inputs. The registry below finds them: every
module of the package but ``spec``, ``base`` and private helpers (``_*.py``) must define a ``SPEC``. To add a
representation: write ``representations/<name>.py`` with a ``SPEC`` (copy ``pca.py`` or ``vae.py``); code outside
the package (a plugin, a test) can call :func:`register` instead. Config validation, the runner, the analysis, the
report and its findings all read the registry.

A representation's settings are its own (``params``, read from ``[representations.params.<name>]``), the labels it
is given included: they enter only where a configuration lists them in the setting its spec names
(``conditioned_by``); such a representation lists those labels in ``conditioned_on``, and its scores against them
are not unsupervised results.
"""

from __future__ import annotations

import pkgutil
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from songspace.representations.spec import (
    AUDIO,
    BOTH,
    CONDITIONED,
    LYRICS,
    MODALITIES,
    SHARED_BETA,
    SWEEP,
    RepresentationSpec,
)

# The package's modules that are not representations (private helpers, ``_*.py``, are not either).
SHARED = ("spec", "base")
_REGISTRY: dict[str, RepresentationSpec] = {}

if TYPE_CHECKING:
    from pydantic import BaseModel

    from songspace.config import RunConfig


def module_names() -> list[str]:
    """The representation modules of this package, by name."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in SHARED and not m.name.startswith("_"))


def _load() -> dict[str, RepresentationSpec]:
    if not _REGISTRY:
        found = []
        for module in module_names():
            spec = getattr(import_module(f"{__name__}.{module}"), "SPEC", None)
            if not isinstance(spec, RepresentationSpec):
                raise TypeError(f"{__name__}.{module} ({module}.py) defines no SPEC = RepresentationSpec(...): add "
                                f"one, or name the file _{module}.py if it is not a representation")
            found.append(spec)
        for spec in found:
            _check_reads(spec, {s.name: s for s in found})
            _REGISTRY[spec.name] = spec
    return _REGISTRY


def _check_reads(spec: RepresentationSpec, known: dict[str, RepresentationSpec]) -> None:
    """TypeError when ``spec.reads`` names something other than a representation read from an encoder."""
    for name in spec.reads:
        if name not in known or known[name].encoder is None:
            encoders = ", ".join(n for n, s in known.items() if s.encoder is not None)
            raise TypeError(f"{getattr(spec.build, '__module__', '?')}: RepresentationSpec {spec.name!r}: reads names "
                            f"{name!r}, not a representation read from a pretrained encoder ({encoders})")


def register(spec: RepresentationSpec) -> RepresentationSpec:
    """Add (or replace) a representation in the registry; returns it. TypeError when its ``reads`` names an
    unknown encoder (the spec checked the rest when it was made)."""
    registry = _load()
    _check_reads(spec, {**registry, spec.name: spec})
    registry[spec.name] = spec
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


def settings(name: str, cfg: RunConfig) -> BaseModel | None:
    """The own settings of representation ``name`` under ``cfg``: ``[representations.params.<name>]`` over its
    params' defaults (a variant's: its base's, with ``input`` from its name); None when it declares none.
    Raises pydantic's ValidationError for settings :func:`validate` refuses."""
    from songspace.representations._inputs import params_for

    params = get(name).params
    return None if params is None else params.model_validate(params_for(name, cfg.representations.params))


def with_settings(cfg: RunConfig, name: str, **values: Any) -> RunConfig:
    """A copy of ``cfg`` whose ``[representations.params.<name>]`` sets ``values`` too."""
    out = cfg.model_copy(deep=True)
    given = dict(out.representations.params)
    given[name] = {**given.get(name, {}), **values}
    out.representations.params = given
    return out


def conditions(name: str, cfg: RunConfig) -> list[str]:
    """The label columns representation ``name`` is given under ``cfg`` (its ``conditioned_by`` setting; [] for
    one given none)."""
    by = get(name).conditioned_by
    return [] if by is None else list(getattr(settings(name, cfg), by))


def kl_settings(name: str, cfg: RunConfig) -> dict[str, Any]:
    """The settings of the KL term of representation ``name``'s model under ``cfg``, as model arguments: ``beta``
    (``model.beta``, or its own setting named by its spec's ``kl_beta``) and, beside an own beta, the capacity
    schedule where its settings declare one (``capacity_max``, ``capacity_epochs``); {} without a KL term."""
    spec = get(name)
    if spec.kl_beta is None:
        return {}
    if spec.kl_beta == SHARED_BETA:
        return {"beta": cfg.model.beta}
    own = settings(name, cfg)
    fields = type(own).model_fields
    return {"beta": getattr(own, spec.kl_beta),
            **{key: getattr(own, key) for key in ("capacity_max", "capacity_epochs") if key in fields}}


def sweeps(cfg: RunConfig) -> dict[str, list[float]]:
    """The representations whose own beta ``cfg`` sweeps (the betas of their ``sweep`` setting), with those betas.
    :func:`validate` allows one at most (``beta_sweep.csv`` holds one sweep)."""
    out = {}
    for spec in specs():
        if spec.params is not None and SWEEP in spec.params.model_fields:
            betas = [float(b) for b in getattr(settings(spec.name, cfg), SWEEP)]
            if betas:
                out[spec.name] = betas
    return out


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
    for name, given in reps.params.items():
        key = f"representations.params.{name}"
        if not exists(name):
            out.append(f"{at}{key}: params for unknown representation {name!r}; choose from: {', '.join(names())}")
        elif (params := get(name).params) is None:
            out.append(f"{at}{key}: {name} has no settings of its own; remove [{key}]")
        else:
            if "@" in name:  # a variant: its input comes from its name
                given = {**given, "input": name.split("@", 1)[1]}
            try:
                params.model_validate(given)
            except ValidationError as exc:  # its errors name the setting and the allowed range
                out += setting_errors(exc, where=where, prefix=("representations", "params", name), model=params)
    if not out and len(swept := sweeps(cfg)) > 1:
        out.append(f"{at}representations.params: {' and '.join(swept)} both set a {SWEEP}; beta_sweep.csv holds one "
                   "sweep: keep one")
    return out


def __getattr__(attr: str):  # the build-time API, imported on first use (it pulls in torch and scikit-learn)
    if attr in ("Inputs", "Representation", "Context", "common_space", "language_vector", "learn", "learn_all",
                "checkpoint_path"):
        from songspace.representations import base

        return getattr(base, attr)
    raise AttributeError(attr)


__all__ = ["AUDIO", "BOTH", "CONDITIONED", "LYRICS", "MODALITIES", "SHARED_BETA", "RepresentationSpec", "register",
           "unregister", "get", "exists", "names", "specs", "default_names", "settings", "with_settings", "conditions",
           "kl_settings", "sweeps", "validate", "module_names"]
