"""DBSCAN on the seeded UMAP reduction of the space, eps from the knee of the k-distance curve."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn.cluster import DBSCAN

from songspace.clustering.density import (
    DENSITY_SAMPLE,
    UMAP_COMPONENTS,
    default_min_samples,
    density_space,
    knee_eps,
    sampled_note,
)
from songspace.clustering.placing import NearestPoint, Reduced
from songspace.clustering.result import ClusterResult, Labeller, check_points, extend, fitted, result
from songspace.clustering.spec import ClustererSpec
from songspace.errors import ConfigError


def dbscan(X: np.ndarray, k: int | None = None, *, seed: int = 0, eps: float | None = None,
           min_samples: int | None = None, umap_components: int = UMAP_COMPONENTS,
           sample_size: int = DENSITY_SAMPLE) -> ClusterResult:
    """DBSCAN of ``X`` [shape=(n, d)]. ``k`` is ignored: the density finds the clusters. Noise gets label -1.

    It runs on the UMAP reduction of ``X`` to ``umap_components`` dimensions (:func:`umap_reduce`, seeded by
    ``seed``) when ``X`` has more; 0 = on ``X`` as given. ``eps`` None (the default) takes it from the data
    (:func:`knee_eps` in that space); a fixed eps is one number for every space, and in a space it was not
    chosen for it joins everything into one cluster or calls it all noise (a given eps is a distance in the
    space DBSCAN runs in). ``min_samples`` None takes :func:`default_min_samples` of that space.

    scikit-learn's DBSCAN holds every point's eps-neighbourhood at once, and in a dense latent space those are
    large (100k points in 16-d: 210 s and 1.3 GB). Above ``sample_size`` the reduction, eps and DBSCAN come
    from a seeded sample of that size, and the other points are assigned as ``predict`` assigns new ones:
    without a reduction they join the cluster of the nearest sample core point within eps (the rule DBSCAN
    itself uses for border points), else they are noise; with one, see :class:`~songspace.clustering.placing.Reduced`.

    A result with one cluster, none, or most points as noise says so, and why, in its notes.
    """
    X = check_points(X)
    fit_X, pick = fitted(X, sample_size, seed)
    Z, reducer, params, notes = density_space(fit_X, umap_components, seed)
    n, d = Z.shape
    ms = default_min_samples(n, d) if min_samples is None else min_samples
    if not 1 <= ms <= n:
        raise ConfigError(f"min_samples = {ms} is impossible for {n} points; choose 1..{n}.")
    params.update(min_samples=ms, fitted_on=n)
    no_knee = False
    if eps is None:
        eps, i, _ = knee_eps(Z, ms)
        no_knee = i == n - 1
        params.update(eps=eps, eps_source="k-distance knee", knee_quantile=round(i / max(n - 1, 1), 4))
    else:
        if eps <= 0:
            raise ConfigError(f"eps = {eps} must be > 0; leave it unset to take it from the k-distance knee.")
        params.update(eps=float(eps), eps_source="given")
    est = DBSCAN(eps=params["eps"], min_samples=ms).fit(Z)
    core = est.core_sample_indices_
    assigner: Labeller = (NearestPoint(Z[core], est.labels_[core], params["eps"]) if reducer is None
                           else Reduced(reducer, fit_X, Z, est.labels_))
    notes = ["density method: k ignored", *notes]
    labels = extend(X, pick, est.labels_, assigner)
    if pick is not None:
        notes.append(sampled_note("dbscan", n, len(X), "neighbourhood memory",
                                  "the rest joined the nearest core point's cluster when within eps, else noise",
                                  reducer is not None))
    given = params["eps_source"] == "given"
    res = result(labels, params, notes, assigner, pick)
    return replace(res, notes="; ".join([*notes, *_dbscan_degenerate(res, given, no_knee)]))


def _dbscan_degenerate(res: ClusterResult, given: bool, no_knee: bool) -> list[str]:
    """Why a DBSCAN result has one cluster, none, or mostly noise (nothing when it is none of those)."""
    out = []
    if res.n_clusters == 0:
        out.append("no cluster: no track has min_samples neighbours within eps, so every track is noise"
                   + (" (the given eps is too small for this space: leave it unset)" if given else ""))
    elif res.n_clusters == 1:
        if given:
            out.append("one cluster: the given eps bridges every gap between groups (leave it unset to read eps "
                       "off the k-distance knee)")
        elif no_knee:
            out.append("one cluster: the k-distance curve has no knee (every track is about as dense as the "
                       "others), so eps joins them all: the space has no dense separated groups")
        else:
            out.append("one cluster: at the k-distance knee's eps the dense tracks form one connected region, "
                       "with no density gap between groups (one eps cannot separate groups that touch)")
    if res.noise_fraction > 0.5:
        out.append("most tracks noise: fewer than half lie within eps of a core point; the density varies "
                   "more than one eps can follow")
    return out


SPEC = ClustererSpec(
    name="dbscan", description="DBSCAN, ε from the knee of the k-distance curve (ignores k; leaves noise)", fit=dbscan,
    takes_k=False, reference="Ester, Kriegel, Sander and Xu 1996; the knee: Satopää et al. 2011", rank=3)
