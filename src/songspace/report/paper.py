"""The run as a paper: an HTML document in the NeurIPS style (US letter, single column 5.5 in wide, Times-like
10 pt serif) that headless Chromium prints to ``report.pdf`` (:mod:`songspace.report.pdf`).

:func:`paper_html` takes a :class:`~songspace.runfolder.RunData`, numbers its tables and figures, and fills the
template ``templates/paper.html.j2``, which writes the prose and escapes every string from the run. Its findings
(abstract, discussion) are written from the numbers by :mod:`songspace.report.findings`; no result is fixed prose.
Bengali text falls back to an installed Bengali font (Lohit Bengali or Noto Sans Bengali).

The paper stays short whatever the run (about a dozen pages): its tables are the headline rows
(:mod:`songspace.report.tables`) and its figures the headline ones (:mod:`songspace.report.headline`); the full
tables and the other figures are in report.html's appendix.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from markupsafe import Markup

from songspace.evaluation.registry import conditioned_on, value
from songspace.report.findings import Findings, LabelFinding, find, nmi, verdict
from songspace.report.headline import headline_figures
from songspace.report.html import PAGES
from songspace.report.method import clusterer_text, clusterers, objective_html, representations
from songspace.report.tables import (
    DAGGER,
    ResultTable,
    internal_table,
    label_tables,
    pm,
    sweep_table,
)
from songspace.runfolder import Figure, RunData

# key: (in-text citation, reference entry), both HTML
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


def _references() -> dict[str, tuple[Markup, Markup]]:
    """The general references above and those the representations declare (their spec's ``cite``); both are
    HTML by contract (``&amp;``, ``<i>`` for a journal)."""
    from songspace import representations as registry

    refs = {**REFERENCES, **{s.cite[0]: (s.cite[1], s.cite[2]) for s in registry.specs() if s.cite}}
    return {k: (Markup(short), Markup(entry)) for k, (short, entry) in refs.items()}


def cite(*keys: str) -> Markup:
    """``(Kingma &amp; Welling, 2014; Higgins et al., 2017)``: the in-text citation of reference keys."""
    refs = _references()
    return Markup("(") + Markup("; ").join(refs[k][0] for k in keys) + Markup(")")


def _number_tables(tables: list[ResultTable]) -> list[tuple[int, ResultTable]]:
    """Tables numbered from 1; a footnote is printed under the first table that has it, later ones refer back."""
    first: dict[str, int] = {}
    out = []
    for n, t in enumerate(tables, 1):
        notes = [note if first.setdefault(note, n) == n else f"{DAGGER} As in Table {first[note]}."
                 for note in t.footnotes]
        out.append((n, dataclasses.replace(t, footnotes=notes)))
    return out


def _classes(run: RunData, lab: str, top: int = 8) -> str:
    """``3 classes: rock 4, jazz 4, pop 4, 2 unknown``; "" without class counts."""
    counts = run.class_counts.get(lab)
    if not counts:
        return ""
    known = [(c, v) for c, v in counts.most_common() if c]
    shown = ", ".join(f"{c} {v}" for c, v in known[:top]) + (", …" if len(known) > top else "")
    unknown = f", {counts['']} unknown" if counts.get("") else ""
    return f"{len(known)} classes: {shown}{unknown}"


def _setup(run: RunData) -> str:
    """The set-up sentences from the resolved config: only what the run's config.toml records."""
    def section(name: str) -> dict[str, str]:
        sec = run.config.get(name)
        return {k: str(v) for k, v in sec.items()} if isinstance(sec, dict) else {}

    f, t, model = section("features"), section("train"), section("model")
    out = []
    if f.get("sample_rate") and f.get("clip_seconds"):
        mel = ", ".join(x for x in (f"{f['n_mels']} bands" if f.get("n_mels") else "",
                                    f"FFT {f['n_fft']}" if f.get("n_fft") else "",
                                    f"hop {f['hop_length']}" if f.get("hop_length") else "") if x)
        out.append(f"Audio is decoded at {f['sample_rate']} Hz; the middle {f['clip_seconds']} s of each track "
                   f"gives a log-mel spectrogram{f' ({mel})' if mel else ''}"
                   + (f" and {f['n_mfcc']} MFCCs" if f.get("n_mfcc") else "") + ".")
    if model.get("latent_dim"):
        out.append(f"Latents have {model['latent_dim']} dimensions.")
    train = "Models train with Adam"
    if t.get("lr") or t.get("batch_size"):
        train += " (" + ", ".join(x for x in (f"learning rate {t['lr']}" if t.get("lr") else "",
                                              f"batch {t['batch_size']}" if t.get("batch_size") else "") if x) + ")"
    if t.get("epochs"):
        train += f" for at most {t['epochs']} epochs"
    if t.get("patience"):
        train += f", stopping after {t['patience']} epochs without improvement on a held-out split" \
            + (f" of {t['val_fraction']}" if t.get("val_fraction") else "")
    s = run.summary
    train += f", on {s['train_device']}" if s.get("train_device") else ""
    seconds = s.get("train_seconds") if isinstance(s.get("train_seconds"), dict) else {}
    total = sum(float(v) for v in seconds.values() if isinstance(v, (int, float)))
    train += f" ({total:.1f} s of training in all for the first seed)." if seconds else "."
    out.append(train)
    if not run.config:
        out.append("The run folder has no readable config.toml, so its other settings are not known here.")
    return " ".join(out)


def _png_size(fig: Figure) -> tuple[int, int] | None:
    """(width, height) in pixels of a PNG figure, from its header; None for another format."""
    d = fig.data
    if len(d) < 24 or d[:8] != b"\x89PNG\r\n\x1a\n" or d[12:16] != b"IHDR":
        return None
    return int.from_bytes(d[16:20], "big"), int.from_bytes(d[20:24], "big")


def figure_rows(figures: list[tuple[int, Figure]]) -> list[list[tuple[int, Figure]]]:
    """The numbered figures laid out in rows: two narrow ones (at least 3/4 as tall as wide: metric bars,
    compositions, reconstructions) side by side, each wide one (a latent space, a sweep) alone."""
    rows: list[list[tuple[int, Figure]]] = []
    waiting = False  # the last row holds one narrow figure
    for item in figures:
        size = _png_size(item[1])
        narrow = size is not None and size[1] >= 0.75 * size[0]
        if narrow and waiting:
            rows[-1].append(item)
            waiting = False
        else:
            rows.append([item])
            waiting = narrow
    return rows


def _fusion(lf: LabelFinding) -> tuple[dict[str, Any], str] | None:
    """The audio+lyrics method against the best single modality on ``lf``'s label: (its row, verb), or None."""
    both = lf.by_modality.get("audio+lyrics")
    singles = [lf.by_modality[m] for m in ("audio", "lyrics") if m in lf.by_modality]
    if both is None or not singles:
        return None
    col = f"nmi_{lf.label}"
    top = max(singles, key=lambda r: value(r, col))
    word = {"beats": "improves on", "ties with": "ties with", "loses to": "falls short of"}.get(
        verdict(value(both, col), value(top, col), value(both, f"{col}_std"), value(top, f"{col}_std")),
        "cannot be compared with")
    return both, word


def _sweep(f: Findings) -> list[str]:
    parts = [f"the reconstruction error {f.sweep_recon_trend} with β"] if f.sweep_recon_trend else []
    return parts + [f"the best {col.replace('_common', ' (common)').replace('_', ' ')} is at β = {beta:g}"
                    for col, beta in f.sweep_best_beta.items()]


def paper_html(run: RunData) -> str:
    """The run's paper as one HTML document, laid out for printing to US letter (see the module docstring)."""
    f = find(run)
    main_figs, rest = headline_figures(run, f)
    sweep = sweep_table(run)
    tables = _number_tables([*label_tables(run, headline=True, baselines=f.baseline_names),
                             internal_table(run, own_space=False, headline=True, baselines=f.baseline_names),
                             *([sweep] if sweep else [])])
    versions = run.summary.get("versions")
    sample = run.config.get("eval", {}).get("silhouette_sample") if isinstance(run.config.get("eval"), dict) else None
    n = run.summary.get("tracks_used", run.n_tracks)
    refs = _references()
    return PAGES.get_template("paper.html.j2").render(
        run=run, s=run.summary, f=f, cite=cite, pm=pm, nmi=nmi,
        version=versions.get("songspace", "") if isinstance(versions, dict) else "",
        representations=representations(run), objective=Markup(objective_html(run, cite=cite)),
        clusterers=[(c, clusterer_text(c)) for c in clusterers(run)],
        classes=[(lab, _classes(run, lab)) for lab in run.labels], setup=_setup(run),
        seeds=(f"seeds {', '.join(str(x) for x in run.summary['seeds'])}"
               if isinstance(run.summary.get("seeds"), list) and run.summary["seeds"]
               else f"seed {run.summary.get('seed', '?')}"),
        tables=tables, figures=list(enumerate(main_figs, 1)), figure_rows=figure_rows(list(enumerate(main_figs, 1))),
        more_figures=len(rest),
        fusion={lf.label: _fusion(lf) for lf in f.labels},
        noisy=[(r, f"{value(r, 'noise_fraction'):.0%}")
               for r in sorted(f.noisy, key=lambda r: -value(r, "noise_fraction"))[:5]],
        sweep=_sweep(f), marked=sorted({lab for r in run.metrics.rows for lab in conditioned_on(r)}),
        silhouette_sample=sample if isinstance(sample, int) and isinstance(n, int) and n > sample else None,
        references=[refs[k][1] for k in sorted(refs)])  # keys are first authors' surnames and years
