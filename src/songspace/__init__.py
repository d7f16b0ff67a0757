"""songspace: cluster a music collection without labels in a learned latent space of sound (and words)."""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Imported on first use, not with the package: torch and scikit-learn take seconds to import, and
# `songspace --help` or `import songspace.config` need neither.
_LAZY = {"LatentClusterer": "songspace.estimator", "purity": "songspace.evaluation.metrics",
         "ari": "songspace.evaluation.metrics", "nmi": "songspace.evaluation.metrics",
         "silhouette": "songspace.evaluation.metrics", "calinski_harabasz": "songspace.evaluation.metrics",
         "davies_bouldin": "songspace.evaluation.metrics"}

__all__ = ["LatentClusterer", "purity", "ari", "nmi", "silhouette", "calinski_harabasz", "davies_bouldin",
           "__version__"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'songspace' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
