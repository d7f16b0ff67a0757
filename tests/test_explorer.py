"""explorer.html: data escaped so that titles cannot inject, a run folder gives a page and clips, and in headless
Chromium the points render, hover shows the track, a click plays its clip, and colour-by changes the legend."""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import tone, write_wav
from songspace.errors import ConfigError, RunError
from songspace.report.explorer import write_explorer
from songspace.templating import environment
from songspace.visualisation.explorer import ExplorerData, ExplorerPoint, ExplorerView, explorer_html

SCRIPT_INJECTION = "</script><script>alert(1)</script>"
ATTR_INJECTION = '"><img src=x onerror=alert(1)>'
BENGALI = "আমার সোনার বাংলা"
GENRES = ["আধুনিক", "rock", "লোকগীতি", "jazz"]


def _embedded(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', page, re.S)
    assert m is not None
    return json.loads(m.group(1))


def _tiny_data(titles: list[str]) -> ExplorerData:
    points = [ExplorerPoint(track_id=f"t{i}", title=t, artist=ATTR_INJECTION, labels={"language": "bn"})
              for i, t in enumerate(titles)]
    xy = np.arange(2 * len(titles), dtype=float).reshape(-1, 2)
    view = ExplorerView("vae", "tsne", np.arange(len(titles)), xy, {"vae+kmeans": np.zeros(len(titles), int)})
    return ExplorerData(points=points, views=[view], label_names=["language"], title=SCRIPT_INJECTION)


def test_markup_in_data_cannot_end_the_script_and_round_trips() -> None:
    titles = [SCRIPT_INJECTION, ATTR_INJECTION, BENGALI, "line\u2028sep\u2029x", "a & b <!-- c"]
    page = explorer_html(_tiny_data(titles))
    assert page.count("</script>") == 2  # the data element's and the code's own: nothing closes early
    assert page.count("<script") == 2
    assert "<img" not in page and "<!--" not in page
    assert "\u2028" not in page and "\u2029" not in page
    assert "<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>" in page
    data = _embedded(page)
    assert [p["title"] for p in data["points"]] == titles  # JSON.parse gives every string back exactly
    assert data["points"][0]["artist"] == ATTR_INJECTION
    assert "innerHTML" not in page and "insertAdjacentHTML" not in page and "document.write" not in page


def test_tojson_escapes_and_refuses_nan() -> None:
    tojson = environment("songspace.visualisation").from_string("{{ x|tojson }}")
    assert tojson.render(x={"t": "<&>'\u2028", "b": BENGALI}) == \
        f'{{"t":"\\u003c\\u0026\\u003e\\u0027\\u2028","b":"{BENGALI}"}}'
    with pytest.raises(ValueError):
        tojson.render(x={"x": float("nan")})


def test_views_are_checked_and_nan_points_dropped() -> None:
    data = _tiny_data(["a", "b", "c"])
    data.views[0].xy[1] = np.nan
    view = _embedded(explorer_html(data))["views"][0]
    assert view["idx"] == [0, 2] and view["clusters"]["vae+kmeans"] == [0, 0]
    data.views[0].xy = np.zeros((2, 2))
    with pytest.raises(ValueError, match="xy has shape"):
        explorer_html(data)
    data.views[0].xy, data.views[0].points = np.zeros((3, 2)), np.array([0, 1, 7])
    with pytest.raises(ValueError, match="point indices"):
        explorer_html(data)


# --- a run folder in the contract format -------------------------------------------------------------------


def _spread_blobs(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points in ``k`` blobs, no two closer than 0.55 units: circles never overlap, so hover is exact."""
    centres = 5.5 * np.array([[np.cos(a), np.sin(a)] for a in 2 * np.pi * np.arange(k) / k])
    out: list[np.ndarray] = []
    while len(out) < n:
        p = centres[len(out) % k] + rng.normal(scale=1.2, size=2)
        if all(np.hypot(*(p - q)) > 0.55 for q in out):
            out.append(p)
    return np.array(out)


def make_run(root: Path, n: int = 40, *, old: bool = False) -> Path:
    """A finished run folder with ``n`` tracks in 4 genres; tracks 0, 1, 2 have markup and Bengali titles and
    track 3's audio file is corrupt. ``old``: the format before issue 5 (no audio_path, projections, summary)."""
    rng = np.random.default_rng(0)
    run = root / "run"
    (run / "latents").mkdir(parents=True)
    genre = [i % 4 for i in range(n)]
    rows = []
    for i in range(n):
        audio = write_wav(root / "audio" / f"t{i:02d}.wav", tone(220 * 2 ** (genre[i] / 3), 2.0, seed=i))
        title = {0: SCRIPT_INJECTION, 1: ATTR_INJECTION, 2: BENGALI}.get(i, f"song {i}")
        rows.append({"track_id": f"t{i:02d}", "title": title, "artist": "শিল্পী" if i % 2 else f"artist {i % 5}",
                     "audio_path": str(audio), "conv_vae+kmeans": genre[i], "conv_vae+hdbscan": -1 if i % 7 == 0
                     else genre[i] // 2, "lyrics+kmeans": i % 2, "mfcc_vae+kmeans": "",
                     "language": ["en", "bn"][i % 2], "genre": GENRES[genre[i]]})
    (root / "audio" / "t03.wav").write_bytes(b"RIFF not really a wave file")
    cols = ["track_id", "title", "artist", "audio_path", "conv_vae+kmeans", "conv_vae+hdbscan", "lyrics+kmeans",
            "mfcc_vae+kmeans", "language", "genre"]
    if old:
        cols.remove("audio_path")
    with (run / "assignments.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    xy = _spread_blobs(n, 4, rng)  # point i in blob i % 4: its genre
    for rep, d in (("conv_vae", 8), ("lyrics", 4), ("mfcc_vae", 6)):
        np.save(run / "latents" / f"{rep}.npy", rng.standard_normal((n, d)).astype(np.float32))
    if not old:
        (run / "projections").mkdir()
        np.savez(run / "projections" / "conv_vae_tsne.npz", index=np.arange(n), xy=xy)
        np.savez(run / "projections" / "conv_vae_umap.npz", index=np.arange(n), xy=xy[:, ::-1] * [1, -1])
        (run / "summary.json").write_text(json.dumps({
            "title": "Explorer test", "dataset": str(root / "audio"), "labels": ["language", "genre"],
            "representations": ["conv_vae", "lyrics", "mfcc_vae"]}), encoding="utf-8")
        with (run / "metrics.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["method", "representation", "clusterer"])
            for m in cols[4:8]:
                w.writerow([m, *m.split("+")])
    return run


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_write_explorer_writes_page_and_clips_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    run = make_run(tmp_path, n=12)
    before = _snapshot(run)
    with caplog.at_level(logging.WARNING):
        out = write_explorer(run, clip_seconds=1.5, seed=0)
    after = _snapshot(run)
    assert out == run / "explorer.html"
    assert {k: v for k, v in after.items() if k != "explorer.html" and not k.startswith("clips/")} == before
    data = _embedded(out.read_text(encoding="utf-8"))
    assert len(data["points"]) == 12
    assert [v["name"] for v in data["views"]] == ["conv_vae · t-SNE", "conv_vae · UMAP", "lyrics · t-SNE",
                                                  "mfcc_vae · t-SNE"]
    assert set(data["views"][0]["clusters"]) == {"conv_vae+kmeans", "conv_vae+hdbscan"}
    assert data["views"][0]["clusters"]["conv_vae+hdbscan"][0] == -1
    assert data["views"][3]["clusters"] == {}  # mfcc_vae+kmeans failed: an empty column is not a clustering
    assert "computed" in data["views"][2]["note"]
    assert data["labels"] == ["language", "genre"] and data["points"][2]["title"] == BENGALI
    clips = {p["id"]: p["clip"] for p in data["points"]}
    assert clips["t03"] is None and "t03.wav" in caplog.text  # corrupt file: logged, no clip, page still made
    assert clips["t05"] == "clips/5.ogg"
    info = sf.info(str(run / "clips" / "5.ogg"))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("OGG", "VORBIS", 16000, 1)
    assert abs(info.duration - 1.5) < 0.05  # the middle 1.5 s of a 2 s file
    assert sorted(p.name for p in (run / "clips").iterdir()) == sorted(f"{i}.ogg" for i in range(12) if i != 3)


def test_sample_is_seeded_shared_by_views_and_bounded(tmp_path: Path) -> None:
    run = make_run(tmp_path, n=30)
    data = _embedded(write_explorer(run, max_points=10, clip_seconds=0, seed=3).read_text(encoding="utf-8"))
    assert len(data["points"]) == 10 and all(p["clip"] is None for p in data["points"])
    assert all(len(v["idx"]) == 10 for v in data["views"])
    assert all(sorted(v["idx"]) == list(range(10)) for v in data["views"])  # every view shows the same tracks
    assert "10 of 30 tracks" in data["subtitle"]
    again = _embedded(write_explorer(run, max_points=10, clip_seconds=0, seed=3).read_text(encoding="utf-8"))
    assert again == data
    other = _embedded(write_explorer(run, max_points=10, clip_seconds=0, seed=4).read_text(encoding="utf-8"))
    assert {p["id"] for p in other["points"]} != {p["id"] for p in data["points"]}


def test_old_run_without_audio_paths_or_projections(tmp_path: Path) -> None:
    run = make_run(tmp_path, n=8, old=True)
    data = _embedded(write_explorer(run, seed=0).read_text(encoding="utf-8"))
    assert not (run / "clips").exists()
    assert [v["name"] for v in data["views"]] == ["conv_vae · t-SNE", "lyrics · t-SNE", "mfcc_vae · t-SNE"]
    assert all(len(v["x"]) == 8 for v in data["views"]) and all(p["clip"] is None for p in data["points"])
    assert data["labels"] == ["language", "genre"]  # without summary.json: the columns that are not methods
    assert "no audio clips" in data["subtitle"]


def test_bad_inputs_give_typed_errors_or_skips(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(RunError, match="assignments.csv"):
        write_explorer(tmp_path)
    run = make_run(tmp_path, n=6)
    with pytest.raises(ConfigError, match="max_points"):
        write_explorer(run, max_points=0)
    np.save(run / "latents" / "lyrics.npy", np.zeros((5, 3), np.float32))  # rows do not match the tracks
    np.savez(run / "projections" / "conv_vae_umap.npz", index=np.array([0, 99]), xy=np.zeros((2, 2)))
    with caplog.at_level(logging.WARNING):
        data = _embedded(write_explorer(run, clip_seconds=0).read_text(encoding="utf-8"))
    assert [v["name"] for v in data["views"]] == ["conv_vae · t-SNE", "mfcc_vae · t-SNE"]
    assert "lyrics.npy" in caplog.text and "conv_vae_umap.npz" in caplog.text


# --- in the browser --------------------------------------------------------------------------------------------


def _artifacts() -> Path:
    folder = Path(os.environ.get("SONGSPACE_ARTIFACTS") or Path(__file__).resolve().parents[1] / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    sync_api = pytest.importorskip("playwright.sync_api")
    if chromium is None:
        pytest.skip("Chromium is not installed (scripts/install-system.sh installs it)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium,
                              args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def explorer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_explorer(make_run(tmp_path_factory.mktemp("explorer")), clip_seconds=1.5, seed=0)


@pytest.fixture
def page(browser, explorer: Path):
    pg = browser.new_page(viewport={"width": 1400, "height": 860})
    pg.dialogs, pg.errors = [], []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto(explorer.as_uri())
    pg.wait_for_selector("circle.pt")
    yield pg
    assert pg.errors == []
    pg.close()


def _point(page, track_id: str):
    data = json.loads(page.locator("#explorer-data").text_content())
    i = next(k for k, p in enumerate(data["points"]) if p["id"] == track_id)
    return page.locator(f'circle.pt[data-i="{i}"]')


def test_points_render_and_nothing_is_injected(page, explorer: Path) -> None:
    data = _embedded(explorer.read_text(encoding="utf-8"))
    assert page.locator("circle.pt").count() == len(data["views"][0]["idx"]) == 40
    assert page.locator("img").count() == 0 and page.locator("script").count() == 2
    assert page.dialogs == []
    assert page.title() == "Explorer test — latent space explorer"
    assert page.locator("#subtitle").text_content().startswith("audio · 40 tracks · 39 with an audio clip")
    page.select_option("#view", label="lyrics · t-SNE")
    assert page.locator("circle.pt").count() == 40
    assert page.locator("#colour option").all_text_contents() == ["cluster · lyrics+kmeans", "language", "genre"]


def test_hover_shows_the_track(page) -> None:
    for track_id, title in (("t00", SCRIPT_INJECTION), ("t02", BENGALI), ("t05", "song 5")):
        _point(page, track_id).hover()
        tip = page.locator("#tooltip")
        assert tip.is_visible()
        assert tip.locator(".t").text_content() == title  # markup shows as text
        text = tip.text_content()
        assert "language: " in text and "genre: " in text and "cluster (conv_vae+kmeans): " in text
    assert page.locator("img").count() == 0 and page.dialogs == []


def test_click_plays_the_clip(page) -> None:
    _point(page, "t05").click()
    page.wait_for_function("() => !document.getElementById('player').paused "
                           "&& document.getElementById('player').currentTime > 0.2", timeout=10_000)
    assert page.eval_on_selector("#player", "a => a.src").endswith("/clips/5.ogg")
    assert page.locator("#now").text_content() == "▶ Playing: song 5 — শিল্পী"
    _point(page, "t03").click()  # its audio could not be decoded
    assert "No audio clip" in page.locator("#now").text_content()
    assert page.eval_on_selector("#player", "a => a.paused")


def test_colour_by_changes_the_legend_and_zoom_moves_points(page) -> None:
    legend = page.locator("#legend .legend-item .name")
    assert legend.all_text_contents() == ["cluster 0", "cluster 1", "cluster 2", "cluster 3"]
    page.select_option("#colour", label="genre")
    assert sorted(legend.all_text_contents()) == sorted(GENRES)
    assert page.locator("#legend .legend-item .n").all_text_contents() == ["10"] * 4
    page.select_option("#colour", label="cluster · conv_vae+hdbscan")
    assert legend.all_text_contents() == ["cluster 0", "cluster 1", "noise"]
    fills = {page.eval_on_selector(f'circle.pt[data-j="{j}"]', "c => c.getAttribute('fill')") for j in range(40)}
    assert len(fills) == 3
    legend.first.click()  # pick out cluster 0: the others dim
    assert page.locator("circle.pt.dim").count() > 0
    cx = page.eval_on_selector("circle.pt", "c => c.getAttribute('cx')")
    page.mouse.move(300, 300)
    page.mouse.wheel(0, -400)
    assert page.eval_on_selector("circle.pt", "c => c.getAttribute('cx')") != cx


def test_page_without_views_says_so(browser, tmp_path: Path) -> None:
    out = tmp_path / "explorer.html"
    out.write_text(explorer_html(ExplorerData(points=[], views=[])), encoding="utf-8")
    pg = browser.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(out.as_uri())
    assert "no latent space" in pg.locator("#empty").text_content() and errors == []
    pg.close()


def test_screenshot(page) -> None:
    page.select_option("#colour", label="genre")
    _point(page, "t05").click()
    _point(page, "t02").hover()
    page.wait_for_timeout(200)
    out = _artifacts() / "explorer.png"
    page.screenshot(path=str(out))
    assert out.stat().st_size > 20_000
