"""Clusterers: every way a run groups the points of a representation, one module each.

Each clusterer module of this package defines ``SPEC``, a :class:`ClustererSpec`: its name, whether it takes k
or finds its own number of clusters, its description and reference for the report, and ``fit``, whose result
carries a placer (:mod:`songspace.clustering.placing`) that saves the fitted clustering as arrays and places new
tracks. The package finds the modules itself: to add a clusterer, write ``clustering/<name>.py`` with a ``SPEC``
(copy ``kmeans.py``); code outside the package (a plugin, a test) calls :func:`register`. A module file here that
is neither a clusterer nor one of the shared modules below is an error when the registry loads.

Shared modules: ``spec`` (the declaration), ``result`` (:class:`ClusterResult`, noise, the sample-then-extend
rule), ``placing`` (how a fitted clustering places a point, and its saved state), ``density`` (the UMAP reduction,
knee and structure test of the density clusterers).

=========================  ==========================================================================
name                       what; time for 100k points in 16-d / 79-d (2 shared cores, 8 blobs)
=========================  ==========================================================================
``kmeans``                 K-Means; above ``sample_size`` (20,000) MiniBatchKMeans. 1-10 s / 6 s.
``agglomerative_ward``     Ward linkage; O(n^2) time and memory, so above ``sample_size`` (10,000) the tree
                           is built on a seeded sample and the rest join the nearest centroid. 13 s / 21 s.
``agglomerative_average``  Average linkage; same cost and the same sample rule. 8 s.
``dbscan``                 DBSCAN on a seeded UMAP reduction to 8 dimensions; eps from the k-distance knee.
                           Ignores k. Above ``sample_size`` (2,000: ``density.DENSITY_SAMPLE``) the
                           reduction and DBSCAN are fitted on a seeded sample, the rest placed through the
                           fitted reduction.
``hdbscan``                HDBSCAN on the same reduction, with a Gaussian-null structure test. Ignores k.
                           The same sample rule and size (one reduction serves both: same seed, same sample).
``gmm``                    Gaussian mixture, full covariances; above ``sample_size`` (20,000) EM on a
                           seeded sample, every point its likeliest component. 75 s per EM run at 79-d.
=========================  ==========================================================================

``ClusterResult.sample_size`` says when a clusterer was fitted on a sample (and of how many points), so that a
results table can mark those numbers; :func:`cluster` takes ``sample_size=None`` as "the clusterer's default".
"""

from __future__ import annotations

import pkgutil
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from songspace.clustering.result import NOISE, ClusterResult, noise_fraction
from songspace.clustering.spec import ClustererSpec
from songspace.errors import ConfigError

if TYPE_CHECKING:
    from songspace.config import RunConfig

# The package's modules that are not clusterers.
SHARED = ("spec", "result", "placing", "density")
_REGISTRY: dict[str, ClustererSpec] = {}


def module_names() -> list[str]:
    """The clusterer modules of this package."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in SHARED and not m.name.startswith("_"))


def _load() -> dict[str, ClustererSpec]:
    if not _REGISTRY:
        found = {}
        for module in module_names():
            spec = getattr(import_module(f"{__name__}.{module}"), "SPEC", None)
            if not isinstance(spec, ClustererSpec):
                raise TypeError(f"{__name__}.{module} ({module}.py) defines no SPEC = ClustererSpec(...): add one, or "
                                f"name the file _{module}.py if it is not a clusterer")
            found[spec.name] = spec
        _REGISTRY.update(sorted(found.items(), key=lambda kv: (kv[1].rank, kv[0])))
    return _REGISTRY


def register(spec: ClustererSpec) -> ClustererSpec:
    """Add (or replace) a clusterer in the registry; returns it."""
    _load()[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a clusterer added by :func:`register` (tests)."""
    _load().pop(name, None)


def names() -> list[str]:
    """Every registered clusterer."""
    return list(_load())


def get(name: str) -> ClustererSpec:
    """The spec registered as ``name``; ConfigError naming the valid ones otherwise."""
    try:
        return _load()[name]
    except KeyError:
        raise ConfigError(f"unknown clusterer {name!r}; choose one of: {', '.join(names())}") from None


def own_number() -> tuple[str, ...]:
    """The clusterers that find their own number of clusters (and ignore k)."""
    return tuple(s.name for s in _load().values() if not s.takes_k)


def clusterer_options(name: str) -> tuple[str, ...]:
    """The keyword options clusterer ``name`` takes besides ``seed``."""
    return get(name).options()


def validate(cfg: RunConfig, where: Path | str | None = None) -> list[str]:
    """What is wrong with the clusterers ``cfg`` names (``cluster.algorithms``): one sentence per problem, worded
    as :func:`songspace.config.setting_errors` words the schema's ([] = nothing); ``where`` is the config file."""
    unknown = [v for v in cfg.cluster.algorithms if v not in names()]
    if not unknown:
        return []
    return [f"{f'{where}: ' if where else ''}cluster.algorithms is not valid: unknown clusterer(s) "
            f"{', '.join(map(repr, unknown))}; choose from: {', '.join(names())}"]


def cluster(name: str, X: np.ndarray, k: int | None, *, seed: int = 0, sample_size: int | None = None,
            **options: Any) -> ClusterResult:
    """Cluster ``X`` [shape=(n, d)] with the clusterer registered as ``name``, into ``k`` clusters where it
    takes a k (the others ignore it). ``options`` go to that clusterer; unknown ones are an error.

    ``sample_size`` (every clusterer takes it): above this many points the clusterers that do not scale fit on a
    seeded sample of it and K-Means turns to MiniBatchKMeans; None = the clusterer's own default (see the
    table above). ``ClusterResult.sample_size`` says whether a sample was used.
    """
    spec = get(name)
    if sample_size is not None:
        options["sample_size"] = sample_size
    unknown = set(options) - set(spec.options())
    if unknown:
        raise ConfigError(f"clusterer {name!r} takes no option {', '.join(sorted(unknown))}; it takes: "
                          f"{', '.join(spec.options()) or 'none'}")
    if k is None and spec.takes_k:
        raise ConfigError(f"clusterer {name!r} needs k; set cluster.k or let it be chosen.")
    return spec.fit(X, k, seed=seed, **options)


__all__ = ["NOISE", "ClusterResult", "ClustererSpec", "cluster", "clusterer_options", "get", "module_names", "names",
           "noise_fraction", "own_number", "register", "unregister", "validate"]
