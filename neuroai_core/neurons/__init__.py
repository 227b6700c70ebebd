"""Neuron models. Each model lives in its own module and follows one contract
(:mod:`neuroai_core.neurons.contract`): ``step(input, state, params) -> (spikes,
new_state)``, run over time by :func:`simulate`. This file only re-exports."""

from neuroai_core.neurons.adex import (
    ADEX,
    ADEX_PRESETS,
    AdExParams,
    AdExState,
    adex_initial_state,
    adex_step,
)
from neuroai_core.neurons.contract import NeuronModel, SimResult, simulate
from neuroai_core.neurons.fast import LIFCounts, simulate_lif_counts
from neuroai_core.neurons.heterogeneity import (
    bin_spike_counts,
    fit_ridge_decoder,
    linear_decoding_r2,
    sample_time_constants,
    smooth_noise,
)
from neuroai_core.neurons.izhikevich import (
    IZHIKEVICH,
    IZHIKEVICH_METHODS,
    IZHIKEVICH_PRESETS,
    PAPER_DT_MS,
    IzhikevichParams,
    IzhikevichState,
    classify_firing,
    izhikevich_initial_state,
    izhikevich_step,
)
from neuroai_core.neurons.lif import (
    LIF,
    LIF_PRESETS,
    METHODS,
    LIFParams,
    LIFState,
    lif_initial_state,
    lif_rate,
    lif_step,
    simulate_lif,
)

#: Every model under the contract, by name.
MODELS: dict[str, NeuronModel] = {m.name: m for m in (LIF, IZHIKEVICH, ADEX)}

__all__ = [
    "ADEX",
    "ADEX_PRESETS",
    "IZHIKEVICH",
    "IZHIKEVICH_METHODS",
    "IZHIKEVICH_PRESETS",
    "LIF",
    "LIF_PRESETS",
    "METHODS",
    "MODELS",
    "PAPER_DT_MS",
    "AdExParams",
    "AdExState",
    "IzhikevichParams",
    "IzhikevichState",
    "LIFCounts",
    "LIFParams",
    "LIFState",
    "NeuronModel",
    "SimResult",
    "adex_initial_state",
    "adex_step",
    "bin_spike_counts",
    "classify_firing",
    "fit_ridge_decoder",
    "izhikevich_initial_state",
    "izhikevich_step",
    "lif_initial_state",
    "lif_rate",
    "lif_step",
    "linear_decoding_r2",
    "sample_time_constants",
    "simulate",
    "simulate_lif",
    "simulate_lif_counts",
    "smooth_noise",
]
