"""Visualisation: latent-space scatter plots, training curves, fonts for Bengali script."""

from songspace.visualisation.figures import (
    plot_embedding,
    plot_training_curve,
    project_2d,
    sample_indices,
    save_figure,
)
from songspace.visualisation.fonts import bengali_font, configure_fonts

__all__ = ["plot_embedding", "plot_training_curve", "project_2d", "sample_indices", "save_figure",
           "bengali_font", "configure_fonts"]
