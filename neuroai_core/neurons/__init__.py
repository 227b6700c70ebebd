"""Neuron models. Each model lives in its own module; this file only re-exports."""

from neuroai_core.neurons.lif import (
    LIF_PRESETS,
    METHODS,
    LIFParams,
    LIFResult,
    lif_rate,
    lif_step,
    simulate_lif,
)

__all__ = [
    "LIF_PRESETS",
    "METHODS",
    "LIFParams",
    "LIFResult",
    "lif_rate",
    "lif_step",
    "simulate_lif",
]
