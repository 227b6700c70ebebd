"""Temporal-difference (TD) learning on a cue-reward chain: dopamine as a prediction error.

A trial is a row of ``n_steps`` time steps. A cue appears at step ``cue_step`` and a reward
of size ``reward`` follows at step ``reward_step``. As in Schultz, Dayan & Montague (1997)
the time since the cue is represented by a *tapped delay line* (a complete serial
compound): each step from the cue onwards is its own state with its own value ``V[t]``.
Before the cue nothing predicts the reward (the cue comes at an unpredictable moment in
the real experiment), so the states before the cue keep the value 0 and are never updated.

The TD(0) prediction error at step ``t``, written as in Schultz et al. (1997)::

    delta[t] = r[t] + gamma V[t] - V[t-1]          with V[-1] = 0

and, once ``delta[t]`` is known, the value of the state just left moves towards its
target::

    V[t-1] <- V[t-1] + alpha delta[t]              (only for t-1 >= cue_step)

Each state is visited once per trial and ``delta[t]`` reads ``V[t]`` before ``V[t]`` is
updated (at step ``t+1``), so updating online during the trial or after it gives the same
result. After learning, ``V[t] = gamma**(reward_step - 1 - t) * reward`` between cue and
reward, the error at the reward vanishes and an error ``gamma**(reward_step - cue_step)
* reward`` appears at the cue — the transfer of the dopamine response from the reward to
the reward-predicting cue that Schultz recorded in monkeys.

References
----------
Schultz, W., Dayan, P. & Montague, P. R. (1997). A neural substrate of prediction and
reward. *Science* 275(5306), 1593-1599.
Sutton, R. S. & Barto, A. G. (2018). *Reinforcement Learning: An Introduction*, 2nd ed.,
MIT Press, ch. 6 (TD(0)).

Used in: M2T2 Dopamine as a reward prediction error; M3T1 Four modulators, four knobs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm


@dataclass(frozen=True)
class TDChainParams:
    """A cue-reward trial and the TD learner's parameters (time in steps).

    The defaults: 20 steps per trial, cue at step 4, reward 1 at step 12 (8 steps later),
    no discounting within the trial (``gamma = 1``, as in Schultz et al. 1997) and a
    learning rate of 0.2.
    """

    n_steps: int = 20
    cue_step: int = 4
    reward_step: int = 12
    reward: float = 1.0
    gamma: float = 1.0
    alpha: float = 0.2

    def __post_init__(self) -> None:
        if not (isinstance(self.n_steps, int) and self.n_steps >= 3):
            raise ValueError(f"n_steps must be an integer >= 3, got {self.n_steps!r}")
        if not 1 <= self.cue_step < self.reward_step:
            raise ValueError(
                f"cue_step={self.cue_step!r} must satisfy 1 <= cue_step < "
                f"reward_step={self.reward_step!r}"
            )
        if not self.reward_step < self.n_steps:
            raise ValueError(
                f"reward_step={self.reward_step!r} must be smaller than "
                f"n_steps={self.n_steps!r}"
            )
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1], got {self.gamma!r}")
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"alpha must lie in (0, 1], got {self.alpha!r}")

    @property
    def delay_steps(self) -> int:
        """Steps from the cue to the reward."""
        return self.reward_step - self.cue_step

    def reward_vector(self, reward: float | None = None) -> np.ndarray:
        """Rewards of one trial, of shape (n_steps,): ``reward`` at ``reward_step``."""
        r = np.zeros(self.n_steps)
        r[self.reward_step] = self.reward if reward is None else reward
        return r


def td_errors(values: np.ndarray, rewards: np.ndarray, gamma: float) -> np.ndarray:
    """TD(0) prediction errors of one trial.

    Parameters
    ----------
    values : ndarray of shape (n_steps,)
        Value ``V[t]`` of the state at each step of the trial.
    rewards : ndarray of shape (n_steps,)
        Reward ``r[t]`` delivered at each step.
    gamma : float
        Discount factor per step, in [0, 1].

    Returns
    -------
    ndarray of shape (n_steps,)
        ``delta[t] = r[t] + gamma V[t] - V[t-1]``, with ``V[-1] = 0`` before the trial.

    Notes
    -----
    Schultz, Dayan & Montague (1997), the TD error written at the time the new state (and
    the reward) arrives.
    """
    v = np.asarray(values, dtype=float)
    r = np.asarray(rewards, dtype=float)
    if v.shape != r.shape or v.ndim != 1:
        raise ValueError(
            f"values and rewards must be 1-d of the same shape; got {v.shape} and {r.shape}"
        )
    v_prev = np.concatenate([[0.0], v[:-1]])
    return r + gamma * v - v_prev


def td_trial(
    values: np.ndarray, rewards: np.ndarray, params: TDChainParams
) -> tuple[np.ndarray, np.ndarray]:
    """Run one trial of TD(0): the prediction errors and the values after learning.

    Parameters
    ----------
    values : ndarray of shape (n_steps,)
        Values before the trial (entries before ``params.cue_step`` are expected to be 0).
    rewards : ndarray of shape (n_steps,)
    params : TDChainParams
        Uses ``gamma``, ``alpha`` and ``cue_step``.

    Returns
    -------
    deltas : ndarray of shape (n_steps,)
        ``delta[t] = r[t] + gamma V[t] - V[t-1]`` with the values before the trial.
    new_values : ndarray of shape (n_steps,)
        ``V[t-1] + alpha delta[t]`` for every state from the cue onwards (a new array;
        the input is not changed). The states before the cue and the last state keep
        their values.
    """
    deltas = td_errors(values, rewards, params.gamma)
    new_values = np.array(values, dtype=float)
    learn = np.arange(params.cue_step, len(new_values) - 1)
    new_values[learn] += params.alpha * deltas[learn + 1]
    return deltas, new_values


@dataclass(frozen=True, eq=False)
class TDRun:
    """What :func:`run_td_chain` returns.

    Attributes
    ----------
    deltas : ndarray of shape (n_trials, n_steps)
        Prediction error at every step of every trial (the model's dopamine signal).
    values : ndarray of shape (n_trials + 1, n_steps)
        Values before each trial, and after the last one.
    rewards : ndarray of shape (n_trials, n_steps)
        Rewards delivered.
    """

    deltas: np.ndarray
    values: np.ndarray
    rewards: np.ndarray


def run_td_chain(
    params: TDChainParams,
    n_trials: int,
    reward_sizes: np.ndarray | None = None,
    values0: np.ndarray | None = None,
    progress: bool = False,
) -> TDRun:
    """Learn the cue-reward chain by TD(0) over ``n_trials`` trials.

    Parameters
    ----------
    params : TDChainParams
    n_trials : int
        Number of trials, at least 1.
    reward_sizes : ndarray of shape (n_trials,), optional
        Reward delivered at ``reward_step`` on each trial (0 to omit it); defaults to
        ``params.reward`` on every trial.
    values0 : ndarray of shape (n_steps,), optional
        Values before the first trial (e.g. those of an earlier run); defaults to 0.
    progress : bool
        Show a progress bar.

    Returns
    -------
    TDRun
        Per-trial, per-step prediction errors (the error moving from the reward to the
        cue over trials), values and rewards.
    """
    if not (isinstance(n_trials, (int, np.integer)) and n_trials >= 1):
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    sizes = np.full(n_trials, params.reward) if reward_sizes is None else np.asarray(
        reward_sizes, dtype=float)
    if sizes.shape != (n_trials,):
        raise ValueError(f"reward_sizes must have shape ({n_trials},), got {sizes.shape}")
    v = np.zeros(params.n_steps) if values0 is None else np.array(values0, dtype=float)
    if v.shape != (params.n_steps,):
        raise ValueError(f"values0 must have shape ({params.n_steps},), got {v.shape}")
    deltas = np.empty((n_trials, params.n_steps))
    values = np.empty((n_trials + 1, params.n_steps))
    rewards = np.empty((n_trials, params.n_steps))
    values[0] = v
    for k in tqdm(range(n_trials), desc="TD trials", disable=not progress):
        rewards[k] = params.reward_vector(sizes[k])
        deltas[k], v = td_trial(v, rewards[k], params)
        values[k + 1] = v
    return TDRun(deltas=deltas, values=values, rewards=rewards)
