"""The figures of a run, drawn from its representations, clusterings and metrics; the runner writes them.

:func:`draw_run` yields each figure as PNG bytes with its name, caption and kind (:class:`RunFigure`), and the 2-D
coordinates each projection drew (:class:`Projection`); it writes nothing. t-SNE and UMAP projections, the costly
part, run side by side in worker processes (:func:`project_all`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from songspace import representations as registry
from songspace.config import RunConfig
from songspace.evaluation.analysis import best
from songspace.evaluation.registry import COMMON, drawn_metrics, header
from songspace.representations.base import Representation
from songspace.training import reconstruct
from songspace.visualisation.figures import (
    plot_embedding,
    plot_training_curve,
    project_task,
    sample_indices,
    save_figure,
)
from songspace.visualisation.results import (
    plot_beta_sweep,
    plot_composition,
    plot_metric_bars,
    plot_reconstructions,
    plot_traversal,
)

if TYPE_CHECKING:  # the experiment layer above hands its results down; nothing of it is imported here
    from songspace.experiment import MethodResult

Progress = Callable[[str, int, int], None]


@dataclass
class RunFigure:
    name: str  # file stem (made safe by the run folder)
    caption: str
    kind: str  # embedding, composition, reconstruction, traversal, training, metrics, beta_sweep
    png: bytes


@dataclass
class Projection:
    representation: str
    technique: str  # tsne | umap
    index: np.ndarray  # [shape=(m,)] rows of the representation drawn
    xy: np.ndarray  # [shape=(m, 2)]



def _listed(cols: list[str]) -> str:
    """``NMI, ARI and purity``: the metrics of ``cols`` as a caption names them."""
    words = [h if h.isupper() else h.lower() for h in (header(c) for c in cols)]
    return ", ".join(words[:-1]) + f" and {words[-1]}" if len(words) > 1 else "".join(words)

def _figure(fig: Any, name: str, caption: str, kind: str) -> RunFigure:
    buf = io.BytesIO()
    save_figure(fig, buf)
    return RunFigure(name, caption, kind, buf.getvalue())


def headline_methods(rows: Sequence[dict[str, Any]], labels: Sequence[str], *, per_label: int = 1) -> set[str]:
    """The methods the tables headline: per label the best unsupervised method and the best baseline, and the best
    method by common-space silhouette (the only one without labels)."""
    def free(label: str) -> list[dict[str, Any]]:
        return [r for r in rows if label not in str(r.get("conditioned_on") or "").split(";")]

    out: set[str] = set()
    for label in labels:
        col = f"nmi_{label}"
        for pool in (free(label), [r for r in free(label) if _is_baseline(r)]):
            if (top := best(pool, col)) is not None:
                out.add(str(top["method"]))
    if (top := best(rows, "silhouette_common")) is not None:
        out.add(str(top["method"]))
    return out


def best_per_representation(rows: Sequence[dict[str, Any]], col: str) -> list[dict[str, Any]]:
    """Each representation's row with the best ``col``, in the order the representations first appear."""
    out = []
    for rep in dict.fromkeys(str(r.get("representation")) for r in rows):
        mine = [r for r in rows if str(r.get("representation")) == rep]
        out.append(best(mine, col) or mine[0])
    return out


def _is_baseline(row: dict[str, Any]) -> bool:
    name = str(row.get("representation"))
    return registry.exists(name) and registry.get(name).baseline


def project_all(tasks: Sequence[tuple[np.ndarray, str]], *, seed: int) -> list[np.ndarray]:
    """:func:`project_2d` of each (points, technique); in worker processes when there are more than 8 and several
    cores."""
    import os

    from songspace.parallel import process_pool

    # A worker pays its imports and UMAP's compilation (about 8 s) again, which this process has usually paid
    # already (the first seed's HDBSCAN runs here): only many projections (plots.figures = "all") are worth it.
    workers = min(len(tasks), os.cpu_count() or 1) if len(tasks) > 8 else 1
    if workers < 2:
        return [project_task((X, m, seed)) for X, m in tasks]
    with process_pool(workers, spawn=True) as pool:
        return list(pool.map(project_task, [(X, m, seed) for X, m in tasks]))


def draw_run(cfg: RunConfig, reps: list[Representation], results: list[MethodResult], rows: list[dict[str, Any]],
             sweep: list[dict[str, Any]], labels: dict[str, list[str]], *, k_label: str | None,
             progress: Progress | None = None) -> Iterator[RunFigure | Projection]:
    """Every figure of a run, and the 2-D coordinates they draw: from the first seed, the latent spaces (by cluster
    and by each label), cluster composition, reconstructions, traversals and training curves; from all seeds,
    metric bars with error bars and the beta sweep. With ``plots.figures = "headline"`` the projections and
    composition bars are drawn for the headline methods only (:func:`headline_methods`)."""
    seed_note = f"seed {cfg.seed}"
    wanted = None if cfg.plots.figures == "all" else headline_methods(rows, list(labels))
    for rep in reps:
        if rep.history is not None:
            yield _figure(plot_training_curve(rep.history, title=f"{rep.name}: loss per epoch"),
                        f"training_curve_{rep.name}", f"Training and validation loss of {rep.name} per epoch "
                        f"({seed_note}); the kept weights are those of the best validation epoch.", "training")
    techniques = [t for t, on in (("tsne", cfg.plots.tsne), ("umap", cfg.plots.umap)) if on]
    shown = [r for r in results if r.labels is not None and (wanted is None or r.name in wanted)]
    first: dict[str, MethodResult] = {}
    for r in shown:
        first.setdefault(r.rep.name, r)
    todo = [(rep, t) for rep in reps if rep.name in first for t in techniques]
    samples = {rep.name: sample_indices(len(rep.latent), cfg.plots.max_points, seed=cfg.seed) for rep, _ in todo}
    coords_of = project_all([(rep.latent[samples[rep.name]], t) for rep, t in todo], seed=cfg.seed)
    for j, ((rep, technique), coords) in enumerate(zip(todo, coords_of, strict=True)):
        res = first[rep.name]
        idx = samples[rep.name]
        yield Projection(rep.name, technique, idx, coords)
        colourings = {f"cluster ({res.clusterer})": [str(c) if c >= 0 else "none" for c in res.labels[idx]]}
        colourings.update({name: [vals[i] for i in idx] for name, vals in labels.items()})
        sampled = f", sample of {len(idx)}" if len(idx) < len(rep.latent) else ""
        upper = technique.upper()
        fig = plot_embedding(coords, colourings, title=f"{rep.name}: {upper} of {rep.space}{sampled}")
        by = ", ".join(["its " + res.clusterer + " clusters", *labels])
        yield _figure(fig, f"{rep.name}_{technique}", f"{upper} of the {rep.name} space ({rep.space}{sampled}, "
                    f"{seed_note}), coloured by {by}.", "embedding")
        if progress:
            progress("figures", j + 1, len(todo))
    if labels:
        for r in shown:
            yield _figure(plot_composition(r.labels, labels, title=f"{r.name}: cluster composition"),
                        f"composition_{r.rep.name}_{r.clusterer}",
                        f"Composition of the {r.name} clusters over {', '.join(labels)} ({seed_note}): one bar per "
                        "cluster, its size on top; -1 = noise or not placed.", "composition")
    for rep in reps:
        spec = registry.get(rep.name)
        if spec.reconstructs and rep.model is not None and rep.dataset is not None:
            yield from _reconstructions(rep, labels.get(k_label or "", None), k_label, cfg.seed)
        if spec.traversal and rep.model is not None and rep.dataset is not None:
            yield from _traversal(rep, cfg.seed)
    few = cfg.plots.figures != "all"  # one bar group per representation (its best clusterer), not per method
    which = "each representation's best clusterer" if few else "method"
    for name in labels:
        cols = [f"{m}_{name}" for m in drawn_metrics("label")]
        # Hatched: only the rows given this label (a cvae given the language is unsupervised about genre).
        marked = [{**r, "conditioned_on": name if name in str(r.get("conditioned_on", "")).split(";") else ""}
                  for r in (best_per_representation(rows, f"nmi_{name}") if few else rows)]
        yield _figure(plot_metric_bars(marked, cols, title=f"Agreement with {name} (mean ± std over seeds)"),
                    f"metrics_{name}", f"{_listed(cols)} against {name} per {which}, mean ± standard "
                    f"deviation over {cfg.n_seeds} seed(s). Hatched: conditioned on that label, not an unsupervised "
                    "result.", "metrics")
    internal = best_per_representation(rows, "silhouette_common") if few else rows
    yield _figure(plot_metric_bars([{**r, "conditioned_on": ""} for r in internal],
                                 [f"{m}{COMMON}" for m in drawn_metrics("internal")],
                                 title="Internal quality in the common space (mean ± std over seeds)"),
                "metrics_internal", "Silhouette (higher is better) and Davies-Bouldin (lower is better) of each "
                f"method's clusters, all measured in the same common space, mean ± std over {cfg.n_seeds} seed(s).",
                "metrics")
    if sweep:
        betas = [float(r["beta"]) for r in sweep]

        def series(col: str) -> tuple[list[float], list[float]]:
            return [float(r.get(col, np.nan)) for r in sweep], [float(r.get(f"{col}_std", np.nan)) for r in sweep]

        scores = {c: series(c) for c in ["silhouette_common", *[f"nmi_{n}" for n in labels]]}
        yield _figure(plot_beta_sweep(betas, series("reconstruction"), scores,
                                    title="Beta-VAE: reconstruction against cluster quality"),
                    "beta_sweep", "Beta-VAE beta sweep: validation reconstruction error (left) and K-Means cluster "
                    f"quality of its latent (right) per beta, mean ± std over {cfg.n_seeds} seed(s).", "beta_sweep")


def _reconstructions(rep: Representation, classes: list[str] | None, label: str | None, seed: int,
                     per_class: int = 2, max_rows: int = 12) -> Iterator[RunFigure]:
    """Originals against reconstructions for a few tracks of each class of ``label`` (seeded choice)."""
    rng = np.random.default_rng(seed)
    n = len(rep.latent)
    if classes is None:
        picks = [(int(i), f"track {int(i)}") for i in rng.choice(n, size=min(6, n), replace=False)]
    else:
        picks = []
        for c in sorted({v for v in classes if v}):
            members = np.flatnonzero(np.asarray(classes) == c)
            picks += [(int(i), f"{label}: {c}") for i in rng.choice(members, min(per_class, len(members)), False)]
        picks = picks[:max_rows]
    if not picks:
        return
    assert rep.model is not None and rep.dataset is not None
    originals, recon = reconstruct(rep.model, rep.dataset, [i for i, _ in picks])
    what = str(registry.get(rep.name).reconstructs or "")
    units = "dB" if originals.ndim == 3 and "log-mel" in what and "modulation" not in what else "standardised"
    yield _figure(plot_reconstructions(originals, recon, [t for _, t in picks], title=f"{rep.name}: reconstructions",
                                     units=units), f"reconstructions_{rep.name}",
                f"{rep.name}: original (left) and reconstructed (right) {what} of a few tracks per class"
                + (f" of {label}" if label else "") + " (decoded posterior means).", "reconstruction")


def _traversal(rep: Representation, seed: int, n_dims: int = 4) -> Iterator[RunFigure]:
    """Decode the mean latent moved along its most used dimensions, from -3 to +3 standard deviations."""
    import torch

    assert rep.model is not None and rep.dataset is not None
    Z = np.asarray(rep.latent, dtype=np.float64)
    spread = Z.std(axis=0)
    dims = [int(d) for d in np.argsort(-spread)[:n_dims]]
    steps = np.linspace(-3.0, 3.0, 7)
    centre = Z.mean(axis=0)
    zs = np.stack([centre + np.outer(steps * spread[d], np.eye(len(centre))[d]) for d in dims])  # (dims, steps, d)
    model = rep.model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        flat = torch.as_tensor(zs.reshape(-1, zs.shape[-1]), dtype=torch.float32, device=device)
        decoded = model.decode(flat).cpu().numpy()
    decoded = rep.dataset.inverse_transform(decoded)
    decoded = decoded.reshape(len(dims), len(steps), *decoded.shape[1:])
    yield _figure(plot_traversal(decoded, list(steps), dims, title=f"{rep.name}: latent traversals"),
                f"traversal_{rep.name}", f"{rep.name}: the mean latent moved along its {len(dims)} most spread "
                "dimensions from -3 to +3 standard deviations, decoded" + (" to log-mel (dB)." if decoded.ndim == 4
                                                                          else " (statistics, change from the "
                                                                               "centre)."), "traversal")


