"""Neuromodulation: dopamine as a prediction error, Doya's four modulators as an agent's
knobs, surprise-driven learning rates, gain modulation and neuromodulated plasticity.

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
from neuroai_core.neuromodulation.plastic_rnn import (
    CueRewardEpisodes,
    PlasticRNN,
    accuracy_by_presentation,
    cue_reward_accuracy,
    cue_reward_episodes,
    hebbian_update,
    train_plastic_rnn,
)
from neuroai_core.neuromodulation.td import (
    TDChainParams,
    TDRun,
    run_td_chain,
    td_errors,
    td_trial,
)

__all__ = [
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
    "accuracy_by_presentation",
    "context_accuracy",
    "context_task",
    "cue_reward_accuracy",
    "cue_reward_episodes",
    "discounted_value",
    "gain_modulated_forward",
    "hebbian_update",
    "q_update",
    "reward_after_changes",
    "run_bandit",
    "run_td_chain",
    "softmax_probabilities",
    "stationary_bandit",
    "surprise_learning_rate",
    "td_errors",
    "td_trial",
    "train_context_net",
    "train_plastic_rnn",
    "volatile_bandit",
]
