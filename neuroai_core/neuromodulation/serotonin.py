"""Serotonin and patience: the time horizon decides whether waiting is worth it.

Doya (2002) proposed that serotonin sets the discount factor ``gamma`` of reinforcement
learning, so that the horizon over which rewards count, about ``H = 1 / (1 - gamma)``
steps, grows with serotonergic activity. A reward ``R_late`` that arrives after ``d``
steps is worth ``gamma**d R_late`` now; against a smaller reward ``R_now`` available at
once, waiting pays while

    gamma**d R_late > R_now   <=>   d < t* = ln(R_now / R_late) / ln(gamma)

(for ``0 < R_now < R_late`` and ``0 < gamma < 1``): the longest delay worth waiting
for grows with the horizon, ``t* ~ H ln(R_late / R_now)`` for long horizons.

Miyazaki et al. (2014) made mice wait at a port for a delayed food reward and activated
dorsal raphe serotonin neurons optogenetically: on trials where the reward was omitted,
mice waited longer before giving up. :func:`simulate_waiting` is the simplest agent with
that experiment's structure: while it waits, the reward may come at every step with
probability ``q`` (a memoryless delay, mean ``1/q`` steps), so the value of waiting on is
the same at every step,

    V_wait = R_late * q gamma / (1 - (1 - q) gamma),

and at every step it gives up with probability ``h = 1 - sigmoid(beta (V_wait - R_now))``.
On omission trials its waiting time is geometric with mean ``1 / h``: longer horizons,
longer waits. That agent never learns anything while it waits: the omission probability
does not enter ``V_wait``, and ``q`` is a fixed timing hazard, not a belief.

**Waiting with a belief** (Miyazaki et al. 2018). A reward is scheduled on a trial with
prior probability ``p``; if it is, its delay ``D`` follows a distribution the agent knows,
with survival function ``S(t) = P(D > t)``. Having waited ``t`` without the reward, the
agent's posterior that the reward will still come is, by Bayes' rule,

    b(t) = p S(t) / (p S(t) + 1 - p),      logit b(t) = logit p + ln S(t)

(:func:`reward_belief`). The belief falls as time passes without the reward, slowly where
no delay is expected and steeply where one was. The agent gives up the first time the
belief falls to a threshold ``theta`` (:func:`give_up_time`). Miyazaki et al. (2018)
proposed that serotonin raises the prior (the subjective confidence that a reward will
come); :func:`serotonin_prior` adds a shift ``kappa`` to ``logit p``, which moves
``logit b(t)`` up by ``kappa`` at every ``t``. The agent's knowledge of the delays is blurred
in proportion to their length (scalar timing; :func:`scalar_timing_delays`).

References
----------
Doya, K. (2002). Metalearning and neuromodulation. *Neural Networks* 15(4-6), 495-506.
Miyazaki, K. W., Miyazaki, K., Tanaka, K. F., Yamanaka, A., Takahashi, A., Tabuchi, S.
& Doya, K. (2014). Optogenetic activation of dorsal raphe serotonin neurons enhances
patience for future rewards. *Current Biology* 24(17), 2033-2040.
Miyazaki, K., Miyazaki, K. W., Yamanaka, A., Tokuda, T., Tanaka, K. F. & Doya, K.
(2018). Reward probability and timing uncertainty alter the effect of dorsal raphe
serotonin neurons on patience. *Nature Communications* 9, 2048.
Gibbon, J. (1977). Scalar expectancy theory and Weber's law in animal timing.
*Psychological Review* 84(3), 279-325.

Used in: M3T3 Serotonin and histamine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _check_gamma(gamma) -> np.ndarray:
    g = np.asarray(gamma, dtype=float)
    if np.any(~np.isfinite(g)) or np.any(g < 0) or np.any(g > 1):
        raise ValueError(f"gamma must lie in [0, 1], got {gamma!r}")
    return g


def gamma_from_horizon(horizon_steps):
    """Discount factor of a horizon of ``H`` steps, ``gamma = 1 - 1/H`` (``H >= 1``).

    ``1 / (1 - gamma)`` is the mean of the geometric weighting ``(1-gamma) gamma**k``,
    the time scale over which rewards count (Doya 2002). Array in, array out.
    """
    h = np.asarray(horizon_steps, dtype=float)
    if np.any(~(h >= 1)):
        raise ValueError(f"horizon_steps must be at least 1, got {horizon_steps!r}")
    return 1.0 - 1.0 / h


def value_of_waiting(r_late, delay_steps, gamma):
    """Value now of a reward ``r_late`` that arrives after ``delay_steps``: ``gamma**d r``.

    Broadcasts over its arguments.
    """
    g = _check_gamma(gamma)
    d = np.asarray(delay_steps, dtype=float)
    if np.any(d < 0):
        raise ValueError(f"delay_steps must be non-negative, got {delay_steps!r}")
    return np.asarray(r_late, dtype=float) * np.power(g, d)


def indifference_delay(r_now, r_late, gamma):
    """The delay ``t* = ln(r_now / r_late) / ln(gamma)`` at which waiting for ``r_late``
    is worth exactly ``r_now``; waiting pays for shorter delays.

    Needs ``0 < r_now < r_late``; ``gamma = 1`` gives ``inf`` (never stop waiting),
    ``gamma = 0`` gives 0. Broadcasts over ``gamma``.
    """
    if not 0 < r_now < r_late:
        raise ValueError(f"need 0 < r_now < r_late, got r_now={r_now!r}, r_late={r_late!r}")
    g = _check_gamma(gamma)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.log(r_now / r_late) / np.log(g)
    return np.where(g >= 1, np.inf, np.where(g <= 0, 0.0, t))


def wait_value_memoryless(r_late, reward_prob, gamma):
    """Value of waiting on when the reward comes at each step with probability ``q``:
    ``r_late q gamma / (1 - (1 - q) gamma)`` (the geometric series
    ``sum_k gamma**k (1-q)**(k-1) q r_late``)."""
    g = _check_gamma(gamma)
    q = np.asarray(reward_prob, dtype=float)
    if np.any(~((q > 0) & (q <= 1))):
        raise ValueError(f"reward_prob must lie in (0, 1], got {reward_prob!r}")
    return np.asarray(r_late, dtype=float) * q * g / (1.0 - (1.0 - q) * g)


def give_up_probability(v_wait, r_now, beta):
    """Per-step probability of leaving, ``1 - sigmoid(beta (v_wait - r_now))``."""
    if not beta >= 0:
        raise ValueError(f"beta must be non-negative, got {beta!r}")
    return 1.0 / (1.0 + np.exp(beta * (np.asarray(v_wait, dtype=float) - r_now)))


@dataclass(frozen=True)
class WaitingTask:
    """A delayed-reward waiting task in the spirit of Miyazaki et al. (2014).

    Attributes
    ----------
    r_now : float
        Value of giving up (leaving to start again), in reward units.
    r_late : float
        The reward for waiting until it comes.
    mean_delay_steps : float
        The reward comes at each step with probability ``q = 1 / mean_delay_steps``
        (delays geometric, mean ``mean_delay_steps``); the agent knows ``q``.
    omission_prob : float
        Fraction of trials in which no reward comes at all (the test trials).
    beta : float
        Inverse temperature of the give-up decision, per reward unit.
    max_steps : int
        A trial ends after this many steps in any case.
    """

    r_now: float = 1.0
    r_late: float = 3.0
    mean_delay_steps: float = 10.0
    omission_prob: float = 0.25
    beta: float = 2.0
    max_steps: int = 500

    def __post_init__(self) -> None:
        if not 0 < self.r_now < self.r_late:
            raise ValueError(f"need 0 < r_now < r_late, got {self.r_now!r}, {self.r_late!r}")
        if not self.mean_delay_steps >= 1:
            raise ValueError(f"mean_delay_steps must be >= 1, got {self.mean_delay_steps!r}")
        if not 0 <= self.omission_prob <= 1:
            raise ValueError(f"omission_prob must lie in [0, 1], got {self.omission_prob!r}")
        if not self.beta >= 0:
            raise ValueError(f"beta must be non-negative, got {self.beta!r}")
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {self.max_steps!r}")


def simulate_waiting(gamma: float, task: WaitingTask | None = None, n_trials: int = 1000,
                     seed=None) -> dict[str, np.ndarray]:
    """Trials of the waiting task for an agent with discount factor ``gamma``.

    Each trial: with probability ``omission_prob`` the reward never comes, otherwise it
    comes after a delay ``D ~ Geometric(q)`` (``D >= 1``). At every step ``k = 1, 2, ...``
    the agent first gives up with probability ``h`` (see the module notes); if it stays
    and ``k == D`` it gets the reward.

    Returns
    -------
    dict of arrays of shape (n_trials,): ``wait_steps`` (steps waited: ``D`` when
    rewarded, otherwise the step it gave up at, or ``max_steps``), ``rewarded`` (bool),
    ``omission`` (bool); and ``give_up_prob`` (float, ``h``).
    """
    task = task or WaitingTask()
    if n_trials < 1:
        raise ValueError(f"n_trials must be at least 1, got {n_trials!r}")
    rng = np.random.default_rng(seed)
    q = 1.0 / task.mean_delay_steps
    h = float(give_up_probability(wait_value_memoryless(task.r_late, q, gamma), task.r_now,
                                  task.beta))
    omission = rng.random(n_trials) < task.omission_prob
    delay = rng.geometric(q, n_trials)
    leave = rng.geometric(h, n_trials) if h > 0 else np.full(n_trials, task.max_steps + 1)
    delay = np.where(omission, task.max_steps + 1, delay)
    rewarded = delay < leave  # the reward arrives before the step it would leave at
    rewarded &= delay <= task.max_steps
    wait = np.minimum(np.where(rewarded, delay, leave), task.max_steps)
    return dict(wait_steps=wait.astype(np.int64), rewarded=rewarded, omission=omission,
                give_up_prob=h)


# --- waiting with a belief (Miyazaki et al. 2018) ----------------------------------------


def _check_prior(prior, name: str = "prior") -> float:
    if not 0 <= prior < 1:
        raise ValueError(f"{name} must lie in [0, 1), got {prior!r}")
    return float(prior)


def _check_delays(delays_s, delay_probs) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(delays_s, dtype=float)
    w = np.asarray(delay_probs, dtype=float)
    if d.ndim != 1 or d.shape != w.shape or len(d) == 0:
        raise ValueError(f"delays_s and delay_probs must have one equal shape (n,), got "
                         f"{d.shape} and {w.shape}")
    if np.any(d < 0):
        raise ValueError(f"delays_s must be non-negative, got {delays_s!r}")
    if np.any(w < 0) or not np.isclose(w.sum(), 1.0):
        raise ValueError(f"delay_probs must be non-negative and sum to 1, got sum {w.sum()!r}")
    return d, w


def reward_belief(t_s, prior, delays_s, delay_probs):
    """Posterior probability that a reward will still come, after waiting ``t`` without it.

    Parameters
    ----------
    t_s : float or ndarray
        Time waited so far, in s.
    prior : float
        Probability, in [0, 1), that a reward is scheduled on this trial (before waiting).
    delays_s : ndarray of shape (n_delays,)
        The delays (s) at which a scheduled reward can come.
    delay_probs : ndarray of shape (n_delays,)
        Their probabilities (non-negative, summing to 1).

    Returns
    -------
    ndarray of the shape of ``t_s``
        ``P(reward will come | none by t)``, in [0, 1).

    Notes
    -----
    A reward that has not come by ``t`` has a delay ``D > t`` or was never scheduled; with
    ``S(t) = sum_{d_k > t} P(d_k)``, Bayes' rule gives

    .. math:: b(t) = \\frac{p\\,S(t)}{p\\,S(t) + 1 - p},

    so that ``logit b(t) = logit p + ln S(t)``. At ``t = 0`` (every ``d_k > 0``) the belief is
    the prior; it is 0 once every delay has passed.

    References
    ----------
    Miyazaki, K., Miyazaki, K. W., Yamanaka, A., Tokuda, T., Tanaka, K. F. & Doya, K.
    (2018). Reward probability and timing uncertainty alter the effect of dorsal raphe
    serotonin neurons on patience. *Nature Communications* 9, 2048.

    Used in: M3T3 Serotonin and histamine.
    """
    p = _check_prior(prior)
    d, w = _check_delays(delays_s, delay_probs)
    t = np.asarray(t_s, dtype=float)
    survival = (w[None, :] * (d[None, :] > t.reshape(-1, 1))).sum(axis=1).reshape(t.shape)
    return p * survival / (p * survival + 1.0 - p)


def serotonin_prior(prior, log_odds_shift):
    """The prior after serotonin raises the confidence that a reward will come.

    Parameters
    ----------
    prior : float or ndarray
        Probability in (0, 1).
    log_odds_shift : float
        ``kappa``, added to the log-odds (0: no change; positive: more confident).

    Returns
    -------
    ndarray of the shape of ``prior``: ``sigmoid(logit p + kappa)``.

    Notes
    -----
    .. math:: p' = \\frac{1}{1 + e^{-(\\ln\\frac{p}{1-p} + \\kappa)}}

    A shift of the log-odds is one way to write "more confident" (Miyazaki et al. 2018
    fit a change of the prior; the log-odds form is this course's choice).

    References
    ----------
    Miyazaki et al. (2018), as in :func:`reward_belief`.

    Used in: M3T3 Serotonin and histamine.
    """
    p = np.asarray(prior, dtype=float)
    if np.any(~((p > 0) & (p < 1))):
        raise ValueError(f"prior must lie in (0, 1), got {prior!r}")
    return 1.0 / (1.0 + np.exp(-(np.log(p / (1.0 - p)) + log_odds_shift)))


def scalar_timing_delays(delays_s, delay_probs, weber_fraction: float, step_s: float,
                         t_max_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The delay distribution as a timer with scalar noise believes it, on a grid.

    Parameters
    ----------
    delays_s, delay_probs : ndarrays of shape (n,)
        The task's delays (s, positive) and their probabilities.
    weber_fraction : float
        Standard deviation of the remembered delay per unit delay (> 0), e.g. 0.15.
    step_s, t_max_s : float
        The grid ``step, 2 step, ..., t_max`` (s).

    Returns
    -------
    grid_s : ndarray of shape (n_grid,)
    probs : ndarray of shape (n_grid,), summing to 1

    Notes
    -----
    Each delay ``d_k`` becomes a Gaussian of standard deviation ``w d_k`` (Weber's law of
    interval timing, Gibbon 1977), cut to the grid and normalised, weighted by ``P(d_k)``.

    References
    ----------
    Gibbon, J. (1977). Scalar expectancy theory and Weber's law in animal timing.
    *Psychological Review* 84(3), 279-325.

    Used in: M3T3 Serotonin and histamine.
    """
    d, w = _check_delays(delays_s, delay_probs)
    if not weber_fraction > 0:
        raise ValueError(f"weber_fraction must be positive, got {weber_fraction!r}")
    if not 0 < step_s < t_max_s:
        raise ValueError(f"need 0 < step_s < t_max_s, got step_s={step_s!r}, "
                         f"t_max_s={t_max_s!r}")
    if np.any(d <= 0):
        raise ValueError(f"delays_s must be positive, got {delays_s!r}")
    grid = step_s * np.arange(1, int(round(t_max_s / step_s)) + 1)
    probs = np.zeros_like(grid)
    for dk, wk in zip(d, w, strict=True):
        bump = np.exp(-0.5 * ((grid - dk) / (weber_fraction * dk)) ** 2)
        probs += wk * bump / bump.sum()
    return grid, probs / probs.sum()


def give_up_time(belief, t_s, threshold: float) -> float:
    """When an agent that waits while its belief is above ``threshold`` gives up.

    Parameters
    ----------
    belief : ndarray of shape (n_t,)
        The belief that the reward will still come, at the times ``t_s``.
    t_s : ndarray of shape (n_t,)
        Increasing times (s); the last one is the longest the agent can wait.
    threshold : float
        The belief at or below which leaving is better than staying, in [0, 1].

    Returns
    -------
    float
        The first ``t_s[k]`` with ``belief[k] <= threshold``, or ``t_s[-1]`` if there is none.

    Notes
    -----
    The threshold stands for the value of leaving (the next trial, other food) relative to
    the reward: staying pays while ``b(t) R > cost``, i.e. ``b(t) > theta = cost / R``.

    Used in: M3T3 Serotonin and histamine.
    """
    b = np.asarray(belief, dtype=float)
    t = np.asarray(t_s, dtype=float)
    if b.ndim != 1 or b.shape != t.shape or len(t) == 0:
        raise ValueError(f"belief and t_s must have one equal shape (n,), got {b.shape}, "
                         f"{t.shape}")
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold!r}")
    below = np.flatnonzero(b <= threshold)
    return float(t[below[0]] if len(below) else t[-1])
