"""Local learning rules: Hebb, Oja, STDP, eligibility traces and three-factor learning;
perturbation learning and feedback alignment beside backprop.

One rule per module; this file only re-exports.
"""

from neuroai_core.plasticity.hebb import OjaResult, hebb_step, oja_step, train_oja
from neuroai_core.plasticity.perturbation import (
    LocalLearningParams,
    TrainResult,
    WidthSweep,
    backprop_grads,
    cosine_similarity,
    digits_task,
    feedback_alignment_grads,
    node_perturbation_grads,
    node_perturbation_update,
    train_network,
    weight_perturbation_grads,
    width_sweep,
)
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
    "LocalLearningParams",
    "OjaResult",
    "RSTDPParams",
    "RSTDPResult",
    "STDPParams",
    "TrainResult",
    "WidthSweep",
    "backprop_grads",
    "cosine_similarity",
    "delayed_reward_dw",
    "digits_task",
    "eligibility_step",
    "feedback_alignment_grads",
    "hebb_step",
    "node_perturbation_grads",
    "node_perturbation_update",
    "oja_step",
    "simulate_delayed_reward",
    "simulate_rstdp",
    "stdp_online",
    "stdp_pairwise",
    "stdp_trace_step",
    "stdp_window",
    "tag_step",
    "three_factor_step",
    "train_network",
    "train_oja",
    "weight_perturbation_grads",
    "width_sweep",
]
