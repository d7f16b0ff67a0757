"""The terminal's results table and progress: sized to the width, no cell wrapped, bars that end when a model
stops."""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest
from rich.console import Console
from rich.progress import TimeRemainingColumn

from songspace.terminal import (
    StageProgress,
    format_cell,
    full_table,
    headline_columns,
    headline_rows,
    rank_score,
    render_text,
)

REPS = ["vae", "conv_vae", "mfcc_vae", "bimodal_vae", "autoencoder", "beta_vae", "cvae", "pca", "features",
        "lyrics", "hybrid", "hybrid_features", "naive_hybrid"]
CLUSTERERS = ["kmeans", "agglomerative_ward", "agglomerative_average", "dbscan", "hdbscan", "gmm"]
LABELS = ["genre", "language"]
NUMBERS = ["silhouette", "calinski_harabasz", "davies_bouldin", "silhouette_common", "calinski_harabasz_common",
           "davies_bouldin_common", "noise_fraction", *[f"{m}_{lab}" for lab in LABELS for m in ("ari", "nmi",
                                                                                               "purity")],
           "n_clusters"]


def metrics_rows(seed: int = 0, labels: list[str] = LABELS) -> list[dict]:
    """Rows shaped like RunResult.metrics (random numbers), 13 representations x 6 clusterers, 5 seeds."""
    rng = np.random.default_rng(seed)
    rows = []
    for rep in REPS:
        for c in CLUSTERERS:
            row: dict = {"method": f"{rep}+{c}", "representation": rep, "clusterer": c, "modality": "audio",
                         "conditioned_on": "language" if rep == "cvae" else "", "n_seeds": 5}
            for col in NUMBERS:
                if col.split("_")[-1] in LABELS and col.split("_")[-1] not in labels:
                    continue
                if col == "n_clusters":
                    density = c in ("dbscan", "hdbscan")
                    row[col], row[f"{col}_std"] = (float(rng.integers(2, 9)) + 0.6, 1.14) if density else (6.0, 0.0)
                elif col.startswith("calinski"):
                    row[col], row[f"{col}_std"] = float(rng.uniform(10, 3000)), float(rng.uniform(0, 200))
                else:
                    row[col], row[f"{col}_std"] = float(rng.uniform(-0.1, 1)), float(rng.uniform(0, 0.1))
            rows.append(row)
    rows[-1]["silhouette"] = math.nan  # an undefined metric
    return rows


def method_lines(text: str) -> dict[str, str]:
    """The rendered line of each method row (the method name followed by a space, or a † mark)."""
    lines = {}
    for line in text.splitlines():
        m = re.search(r"(\S+\+\S+)", line)
        if m:
            lines[m.group(1)] = line
    return lines


@pytest.mark.parametrize("width", [80, 120])
def test_headline_table_fits_the_width_and_keeps_every_cell_on_one_line(width: int) -> None:
    rows = metrics_rows()
    text = render_text(headline_rowsable(rows, width), width)
    assert all(len(line) <= width for line in text.splitlines()), text
    shown = [c for c in headline_columns(LABELS) if header_in(c, text)]
    assert shown[:2] == ["nmi_genre", "nmi_language"]  # the most telling columns survive
    lines = method_lines(text)
    for _, row in headline_rows(rows, LABELS, baselines=["pca", "features"]):
        line = lines[row["method"]]
        cells = [format_cell(row, c) for c in shown]
        assert line.split()[-len(cells):] == cells, (line, cells)  # every number whole, on its row's line
    hidden = len(headline_columns(LABELS)) - len(shown)
    if hidden:
        assert f"{hidden} column" in text and "--table full" in text
    else:
        assert "--table full" not in text


def headline_rowsable(rows: list[dict], width: int) -> list:
    from songspace.terminal import headline_table

    return headline_table(rows, LABELS, width=width, baselines=["pca", "features"], n_seeds=5)


def header_in(column: str, text: str) -> bool:
    """Whether the table shows ``column``'s header (its two lines right-aligned one over the other)."""
    from songspace.terminal import header

    head = header(column).split("\n")
    lines = text.splitlines()
    if len(head) == 1:
        return any(re.search(rf"(^|\s){re.escape(head[0])}(\s|$)", line) for line in lines)
    for a, b in zip(lines, lines[1:], strict=False):
        ends = {m.end() for m in re.finditer(rf"(?<!\S){re.escape(head[1])}(?!\S)", b)}
        if any(m.end() in ends for m in re.finditer(re.escape(head[0]), a)):
            return True
    return False


def test_wider_terminal_shows_more_columns() -> None:
    rows = metrics_rows()
    narrow = render_text(headline_rowsable(rows, 80), 80)
    wide = render_text(headline_rowsable(rows, 120), 120)
    n80 = sum(header_in(c, narrow) for c in headline_columns(LABELS))
    n120 = sum(header_in(c, wide) for c in headline_columns(LABELS))
    assert 2 <= n80 < n120


def test_headline_rows_best_per_label_each_representation_once_and_baselines() -> None:
    rows = metrics_rows(seed=3)
    cvae = next(r for r in rows if r["representation"] == "cvae")
    cvae["nmi_language"] = 2.0  # given the language: must not win on it
    picked = headline_rows(rows, LABELS, baselines=["pca", "features"])
    reasons = {r["method"]: why.removesuffix(" (baseline)") for why, r in picked}
    for lab in LABELS:
        free = [r for r in rows if lab not in r["conditioned_on"].split(";")]
        best = max(free, key=lambda r: r[f"nmi_{lab}"])
        assert lab in reasons[best["method"]].split(", ")
    assert cvae["method"] not in reasons or "language" not in reasons[cvae["method"]]
    methods = [r["method"] for _, r in picked]
    assert len(methods) == len(set(methods))
    assert {r["representation"] for _, r in picked} == set(REPS)  # every representation is there
    for rep in REPS:  # its row (when not a label's best) is its best clusterer by mean NMI
        group = [r for r in rows if r["representation"] == rep]
        top = max(group, key=lambda r: rank_score(r, LABELS))
        assert top["method"] in methods
    for why, row in picked:  # baselines are tagged as such unless they are a label's best
        if row["representation"] in ("pca", "features"):
            assert why == "baseline" or (why.endswith(" (baseline)")
                                         and set(why.removesuffix(" (baseline)").split(", ")) <= set(LABELS))
        else:
            assert "baseline" not in why
    assert [why for why, _ in picked][-1] == "baseline" or not any(why == "baseline" for why, _ in picked)


def test_headline_without_labels_ranks_by_silhouette_in_the_common_space() -> None:
    rows = metrics_rows(labels=[])
    picked = headline_rows(rows, [], baselines=["pca"])
    for _, row in picked:
        group = [r for r in rows if r["representation"] == row["representation"]]
        assert row["silhouette_common"] == max(r["silhouette_common"] for r in group)
    assert picked[-1][0] == "baseline" and picked[-1][1]["representation"] == "pca"


def test_cells_are_short_and_counts_are_integers() -> None:
    row = {"nmi_genre": 0.8412, "nmi_genre_std": 0.0333, "n_clusters": 6.0, "n_clusters_std": 0.0,
           "noise_fraction": 0.25, "noise_fraction_std": math.nan, "silhouette": math.nan, "silhouette_std": math.nan,
           "calinski_harabasz": 1234.56, "calinski_harabasz_std": 98.7, "davies_bouldin": -0.001,
           "davies_bouldin_std": math.nan, "method": "vae+kmeans", "cluster_sample_size": ""}
    assert format_cell(row, "nmi_genre") == "0.84±0.03"
    assert format_cell(row, "n_clusters") == "6"
    assert format_cell({"n_clusters": 5.6, "n_clusters_std": 1.14}, "n_clusters") == "5.6±1.1"
    assert format_cell(row, "noise_fraction") == "0.25"  # one seed: no spread
    assert format_cell(row, "silhouette") == "-"
    assert format_cell(row, "calinski_harabasz") == "1235±99"
    assert format_cell(row, "davies_bouldin") == "0.00"  # not "-0.00"
    assert format_cell({"nmi_genre": 0.84, "nmi_genre_std": 0.0}, "nmi_genre") == "0.84±0.00"  # seeds agree
    assert format_cell(row, "method") == "vae+kmeans" and format_cell(row, "cluster_sample_size") == ""


@pytest.mark.parametrize("width", [80, 120])
def test_full_table_shows_every_row_and_column_within_the_width(width: int) -> None:
    rows = metrics_rows()
    columns = list(rows[0])
    text = render_text(full_table(rows, columns, width=width, n_seeds=5), width)
    assert all(len(line) <= width for line in text.splitlines())
    for col in NUMBERS:
        assert header_in(col, text), col
    found = re.findall(r"(\S+\+\S+)", text)
    parts = text.count("metrics.csv (")
    assert sorted(found) == sorted(r["method"] for r in rows for _ in range(parts))
    for row in rows[:5]:
        assert format_cell(row, "nmi_genre") in text


def feed(progress: StageProgress) -> None:
    for d in range(1, 4):
        progress("features", d, 3)
    for e in range(1, 6):
        progress("train vae", e, 300)  # early stopping at epoch 5
    for e in range(1, 4):
        progress("train conv_vae", e, 300)  # early stopping at epoch 3
    for j in range(1, 3):
        progress("cluster", j, 2)


def test_progress_without_a_terminal_prints_one_line_per_finished_stage() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=100)
    with StageProgress(console) as progress:
        feed(progress)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4, lines
    assert re.fullmatch(r"features 3/3 done in \d+\.\d s", lines[0])
    assert re.fullmatch(r"train vae stopped early at 5/300 in \d+\.\d s", lines[1])
    assert re.fullmatch(r"train conv_vae stopped early at 3/300 in \d+\.\d s", lines[2])
    assert lines[3].startswith("cluster 2/2 done in")


def test_progress_without_a_terminal_says_how_far_a_long_stage_is() -> None:
    out = io.StringIO()
    with StageProgress(Console(file=out, force_terminal=False), heartbeat_s=0.0) as progress:
        progress("features", 1, 4)
        progress("features", 2, 4)
    assert "features 1/4" in out.getvalue() and "features 2/4" in out.getvalue()


def test_progress_bars_end_when_a_model_stops_early() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    with StageProgress(console) as progress:
        feed(progress)
        bars = progress.bars
        assert bars is not None
        tasks = {t.description.split(" (")[0].split(",")[0]: t for t in bars.tasks}
        assert set(tasks) == {"features", "train vae", "train conv_vae", "cluster"}
        assert all(t.finished for t in tasks.values())  # the clocks stopped
        vae = tasks["train vae"]
        assert vae.completed == vae.total == 5 and "early stop" in vae.description and "model 1" in vae.description
        assert "model 2" in tasks["train conv_vae"].description
        assert any(isinstance(c, TimeRemainingColumn) for c in bars.columns)  # an ETA
