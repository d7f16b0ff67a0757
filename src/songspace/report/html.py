"""report.html: one self-contained page that explains a run (figures as data URIs, CSS inline, no script, no URL).

:func:`report_html` takes a :class:`~songspace.runfolder.RunData` and returns the page. Every string that comes
from the run (titles, labels, notes, the analysis, config values) is HTML-escaped before it is placed.
"""

from __future__ import annotations

import base64
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from songspace.report.markdown import markdown_html
from songspace.report.method import CLUSTERERS, clusterers, esc, objective_html, representations
from songspace.report.tables import (
    DAGGER,
    ResultTable,
    cell,
    internal_table,
    label_tables,
    other_table,
    seed_columns,
    sweep_table,
)
from songspace.runfolder import Figure, RunData, Table

SHORT_TABLE = 30  # rows: a shorter table is kept on one printed page; a longer one breaks, its header repeated
MAX_CLASSES = 24  # classes listed per label (largest first); the rest are counted
FONTS = ('system-ui, -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans", Arial, "Lohit Bengali", '
         '"Noto Sans Bengali", "Noto Serif Bengali", sans-serif')
KIND_TITLES = {"metrics": "Metrics", "beta_sweep": "Beta sweep", "embedding": "Latent spaces (t-SNE / UMAP)",
               "composition": "Cluster composition", "reconstruction": "Reconstructions",
               "traversal": "Latent traversals", "training": "Training curves", "figure": "Other figures"}

CSS = """
:root { color-scheme: light; }
body { font-family: FONTS; font-size: 15px; line-height: 1.5; color: #1d1d1f; background: #fff;
       max-width: 1100px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 28px; margin: 8px 0 4px; line-height: 1.25; }
h2 { font-size: 21px; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #d0d0d7; }
h3 { font-size: 17px; margin: 22px 0 6px; }
h4 { font-size: 15px; margin: 16px 0 4px; }
.sub { color: #555; margin: 0 0 12px; }
nav { font-size: 14px; margin: 10px 0 4px; }
nav a { margin-right: 14px; }
a { color: #1f5fbf; }
code, pre { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; font-size: 13px; }
pre { background: #f6f6f8; border: 1px solid #e2e2e8; padding: 10px 12px; overflow-x: auto; white-space: pre-wrap; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 6px 0 4px; font-size: 13.5px; }
th, td { padding: 3px 10px; text-align: right; white-space: nowrap; }
th { font-weight: 600; border-bottom: 1px solid #888; }
thead tr:first-child th { border-top: 2px solid #333; }
tbody tr:last-child td { border-bottom: 2px solid #333; }
th.l, td.l { text-align: left; }
td.wrap { white-space: normal; max-width: 520px; }
tr.group td { border-top: 1px solid #ddd; }
th.group { text-align: center; border-bottom: 1px solid #bbb; }
td.best { font-weight: 700; }
td.given { color: #8a8a8a; font-style: italic; }
table.kv th, table.kv td { border: 0 !important; vertical-align: top; }
table.kv th { text-align: left; padding-right: 18px; }
table.kv td { text-align: left; white-space: normal; }
td.wrap { vertical-align: top; }
table.md th, table.md td { text-align: left; border: 1px solid #ddd; }
caption { caption-side: top; text-align: left; font-size: 13.5px; color: #333; padding: 4px 0; max-width: 900px; }
.foot { font-size: 13px; color: #444; margin: 2px 0 14px; }
figure { margin: 18px 0 26px; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 13.5px; color: #333; max-width: 900px; margin-top: 4px; }
details { margin: 10px 0; }
summary { cursor: pointer; color: #1f5fbf; }
.note { background: #fff7e0; border-left: 4px solid #e0a800; padding: 6px 10px; margin: 8px 0; }
.eq { display: flex; justify-content: center; align-items: baseline; margin: 8px 0; position: relative; }
.eq .math { font-family: "Liberation Serif", "Times New Roman", "DejaVu Serif", "DejaVu Math TeX Gyre", serif;
            font-size: 17px; }
.eq .eqno { position: absolute; right: 0; }
.analysis { background: #fafafc; border: 1px solid #e6e6ee; padding: 4px 18px 8px; }
""".replace("FONTS", FONTS)


def data_uri(fig: Figure) -> str:
    """The figure as a ``data:`` URI (base64), so the page needs no file beside it."""
    return f"data:{fig.mime};base64,{base64.b64encode(fig.data).decode('ascii')}"


def table_html(t: ResultTable, *, number: int | None = None, name: str = "Table", caption_outside: bool = False
               ) -> str:
    """A results table: grouped headings, bold best values, the conditioned rows marked, footnotes under it.
    ``caption_outside``: the caption as a paragraph above the table (as wide as the text, as in a paper)."""
    caption = (f"<b>{name} {number}:</b> " if number is not None else "") + esc(t.caption)
    head = ""
    if any(g for g, _ in t.groups):
        head = "<tr><th></th>" + "".join(f'<th class="group" colspan="{n}">{esc(g)}</th>' if g else
                                         f'<th colspan="{n}"></th>' for g, n in t.groups) + "</tr>"
    head += f'<tr><th class="l">{esc(t.row_header)}</th>' + "".join(f"<th>{esc(h)}</th>" for h in t.headers) + "</tr>"
    body = []
    for r in t.rows:
        cls = ' class="group"' if r.new_group else ""
        name_cell = esc(r.method) + (f" {DAGGER}" if r.marked else "")
        tds = "".join(f'<td class="{"best" if c.best else ""}{" given" if c.given else ""}">{esc(c.text)}</td>'
                      for c in r.cells).replace(' class=""', "")
        body.append(f'<tr{cls}><td class="l">{name_cell}</td>{tds}</tr>')
    foot = "".join(f'<p class="foot">{esc(f)}</p>' for f in t.footnotes)
    cap, above = (f'<p class="tcap">{caption}</p>', "") if caption_outside else ("", f"<caption>{caption}</caption>")
    short = " short" if len(t.rows) <= SHORT_TABLE else ""
    return (f'<div class="tablewrap{short}">{cap}<div class="scroll"><table id="table-{esc(t.key)}">{above}'
            f"<thead>{head}</thead><tbody>{''.join(body)}</tbody></table></div>{foot}</div>")


def _kv(pairs: Sequence[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f'<table class="kv">{rows}</table>'


def _classes(counts: Counter) -> str:
    known = [(k, v) for k, v in counts.most_common() if k]
    shown = ", ".join(f"{esc(k)} ({v})" for k, v in known[:MAX_CLASSES])
    more = f", … and {len(known) - MAX_CLASSES} more" if len(known) > MAX_CLASSES else ""
    unknown = f"; unknown: {counts['']}" if counts.get("") else ""
    return f"{len(known)} classes: {shown}{more}{unknown}"


def _plain_table(table: Table, columns: Sequence[str], *, caption: str) -> str:
    head = "".join(f'<th class="{"l" if i == 0 else ""}">{esc(c)}</th>' for i, c in enumerate(columns))
    rows = []
    for r in table.rows:
        tds = "".join(f'<td class="{"l" if isinstance(r.get(c), str) else ""}">{esc(cell(r, c))}</td>'
                      for c in columns)
        rows.append(f"<tr>{tds}</tr>")
    return (f'<div class="scroll"><table><caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>").replace(' class=""', "")


def _dataset(run: RunData) -> str:
    s = run.summary
    tracks = s.get("tracks_used", run.n_tracks)
    pairs: list[tuple[str, Any]] = [
        ("dataset", esc(s.get("dataset", "unknown (no summary.json)"))
         + (" — the built-in <b>synthetic</b> demo collection" if run.demo else "")),
        ("layout", esc(s.get("layout", "unknown"))),
        ("tracks used", esc(tracks if tracks is not None else "unknown")),
        ("with lyrics", esc(s.get("tracks_with_lyrics", "unknown"))),
        ("problems", esc(f"{s.get('problems', run.n_problems)} ({s.get('skipped', '?')} file(s) or row(s) "
                         "skipped; see below)") if run.n_problems or s.get("problems") else "none"),
    ]
    for lab in run.labels:
        counts = run.class_counts.get(lab)
        pairs.append((f"label: {lab}", _classes(counts) if counts else "no class counts (no assignments.csv)"))
    out = [_kv(pairs)]
    out.append('<p class="foot">Labels are used for evaluation only; no method sees them unless marked '
               f"{DAGGER} (trained or conditioned on a label).</p>")
    return "\n".join(out)


def _method(run: RunData) -> str:
    s = run.summary
    reps = representations(run)
    head = "".join(f'<th class="l">{h}</th>' for h in ("representation", "modality", "what it is", "space",
                                                        "given labels", "training s (first seed)"))
    rows = "".join("<tr>" + "".join(f'<td class="l wrap">{esc(r[k])}</td>' for k in
                                    ("name", "modality", "what", "space", "conditioned_on", "train_seconds"))
                   + "</tr>" for r in reps)
    clus = "".join(f"<li><code>{esc(c)}</code>: {esc(CLUSTERERS.get(c, ''))}</li>" for c in clusterers(run))
    k = (f"<p><b>k = {esc(s['k'])}</b> ({esc(s.get('k_source', 'source not recorded'))}); density clusterers "
         "choose their own number of clusters.</p>" if "k" in s else "<p>k: not recorded (no summary.json).</p>")
    params = s.get("cluster_params")
    fitted = ""
    if isinstance(params, dict) and params:
        lines = "\n".join(f"{m}: {p}" for m, p in params.items())
        fitted = f"<details><summary>fitted clusterer parameters (first seed)</summary><pre>{esc(lines)}</pre>" \
                 "</details>"
    return (f'<h3>Representations</h3><div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}'
            f"</tbody></table></div><h3>Objective of the VAEs</h3>{objective_html(run)}"
            f"<h3>Clusterers</h3><ul>{clus}</ul>{k}{fitted}")


def _results(run: RunData) -> str:
    out = []
    tables = [*label_tables(run), internal_table(run)]
    extra = other_table(run)
    if extra:
        tables.append(extra)
    for i, t in enumerate(tables, 1):
        out.append(table_html(t, number=i))
    notes_cols = [c for c in ("method", "modality", "conditioned_on", "space", "notes") if c in run.metrics.columns]
    if "notes" in notes_cols:
        noted = Table(run.metrics.columns, [r for r in run.metrics.rows if r.get("notes")])
        if noted.rows:
            out.append(_plain_table(noted, notes_cols, caption="Notes per method (metrics.csv)."))
    sweep = sweep_table(run)
    if sweep:
        out.append("<h3>Beta sweep</h3>" + table_html(sweep, number=len(tables) + 1))
    if run.seeds is not None and run.seeds.rows:
        out.append(f"<details><summary>Per-seed results ({len(run.seeds.rows)} rows, metrics_seeds.csv)</summary>"
                   + _plain_table(run.seeds, seed_columns(run), caption="One row per method and seed.")
                   + "</details>")
    else:
        out.append('<p class="foot">No per-seed table (metrics_seeds.csv is absent: a run folder from before '
                   "seeds were aggregated).</p>")
    return "\n".join(out)


def _figures(run: RunData) -> str:
    if not run.figures:
        return "<p>No figures in this run folder.</p>"
    out = []
    kinds = list(dict.fromkeys([k for k in KIND_TITLES if any(f.kind == k for f in run.figures)]
                               + [f.kind for f in run.figures]))
    n = 0
    for kind in kinds:
        figs = [f for f in run.figures if f.kind == kind]
        out.append(f"<h3>{esc(KIND_TITLES.get(kind, kind))}</h3>")
        for f in figs:
            n += 1
            out.append(f'<figure><img src="{data_uri(f)}" alt="{esc(f.caption or f.file)}">'
                       f"<figcaption><b>Figure {n}:</b> {esc(f.caption)} <code>{esc(f.file)}</code>"
                       "</figcaption></figure>")
    return "\n".join(out)


def _seconds(v: Any) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return esc(v)
    return "–" if math.isnan(x) else f"{x:.1f} s" if x < 120 else f"{x / 60:.1f} min"


def _details(run: RunData) -> str:
    s = run.summary
    out = []
    notes = s.get("notes")
    if isinstance(notes, list) and notes:
        out.append("<h3>Notes</h3><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    pairs: list[tuple[str, Any]] = [
        ("seeds", esc(s.get("seeds", s.get("seed", "not recorded")))),
        ("training device", esc(s.get("train_device") or "not recorded")),
    ]
    timings = s.get("timings_s")
    if isinstance(timings, dict):
        pairs.append(("timings", esc(", ".join(f"{k}: {_seconds(v)}" for k, v in timings.items()))))
    train = s.get("train_seconds")
    if isinstance(train, dict) and train:
        pairs.append(("training (first seed)", esc(", ".join(f"{k}: {_seconds(v)}" for k, v in train.items()))))
    versions = s.get("versions")
    if isinstance(versions, dict):
        pairs.append(("versions", esc(", ".join(f"{k} {v}" for k, v in versions.items()))))
    out.append(_kv(pairs))
    if run.problems:
        cols = list(run.problems[0])
        rows = "".join("<tr>" + "".join(f'<td class="l wrap">{esc(p.get(c, ""))}</td>' for c in cols) + "</tr>"
                       for p in run.problems)
        more = f" (the first {len(run.problems)})" if run.n_problems > len(run.problems) else ""
        out.append(f"<details><summary>{run.n_problems} problem(s) in the dataset{more}</summary>"
                   f'<div class="scroll"><table><thead><tr>{"".join(f"<th class=l>{esc(c)}</th>" for c in cols)}'
                   f"</tr></thead><tbody>{rows}</tbody></table></div></details>")
    if run.missing:
        out.append("<details><summary>Files of the run-folder layout this run lacks</summary><ul>"
                   + "".join(f"<li>{esc(m)}</li>" for m in run.missing) + "</ul></details>")
    out.append("<h3>Resolved configuration (config.toml)</h3>")
    out.append(f"<pre>{esc(run.config_text)}</pre>" if run.config_text else "<p>config.toml is absent.</p>")
    return "\n".join(out)


def report_html(run: RunData, *, pdf_name: str | None = None) -> str:
    """The whole report page of ``run``. ``pdf_name``: the paper beside it, linked when given."""
    s = run.summary
    links = ['<a href="#dataset">Dataset</a>', '<a href="#method">Method</a>', '<a href="#results">Results</a>',
             '<a href="#figures">Figures</a>', '<a href="#analysis">Analysis</a>', '<a href="#run">Run</a>']
    if run.has_explorer:
        links.append('<a href="explorer.html">Interactive explorer (explorer.html)</a>')
    if pdf_name:
        links.append(f'<a href="{esc(pdf_name)}">Paper (PDF)</a>')
    n = run.seed_count
    sub = [f"run {esc(run.name)}", f"dataset {esc(run.dataset_name)}",
           f"{n} seed{'s' if n != 1 else ''}" + (" (tables: mean ± std)" if n > 1 else "")]
    if s.get("experiment"):
        sub.insert(1, f"experiment {esc(s['experiment'])}")
    demo = ('<p class="note">The tracks are the built-in <b>synthetic</b> demo collection: the numbers show the '
            "method works, not how it does on real music.</p>") if run.demo else ""
    analysis = (f'<div class="analysis">{markdown_html(run.analysis_md, heading_offset=2)}</div>'
                if run.analysis_md else "<p>analysis.md is absent.</p>")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{esc(run.title)}</title>
<style>{CSS}</style>
</head>
<body>
<h1>{esc(run.title)}</h1>
<p class="sub">{" · ".join(sub)}</p>
<nav>{"".join(links)}</nav>
{demo}
<h2 id="dataset">Dataset</h2>
{_dataset(run)}
<h2 id="method">Method</h2>
{_method(run)}
<h2 id="results">Results</h2>
{_results(run)}
<h2 id="figures">Figures</h2>
{_figures(run)}
<h2 id="analysis">Automatic analysis</h2>
{analysis}
<h2 id="run">Run</h2>
{_details(run)}
</body>
</html>
"""
