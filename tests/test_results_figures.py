"""Result figures: composition bars count tracks right, metric bars show spread, hatching and n/a, and
reconstructions, traversals and the beta sweep draw what they are given; Bengali text renders."""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.container import BarContainer, ErrorbarContainer

from songspace.visualisation import (
    bengali_font,
    plot_beta_sweep,
    plot_composition,
    plot_metric_bars,
    plot_reconstructions,
    plot_traversal,
    save_figure,
)
from songspace.visualisation.results import CONDITIONED_NOTE, NOISE, UNKNOWN


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _segments(ax) -> dict[str, np.ndarray]:
    """Segment heights per class [shape=(n_bars,)], from the bar containers of one composition panel."""
    return {c.get_label(): np.array([p.get_height() for p in c.patches]) for c in ax.containers
            if isinstance(c, BarContainer)}


def _sizes(ax) -> list[int]:
    return [int(t.get_text()) for t in ax.texts if t.get_gid() == "size"]


def test_composition_segments_add_up_to_each_cluster() -> None:
    clusters = np.array([2, 2, 2, 2, 0, 0, 0, -1, -1, 5])
    genre = ["rock", "pop", "rock", "", "pop", "pop", "jazz", "rock", "", "jazz"]
    fig = plot_composition(clusters, {"genre": genre, "language": ["bn"] * 10}, title="t")
    ax_genre, ax_lang = fig.axes
    # Bars by size, noise last, each with its size on top.
    assert [t.get_text() for t in ax_genre.get_xticklabels()] == ["2", "0", "5", NOISE]
    sizes = _sizes(ax_genre)
    assert sizes == [4, 3, 1, 2]
    seg = _segments(ax_genre)
    assert set(seg) == {"rock", "pop", "jazz", UNKNOWN}
    np.testing.assert_allclose(sum(seg.values()), 1.0)
    # Shares times size give back the exact counts of each class in each cluster.
    counts = {c: np.rint(h * sizes).astype(int).tolist() for c, h in seg.items()}
    assert counts == {"rock": [2, 0, 0, 1], "pop": [1, 2, 0, 0], "jazz": [0, 1, 1, 0], UNKNOWN: [1, 0, 0, 1]}
    # A label with one class: one full-height segment per bar.
    np.testing.assert_allclose(_segments(ax_lang)["bn"], 1.0)


def test_composition_edge_cases() -> None:
    one = plot_composition(np.zeros(4, dtype=int), {"genre": ["a", "a", "b", ""]})
    assert [t.get_text() for t in one.axes[0].get_xticklabels()] == ["0"] and _sizes(one.axes[0]) == [4]
    noise = plot_composition(np.full(3, -1), {"genre": ["a", "b", "c"]})
    assert [t.get_text() for t in noise.axes[0].get_xticklabels()] == [NOISE] and _sizes(noise.axes[0]) == [3]
    sizes_only = plot_composition(np.array([1, 1, 0]), {})
    assert len(sizes_only.axes) == 1 and [p.get_height() for p in sizes_only.axes[0].patches] == [2, 1]


def test_composition_merges_rare_classes_and_small_clusters() -> None:
    rng = np.random.default_rng(0)
    clusters = rng.integers(0, 50, 2000)
    genre = [f"g{i}" for i in rng.integers(0, 30, 2000)]
    fig = plot_composition(clusters, {"genre": genre}, max_clusters=20, max_classes=12)
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert len(ticks) == 20 and ticks[-1] == "31 smaller\nclusters"
    assert sum(_sizes(ax)) == 2000
    seg = _segments(ax)
    assert len(seg) == 12 and "other (19 classes)" in seg
    np.testing.assert_allclose(sum(seg.values()), 1.0)


def test_composition_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="'genre' has 2 values but there are 3 tracks"):
        plot_composition(np.array([0, 1, 1]), {"genre": ["a", "b"]})
    with pytest.raises(ValueError, match="must be integers"):
        plot_composition(np.array([0.5, 1.0]), {})
    with pytest.raises(ValueError, match="empty"):
        plot_composition(np.array([], dtype=int), {})


def test_reconstructions_of_spectrograms_share_a_scale_per_row() -> None:
    rng = np.random.default_rng(0)
    o = rng.normal(-40, 10, (3, 16, 20))
    r = o + 2.0
    fig = plot_reconstructions(o, r, ["a", "b", "c"], title="rec")
    images = [a for a in fig.axes if a.images]
    assert len(images) == 6 and len(fig.axes) == 9  # 3 rows x (original, reconstruction) + 3 colourbars
    for i in range(3):
        lo, hi = images[2 * i].images[0].get_clim()
        assert (lo, hi) == images[2 * i + 1].images[0].get_clim()
        assert lo == pytest.approx(min(o[i].min(), r[i].min())) and hi == pytest.approx(max(o[i].max(), r[i].max()))
    assert "RMSE 2 dB" in images[1].get_title(loc="left")


def test_reconstructions_of_vectors_draw_two_lines_per_row() -> None:
    o = np.arange(12, dtype=float).reshape(3, 4)
    fig = plot_reconstructions(o, o * 0.5, ["x", "য", "z"], units="standardised")
    assert len(fig.axes) == 3 and all(len(a.lines) == 2 for a in fig.axes)
    np.testing.assert_allclose(fig.axes[1].lines[1].get_ydata(), o[1] * 0.5)
    with pytest.raises(ValueError, match="differ in shape"):
        plot_reconstructions(o, o[:2], ["x", "y"])
    with pytest.raises(ValueError, match="2 row titles for 3 examples"):
        plot_reconstructions(o, o, ["x", "y"])


def test_traversal_grid_of_spectrograms() -> None:
    decoded = np.random.default_rng(0).normal(size=(2, 5, 8, 10))
    fig = plot_traversal(decoded, [-2, -1, 0, 1, 2], [4, 0], title="trav")
    images = [a for a in fig.axes if a.images]
    assert len(images) == 10 and len(fig.axes) == 11  # 2 dims x 5 values + one colourbar
    assert len({a.images[0].get_clim() for a in images}) == 1
    assert images[5].get_ylabel() == "dim 0"


def test_traversal_of_vectors_shows_change_from_the_centre() -> None:
    rng = np.random.default_rng(1)
    decoded = rng.normal(size=(3, 5, 6))
    fig = plot_traversal(decoded, [-3.0, -1.5, 0.0, 1.5, 3.0], [1, 2, 5])
    panels = [a for a in fig.axes if a.images]
    assert len(panels) == 3
    shown = panels[2].images[0].get_array()
    np.testing.assert_allclose(shown, (decoded[2] - decoded[2, 2]).T)
    np.testing.assert_allclose(shown[:, 2], 0.0)
    with pytest.raises(ValueError, match="3 dims and 4 values"):
        plot_traversal(decoded, [0, 1, 2, 3], [1, 2, 5])


def _csv_rows() -> list[dict[str, str]]:
    """Rows as ``metrics.csv`` gives them back: every value a string, one seed without spread, NaN, conditioned."""
    text = io.StringIO()
    cols = ["method", "conditioned_on", "nmi_genre", "nmi_genre_std", "silhouette_common",
            "silhouette_common_std"]
    w = csv.DictWriter(text, fieldnames=cols)
    w.writeheader()
    w.writerow({"method": "vae+kmeans", "conditioned_on": "", "nmi_genre": 0.41, "nmi_genre_std": 0.03,
                "silhouette_common": 0.2, "silhouette_common_std": 0.01})
    w.writerow({"method": "cvae+kmeans", "conditioned_on": "genre;language", "nmi_genre": 0.8,
                "nmi_genre_std": 0.05, "silhouette_common": -0.1, "silhouette_common_std": "nan"})
    w.writerow({"method": "pca+hdbscan", "conditioned_on": "", "nmi_genre": "nan", "nmi_genre_std": "",
                "silhouette_common": "", "silhouette_common_std": ""})
    w.writerow({"method": "গান+kmeans", "conditioned_on": "", "nmi_genre": 0.3, "nmi_genre_std": "nan",
                "silhouette_common": 0.05, "silhouette_common_std": 0.02})
    return list(csv.DictReader(io.StringIO(text.getvalue())))


def test_metric_bars_from_csv_strings() -> None:
    rows = _csv_rows()
    fig = plot_metric_bars(rows, ["nmi_genre", "silhouette_common"], title="m")
    ax = fig.axes[0]
    bars = [p for p in ax.patches if str(p.get_gid()).startswith("bar|")]
    assert len(bars) == 6  # 8 cells, 2 of them NaN or missing
    assert {p.get_gid() for p in bars if p.get_hatch()} == {"bar|cvae+kmeans|nmi_genre",
                                                             "bar|cvae+kmeans|silhouette_common"}
    widths = {p.get_gid(): p.get_width() for p in bars}
    assert widths["bar|vae+kmeans|nmi_genre"] == pytest.approx(0.41)
    assert widths["bar|cvae+kmeans|silhouette_common"] == pytest.approx(-0.1)
    errorbars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(errorbars) == 4  # cells with a value and a finite std
    assert [t.get_text().strip() for t in ax.texts].count("n/a") == 2
    assert [t.get_text() for t in ax.get_yticklabels()] == ["vae+kmeans", "cvae+kmeans", "pca+hdbscan", "গান+kmeans"]
    assert CONDITIONED_NOTE in [t.get_text() for t in ax.get_legend().get_texts()]


def test_metric_bars_without_conditioned_rows_or_spread_and_many_rows() -> None:
    rows = [{"method": f"m{i}", "nmi_genre": i / 40} for i in range(40)]
    fig = plot_metric_bars(rows, ["nmi_genre"])
    ax = fig.axes[0]
    assert not [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert CONDITIONED_NOTE not in [t.get_text() for t in ax.get_legend().get_texts()]
    assert fig.get_figheight() > 2 * plot_metric_bars(rows[:4], ["nmi_genre"]).get_figheight()
    with pytest.raises(ValueError, match="no result rows"):
        plot_metric_bars([], ["nmi_genre"])


def test_beta_sweep_two_axes_sorted_betas_and_error_bars() -> None:
    betas = ["4", "0.5", "1"]  # unsorted strings, as from a CSV
    fig = plot_beta_sweep(betas, (["40", 30, 33], [1.0, "nan", 2.0]),
                          {"silhouette_common": ([0.2, 0.1, 0.15], [0.01, 0.01, 0.01]),
                           "nmi_genre": ([0.3, 0.35, 0.32], ["", "", ""])}, title="b")
    left, right = fig.axes
    assert left.get_xscale() == "log"
    rec = [c for c in left.containers if isinstance(c, ErrorbarContainer)]
    scores = [c for c in right.containers if isinstance(c, ErrorbarContainer)]
    assert len(rec) == 1 and len(scores) == 2
    np.testing.assert_allclose(rec[0].lines[0].get_xdata(), [0.5, 1, 4])
    np.testing.assert_allclose(rec[0].lines[0].get_ydata(), [30, 33, 40])
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[0].startswith("reconstruction error") and "nmi_genre (right axis)" in legend
    with_zero = plot_beta_sweep([0, 1], ([1, 2], [0, 0]), {})
    assert with_zero.axes[0].get_xscale() == "symlog"
    with pytest.raises(ValueError, match="nmi_genre \\(mean\\) has 1 values but there are 2 betas"):
        plot_beta_sweep([1, 2], ([1, 2], [0, 0]), {"nmi_genre": ([0.1], [0.0])})


def test_all_result_figures_save_with_bengali_glyphs(tmp_path: Path) -> None:
    if bengali_font() is None:
        pytest.fail("no Bengali-capable font installed: run `make setup` (installs fonts-lohit-beng-bengali)")
    rng = np.random.default_rng(0)
    figs = {
        "composition": plot_composition(np.array([0, 0, 1, -1]), {"genre": ["আধুনিক", "লোকগীতি", "", "rock"]},
                                        title="গান: গঠন"),
        "reconstructions": plot_reconstructions(rng.normal(size=(2, 8, 6)), rng.normal(size=(2, 8, 6)),
                                                ["ধরন: আধুনিক", "ধরন: লোকগীতি"]),
        "vectors": plot_reconstructions(rng.normal(size=(2, 5)), rng.normal(size=(2, 5)), ["ভাষা: বাংলা", "en"]),
        "traversal": plot_traversal(rng.normal(size=(2, 3, 5)), [-1, 0, 1], [0, 1], title="পরিবর্তন"),
        "metrics": plot_metric_bars(_csv_rows(), ["nmi_genre", "silhouette_common"], title="মাপ"),
        "beta": plot_beta_sweep([1, 4], ([1, 2], [0.1, 0.1]), {"nmi_ধরন": ([0.2, 0.3], [0.0, 0.0])}),
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name, fig in figs.items():
            save_figure(fig, tmp_path / f"{name}.png")
    # No missing glyphs (Bengali drawn as boxes) and no text that the layout could not fit.
    assert [str(w.message) for w in caught if "missing from font" in str(w.message) or "layout" in str(w.message)] \
        == []
    assert all((tmp_path / f"{name}.png").stat().st_size > 10_000 for name in figs)
