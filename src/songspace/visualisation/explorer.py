"""The explorer page: a run's latent spaces as an interactive scatter that plays a track's clip on click.

Pure: :func:`explorer_html` takes :class:`ExplorerData` and returns one self-contained HTML string (inline CSS
and vanilla JavaScript, the data embedded as JSON; nothing is fetched at view time but the clips, by relative
URL). Reading a run folder and writing clips is ``songspace.report.explorer``'s job. The page is the template
``templates/explorer.html.j2`` with ``explorer.css`` and ``explorer.js`` inlined (Jinja reads those two as well:
no double braces in them).

Every string from the dataset (titles, artists, labels) reaches the page only as JSON inside a
``<script type="application/json">`` element (``|tojson``: ``<``, ``>``, ``&``, ``'`` and U+2028/9 escaped), and
is put into the DOM with ``textContent``: markup in a title shows as text and cannot run. The scatter is SVG (hit
tests for hover and click come free), comfortable up to about 5000 points: callers pass a sample of a large
collection."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from songspace.templating import render

TECHNIQUE_NAMES = {"tsne": "t-SNE", "umap": "UMAP"}
# A fixed categorical palette: matplotlib's tab10 without its grey (grey means noise / unknown / other here),
# then tab20's light tones: the first seven categories get the colours they have in the run's figures.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
           "#393b79", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d",
           "#9edae5", "#637939")


@dataclass
class ExplorerPoint:
    """One track on the page."""

    track_id: str
    title: str = ""
    artist: str = ""
    labels: dict[str, str] = field(default_factory=dict)  # label name -> value ("" = unknown)
    clip: str | None = None  # URL of its audio clip relative to the page, e.g. "clips/12.ogg"; None: no clip


@dataclass
class ExplorerView:
    """One 2-D view: a projection of one representation's latent space, with the clusters of its methods."""

    representation: str
    technique: str  # projection technique: "tsne" or "umap"
    points: np.ndarray  # indices into ExplorerData.points of the points drawn [shape=(m,)]
    xy: np.ndarray  # their 2-D coordinates [shape=(m, 2)]
    clusters: dict[str, np.ndarray] = field(default_factory=dict)  # method -> cluster id, -1 = noise [shape=(m,)]
    note: str = ""  # shown under the title, e.g. "t-SNE computed for the explorer"


@dataclass
class ExplorerData:
    """Everything the page shows."""

    points: list[ExplorerPoint]
    views: list[ExplorerView]
    label_names: list[str] = field(default_factory=list)  # the colour-by and tooltip order of the labels
    title: str = "songspace explorer"
    subtitle: str = ""


def _text(value: object) -> str:
    """``value`` as a string that encodes to UTF-8: a lone surrogate (from a mis-decoded file name) becomes "?"."""
    s = "" if value is None else str(value)
    return s.encode("utf-8", "replace").decode("utf-8")


def _view_payload(view: ExplorerView, n_points: int) -> dict:
    idx = np.asarray(view.points, dtype=np.int64).reshape(-1)
    xy = np.asarray(view.xy, dtype=np.float64)
    if xy.shape != (len(idx), 2):
        raise ValueError(f"view {view.representation}/{view.technique}: xy has shape {xy.shape}, "
                         f"expected ({len(idx)}, 2), one row per point")
    if len(idx) and (idx.min() < 0 or idx.max() >= n_points):
        raise ValueError(f"view {view.representation}/{view.technique}: point indices must lie in "
                         f"[0, {n_points}), got [{idx.min()}, {idx.max()}]")
    keep = np.isfinite(xy).all(axis=1)  # a NaN coordinate cannot be drawn
    clusters = {}
    for method, ids in view.clusters.items():
        ids = np.asarray(ids).reshape(-1)
        if len(ids) != len(idx):
            raise ValueError(f"view {view.representation}/{view.technique}: method {method!r} has {len(ids)} "
                             f"cluster ids for {len(idx)} points")
        clusters[_text(method)] = [int(c) if c >= 0 else -1 for c in ids[keep]]
    name = f"{view.representation} · {TECHNIQUE_NAMES.get(view.technique, view.technique)}"
    return {"name": _text(name), "note": _text(view.note), "idx": idx[keep].tolist(),
            "x": [round(float(v), 4) for v in xy[keep, 0]], "y": [round(float(v), 4) for v in xy[keep, 1]],
            "clusters": clusters}


def explorer_payload(data: ExplorerData) -> dict:
    """The JSON object the page's script reads: ``points`` (title, artist, labels in ``label_names`` order,
    clip) and ``views`` (name, point indices, x, y, clusters per method)."""
    names = [_text(n) for n in data.label_names]
    points = [{"id": _text(p.track_id), "title": _text(p.title), "artist": _text(p.artist),
               "labels": [_text(p.labels.get(n, "")) for n in data.label_names],
               "clip": _text(p.clip) if p.clip else None} for p in data.points]
    views = [_view_payload(v, len(points)) for v in data.views]
    return {"title": _text(data.title), "subtitle": _text(data.subtitle), "labels": names, "points": points,
            "views": views, "palette": list(PALETTE)}


def explorer_html(data: ExplorerData) -> str:
    """One self-contained HTML page (inline CSS and JavaScript, no network) exploring ``data``.

    The page has a view selector (representation x projection), a colour-by selector (the clusters of each
    method of that representation, then each label), a legend with counts (click an entry to pick out its
    points), a search box, wheel zoom and drag pan; hovering a point shows its title, artist, every label and
    its cluster; clicking plays its clip in one ``<audio>`` element and says what plays, or that it has no clip.

    Raises
    ------
    ValueError
        A view's arrays disagree in length, or its point indices fall outside ``data.points``.
    """
    return render("songspace.visualisation", "explorer.html.j2", title=_text(data.title),
                  data=explorer_payload(data))
