"""Neuromodulation: dopamine as a prediction error, Doya's four modulators as an agent's
knobs, surprise-driven learning rates, gain modulation, neuromodulated plasticity,
serotonin as patience and histamine as an arousal gain.

One model per module; this file only re-exports.
"""

from neuroai_core.neuromodulation.agents import (
    Neuromodulators,
    SoftmaxAgent,
    SurpriseLearner,
    discounted_value,
    q_update,
    softmax_probabilities,
    surprise_learning_rate,
)
from neuroai_core.neuromodulation.bandits import (
    Bandit,
    BanditRun,
    reward_after_changes,
    run_bandit,
    stationary_bandit,
    volatile_bandit,
)
from neuroai_core.neuromodulation.gain import (
    ContextGains,
    ContextTask,
    GainModulatedNet,
    context_accuracy,
    context_task,
    gain_modulated_forward,
    train_context_net,
)
from neuroai_core.neuromodulation.histamine import (
    ArousalTask,
    arousal_counts,
    arousal_tradeoff,
    best_operating_point,
    decode_accuracy,
    population_sops,
    preferred_signs,
)
from neuroai_core.neuromodulation.plastic_rnn import (
    CueRewardEpisodes,
    PlasticRNN,
    accuracy_by_presentation,
    cue_reward_accuracy,
    cue_reward_episodes,
    hebbian_update,
    train_plastic_rnn,
)
from neuroai_core.neuromodulation.serotonin import (
    WaitingTask,
    gamma_from_horizon,
    give_up_probability,
    indifference_delay,
    simulate_waiting,
    value_of_waiting,
    wait_value_memoryless,
)
from neuroai_core.neuromodulation.td import (
    TDChainParams,
    TDRun,
    run_td_chain,
    td_errors,
    td_trial,
)

__all__ = [
    "ArousalTask",
    "Bandit",
    "BanditRun",
    "ContextGains",
    "ContextTask",
    "CueRewardEpisodes",
    "GainModulatedNet",
    "Neuromodulators",
    "PlasticRNN",
    "SoftmaxAgent",
    "SurpriseLearner",
    "TDChainParams",
    "TDRun",
    "WaitingTask",
    "accuracy_by_presentation",
    "arousal_counts",
    "arousal_tradeoff",
    "best_operating_point",
    "context_accuracy",
    "context_task",
    "cue_reward_accuracy",
    "cue_reward_episodes",
    "decode_accuracy",
    "discounted_value",
    "gain_modulated_forward",
    "gamma_from_horizon",
    "give_up_probability",
    "hebbian_update",
    "indifference_delay",
    "population_sops",
    "preferred_signs",
    "q_update",
    "reward_after_changes",
    "run_bandit",
    "run_td_chain",
    "simulate_waiting",
    "softmax_probabilities",
    "stationary_bandit",
    "surprise_learning_rate",
    "td_errors",
    "td_trial",
    "train_context_net",
    "train_plastic_rnn",
    "value_of_waiting",
    "volatile_bandit",
    "wait_value_memoryless",
]
