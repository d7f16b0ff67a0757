"""Figures: Bengali text renders with real glyphs; embedding plots and training curves draw."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from songspace.training import History
from songspace.visualisation import (
    bengali_font,
    plot_embedding,
    plot_training_curve,
    project_2d,
    sample_indices,
    save_figure,
)


def test_bengali_labels_render_without_missing_glyphs(tmp_path: Path) -> None:
    if bengali_font() is None:
        pytest.fail("no Bengali-capable font installed: run `make setup` (installs fonts-lohit-beng-bengali)")
    coords = np.random.default_rng(0).standard_normal((6, 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = plot_embedding(coords, {"genre": ["আধুনিক", "লোকগীতি", "rock", "rock", "", "আধুনিক"]},
                             title="গান: হৃদয়")
        save_figure(fig, tmp_path / "b.png")
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []
    assert (tmp_path / "b.png").stat().st_size > 10_000


def test_projection_shapes_and_seed() -> None:
    X = np.random.default_rng(0).standard_normal((40, 8)).astype(np.float32)
    a = project_2d(X, "tsne", seed=1)
    assert a.shape == (40, 2)
    np.testing.assert_allclose(a, project_2d(X, "tsne", seed=1))
    with pytest.raises(ValueError, match="unknown projection"):
        project_2d(X, "pca3d")


def test_sample_indices() -> None:
    assert list(sample_indices(5, 10)) == [0, 1, 2, 3, 4]
    s = sample_indices(1000, 100, seed=2)
    assert len(s) == 100 and len(set(s)) == 100 and np.all(np.diff(s) > 0)
    assert np.array_equal(s, sample_indices(1000, 100, seed=2))


def test_training_curve(tmp_path: Path) -> None:
    h = History(train=[{"total": 3.0 - i, "reconstruction": 2.0, "kl": 1.0} for i in range(3)],
                val=[{"total": 3.5 - i, "reconstruction": 2.5, "kl": 1.0} for i in range(3)], best_epoch=2)
    fig = plot_training_curve(h)
    assert len(fig.axes) == 3
    save_figure(fig, tmp_path / "c.png")
    assert (tmp_path / "c.png").is_file()


def test_projection_of_degenerate_spaces_does_not_crash() -> None:
    # Identical rows (e.g. lyrics that are all the same) made sklearn's t-SNE segfault on the NaN of its PCA start.
    same = np.ones((30, 8), dtype=np.float32)
    assert project_2d(same, "tsne").shape == (30, 2)
    two = np.repeat(np.eye(2, 8, dtype=np.float32), 15, axis=0)
    assert np.all(np.isfinite(project_2d(two, "tsne")))
    with_nan = np.random.default_rng(0).standard_normal((30, 4)).astype(np.float32)
    with_nan[3, 1] = np.nan
    assert np.all(np.isfinite(project_2d(with_nan, "tsne", seed=0)))
