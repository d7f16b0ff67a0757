"""report.html and report.pdf from a run folder: self-contained, escaped, numbers as in metrics.csv, old run folders
read, the paper printed by headless Chromium (text checked with pypdf), and the CLI command."""

from __future__ import annotations

import base64
import csv
import html
import json
import math
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from songspace.cli import app
from songspace.errors import RunError
from songspace.report import read_run, write_report
from songspace.report.findings import find
from songspace.report.html import SORT_JS, SORT_JS_HASH, markdown_html
from songspace.report.paper import paper_html
from songspace.report.tables import pm

SCRIPT = "<script>alert(1)</script>"
ATTR = '"><img src=x onerror=alert(1)>'
TITLE = "Songs in two scripts: আমার সোনার বাংলা"
LABELS = ("language", "genre")
METHODS = [  # method, representation, modality, conditioned_on, NMI level
    ("vae+kmeans", "vae", "audio", "", 0.6),
    ("pca+kmeans", "pca", "audio", "", 0.3),
    ("cvae+kmeans", "cvae", "audio", "language", 0.9),
]
METRICS = ["silhouette", "calinski_harabasz", "davies_bouldin", "silhouette_common", "calinski_harabasz_common",
           "davies_bouldin_common", "noise_fraction",
           *[f"{m}_{lab}" for lab in LABELS for m in ("ari", "nmi", "purity")], "n_clusters"]
CAPTION = "NMI, ARI and purity against genre per method."


def _write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)


def _png(path: Path, seed: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1.5), dpi=50)
    ax.plot(np.random.default_rng(seed).standard_normal(10))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def make_run(root: Path, *, old: bool = False, seeds: int = 3) -> Path:
    """A small run folder in the runner's format (``old``: the layout before seeds, figures.json, audio_path)."""
    run = root / ("20261123-101500-old" if old else "20261123-101500-hard")
    run.mkdir(parents=True)
    rng = np.random.default_rng(0)
    seed_rows = []
    for s in range(seeds):
        for method, rep, modality, given, level in METHODS:
            row = {"seed": s, "method": method, "representation": rep, "clusterer": "kmeans", "modality": modality,
                   "conditioned_on": given}
            for m in METRICS:
                row[m] = round(float(level + 0.05 * rng.standard_normal()), 6)
            row.update(n_clusters=3, noise_fraction=0.0, calinski_harabasz=float(120 + 10 * s + 100 * level))
            row.update(space=f"{rep} posterior means (16-d)", notes=f"note with {SCRIPT}" if rep == "pca" else "")
            seed_rows.append(row)
    agg = []
    for method, *_ in METHODS:
        group = [r for r in seed_rows if r["method"] == method]
        row = {k: group[0][k] for k in ("method", "representation", "clusterer", "modality", "conditioned_on")}
        row["n_seeds"] = len(group)
        for m in METRICS:
            x = np.array([r[m] for r in group], dtype=float)
            row[m], row[f"{m}_std"] = float(x.mean()), float(x.std(ddof=1))
        row.update(space=group[0]["space"], notes=group[0]["notes"])
        agg.append(row)
    labels_of = {"language": ["en", "bn", SCRIPT], "genre": ["rock", "লোকগীতি", "jazz"]}
    tracks = [{"track_id": f"t{i:02d}", "title": [SCRIPT, ATTR, "আমি তোমার গান গাই", f"song {i}"][i % 4],
               "artist": ATTR if i == 5 else f"artist {i % 3}", "audio_path": f"/data/audio/t{i:02d}.wav",
               **{m: i % 3 for m, *_ in METHODS}, **{lab: labels_of[lab][i % 3] for lab in LABELS}}
              for i in range(12)]
    base = ["track_id", "title", "artist", "audio_path"]
    figures = [("figures/metrics_genre.png", CAPTION, "metrics"),
               ("figures/vae_tsne.png", f"TSNE of the vae space, coloured by genre {SCRIPT}.", "embedding"),
               ("figures/composition_vae_kmeans.png", "Composition of the vae+kmeans clusters.", "composition")]
    for i, (rel, _, _) in enumerate(figures):
        _png(run / rel, i)
    summary = {"dataset": "/data/বাংলা-songs", "layout": "folder", "tracks_used": 12, "tracks_with_lyrics": 6,
               "problems": 1, "skipped": 1, "labels": list(LABELS), "k": 3,
               "k_source": "number of classes of label 'genre' (label used for k only)", "seed": 0,
               "representations": ["vae", "pca", "cvae"], "clusterers": ["kmeans"], "notes": [f"a note {SCRIPT}"],
               "timings_s": {"features": 2.5, "figures": 1.0}, "train_seconds": {"vae": 3.2, "cvae": 4.1},
               "versions": {"songspace": "0.1.0", "python": "3.11"}, "train_device": "cpu"}
    if old:
        std_free = [{k: v for k, v in r.items() if not k.endswith("_std") and k not in ("conditioned_on", "n_seeds")}
                    for r in agg]
        cols = ["method", "representation", "clusterer", "modality", *METRICS, "space", "notes"]
        _write_csv(run / "metrics.csv", std_free, cols)
        _write_csv(run / "assignments.csv", [{k: v for k, v in t.items() if k != "audio_path"} for t in tracks],
                   [c for c in [*base, *[m for m, *_ in METHODS], *LABELS] if c != "audio_path"])
        summary = {k: v for k, v in summary.items() if k not in ("seeds", "title")}
    else:
        cols = ["method", "representation", "clusterer", "modality", "conditioned_on", "n_seeds"]
        for m in METRICS:
            cols += [m, f"{m}_std"]
        _write_csv(run / "metrics.csv", agg, [*cols, "space", "notes"])
        _write_csv(run / "metrics_seeds.csv", seed_rows,
                   ["seed", "method", "representation", "clusterer", "modality", "conditioned_on", *METRICS, "space",
                    "notes"])
        sweep = [{"beta": b, "n_seeds": seeds, "reconstruction": 10 + b, "reconstruction_std": 0.5, "kl": 8 / b,
                  "kl_std": 0.1, "silhouette_common": 0.2 + 0.01 * b, "silhouette_common_std": 0.01}
                 for b in (1.0, 4.0)]
        _write_csv(run / "beta_sweep.csv", sweep, list(sweep[0]))
        _write_csv(run / "assignments.csv", tracks, [*base, *[m for m, *_ in METHODS], *LABELS])
        (run / "figures.json").write_text(json.dumps([{"file": f, "caption": c, "kind": k} for f, c, k in figures]
                                                     + [{"file": "../outside.png", "caption": "x", "kind": "x"}],
                                                     ensure_ascii=False), encoding="utf-8")
        summary.update(title=TITLE, seeds=list(range(seeds)), experiment="hard")
    (run / "summary.json").write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")
    (run / "config.toml").write_text(f'title = "{TITLE}"\nseed = 0\nname = "{SCRIPT}"\n\n[model]\nlatent_dim = 16\n'
                                     "beta = 1.0\nbeta_vae = 4.0\n\n[train]\nlr = 0.001\n", encoding="utf-8")
    (run / "analysis.md").write_text(f"# What this run found\n\nTitles such as {SCRIPT} stay text.\n\n## genre\n\n"
                                     f"- Best match: **vae+kmeans** (`nmi_genre`).\n- Another {ATTR}\n\n"
                                     "| method | NMI |\n|---|---|\n| vae+kmeans | 0.600 |\n", encoding="utf-8")
    _write_csv(run / "problems.csv", [{"path": f"/data/{SCRIPT}.mp3", "reason": "corrupt", "skipped": True}],
               ["path", "reason", "skipped"])
    return run


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path)


def _metric(run: Path, method: str, col: str) -> tuple[float, float]:
    with (run / "metrics.csv").open(encoding="utf-8") as fh:
        row = next(r for r in csv.DictReader(fh) if r["method"] == method)
    return float(row[col]), float(row.get(f"{col}_std", "nan") or "nan")


def _external(page: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']?\s*((?:https?:|ftp:|//)[^"'\s>]*)""", page, re.I)


def _assert_scripts(page: str, *, script: bool = True) -> None:
    """The page's only script (report.html: the table sorter) is allowed by its hash and no other script may run."""
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.S | re.I)
    assert scripts == ([SORT_JS] if script else []) and page.lower().count("<script") == len(scripts)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert csp is not None and "default-src 'none'" in csp.group(1) and "unsafe-eval" not in csp.group(1)
    assert ("script-src '" + SORT_JS_HASH + "'" in csp.group(1)) if script else "script-src" not in csp.group(1)


def _assert_safe(page: str, *, attr: bool = True, script: bool = True) -> None:
    """No markup of the data is live (:func:`_assert_scripts`), the data's is shown as text, nothing is fetched."""
    _assert_scripts(page, script=script)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert not attr or ATTR in html.unescape(page)  # shown as text
    assert _external(page) == []


def test_report_html_is_self_contained_escaped_and_has_the_numbers(run_dir: Path) -> None:
    files = write_report(run_dir, pdf=False, explorer=False)
    assert files.html == run_dir / "report.html" and files.pdf is None and files.explorer is None
    page = files.html.read_text(encoding="utf-8")
    _assert_safe(page)
    for png in (run_dir / "figures").glob("*.png"):
        assert f"data:image/png;base64,{base64.b64encode(png.read_bytes()).decode()}" in page
    assert page.count("data:image/png;base64,") == 3  # figures.json's path out of the folder is refused
    assert f"<title>{TITLE}</title>" in page  # Bengali kept as text, not mangled
    mean, std = _metric(run_dir, "vae+kmeans", "nmi_genre")
    assert f"{mean:.3f} ± {std:.3f}" in page
    ch, ch_std = _metric(run_dir, "pca+kmeans", "calinski_harabasz")
    assert ch >= 100 and f"{ch:.1f} ± {ch_std:.1f}" in page
    assert "cvae+kmeans †" in page and "not unsupervised" in page
    assert "<h3>What this run found</h3>" in page and "<h4>genre</h4>" in page  # analysis.md rendered
    assert "<strong>vae+kmeans</strong>" in page
    assert "<details><summary>Per-seed results (9 rows" in page
    assert '<th class="l">β</th>' in page and "14.000 ± 0.500" in page  # beta sweep: reconstruction at beta 4
    assert "&lt;script&gt;" in page.split('id="run"')[1]  # the config, escaped in its <pre>
    assert "explorer.html" not in page  # no explorer in this folder: no link


def test_markup_in_labels_and_analysis_stays_text_in_report_and_explorer(run_dir: Path) -> None:
    (run_dir / "projections").mkdir()
    np.savez(run_dir / "projections" / "vae_tsne.npz", index=np.arange(12), xy=np.arange(24.0).reshape(12, 2))
    files = write_report(run_dir, pdf=False)
    assert files.explorer == run_dir / "explorer.html" and files.notes == []
    page = files.html.read_text(encoding="utf-8")
    _assert_safe(page)
    assert 'href="explorer.html"' in page
    dataset = page.split('id="dataset"')[1].split('id="method"')[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; (4)" in dataset  # a class of the label language
    analysis = page.split('id="analysis"')[1].split('id="run"')[0]
    assert "Titles such as &lt;script&gt;alert(1)&lt;/script&gt; stay text." in analysis
    explorer = files.explorer.read_text(encoding="utf-8")
    assert explorer.count("<script") == 2 and explorer.count("</script>") == 2  # its data element and its code
    assert "<img" not in explorer and SCRIPT not in explorer and ATTR not in explorer
    m = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', explorer, re.S)
    assert m is not None
    data = json.loads(m.group(1))
    assert data["labels"] == list(LABELS) and [p["labels"][0] for p in data["points"]].count(SCRIPT) == 4
    assert data["points"][0]["title"] == SCRIPT and data["points"][5]["artist"] == ATTR


def test_best_method_excludes_conditioned_rows(run_dir: Path) -> None:
    run = read_run(run_dir)
    f = find(run)
    language = next(lf for lf in f.labels if lf.label == "language")
    assert language.best["method"] == "vae+kmeans"  # cvae's higher NMI does not count: it was given language
    assert language.given is not None and language.given["method"] == "cvae+kmeans"
    genre = next(lf for lf in f.labels if lf.label == "genre")
    assert genre.best["method"] == "cvae+kmeans"  # not conditioned on genre: it competes there
    assert language.learned_verdict == "beats" and language.baseline["method"] == "pca+kmeans"
    paper = paper_html(run)
    assert f"best unsupervised match is <code>vae+kmeans</code> (NMI {pm(language.best, 'nmi_language')}" in paper
    _assert_safe(paper, attr=False, script=False)  # the paper shows no track titles and has no script
    assert "Kingma" in paper and "Defferrard" in paper and "(1)" in paper


def test_the_objective_reads_each_representations_beta_from_its_spec_and_the_runs_settings(tmp_path: Path) -> None:
    from songspace.report.method import objective_html
    from songspace.runfolder import RunData, Table

    def objective(config: dict) -> str:
        run = RunData(tmp_path, {"representations": ["vae", "beta_vae", "beta_conv_vae", "pca"]}, Table([], []),
                      config=config)
        return objective_html(run)

    new = objective({"model": {"beta": 1.0}, "representations": {"params": {"beta_vae": {"beta": 8.0,
                                                                                          "capacity_max": 25.0}}}})
    assert "β = 1 for vae (the plain VAE)" in new and "β = 8 for beta_vae" in new and "β = 4 for beta_conv_vae" in new
    assert "for beta_vae the KL term is replaced" in new and "from 0 to 25 nats over 100 epochs" in new
    assert new.count("(Higgins et al., 2017)") == 1 and "pca" not in new  # the β-VAE's sentence, once
    old = objective({"model": {"beta": 2.0, "beta_vae": 6.0}})  # a run folder written before beta_vae owned its beta
    assert "β = 2 for vae;" in old and "β = 6 for beta_conv_vae, beta_vae" in old
    assert "β = ? for beta_conv_vae, beta_vae, vae" in objective({"model": {"beta": "high"}})  # settings not valid now


def test_old_run_folder_reads_and_says_what_is_missing(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, old=True)
    page = write_report(run_dir, pdf=False, explorer=False).html.read_text(encoding="utf-8")
    _assert_safe(page)
    # globbed from figures/ without figures.json; nothing marks cvae as given language, so its space would head the
    # body: the metric bars are shown, vae's space and composition linked in the appendix
    assert page.count("data:image/png;base64,") == 1
    assert 'href="figures/vae_tsne.png"' in page and 'href="figures/composition_vae_kmeans.png"' in page
    mean, _ = _metric(run_dir, "vae+kmeans", "nmi_genre")
    assert f">{mean:.3f}<" in page and "±" not in page.split('id="results"')[1].split('id="figures"')[0]
    assert "metrics_seeds.csv is absent" in page and "figures.json: absent" in page
    assert "cvae+kmeans †" not in page  # no conditioned_on column: nothing can be marked


def test_a_folder_with_only_metrics_csv_still_gives_both_pages(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, old=True)
    for name in ("summary.json", "config.toml", "analysis.md", "assignments.csv", "problems.csv"):
        (run_dir / name).unlink()
    shutil.rmtree(run_dir / "figures")
    run = read_run(run_dir)
    assert run.labels == ["language", "genre"]  # from the nmi_* columns
    page = write_report(run_dir, pdf=False, explorer=False).html.read_text(encoding="utf-8")
    assert "No figures in this run folder" in page and "config.toml is absent" in page
    paper = paper_html(run)
    assert "no readable config.toml" in paper and "best unsupervised match is" in paper
    (run_dir / "figures.json").write_text("{not json", encoding="utf-8")
    assert read_run(run_dir).figures == []  # unreadable index: logged, left out


def test_bad_folders_raise_run_error(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="no such run folder"):
        write_report(tmp_path / "nope", pdf=False, explorer=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match="metrics.csv"):
        write_report(tmp_path / "empty", pdf=False, explorer=False)
    (tmp_path / "empty" / "metrics.csv").write_text("method,representation\n", encoding="utf-8")
    with pytest.raises(RunError, match="no rows"):
        write_report(tmp_path / "empty", pdf=False, explorer=False)


def test_markdown_is_commonmark_with_tables_and_no_html_links_or_images() -> None:
    md = ("# Head <b>\n\nText **bold <i>** and `co**de**` here.\n\n- one\n- two **2**\n\n1. first\n\n"
          "| a | b |\n|---|:-:|\n| <x> | 1 |\n\n```\n<script>\n```\n\n"
          "[x](https://evil.example) ![i](https://evil.example/i.png) <https://evil.example>\n\n<div>block</div>\n")
    out = re.sub(r">\s+<", "><", markdown_html(md, heading_offset=1))
    assert "<h2>Head &lt;b&gt;</h2>" in out
    assert "<strong>bold &lt;i&gt;</strong>" in out and "<code>co**de**</code>" in out
    assert "<ul><li>one</li><li>two <strong>2</strong></li></ul>" in out and "<ol><li>first</li></ol>" in out
    assert "<td>&lt;x&gt;</td>" in out and '<th style="text-align:center">b</th>' in out
    assert "<pre><code>&lt;script&gt;\n</code></pre>" in out and "&lt;div&gt;block" in out
    assert "<script" not in out and "<div" not in out and "<a " not in out and "<img" not in out
    assert _external(out) == [] and "https://evil.example" in out  # links stay text: the page fetches nothing
    assert markdown_html("####### seven\n\n##### five", heading_offset=2).count("<h6>") == 1  # capped at h6


def test_no_or_failing_browser_gives_html_and_a_reason(run_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SONGSPACE_CHROMIUM", str(run_dir / "no-such-browser"))
    files = write_report(run_dir, explorer=False)
    assert files.pdf is None and files.html.is_file()
    assert "no Chromium browser found" in files.notes[0] and "apt-get install chromium" in caplog.text
    monkeypatch.setenv("SONGSPACE_CHROMIUM", shutil.which("false") or "/bin/false")
    files = write_report(run_dir, explorer=False)
    assert files.pdf is None and "exited with code 1" in files.notes[0]
    assert not (run_dir / "report.pdf").exists() and not list(run_dir.glob(".report.pdf*"))
    assert 'href="report.pdf"' not in files.html.read_text(encoding="utf-8")


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return re.sub(r"\s+", " ", " ".join(p.extract_text() or "" for p in PdfReader(path).pages))


def _artifacts() -> Path:
    folder = Path(os.environ.get("SONGSPACE_ARTIFACTS") or Path(__file__).resolve().parents[1] / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.skipif(shutil.which("chromium") is None and shutil.which("chromium-browser") is None
                    and shutil.which("google-chrome") is None, reason="no Chromium: apt-get install chromium")
def test_pdf_has_title_table_value_and_caption(run_dir: Path) -> None:
    files = write_report(run_dir, explorer=False)
    assert files.pdf == run_dir / "report.pdf" and files.pdf.read_bytes()[:5] == b"%PDF-"
    text = _pdf_text(files.pdf)
    assert "Songs in two scripts" in text
    mean, std = _metric(run_dir, "vae+kmeans", "nmi_genre")
    assert f"{mean:.3f} ± {std:.3f}" in text
    assert CAPTION in text and "Figure 1" in text and "References" in text
    assert "<script>alert(1)</script>" in text  # escaped in the HTML, so printed as text
    assert 'href="report.pdf"' in files.html.read_text(encoding="utf-8")
    assert not math.isnan(mean)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no Chromium: apt-get install chromium")
def test_screenshots_of_the_paper_and_the_report(run_dir: Path, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    write_report(run_dir, pdf=False, explorer=False)
    paper = tmp_path / "paper.html"
    paper.write_text(paper_html(read_run(run_dir)), encoding="utf-8")
    out = _artifacts()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 816, "height": 1056})  # US letter at 96 dpi
            page.goto(paper.as_uri())
            page.screenshot(path=str(out / "report_paper.png"))
            width = page.evaluate("document.body.getBoundingClientRect().width")
            assert abs(width - 5.5 * 96) < 1  # the NeurIPS text width
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto((run_dir / "report.html").as_uri())
            page.screenshot(path=str(out / "report_html.png"))
            assert page.evaluate("document.images.length") == 3
            assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        finally:
            browser.close()
    assert (out / "report_paper.png").stat().st_size > 10_000


def test_cli_report_command(run_dir: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(run_dir), "--no-pdf", "--no-explorer"])
    assert result.exit_code == 0, result.output
    assert "report.html" in result.output and (run_dir / "report.html").is_file()
    assert not (run_dir / "report.pdf").exists()
    bad = CliRunner().invoke(app, ["report", str(run_dir / "missing")])
    assert bad.exit_code == 2 and "no such run folder" in bad.output


# --- a run with many methods: the paper stays short, report.html keeps every row in its appendix ---------------------
MANY_LABELS = ("language", "genre", "era")
CLUSTERER_NAMES = ("kmeans", "agglomerative_ward", "agglomerative_average", "dbscan", "hdbscan", "gmm")
# (width, height) in pixels of the run's figures, as the runner draws them: the layout depends on these
SIZES = {"training": (1638, 442), "embedding": (2028, 702), "composition": (910, 910), "metrics": (1170, 4200),
         "reconstruction": (1105, 2392), "traversal": (1500, 1500), "beta_sweep": (1638, 650)}


def _blank_png(size: tuple[int, int]) -> bytes:
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).rectangle([10, 10, size[0] - 10, size[1] - 10], outline="black", width=4)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def make_many_run(root: Path, *, n_reps: int = 20, seeds: int = 3, labels: tuple[str, ...] = MANY_LABELS) -> Path:
    """A run folder with ``n_reps`` representations x 6 clusterers, three labels, three seeds and every figure a
    run with ``plots.figures = "all"`` draws (blank images of the runner's sizes)."""
    from songspace import representations as registry

    run = root / "20261201-120000-many"
    (run / "figures").mkdir(parents=True)
    # registered representations of every kind (learned, baselines, pretrained, lyrics, fusions), then cvae
    known = ["vae", "conv_vae", "mfcc_vae", "bimodal_vae", "autoencoder", "beta_vae", "beta_conv_vae", "vade", "idec",
             "n2d", "pca", "features", "mfcc_stats", "log_mel_flat", "musicnn", "features_musicnn", "pretrained",
             "lyrics", "hybrid"]
    assert set(known) <= set(registry.names())
    names = known[:n_reps - 1] + ["cvae"]
    names += [f"rep{i:02d}" for i in range(n_reps - len(names))]
    rng = np.random.default_rng(1)
    seed_rows, agg = [], []
    label_metrics = ("ari", "nmi", "purity", "nmi_chance", "knn")
    metrics = [*METRICS[:7], *[f"{m}_{lab}" for lab in labels for m in label_metrics], "n_clusters"]
    for rep in names:
        for c in CLUSTERER_NAMES:
            level = rng.uniform(0.05, 0.8)
            group = []
            for s in range(seeds):
                row = {"seed": s, "method": f"{rep}+{c}", "representation": rep, "clusterer": c, "modality": "audio",
                       "conditioned_on": "language" if rep == "cvae" else ""}
                row.update({m: round(float(level + 0.05 * rng.standard_normal()), 6) for m in metrics})
                row.update({f"nmi_chance_{lab}": round(float(0.01 + 0.005 * rng.random()), 6) for lab in labels})
                row.update(n_clusters=6, calinski_harabasz=float(100 + 50 * level), space=f"{rep} space", notes="")
                group.append(row)
            seed_rows += group
            mean = {k: group[0][k] for k in ("method", "representation", "clusterer", "modality", "conditioned_on")}
            mean["n_seeds"] = seeds
            for m in metrics:
                x = np.array([r[m] for r in group], dtype=float)
                mean[m], mean[f"{m}_std"] = float(x.mean()), float(x.std(ddof=1))
            agg.append({**mean, "space": f"{rep} space", "notes": ""})
    agg[3].update(silhouette_common=math.nan, silhouette_common_std=math.nan)  # undefined: sorts last
    cols = ["method", "representation", "clusterer", "modality", "conditioned_on", "n_seeds"]
    for m in metrics:
        cols += [m, f"{m}_std"]
    _write_csv(run / "metrics.csv", agg, [*cols, "space", "notes"])
    _write_csv(run / "metrics_seeds.csv", seed_rows, ["seed", *cols[:5], *metrics, "space", "notes"])
    sweep = [{"beta": b, "n_seeds": seeds, "reconstruction": 10 + b, "reconstruction_std": 0.5, "kl": 8 / b,
              "kl_std": 0.1, "silhouette_common": 0.2 + 0.01 * b, "silhouette_common_std": 0.01}
             for b in (0.5, 1.0, 2.0, 4.0, 8.0)]
    _write_csv(run / "beta_sweep.csv", sweep, list(sweep[0]))
    specs = {n: registry.get(n) for n in names if n in registry.names()}
    figures = [(f"training_curve_{n}", "training") for n, sp in specs.items() if sp.learned]
    figures += [(f"{n}_{p}", "embedding") for n in names for p in ("tsne", "umap")]
    figures += [(f"composition_{n}_{c}", "composition") for n in names for c in CLUSTERER_NAMES]
    figures += [(f"reconstructions_{n}", "reconstruction") for n, sp in specs.items() if sp.reconstructs]
    figures += [(f"traversal_{n}", "traversal") for n, sp in specs.items() if sp.traversal]
    figures += [(f"metrics_{lab}", "metrics") for lab in (*labels, "internal")] + [("beta_sweep", "beta_sweep")]
    pngs = {kind: _blank_png(size) for kind, size in SIZES.items()}
    for stem, kind in figures:
        (run / "figures" / f"{stem}.png").write_bytes(pngs[kind])
    (run / "figures.json").write_text(json.dumps([{"file": f"figures/{s}.png", "caption": f"The figure {s}.",
                                                   "kind": k} for s, k in figures]), encoding="utf-8")
    classes = {lab: [f"{lab} {i}" for i in range(2 + j)] for j, lab in enumerate(labels)}
    tracks = [{"track_id": f"t{i:03d}", "title": f"song {i}", "artist": f"artist {i % 7}", "audio_path": f"t{i}.wav",
               **{str(r["method"]): i % 6 for r in agg}, **{lab: v[i % len(v)] for lab, v in classes.items()}}
              for i in range(60)]
    _write_csv(run / "assignments.csv", tracks, list(tracks[0]))
    summary = {"dataset": "/data/many", "layout": "folder", "tracks_used": 60, "tracks_with_lyrics": 30,
               "labels": list(labels), "k": 6, "k_source": "number of classes of label 'genre'",
               "seeds": list(range(seeds)), "representations": names, "clusterers": list(CLUSTERER_NAMES),
               "train_seconds": {n: 10.0 for n, sp in specs.items() if sp.learned}, "train_device": "cpu",
               "versions": {"songspace": "0.1.0"}}
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (run / "config.toml").write_text('title = "Many methods"\nseed = 0\n\n[model]\nlatent_dim = 16\n',
                                     encoding="utf-8")
    return run


@pytest.fixture(scope="module")
def many_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = make_many_run(tmp_path_factory.mktemp("many"))
    write_report(run, pdf=False, explorer=False)
    return run


class _Tables(HTMLParser):
    """The body rows of every <table id=...> of a page, each a list of (text, attributes) per cell."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, dict[str, str]]]]] = {}
        self._table: str | None = None
        self._body = False
        self._cell: tuple[list[str], dict[str, str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
        elif self._table and tag == "tbody":
            self._body = True
        elif self._table and self._body and tag == "tr":
            self.tables[self._table].append([])
        elif self._table and self._body and tag == "td":
            self._cell = ([], a)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("table", "tbody"):
            self._table = None if tag == "table" else self._table
            self._body = False
        elif tag == "td" and self._cell is not None:
            self.tables[self._table][-1].append((" ".join("".join(self._cell[0]).split()), self._cell[1]))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[0].append(data)


def _body_rows(page: str, table_id: str) -> list[list[tuple[str, dict[str, str]]]]:
    """The body rows (td cells) of the table ``table_id`` of ``page``."""
    parser = _Tables()
    parser.feed(page)
    return parser.tables[table_id]


def _csv_rows(run: Path) -> list[dict[str, str]]:
    with (run / "metrics.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _cell_text(row: dict[str, str], col: str) -> str:
    return f"{float(row[col]):.3f} ± {float(row[col + '_std']):.3f}"


@pytest.mark.skipif(shutil.which("chromium") is None and shutil.which("chromium-browser") is None
                    and shutil.which("google-chrome") is None, reason="no Chromium: apt-get install chromium")
def test_the_paper_of_a_run_with_many_methods_is_short(tmp_path: Path) -> None:
    from pypdf import PdfReader

    run = make_many_run(tmp_path)
    files = write_report(run, explorer=False)
    assert files.pdf is not None, files.notes
    pages = len(PdfReader(files.pdf).pages)
    assert 4 <= pages <= 12, pages
    text = _pdf_text(files.pdf)
    best = max((r for r in _csv_rows(run) if r["conditioned_on"] != "genre"), key=lambda r: float(r["nmi_genre"]))
    assert _cell_text(best, "nmi_genre") in text  # the headline number, printed
    assert "appendix" in text and "References" in text


def test_report_html_embeds_the_headline_figures_and_links_the_rest(many_run: Path) -> None:
    page = (many_run / "report.html").read_text(encoding="utf-8")
    _assert_scripts(page)
    assert _external(page) == []
    listed = json.loads((many_run / "figures.json").read_text(encoding="utf-8"))
    body, appendix = page.split('id="appendix"')
    # the figures are blank images of a few sizes: those embedded are told apart by their alt text (the caption)
    embedded = {e["file"] for e in listed if f'alt="{e["caption"]}"' in body}
    n_embedded = page.count("data:image/png;base64,")
    # per label at most one space and one composition, the metric bars, the sweep, one model's decodings
    assert n_embedded == len(embedded) and 0 < n_embedded <= 3 * len(MANY_LABELS) + 4 and "data:" not in appendix
    linked = set(re.findall(r'href="(figures/[^"]+\.png)"', appendix))
    assert linked | embedded == {e["file"] for e in listed} and not linked & embedded
    assert {"figures/metrics_genre.png", "figures/beta_sweep.png"} <= embedded
    assert all(f in linked for f in ("figures/pca_umap.png", "figures/features_tsne.png"))
    assert all(f'href="{name}"' in appendix for name in ("metrics.csv", "metrics_seeds.csv", "beta_sweep.csv"))
    assert os.path.getsize(many_run / "report.html") < 1_500_000  # figures: a few dozen KB of blank images here
    assert "@media print { .appendix" in page  # the appendix is not printed


def test_appendix_tables_hold_every_row_and_the_body_matches_metrics_csv(many_run: Path) -> None:
    from songspace import representations as registry

    page = (many_run / "report.html").read_text(encoding="utf-8")
    rows = _csv_rows(many_run)
    assert len(rows) == 120
    for lab in MANY_LABELS:
        full = _body_rows(page, f"full-label_{lab}")
        assert [r[0][0].removesuffix(" †") for r in full] == [r["method"] for r in rows]
        # every number of the full table is its metrics.csv cell, and carries its mean to sort by
        nmi = 1 + ["nmi", "nmi_chance", "ari", "purity", "knn"].index("nmi")
        for cells, row in zip(full, rows, strict=True):
            assert cells[nmi][0] == _cell_text(row, f"nmi_{lab}")
            assert float(cells[nmi][1]["data-v"]) == pytest.approx(float(row[f"nmi_{lab}"]))
        # the body: each representation's best clusterer by NMI, the best first, the rows given the label last
        body = _body_rows(page, f"table-label_{lab}")
        col = f"nmi_{lab}"
        tops: dict[str, dict[str, str]] = {}
        for r in rows:
            if r["representation"] not in tops or float(r[col]) > float(tops[r["representation"]][col]):
                tops[r["representation"]] = r
        free = sorted((r for r in tops.values() if lab not in r["conditioned_on"]), key=lambda r: -float(r[col]))
        given = [r for r in tops.values() if lab in r["conditioned_on"]]
        shown = [c[0][0].removesuffix(" baseline").removesuffix(" †") for c in body]
        assert shown[len(shown) - len(given):] == [r["method"] for r in given] and len(shown) <= 16
        order = [r["method"] for r in free]
        ranked = shown[:len(shown) - len(given)]
        assert ranked == [m for m in order if m in ranked] and ranked[0] == order[0]  # the best first
        baselines = {r["method"] for r in free
                     if r["representation"] in registry.names() and registry.get(r["representation"]).baseline}
        others = [m for m in ranked if m not in baselines]
        assert baselines <= set(ranked) and len(ranked) < len(order)  # baselines kept; the lowest others left out
        assert all(order.index(m) > order.index(others[-1]) for m in order if m not in ranked)
        by_method = {r["method"]: r for r in rows}
        for cells in body:
            row = by_method[cells[0][0].removesuffix(" baseline").removesuffix(" †")]
            assert [c[0] for c in cells[1:]] == [_cell_text(row, f"{m}_{lab}")
                                                 for m in ("nmi", "nmi_chance", "ari", "purity")]
        best_cells = [c for c in body if "best" in c[1][1].get("class", "")]
        # bold: the best NMI of all 120 rows (a baseline's name carries its " baseline" tag)
        assert [c[0][0].removesuffix(" baseline").removesuffix(" †") for c in best_cells] == [free[0]["method"]]
    assert len(_body_rows(page, "full-internal")) == 120 and len(_body_rows(page, "full-seeds")) == 360


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no Chromium: apt-get install chromium")
def test_appendix_tables_sort_by_a_click_or_the_keyboard(many_run: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # a CSP refusal
            page.goto((many_run / "report.html").as_uri())
            table = page.locator("#full-label_genre")
            head = table.locator("thead tr").last.locator("th")

            def column(i: int) -> list[str]:
                return table.locator(f"tbody tr td:nth-child({i + 1})").evaluate_all(
                    "cells => cells.map(c => c.getAttribute('data-v') ?? c.textContent)")

            before = column(0)
            head.nth(1).locator("button").click()  # NMI: the best first
            values = [float(v) for v in column(1)]
            assert values == sorted(values, reverse=True) and head.nth(1).get_attribute("aria-sort") == "descending"
            assert column(0) != before and sorted(column(0)) == sorted(before)  # the same rows, reordered
            head.nth(1).locator("button").click()
            values = [float(v) for v in column(1)]
            assert values == sorted(values) and head.nth(1).get_attribute("aria-sort") == "ascending"
            head.nth(0).locator("button").focus()  # by the keyboard: the method column, A to Z
            page.keyboard.press("Enter")
            assert column(0) == sorted(before, key=str.lower) and head.nth(1).get_attribute("aria-sort") == "none"
            table = page.locator("#full-internal")  # a column with an undefined value: last either way
            head = table.locator("thead tr").last.locator("th")
            for order in ("descending", "ascending"):
                head.nth(1).locator("button").click()
                values = column(1)
                assert head.nth(1).get_attribute("aria-sort") == order and values[-1] == "nan"
                defined = [float(v) for v in values[:-1]]
                assert defined == sorted(defined, reverse=order == "descending")
            page.emulate_media(media="print")
            assert not page.locator("#appendix").is_visible() and page.locator("#results").is_visible()
            assert errors == []
        finally:
            browser.close()
