"""Every metric of a results row, declared once: what it computes, where it goes, which way is better, its header.

``metrics.csv``'s metric columns, which columns are averaged over seeds, the report's and the terminal's table
headers, which label metrics the headline tables show and the figures draw, and which direction is better in
tables and figures all derive from :data:`METRICS`. To add a metric: write its function in
:mod:`songspace.evaluation.metrics` and add one :class:`Metric` line here.

A row of ``metrics.csv`` is read through :func:`value`, :func:`spread` and :func:`conditioned_on` (numbers written
as text, the ``<col>_std`` beside a mean, the ``;``-separated labels a method was given), by every reader of it.

Kinds of metric and their columns (for labels ``L``):

- ``internal``: computed in a space, twice: ``<name>`` in the method's own space and ``<name>_common`` in the
  common space every method shares; ``fn(X, labels_pred, *, sample_size, seed)``.
- ``partition``: of the clustering alone, ``<name>``; ``fn(labels_pred)``.
- ``label``: against each label column, ``<name>_L``; ``fn(labels_true, labels_pred)``.
- ``space``: of the representation's space against each label, whatever the clusterer, ``<name>_L``;
  ``fn(X, labels_true, *, seed)``, computed once per representation (:func:`score_space`).
- ``count``: a whole number (``n_clusters``), averaged like the others but printed as an integer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from songspace.evaluation import metrics as m

KINDS = ("internal", "partition", "label", "space", "count")


@dataclass(frozen=True)
class Metric:
    """One metric.

    name : the column (or the stem of its columns: ``nmi`` for ``nmi_genre``).
    kind : one of :data:`KINDS`.
    header : its column heading in the report's tables.
    fn : computes it (see the kinds above for its signature).
    higher_is_better : None: no better direction (counts, chance levels).
    description : one line for the report's legend.
    short : its heading in the terminal, where a column is no wider than its numbers ("" = ``header``).
    headline : its place among a label's columns of the headline tables, 1 first (0 = only in the full table,
        after the headlined ones); label and space metrics only.
    drawn : drawn in the run's metric figures (the label metrics against each label, the internal ones in the
        common space).
    """

    name: str
    kind: str
    header: str
    fn: Callable[..., float]
    higher_is_better: bool | None
    description: str
    short: str = ""
    headline: int = 0
    drawn: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise TypeError(f"metric {self.name!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.headline and self.kind not in ("label", "space"):
            raise TypeError(f"metric {self.name!r}: only label and space metrics have a headline place")


def _n_clusters(labels_pred: np.ndarray) -> float:
    labels = np.asarray(labels_pred)
    return int(np.unique(labels[labels >= 0]).size)


def _silhouette(X: np.ndarray, labels_pred: np.ndarray, *, sample_size: int, seed: int) -> float:
    return m.silhouette(X, labels_pred, sample_size=sample_size, seed=seed)


def _calinski_harabasz(X: np.ndarray, labels_pred: np.ndarray, **_: Any) -> float:
    return m.calinski_harabasz(X, labels_pred)


def _davies_bouldin(X: np.ndarray, labels_pred: np.ndarray, **_: Any) -> float:
    return m.davies_bouldin(X, labels_pred)


METRICS: tuple[Metric, ...] = (
    Metric("silhouette", "internal", "Silhouette", _silhouette, True,
           "mean silhouette coefficient, in [-1, 1]", short="sil", drawn=True),
    Metric("calinski_harabasz", "internal", "Calinski–Harabasz", _calinski_harabasz, True,
           "between- over within-cluster dispersion", short="CH"),
    Metric("davies_bouldin", "internal", "Davies–Bouldin", _davies_bouldin, False,
           "mean worst-case cluster similarity, 0 is best", short="DB", drawn=True),
    Metric("noise_fraction", "partition", "Noise", m.noise_fraction, False,
           "share of tracks left as noise (-1) or not placed", short="noise"),
    Metric("ari", "label", "ARI", m.ari, True, "adjusted Rand index against the label (0 = chance)",
           headline=3, drawn=True),
    Metric("nmi", "label", "NMI", m.nmi, True, "normalised mutual information with the label, in [0, 1]",
           headline=1, drawn=True),
    Metric("purity", "label", "Purity", m.purity, True, "share of tracks whose cluster's majority label is theirs",
           short="purity", headline=4, drawn=True),
    Metric("nmi_chance", "label", "NMI chance", m.nmi_chance, None,
           "mean NMI of the same clustering against shuffled labels (10 permutations): what chance reaches",
           headline=2),
    Metric("knn", "space", "10-NN", lambda X, truth, *, seed: m.neighbour_agreement(X, truth, k=10, seed=seed), True,
           "share of each track's 10 nearest neighbours in the space with its label (any clusterer)"),
    Metric("n_clusters", "count", "Clusters", _n_clusters, None, "clusters found (noise not counted)",
           short="clusters"),
)
BY_NAME = {mt.name: mt for mt in METRICS}
COMMON = "_common"  # suffix of the internal metrics measured in the common space


def label_metrics(*, headline: bool = False) -> list[str]:
    """The metrics of a label's columns (``nmi`` for ``nmi_<label>``), in table order: the headlined ones by their
    place, then the others; ``headline`` = the headlined ones only."""
    per_label = [mt for mt in METRICS if mt.kind in ("label", "space")]
    first = sorted((mt for mt in per_label if mt.headline), key=lambda mt: mt.headline)
    return [mt.name for mt in [*first, *([] if headline else [mt for mt in per_label if not mt.headline])]]


def drawn_metrics(kind: str) -> list[str]:
    """The metrics of ``kind`` (``label`` or ``internal``) the run's figures draw, label ones in table order."""
    names = [mt.name for mt in METRICS if mt.kind == kind and mt.drawn]
    order = label_metrics()
    return sorted(names, key=order.index) if kind in ("label", "space") else names


def metric_columns(labels: Sequence[str]) -> list[str]:
    """The metric columns of one results row, in ``metrics.csv`` order."""
    internal = [mt.name for mt in METRICS if mt.kind == "internal"]
    cols = [*internal, *[f"{c}{COMMON}" for c in internal]]
    cols += [mt.name for mt in METRICS if mt.kind == "partition"]
    for label in labels:
        cols += [f"{mt.name}_{label}" for mt in METRICS if mt.kind in ("label", "space")]
    return cols + [mt.name for mt in METRICS if mt.kind == "count"]


def metric_of(col: str) -> tuple[Metric, str | None] | None:
    """The metric behind a column and its label (``(nmi, "genre")`` for ``nmi_genre``); None for other columns.
    A ``_std`` column is its metric's too."""
    col = col.removesuffix("_std")
    if col in BY_NAME:
        return BY_NAME[col], None
    base = col.removesuffix(COMMON)
    if base != col and base in BY_NAME and BY_NAME[base].kind == "internal":
        return BY_NAME[base], None
    for mt in sorted(METRICS, key=lambda x: -len(x.name)):  # nmi_chance_genre is nmi_chance's, not nmi's
        if mt.kind in ("label", "space") and col.startswith(f"{mt.name}_"):
            return mt, col[len(mt.name) + 1:]
    return None


# An NMI is claimed as a finding (a "best match") only when it clears chance by this much: the same clustering
# against shuffled labels (nmi_chance_<label>) must stay below nmi - CHANCE_MARGIN, and below half the NMI.
CHANCE_MARGIN = 0.05


def above_chance(row: Mapping[str, Any], label: str) -> bool:
    """Whether ``row``'s NMI against ``label`` is clearly above what chance gives the same clustering (rows without a
    chance column, from older runs, count as above)."""
    v, chance = as_float(row.get(f"nmi_{label}")), as_float(row.get(f"nmi_chance_{label}"))
    if math.isnan(v):
        return False
    return math.isnan(chance) or (v - chance >= CHANCE_MARGIN and chance <= v / 2)


def is_metric(col: str) -> bool:
    return metric_of(col) is not None


def lower_is_better(col: str) -> bool:
    """Whether smaller values of ``col`` are better (Davies-Bouldin, noise, reconstruction error, loss)."""
    found = metric_of(col)
    if found is not None:
        return found[0].higher_is_better is False
    return col.removesuffix("_std") in ("reconstruction", "loss") or col.endswith("_loss")


def has_direction(col: str) -> bool:
    """Whether ``col`` has a better direction (counts and settings do not)."""
    found = metric_of(col)
    return found[0].higher_is_better is not None if found is not None else col in ("reconstruction", "loss")


def is_count(col: str) -> bool:
    found = metric_of(col)
    return found is not None and found[0].kind == "count"


def header(col: str) -> str:
    """Short column heading: ``NMI`` for ``nmi_genre`` (the label is the group heading)."""
    found = metric_of(col)
    return found[0].header if found is not None else col.replace("_", " ")


def short_header(col: str) -> str:
    """The terminal's heading of a metric column (``sil`` for ``silhouette_common``; the label, or ``own`` for an
    internal metric in the method's own space, on a second line: ``NMI\ngenre``, ``sil\nown``)."""
    found = metric_of(col)
    if found is None:
        return col.replace("_", " ")
    metric, label = found
    short = metric.short or metric.header
    if label is not None:
        return f"{short}\n{label}"
    if metric.kind == "internal" and not col.removesuffix("_std").endswith(COMMON):
        return f"{short}\nown"
    return short


def number(value: Any) -> float | None:
    """A metrics.csv cell as a float (``"nan"`` is NaN); None for what is no number (text, empty, absent)."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def as_float(value: Any) -> float:
    """``value`` as a float; NaN for None, ``""``, ``"nan"`` and anything else that is not a number."""
    if isinstance(value, bool):
        return float(value)
    v = number(value)
    return math.nan if v is None else v


def value(row: Mapping[str, Any], col: str) -> float:
    """The number in column ``col`` of a metrics row (a mean over seeds); NaN when absent or no number."""
    return as_float(row.get(col))


def spread(row: Mapping[str, Any], col: str) -> float:
    """The standard deviation over seeds beside ``col`` (``<col>_std``); NaN with one seed or none recorded."""
    return as_float(row.get(f"{col}_std"))


def conditioned_on(row: Mapping[str, Any]) -> list[str]:
    """The labels a row's method was given (``conditioned_on``, ``;``-separated): its scores against them are not
    unsupervised results."""
    return [c.strip() for c in str(row.get("conditioned_on") or "").split(";") if c.strip()]


def score(labels_pred: np.ndarray, *, own_space: np.ndarray, common_space: np.ndarray,
          labels: Mapping[str, Sequence[str]], seed: int = 0, silhouette_sample: int = 10000) -> dict[str, float]:
    """Every metric of :data:`METRICS` for one clustering, keyed by column (see :func:`metric_columns`)."""
    row: dict[str, float] = {}
    for suffix, X in (("", own_space), (COMMON, common_space)):
        for mt in METRICS:
            if mt.kind == "internal":
                row[f"{mt.name}{suffix}"] = mt.fn(X, labels_pred, sample_size=silhouette_sample, seed=seed)
    for mt in METRICS:
        if mt.kind in ("partition", "count"):
            row[mt.name] = mt.fn(labels_pred)
    for name, truth in labels.items():
        for mt in METRICS:
            if mt.kind == "label":
                row[f"{mt.name}_{name}"] = mt.fn(truth, labels_pred)
    return row


def score_space(X: np.ndarray, labels: Mapping[str, Sequence[str]], *, seed: int = 0) -> dict[str, float]:
    """The ``space`` metrics of one representation (rows it covers), keyed by column."""
    return {f"{mt.name}_{name}": mt.fn(X, truth, seed=seed)
            for name, truth in labels.items() for mt in METRICS if mt.kind == "space"}
