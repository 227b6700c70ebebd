"""Bernoulli bandit worlds, stationary and volatile, and the loop that runs an agent in one.

A bandit here is drawn in full when it is made: the reward probability of every arm on
every trial and the reward every arm *would* give on every trial (0 or 1). Agents that
run in the same bandit therefore face exactly the same luck (common random numbers), so
differences between them come from the agents, not from the draws.

- Stationary: fixed reward probabilities.
- Volatile: two levels, ``p_high`` for one arm and ``p_low`` for the others; at change
  points the good arm moves to another arm. Block lengths are drawn uniformly between
  ``min_block`` and ``max_block`` trials — a reversal-learning task in the style of
  Behrens et al. (2007), whose volatile blocks reversed every 25 trials or so.

References
----------
Behrens, T. E. J., Woolrich, M. W., Walton, M. E. & Rushworth, M. F. S. (2007). Learning
the value of information in an uncertain world. *Nature Neuroscience* 10(9), 1214-1221.
Sutton, R. S. & Barto, A. G. (2018). *Reinforcement Learning: An Introduction*, 2nd ed.,
ch. 2 (multi-armed bandits).

Used in: M3T1 Four modulators, four knobs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

Seed = int | np.random.Generator | None


@dataclass(frozen=True, eq=False)
class Bandit:
    """A bandit drawn in full.

    Attributes
    ----------
    p_reward : ndarray of shape (n_trials, n_arms)
        Reward probability of each arm on each trial.
    outcomes : ndarray of shape (n_trials, n_arms)
        The reward (0.0 or 1.0) each arm gives if chosen on that trial.
    change_points : ndarray of shape (n_changes,)
        Trials on which the probabilities changed (empty for a stationary bandit).
    """

    p_reward: np.ndarray
    outcomes: np.ndarray
    change_points: np.ndarray

    @property
    def n_trials(self) -> int:
        return self.p_reward.shape[0]

    @property
    def n_arms(self) -> int:
        return self.p_reward.shape[1]

    @property
    def best_arm(self) -> np.ndarray:
        """Arm with the highest reward probability on each trial, of shape (n_trials,)."""
        return np.argmax(self.p_reward, axis=1)


def _check_n_trials(n_trials) -> None:
    if not (isinstance(n_trials, (int, np.integer)) and n_trials >= 1):
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")


def stationary_bandit(p_arms, n_trials: int, seed: Seed = None) -> Bandit:
    """A bandit whose arms pay 1 with fixed probabilities ``p_arms``.

    Parameters
    ----------
    p_arms : array_like of shape (n_arms,)
        Reward probability of each arm, in [0, 1]; at least two arms.
    n_trials : int
    seed : int, numpy Generator or None
    """
    p = np.asarray(p_arms, dtype=float)
    if p.ndim != 1 or len(p) < 2 or np.any((p < 0) | (p > 1)):
        raise ValueError(f"p_arms must be >= 2 probabilities in [0, 1], got {p_arms!r}")
    _check_n_trials(n_trials)
    rng = np.random.default_rng(seed)
    p_reward = np.tile(p, (n_trials, 1))
    outcomes = (rng.random(p_reward.shape) < p_reward).astype(float)
    return Bandit(p_reward, outcomes, np.array([], dtype=int))


def volatile_bandit(
    n_trials: int,
    n_arms: int = 2,
    p_high: float = 0.8,
    p_low: float = 0.2,
    min_block: int = 30,
    max_block: int = 60,
    seed: Seed = None,
) -> Bandit:
    """A bandit whose good arm moves to another arm at random change points.

    Parameters
    ----------
    n_trials : int
    n_arms : int
        At least 2.
    p_high, p_low : float
        Reward probability of the good arm and of the others, ``0 <= p_low < p_high <= 1``.
    min_block, max_block : int
        Block lengths are drawn uniformly from ``[min_block, max_block]`` trials.
    seed : int, numpy Generator or None

    Returns
    -------
    Bandit
        The first good arm and each new one (always different from the previous) are
        drawn at random.
    """
    _check_n_trials(n_trials)
    if not (isinstance(n_arms, (int, np.integer)) and n_arms >= 2):
        raise ValueError(f"n_arms must be an integer >= 2, got {n_arms!r}")
    if not 0.0 <= p_low < p_high <= 1.0:
        raise ValueError(
            f"p_low={p_low!r} and p_high={p_high!r} must satisfy 0 <= p_low < p_high <= 1"
        )
    if not 1 <= min_block <= max_block:
        raise ValueError(
            f"min_block={min_block!r} and max_block={max_block!r} must satisfy "
            "1 <= min_block <= max_block"
        )
    rng = np.random.default_rng(seed)
    p_reward = np.full((n_trials, n_arms), p_low)
    change_points = []
    start, good = 0, int(rng.integers(n_arms))
    while start < n_trials:
        if start > 0:
            good = int((good + rng.integers(1, n_arms)) % n_arms)
            change_points.append(start)
        end = start + int(rng.integers(min_block, max_block + 1))
        p_reward[start:end, good] = p_high
        start = end
    outcomes = (rng.random(p_reward.shape) < p_reward).astype(float)
    return Bandit(p_reward, outcomes, np.array(change_points, dtype=int))


@dataclass(frozen=True, eq=False)
class BanditRun:
    """What :func:`run_bandit` returns.

    Attributes
    ----------
    choices : int ndarray of shape (n_trials,)
    rewards : ndarray of shape (n_trials,)
    q : ndarray of shape (n_trials, n_arms)
        The agent's values before each choice.
    alphas : ndarray of shape (n_trials,)
        Learning rate the agent used after each choice.
    """

    choices: np.ndarray
    rewards: np.ndarray
    q: np.ndarray
    alphas: np.ndarray


def run_bandit(agent, bandit: Bandit, seed: Seed = None, progress: bool = False) -> BanditRun:
    """Start ``agent`` afresh and let it play every trial of ``bandit``.

    Parameters
    ----------
    agent : SoftmaxAgent or any object with ``start(n_arms)``, ``act(rng)``,
        ``update(action, reward)`` and attributes ``q_`` and ``alpha_``.
    bandit : Bandit
    seed : int, numpy Generator or None
        Seeds the agent's choices (the rewards are fixed in ``bandit``).
    progress : bool
        Show a progress bar.

    Returns
    -------
    BanditRun
    """
    rng = np.random.default_rng(seed)
    agent.start(bandit.n_arms)
    n = bandit.n_trials
    choices = np.empty(n, dtype=int)
    rewards = np.empty(n)
    q = np.empty((n, bandit.n_arms))
    alphas = np.empty(n)
    for t in tqdm(range(n), desc="bandit trials", disable=not progress):
        q[t] = agent.q_
        choices[t] = agent.act(rng)
        rewards[t] = bandit.outcomes[t, choices[t]]
        agent.update(choices[t], rewards[t])
        alphas[t] = agent.alpha_
    return BanditRun(choices, rewards, q, alphas)


def reward_after_changes(run: BanditRun, bandit: Bandit, window: int) -> float:
    """Mean reward over the ``window`` trials that follow each change point.

    Raises ValueError when the bandit has no change point followed by a full window.
    """
    starts = [c for c in bandit.change_points if c + window <= bandit.n_trials]
    if window < 1 or not starts:
        raise ValueError(
            f"window={window!r}: need window >= 1 and a change point followed by "
            "that many trials"
        )
    return float(np.mean([run.rewards[c:c + window].mean() for c in starts]))
