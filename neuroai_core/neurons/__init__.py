"""Neuron models. Each model lives in its own module; this file only re-exports."""

from neuroai_core.neurons.adex import (
    ADEX_PRESETS,
    AdExParams,
    AdExResult,
    adex_step,
    simulate_adex,
)
from neuroai_core.neurons.fast import LIFCounts, simulate_lif_counts
from neuroai_core.neurons.izhikevich import (
    IZHIKEVICH_METHODS,
    IZHIKEVICH_PRESETS,
    IzhikevichParams,
    IzhikevichResult,
    classify_firing,
    izhikevich_step,
    simulate_izhikevich,
)
from neuroai_core.neurons.lif import (
    LIF_PRESETS,
    METHODS,
    LIFParams,
    LIFResult,
    lif_rate,
    lif_step,
    simulate_lif,
)
from neuroai_core.neurons.population import (
    bin_spike_counts,
    fit_ridge_decoder,
    linear_decoding_r2,
    sample_time_constants,
    simulate_lif_population,
    smooth_noise,
)

__all__ = [
    "ADEX_PRESETS",
    "IZHIKEVICH_METHODS",
    "IZHIKEVICH_PRESETS",
    "LIF_PRESETS",
    "METHODS",
    "AdExParams",
    "AdExResult",
    "IzhikevichParams",
    "IzhikevichResult",
    "LIFCounts",
    "LIFParams",
    "LIFResult",
    "adex_step",
    "bin_spike_counts",
    "classify_firing",
    "fit_ridge_decoder",
    "izhikevich_step",
    "lif_rate",
    "lif_step",
    "linear_decoding_r2",
    "sample_time_constants",
    "simulate_adex",
    "simulate_izhikevich",
    "simulate_lif",
    "simulate_lif_counts",
    "simulate_lif_population",
    "smooth_noise",
]
