"""The results tables of a run, built once from ``metrics.csv`` and drawn by both the HTML report and the paper.

Numbers read ``0.840 ± 0.033`` (mean ± sample standard deviation over seeds; the mean alone with one seed or an
old run folder; ``–`` where the metric is undefined), as the command line prints them. A row whose method was
trained or conditioned on a label is marked (``†``), its cells against that label are set apart, and they never
count as the best value of their column: they are not unsupervised results.

Each table comes in two sizes: the *headline* (the paper and the body of report.html: per label each
representation's best clusterer, at most :data:`HEADLINE_ROWS` of them, the baselines always among them) and the
*full* table (every row of ``metrics.csv``, in report.html's appendix). Bold marks the best value of a column over
every row of ``metrics.csv``, so a headline table never calls a value the best that the full table does not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from songspace.evaluation.registry import (
    COMMON,
    METRICS,
    conditioned_on,
    has_direction,
    is_count,
    label_metrics,
    lower_is_better,
    metric_of,
    spread,
    value,
)
from songspace.evaluation.registry import header as metric_header
from songspace.runfolder import Row, RunData, Table

DAGGER = "†"
UNDEFINED = "–"
# Headers of the columns that are not metrics (the metrics' own are in songspace.evaluation.registry).
OTHER_HEADER = {"reconstruction": "Reconstruction", "kl": "KL", "beta": "β", "n_seeds": "Seeds"}
INTERNAL_OWN = tuple(m.name for m in METRICS if m.kind == "internal")
INTERNAL_COMMON = tuple(f"{c}{COMMON}" for c in INTERNAL_OWN)
# Rows of a headline table: a representation's best clusterer each, the best first; more representations than this
# are left to the full table in report.html (the baselines and the rows given the label are always kept). The label
# tables share LABEL_ROWS, so that a run with many labels keeps a short paper, down to MIN_ROWS each.
HEADLINE_ROWS, LABEL_ROWS, MIN_ROWS = 16, 48, 8


def _is_count(col: str) -> bool:
    return is_count(col) or col == "n_seeds"  # whole numbers when every seed agrees


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
    return fmt(value(row, col), spread(row, col), col=col)


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
    value: float = math.nan  # the mean, the key a sortable table sorts by
    best: bool = False  # the best value of its column among the rows that may compete for it
    given: bool = False  # the method was given this cell's label: not an unsupervised result


@dataclass
class TableRow:
    method: str
    marked: bool  # conditioned on some label (shown with a dagger)
    cells: list[Cell]
    new_group: bool = False  # first row of a new representation
    tag: str = ""  # why the row is there, in a headline table ("baseline")


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

    @property
    def first_sort(self) -> list[str]:
        """Per column, the order a first click on its header sorts in: the best values first."""
        return ["ascending" if lower_is_better(c) else "descending" for c in self.columns]


def _best_value(rows: Sequence[Row], col: str) -> float:
    """The best value of ``col`` among the rows not given its label; NaN when none stands out (fewer than two
    values, or all equal, or no better direction)."""
    if not has_direction(col):
        return math.nan
    lab = metric_label(col)
    values = [value(r, col) for r in rows if not math.isnan(value(r, col)) and not (lab and lab in conditioned_on(r))]
    if len(values) < 2 or min(values) == max(values):
        return math.nan
    return min(values) if lower_is_better(col) else max(values)


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
                groups: Sequence[tuple[str, int]] | None = None, *, pool: Sequence[Row] | None = None,
                tags: dict[str, str] | None = None, grouped: bool = True) -> ResultTable:
    """A :class:`ResultTable` of ``columns`` (those present in the rows), one line per row of ``rows``.

    ``pool``: the rows a column's best value is chosen among (default ``rows``): all of ``metrics.csv`` for a
    headline table. ``tags``: method -> a word shown beside it ("baseline"). ``grouped``: a rule above each new
    representation."""
    present = [c for c in columns if any(c in r for r in rows)]
    best = {c: _best_value(rows if pool is None else pool, c) for c in present}
    out = []
    previous = None
    for r in rows:
        given = conditioned_on(r)
        cells = [Cell(pm(r, c), value(r, c), best=value(r, c) == best[c] and metric_label(c) not in given,
                      given=metric_label(c) in given) for c in present]
        rep = r.get("representation")
        method = str(r.get("method") or "")
        out.append(TableRow(method, bool(given), cells, new_group=grouped and previous is not None and rep != previous,
                            tag=(tags or {}).get(method, "")))
        previous = rep
    note = footnote(rows)
    return ResultTable(key, caption, present, list(groups) if groups else [("", len(present))], out,
                       [note] if note else [])


def _order(col: str) -> Callable[[Row], tuple[bool, float]]:
    """A sort key: the best value of ``col`` first, undefined (NaN) last."""
    low = lower_is_better(col)
    return lambda r: (math.isnan(value(r, col)), value(r, col) if low else -value(r, col))


def representation_best(rows: Sequence[Row], col: str) -> list[Row]:
    """Each representation's best row by ``col`` (its first row when none has a value), in run order."""
    families: dict[str, list[Row]] = {}
    for r in rows:
        families.setdefault(str(r.get("representation") or r.get("method")), []).append(r)
    return [min(group, key=_order(col)) for group in families.values()]  # min keeps the first of equals


def headline_rows(rows: Sequence[Row], col: str, *, baselines: Collection[str] = (),
                  limit: int = HEADLINE_ROWS) -> tuple[list[Row], int]:
    """The rows a headline table of ``col`` shows, and how many representations it leaves out.

    Each representation's best clusterer by ``col`` (:func:`representation_best`), the best first; the rows given
    ``col``'s label come after the others (they do not compete). Beyond ``limit`` rows the lowest are left out,
    but never a baseline's nor a given row."""
    lab = metric_label(col)
    tops = representation_best(rows, col)
    free = sorted([r for r in tops if not (lab and lab in conditioned_on(r))], key=_order(col))
    given = [r for r in tops if lab and lab in conditioned_on(r)]
    kept = {id(r) for r in free if str(r.get("representation")) in baselines}
    room = max(limit - len(kept) - len(given), 1)
    kept |= {id(r) for r in [r for r in free if id(r) not in kept][:room]}
    shown = [r for r in free if id(r) in kept]
    return [*shown, *given], len(tops) - len(shown) - len(given)


def _spread(run: RunData) -> str:
    n = run.seed_count
    has_std = any(c.endswith("_std") for c in run.metrics.columns)
    return f"mean ± std over {n} seeds" if n > 1 and has_std else "one seed" if n == 1 else f"mean over {n} seeds"


def _label_columns(run: RunData, lab: str, *, headline: bool) -> list[str]:
    """A label's columns, in the order its metrics declare (songspace.evaluation.registry); the headline table
    shows the headlined ones."""
    cols = [f"{name}_{lab}" for name in label_metrics(headline=headline)]
    if not headline:  # a newer runner's label metrics too
        cols += [c for c in run.metrics.columns if metric_label(c) == lab and not c.endswith("_std") and c not in cols]
    return [c for c in cols if c in run.metrics.columns]


def _left_out(hidden: int, total: int) -> str:
    return (f" The {hidden} representation{'s' if hidden > 1 else ''} ranked lowest {'are' if hidden > 1 else 'is'} "
            f"left out here; all {total} methods are in report.html's appendix and metrics.csv." if hidden else
            f" All {total} methods are in report.html's appendix and metrics.csv.")


def _tags(rows: Sequence[Row], baselines: Collection[str]) -> dict[str, str]:
    return {str(r.get("method")): "baseline" for r in rows if str(r.get("representation")) in baselines}


def label_tables(run: RunData, *, headline: bool = False, baselines: Collection[str] = ()) -> list[ResultTable]:
    """One table per label: NMI (and what chance gives it), ARI, purity, 10-NN agreement against it.

    ``headline``: each representation's best clusterer by NMI (:func:`headline_rows`), the best first, at most
    HEADLINE_ROWS rows (fewer with more than three labels); otherwise every method, in run order, with every column
    of the label. ``baselines``: representations tagged as such."""
    rows = run.metrics.rows
    limit = max(MIN_ROWS, min(HEADLINE_ROWS, LABEL_ROWS // max(len(run.labels), 1)))
    out = []
    for lab in run.labels:
        cols = _label_columns(run, lab, headline=headline)
        if not cols:
            continue
        chance = " NMI chance: what the same clustering reaches against shuffled labels." \
            if f"nmi_chance_{lab}" in cols else ""
        if not headline:
            out.append(build_table(f"label_{lab}", f"Agreement of each method's clusters with the label {lab} "
                                   f"(evaluation only; {_spread(run)}). Higher is better; best in bold.{chance}",
                                   rows, cols))
            continue
        shown, hidden = headline_rows(rows, f"nmi_{lab}", baselines=baselines, limit=limit)
        out.append(build_table(
            f"label_{lab}", f"Agreement with the label {lab} (evaluation only; {_spread(run)}) of each "
            f"representation's best clusterer by NMI, the best first. Higher is better; the best of all methods in "
            f"bold.{chance}{_left_out(hidden, len(rows))}", shown, cols, pool=rows, tags=_tags(shown, baselines),
            grouped=False))
    return out


def internal_table(run: RunData, *, own_space: bool = True, headline: bool = False,
                   baselines: Collection[str] = ()) -> ResultTable:
    """Internal quality: silhouette, Calinski–Harabasz and Davies–Bouldin in the common space (comparable across
    methods) and, with ``own_space``, in each method's own space; noise fraction and number of clusters.
    ``headline``: each representation's best clusterer by common-space silhouette, the best first."""
    cols = [*INTERNAL_COMMON, *(INTERNAL_OWN if own_space else ()), "noise_fraction", "n_clusters"]
    present = [c for c in cols if c in run.metrics.columns]
    groups = [("common space", sum(c in present for c in INTERNAL_COMMON))]
    if own_space:
        groups.append(("own space", sum(c in present for c in INTERNAL_OWN)))
    groups.append(("", sum(c in present for c in ("noise_fraction", "n_clusters"))))
    groups = [g for g in groups if g[1]]
    rows = run.metrics.rows
    what = ("The common space is the one every method is also scored in, so its columns compare methods; "
            "Davies–Bouldin and noise: lower is better")
    key = next((c for c in ("silhouette_common", "silhouette") if c in present), None)
    if not headline or key is None:
        return build_table("internal", f"Internal quality of each method's clusters ({_spread(run)}). {what}; best "
                           "in bold.", rows, present, groups)
    shown, hidden = headline_rows(rows, key, baselines=baselines)
    return build_table("internal", f"Internal quality ({_spread(run)}) of each representation's best clusterer by "
                       f"{header(key).lower()}{' in the common space' if key.endswith(COMMON) else ''}, the best "
                       f"first. {what}; the best of all methods in bold.{_left_out(hidden, len(rows))}",
                       shown, present, groups, pool=rows, tags=_tags(shown, baselines), grouped=False)


def other_table(run: RunData) -> ResultTable | None:
    """Numeric columns of metrics.csv no other table shows (a newer runner's metrics), or None."""
    shown = {*INTERNAL_COMMON, *INTERNAL_OWN, "noise_fraction", "n_clusters", "n_seeds"}
    shown |= {c for c in run.metrics.columns if metric_label(c) in run.labels}  # the full label tables
    cols = [c for c in run.metrics.columns if c not in shown and not c.endswith("_std")
            and any(not math.isnan(value(r, c)) for r in run.metrics.rows)
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
    rows = [{**r, "method": f"{value(r, 'beta'):g}", "representation": str(value(r, "beta"))} for r in t.rows]
    table = build_table("beta_sweep", "Beta-VAE sweep: validation reconstruction error, KL term and cluster "
                        f"metrics of its latent per β ({_spread(run)}).", rows, cols, grouped=False)
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
