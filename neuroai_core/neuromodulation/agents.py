"""Doya's four neuromodulators as the four knobs of a reinforcement-learning agent, and a
learner whose learning rate rises with surprise.

Doya (2002) proposed that the neuromodulators broadcast the *metaparameters* of
reinforcement learning: dopamine the TD error delta (the teaching signal), serotonin the
discount factor gamma (how far ahead rewards count), noradrenaline the inverse temperature
beta of action selection (exploitation versus exploration) and acetylcholine the learning
rate alpha (how fast memory is overwritten). The paper states the correspondence, not a
dose-response curve, so :class:`Neuromodulators` holds each level *in the units of the
parameter it sets* (a modelling convention of this course, stated in its docstring).

The action-value agent (Sutton & Barto 2018, ch. 2)::

    P(a) = exp(beta Q[a]) / sum_b exp(beta Q[b])          (softmax, beta = noradrenaline)
    delta = r - Q[a]                                        (one-step bandit: no next state)
    Q[a] <- Q[a] + alpha * DA * delta                      (alpha = acetylcholine)

where ``DA`` (dopamine) scales the teaching signal: 1 is intact, 0 is a dopamine-depleted
agent that no longer learns from reward. In a one-step bandit every choice ends the
episode, so gamma (serotonin) plays no role; it matters when rewards are delayed (see
:mod:`neuroai_core.neuromodulation.td` and :func:`discounted_value`).

The surprise-modulated learner follows Yu & Dayan (2005) in spirit: expected uncertainty
(which they tie to acetylcholine) is the noise the learner has come to expect, unexpected
uncertainty (tied to noradrenaline) is prediction error beyond it, which signals that the
world has changed and that old knowledge should be overwritten quickly. What is
implemented (see :class:`SurpriseLearner`) is a Pearce-Hall-like rule, not their full
Bayesian model: two running averages of the unsigned prediction error, a fast one
(current surprise) and a slow one (expected noise), and a learning rate that grows with
the fraction of current surprise that the slow average does not explain.

References
----------
Doya, K. (2002). Metalearning and neuromodulation. *Neural Networks* 15(4-6), 495-506.
Yu, A. J. & Dayan, P. (2005). Uncertainty, neuromodulation, and attention. *Neuron*
46(4), 681-692.
Pearce, J. M. & Hall, G. (1980). A model for Pavlovian learning. *Psychological Review*
87(6), 532-552.
Behrens, T. E. J., Woolrich, M. W., Walton, M. E. & Rushworth, M. F. S. (2007). Learning
the value of information in an uncertain world. *Nature Neuroscience* 10(9), 1214-1221.
Sutton, R. S. & Barto, A. G. (2018). *Reinforcement Learning: An Introduction*, 2nd ed.

Used in: M3T1 Four modulators, four knobs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Neuromodulators:
    """Levels of the four neuromodulators, each in the units of the knob it sets (Doya 2002).

    Attributes
    ----------
    dopamine : float, >= 0
        Gain on the TD error, the teaching signal (1 = intact, 0 = no learning from
        reward). Default 1.
    serotonin : float, in [0, 1]
        Discount factor gamma per step: the horizon of ``1 / (1 - gamma)`` steps over
        which rewards count. Default 0.9.
    acetylcholine : float, in (0, 1]
        Learning rate alpha. Default 0.1.
    noradrenaline : float, >= 0
        Inverse temperature beta of the softmax, in 1/(reward unit): 0 chooses at random,
        large values always pick the best-looking arm. Default 5.
    """

    dopamine: float = 1.0
    serotonin: float = 0.9
    acetylcholine: float = 0.1
    noradrenaline: float = 5.0

    def __post_init__(self) -> None:
        if not self.dopamine >= 0:
            raise ValueError(f"dopamine must be >= 0, got {self.dopamine!r}")
        if not 0.0 <= self.serotonin <= 1.0:
            raise ValueError(f"serotonin must lie in [0, 1], got {self.serotonin!r}")
        if not 0.0 < self.acetylcholine <= 1.0:
            raise ValueError(f"acetylcholine must lie in (0, 1], got {self.acetylcholine!r}")
        if not self.noradrenaline >= 0:
            raise ValueError(f"noradrenaline must be >= 0, got {self.noradrenaline!r}")

    @property
    def teaching_gain(self) -> float:
        """Dopamine: the factor multiplying the prediction error."""
        return self.dopamine

    @property
    def gamma(self) -> float:
        """Serotonin: the discount factor."""
        return self.serotonin

    @property
    def alpha(self) -> float:
        """Acetylcholine: the learning rate."""
        return self.acetylcholine

    @property
    def beta(self) -> float:
        """Noradrenaline: the inverse temperature."""
        return self.noradrenaline


def softmax_probabilities(q: np.ndarray, beta: float) -> np.ndarray:
    """Choice probabilities ``exp(beta q) / sum exp(beta q)`` over the last axis.

    Parameters
    ----------
    q : ndarray of shape (..., n_arms)
        Action values.
    beta : float
        Inverse temperature, >= 0.

    Returns
    -------
    ndarray of the shape of ``q``, summing to 1 over the last axis.

    Notes
    -----
    Computed as ``exp(beta (q - max q))`` to avoid overflow; subtracting a constant does
    not change the ratios.
    """
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, got {beta!r}")
    z = beta * np.asarray(q, dtype=float)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def q_update(
    q: np.ndarray, action: int, reward: float, alpha: float, dopamine: float = 1.0
) -> np.ndarray:
    """One action-value update of a bandit learner; returns a new array.

    ``Q[a] <- Q[a] + alpha * dopamine * (r - Q[a])``; the other entries are unchanged.

    Parameters
    ----------
    q : ndarray of shape (n_arms,)
    action : int
        The arm chosen.
    reward : float
        The reward it gave.
    alpha : float
        Learning rate, in (0, 1].
    dopamine : float
        Gain on the prediction error (1 = intact).
    """
    new = np.array(q, dtype=float)
    new[action] += alpha * dopamine * (reward - new[action])
    return new


def discounted_value(reward: float, delay_steps, gamma: float):
    """Value now of a reward arriving ``delay_steps`` later: ``gamma**delay * reward``."""
    return reward * np.power(gamma, delay_steps)


class SoftmaxAgent:
    """An action-value bandit agent whose knobs are the four neuromodulators.

    Parameters
    ----------
    modulators : Neuromodulators
        Noradrenaline sets beta, acetylcholine alpha, dopamine the gain on the error.
    q0 : float
        Initial value of every arm.

    Attributes
    ----------
    q_ : ndarray of shape (n_arms,)
        Current action values (after :meth:`start`).
    alpha_ : float
        Learning rate used by the last update.

    Notes
    -----
    ``P(a) = softmax(beta Q)[a]``; ``Q[a] <- Q[a] + alpha DA (r - Q[a])`` (Doya 2002).
    """

    def __init__(self, modulators: Neuromodulators | None = None, q0: float = 0.5) -> None:
        self.modulators = Neuromodulators() if modulators is None else modulators
        self.q0 = q0

    def start(self, n_arms: int) -> SoftmaxAgent:
        """Forget everything: all values ``q0``."""
        self.q_ = np.full(n_arms, float(self.q0))
        self.alpha_ = self.modulators.alpha
        return self

    def policy(self) -> np.ndarray:
        """Choice probabilities of shape (n_arms,)."""
        return softmax_probabilities(self.q_, self.modulators.beta)

    def act(self, rng: np.random.Generator) -> int:
        """Sample an arm from the softmax policy with the given generator (one uniform draw,
        inverted through the cumulative probabilities)."""
        cumulative = np.cumsum(self.policy())
        return int(min(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"),
                       len(cumulative) - 1))

    def learning_rate(self, delta: float) -> float:
        """The learning rate for this update: acetylcholine, fixed."""
        return self.modulators.alpha

    def update(self, action: int, reward: float) -> SoftmaxAgent:
        """Learn from one choice and its reward."""
        self.alpha_ = self.learning_rate(reward - self.q_[action])
        self.q_ = q_update(self.q_, action, reward, self.alpha_, self.modulators.dopamine)
        return self


def surprise_learning_rate(
    fast: float, slow: float, alpha_min: float, alpha_max: float
) -> float:
    """Learning rate that rises with unexpected uncertainty.

    ``alpha = alpha_min + (alpha_max - alpha_min) * max(0, 1 - slow / fast)``, i.e. the
    fraction of the current surprise ``fast`` not explained by the expected uncertainty
    ``slow`` (0 when ``fast <= slow``; ``alpha_min`` when ``fast`` is 0).
    """
    if fast <= slow or fast <= 0:
        return alpha_min
    return alpha_min + (alpha_max - alpha_min) * (1.0 - slow / fast)


def uncertainty_step(surprise: float, expected: float, delta: float, alpha_min: float,
                     alpha_max: float, eta_fast: float = 0.3, eta_slow: float = 0.02
                     ) -> tuple[float, float, float]:
    """One trial of the surprise learner: both uncertainty signals and the learning rate.

    Parameters
    ----------
    surprise : float
        Fast running average of ``|delta|`` before this trial: the current surprise.
    expected : float
        Slow running average of ``|delta|`` before this trial: the expected uncertainty,
        the size of the errors the learner has come to expect (acetylcholine's signal in
        Yu & Dayan's reading).
    delta : float
        This trial's reward-prediction error.
    alpha_min, alpha_max : float
        Range of the learning rate.
    eta_fast, eta_slow : float
        Update rates of the two averages, ``0 < eta_slow < eta_fast <= 1``.

    Returns
    -------
    surprise, expected, alpha : float
        Both averages after this trial, and the learning rate they give.

    Notes
    -----
    .. math::

        f \\leftarrow f + \\eta_f (|\\delta| - f), \\qquad
        u \\leftarrow u + \\eta_s (|\\delta| - u), \\qquad
        \\alpha = \\alpha_\\min + (\\alpha_\\max - \\alpha_\\min)\\max(0, 1 - u / f)

    (``alpha_min`` when ``f <= 0``). ``1 - u/f`` is the share of the current surprise that
    the expected uncertainty does not explain: the unexpected uncertainty that Yu & Dayan
    (2005) tied to noradrenaline. Their model computes both uncertainties exactly in a
    hidden-context task; this rule estimates them from past errors (Pearce & Hall 1980 in
    spirit).

    References
    ----------
    Yu, A. J. & Dayan, P. (2005). Uncertainty, neuromodulation, and attention. *Neuron*
    46(4), 681-692.
    Pearce, J. M. & Hall, G. (1980). A model for Pavlovian learning: variations in the
    effectiveness of conditioned but not of unconditioned stimuli. *Psychological Review*
    87(6), 532-552.

    Used in: M3T1 Four modulators (exercise 3), through :class:`SurpriseLearner`.
    """
    if not 0 < eta_slow < eta_fast <= 1:
        raise ValueError(f"eta_slow={eta_slow!r} and eta_fast={eta_fast!r} must satisfy "
                         "0 < eta_slow < eta_fast <= 1")
    surprise = surprise + eta_fast * (abs(delta) - surprise)
    expected = expected + eta_slow * (abs(delta) - expected)
    return surprise, expected, surprise_learning_rate(surprise, expected, alpha_min, alpha_max)


class SurpriseLearner(SoftmaxAgent):
    """A softmax agent whose learning rate rises with surprise (Yu & Dayan 2005 in spirit).

    Parameters
    ----------
    modulators : Neuromodulators
        Noradrenaline sets beta and dopamine the error gain; acetylcholine is ignored
        (the learning rate is computed on every trial).
    alpha_min, alpha_max : float
        Range of the learning rate, ``0 < alpha_min <= alpha_max <= 1``.
    eta_fast, eta_slow : float
        Update rates of the two running averages of ``|delta|`` (timescales of about
        ``1 / eta`` trials), ``0 < eta_slow < eta_fast <= 1``.
    q0 : float

    Notes
    -----
    On each trial, with ``delta = r - Q[a]``::

        fast <- fast + eta_fast (|delta| - fast)     current surprise
        slow <- slow + eta_slow (|delta| - slow)     expected uncertainty (ACh)
        alpha = alpha_min + (alpha_max - alpha_min) max(0, 1 - slow / fast)
        Q[a] <- Q[a] + alpha DA delta

    In a stationary world both averages settle near the mean ``|delta|`` and ``alpha``
    stays near ``alpha_min``; after a change point the errors grow, ``fast`` rises before
    ``slow`` follows, and ``alpha`` rises for a few trials (with the defaults, in a
    0.8/0.2 reversal task, to about 0.2-0.3 at the peaks; ``alpha_max`` would need
    ``slow / fast`` near 0): the unexpected uncertainty of Yu & Dayan (2005). Like
    Pearce & Hall (1980), associability follows recent unsigned prediction errors;
    unlike Pearce-Hall, it is relative to the errors the learner has come to expect, so
    steady reward noise alone does not keep it high.
    """

    def __init__(
        self,
        modulators: Neuromodulators | None = None,
        alpha_min: float = 0.05,
        alpha_max: float = 0.8,
        eta_fast: float = 0.3,
        eta_slow: float = 0.02,
        q0: float = 0.5,
    ) -> None:
        if not 0 < alpha_min <= alpha_max <= 1:
            raise ValueError(
                f"alpha_min={alpha_min!r} and alpha_max={alpha_max!r} must satisfy "
                "0 < alpha_min <= alpha_max <= 1"
            )
        if not 0 < eta_slow < eta_fast <= 1:
            raise ValueError(
                f"eta_slow={eta_slow!r} and eta_fast={eta_fast!r} must satisfy "
                "0 < eta_slow < eta_fast <= 1"
            )
        super().__init__(modulators, q0)
        self.alpha_min, self.alpha_max = alpha_min, alpha_max
        self.eta_fast, self.eta_slow = eta_fast, eta_slow

    def start(self, n_arms: int) -> SurpriseLearner:
        """Forget everything; both surprise averages start at 0.5, an uninformed guess."""
        super().start(n_arms)
        self.fast_, self.slow_ = 0.5, 0.5
        self.alpha_ = self.alpha_min
        return self

    def learning_rate(self, delta: float) -> float:
        """Update both surprise averages with ``|delta|`` and return the learning rate
        (:func:`uncertainty_step`)."""
        self.fast_, self.slow_, alpha = uncertainty_step(
            self.fast_, self.slow_, delta, self.alpha_min, self.alpha_max, self.eta_fast,
            self.eta_slow)
        return alpha
