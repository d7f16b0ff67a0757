"""Figures of a run. Functions take arrays and return matplotlib figures; the runner saves them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only; no display needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from songspace.visualisation.fonts import configure_fonts  # noqa: E402

if TYPE_CHECKING:
    from songspace.training import History

UNKNOWN = "(unknown)"


def sample_indices(n: int, max_points: int, *, seed: int = 0) -> np.ndarray:
    """All indices when ``n <= max_points``, else a sorted seeded sample of ``max_points`` of them."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


SMALL_TSNE = 2000  # points: below this, t-SNE runs on one thread (see project_2d)


def project_2d(X: np.ndarray, technique: str = "tsne", *, seed: int = 0) -> np.ndarray:
    """2-D projection of ``X`` [shape=(n, d)] by ``tsne`` or ``umap``, for drawing only. [shape=(n, 2)]

    Both are O(n log n) or worse in memory and time: callers pass a sample (see :func:`sample_indices`).
    """
    if technique not in ("tsne", "umap"):
        raise ValueError(f"unknown projection technique {technique!r}; use 'tsne' or 'umap'")
    X = np.nan_to_num(np.asarray(X, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    distinct = len(np.unique(X.round(6), axis=0)) if len(X) else 0
    if len(X) < 5 or distinct < 5:
        # Too few distinct points to embed (t-SNE's PCA start divides by their spread, and sklearn's Barnes-Hut
        # code crashes on the NaN that gives): draw the first two coordinates as they are.
        return np.pad(X[:, :2], ((0, 0), (0, max(0, 2 - X.shape[1]))))
    if technique == "tsne":
        from sklearn.manifold import TSNE
        from threadpoolctl import threadpool_limits

        perplexity = float(min(30.0, (len(X) - 1) / 3))
        # One thread below SMALL_TSNE points: OpenMP threads spin-wait between the many tiny steps, which on a
        # loaded 2-core machine burns 33-97 s of CPU on 8 tracks (8 s with one thread).
        with threadpool_limits(1 if len(X) < SMALL_TSNE else None):
            return TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(X)
    import umap

    n_neighbors = int(min(15, len(X) - 1))
    return umap.UMAP(n_components=2, n_neighbors=n_neighbors, random_state=seed, n_jobs=1).fit_transform(X)


def project_task(task: tuple[np.ndarray, str, int]) -> np.ndarray:
    """:func:`project_2d` of ``(X, technique, seed)``: the unit of work of a projection worker process."""
    X, technique, seed = task
    return project_2d(X, technique, seed=seed)


def _palette(n: int) -> list:
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def plot_embedding(coords: np.ndarray, colourings: Mapping[str, Sequence[str]], *, title: str = "") -> Figure:
    """Scatter of 2-D ``coords`` [shape=(n, 2)], one panel per colouring (cluster, language, genre, ...).

    Each panel's legend gives every category with its count; unknown values (``""``) are drawn in grey.
    """
    configure_fonts()
    n_panels = max(1, len(colourings))
    fig, axes = plt.subplots(1, n_panels, figsize=(5.2 * n_panels, 5.4), squeeze=False)
    for ax, (name, values) in zip(axes[0], colourings.items(), strict=False):
        vals = np.asarray([v if str(v) != "" else UNKNOWN for v in map(str, values)], dtype=object)
        counts = Counter(vals.tolist())
        cats = sorted((c for c in counts if c != UNKNOWN), key=_natural) + ([UNKNOWN] if UNKNOWN in counts else [])
        colours = dict(zip(cats, _palette(len(cats)), strict=False))
        colours[UNKNOWN] = (0.75, 0.75, 0.75, 1.0)
        for c in cats:
            m = vals == c
            ax.scatter(coords[m, 0], coords[m, 1], s=14, color=colours[c], label=f"{c} ({counts[c]})",
                       alpha=0.85, linewidths=0)
        ax.set_title(f"by {name}")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=min(4, len(cats)), fontsize=8,
                  frameon=False, markerscale=1.5)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _natural(s: str) -> tuple:
    return (0, int(s), "") if s.lstrip("-").isdigit() else (1, 0, s)


def plot_training_curve(history: History, *, title: str = "training") -> Figure:
    """Loss terms per epoch (train solid, validation dashed), with the kept epoch marked."""
    configure_fonts()
    terms = [k for k in ("total", "reconstruction", "kl") if history.train and k in history.train[0]]
    fig, axes = plt.subplots(1, len(terms), figsize=(4.2 * len(terms), 3.4), squeeze=False)
    for ax, k in zip(axes[0], terms, strict=True):
        ep = np.arange(1, len(history.train) + 1)
        ax.plot(ep, [h[k] for h in history.train], label="train")
        if history.val:
            ax.plot(ep, [h[k] for h in history.val], "--", label="validation")
        if history.best_epoch >= 0:
            ax.axvline(history.best_epoch + 1, color="grey", lw=0.8, ls=":", label="kept")
        ax.set_xlabel("epoch")
        ax.set_title(k)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path) -> None:
    """Write ``fig`` as PNG and close it."""
    fig.savefig(path, dpi=130)
    plt.close(fig)
