"""What a clusterer is, declared once: :class:`ClustererSpec`.

Every clusterer module of this package defines one ``SPEC``; the package finds them (see
:mod:`songspace.clustering`). Config validation, the command line, the runner (which clusterers take k), the
report's Method section and the saved state read these declarations; none of them lists clusterers by hand.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from songspace.clustering.result import ClusterResult


@dataclass(frozen=True)
class ClustererSpec:
    """One clusterer.

    name : the name used in configs (``[cluster] algorithms``), on the command line (``-c``), in ``metrics.csv``
        and in the report.
    description : one line for the report's Method section (what it is and how its settings are chosen).
    fit : ``fit(X, k, *, seed=0, sample_size=..., **options) -> ClusterResult``: clusters ``X`` [shape=(n, d)];
        its keyword-only parameters are the clusterer's options (checked by name when it is called); the result's
        ``model`` is a placer of :mod:`songspace.clustering.placing`, which says how the fitted clustering is saved
        as plain arrays and how it places a new track.
    takes_k : it clusters into the k it is given; False: it finds its own number of clusters (and ignores k).
    reference : where it comes from, for the report (authors and year).
    rank : its place where clusterers are listed (choices, messages): lower first, then by name.
    """

    name: str
    description: str
    fit: Callable[..., ClusterResult]
    takes_k: bool = True
    reference: str = ""
    rank: int = 100

    def __post_init__(self) -> None:
        where = f"clusterer spec {self.name!r}"
        if not self.name.isidentifier():
            raise TypeError(f"{where}: the name must be an identifier (letters, digits, _).")
        if not self.description:
            raise TypeError(f"{where}: give a one-line description for the report.")
        if not callable(self.fit):
            raise TypeError(f"{where}: fit must be a function fit(X, k, *, seed, sample_size, ...).")
        keyword = {p.name for p in inspect.signature(self.fit).parameters.values() if p.kind is p.KEYWORD_ONLY}
        if not {"seed", "sample_size"} <= keyword:
            raise TypeError(f"{where}: fit must take the keyword-only parameters seed and sample_size "
                            f"(it takes {', '.join(sorted(keyword)) or 'none'}).")

    def options(self) -> tuple[str, ...]:
        """The keyword options ``fit`` takes besides ``seed``."""
        sig = inspect.signature(self.fit)
        return tuple(p for p, v in sig.parameters.items() if v.kind is v.KEYWORD_ONLY and p != "seed")

    def text(self) -> str:
        """What the report says of it: the description, then the reference in brackets."""
        return f"{self.description} ({self.reference})" if self.reference else self.description
