"""Gaussian mixture: EM with full covariances regularised relative to the data's scale, on a seeded sample above
``sample_size`` points."""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
from sklearn.mixture import GaussianMixture

from songspace.clustering.placing import Mixture
from songspace.clustering.result import ClusterResult, check_k, check_points, result, sample
from songspace.clustering.spec import ClustererSpec


def gmm(X: np.ndarray, k: int, *, seed: int = 0, n_init: int = 1,
        covariance_type: Literal["full", "tied", "diag", "spherical"] = "full",
        reg_covar: float = 1e-3, sample_size: int = 20_000) -> ClusterResult:
    """Gaussian mixture of ``k`` components (seeded k-means initialisation); each point in its likeliest one.

    Each of the ``n_init`` runs is a whole EM fit: about 75 s for 100k points in 79-d with full covariances.
    Above ``sample_size`` points EM runs on a seeded sample of that size (k components of d x d covariances
    are well estimated from 20,000 points), then every point is assigned its likeliest component (``predict``,
    O(n k d^2)); ``bic`` is then the sample's.

    ``reg_covar`` is relative: it adds ``reg_covar`` times the mean per-dimension variance of ``X`` to every
    covariance's diagonal, so it means the same in a standardised feature space and in a VAE's latent space,
    and keeps full covariances invertible when a cluster has fewer points than dimensions.
    """
    X = check_points(X)
    check_k(k, len(X))
    pick = sample(len(X), sample_size, seed)
    fit_X = X if pick is None else X[pick]
    check_k(k, len(fit_X))
    scale = float(np.var(fit_X, axis=0).mean()) or 1.0  # identical points: no variance to be relative to
    with warnings.catch_warnings():  # duplicate points trouble the k-means start; the note below says so
        warnings.filterwarnings("ignore", message="Number of distinct clusters")
        est = GaussianMixture(n_components=k, covariance_type=covariance_type, reg_covar=reg_covar * scale,
                              n_init=n_init, random_state=seed).fit(fit_X)
    labels = est.predict(X)
    notes = [] if est.converged_ else [f"EM did not converge in {est.max_iter} iterations"]
    found = np.unique(labels).size
    if found < k:
        notes.append(f"{k - found} of the {k} components hold no point")
    params = {"k": k, "covariance_type": covariance_type, "reg_covar": reg_covar * scale, "n_init": n_init,
              "converged": bool(est.converged_), "bic": float(est.bic(fit_X)), "fitted_on": len(fit_X)}
    if pick is not None:
        notes.append(f"EM fitted on a seeded sample of {len(fit_X)} of {len(X)} points; every point then took "
                     "its likeliest component")
    return result(labels, params, notes, Mixture(est), pick)


SPEC = ClustererSpec(name="gmm", description="Gaussian mixture with full covariances", fit=gmm,
                     reference="Dempster, Laird and Rubin 1977", rank=5)
