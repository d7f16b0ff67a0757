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
