"""Which figures of a run the report shows in its body and the paper prints: the headline ones.

The headline figures are the metric bars, the beta sweep, and the latent space and cluster composition of the best
methods (the best unsupervised method per label; the best by common-space silhouette when the run has no label),
with the reconstructions and traversals of the learned representation that is best on most labels. Their number
depends on the labels (the first MAX_BEST), not on how many methods ran. Every other figure is listed, linked, in
report.html's appendix.

The runner draws spaces and compositions for the methods it headlines, ranked on unrounded numbers; where
``metrics.csv``'s rounded numbers tie, the report shows the tied method whose figures were drawn.
"""

from __future__ import annotations

from collections import Counter

from songspace.evaluation.registry import conditioned_on, value
from songspace.report.findings import Findings
from songspace.runfolder import Figure, Row, RunData

# The body's order of kinds; a kind not named here is never a headline figure.
HEADLINE_KINDS = ("metrics", "beta_sweep", "embedding", "composition", "reconstruction", "traversal")
MAX_BEST = 4  # labels whose metric bars, and best methods whose space and composition, are shown (the first ones)


def stem(fig: Figure) -> str:
    """``vae_tsne`` for ``figures/vae_tsne.png``."""
    return fig.file.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def _composition(row: Row) -> str:
    return "composition_" + str(row.get("method")).replace("+", "_")


def best_rows(run: RunData, f: Findings) -> list[Row]:
    """The best unsupervised method per label, in label order without repeats, at most MAX_BEST; without labels,
    the best by common-space silhouette. Of methods tied with the best, the first whose composition was drawn."""
    drawn = {stem(x) for x in run.figures}
    rows = []
    for lf in f.labels:
        col = f"nmi_{lf.label}"
        tied = [r for r in run.metrics.rows
                if value(r, col) == value(lf.best, col) and lf.label not in conditioned_on(r)]
        rows.append(next((r for r in [lf.best, *tied] if _composition(r) in drawn), lf.best))
    if not rows and f.best_internal is not None:
        rows = [f.best_internal]
    unique: dict[str, Row] = {}
    for r in rows:
        unique.setdefault(str(r.get("method")), r)
    return list(unique.values())[:MAX_BEST]


def headline_figures(run: RunData, f: Findings) -> tuple[list[Figure], list[Figure]]:
    """The run's figures split in two: the headline ones, in :data:`HEADLINE_KINDS` order, and the rest, in the
    run's order."""
    best = best_rows(run, f)
    drawn = {stem(x) for x in run.figures}
    # t-SNE when the run drew it, else UMAP: one picture per space is enough in the body
    proj = "tsne" if any(x.kind == "embedding" and stem(x).endswith("_tsne") for x in run.figures) else "umap"
    spaces = {f"{r.get('representation')}_{proj}" for r in best}
    compositions = {_composition(r) for r in best}
    # the learned representation best on most labels (the first label's on a tie) that has decoded figures
    votes = Counter(str(lf.learned.get("representation")) for lf in f.labels if lf.learned is not None)
    learned = [{f"reconstructions_{rep}", f"traversal_{rep}"} for rep, _ in votes.most_common()]
    decoded = next((names for names in learned if names & drawn), set())
    later_labels = {f"metrics_{lab}" for lab in run.labels[MAX_BEST:]}

    def headline(fig: Figure) -> bool:
        name = stem(fig)
        return ((fig.kind == "metrics" and name not in later_labels) or fig.kind == "beta_sweep"
                or (fig.kind == "embedding" and name in spaces)
                or (fig.kind == "composition" and name in compositions)
                or (fig.kind in ("reconstruction", "traversal") and name in decoded))

    chosen = [fig for kind in HEADLINE_KINDS for fig in run.figures if fig.kind == kind and headline(fig)]
    return chosen, [fig for fig in run.figures if not any(fig is c for c in chosen)]
