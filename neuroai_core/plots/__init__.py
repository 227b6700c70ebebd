"""Plots for the tutorials, by topic: ``neurons``, ``spikes``, ``plasticity``, ``rl``,
``continual``; ``style`` holds the one axes helper they share. Every figure gets axis
labels with units and a title. The models never import this package; this file only
re-exports.
"""

from neuroai_core.plots.continual import (
    plot_accuracy_matrix,
    plot_comparison,
    plot_scenarios,
    plot_task_accuracies,
)
from neuroai_core.plots.neurons import (
    plot_decoding,
    plot_fi_curve,
    plot_fi_curves,
    plot_isi_sequence,
    plot_preset_gallery,
    plot_spiking_trace,
    plot_time_constants,
    plot_voltage,
)
from neuroai_core.plots.plasticity import (
    plot_oja_2d,
    plot_oja_convergence,
    plot_rstdp,
    plot_stdp_window,
    plot_three_factor,
)
from neuroai_core.plots.rl import (
    plot_bandit_run,
    plot_learning_rate,
    plot_td_errors,
    plot_td_heatmap,
)
from neuroai_core.plots.spikes import (
    plot_isi_histogram,
    plot_operation_counts,
    plot_raster,
    plot_rate_precision,
)
from neuroai_core.plots.style import axes

__all__ = [
    "axes",
    "plot_accuracy_matrix",
    "plot_bandit_run",
    "plot_comparison",
    "plot_decoding",
    "plot_fi_curve",
    "plot_fi_curves",
    "plot_isi_histogram",
    "plot_isi_sequence",
    "plot_learning_rate",
    "plot_oja_2d",
    "plot_oja_convergence",
    "plot_operation_counts",
    "plot_preset_gallery",
    "plot_raster",
    "plot_rate_precision",
    "plot_rstdp",
    "plot_scenarios",
    "plot_spiking_trace",
    "plot_stdp_window",
    "plot_task_accuracies",
    "plot_td_errors",
    "plot_td_heatmap",
    "plot_three_factor",
    "plot_time_constants",
    "plot_voltage",
]
