"""NeuroAI in both directions: decoding and representational similarity for neuroscience
(a simulated population, cross-validated decoders, RSA), and the baselines of the capstone
project.

One concept per module; this file only re-exports.
"""

from neuroai_core.analysis.baselines import (
    AGENTS,
    BanditBaseline,
    ContinualBaseline,
    bandit_baseline,
    continual_baseline,
)
from neuroai_core.analysis.decoding import (
    cross_val_accuracy,
    linear_decoder,
    mlp_decoder,
    standardize,
    stratified_folds,
    train_mlp,
)
from neuroai_core.analysis.population_codes import (
    POPULATION_LIF,
    TUNINGS,
    PopulationResponses,
    population_responses,
)
from neuroai_core.analysis.rsa import (
    COMPARISONS,
    METRICS,
    PermutationResult,
    compare_rdms,
    condition_means,
    network_representations,
    rank_average,
    rdm,
    rdm_permutation_test,
    upper_triangle,
)

__all__ = [
    "AGENTS",
    "COMPARISONS",
    "METRICS",
    "POPULATION_LIF",
    "TUNINGS",
    "BanditBaseline",
    "ContinualBaseline",
    "PermutationResult",
    "PopulationResponses",
    "bandit_baseline",
    "compare_rdms",
    "condition_means",
    "continual_baseline",
    "cross_val_accuracy",
    "linear_decoder",
    "mlp_decoder",
    "network_representations",
    "population_responses",
    "rank_average",
    "rdm",
    "rdm_permutation_test",
    "standardize",
    "stratified_folds",
    "train_mlp",
    "upper_triangle",
]
