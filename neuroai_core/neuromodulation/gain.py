"""Gain modulation: one network, several behaviours, selected by a modulatory signal.

A neuromodulatory (context) signal ``z`` does not carry the input; it changes how a
layer responds to it, by scaling and shifting each unit's net input (Vecoven et al.
2020)::

    y = f( g(z) * (W x) + b(z) )

where ``g(z)`` and ``b(z)`` are per-unit gains and biases produced by a small context
network. Without the modulatory path (``z`` absent, here: ``z = 0``) the gains and biases
are constants and the layer is an ordinary one.

The demonstration task is the context-dependent decision of Mante et al. (2013): a
stimulus has two features (think motion and colour); context 0 asks for the sign of the
first, context 1 for the sign of the second. Where the two signs agree the answer is
the same in both contexts ("congruent"); where they disagree ("conflicting") the same
input requires opposite answers, which no network blind to the context can give better
than chance.

References
----------
Vecoven, N., Ernst, D., Wehenkel, A. & Drion, G. (2020). Introducing neuromodulation in
deep neural networks to learn adaptive behaviours. *PLoS ONE* 15(1), e0227922.
Mante, V., Sussillo, D., Shenoy, K. V. & Newsome, W. T. (2013). Context-dependent
computation by recurrent dynamics in prefrontal cortex. *Nature* 503, 78-84.

Used in: M3T2 Neuromodulated plasticity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from neuroai_core.torch_utils import single_thread, torch_generator


def gain_modulated_forward(
    x: torch.Tensor,
    weight: torch.Tensor,
    gain: torch.Tensor,
    bias: torch.Tensor,
    activation: Callable[[torch.Tensor], torch.Tensor] = torch.tanh,
) -> torch.Tensor:
    """One gain-modulated layer, ``y = f(g * (W x) + b)``.

    Parameters
    ----------
    x : tensor of shape (batch, n_in)
    weight : tensor of shape (n_out, n_in)
        The fixed (context-independent) weights ``W``.
    gain, bias : tensors of shape (batch, n_out) or (n_out,)
        Per-unit gains ``g(z)`` and biases ``b(z)``.
    activation : callable, default ``torch.tanh``

    Returns
    -------
    tensor of shape (batch, n_out)

    Notes
    -----
    The gain multiplies the net input ``W x`` before the bias is added (Vecoven et al.
    2020, eq. 1 with the scale and bias computed from the context).
    """
    return activation(gain * (x @ weight.T) + bias)


class ContextGains(nn.Module):
    """The context network: modulatory signal ``z`` to per-unit gains and biases.

    ``h = tanh(A z + a)``, ``g = 1 + G h``, ``b = B h + c``. The ``1 +`` makes every gain
    start near one, so that an untrained modulated layer behaves like a plain one; with
    ``z = 0`` the gains are exactly one and the biases are the constants ``B tanh(a) + c``.
    """

    def __init__(self, n_context: int, n_units: int, n_hidden: int = 16, seed=None):
        super().__init__()
        for name, value in (("n_context", n_context), ("n_units", n_units),
                            ("n_hidden", n_hidden)):
            if value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        gen = torch_generator(seed)
        self.a_weight = nn.Parameter(torch.randn(n_hidden, n_context, generator=gen))
        self.a_bias = nn.Parameter(torch.zeros(n_hidden))
        self.g_weight = nn.Parameter(0.1 * torch.randn(n_units, n_hidden, generator=gen))
        self.b_weight = nn.Parameter(0.1 * torch.randn(n_units, n_hidden, generator=gen))
        self.b_bias = nn.Parameter(torch.zeros(n_units))

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Gains and biases, each of shape (batch, n_units), for ``z`` of shape
        (batch, n_context)."""
        h = torch.tanh(z @ self.a_weight.T + self.a_bias)
        return 1.0 + h @ self.g_weight.T, h @ self.b_weight.T + self.b_bias


class GainModulatedNet(nn.Module):
    """Input -> gain-modulated tanh layer -> linear read-out (one logit per output).

    ``forward(x, z)`` uses the context signal ``z``; ``forward(x)`` (``z=None``) feeds
    ``z = 0`` into the context network, i.e. the same network without its modulatory path.
    """

    def __init__(self, n_in: int = 2, n_hidden: int = 16, n_out: int = 1,
                 n_context: int = 2, seed=None):
        super().__init__()
        if n_in < 1 or n_hidden < 1 or n_out < 1:
            raise ValueError(f"layer sizes must be positive, got {(n_in, n_hidden, n_out)!r}")
        rng = np.random.default_rng(seed)
        gen = torch_generator(rng)
        self.n_context = n_context
        self.weight = nn.Parameter(torch.randn(n_hidden, n_in, generator=gen) / n_in**0.5)
        self.context = ContextGains(n_context, n_hidden, seed=rng)
        self.readout = nn.Parameter(torch.randn(n_out, n_hidden, generator=gen) / n_hidden**0.5)
        self.readout_bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of shape (batch, n_out) for ``x`` (batch, n_in), ``z`` (batch, n_context)."""
        if z is None:
            z = x.new_zeros(x.shape[0], self.n_context)
        gain, bias = self.context(z)
        h = gain_modulated_forward(x, self.weight, gain, bias)
        return h @ self.readout.T + self.readout_bias


class ContextTask(NamedTuple):
    """Trials of the two-context decision task (every stimulus appears in both contexts).

    x : (n_trials, 2) stimulus features; z : (n_trials, 2) one-hot context;
    y : (n_trials,) target 0/1; conflicting : (n_trials,) bool, the two features disagree.
    """

    x: torch.Tensor
    z: torch.Tensor
    y: torch.Tensor
    conflicting: torch.Tensor


def context_task(n_stimuli: int = 200, seed=None) -> ContextTask:
    """Draw ``n_stimuli`` stimuli uniform in [-1, 1]^2 and pose each in both contexts.

    Target: ``x[0] > 0`` in context 0, ``x[1] > 0`` in context 1. Returns
    ``2 * n_stimuli`` trials, the first half in context 0.
    """
    if n_stimuli < 1:
        raise ValueError(f"n_stimuli must be a positive integer, got {n_stimuli!r}")
    rng = np.random.default_rng(seed)
    s = rng.uniform(-1.0, 1.0, size=(n_stimuli, 2))
    x = np.concatenate([s, s])
    ctx = np.repeat([0, 1], n_stimuli)
    y = np.where(ctx == 0, x[:, 0] > 0, x[:, 1] > 0)
    conflicting = (x[:, 0] > 0) != (x[:, 1] > 0)
    return ContextTask(torch.tensor(x, dtype=torch.float32),
                       torch.eye(2, dtype=torch.float32)[ctx],
                       torch.tensor(y, dtype=torch.float32), torch.tensor(conflicting))


def context_accuracy(model: GainModulatedNet, task: ContextTask, use_context: bool = True,
                     ) -> dict[str, float]:
    """Fraction correct on all, congruent and conflicting trials."""
    with torch.no_grad():
        logits = model(task.x, task.z if use_context else None)[:, 0]
    correct = ((logits > 0).float() == task.y).float()
    return {"all": correct.mean().item(),
            "congruent": correct[~task.conflicting].mean().item(),
            "conflicting": correct[task.conflicting].mean().item()}


def train_context_net(model: GainModulatedNet, task: ContextTask, use_context: bool = True,
                      n_steps: int = 300, lr: float = 0.03, progress: bool = True) -> np.ndarray:
    """Full-batch Adam on the logistic loss; returns the loss at every step.

    ``use_context=False`` trains the same network without its modulatory path.
    """
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    z = task.z if use_context else None
    losses = np.empty(n_steps)
    with single_thread():
        for k in tqdm(range(n_steps), disable=not progress, desc="training"):
            loss = nn.functional.binary_cross_entropy_with_logits(model(task.x, z)[:, 0], task.y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses[k] = loss.item()
    return losses
