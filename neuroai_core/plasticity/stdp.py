"""Pair-based spike-timing-dependent plasticity (STDP).

The weight change caused by one pair of a presynaptic spike at ``t_pre`` and a
postsynaptic spike at ``t_post``, with ``dt = t_post - t_pre``, is the window::

    W(dt) =  A_plus  * exp(-dt / tau_plus)    for dt > 0  (pre before post: potentiation)
    W(dt) = -A_minus * exp( dt / tau_minus)   for dt < 0  (post before pre: depression)
    W(0)  = 0

For all-to-all pairing the total change is the sum of ``W`` over every pair. The online
implementation keeps one trace per side (Morrison, Diesmann & Gerstner 2008)::

    x_pre  decays with tau_plus,  jumps by 1 at each presynaptic spike
    y_post decays with tau_minus, jumps by 1 at each postsynaptic spike
    at a postsynaptic spike:  dw += A_plus  * x_pre
    at a presynaptic spike:   dw -= A_minus * y_post

The weight change of a step is read from the traces *before* they jump, so simultaneous
spikes add nothing, as ``W(0) = 0`` says. Both traces decay exactly
(``exp(-dt_ms / tau)`` per step), so for spikes on the time grid the online sum equals
the pairwise sum up to rounding.

References
----------
Bi, G.-q. & Poo, M.-m. (1998). Synaptic modifications in cultured hippocampal neurons.
*Journal of Neuroscience* 18(24), 10464-10472.
Song, S., Miller, K. D. & Abbott, L. F. (2000). Competitive Hebbian learning through
spike-timing-dependent synaptic plasticity. *Nature Neuroscience* 3(9), 919-926.
Morrison, A., Diesmann, M. & Gerstner, W. (2008). Phenomenological models of synaptic
plasticity based on spike timing. *Biological Cybernetics* 98(6), 459-478.

Used in: M2T1 Hebb and Oja; M2T3 Three-factor learning (as the Hebbian term of R-STDP).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class STDPParams:
    """Amplitudes (dimensionless weight units) and time constants of the STDP window.

    The defaults follow Song, Miller & Abbott (2000): 20 ms on both sides and depression
    slightly stronger than potentiation (``A_minus / A_plus = 1.05``), so that
    uncorrelated pre- and postsynaptic spikes weaken a synapse on average.
    """

    a_plus: float = 0.005
    a_minus: float = 0.00525
    tau_plus_ms: float = 20.0
    tau_minus_ms: float = 20.0

    def __post_init__(self) -> None:
        if not self.a_plus >= 0:
            raise ValueError(f"a_plus must be non-negative, got {self.a_plus!r}")
        if not self.a_minus >= 0:
            raise ValueError(f"a_minus must be non-negative, got {self.a_minus!r}")
        if not self.tau_plus_ms > 0:
            raise ValueError(f"tau_plus_ms must be positive, got {self.tau_plus_ms!r}")
        if not self.tau_minus_ms > 0:
            raise ValueError(f"tau_minus_ms must be positive, got {self.tau_minus_ms!r}")


def stdp_window(dt_ms, params: STDPParams) -> np.ndarray:
    """The pair-based STDP window ``W(dt)``.

    Parameters
    ----------
    dt_ms : float or array_like of any shape
        ``t_post - t_pre`` in ms.
    params : STDPParams

    Returns
    -------
    ndarray of the shape of ``dt_ms``
        Weight change per pair; positive for ``dt > 0``, negative for ``dt < 0``, 0 at 0.
    """
    dt = np.asarray(dt_ms, dtype=float)
    ltp = params.a_plus * np.exp(-np.abs(dt) / params.tau_plus_ms)
    ltd = -params.a_minus * np.exp(-np.abs(dt) / params.tau_minus_ms)
    return np.where(dt > 0, ltp, np.where(dt < 0, ltd, 0.0))


def stdp_pairwise(pre_times_ms, post_times_ms, params: STDPParams) -> float:
    """Total weight change of one synapse: ``W`` summed over all pre-post pairs.

    Parameters
    ----------
    pre_times_ms, post_times_ms : array_like of shape (n_pre,), (n_post,)
        Spike times in ms.
    params : STDPParams

    Returns
    -------
    float
    """
    pre = np.asarray(pre_times_ms, dtype=float).reshape(-1, 1)
    post = np.asarray(post_times_ms, dtype=float).reshape(1, -1)
    return float(stdp_window(post - pre, params).sum())


def stdp_trace_step(x_pre, y_post, pre_spike, post_spike, params: STDPParams, dt_ms: float):
    """Advance the STDP traces by one step and return the weight change of the step.

    Parameters
    ----------
    x_pre : ndarray of shape (..., n_pre)
        Presynaptic traces after the previous step.
    y_post : ndarray of shape (...,)
        Postsynaptic trace after the previous step.
    pre_spike : boolean ndarray of shape (..., n_pre)
        Presynaptic spikes in this step.
    post_spike : boolean ndarray of shape (...,)
        Postsynaptic spike in this step.
    params : STDPParams
    dt_ms : float
        Time step in ms.

    Returns
    -------
    dw : ndarray of shape (..., n_pre)
        ``A_plus x_pre [post spike] - A_minus y_post [pre spike]``, traces decayed to this
        step but before they jump.
    x_pre_new, y_post_new : ndarrays shaped like ``x_pre`` and ``y_post``

    Notes
    -----
    ``x <- x exp(-dt / tau_plus)``, ``y <- y exp(-dt / tau_minus)``; then ``dw`` from the
    decayed traces; then ``x += pre_spike``, ``y += post_spike``.
    """
    x = x_pre * math.exp(-dt_ms / params.tau_plus_ms)
    y = np.asarray(y_post, dtype=float) * math.exp(-dt_ms / params.tau_minus_ms)
    post = np.asarray(post_spike, dtype=float)[..., None]
    pre = np.asarray(pre_spike, dtype=float)
    dw = params.a_plus * x * post - params.a_minus * y[..., None] * pre
    return dw, x + pre, y + post[..., 0]


def stdp_online(pre_spikes, post_spikes, params: STDPParams, dt_ms: float) -> np.ndarray:
    """Weight change of each step from the online traces, for spike rasters on a grid.

    Parameters
    ----------
    pre_spikes : boolean array_like of shape (n_steps, n_pre)
        Presynaptic spikes; a spike in step ``k`` is at time ``k * dt_ms``.
    post_spikes : boolean array_like of shape (n_steps,)
        Postsynaptic spikes on the same grid.
    params : STDPParams
    dt_ms : float
        Time step in ms, positive.

    Returns
    -------
    ndarray of shape (n_steps, n_pre)
        Weight change of each synapse in each step; its sum over steps equals
        :func:`stdp_pairwise` for every synapse (all-to-all pairing).
    """
    if not dt_ms > 0:
        raise ValueError(f"dt_ms must be positive, got {dt_ms!r}")
    pre = np.asarray(pre_spikes, dtype=bool)
    post = np.asarray(post_spikes, dtype=bool)
    if pre.ndim != 2 or post.shape != pre.shape[:1]:
        raise ValueError(
            "pre_spikes must have shape (n_steps, n_pre) and post_spikes shape (n_steps,); "
            f"got {pre.shape} and {post.shape}"
        )
    x, y = np.zeros(pre.shape[1]), 0.0
    dw = np.zeros(pre.shape)
    for k in range(len(pre)):
        dw[k], x, y = stdp_trace_step(x, y, pre[k], post[k], params, dt_ms)
    return dw
