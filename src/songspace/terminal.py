"""What a run shows in a terminal: its results table (the headline rows, or every row) and its progress.

The table functions are pure: rows in (the dicts of ``RunResult.metrics``, one per representation x clusterer, each
number a mean over seeds beside ``<col>_std``), rich renderables out, sized to a given width. Nothing here reads or
writes a file; ``metrics.csv`` always holds the whole table.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

from rich import box
from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

Row = dict[str, Any]

LEGEND = "sil, CH, DB: silhouette, Calinski-Harabasz, Davies-Bouldin in the space all methods share (own: in its own)"
# The headline columns when the config names none (eval.show), most telling first: narrow terminals drop the
# rightmost ones.
HEADLINE_COLUMNS = ("nmi_{label}", "silhouette_common", "n_clusters", "ari_{label}", "noise_fraction")


# Characters that a terminal acts on instead of showing (C0 and C1 controls, DEL: ESC starts a sequence that can
# move the cursor, rewrite the screen or set the window title) or that reorder a line (bidirectional overrides).
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def controls_escaped(text: object) -> str:
    """``text`` (a name or path from data) as it can be printed: every control character written as an escape
    (``\\n``, ``\\x1b``), so that a file name cannot break a line or drive the terminal."""
    return _UNSHOWABLE.sub(lambda m: repr(m.group())[1:-1], str(text))  # repr escapes each of them


def shown(text: object) -> str:
    """``text`` from data or a path, ready for a Rich markup string: :func:`controls_escaped`, with ``[`` escaped so
    that ``[/]`` or ``[bold]`` in a name is shown, not read as markup. (Emoji codes such as ``:smile:`` are off in every
    songspace console.)"""
    from rich.markup import escape

    return escape(controls_escaped(text))


def plain(text: object, style: str = "") -> Text:
    """``text`` from data as a Rich :class:`Text` (never parsed for markup or emoji), control characters escaped:
    for table cells and headers."""
    return Text(controls_escaped(text), style=style)


def header(column: str) -> str:
    """The short header of a metrics.csv column, as its metric declares it (a column no wider than its numbers,
    "0.84±0.03"): ``nmi_genre`` -> ``"NMI\ngenre"`` (two lines), ``silhouette_common`` -> ``"sil"``,
    ``silhouette`` (in the method's own space) -> ``"sil\nown"``."""
    from songspace.evaluation.registry import short_header

    # the metric's short name, then the label (from data: its control characters escaped) on a line of its own
    return "\n".join(controls_escaped(part) for part in short_header(column).split("\n", 1))


def _number(v: Any) -> float | None:
    from songspace.evaluation.registry import number  # lazily: the registry imports scikit-learn

    return number(v)


def _is_count(column: str) -> bool:
    from songspace.evaluation.registry import is_count

    return is_count(column)


def format_cell(row: Row, column: str) -> str:
    """One short cell: ``0.84±0.03`` (mean ± std over seeds), the mean alone with one seed, a count as an integer
    (``6``, or ``5.6±1.1`` when it differs between seeds), ``-`` where the metric is undefined (NaN)."""
    raw = row.get(column)
    v = _number(raw)
    if v is None:
        return "" if raw is None else str(raw)
    if math.isnan(v):
        return "-"
    sd = _number(row.get(f"{column}_std"))
    spread = sd is not None and not math.isnan(sd)  # NaN with one seed
    if _is_count(column) and v.is_integer() and (not spread or sd == 0):
        return str(int(v))
    size = max(abs(v), abs(sd) if spread and sd is not None else 0.0)
    decimals = 1 if _is_count(column) else 2 if size < 10 else 1 if size < 100 else 0

    def fmt(x: float) -> str:
        s = f"{x:.{decimals}f}"
        return s[1:] if s.startswith("-") and float(s) == 0 else s  # no "-0.00"

    return f"{fmt(v)}±{fmt(sd)}" if spread and sd is not None else fmt(v)


def _conditioned(row: Row) -> list[str]:
    from songspace.evaluation.registry import conditioned_on

    return conditioned_on(row)


def _value(row: Row, column: str) -> float:
    from songspace.evaluation.registry import value

    return value(row, column)


def rank_score(row: Row, labels: Sequence[str]) -> float:
    """What a representation's best clusterer is chosen by: the mean NMI over the labels the row was not given
    (``conditioned_on``), or ``silhouette_common`` when there are none; NaN where undefined."""
    given = _conditioned(row)
    values = [_value(row, f"nmi_{lab}") for lab in labels if lab not in given]
    values = [v for v in values if not math.isnan(v)]
    if labels:
        return sum(values) / len(values) if values else math.nan
    return _value(row, "silhouette_common")


def _best(rows: Sequence[Row], key: Callable[[Row], float]) -> Row | None:
    scored = [(key(r), i) for i, r in enumerate(rows)]
    scored = [(s, i) for s, i in scored if not math.isnan(s)]
    return rows[max(scored, key=lambda t: (t[0], -t[1]))[1]] if scored else None


def _descending(score: float) -> float:
    """A sort key: highest score first, undefined (NaN) last."""
    return math.inf if math.isnan(score) else -score


def headline_rows(rows: Sequence[Row], labels: Sequence[str], *,
                  baselines: Collection[str] = ()) -> list[tuple[str, Row]]:
    """The rows a person looks at first, each with why it is there.

    First, per label, the row with the highest ``nmi_<label>`` among the rows not given that label (``why`` =
    the labels it is best for, ``<label>: chance`` where even the best is not clearly above chance
    (:func:`~songspace.evaluation.registry.above_chance`), and ``(baseline)`` when it is one); then each
    representation's best clusterer (by :func:`rank_score`), best first; then the ``baselines``
    representations' best rows (``why`` = ``"baseline"``). No row appears twice.
    """
    out: list[tuple[str, Row]] = []
    best_for: dict[str, list[str]] = {}
    from songspace.evaluation.registry import above_chance

    for lab in labels:
        row = _best([r for r in rows if lab not in _conditioned(r)], lambda r, lab=lab: _value(r, f"nmi_{lab}"))
        if row is not None:  # a best at chance level is shown as such, not as a finding
            best_for.setdefault(str(row["method"]), []).append(lab if above_chance(row, lab) else f"{lab}: chance")
    for method, labs in best_for.items():
        row = next(r for r in rows if str(r["method"]) == method)
        baseline = " (baseline)" if str(row.get("representation")) in baselines else ""
        out.append((", ".join(labs) + baseline, row))
    shown = set(best_for)
    families: dict[str, list[Row]] = {}
    for r in rows:
        families.setdefault(str(r.get("representation", r["method"])), []).append(r)
    tops = []
    for name, group in families.items():
        row = _best(group, lambda r: rank_score(r, labels))
        tops.append((name, row if row is not None else group[0]))
    learned = [(n, r) for n, r in tops if n not in baselines]
    learned.sort(key=lambda t: _descending(rank_score(t[1], labels)))
    for _, row in learned:
        if str(row["method"]) not in shown:
            out.append(("", row))
            shown.add(str(row["method"]))
    for _, row in [(n, r) for n, r in tops if n in baselines]:
        if str(row["method"]) not in shown:
            out.append(("baseline", row))
            shown.add(str(row["method"]))
    return out


def headline_columns(labels: Sequence[str], show: Sequence[str] = ()) -> list[str]:
    """The headline table's metric columns: ``show`` (the config's eval.show) or :data:`HEADLINE_COLUMNS`."""
    if show:
        return list(show)
    return [c.format(label=lab) for c in HEADLINE_COLUMNS for lab in (labels if "{label}" in c else [""])]


def numeric_columns(rows: Sequence[Row], columns: Sequence[str]) -> list[str]:
    """The columns of ``columns`` that hold a mean over seeds (those with a ``<col>_std`` beside them)."""
    keys = set().union(*(r.keys() for r in rows)) if rows else set()
    return [c for c in columns if f"{c}_std" in keys]


def _table(entries: Sequence[tuple[str, Row]], columns: Sequence[str], *, why: bool,
           title: str | None) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title=title, title_justify="left")
    if why:
        table.add_column("best for", no_wrap=True, style="bold")
    table.add_column("method", no_wrap=True, overflow="ellipsis")
    for c in columns:
        table.add_column(Text(header(c)), justify="right", no_wrap=True)  # a Text: a label's name is not markup
    previous = None
    for reason, row in entries:
        # sections: the best per label, the other representations, the baselines (or: one per representation)
        group = (reason if reason in ("", "baseline") else "label") if why else row.get("representation")
        if previous is not None and group != previous:
            table.add_section()
        previous = group
        name = str(row["method"]) + (" †" if _conditioned(row) else "")
        table.add_row(*([plain(reason, "bold")] if why else []), plain(name), *[format_cell(row, c) for c in columns])
    return table


def _width(table: Table) -> int:
    console = Console(width=10_000)
    return Measurement.get(console, console.options, table).maximum


def _notes(rows: Sequence[Row], columns: Sequence[str]) -> list[str]:
    notes = []
    if any(_conditioned(r) for r in rows):
        notes.append("† given (conditioned on) a label: its scores against that label are not unsupervised.")
    if any(c.split("_")[0] in ("silhouette", "calinski", "davies") for c in columns):
        notes.append(LEGEND)
    return notes


def headline_table(rows: Sequence[Row], labels: Sequence[str], *, width: int, show: Sequence[str] = (),
                   baselines: Collection[str] = (), n_seeds: int = 1) -> list[RenderableType]:
    """The headline rows (:func:`headline_rows`) in a table at most ``width`` characters wide.

    Columns that do not fit are dropped from the right, and a line says how many; no cell ever wraps.
    """
    entries = headline_rows(rows, labels, baselines=baselines)
    wanted = [c for c in headline_columns(labels, show) if any(c in r for r in rows)]
    spread = f"mean±std over {n_seeds} seeds" if n_seeds > 1 else "one seed"
    title = f"headline rows of metrics.csv ({spread})"
    columns = list(wanted)
    table = _table(entries, columns, why=True, title=title)
    while len(columns) > 1 and _width(table) > width:
        columns.pop()
        table = _table(entries, columns, why=True, title=title)
    out: list[RenderableType] = [table]
    hidden = len(wanted) - len(columns)
    notes = _notes([r for _, r in entries], columns)
    if hidden:
        notes.append(f"{hidden} column{'s' if hidden > 1 else ''} hidden by the terminal's width: --table full "
                     "shows every column; metrics.csv has them all.")
    out += [Text(n, style="dim") for n in notes]
    return out


def full_table(rows: Sequence[Row], columns: Sequence[str], *, width: int, n_seeds: int = 1) -> list[RenderableType]:
    """Every row and every numeric column of metrics.csv, as several tables one under the other when the
    columns do not fit ``width`` side by side (each repeats the method column)."""
    numeric = numeric_columns(rows, columns)
    entries = [("", r) for r in rows]
    spread = f"mean±std over {n_seeds} seeds" if n_seeds > 1 else "one seed"
    parts: list[list[str]] = []
    for c in numeric:
        if parts and _width(_table(entries, [*parts[-1], c], why=False, title=None)) <= width:
            parts[-1].append(c)
        else:
            parts.append([c])
    out: list[RenderableType] = []
    for j, part in enumerate(parts):
        title = f"metrics.csv ({spread})" + (f", part {j + 1} of {len(parts)}" if len(parts) > 1 else "")
        out.append(_table(entries, part, why=False, title=title))
    out += [Text(n, style="dim") for n in _notes(rows, numeric)]
    return out


def render_text(renderables: Sequence[RenderableType], width: int) -> str:
    """``renderables`` as plain text at ``width`` columns (what a terminal of that width shows)."""
    console = Console(width=width, record=True, file=_Null(), color_system=None)
    for r in renderables:
        console.print(r)
    return console.export_text()


class _Null:
    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        pass


# Stages whose total is a maximum, not a promise: a training may stop early (early stopping), and says so only by
# the next stage starting.
EARLY_STOPPING = "train "


class StageProgress:
    """The runner's ``progress(stage, done, total)`` calls, shown honestly.

    In a terminal: one bar per stage with "i/N", elapsed time and an ETA. A training's bar (stage ``train ...``,
    total = the maximum epochs) is marked complete, with the epoch it stopped at, as soon as any other stage
    reports: its clock then stops. When the output is not a terminal (a log file, a pipe): no bars, one plain
    line per finished stage ("features 400/400 done in 12.3 s"), and a line every ``heartbeat_s`` for a stage
    still running.

    Use as a context manager; the instance is the ``progress`` callable.
    """

    def __init__(self, console: Console, *, heartbeat_s: float = 60.0) -> None:
        self.console, self.heartbeat_s = console, heartbeat_s
        self.bars: Progress | None = None
        self._tasks: dict[str, Any] = {}
        self._labels: dict[str, str] = {}
        self._state: dict[str, tuple[int, int]] = {}  # stage -> (done, total) last reported
        self._start: dict[str, float] = {}
        self._said: dict[str, float] = {}  # stage -> when a line was last printed for it
        self._finished: set[str] = set()
        self._models = 0
        self._last = time.perf_counter()

    def __enter__(self) -> StageProgress:
        self._last = time.perf_counter()
        if self.console.is_terminal:
            self.bars = Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                                 console=self.console, transient=False)
            self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_trainings(None)
        if self.bars is not None:
            self.bars.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        self._stop_trainings(stage)
        if stage not in self._state:
            self._start[stage] = self._last  # the stage began when the previous one last reported
            if stage.startswith(EARLY_STOPPING):
                self._models += 1
        self._state[stage] = (done, total)
        self._last = now
        if self.bars is not None:
            if stage not in self._tasks:
                label = f"{stage} (model {self._models})" if stage.startswith(EARLY_STOPPING) else stage
                self._labels[stage] = label
                self._tasks[stage] = self.bars.add_task(label, total=total)
            self.bars.update(self._tasks[stage], completed=done, total=total)
        if total and done >= total:
            self._finish(stage)
        elif self.bars is None and now - self._said.get(stage, self._start[stage]) >= self.heartbeat_s:
            self._say(f"{stage} {done}/{total} ({now - self._start[stage]:.0f} s so far)")
            self._said[stage] = now

    def _stop_trainings(self, current: str | None) -> None:
        """Mark every unfinished training other than ``current`` as stopped where it is (early stopping)."""
        for stage, (done, total) in self._state.items():
            if stage != current and stage.startswith(EARLY_STOPPING) and stage not in self._finished:
                if self.bars is not None:
                    task = self._tasks[stage]
                    # full bar at the epoch it stopped (its clock stops); the maximum stays in the description
                    self.bars.update(task, total=done, completed=done,
                                     description=f"{self._labels[stage]} early stop")
                self._finish(stage, stopped=(done, total))

    def _finish(self, stage: str, stopped: tuple[int, int] | None = None) -> None:
        if stage in self._finished:
            return
        self._finished.add(stage)
        if self.bars is not None:
            return
        done, total = self._state[stage]
        seconds = self._last - self._start[stage] if stopped else time.perf_counter() - self._start[stage]
        if stopped and stopped[0] < stopped[1]:
            self._say(f"{stage} stopped early at {done}/{total} in {seconds:.1f} s")
        else:
            self._say(f"{stage} {done}/{total} done in {seconds:.1f} s")

    def _say(self, line: str) -> None:
        self.console.print(line, highlight=False, soft_wrap=True)
