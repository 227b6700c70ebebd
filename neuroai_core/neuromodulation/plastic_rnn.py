"""A recurrent network with neuromodulated differentiable plasticity ("Backpropamine").

Every recurrent connection has a fixed weight ``w_ij`` and a plastic part: a Hebbian trace
``Hebb_ij`` scaled by a learned plasticity coefficient ``alpha_ij``. The network itself
computes a neuromodulatory signal ``M(t)`` that decides, moment by moment, whether and
with which sign the trace takes in the current co-activity (Miconi et al. 2019, eqs. 1-2
with simple neuromodulation)::

    x_j(t)        = tanh( sum_i (w_ij + alpha_ij Hebb_ij(t)) x_i(t-1) + (W_in u(t))_j )
    M(t)          = tanh( w_M . x(t) + b_M )
    Hebb_ij(t+1)  = clip( Hebb_ij(t) + M(t) x_i(t-1) x_j(t), -1, 1 )

``w``, ``alpha``, ``W_in``, ``w_M`` and the read-out are learned by gradient descent across
many episodes; ``Hebb`` starts at zero in every episode and changes *within* it, so what
the network learns within an episode is stored in the trace. Written from the equations
of the paper (its code is not reused).

The task: in each episode a random half of ``n_cues`` cues is rewarded. Trial after
trial one cue is shown; the network predicts whether it will be rewarded, then receives
the reward (+1) or its absence (-1) as an input. It can only do better than chance by
learning, within the episode, which cues pay.

References
----------
Miconi, T., Rawal, A., Clune, J. & Stanley, K. O. (2019). Backpropamine: training
self-modifying neural networks with differentiable neuromodulated plasticity. *ICLR 2019*.
Miconi, T., Clune, J. & Stanley, K. O. (2018). Differentiable plasticity: training plastic
neural networks with backpropagation. *ICML 2018*.

Used in: M3T2 Neuromodulated plasticity.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from neuroai_core.torch_utils import single_thread, torch_generator

#: Time steps per trial: cue, cue again (the prediction is read here), cue with feedback.
STEPS_PER_TRIAL = 3
RESPONSE_STEP = 1


def hebbian_update(hebb: torch.Tensor, pre: torch.Tensor, post: torch.Tensor,
                   m: torch.Tensor, clip: float = 1.0) -> torch.Tensor:
    """Neuromodulated Hebbian trace update, ``clip(Hebb + M pre_i post_j)``.

    Parameters
    ----------
    hebb : tensor of shape (batch, n, n)
        The trace ``Hebb_ij`` (first index presynaptic, second postsynaptic).
    pre : tensor of shape (batch, n)
        Presynaptic activity ``x(t-1)``.
    post : tensor of shape (batch, n)
        Postsynaptic activity ``x(t)``.
    m : tensor of shape (batch,)
        Neuromodulatory signal ``M(t)``; ``M = 0`` leaves the trace unchanged.
    clip : float
        The trace is clipped to ``[-clip, clip]``.

    Returns
    -------
    tensor of shape (batch, n, n)

    Notes
    -----
    ``Hebb_ij(t+1) = clip(Hebb_ij(t) + M(t) x_i(t-1) x_j(t), -clip, clip)`` (Miconi et al.
    2019, simple neuromodulation). ``M > 0`` is Hebbian, ``M < 0`` anti-Hebbian.
    """
    outer = pre[:, :, None] * post[:, None, :]
    return torch.clamp(hebb + m[:, None, None] * outer, -clip, clip)


class PlasticState(NamedTuple):
    """Recurrent state: activity ``x`` (batch, n) and Hebbian trace (batch, n, n)."""

    x: torch.Tensor
    hebb: torch.Tensor


class PlasticRNN(nn.Module):
    """Recurrent tanh network with neuromodulated plastic recurrent weights.

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        Input, recurrent and output sizes.
    plastic : bool
        ``False`` gives the non-plastic control of the same size: ``alpha`` is fixed at
        zero, so the trace has no effect (the modulator and trace are still computed).
    clip : float
        Bound of the Hebbian trace.
    seed : int, numpy Generator or None
    """

    def __init__(self, n_in: int, n_hidden: int = 24, n_out: int = 1, plastic: bool = True,
                 clip: float = 1.0, seed=None):
        super().__init__()
        if n_in < 1 or n_hidden < 1 or n_out < 1:
            raise ValueError(f"layer sizes must be positive, got {(n_in, n_hidden, n_out)!r}")
        if not clip > 0:
            raise ValueError(f"clip must be positive, got {clip!r}")
        gen = torch_generator(seed)
        n = n_hidden
        self.clip = clip
        self.plastic = plastic
        self.w = nn.Parameter(0.5 * torch.randn(n, n, generator=gen) / n**0.5)
        alpha = 0.1 * torch.randn(n, n, generator=gen) / n**0.5
        self.alpha = nn.Parameter(alpha) if plastic else nn.Parameter(0 * alpha, False)
        self.w_in = nn.Parameter(torch.randn(n, n_in, generator=gen) / n_in**0.5)
        self.bias = nn.Parameter(torch.zeros(n))
        self.w_mod = nn.Parameter(torch.randn(n, generator=gen) / n**0.5)
        self.b_mod = nn.Parameter(torch.zeros(()))
        self.w_out = nn.Parameter(torch.randn(n_out, n, generator=gen) / n**0.5)
        self.b_out = nn.Parameter(torch.zeros(n_out))

    def initial_state(self, batch: int) -> PlasticState:
        """Zero activity and an empty trace."""
        n = self.w.shape[0]
        return PlasticState(self.w.new_zeros(batch, n), self.w.new_zeros(batch, n, n))

    def step(self, u: torch.Tensor, state: PlasticState
             ) -> tuple[torch.Tensor, torch.Tensor, PlasticState]:
        """One time step for input ``u`` (batch, n_in).

        Returns the output (batch, n_out), the modulator ``M(t)`` (batch,) and the new state.
        """
        effective = self.w + self.alpha * state.hebb  # (batch, n, n), index [i, j]
        drive = torch.einsum("bi,bij->bj", state.x, effective) + u @ self.w_in.T + self.bias
        x = torch.tanh(drive)
        m = torch.tanh(x @ self.w_mod + self.b_mod)
        hebb = hebbian_update(state.hebb, state.x, x, m, self.clip)
        return x @ self.w_out.T + self.b_out, m, PlasticState(x, hebb)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run whole episodes: ``inputs`` (batch, T, n_in) to outputs (batch, T, n_out)
        and modulator traces (batch, T)."""
        state = self.initial_state(inputs.shape[0])
        outs, mods = [], []
        for t in range(inputs.shape[1]):
            y, m, state = self.step(inputs[:, t], state)
            outs.append(y)
            mods.append(m)
        return torch.stack(outs, 1), torch.stack(mods, 1)


class CueRewardEpisodes(NamedTuple):
    """A batch of cue-reward episodes.

    inputs : (batch, T, n_cues + 1), one-hot cue and the feedback channel (+1 reward,
    -1 none, 0 before feedback); rewarded : (batch, n_trials) 0/1 target of each trial;
    cues : (batch, n_trials) the cue index of each trial; seen_before : (batch, n_trials)
    the cue was shown earlier in the episode (so its outcome could be known).
    """

    inputs: torch.Tensor
    rewarded: torch.Tensor
    cues: np.ndarray
    seen_before: np.ndarray


def cue_reward_episodes(n_episodes: int, n_cues: int = 6, n_trials: int = 18,
                        seed=None) -> CueRewardEpisodes:
    """Draw episodes of the within-episode cue-reward association task.

    Each episode draws which ``n_cues // 2`` cues are rewarded and a random sequence of
    ``n_trials`` cues. Trial ``k`` occupies steps ``3k`` (cue), ``3k + 1`` (cue; the
    prediction is read here) and ``3k + 2`` (cue and feedback).
    """
    if n_cues < 2:
        raise ValueError(f"n_cues must be at least 2, got {n_cues!r}")
    if n_episodes < 1 or n_trials < 1:
        raise ValueError(f"n_episodes and n_trials must be positive, got "
                         f"{n_episodes!r}, {n_trials!r}")
    rng = np.random.default_rng(seed)
    pays = np.zeros((n_episodes, n_cues))
    for e in range(n_episodes):
        pays[e, rng.choice(n_cues, n_cues // 2, replace=False)] = 1.0
    cues = rng.integers(n_cues, size=(n_episodes, n_trials))
    rewarded = np.take_along_axis(pays, cues, axis=1)
    inputs = np.zeros((n_episodes, n_trials, STEPS_PER_TRIAL, n_cues + 1), dtype=np.float32)
    inputs[:, :, :, :n_cues] = np.eye(n_cues, dtype=np.float32)[cues][:, :, None, :]
    inputs[:, :, STEPS_PER_TRIAL - 1, n_cues] = 2.0 * rewarded - 1.0
    seen = np.zeros_like(cues, dtype=bool)
    for k in range(1, n_trials):
        seen[:, k] = (cues[:, :k] == cues[:, k : k + 1]).any(axis=1)
    return CueRewardEpisodes(
        torch.from_numpy(inputs.reshape(n_episodes, n_trials * STEPS_PER_TRIAL, n_cues + 1)),
        torch.tensor(rewarded, dtype=torch.float32), cues, seen)


def predicted_logits(model: PlasticRNN, episodes: CueRewardEpisodes) -> torch.Tensor:
    """The model's reward prediction (logit) of every trial, shape (batch, n_trials)."""
    out, _ = model(episodes.inputs)
    return out[:, RESPONSE_STEP::STEPS_PER_TRIAL, 0]


def cue_reward_accuracy(model: PlasticRNN, episodes: CueRewardEpisodes) -> float:
    """Fraction of correct predictions on trials whose cue was seen before (chance 0.5)."""
    with torch.no_grad(), single_thread():
        logits = predicted_logits(model, episodes)
    correct = ((logits > 0).float() == episodes.rewarded).numpy()
    return float(correct[episodes.seen_before].mean())


def accuracy_by_presentation(model: PlasticRNN, episodes: CueRewardEpisodes,
                             max_showings: int = 4) -> np.ndarray:
    """Fraction correct on the 1st, 2nd, ... showing of a cue within its episode.

    Returns an array of shape (max_showings,); the last entry pools all later showings.
    On its first showing a cue's outcome is nearly a coin toss: only the outcomes of the
    other cues inform the guess (exactly half of the cues pay).
    """
    with torch.no_grad(), single_thread():
        logits = predicted_logits(model, episodes)
    correct = ((logits > 0).float() == episodes.rewarded).numpy()
    cues = episodes.cues
    showing = np.zeros_like(cues)
    for k in range(cues.shape[1]):
        showing[:, k] = (cues[:, :k] == cues[:, k : k + 1]).sum(axis=1)
    showing = np.minimum(showing, max_showings - 1)
    return np.array([correct[showing == s].mean() for s in range(max_showings)])


def train_plastic_rnn(model: PlasticRNN, n_iters: int = 300, batch: int = 32,
                      n_cues: int = 6, n_trials: int = 18, lr: float = 0.01, seed=None,
                      progress: bool = True) -> np.ndarray:
    """Train on fresh episodes with Adam and the logistic loss on every prediction.

    Returns the loss of every iteration. Gradients are clipped at norm 5. The defaults
    take about half a minute on one CPU core; the plastic network has converged after
    about 100 iterations (the loss of a perfect learner is about 0.2 here: the first
    showing of each cue in an episode is a coin toss).
    """
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    losses = np.empty(n_iters)
    with single_thread():
        for k in tqdm(range(n_iters), disable=not progress, desc="training"):
            ep = cue_reward_episodes(batch, n_cues, n_trials, seed=rng)
            loss = nn.functional.binary_cross_entropy_with_logits(
                predicted_logits(model, ep), ep.rewarded)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            losses[k] = loss.item()
    return losses
