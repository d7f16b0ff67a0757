"""The run as a paper: an HTML document in the NeurIPS style (US letter, single column 5.5 in wide, Times-like
10 pt serif) that headless Chromium prints to ``report.pdf`` (:mod:`songspace.report.pdf`).

:func:`paper_html` takes a :class:`~songspace.runfolder.RunData` and returns the document. Its findings
(abstract, discussion) are written from the numbers by :mod:`songspace.report.findings`; no result is fixed prose.
Every string from the run is HTML-escaped. Bengali text falls back to an installed Bengali font (Lohit Bengali or
Noto Sans Bengali).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from songspace.report.findings import Findings, LabelFinding, find, nmi, verdict
from songspace.report.html import data_uri, table_html
from songspace.report.method import CLUSTERERS, clusterers, esc, objective_html, representations
from songspace.report.tables import (
    DAGGER,
    ResultTable,
    conditioned_on,
    internal_table,
    label_tables,
    num,
    pm,
    sweep_table,
)
from songspace.runfolder import Figure, RunData

SERIF = ('"Times New Roman", Times, "Liberation Serif", "Nimbus Roman", "Nimbus Roman No9 L", "TeX Gyre Termes", '
         '"DejaVu Serif", "Lohit Bengali", "Noto Sans Bengali", "Noto Serif Bengali", serif')
MATH = '"Liberation Serif", "Times New Roman", "DejaVu Serif", "DejaVu Math TeX Gyre", serif'
MONO = '"Liberation Mono", "DejaVu Sans Mono", "Lohit Bengali", monospace'

# NeurIPS geometry: US letter, text block 5.5 in x 9 in, so 1.5 in side margins and 1 in top and bottom.
CSS = f"""
@page {{ size: letter; margin: 1in 1.5in 1in 1.5in;
        @bottom-center {{ content: counter(page); font-family: {SERIF}; font-size: 10pt; }} }}
html {{ -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
body {{ font-family: {SERIF}; font-size: 10pt; line-height: 11pt; color: #000; margin: 0 auto; width: 5.5in;
        text-align: justify; hyphens: auto; }}
@media screen {{ body {{ padding: 1in 0; }} }}
.titleblock {{ border-top: 4pt solid #000; border-bottom: 1pt solid #000; margin: 0 0 0.3in; padding: 0.1in 0;
              text-align: center; }}
.titleblock h1 {{ font-size: 17pt; line-height: 20pt; font-weight: bold; margin: 0; }}
.authors {{ text-align: center; margin: 0 0 0.3in; }}
.authors b {{ display: block; }}
.abstract h2 {{ text-align: center; font-size: 12pt; margin: 0 0 5.5pt; }}
.abstract p {{ margin: 0 0.5in 5.5pt; }}
h2 {{ font-size: 12pt; line-height: 14pt; font-weight: bold; margin: 12pt 0 6pt; text-align: left;
      break-after: avoid; }}
h2 .n {{ display: inline-block; min-width: 1.5em; }}
h3 {{ font-size: 10pt; font-weight: bold; margin: 9pt 0 4pt; break-after: avoid; }}
h3 .n {{ display: inline-block; min-width: 2.2em; }}
p {{ margin: 0 0 5.5pt; }}
ul {{ margin: 0 0 5.5pt; padding-left: 1.5em; }}
li {{ margin: 0 0 2pt; }}
i {{ font-style: italic; }}
sub, sup {{ line-height: 0; font-size: 75%; }}
.tcap {{ font-size: 9pt; line-height: 10.5pt; margin: 10pt 0 4pt; break-after: avoid; }}
code {{ font-family: {MONO}; font-size: 9pt; }}
a {{ color: inherit; text-decoration: none; }}
.eq {{ display: flex; justify-content: center; align-items: baseline; position: relative; margin: 6pt 0; }}
.eq .math {{ font-family: {MATH}; font-size: 11pt; }}
.eq .eqno {{ position: absolute; right: 0; }}
table {{ border-collapse: collapse; margin: 0 auto; font-size: 8pt; line-height: 9.5pt; }}
.scroll {{ margin: 0 0 4pt; }}
caption {{ caption-side: top; font-size: 9pt; line-height: 10.5pt; text-align: justify; padding: 0 0 4pt; }}
th, td {{ padding: 1pt 4pt; text-align: right; white-space: nowrap; }}
th.l, td.l {{ text-align: left; }}
thead tr:first-child th {{ border-top: 1pt solid #000; }}
thead tr:last-child th {{ border-bottom: 0.5pt solid #000; }}
tbody tr:last-child td {{ border-bottom: 1pt solid #000; }}
th.group {{ text-align: center; border-bottom: 0.5pt solid #000; }}
tr.group td {{ padding-top: 3pt; }}
thead {{ display: table-header-group; }}
tr {{ break-inside: avoid; }}
td.best {{ font-weight: bold; }}
td.given {{ color: #666; font-style: italic; }}
.foot {{ font-size: 8pt; line-height: 9.5pt; margin: 0 0 10pt; }}
figure {{ margin: 8pt 0 10pt; text-align: center; break-inside: avoid; }}
figure img {{ max-width: 100%; max-height: 7.6in; }}
figcaption {{ font-size: 9pt; line-height: 10.5pt; text-align: justify; margin-top: 3pt; }}
.refs p {{ font-size: 9pt; line-height: 10.5pt; padding-left: 1.5em; text-indent: -1.5em; margin-bottom: 3pt;
          text-align: left; }}
.appendix {{ break-before: page; }}
.tablewrap.short {{ break-inside: avoid; }}
"""

# key: (in-text citation, reference entry)
REFERENCES: dict[str, tuple[str, str]] = {
    "burgess2018": ("Burgess et al., 2018", "C. P. Burgess, I. Higgins, A. Pal, L. Matthey, N. Watters, "
                    "G. Desjardins, and A. Lerchner. Understanding disentangling in β-VAE. arXiv:1804.03599, 2018."),
    "calinski1974": ("Caliński &amp; Harabasz, 1974", "T. Caliński and J. Harabasz. A dendrite method for cluster "
                     "analysis. <i>Communications in Statistics</i>, 3(1):1–27, 1974."),
    "davies1979": ("Davies &amp; Bouldin, 1979", "D. L. Davies and D. W. Bouldin. A cluster separation measure. "
                   "<i>IEEE Transactions on Pattern Analysis and Machine Intelligence</i>, 1(2):224–227, 1979."),
    "defferrard2017": ("Defferrard et al., 2017", "M. Defferrard, K. Benzi, P. Vandergheynst, and X. Bresson. "
                       "FMA: A dataset for music analysis. In <i>International Society for Music Information "
                       "Retrieval Conference (ISMIR)</i>, 2017."),
    "higgins2017": ("Higgins et al., 2017", "I. Higgins, L. Matthey, A. Pal, C. Burgess, X. Glorot, M. Botvinick, "
                    "S. Mohamed, and A. Lerchner. β-VAE: Learning basic visual concepts with a constrained "
                    "variational framework. In <i>International Conference on Learning Representations (ICLR)</i>, "
                    "2017."),
    "kingma2014": ("Kingma &amp; Welling, 2014", "D. P. Kingma and M. Welling. Auto-encoding variational Bayes. In "
                   "<i>International Conference on Learning Representations (ICLR)</i>, 2014."),
    "maaten2008": ("van der Maaten &amp; Hinton, 2008", "L. van der Maaten and G. Hinton. Visualizing data using "
                   "t-SNE. <i>Journal of Machine Learning Research</i>, 9:2579–2605, 2008."),
    "mcinnes2018": ("McInnes et al., 2018", "L. McInnes, J. Healy, and J. Melville. UMAP: Uniform manifold "
                    "approximation and projection for dimension reduction. arXiv:1802.03426, 2018."),
    "rousseeuw1987": ("Rousseeuw, 1987", "P. J. Rousseeuw. Silhouettes: A graphical aid to the interpretation and "
                      "validation of cluster analysis. <i>Journal of Computational and Applied Mathematics</i>, "
                      "20:53–65, 1987."),
    "tzanetakis2002": ("Tzanetakis &amp; Cook, 2002", "G. Tzanetakis and P. Cook. Musical genre classification of "
                       "audio signals. <i>IEEE Transactions on Speech and Audio Processing</i>, 10(5):293–302, "
                       "2002."),
    "vinh2010": ("Vinh et al., 2010", "N. X. Vinh, J. Epps, and J. Bailey. Information theoretic measures for "
                 "clusterings comparison: Variants, properties, normalization and correction for chance. "
                 "<i>Journal of Machine Learning Research</i>, 11:2837–2854, 2010."),
    "xie2016": ("Xie et al., 2016", "J. Xie, R. Girshick, and A. Farhadi. Unsupervised deep embedding for "
                "clustering analysis. In <i>International Conference on Machine Learning (ICML)</i>, 2016."),
}


def _references() -> dict[str, tuple[str, str]]:
    """The general references above and those the representations declare (their spec's ``cite``)."""
    from songspace import representations as registry

    return {**REFERENCES, **{s.cite[0]: (s.cite[1], s.cite[2]) for s in registry.specs() if s.cite}}


def cite(*keys: str) -> str:
    """``(Kingma &amp; Welling, 2014; Higgins et al., 2017)``: the in-text citation of reference keys."""
    refs = _references()
    return "(" + "; ".join(refs[k][0] for k in keys) + ")"


def _m(row: dict[str, Any] | None) -> str:
    """A method name in the paper's running text."""
    return f"<code>{esc(row.get('method'))}</code>" if row else "none"


def _short(text: str, limit: int = 90) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


class _Numbering:
    """Tables and figures numbered in the order they are placed."""

    def __init__(self) -> None:
        self.tables = 0
        self.figures = 0
        self.footnotes: dict[str, int] = {}  # footnote -> table it was first printed under

    def table(self, t: ResultTable) -> str:
        self.tables += 1
        notes = []
        for note in t.footnotes:  # a paper prints a footnote once, then refers back to it
            first = self.footnotes.setdefault(note, self.tables)
            notes.append(note if first == self.tables else f"{DAGGER} As in Table {first}.")
        t = dataclasses.replace(t, footnotes=notes)
        return table_html(t, number=self.tables, caption_outside=True)

    def figure(self, f: Figure) -> str:
        self.figures += 1
        return (f'<figure><img src="{data_uri(f)}" alt="{esc(f.caption or f.file)}"><figcaption>'
                f"Figure {self.figures}: {esc(f.caption)}</figcaption></figure>")


def _n(count: int, noun: str) -> str:
    """``1 baseline``, ``3 baselines``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _labels_text(labels: Sequence[str]) -> str:
    names = [f"<i>{esc(lab)}</i>" for lab in labels]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else "no label"


def abstract(run: RunData, f: Findings) -> str:
    s = run.summary
    n = s.get("tracks_used", run.n_tracks)
    lyrics = s.get("tracks_with_lyrics")
    reps = representations(run)
    k = f" with <i>k</i> = {esc(s['k'])}" if "k" in s else ""
    text = [f"We cluster {esc(n if n is not None else 'the')} tracks of {esc(run.dataset_name)}"
            + (" (a synthetic demo collection)" if run.demo else "")
            + (f", {esc(lyrics)} of them with lyrics," if lyrics else "") + " without labels. "
            f"We compare {_n(len(reps), 'representation')}, {len(f.learned_names)} of them learned by VAE-family "
            f"models and {_n(len(f.baseline_names), 'baseline')}, each clustered by "
            f"{_n(len(clusterers(run)), 'algorithm')}{k}, and score every clustering in one common feature space "
            f"and against {_labels_text(run.labels)}, which serve for evaluation only; numbers are means ± standard "
            f"deviations over {_n(run.seed_count, 'seed')}."]
    for lf in f.labels:
        text.append(f" The best unsupervised match to <i>{esc(lf.label)}</i> is {_m(lf.best)} "
                    f"({nmi(lf.best, lf.label)}).")
    compared = f.learned_wins + f.learned_losses + f.learned_ties
    if compared:
        text.append(f" Against the best baseline, the best learned representation wins on {f.learned_wins}, ties "
                    f"on {f.learned_ties} and loses on {f.learned_losses} of {compared} label(s).")
    if any(lf.given for lf in f.labels):
        text.append(" Methods trained or conditioned on a label are reported, marked, and never ranked against "
                    "it.")
    return "".join(text)


def introduction(run: RunData) -> str:
    layout = str(run.summary.get("layout") or "")
    data_ref = {"gtzan": f" Here the collection is GTZAN {cite('tzanetakis2002')}.",
                "fma": f" Here the collection is FMA {cite('defferrard2017')}."}.get(layout, "")
    return f"""<p>Large music collections rarely come with trustworthy labels, yet listeners and archivists want
them organised: by sound, by language, by style. Unsupervised clustering promises that organisation, but its
results are easy to overstate: a clustering can look clean in a two-dimensional picture and still ignore what the
labels describe, and a model that was given a label will trivially recover it. We therefore learn several latent
spaces of the audio (and, where present, the lyrics) with variational autoencoders {cite('kingma2014')} and their
β {cite('higgins2017')}, conditional {cite('sohn2015')} and multimodal {cite('wu2018')} variants, cluster each
with several algorithms, and measure every clustering in the same way against simple baselines. Unlike deep
embedded clustering {cite('xie2016')}, representation and clustering are kept apart, so that every clusterer is
compared on the same latent. Common benchmarks for music are GTZAN {cite('tzanetakis2002')} and FMA
{cite('defferrard2017')}.{data_ref}</p>
<p>This paper was written automatically by songspace from the run folder <code>{esc(run.name)}</code>: every
number, ranking and comparison in it is read from that run's files, and the discussion is derived from the
numbers. Our contributions are (i) a like-for-like comparison of learned and baseline representations under
{len(clusterers(run))} clusterer(s); (ii) internal metrics computed in one common space, so that they compare
methods rather than spaces; (iii) label agreement reported only where the method did not see the label, with
means and standard deviations over {run.seed_count} seed(s).</p>"""


def method(run: RunData) -> str:
    reps = representations(run)
    items = []
    for r in reps:
        what = esc(r["what"] or r["space"] or "see metrics.csv")
        extra = f"; space: {esc(_short(r['space']))}" if r["space"] and r["what"] else ""
        given = f"; <b>given the label(s) {esc(r['conditioned_on'])}</b>" if r["conditioned_on"] else ""
        mod = f" [{esc(r['modality'])}]" if r["modality"] else ""
        items.append(f"<li><code>{esc(r['name'])}</code>{mod}: {what}{extra}{given}.</li>")
    clus = [f"<code>{esc(c)}</code> ({esc(CLUSTERERS.get(c, 'see the clustering module'))})" for c in clusterers(run)]
    s = run.summary
    k = (f"The number of clusters is <i>k</i> = {esc(s['k'])}: {esc(s.get('k_source', 'source not recorded'))}."
         if "k" in s else "The number of clusters was not recorded (no summary.json).")
    return f"""<h2><span class="n">2</span>Method</h2>
<h3><span class="n">2.1</span>Representations</h3>
<p>Each track becomes one vector per representation; labels are never an input unless stated.</p>
<ul>{"".join(items)}</ul>
<h3><span class="n">2.2</span>Objective</h3>
{objective_html(run, cite=lambda key: cite(key))}
<h3><span class="n">2.3</span>Clustering</h3>
<p>Every representation is clustered by each of: {", ".join(clus)}. {k}</p>"""


def _classes(run: RunData, lab: str, top: int = 8) -> str:
    counts = run.class_counts.get(lab)
    if not counts:
        return f"<i>{esc(lab)}</i>"
    known = [(c, v) for c, v in counts.most_common() if c]
    shown = ", ".join(f"{esc(c)} {v}" for c, v in known[:top]) + (", …" if len(known) > top else "")
    unknown = f", {counts['']} unknown" if counts.get("") else ""
    return f"<i>{esc(lab)}</i> ({len(known)} classes: {shown}{unknown})"


def _cfg(run: RunData, section: str, key: str) -> str | None:
    """A value of the run's config.toml, escaped; None when the config does not have it."""
    sec = run.config.get(section)
    return esc(sec[key]) if isinstance(sec, dict) and key in sec else None


def _setup(run: RunData) -> str:
    """The set-up sentence from the resolved config: only what the run's config.toml records."""
    f = {k: _cfg(run, "features", k) for k in ("sample_rate", "clip_seconds", "n_mels", "n_fft", "hop_length",
                                                 "n_mfcc")}
    t = {k: _cfg(run, "train", k) for k in ("lr", "batch_size", "epochs", "patience", "val_fraction")}
    out = []
    if f["sample_rate"] and f["clip_seconds"]:
        mel = ", ".join(x for x in (f"{f['n_mels']} bands" if f["n_mels"] else "",
                                    f"FFT {f['n_fft']}" if f["n_fft"] else "",
                                    f"hop {f['hop_length']}" if f["hop_length"] else "") if x)
        out.append(f"Audio is decoded at {f['sample_rate']} Hz; the middle {f['clip_seconds']} s of each track "
                   f"gives a log-mel spectrogram{f' ({mel})' if mel else ''}"
                   + (f" and {f['n_mfcc']} MFCCs" if f["n_mfcc"] else "") + ".")
    latent = _cfg(run, "model", "latent_dim")
    if latent:
        out.append(f"Latents have {latent} dimensions.")
    train = "Models train with Adam"
    if t["lr"] or t["batch_size"]:
        train += " (" + ", ".join(x for x in (f"learning rate {t['lr']}" if t["lr"] else "",
                                              f"batch {t['batch_size']}" if t["batch_size"] else "") if x) + ")"
    if t["epochs"]:
        train += f" for at most {t['epochs']} epochs"
    if t["patience"]:
        train += f", stopping after {t['patience']} epochs without improvement on a held-out split" \
            + (f" of {t['val_fraction']}" if t["val_fraction"] else "")
    s = run.summary
    train += f", on {esc(s['train_device'])}" if s.get("train_device") else ""
    seconds = s.get("train_seconds") if isinstance(s.get("train_seconds"), dict) else {}
    total = sum(float(v) for v in seconds.values() if isinstance(v, (int, float)))
    train += f" ({total:.1f} s of training in all for the first seed)." if seconds else "."
    out.append(train)
    if not run.config:
        out.append("The run folder has no readable config.toml, so its other settings are not known here.")
    return " ".join(out)


def experiments(run: RunData) -> str:
    s = run.summary
    n = s.get("tracks_used", run.n_tracks)
    problems = s.get("problems", run.n_problems)
    data = (f"The collection {esc(run.dataset_name)} (layout {esc(s.get('layout', 'unknown'))}) gives "
            f"{esc(n if n is not None else 'an unrecorded number of')} usable tracks"
            + (f", {esc(s['tracks_with_lyrics'])} with lyrics" if "tracks_with_lyrics" in s else "")
            + f"; {esc(problems)} problem(s) were found and {esc(s.get('skipped', 0))} file(s) or row(s) skipped. ")
    if run.demo:
        data += ("The tracks are songspace's built-in <b>synthetic</b> demo: generated songs in English and Bangla "
                 "(Bengali script, romanised and code-mixed) across several styles, with language and genre "
                 "balanced against each other. ")
    if run.labels:
        data += "Labels, used for evaluation only: " + "; ".join(_classes(run, lab) for lab in run.labels) + "."
    setup = _setup(run)
    seeds = s.get("seeds")
    seed_text = (f"seeds {esc(', '.join(str(x) for x in seeds))}" if isinstance(seeds, list) and seeds
                 else f"seed {esc(s.get('seed', '?'))}")
    return f"""<h2><span class="n">3</span>Experiments</h2>
<h3><span class="n">3.1</span>Data</h3>
<p>{data}</p>
<h3><span class="n">3.2</span>Set-up</h3>
<p>{setup}</p>
<h3><span class="n">3.3</span>Metrics</h3>
<p>Internal quality: silhouette {cite('rousseeuw1987')} (higher is better), Calinski–Harabasz
{cite('calinski1974')} (higher) and Davies–Bouldin {cite('davies1979')} (lower). Scored in each method's own space
these numbers compare spaces as much as clusterings, so we also score every clustering in one <i>common</i> space
(the standardised statistics, beside the lyrics when used), which makes them comparable across methods. Agreement
with the labels: adjusted Rand index and normalised mutual information {cite('vinh2010')}, and purity. Points a
density clusterer leaves as noise are left out of the internal metrics and count as wrong in purity. Latent spaces
are drawn with t-SNE {cite('maaten2008')} and UMAP {cite('mcinnes2018')}, for figures only.</p>
<h3><span class="n">3.4</span>Seeds</h3>
<p>Every method runs with {seed_text}; a seed fixes the weights, batches, clusterer and projections. Tables give
the mean ± sample standard deviation over seeds; two methods whose difference is within their two standard
deviations added (or under 0.02) are treated as tied.</p>"""


def _stem(f: Figure) -> str:
    return f.file.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def _choose_figures(run: RunData, f: Findings) -> tuple[list[Figure], list[Figure]]:
    """Figures for the Results section (metrics, sweep, the best methods' spaces and compositions,
    reconstructions, traversals) and the rest, for the appendix."""
    best_reps = list(dict.fromkeys(str(lf.best.get("representation")) for lf in f.labels))
    best_methods = {str(lf.best.get("method")) for lf in f.labels}

    def main(fig: Figure) -> bool:
        stem = _stem(fig)
        if fig.kind in ("metrics", "beta_sweep", "reconstruction", "traversal"):
            return True
        if fig.kind == "embedding":
            return any(re.fullmatch(rf"{re.escape(rep)}_(tsne|umap)", stem) for rep in best_reps) and \
                stem.endswith("umap" if not any(x.kind == "embedding" and _stem(x).endswith("tsne")
                                                for x in run.figures) else "tsne")
        if fig.kind == "composition":
            return any(stem == "composition_" + m.replace("+", "_") for m in best_methods)
        return False

    order = ("metrics", "beta_sweep", "embedding", "composition", "reconstruction", "traversal")
    chosen = [fig for kind in order for fig in run.figures if fig.kind == kind and main(fig)]
    rest = [fig for fig in run.figures if fig not in chosen]
    return chosen, rest


def results(run: RunData, f: Findings, num_: _Numbering, figures: Sequence[Figure]) -> str:
    tables = [*label_tables(run), internal_table(run, own_space=False)]
    sweep = sweep_table(run)
    first = num_.tables + 1
    placed = [num_.table(t) for t in tables]
    if sweep:
        placed.append(num_.table(sweep))
    last = num_.tables
    intro = (f"<p>Tables {first}–{last} give every method (representation + clusterer) of the run"
             if last > first else f"<p>Table {first} gives every method of the run") + \
        "; the best value of each column is in bold, and rows marked † were given a label (their cells against it " \
        "are in grey italics). Own-space internal metrics, notes and per-seed numbers are in report.html and " \
        "metrics.csv."
    if figures:
        intro += f" Figures {num_.figures + 1}–{num_.figures + len(figures)} show the metrics, the latent spaces " \
                 "and clusters of the best methods, and what the models reconstruct." if len(figures) > 1 else \
            f" Figure {num_.figures + 1} shows {esc(figures[0].caption[:1].lower() + figures[0].caption[1:])}"
    intro += "</p>"
    figs = [num_.figure(fig) for fig in figures]
    return f"""<h2><span class="n">4</span>Results</h2>
{intro}
{"".join(placed)}
{"".join(figs)}"""


def _label_paragraph(lf: LabelFinding) -> str:
    lab = f"<i>{esc(lf.label)}</i>"
    col = f"nmi_{lf.label}"
    out = [f"<b>{esc(lf.label)}.</b> The best unsupervised match is {_m(lf.best)} ({nmi(lf.best, lf.label)}, ARI "
           f"{pm(lf.best, f'ari_{lf.label}')})"]
    if lf.runner_up is not None:
        if lf.runner_up_verdict == "ties with":
            out.append(f", but the best other representation, {_m(lf.runner_up)} ({pm(lf.runner_up, col)}), is "
                       "within the seed-to-seed spread, so this ranking is not resolved.")
        else:
            out.append(f", clearly ahead of the best other representation, {_m(lf.runner_up)} "
                       f"({pm(lf.runner_up, col)}).")
    else:
        out.append(".")
    if lf.learned is not None and lf.baseline is not None:
        phrase = {"beats": "beats", "loses to": "loses to", "ties with": "ties with"}.get(lf.learned_verdict,
                                                                                        "cannot be compared with")
        out.append(f" The best learned representation, {_m(lf.learned)} ({pm(lf.learned, col)}), {phrase} the "
                   f"best baseline, {_m(lf.baseline)} ({pm(lf.baseline, col)}).")
    elif lf.learned is None:
        out.append(" No learned representation was scored against it without being given it.")
    else:
        out.append(" No baseline ran, so learned and baseline spaces cannot be compared here.")
    if lf.carrier:
        other = "lyrics" if lf.carrier == "audio" else "audio"
        out.append(f" {lab} is carried mostly by the <b>{lf.carrier}</b>: the best {lf.carrier} method reaches "
                   f"{pm(lf.by_modality[lf.carrier], col)} against {pm(lf.by_modality[other], col)} for "
                   f"{other}.")
    elif lf.modality_tie:
        out.append(f" Audio ({pm(lf.by_modality['audio'], col)}) and lyrics ({pm(lf.by_modality['lyrics'], col)}) "
                   f"find {lab} equally well within the spread.")
    elif len(lf.by_modality) == 1:
        only = next(iter(lf.by_modality))
        out.append(f" Only {esc(only)} methods were scored, so this run cannot say which modality carries {lab}.")
    both = lf.by_modality.get("audio+lyrics")
    singles = [lf.by_modality[m] for m in ("audio", "lyrics") if m in lf.by_modality]
    if both is not None and singles:
        top = max(singles, key=lambda r: num(r, col))
        v = {"beats": "improves on", "ties with": "ties with", "loses to": "falls short of"}
        word = v.get(verdict(num(both, col), num(top, col), num(both, f"{col}_std"), num(top, f"{col}_std")),
                     "cannot be compared with")
        out.append(f" Fusing both modalities ({_m(both)}, {pm(both, col)}) {word} the best single modality.")
    if lf.given is not None:
        out.append(f" For reference, {_m(lf.given)}, which was given {lab}, reaches {pm(lf.given, col)}: an upper "
                   "reference, not an unsupervised result.")
    return "<p>" + "".join(out) + "</p>"


def discussion(run: RunData, f: Findings) -> str:
    paras = [_label_paragraph(lf) for lf in f.labels]
    if not f.labels:
        paras.append("<p>No label was scored, so the run can only be judged by its internal metrics.</p>")
    compared = f.learned_wins + f.learned_losses + f.learned_ties
    if compared:
        overall = ("On this collection a learned space earns its cost." if f.learned_wins > f.learned_losses else
                   "On this collection the baselines are as good or better: here a learned space does not earn "
                   "its cost."
                   if f.learned_losses > f.learned_wins else "Neither side is consistently better.")
        paras.append(f"<p><b>Learned against baselines.</b> Over {compared} label(s), the best learned "
                     f"representation beats the best baseline {f.learned_wins} time(s), ties {f.learned_ties} and "
                     f"loses {f.learned_losses}. {overall}</p>")
    if f.best_internal is not None:
        b = f.best_internal
        line = (f"<p><b>Internal quality.</b> The highest common-space silhouette is {_m(b)} "
                f"({pm(b, 'silhouette_common')}).")
        matches = [lf.label for lf in f.labels if lf.best.get("method") == b.get("method")]
        if f.labels:
            line += (f" It is also the best match to {_labels_text(matches)}." if matches else
                     " It is not the best match to any label: compact clusters and label agreement are different "
                     "goals.")
        paras.append(line + "</p>")
    if f.noisy:
        worst = sorted(f.noisy, key=lambda r: -num(r, "noise_fraction"))[:5]
        items = ", ".join(f"{_m(r)} {num(r, 'noise_fraction'):.0%}" for r in worst)
        paras.append(f"<p><b>Noise.</b> {len(f.noisy)} method(s) left tracks unassigned (noise), most of all "
                     f"{items}; those tracks count as wrong in purity.</p>")
    if f.sweep_best_beta or f.sweep_recon_trend:
        parts = []
        if f.sweep_recon_trend:
            parts.append(f"the reconstruction error {f.sweep_recon_trend} with β")
        parts += [f"the best {esc(col.replace('_common', ' (common)').replace('_', ' '))} is at β = {beta:g}"
                  for col, beta in f.sweep_best_beta.items()]
        paras.append("<p><b>β sweep.</b> In the β-VAE sweep " + "; ".join(parts) + ".</p>")
    return f'<h2><span class="n">5</span>Discussion</h2>{"".join(paras)}'


def limitations(run: RunData) -> str:
    s = run.summary
    items = []
    marked = sorted({lab for r in run.metrics.rows for lab in conditioned_on(r)})
    if marked:
        items.append(f"Rows marked † were trained or conditioned on {_labels_text(marked)}: their scores against "
                     "those labels are not unsupervised results, only an upper reference.")
    else:
        items.append("No method of this run was given a label; a run with conditioned methods (cvae, poe_vae with "
                     "labels) marks their rows, which are not unsupervised results.")
    items.append(f"A single dataset ({esc(run.dataset_name)}): rankings between close methods may not transfer to "
                 "other collections.")
    if run.demo:
        items.append("The dataset is the synthetic demo collection, generated by rules that make language and genre "
                     "separable by construction; it checks the method, not its value on real music.")
    if run.labels:
        items.append("Labels are proxies: genre and language tags are coarse and sometimes wrong, and a clustering "
                     "can be useful while disagreeing with them.")
    if "label" in str(s.get("k_source", "")):
        items.append("<i>k</i> was set to the number of classes of a label: the same for every method, so the "
                     "comparison is fair, but not a fully unsupervised choice.")
    if run.seed_count < 5:
        items.append(f"Only {run.seed_count} seed(s): the standard deviations are rough, and ties are likely.")
    sample = run.config.get("eval", {}).get("silhouette_sample") if isinstance(run.config.get("eval"), dict) else None
    n = s.get("tracks_used", run.n_tracks)
    if isinstance(sample, int) and isinstance(n, int) and n > sample:
        items.append(f"Silhouettes are computed on a seeded sample of {sample} tracks (it is quadratic in tracks).")
    if run.missing:
        items.append("This run folder lacks part of the current layout (" + esc("; ".join(run.missing[:4]))
                     + "): what depends on it is left out.")
    return f'<h2><span class="n">6</span>Limitations</h2><ul>{"".join(f"<li>{i}</li>" for i in items)}</ul>'


def references() -> str:
    refs = _references()
    entries = [refs[k][1] for k in sorted(refs)]  # keys are first authors' surnames and years
    return "<h2>References</h2><div class=\"refs\">" + "".join(f"<p>{e}</p>" for e in entries) + "</div>"


def paper_html(run: RunData) -> str:
    """The run's paper as one HTML document, laid out for printing to US letter (see the module docstring)."""
    f = find(run)
    numbering = _Numbering()
    main_figs, rest = _choose_figures(run, f)
    body_results = results(run, f, numbering, main_figs)
    appendix = ""
    if rest:
        appendix = ('<section class="appendix"><h2><span class="n">A</span>Further figures</h2><p>Every other '
                    "figure of the run.</p>" + "".join(numbering.figure(fig) for fig in rest) + "</section>")
    version = esc((run.summary.get("versions") or {}).get("songspace", "")) \
        if isinstance(run.summary.get("versions"), dict) else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{esc(run.title)}</title>
<style>{CSS}</style>
</head>
<body>
<div class="titleblock"><h1>{esc(run.title)}</h1></div>
<div class="authors"><b>songspace{(" " + version) if version else ""}</b>automatic report of the run
<code>{esc(run.name)}</code></div>
<div class="abstract"><h2>Abstract</h2><p>{abstract(run, f)}</p></div>
<h2><span class="n">1</span>Introduction</h2>
{introduction(run)}
{method(run)}
{experiments(run)}
{body_results}
{discussion(run, f)}
{limitations(run)}
{references()}
{appendix}
</body>
</html>
"""
