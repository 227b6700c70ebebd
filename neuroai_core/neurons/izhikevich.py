"""Izhikevich (2003) simple model of spiking neurons.

Two variables, four parameters, and the firing patterns of most cortical cell classes::

    v' = 0.04 v^2 + 5 v + 140 - u + I
    u' = a (b v - u)
    if v >= 30 mV:  v <- c,  u <- u + d

``v`` is the membrane voltage in mV, time is in ms, and ``u`` (the recovery variable) and
``I`` (the input) are in the model's own units of mV/ms, as in the paper.

Two integrators are offered and named, because the firing rates depend on them:

- ``"euler"``: forward Euler with a fine step (``dt_ms = 0.025`` by default), both
  variables advanced from the old state;
- ``"paper"``: the scheme of the paper's MATLAB code, one step of 1 ms in which ``v``
  takes two Euler half steps of 0.5 ms and ``u`` then takes one full step using the new
  ``v``. Coarse: at ``I = 10`` the fast classes fire two to four times slower than with
  fine Euler and IB's opening burst shrinks to a doublet (the tests record the rates).

In both, a neuron whose new ``v`` reaches 30 mV spikes in that step and is reset at once.
The integrator is a parameter (``IzhikevichParams.method``); the paper's scheme is
``replace(params, method="paper", dt_ms=PAPER_DT_MS)``.

The model follows the neuron contract (:mod:`neuroai_core.neurons.contract`):
``izhikevich_step(current, IzhikevichState(v_mV, u), params) -> (spikes, new_state)``;
``simulate(IZHIKEVICH, params, current, t_ms)`` runs it, on numpy arrays or torch tensors.

References
----------
Izhikevich, E. M. (2003). Simple model of spiking neurons. *IEEE Transactions on Neural
Networks* 14(6), 1569-1572. Presets from its figure 2.

Used in: M1T2 Cellular diversity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from neuroai_core.neurons.contract import NeuronModel, as_like, full_like, module_of

Method = Literal["euler", "paper"]
IZHIKEVICH_METHODS: tuple[str, ...] = ("euler", "paper")
#: The step of the paper's scheme, in ms.
PAPER_DT_MS = 1.0
#: Spike cut-off of the model, in mV.
V_PEAK_MV = 30.0
#: Resting voltage the paper starts from, in mV.
V0_MV = -65.0


@dataclass(frozen=True)
class IzhikevichParams:
    """Parameters of an Izhikevich neuron; the defaults are regular spiking (RS).

    ``a`` (1/ms) is the rate of the recovery variable, ``b`` its sensitivity to ``v``,
    ``c`` (mV) the reset voltage and ``d`` (mV/ms) the jump of ``u`` at each spike.
    ``dt_ms`` is the step: with 0.025 ms and ``"euler"`` every preset's rate at ``I = 10``
    lies within 1.5% of its small-step limit (0.1 ms: within 6%). ``method`` is the
    integrator, ``"euler"`` or ``"paper"`` (the paper's scheme is meant with
    ``dt_ms = PAPER_DT_MS = 1``).
    """

    a: float = 0.02
    b: float = 0.2
    c: float = -65.0
    d: float = 8.0
    dt_ms: float = 0.025
    method: Method = "euler"

    def __post_init__(self) -> None:
        if not self.a > 0:
            raise ValueError(f"a must be positive, got {self.a!r}")
        if not self.c < V_PEAK_MV:
            raise ValueError(f"c={self.c!r} must lie below the {V_PEAK_MV} mV spike peak")
        if not 0 < self.dt_ms <= PAPER_DT_MS:
            raise ValueError(
                f"dt_ms must lie in (0, {PAPER_DT_MS}] ms, got {self.dt_ms!r}: "
                "larger steps let the quadratic term blow up"
            )
        if self.method not in IZHIKEVICH_METHODS:
            raise ValueError(f"method must be one of {IZHIKEVICH_METHODS}, got {self.method!r}")


#: The seven cell classes of Izhikevich (2003), figure 2, as (a, b, c, d).
IZHIKEVICH_PRESETS: dict[str, IzhikevichParams] = {
    # regular spiking: excitatory cortical cells, adapting tonic firing (large d)
    "RS": IzhikevichParams(a=0.02, b=0.2, c=-65.0, d=8.0),
    # intrinsically bursting: an initial burst, then tonic spikes (high reset c)
    "IB": IzhikevichParams(a=0.02, b=0.2, c=-55.0, d=4.0),
    # chattering: repetitive bursts (highest reset, small d)
    "CH": IzhikevichParams(a=0.02, b=0.2, c=-50.0, d=2.0),
    # fast spiking: inhibitory interneurons, fast recovery (large a), little adaptation
    "FS": IzhikevichParams(a=0.1, b=0.2, c=-65.0, d=2.0),
    # low-threshold spiking: inhibitory interneurons, strong subthreshold coupling b
    "LTS": IzhikevichParams(a=0.02, b=0.25, c=-65.0, d=2.0),
    # thalamo-cortical: tonic when depolarised, rebound bursts after hyperpolarisation
    "TC": IzhikevichParams(a=0.02, b=0.25, c=-65.0, d=0.05),
    # resonator: subthreshold oscillations (fast a, b near the Hopf regime)
    "RZ": IzhikevichParams(a=0.1, b=0.26, c=-65.0, d=2.0),
}


class IzhikevichState(NamedTuple):
    """State of Izhikevich neurons: arrays or tensors of shape (n_neurons,)."""

    v_mV: Any
    #: Recovery variable, in mV/ms.
    u: Any


def izhikevich_initial_state(params: IzhikevichParams, like, v0_mV=None) -> IzhikevichState:
    """Neurons at ``v0_mV`` (default the paper's -65 mV) with ``u = b v``.

    ``like`` (array or tensor of shape (n_neurons,)) gives the shape, module, float dtype
    and device.
    """
    like = like.reshape(1) if like.ndim == 0 else like
    v = full_like(like, V0_MV)
    if v0_mV is not None:
        v = v * 0 + as_like(v0_mV, v)
    return IzhikevichState(v, params.b * v)


def _dv_dt(v, u, i):
    return 0.04 * v * v + 5.0 * v + 140.0 - u + i


def izhikevich_step(current, state: IzhikevichState, params: IzhikevichParams):
    """Advance Izhikevich neurons by one step of ``params.dt_ms``.

    Works on numpy arrays and on torch tensors alike (any device, any float dtype).

    Parameters
    ----------
    current : float, array or tensor broadcastable to ``state.v_mV``
        Input during the step, in mV/ms (the paper's ``I``).
    state : IzhikevichState
        ``v_mV`` (mV) and ``u`` (mV/ms), of shape (n_neurons,), before the step.
    params : IzhikevichParams

    Returns
    -------
    spikes : boolean array or tensor of shape (n_neurons,)
    new_state : IzhikevichState
        State after the step (``c`` and ``u + d`` for a neuron that spiked).

    Notes
    -----
    ``"euler"``: ``v' = v + dt f(v, u, I)``, ``u' = u + dt a (b v - u)`` with
    ``f = 0.04 v^2 + 5 v + 140 - u + I``. ``"paper"``: two half steps
    ``v <- v + dt/2 f(v, u, I)``, then ``u' = u + dt a (b v' - u)``. Then every neuron
    with ``v' >= 30`` spikes: ``v' <- c``, ``u' <- u' + d``.
    """
    p, dt = params, params.dt_ms
    v, u = state
    if p.method == "euler":
        v_new = v + dt * _dv_dt(v, u, current)
        u_new = u + dt * p.a * (p.b * v - u)
    else:
        v_new = v + 0.5 * dt * _dv_dt(v, u, current)
        v_new = v_new + 0.5 * dt * _dv_dt(v_new, u, current)
        u_new = u + dt * p.a * (p.b * v_new - u)
    xp = module_of(v_new)
    spiked = v_new >= V_PEAK_MV
    v_new = xp.where(spiked, p.c, v_new)
    u_new = xp.where(spiked, u_new + p.d, u_new)
    return spiked, IzhikevichState(v_new, u_new)


#: The Izhikevich model under the neuron contract.
IZHIKEVICH = NeuronModel("izhikevich", IzhikevichParams, IzhikevichState, izhikevich_step,
                         izhikevich_initial_state, "current")


FiringClass = Literal["silent", "regular", "bursting", "fast"]


def classify_firing(
    isi_ms: ArrayLike, burst_ratio: float = 3.0, fast_isi_ms: float = 10.0
) -> FiringClass:
    """Name a firing pattern from its inter-spike intervals (ISIs).

    Parameters
    ----------
    isi_ms : array_like of shape (n_intervals,)
        Inter-spike intervals in ms (``np.diff`` of the spike times), in any order.
    burst_ratio : float
        A jump by more than this factor between neighbouring sorted intervals separates
        intervals inside bursts from intervals between bursts.
    fast_isi_ms : float
        A train that does not burst and whose median interval is shorter than this
        fires "fast".

    Returns
    -------
    {"silent", "regular", "bursting", "fast"}

    Notes
    -----
    The rules, in order, with ``s`` the intervals sorted in increasing order:

    1. fewer than 2 intervals: ``"silent"``;
    2. ``s[j + 1] > burst_ratio * s[j]`` for some ``j >= 1`` (the intervals are bimodal,
       with at least two short ones, i.e. a burst of three spikes or more):
       ``"bursting"``;
    3. ``median(s) < fast_isi_ms``: ``"fast"``;
    4. otherwise ``"regular"``.

    Adaptation lengthens the intervals gradually, without such a jump, so an adapting
    train is not mistaken for bursting.
    """
    isi = np.asarray(isi_ms, dtype=float)
    if isi.ndim != 1:
        raise ValueError(f"isi_ms must be one-dimensional, got shape {isi.shape}")
    if len(isi) < 2:
        return "silent"
    s = np.sort(isi)
    if np.any(s[2:] > burst_ratio * s[1:-1]):
        return "bursting"
    if np.median(s) < fast_isi_ms:
        return "fast"
    return "regular"
