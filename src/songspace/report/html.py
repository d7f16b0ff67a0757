"""report.html: one page that explains a run, self-contained for what it shows (CSS inline, the headline figures
as data URIs, no URL off the run folder).

The body gives the headline tables and figures (:mod:`songspace.report.tables`, :mod:`songspace.report.headline`);
its appendix, on screen only (not printed), holds the full tables, sortable by a click on a column header (the
page's one script, ``templates/sort.js``, allowed by its hash in the page's Content-Security-Policy), links to the
CSV files, and the run's other figures as links to ``figures/*.png`` beside the page, not embedded, so the page
does not grow with the number of methods.

:func:`report_html` takes a :class:`~songspace.runfolder.RunData`, gathers what the page shows and fills the
template ``templates/report.html.j2``, which escapes every string from the run (titles, labels, notes, the
analysis, config values). ``analysis.md`` is rendered by markdown-it-py with raw HTML, links and images off.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

from songspace.evaluation.registry import as_float
from songspace.report.findings import find
from songspace.report.headline import headline_figures
from songspace.report.method import clusterer_text, clusterers, objective_html, representations
from songspace.report.tables import (
    DAGGER,
    cell,
    internal_table,
    label_tables,
    other_table,
    seed_columns,
    sweep_table,
)
from songspace.runfolder import BETA_SWEEP, METRICS, METRICS_SEEDS, Figure, RunData, Table
from songspace.templating import environment

MAX_CLASSES = 24  # classes listed per label (largest first); the rest are counted
KIND_TITLES = {"metrics": "Metrics", "beta_sweep": "Beta sweep", "embedding": "Latent spaces (t-SNE / UMAP)",
               "composition": "Cluster composition", "reconstruction": "Reconstructions",
               "traversal": "Latent traversals", "training": "Training curves", "figure": "Other figures"}
# CommonMark with tables. Raw HTML in analysis.md (a lyric, a label) stays text; no link or image can point off
# the page, which works offline and fetches nothing.
MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table").disable(["link", "image", "autolink"])


def data_uri(fig: Figure) -> str:
    """The figure as a ``data:`` URI (base64), so the page needs no file beside it."""
    return f"data:{fig.mime};base64,{base64.b64encode(fig.data).decode('ascii')}"


PAGES = environment("songspace.report")  # report.html.j2, paper.html.j2 and the macros they share
PAGES.filters["data_uri"] = data_uri
PAGES.globals.update(dagger=DAGGER, zip=zip)
# The one script of report.html, and its hash for the page's Content-Security-Policy (no other script may run).
SORT_JS = PAGES.loader.get_source(PAGES, "sort.js")[0]
SORT_JS_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SORT_JS.encode("utf-8")).digest()).decode("ascii")


def markdown_html(text: str, *, heading_offset: int = 0) -> Markup:
    """HTML of the Markdown ``text``; ``# x`` becomes ``<h{1 + heading_offset}>`` (at most h6)."""
    tokens = MARKDOWN.parse(text)
    for t in tokens:
        if t.type in ("heading_open", "heading_close"):
            t.tag = f"h{min(6, int(t.tag[1:]) + heading_offset)}"
    return Markup(MARKDOWN.renderer.render(tokens, MARKDOWN.options, {}))


@dataclass
class PlainTable:
    """A sortable table of text cells: ``rows`` of (text, value) pairs; ``value`` is the number a cell sorts by,
    None for a text cell (left-aligned; numbers are right-aligned)."""

    key: str
    caption: str
    columns: list[str]
    rows: list[list[tuple[str, float | None]]]


def _plain(key: str, table: Table, columns: Sequence[str], caption: str) -> PlainTable:
    return PlainTable(key, caption, list(columns),
                      [[(cell(r, c), None if isinstance(r.get(c), str) else as_float(r.get(c))) for c in columns]
                       for r in table.rows])


def _classes(counts: Counter | None) -> str:
    if not counts:
        return "no class counts (no assignments.csv)"
    known = [(k, v) for k, v in counts.most_common() if k]
    shown = ", ".join(f"{k} ({v})" for k, v in known[:MAX_CLASSES])
    more = f", … and {len(known) - MAX_CLASSES} more" if len(known) > MAX_CLASSES else ""
    unknown = f"; unknown: {counts['']}" if counts.get("") else ""
    return f"{len(known)} classes: {shown}{more}{unknown}"


def _seconds(v: Any) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "–" if math.isnan(x) else f"{x:.1f} s" if x < 120 else f"{x / 60:.1f} min"


def _facts(s: dict[str, Any]) -> list[tuple[str, Any]]:
    """The Run section's key-value rows from summary.json: seeds, device, timings, versions."""
    facts: list[tuple[str, Any]] = [("seeds", s.get("seeds", s.get("seed", "not recorded"))),
                                    ("training device", s.get("train_device") or "not recorded")]
    for key, name in (("timings_s", "timings"), ("train_seconds", "training (first seed)")):
        if isinstance(s.get(key), dict) and (key == "timings_s" or s[key]):
            facts.append((name, ", ".join(f"{k}: {_seconds(v)}" for k, v in s[key].items())))
    if isinstance(s.get("versions"), dict):
        facts.append(("versions", ", ".join(f"{k} {v}" for k, v in s["versions"].items())))
    return facts


def _figures(figures: Sequence[Figure], first: int = 1) -> list[tuple[str, list[tuple[int, Figure]]]]:
    """(heading, [(number, figure)]) per kind of figure, the kinds in KIND_TITLES order, then any other; numbered
    from ``first``."""
    kinds = dict.fromkeys([k for k in KIND_TITLES if any(f.kind == k for f in figures)] + [f.kind for f in figures])
    groups, n = [], first - 1
    for kind in kinds:
        figs = [f for f in figures if f.kind == kind]
        groups.append((KIND_TITLES.get(kind, kind), list(enumerate(figs, n + 1))))
        n += len(figs)
    return groups


def _csv_files(run: RunData) -> list[tuple[str, str]]:
    """(file, what it holds) for each results CSV in the run folder, for links relative to report.html."""
    files = ((METRICS, "one row per method: means and standard deviations over seeds"),
             (METRICS_SEEDS, "one row per method and seed"), (BETA_SWEEP, "the beta-VAE sweep"))
    return [(name, what) for name, what in files if (run.folder / name).is_file()]


def report_html(run: RunData, *, pdf_name: str | None = None) -> str:
    """The whole report page of ``run``. ``pdf_name``: the paper beside it, linked when given."""
    s = run.summary
    f = find(run)
    headline = [*label_tables(run, headline=True, baselines=f.baseline_names),
                internal_table(run, own_space=False, headline=True, baselines=f.baseline_names)]
    full = [*label_tables(run), internal_table(run)]
    if extra := other_table(run):
        full.append(extra)
    notes_cols = [c for c in ("method", "modality", "conditioned_on", "space", "notes") if c in run.metrics.columns]
    noted = Table(run.metrics.columns, [r for r in run.metrics.rows if r.get("notes")])
    params = s.get("cluster_params")
    shown, rest = headline_figures(run, f)
    sweep = sweep_table(run)
    return PAGES.get_template("report.html.j2").render(
        run=run, s=s, pdf_name=pdf_name, sort_js=Markup(SORT_JS), sort_js_hash=SORT_JS_HASH,
        classes={lab: _classes(run.class_counts.get(lab)) for lab in run.labels},
        representations=representations(run), objective=Markup(objective_html(run)),
        clusterers=[(c, clusterer_text(c)) for c in clusterers(run)],
        fitted="\n".join(f"{m}: {p}" for m, p in params.items()) if isinstance(params, dict) else "",
        tables=headline, sweep=sweep, full_tables=list(enumerate(full, len(headline) + (2 if sweep else 1))),
        method_notes=_plain("notes", noted, notes_cols, "Notes per method (metrics.csv).")
        if "notes" in notes_cols and noted.rows else None,
        seeds=_plain("seeds", run.seeds, seed_columns(run), "One row per method and seed.")
        if run.seeds is not None and run.seeds.rows else None,
        csv_files=_csv_files(run), figures=_figures(shown), more_figures=_figures(rest, len(shown) + 1),
        analysis=markdown_html(run.analysis_md, heading_offset=2) if run.analysis_md else None,
        notes=s["notes"] if isinstance(s.get("notes"), list) else [], facts=_facts(s))
