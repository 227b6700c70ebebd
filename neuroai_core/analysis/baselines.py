"""Baselines for the capstone project: one call that runs a benchmark correctly, fast.

A project tests one mechanism from the course (a neuromodulator, a learning rule, cellular
diversity) against a baseline. The two baselines here are the reference points the
course's benchmarks already define, wrapped so that one call with a seed gives the numbers
to beat in a few seconds:

- :func:`continual_baseline`: a method of :mod:`neuroai_core.continual` (fine-tuning by
  default, the lower bound) on split or permuted digits in one of the three scenarios;
  returns the accuracy matrix and its summary metrics;
- :func:`bandit_baseline`: an agent of :mod:`neuroai_core.neuromodulation` (the fixed
  learning-rate softmax agent by default) in a volatile two-armed bandit whose good arm
  switches every 30-60 trials: the context-switching benchmark; returns the mean reward
  overall and in the trials just after each switch.

Used in: M5T2 Your NeuroAI project.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from neuroai_core.continual.compare import STREAMS, ContinualConfig, run_method
from neuroai_core.continual.metrics import average_accuracy, backward_transfer, forgetting
from neuroai_core.neuromodulation.agents import Neuromodulators, SoftmaxAgent, SurpriseLearner
from neuroai_core.neuromodulation.bandits import reward_after_changes, run_bandit, volatile_bandit

AGENTS: tuple[str, ...] = ("softmax", "surprise")


@dataclass(frozen=True)
class ContinualBaseline:
    """What :func:`continual_baseline` returns.

    Attributes
    ----------
    R : ndarray of shape (n_tasks, n_tasks)
        ``R[i, j]``: test accuracy on task ``j`` after training tasks ``0 ... i``.
    average_accuracy, backward_transfer, forgetting : float
        The metrics of :mod:`neuroai_core.continual.metrics`.
    seconds : float
        Wall-clock time of the run.
    """

    R: np.ndarray
    average_accuracy: float
    backward_transfer: float
    forgetting: float
    seconds: float


def continual_baseline(benchmark: str = "split digits", scenario: str = "class",
                       method: str = "fine-tuning", seed: int = 0, epochs: int | None = None,
                       config: ContinualConfig | None = None) -> ContinualBaseline:
    """Run one continual-learning method on a benchmark and summarise it.

    Parameters
    ----------
    benchmark : {"split digits", "permuted digits"}
    scenario : {"task", "domain", "class"}
    method : str
        One of :data:`neuroai_core.continual.METHOD_NAMES`.
    seed : int
        Draws the train/test split, the initial weights, the batch order and the buffer.
    epochs : int, optional
        Passes over each task; by default that of ``config`` (10 in
        :class:`~neuroai_core.continual.ContinualConfig`: fine-tuning on split digits then
        takes about a second on one CPU core).
    config : ContinualConfig, optional
        All other hyper-parameters (default: the course's :class:`ContinualConfig`).

    Returns
    -------
    ContinualBaseline
    """
    if benchmark not in STREAMS:
        raise ValueError(f"benchmark must be one of {tuple(STREAMS)}, got {benchmark!r}")
    config = config or ContinualConfig()
    if epochs is not None:
        config = replace(config, epochs=epochs)
    start = time.perf_counter()
    res = run_method(method, STREAMS[benchmark](scenario=scenario, seed=seed), config, seed)
    return ContinualBaseline(res.R, average_accuracy(res.R), backward_transfer(res.R),
                             forgetting(res.R), time.perf_counter() - start)


@dataclass(frozen=True)
class BanditBaseline:
    """What :func:`bandit_baseline` returns: mean reward per trial over the whole run and
    over the ``window`` trials after each switch, and the learning rate on every trial."""

    mean_reward: float
    reward_after_switch: float
    alphas: np.ndarray


def bandit_baseline(agent: str = "softmax", n_trials: int = 2000, window: int = 10,
                    modulators: Neuromodulators | None = None, seed: int = 0) -> BanditBaseline:
    """Run a bandit agent in the volatile two-armed bandit (p = 0.8 / 0.2, blocks 30-60).

    Parameters
    ----------
    agent : {"softmax", "surprise"}
        ``"softmax"``: :class:`~neuroai_core.neuromodulation.SoftmaxAgent` (fixed learning
        rate, acetylcholine); ``"surprise"``: :class:`~neuroai_core.neuromodulation.SurpriseLearner`
        (learning rate raised by unexpected uncertainty).
    n_trials : int
    window : int
        Trials after each switch over which ``reward_after_switch`` is averaged.
    modulators : Neuromodulators, optional
        The agent's knobs (defaults: alpha 0.1, beta 5).
    seed : int
        Draws the bandit (from ``seed``) and the agent's choices (from ``seed + 1``).

    Returns
    -------
    BanditBaseline
    """
    if agent not in AGENTS:
        raise ValueError(f"agent must be one of {AGENTS}, got {agent!r}")
    bandit = volatile_bandit(n_trials, seed=seed)
    player = SoftmaxAgent(modulators) if agent == "softmax" else SurpriseLearner(modulators)
    run = run_bandit(player, bandit, seed=seed + 1)
    return BanditBaseline(float(run.rewards.mean()), reward_after_changes(run, bandit, window),
                          run.alphas)
