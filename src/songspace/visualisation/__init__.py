"""Visualisation: latent-space scatter plots, training curves, result figures, fonts for Bengali script."""

from songspace.visualisation.figures import (
    plot_embedding,
    plot_training_curve,
    project_2d,
    sample_indices,
    save_figure,
)
from songspace.visualisation.fonts import bengali_font, configure_fonts
from songspace.visualisation.results import (
    plot_beta_sweep,
    plot_composition,
    plot_metric_bars,
    plot_reconstructions,
    plot_traversal,
)

__all__ = ["plot_embedding", "plot_training_curve", "project_2d", "sample_indices", "save_figure",
           "bengali_font", "configure_fonts", "plot_composition", "plot_reconstructions", "plot_traversal",
           "plot_metric_bars", "plot_beta_sweep"]
