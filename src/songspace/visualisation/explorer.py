"""The explorer page: a run's latent spaces as an interactive scatter that plays a track's clip on click.

Pure: :func:`explorer_html` takes :class:`ExplorerData` and returns one self-contained HTML string (inline CSS
and vanilla JavaScript, the data embedded as JSON; nothing is fetched at view time but the clips, by relative
URL). Reading a run folder and writing clips is ``songspace.report.explorer``'s job.

Every string from the dataset (titles, artists, labels) reaches the page only as JSON inside a
``<script type="application/json">`` element, with ``<``, ``>``, ``&`` and U+2028/9 escaped, and is put into the
DOM with ``textContent``: markup in a title shows as text and cannot run. The scatter is SVG (hit tests for hover
and click come free), comfortable up to about 5000 points: callers pass a sample of a large collection.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field

import numpy as np

PROJECTION_NAMES = {"tsne": "t-SNE", "umap": "UMAP"}
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
    projection: str  # "tsne" or "umap"
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


def script_json(obj: object) -> str:
    """``obj`` as JSON that is safe inside ``<script type="application/json">``.

    ``<`` ``>`` ``&`` become ``\\u003c`` ``\\u003e`` ``\\u0026``, so that no ``</script>`` or ``<!--`` can end
    or change the element, and U+2028/U+2029 are escaped for older JavaScript parsers. ``JSON.parse`` gives
    the original strings back. NaN and infinities are refused (they are not JSON).
    """
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _view_payload(view: ExplorerView, n_points: int) -> dict:
    idx = np.asarray(view.points, dtype=np.int64).reshape(-1)
    xy = np.asarray(view.xy, dtype=np.float64)
    if xy.shape != (len(idx), 2):
        raise ValueError(f"view {view.representation}/{view.projection}: xy has shape {xy.shape}, "
                         f"expected ({len(idx)}, 2), one row per point")
    if len(idx) and (idx.min() < 0 or idx.max() >= n_points):
        raise ValueError(f"view {view.representation}/{view.projection}: point indices must lie in "
                         f"[0, {n_points}), got [{idx.min()}, {idx.max()}]")
    keep = np.isfinite(xy).all(axis=1)  # a NaN coordinate cannot be drawn
    clusters = {}
    for method, ids in view.clusters.items():
        ids = np.asarray(ids).reshape(-1)
        if len(ids) != len(idx):
            raise ValueError(f"view {view.representation}/{view.projection}: method {method!r} has {len(ids)} "
                             f"cluster ids for {len(idx)} points")
        clusters[_text(method)] = [int(c) if c >= 0 else -1 for c in ids[keep]]
    name = f"{view.representation} · {PROJECTION_NAMES.get(view.projection, view.projection)}"
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
    payload = script_json(explorer_payload(data))
    title = html.escape(_text(data.title), quote=True)
    return (_PAGE.replace("@@TITLE@@", title).replace("@@CSS@@", _CSS).replace("@@JS@@", _JS)
            .replace("@@DATA@@", payload))


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; \
script-src 'unsafe-inline'; media-src 'self' file: blob: data:; img-src data:">
<title>@@TITLE@@</title>
<style>@@CSS@@</style>
</head>
<body>
<header>
  <div class="heading"><h1 id="title"></h1><p id="subtitle"></p></div>
  <div class="controls">
    <label>View <select id="view"></select></label>
    <label>Colour by <select id="colour"></select></label>
    <label>Find <input id="find" type="search" placeholder="title, artist or id" autocomplete="off"></label>
    <button id="reset" type="button" title="Undo zoom and pan">Reset zoom</button>
  </div>
</header>
<main>
  <section id="plotbox">
    <svg id="plot" role="img" aria-label="latent space scatter"><g id="points"></g></svg>
    <p id="viewnote"></p>
    <p id="empty" hidden></p>
    <div id="tooltip" role="tooltip" hidden></div>
  </section>
  <aside id="side">
    <h2 id="legendtitle"></h2>
    <ul id="legend"></ul>
    <p id="legendnote"></p>
    <p class="hint">Wheel to zoom, drag to pan. Click a legend entry to pick out its points.</p>
  </aside>
</main>
<footer>
  <audio id="player" controls preload="none"></audio>
  <span id="now">Click a point to play its clip.</span>
</footer>
<script type="application/json" id="explorer-data">@@DATA@@</script>
<script>@@JS@@</script>
</body>
</html>
"""

_CSS = """
:root { --fg: #1d232b; --muted: #5d6875; --line: #dde2e8; --bg: #f6f7f9; --accent: #1f77b4; }
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; color: var(--fg); background: var(--bg);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", "Noto Sans", "Lohit Bengali",
  "Noto Sans Bengali", "Noto Serif Bengali", sans-serif; }
header { display: flex; flex-wrap: wrap; align-items: flex-end; justify-content: space-between; gap: 8px 24px;
  padding: 12px 18px 10px; background: #fff; border-bottom: 1px solid var(--line); }
h1 { font-size: 19px; margin: 0; font-weight: 650; }
#subtitle { margin: 2px 0 0; color: var(--muted); font-size: 13px; }
.controls { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; }
.controls label { color: var(--muted); font-size: 13px; }
select, input, button { font: inherit; color: var(--fg); margin-left: 4px; padding: 4px 6px;
  border: 1px solid #c4cbd3; border-radius: 5px; background: #fff; }
input[type=search] { width: 190px; }
button { cursor: pointer; }
button:hover, select:hover { border-color: var(--accent); }
main { flex: 1; display: flex; min-height: 0; }
#plotbox { flex: 1; position: relative; min-width: 0; margin: 12px 0 12px 12px; background: #fff;
  border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
#plot { width: 100%; height: 100%; display: block; cursor: grab; touch-action: none; }
#plot.dragging { cursor: grabbing; }
circle.pt { stroke: #fff; stroke-width: 0.8; cursor: pointer; }
circle.pt.dim { opacity: 0.12; }
circle.pt.hover { stroke: #111; stroke-width: 2; }
circle.pt.playing { stroke: #111; stroke-width: 2.5; }
#viewnote { position: absolute; left: 12px; bottom: 6px; margin: 0; color: var(--muted); font-size: 12px; }
#empty { position: absolute; inset: 40% 0 auto; text-align: center; color: var(--muted); }
#tooltip { position: absolute; pointer-events: none; max-width: 320px; padding: 8px 10px; background: #fff;
  border: 1px solid #c4cbd3; border-radius: 6px; box-shadow: 0 4px 14px rgba(0,0,0,.14); font-size: 13px; }
#tooltip .t { font-weight: 650; font-size: 14px; }
#tooltip .a { color: var(--muted); margin-bottom: 4px; }
#tooltip .k { color: var(--muted); }
#tooltip .c { margin-top: 4px; font-size: 12px; color: var(--accent); }
#tooltip .c.none { color: var(--muted); }
#side { width: 270px; flex: none; margin: 12px; padding: 12px 14px; background: #fff; border: 1px solid var(--line);
  border-radius: 8px; overflow-y: auto; }
#side h2 { font-size: 14px; margin: 0 0 8px; }
#legend { list-style: none; margin: 0; padding: 0; }
.legend-item { display: flex; align-items: center; gap: 8px; padding: 3px 4px; border-radius: 4px; cursor: pointer; }
.legend-item:hover { background: #eef3f8; }
.legend-item.off { opacity: 0.35; }
.legend-item .sw { width: 12px; height: 12px; border-radius: 50%; flex: none; }
.legend-item .name { flex: 1; overflow-wrap: anywhere; }
.legend-item .n { color: var(--muted); font-variant-numeric: tabular-nums; }
#legendnote, .hint { color: var(--muted); font-size: 12px; margin: 8px 0 0; }
footer { display: flex; align-items: center; gap: 14px; padding: 8px 18px; background: #fff;
  border-top: 1px solid var(--line); }
#player { height: 34px; width: 340px; flex: none; }
#now { color: var(--fg); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
"""

_JS = r"""
"use strict";
const DATA = JSON.parse(document.getElementById("explorer-data").textContent);
const PALETTE = DATA.palette;
const GREY = "#b9bec5";
const NOISE = "noise", UNKNOWN = "(unknown)", OTHER = "other";
const SVGNS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const svg = $("plot"), layer = $("points"), tip = $("tooltip"), player = $("player"), now = $("now");

let view = null;          // the current entry of DATA.views
let circles = [];         // one <circle> per point of the view
let base = null;          // data -> screen mapping before zoom
let zoom = {k: 1, x: 0, y: 0};
let cats = [], catOf = [], focus = null, playing = -1;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

const natural = (a, b) => a.localeCompare(b, undefined, {numeric: true});  // cluster 2 before cluster 10

function colourOptions() {
  const opts = Object.keys(view.clusters).map((m) => ({key: "cluster:" + m, text: "cluster · " + m}));
  DATA.labels.forEach((name, i) => opts.push({key: "label:" + i, text: name}));
  return opts;
}

// The category of each point of the view under the chosen colouring.
function categories(key) {
  if (key.startsWith("cluster:")) {
    const ids = view.clusters[key.slice(8)];
    return ids.map((c) => (c < 0 ? NOISE : "cluster " + c));
  }
  const li = Number(key.slice(6));
  return view.idx.map((i) => DATA.points[i].labels[li] || UNKNOWN);
}

function setColour(key) {
  const values = categories(key);
  const counts = new Map();
  values.forEach((v) => counts.set(v, (counts.get(v) || 0) + 1));
  const special = [NOISE, UNKNOWN];
  let named = [...counts.keys()].filter((c) => !special.includes(c));
  // More categories than colours: the largest keep a colour, the rest share grey as "other".
  let grouped = [];
  if (named.length > PALETTE.length) {
    const bySize = [...named].sort((a, b) => counts.get(b) - counts.get(a) || natural(a, b));
    grouped = bySize.slice(PALETTE.length - 1);
    named = bySize.slice(0, PALETTE.length - 1);
  }
  named.sort(natural);
  const colour = new Map(named.map((c, i) => [c, PALETTE[i]]));
  cats = named.map((c) => ({name: c, colour: colour.get(c), n: counts.get(c)}));
  if (grouped.length) {
    const n = grouped.reduce((s, c) => s + counts.get(c), 0);
    grouped.forEach((c) => colour.set(c, GREY));
    cats.push({name: OTHER + " (" + grouped.length + " values)", colour: GREY, n: n, members: new Set(grouped)});
  }
  special.filter((c) => counts.has(c)).forEach((c) => {
    colour.set(c, GREY);
    cats.push({name: c, colour: GREY, n: counts.get(c)});
  });
  catOf = values.map((v) => cats.findIndex((c) => c.name === v || (c.members && c.members.has(v))));
  circles.forEach((c, j) => c.setAttribute("fill", colour.get(values[j])));
  // Grey points (noise, unknown, other) go underneath the coloured ones.
  const grey = circles.filter((c, j) => colour.get(values[j]) === GREY);
  layer.append(...circles.filter((c, j) => colour.get(values[j]) !== GREY));
  layer.prepend(...grey);
  focus = null;
  drawLegend(key);
  applyDim();
}

function drawLegend(key) {
  const sel = $("colour");
  $("legendtitle").textContent = sel.options[sel.selectedIndex] ? sel.options[sel.selectedIndex].textContent : "";
  const ul = $("legend");
  ul.replaceChildren();
  cats.forEach((c, i) => {
    const li = el("li", "legend-item");
    li.dataset.cat = String(i);
    const sw = el("span", "sw");
    sw.style.background = c.colour;
    li.append(sw, el("span", "name", c.name), el("span", "n", c.n.toLocaleString("en")));
    li.addEventListener("click", () => { focus = focus === i ? null : i; applyDim(); });
    ul.appendChild(li);
  });
  $("legendnote").textContent = key.startsWith("cluster:") ? "Cluster ids from the first seed; " +
    "\u201cnoise\u201d = not placed in any cluster." : "";
}

function matches(i, q) {
  const p = DATA.points[i];
  return (p.title + "\u0000" + p.artist + "\u0000" + p.id).toLowerCase().includes(q);
}

function applyDim() {
  const q = $("find").value.trim().toLowerCase();
  circles.forEach((c, j) => {
    const off = (focus !== null && catOf[j] !== focus) || (q !== "" && !matches(view.idx[j], q));
    c.classList.toggle("dim", off);
  });
  document.querySelectorAll(".legend-item").forEach((li) => {
    li.classList.toggle("off", focus !== null && Number(li.dataset.cat) !== focus);
  });
}

function fit() {
  const w = svg.clientWidth || 800, h = svg.clientHeight || 600, pad = 24;
  const xs = view.x, ys = view.y;
  let x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (!(x1 > x0)) { x0 -= 1; x1 += 1; }
  if (!(y1 > y0)) { y0 -= 1; y1 += 1; }
  const s = Math.min((w - 2 * pad) / (x1 - x0), (h - 2 * pad) / (y1 - y0));
  const ox = (w - s * (x1 - x0)) / 2, oy = (h - s * (y1 - y0)) / 2;
  base = {s: s, ox: ox, oy: oy, x0: x0, y1: y1};
}

function place() {
  const n = view.x.length, r = n > 3000 ? 3 : n > 800 ? 4 : n > 200 ? 5.5 : 7;
  circles.forEach((c, j) => {
    const sx = (base.ox + (view.x[j] - base.x0) * base.s) * zoom.k + zoom.x;
    const sy = (base.oy + (base.y1 - view.y[j]) * base.s) * zoom.k + zoom.y;  // y up, as in the figures
    c.setAttribute("cx", sx.toFixed(1));
    c.setAttribute("cy", sy.toFixed(1));
    c.setAttribute("r", String(r));
  });
}

function setView(v) {
  view = DATA.views[v];
  hideTip();
  const prev = $("colour").value;
  layer.replaceChildren();
  circles = view.idx.map((i, j) => {
    const c = document.createElementNS(SVGNS, "circle");
    c.setAttribute("class", "pt");
    c.dataset.i = String(i);
    c.dataset.j = String(j);
    if (i === playing) c.classList.add("playing");
    layer.appendChild(c);
    return c;
  });
  $("viewnote").textContent = view.note;
  const sel = $("colour");
  sel.replaceChildren();
  const opts = colourOptions();
  opts.forEach((o) => { const e = el("option", null, o.text); e.value = o.key; sel.appendChild(e); });
  // Keep the colouring across views: the same label, or the same clusterer of the new representation.
  const clusterer = (k) => k.startsWith("cluster:") ? k.slice(k.lastIndexOf("+") + 1) : null;
  const same = opts.find((o) => o.key === prev) ||
    opts.find((o) => clusterer(prev) !== null && clusterer(o.key) === clusterer(prev));
  sel.value = same ? same.key : (opts.length ? opts[0].key : "");
  zoom = {k: 1, x: 0, y: 0};
  fit();
  place();
  if (opts.length) setColour(sel.value); else circles.forEach((c) => c.setAttribute("fill", PALETTE[0]));
}

function hideTip() {
  tip.hidden = true;
  document.querySelectorAll("circle.hover").forEach((c) => c.classList.remove("hover"));
}

function showTip(c, evt) {
  const i = Number(c.dataset.i), j = Number(c.dataset.j), p = DATA.points[i];
  document.querySelectorAll("circle.hover").forEach((o) => o.classList.remove("hover"));
  c.classList.add("hover");
  tip.replaceChildren();
  tip.append(el("div", "t", p.title || "(untitled)"), el("div", "a", p.artist || "(unknown artist)"));
  DATA.labels.forEach((name, li) => {
    const row = el("div");
    row.append(el("span", "k", name + ": "), document.createTextNode(p.labels[li] || UNKNOWN));
    tip.appendChild(row);
  });
  Object.keys(view.clusters).forEach((m) => {
    const id = view.clusters[m][j];
    const row = el("div");
    row.append(el("span", "k", "cluster (" + m + "): "), document.createTextNode(id < 0 ? NOISE : String(id)));
    tip.appendChild(row);
  });
  tip.appendChild(p.clip ? el("div", "c", "\u25b6 click to play") : el("div", "c none", "no audio clip"));
  tip.hidden = false;
  const box = $("plotbox").getBoundingClientRect();
  let x = evt.clientX - box.left + 14, y = evt.clientY - box.top + 14;
  if (x + tip.offsetWidth > box.width - 4) x = evt.clientX - box.left - tip.offsetWidth - 14;
  if (y + tip.offsetHeight > box.height - 4) y = evt.clientY - box.top - tip.offsetHeight - 14;
  tip.style.left = Math.max(4, x) + "px";
  tip.style.top = Math.max(4, y) + "px";
}

function play(i) {
  const p = DATA.points[i];
  const name = (p.title || "(untitled)") + (p.artist ? " \u2014 " + p.artist : "");
  playing = i;
  circles.forEach((c) => c.classList.toggle("playing", Number(c.dataset.i) === i));
  if (!p.clip) {
    player.pause();
    player.removeAttribute("src");
    now.textContent = "No audio clip for \u201c" + name + "\u201d: its file could not be decoded, or the run " +
      "does not record where it is.";
    return;
  }
  player.src = p.clip;
  now.textContent = "\u25b6 Playing: " + name;
  player.play().catch((err) => { now.textContent = "Cannot play \u201c" + name + "\u201d: " + err.message; });
}

let drag = null;
svg.addEventListener("pointerdown", (e) => {
  drag = {x: e.clientX, y: e.clientY, zx: zoom.x, zy: zoom.y, moved: false};
});
window.addEventListener("pointermove", (e) => {
  if (!drag) return;
  const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
  if (!drag.moved && Math.hypot(dx, dy) < 4) return;
  if (!drag.moved) { drag.moved = true; svg.classList.add("dragging"); hideTip(); }
  zoom.x = drag.zx + dx;
  zoom.y = drag.zy + dy;
  place();
});
window.addEventListener("pointerup", () => {
  if (drag && drag.moved) { svg.classList.remove("dragging"); svg.dataset.panned = "1"; }
  drag = null;
});
svg.addEventListener("wheel", (e) => {
  e.preventDefault();
  const box = svg.getBoundingClientRect(), mx = e.clientX - box.left, my = e.clientY - box.top;
  const f = Math.exp(-e.deltaY * 0.0015), k = Math.min(60, Math.max(0.5, zoom.k * f)), g = k / zoom.k;
  zoom.x = mx - (mx - zoom.x) * g;
  zoom.y = my - (my - zoom.y) * g;
  zoom.k = k;
  hideTip();
  place();
}, {passive: false});
svg.addEventListener("mousemove", (e) => {
  if (drag && drag.moved) return;
  const c = e.target.closest ? e.target.closest("circle.pt") : null;
  if (c) showTip(c, e); else hideTip();
});
svg.addEventListener("mouseleave", hideTip);
svg.addEventListener("click", (e) => {
  if (svg.dataset.panned) { delete svg.dataset.panned; return; }
  const c = e.target.closest ? e.target.closest("circle.pt") : null;
  if (c) play(Number(c.dataset.i));
});

function init() {
  $("title").textContent = DATA.title;
  $("subtitle").textContent = DATA.subtitle;
  const vs = $("view");
  DATA.views.forEach((v, i) => { const o = el("option", null, v.name); o.value = String(i); vs.appendChild(o); });
  vs.addEventListener("change", () => setView(Number(vs.value)));
  $("colour").addEventListener("change", () => setColour($("colour").value));
  $("find").addEventListener("input", applyDim);
  $("reset").addEventListener("click", () => { zoom = {k: 1, x: 0, y: 0}; place(); });
  window.addEventListener("resize", () => { if (view) { fit(); place(); } });
  if (!DATA.views.length || !DATA.points.length) {
    $("empty").hidden = false;
    $("empty").textContent = "This run has no latent space to show (no latents or projections were found).";
    return;
  }
  setView(0);
}
init();
"""
