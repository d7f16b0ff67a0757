"""songspace: cluster a music collection without labels in a learned latent space of sound (and words)."""

__version__ = "0.1.0"

from songspace.clustering import LatentClusterer  # noqa: E402
from songspace.evaluation.metrics import ari, calinski_harabasz, davies_bouldin, nmi, purity, silhouette  # noqa: E402

__all__ = ["LatentClusterer", "purity", "ari", "nmi", "silhouette", "calinski_harabasz", "davies_bouldin",
           "__version__"]
