"""Result figures of a run: cluster composition, reconstructions, latent traversals, metric bars, beta sweep.

One module (about 480 lines): the five result figures share their colours, class capping and error-bar
conventions, which belong together.

Every function takes arrays or plain rows (dicts, as read from a CSV: numbers may be strings, ``"nan"`` or
missing) and returns a matplotlib figure; none writes a file (the runner saves them with ``save_figure``).
Colours are colour-blind safe (Okabe-Ito, then Paul Tol's muted set), and text falls back to a Bengali-capable
font (:func:`~songspace.visualisation.fonts.configure_fonts`). Each function is O(n) in tracks or rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator, PercentFormatter  # noqa: E402

from songspace.evaluation.registry import as_float, conditioned_on, lower_is_better
from songspace.visualisation.fonts import configure_fonts  # noqa: E402

UNKNOWN = "(unknown)"
NOISE = "noise /\nnot placed"
CONDITIONED_NOTE = "conditioned on the target: not unsupervised"
# Okabe & Ito (2008) without black, then Paul Tol's muted colours that stay apart from them: 12 classes that
# readers with the common colour-vision deficiencies can still tell apart.
COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
           "#332288", "#882255", "#999933", "#44AA99", "#661100")
UNKNOWN_COLOUR = "#BBBBBB"
OTHER_COLOUR = "#E4E4E4"

Row = Mapping[str, Any]


_num = as_float


def _nums(values: Sequence[Any], what: str, n: int) -> np.ndarray:
    if len(values) != n:
        raise ValueError(f"{what} has {len(values)} values but there are {n} betas; give one value per beta")
    return np.array([_num(v) for v in values], dtype=np.float64)


def _metric_label(name: str) -> str:
    return f"{name} (lower is better)" if lower_is_better(name) else name


# --- composition -------------------------------------------------------------------------------------------------


def _capped(names: list[str], order: list[int], tail: list[int], most: int, merged_name: str,
            tail_name: str) -> tuple[list[str], np.ndarray]:
    """Groups of ``len(names)`` values: those of ``order`` one group each up to ``most`` groups, the rest of
    ``order`` merged into one (``merged_name``, ``{n}`` = how many), then ``tail`` in a last group. Returns the
    group names and each value's group."""
    kept, merged = (order, []) if len(order) <= most else (order[:most - 1], order[most - 1:])
    out = [names[i] for i in kept]
    idx = np.empty(len(names), dtype=np.int64)
    idx[kept] = np.arange(len(kept))
    if merged:
        idx[merged] = len(out)
        out.append(merged_name.format(n=len(merged)))
    if tail:
        idx[tail] = len(out)
        out.append(tail_name)
    return out, idx


def _bars(clusters: np.ndarray, max_clusters: int) -> tuple[list[str], np.ndarray]:
    """Tick labels and each track's bar: clusters by size, the smallest merged past ``max_clusters``, noise last."""
    ids, inverse, sizes = np.unique(clusters, return_inverse=True, return_counts=True)
    real = [i for i in np.argsort(-sizes, kind="stable") if ids[i] >= 0]
    noise = [i for i in range(len(ids)) if ids[i] < 0]  # every negative id (-1 noise, not placed) shares a bar
    names, bar_of = _capped([str(i) for i in ids], real, noise, max_clusters, "{n} smaller\nclusters", NOISE)
    return names, bar_of[inverse.ravel()]


def _classes(values: np.ndarray, max_classes: int) -> tuple[list[str], np.ndarray]:
    """Class names (most common first, rare ones merged into "other", unknown last) and each track's class index."""
    names, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    known = sorted((i for i in range(len(names)) if names[i] != UNKNOWN), key=lambda i: (-counts[i], names[i]))
    unknown = [i for i in range(len(names)) if names[i] == UNKNOWN]
    out, idx = _capped([str(n) for n in names], known, unknown, max_classes, "other ({n} classes)", UNKNOWN)
    return out, idx[inverse.ravel()]


def _class_colour(name: str, i: int) -> str:
    if name == UNKNOWN:
        return UNKNOWN_COLOUR
    if name.startswith("other ("):
        return OTHER_COLOUR
    return COLOURS[i % len(COLOURS)]


def plot_composition(clusters: np.ndarray, labels: Mapping[str, Sequence[str]], *, title: str = "",
                     max_clusters: int = 30, max_classes: int = 12) -> Figure:
    """Cluster composition: one stacked bar per cluster, one panel per label.

    Parameters
    ----------
    clusters : np.ndarray [shape=(n,)]
        Cluster id of each track; negative ids (-1: noise, or a track the method could not place) form one bar,
        drawn last as "noise / not placed".
    labels : mapping of label name to [shape=(n,)] class names
        E.g. ``{"language": [...], "genre": [...]}``; ``""`` is drawn as "(unknown)". With no labels, one panel
        shows the cluster sizes.
    title : str
        Figure title.
    max_clusters : int
        Bars beyond this many (the smallest clusters) are merged into one "smaller clusters" bar.
    max_classes : int
        Classes beyond this many (the rarest) are merged into one "other" segment, so the legend stays readable.

    Returns
    -------
    Figure
        Bars are sorted by cluster size, each segment is the share of one class in that cluster (the segments of
        a bar add up to 1), and the bar's size (number of tracks) is written above it.
    """
    configure_fonts()
    clusters = np.asarray(clusters).ravel()
    if clusters.size == 0:
        raise ValueError("no tracks to draw: `clusters` is empty")
    if not np.issubdtype(clusters.dtype, np.integer):
        raise ValueError(f"cluster ids must be integers (got dtype {clusters.dtype}); -1 marks noise")
    for name, vals in labels.items():
        if len(vals) != clusters.size:
            raise ValueError(f"label {name!r} has {len(vals)} values but there are {clusters.size} tracks; "
                             "give one class per track (\"\" when unknown)")
    bar_names, bar = _bars(clusters, max(2, max_clusters))
    n_bars = len(bar_names)
    sizes = np.bincount(bar, minlength=n_bars)
    panels = list(labels.items()) or [("", None)]
    width = max(7.0, 3.6 + 0.42 * n_bars)
    fig, axes = plt.subplots(len(panels), 1, figsize=(width, 3.3 * len(panels) + 0.4), squeeze=False,
                             layout="constrained")
    x = np.arange(n_bars)
    rotate = n_bars > 14
    pad = 8 + 5 * max(len(str(s)) for s in sizes) if rotate else 16  # room for the sizes above the bars
    for ax, (name, vals) in zip(axes[:, 0], panels, strict=True):
        if vals is None:  # no labels: the sizes alone
            ax.bar(x, sizes, color=COLOURS[4], width=0.8)
            ax.set_ylabel("tracks")
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title("cluster sizes", loc="left", pad=pad)
        else:
            values = np.array([UNKNOWN if str(v) == "" else str(v) for v in vals], dtype=object)
            classes, cls = _classes(values, max(2, max_classes))
            table = np.bincount(bar * len(classes) + cls, minlength=n_bars * len(classes))
            share = table.reshape(n_bars, len(classes)) / sizes[:, None]
            bottom = np.zeros(n_bars)
            for j, c in enumerate(classes):
                ax.bar(x, share[:, j], bottom=bottom, width=0.8, color=_class_colour(c, j), edgecolor="white",
                       linewidth=0.5, label=c, gid=f"composition|{name}|{c}")
                bottom += share[:, j]
            ax.set_ylim(0, 1.0)
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
            ax.set_ylabel("share of the cluster")
            ax.set_title(f"by {name}", loc="left", pad=pad)
            handles, names = ax.get_legend_handles_labels()
            # Reversed, so the legend reads in the order of the stack (top segment first).
            ax.legend(handles[::-1], names[::-1], loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                      fontsize=8, title=name, title_fontsize=8)
        top = ax.get_ylim()[1]
        for xi, s in zip(x, sizes, strict=True):
            ax.annotate(str(s), (xi, top), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                        fontsize=7, rotation=90 if rotate else 0, annotation_clip=False, gid="size")
        ax.set_xticks(x, bar_names, fontsize=8)
        half = max(n_bars, 4) / 2 + 0.1  # a bar never wider than a quarter of the panel
        ax.set_xlim((n_bars - 1) / 2 - half, (n_bars - 1) / 2 + half)
        ax.spines[["top", "right"]].set_visible(False)
    axes[-1, 0].set_xlabel("cluster (largest first; number of tracks above each bar)")
    if title:
        fig.suptitle(title)
    return fig


# --- reconstructions ---------------------------------------------------------------------------------------------


def _limits(*arrays: np.ndarray) -> tuple[float, float]:
    finite = np.concatenate([a[np.isfinite(a)].ravel() for a in arrays])
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    d = (a - b)[np.isfinite(a - b)]
    return float(np.sqrt(np.mean(d ** 2))) if d.size else math.nan


def plot_reconstructions(originals: np.ndarray, reconstructions: np.ndarray, row_titles: Sequence[str], *,
                         title: str = "", units: str = "dB") -> Figure:
    """Originals beside their reconstructions, one row per example.

    Parameters
    ----------
    originals, reconstructions : np.ndarray [shape=(k, n_mels, t)] or [shape=(k, d)]
        Log-mel spectrograms (drawn as images, original left, reconstruction right, one colour scale and one
        colourbar per row) or feature vectors (drawn as two lines per row).
    row_titles : sequence of str [shape=(k,)]
        What each row is (e.g. ``"genre: rock"``).
    title : str
        Figure title.
    units : str
        Units of the values, for the colourbar or the y axis.

    Returns
    -------
    Figure
        Each row also gives the root-mean-square error of its reconstruction, in ``units``.
    """
    configure_fonts()
    o = np.asarray(originals, dtype=np.float64)
    r = np.asarray(reconstructions, dtype=np.float64)
    if o.shape != r.shape:
        raise ValueError(f"originals {o.shape} and reconstructions {r.shape} differ in shape; pass the "
                         "reconstruction of each original")
    if o.ndim not in (2, 3) or len(o) == 0:
        raise ValueError(f"expected (k, n_mels, t) spectrograms or (k, d) vectors with k >= 1, got shape {o.shape}")
    if len(row_titles) != len(o):
        raise ValueError(f"{len(row_titles)} row titles for {len(o)} examples; give one title per example")
    k = len(o)
    if o.ndim == 3:
        fig, axes = plt.subplots(k, 2, figsize=(9.0, 1.75 * k + 0.7), squeeze=False, layout="constrained")
        for i in range(k):
            lo, hi = _limits(o[i], r[i])
            for j, img in enumerate((o[i], r[i])):
                ax = axes[i, j]
                im = ax.imshow(img, origin="lower", aspect="auto", cmap="magma", vmin=lo, vmax=hi,
                               interpolation="nearest")
                ax.tick_params(labelsize=7)
                if i < k - 1:
                    ax.set_xticklabels([])
            axes[i, 0].set_title(f"{row_titles[i]}: original", fontsize=9, loc="left")
            axes[i, 1].set_title(f"reconstruction (RMSE {_rmse(o[i], r[i]):.3g} {units})", fontsize=9, loc="left")
            axes[i, 0].set_ylabel("mel bin", fontsize=8)
            fig.colorbar(im, ax=axes[i, :], label=units, pad=0.01, aspect=12)
        for ax in axes[-1]:
            ax.set_xlabel("frame", fontsize=8)
    else:
        fig, axes = plt.subplots(k, 1, figsize=(8.5, 1.45 * k + 1.0), squeeze=False, sharex=True,
                                 layout="constrained")
        f = np.arange(o.shape[1])
        for i, ax in enumerate(axes[:, 0]):
            ax.plot(f, o[i], color=COLOURS[4], lw=1.2, label="original")
            ax.plot(f, r[i], color=COLOURS[5], lw=1.2, ls="--", label="reconstruction")
            ax.set_title(f"{row_titles[i]} (RMSE {_rmse(o[i], r[i]):.3g} {units})", fontsize=9, loc="left")
            ax.set_ylabel(units, fontsize=8)
            ax.tick_params(labelsize=7)
            ax.spines[["top", "right"]].set_visible(False)
        axes[-1, 0].set_xlabel("feature index")
        handles, names = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside upper right", ncol=2, frameon=False, fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


# --- latent traversals -------------------------------------------------------------------------------------------


def plot_traversal(decoded: np.ndarray, values: Sequence[float], dims: Sequence[int], *, title: str = "",
                   units: str = "dB", value_label: str = "position along the latent dimension (standard deviations)"
                   ) -> Figure:
    """Latent traversals: what the decoder makes of a latent point moved along single dimensions.

    Parameters
    ----------
    decoded : np.ndarray [shape=(len(dims), len(values), n_mels, t)] or [shape=(len(dims), len(values), d)]
        The decoder's output for each dimension and each value of it. Spectrograms are drawn as a grid (rows =
        dimensions, columns = values, one colour scale for all); vectors as one heatmap per dimension of the
        change from the centre value, over features x values.
    values : sequence of float [shape=(len(values),)]
        The values each dimension was set to (e.g. -3 .. 3 standard deviations). The centre is the value nearest
        the middle of their range.
    dims : sequence of int [shape=(len(dims),)]
        The latent dimensions traversed.
    title : str
        Figure title.
    units : str
        Units of the decoded values (colourbar label).
    value_label : str
        What ``values`` measure (x-axis label).

    Returns
    -------
    Figure
    """
    configure_fonts()
    D = np.asarray(decoded, dtype=np.float64)
    v = np.array([_num(x) for x in values], dtype=np.float64)
    if D.ndim not in (3, 4):
        raise ValueError(f"expected decoded of shape (dims, values, n_mels, t) or (dims, values, d), got {D.shape}")
    if D.shape[0] != len(dims) or D.shape[1] != len(v) or len(v) == 0:
        raise ValueError(f"decoded has shape {D.shape} but there are {len(dims)} dims and {len(v)} values; its "
                         "first two axes must be (dims, values), with at least one value")
    n_dims, n_vals = D.shape[:2]
    ticks = [f"{x:+g}" for x in v]
    if D.ndim == 4:
        lo, hi = _limits(D)
        fig, axes = plt.subplots(n_dims, n_vals, figsize=(1.35 * n_vals + 1.6, 1.25 * n_dims + 1.1),
                                 squeeze=False, layout="constrained")
        for i in range(n_dims):
            for j in range(n_vals):
                ax = axes[i, j]
                im = ax.imshow(D[i, j], origin="lower", aspect="auto", cmap="magma", vmin=lo, vmax=hi,
                               interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if i == 0:
                    ax.set_title(ticks[j], fontsize=9)
            axes[i, 0].set_ylabel(f"dim {dims[i]}", fontsize=9)
        fig.colorbar(im, ax=axes, label=units, aspect=30, pad=0.01)
        fig.supxlabel(value_label, fontsize=9)
    else:
        finite = v[np.isfinite(v)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        centre = int(np.nanargmin(np.abs(v - mid))) if finite.size else n_vals // 2
        delta = D - D[:, centre:centre + 1, :]  # (dims, values, d)
        bound = float(np.nanmax(np.abs(delta))) if np.isfinite(delta).any() else 0.0
        bound = bound if bound > 0 else 1.0
        fig, axes = plt.subplots(1, n_dims, figsize=(2.3 * n_dims + 1.6, 4.2), squeeze=False, sharey=True,
                                 layout="constrained")
        for i, ax in enumerate(axes[0]):
            im = ax.imshow(delta[i].T, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-bound, vmax=bound,
                           interpolation="nearest")
            ax.set_xticks(np.arange(n_vals), ticks, fontsize=7, rotation=90 if n_vals > 9 else 0)
            ax.set_title(f"dim {dims[i]}", fontsize=9)
        axes[0, 0].set_ylabel("feature index")
        fig.colorbar(im, ax=axes, label=f"change from the centre value ({ticks[centre]})" + (
            f", {units}" if units and units != "dB" else ""), aspect=30, pad=0.01)
        fig.supxlabel(value_label, fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


# --- metric bars -------------------------------------------------------------------------------------------------


def plot_metric_bars(rows: Sequence[Row], metrics: Sequence[str], *, title: str = "",
                     method_key: str = "method") -> Figure:
    """Grouped horizontal bars: one group per method (row), one bar per metric, mean ± std.

    Parameters
    ----------
    rows : sequence of mappings [shape=(n_rows,)]
        Result rows, e.g. from ``metrics.csv``: ``row[method_key]`` names the method, ``row[metric]`` is its
        value and ``row[f"{metric}_std"]`` (optional) its standard deviation over seeds. Numbers may be strings;
        ``"nan"``, ``""`` or a missing value draws no bar and writes "n/a". A row with a non-empty
        ``conditioned_on`` (``;``-separated labels) is hatched: it was given the target, so it is not an
        unsupervised result.
    metrics : sequence of str
        Columns to draw, e.g. ``["nmi_genre", "nmi_language", "silhouette_common"]``.
    title : str
        Figure title.
    method_key : str
        Column that names each row.

    Returns
    -------
    Figure
        Rows are drawn top to bottom in the given order; the figure grows with the number of rows.
    """
    configure_fonts()
    if not rows:
        raise ValueError("no result rows to draw")
    if not metrics:
        raise ValueError("no metrics to draw; name at least one column")
    n, m = len(rows), len(metrics)
    vals = np.array([[_num(r.get(c)) for c in metrics] for r in rows], dtype=np.float64)
    stds = np.array([[_num(r.get(f"{c}_std")) for c in metrics] for r in rows], dtype=np.float64)
    cond = [bool(conditioned_on(r)) for r in rows]
    names = [str(r.get(method_key, "") or f"row {i}") for i, r in enumerate(rows)]
    h = 0.8 / m
    fig, ax = plt.subplots(figsize=(9.0, 1.5 + n * (0.15 * m + 0.12)), layout="constrained")
    for i in range(n):
        if i % 2:
            ax.axhspan(i - 0.5, i + 0.5, color="#F2F2F2", zorder=0, lw=0)
        for j, c in enumerate(metrics):
            y = i - 0.4 + h * (j + 0.5)
            if not np.isfinite(vals[i, j]):
                ax.text(0, y, " n/a", va="center", ha="left", fontsize=7, color="#666666", gid="n/a")
                continue
            ax.barh(y, vals[i, j], height=h * 0.92, color=COLOURS[j % len(COLOURS)], zorder=2,
                    hatch="///" if cond[i] else None, hatchcolor="black", edgecolor="none",
                    gid=f"bar|{names[i]}|{c}")
            if np.isfinite(stds[i, j]):
                ax.errorbar(vals[i, j], y, xerr=stds[i, j], fmt="none", ecolor="black", elinewidth=0.8,
                            capsize=2, zorder=3)
    ax.axvline(0, color="black", lw=0.8, zorder=1)
    ax.set_yticks(np.arange(n), names, fontsize=8)
    ax.set_ylim(n - 0.5, -0.5)  # first row on top
    ax.grid(axis="x", color="#DDDDDD", lw=0.6, zorder=0)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    spread = "mean ± std over seeds" if np.isfinite(stds).any() else "one seed, no spread"
    ax.set_xlabel(f"score ({spread})")
    handles = [Patch(color=COLOURS[j % len(COLOURS)], label=_metric_label(c)) for j, c in enumerate(metrics)]
    if any(cond):
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="///", label=CONDITIONED_NOTE))
    # Above the bars, so the bars keep the full width however many rows there are.
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=min(3, len(handles)),
              frameon=False, fontsize=8, borderaxespad=0.3)
    if title:
        fig.suptitle(title)
    return fig


# --- beta sweep --------------------------------------------------------------------------------------------------


def plot_beta_sweep(betas: Sequence[float], reconstruction: tuple[Sequence[float], Sequence[float]],
                    scores: Mapping[str, tuple[Sequence[float], Sequence[float]]], *, title: str = "") -> Figure:
    """Reconstruction error and cluster scores against beta: the trade-off a Beta-VAE sweep measures.

    Parameters
    ----------
    betas : sequence of float [shape=(n,)]
        The KL weights swept (>= 0; drawn on a log axis, symmetric-log when one is 0).
    reconstruction : (mean, std), each [shape=(n,)]
        Reconstruction error per beta (left axis), with its standard deviation over seeds (NaN: no error bar).
    scores : mapping of score name to (mean, std), each [shape=(n,)]
        Cluster scores per beta (right axis), e.g. ``silhouette_common``, ``nmi_genre``.
    title : str
        Figure title.

    Returns
    -------
    Figure
    """
    configure_fonts()
    b = np.array([_num(x) for x in betas], dtype=np.float64)
    if b.size == 0 or not np.isfinite(b).all():
        raise ValueError(f"betas must be a non-empty list of numbers, got {list(betas)!r}")
    order = np.argsort(b, kind="stable")
    b = b[order]
    series = {"reconstruction": reconstruction, **scores}
    parsed = {k: (_nums(mean, f"{k} (mean)", len(b))[order], _nums(std, f"{k} (std)", len(b))[order])
              for k, (mean, std) in series.items()}
    fig, ax = plt.subplots(figsize=(8.0, 4.8), layout="constrained")
    right = ax.twinx()
    rm, rs = parsed.pop("reconstruction")
    lines = [ax.errorbar(b, rm, yerr=rs, color="black", marker="o", lw=1.6, capsize=3,
                         label="reconstruction error (left axis)")]
    markers = "s^DvP*X"
    for j, (name, (mean, std)) in enumerate(parsed.items()):
        lines.append(right.errorbar(b, mean, yerr=std, color=COLOURS[j % len(COLOURS)], marker=markers[j % 7],
                                    ls="--", lw=1.4, capsize=3, label=f"{_metric_label(name)} (right axis)"))
    if (b > 0).all():
        ax.set_xscale("log")
        scale = "log scale"
    else:  # beta = 0 (a plain autoencoder's objective) has no logarithm: linear up to the smallest positive beta
        positive = b[b > 0]
        ax.set_xscale("symlog", linthresh=float(positive.min()) if positive.size else 1.0)
        scale = "symmetric log scale"
    ax.set_xticks(b, [f"{x:g}" for x in b])
    ax.minorticks_off()
    ax.set_xlabel(f"beta (weight of the KL term, {scale})")
    ax.set_ylabel("reconstruction error (validation)")
    right.set_ylabel("cluster score")
    ax.spines["top"].set_visible(False)
    right.spines["top"].set_visible(False)
    fig.legend(handles=lines, loc="outside lower center", ncol=min(3, len(lines)), frameon=False, fontsize=8)
    if title:
        ax.set_title(title, loc="left")
    return fig
