"""The results tables of a run, built once from ``metrics.csv`` and drawn by both the HTML report and the paper.

Numbers read ``0.840 ± 0.033`` (mean ± sample standard deviation over seeds; the mean alone with one seed or an
old run folder; ``–`` where the metric is undefined), as the command line prints them. A row whose method was
trained or conditioned on a label is marked (``†``), its cells against that label are set apart, and they never
count as the best value of their column: they are not unsupervised results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from songspace.evaluation.registry import (
    COMMON,
    METRICS,
    as_float,
    has_direction,
    is_count,
    lower_is_better,
    metric_of,
)
from songspace.evaluation.registry import header as metric_header
from songspace.runfolder import Row, RunData, Table

DAGGER = "†"
UNDEFINED = "–"
# Headers of the columns that are not metrics (the metrics' own are in songspace.evaluation.registry).
OTHER_HEADER = {"reconstruction": "Reconstruction", "kl": "KL", "beta": "β", "n_seeds": "Seeds"}
INTERNAL_OWN = tuple(m.name for m in METRICS if m.kind == "internal")
INTERNAL_COMMON = tuple(f"{c}{COMMON}" for c in INTERNAL_OWN)


def _is_count(col: str) -> bool:
    return is_count(col) or col == "n_seeds"  # whole numbers when every seed agrees


def num(row: Row, col: str) -> float:
    """The float in ``row[col]``; NaN when absent or not a number."""
    return as_float(row.get(col))


def fmt(value: float, std: float = math.nan, *, col: str = "") -> str:
    """``0.840 ± 0.033``; one decimal from 100 up; counts without decimals when whole and not spread."""
    if math.isnan(value):
        return UNDEFINED
    if _is_count(col):
        if value == int(value) and (math.isnan(std) or std == 0):
            return str(int(value))
        return f"{value:.1f}" + ("" if math.isnan(std) else f" ± {std:.1f}")
    digits = 1 if abs(value) >= 100 else 3
    mean = f"{value:.{digits}f}"
    if float(mean) == 0:
        mean = mean.lstrip("-")  # -0.000 reads as a sign that is not there
    return mean + ("" if math.isnan(std) else f" ± {std:.{digits}f}")


def pm(row: Row, col: str) -> str:
    """The cell text of ``row[col]`` with its ``<col>_std``, as in every table of the report."""
    return fmt(num(row, col), num(row, f"{col}_std"), col=col)


def conditioned_on(row: Row) -> list[str]:
    """Labels the row's method was trained or conditioned on (``conditioned_on``, ``;``-separated)."""
    return [c for c in str(row.get("conditioned_on") or "").split(";") if c]


def metric_label(col: str) -> str | None:
    """``genre`` for ``nmi_genre`` / ``ari_genre`` / ``purity_genre``; None for other columns."""
    found = metric_of(col)
    return found[1] if found is not None else None


def header(col: str) -> str:
    """Short column heading: ``NMI`` for ``nmi_genre`` (the label is the group heading)."""
    return OTHER_HEADER.get(col) or metric_header(col)


@dataclass
class Cell:
    text: str
    best: bool = False  # the best value of its column among the rows that may compete for it
    given: bool = False  # the method was given this cell's label: not an unsupervised result


@dataclass
class TableRow:
    method: str
    marked: bool  # conditioned on some label (shown with a dagger)
    cells: list[Cell]
    new_group: bool = False  # first row of a new representation


@dataclass
class ResultTable:
    """One table: ``groups`` are (heading, span) over the numeric columns, ``columns`` their keys."""

    key: str
    caption: str
    columns: list[str]
    groups: list[tuple[str, int]]
    rows: list[TableRow]
    footnotes: list[str] = field(default_factory=list)
    row_header: str = "method"

    @property
    def headers(self) -> list[str]:
        return [header(c) for c in self.columns]


def _best_index(rows: Sequence[Row], col: str) -> set[int]:
    if not has_direction(col):
        return set()
    lab = metric_label(col)
    scored = [(i, num(r, col)) for i, r in enumerate(rows)
              if not math.isnan(num(r, col)) and not (lab and lab in conditioned_on(r))]
    if len(scored) < 2:
        return set()
    values = [v for _, v in scored]
    if min(values) == max(values):
        return set()  # all equal: nothing stands out
    best = min(values) if lower_is_better(col) else max(values)
    return {i for i, v in scored if v == best}


def footnote(rows: Sequence[Row]) -> str | None:
    """``† trained/conditioned on language (cvae): ...`` for the marked rows, or None when there are none."""
    given: dict[str, list[str]] = {}
    for r in rows:
        for lab in conditioned_on(r):
            rep = str(r.get("representation") or r.get("method"))
            if rep not in given.setdefault(lab, []):
                given[lab].append(rep)
    if not given:
        return None
    parts = [f"{', '.join(reps)} on {lab}" for lab, reps in given.items()]
    return (f"{DAGGER} Trained/conditioned on a label ({'; '.join(parts)}): its scores against that label (set "
            "apart) are not unsupervised results, and never count as the best of a column.")


def build_table(key: str, caption: str, rows: Sequence[Row], columns: Sequence[str],
                groups: Sequence[tuple[str, int]] | None = None) -> ResultTable:
    """A :class:`ResultTable` of ``columns`` (those present in the rows) for each row of ``metrics.csv``."""
    present = [c for c in columns if any(c in r for r in rows)]
    best = {c: _best_index(rows, c) for c in present}
    out = []
    previous = None
    for i, r in enumerate(rows):
        given = conditioned_on(r)
        cells = [Cell(pm(r, c), best=i in best[c], given=metric_label(c) in given) for c in present]
        rep = r.get("representation")
        out.append(TableRow(str(r.get("method") or ""), bool(given), cells,
                            new_group=previous is not None and rep != previous))
        previous = rep
    note = footnote(rows)
    return ResultTable(key, caption, present, list(groups) if groups else [("", len(present))], out,
                       [note] if note else [])


def _spread(run: RunData) -> str:
    n = run.seed_count
    has_std = any(c.endswith("_std") for c in run.metrics.columns)
    return f"mean ± std over {n} seeds" if n > 1 and has_std else "one seed" if n == 1 else f"mean over {n} seeds"


def label_tables(run: RunData) -> list[ResultTable]:
    """One table per label: NMI, ARI and purity of every method against it."""
    rows = run.metrics.rows
    out = []
    for lab in run.labels:
        cols = [f"nmi_{lab}", f"ari_{lab}", f"purity_{lab}"]
        if not any(c in run.metrics.columns for c in cols):
            continue
        out.append(build_table(f"label_{lab}", f"Agreement of each method's clusters with the label {lab} "
                               f"(evaluation only; {_spread(run)}). Higher is better; best in bold.", rows, cols))
    return out


def internal_table(run: RunData, *, own_space: bool = True) -> ResultTable:
    """Internal quality: silhouette, Calinski–Harabasz and Davies–Bouldin in the common space (comparable across
    methods) and, with ``own_space``, in each method's own space; noise fraction and number of clusters."""
    cols = [*INTERNAL_COMMON, *(INTERNAL_OWN if own_space else ()), "noise_fraction", "n_clusters"]
    present = [c for c in cols if c in run.metrics.columns]
    groups = [("common space", sum(c in present for c in INTERNAL_COMMON))]
    if own_space:
        groups.append(("own space", sum(c in present for c in INTERNAL_OWN)))
    groups.append(("", sum(c in present for c in ("noise_fraction", "n_clusters"))))
    return build_table("internal", "Internal quality of each method's clusters (" + _spread(run) + "). The common "
                       "space is the one every method is also scored in, so its columns compare methods; "
                       "Davies–Bouldin and noise: lower is better; best in bold.",
                       run.metrics.rows, present, [g for g in groups if g[1]])


def other_table(run: RunData) -> ResultTable | None:
    """Numeric columns of metrics.csv no other table shows (a newer runner's metrics), or None."""
    shown = {*INTERNAL_COMMON, *INTERNAL_OWN, "noise_fraction", "n_clusters", "n_seeds"}
    shown |= {c for c in run.metrics.columns if metric_label(c) in run.labels}
    cols = [c for c in run.metrics.columns if c not in shown and not c.endswith("_std")
            and any(not math.isnan(num(r, c)) for r in run.metrics.rows)
            and not any(isinstance(r.get(c), str) for r in run.metrics.rows)]
    if not cols:
        return None
    return build_table("other", f"Other columns of metrics.csv ({_spread(run)}).", run.metrics.rows, cols)


def sweep_table(run: RunData) -> ResultTable | None:
    """beta_sweep.csv: reconstruction, KL and the cluster metrics per beta, or None without a sweep."""
    if run.beta_sweep is None or not run.beta_sweep.rows:
        return None
    t: Table = run.beta_sweep
    cols = [c for c in t.columns if c not in ("beta", "n_seeds", "seed") and not c.endswith("_std")]
    rows = [{**r, "method": f"{num(r, 'beta'):g}", "representation": str(num(r, "beta"))} for r in t.rows]
    table = build_table("beta_sweep", "Beta-VAE sweep: validation reconstruction error, KL term and cluster "
                        f"metrics of its latent per β ({_spread(run)}).", rows, cols)
    for r in table.rows:
        r.new_group = False
    table.row_header = "β"
    return table


def seed_columns(run: RunData) -> list[str]:
    """Columns of metrics_seeds.csv shown in the per-seed table: identity, then every number."""
    if run.seeds is None:
        return []
    skip = ("representation", "clusterer", "space", "notes", "modality", "learned")
    return [c for c in run.seeds.columns if c not in skip]


def cell(row: Row, col: str) -> str:
    """A per-seed cell: text as is, numbers with 3 decimals (1 from 100 up), whole counts without."""
    v: Any = row.get(col)
    if isinstance(v, float):
        if col in ("seed", "n_clusters") and not math.isnan(v) and v == int(v):
            return str(int(v))
        return fmt(v, col=col)
    return "" if v is None else str(v)
