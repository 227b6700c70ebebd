"""Local learning rules: Hebb, Oja, STDP, eligibility traces and three-factor learning.

One rule per module; this file only re-exports.
"""

from neuroai_core.plasticity.hebb import OjaResult, hebb_step, oja_step, train_oja
from neuroai_core.plasticity.rstdp import RSTDPParams, RSTDPResult, simulate_rstdp
from neuroai_core.plasticity.stdp import (
    STDPParams,
    stdp_online,
    stdp_pairwise,
    stdp_trace_step,
    stdp_window,
)
from neuroai_core.plasticity.three_factor import (
    delayed_reward_dw,
    eligibility_step,
    simulate_delayed_reward,
    tag_step,
    three_factor_step,
)

__all__ = [
    "OjaResult",
    "RSTDPParams",
    "RSTDPResult",
    "STDPParams",
    "delayed_reward_dw",
    "eligibility_step",
    "hebb_step",
    "oja_step",
    "simulate_delayed_reward",
    "simulate_rstdp",
    "stdp_online",
    "stdp_pairwise",
    "stdp_trace_step",
    "stdp_window",
    "tag_step",
    "three_factor_step",
    "train_oja",
]
