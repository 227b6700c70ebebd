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

References
----------
Izhikevich, E. M. (2003). Simple model of spiking neurons. *IEEE Transactions on Neural
Networks* 14(6), 1569-1572. Presets from its figure 2.

Used in: M1T2 Cellular diversity.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

Method = Literal["euler", "paper"]
IZHIKEVICH_METHODS: tuple[str, ...] = ("euler", "paper")
#: The step of the paper's scheme, in ms.
PAPER_DT_MS = 1.0
#: Spike cut-off of the model, in mV.
V_PEAK_MV = 30.0


@dataclass(frozen=True)
class IzhikevichParams:
    """Parameters of an Izhikevich neuron; the defaults are regular spiking (RS).

    ``a`` (1/ms) is the rate of the recovery variable, ``b`` its sensitivity to ``v``,
    ``c`` (mV) the reset voltage and ``d`` (mV/ms) the jump of ``u`` at each spike.
    ``dt_ms`` is the step of the ``"euler"`` integrator: with 0.025 ms every preset's rate
    at ``I = 10`` lies within 1.5% of its small-step limit (0.1 ms: within 6%).
    """

    a: float = 0.02
    b: float = 0.2
    c: float = -65.0
    d: float = 8.0
    dt_ms: float = 0.025

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


def _check_method(method: str) -> None:
    if method not in IZHIKEVICH_METHODS:
        raise ValueError(f"method must be one of {IZHIKEVICH_METHODS}, got {method!r}")


def _dv_dt(v, u, i):
    return 0.04 * v * v + 5.0 * v + 140.0 - u + i


def izhikevich_step(v_mV, u, i, params: IzhikevichParams, method: Method = "euler"):
    """Advance Izhikevich neurons by one step of ``params.dt_ms``.

    Parameters
    ----------
    v_mV : ndarray of shape (n_neurons,)
        Membrane voltage before the step, in mV.
    u : ndarray of shape (n_neurons,)
        Recovery variable before the step, in mV/ms.
    i : float or ndarray broadcastable to ``v_mV``
        Input during the step, in mV/ms.
    params : IzhikevichParams
    method : {"euler", "paper"}

    Returns
    -------
    v_new, u_new : ndarrays of shape (n_neurons,)
        State after the step (``c`` and ``u + d`` for a neuron that spiked).
    spiked : boolean ndarray of shape (n_neurons,)

    Notes
    -----
    ``"euler"``: ``v' = v + dt f(v, u, I)``, ``u' = u + dt a (b v - u)`` with
    ``f = 0.04 v^2 + 5 v + 140 - u + I``. ``"paper"``: two half steps
    ``v <- v + dt/2 f(v, u, I)``, then ``u' = u + dt a (b v' - u)``. Then every neuron
    with ``v' >= 30`` spikes: ``v' <- c``, ``u' <- u' + d``.
    """
    _check_method(method)
    p, dt = params, params.dt_ms
    if method == "euler":
        v_new = v_mV + dt * _dv_dt(v_mV, u, i)
        u_new = u + dt * p.a * (p.b * v_mV - u)
    else:
        v_new = v_mV + 0.5 * dt * _dv_dt(v_mV, u, i)
        v_new = v_new + 0.5 * dt * _dv_dt(v_new, u, i)
        u_new = u + dt * p.a * (p.b * v_new - u)
    spiked = v_new >= V_PEAK_MV
    v_new = np.where(spiked, p.c, v_new)
    u_new = np.where(spiked, u_new + p.d, u_new)
    return v_new, u_new, spiked


@dataclass
class IzhikevichResult:
    """What :func:`simulate_izhikevich` returns (numpy arrays).

    Attributes
    ----------
    t_ms : ndarray of shape (n_steps,)
        Time at the end of each step.
    v_mV, u : ndarray of shape (n_steps, n_neurons), or None
        State after each step (``c`` in a step with a spike); None when not recorded.
    spikes : boolean ndarray of shape (n_steps, n_neurons)
    spike_times_ms : list of n_neurons ndarrays
    """

    t_ms: np.ndarray
    v_mV: np.ndarray | None
    u: np.ndarray | None
    spikes: np.ndarray
    spike_times_ms: list[np.ndarray] = field(repr=False)

    @property
    def spike_counts(self) -> np.ndarray:
        """Number of spikes of each neuron, of shape (n_neurons,)."""
        return self.spikes.sum(axis=0)

    @property
    def rates_hz(self) -> np.ndarray:
        """Mean firing rate of each neuron over the whole run, in Hz."""
        return self.spike_counts / (self.t_ms[-1] / 1000.0)


def current_matrix(current: ArrayLike, n_steps: int, name: str = "current") -> np.ndarray:
    """Broadcast a scalar, (n_neurons,) or (n_steps, n_neurons) input to 2-D float."""
    cur = np.asarray(current)
    cur = cur.astype(np.result_type(cur.dtype, np.float32), copy=False)
    if cur.ndim == 0:
        cur = cur.reshape(1)
    if cur.ndim == 1:
        cur = np.broadcast_to(cur, (n_steps, cur.shape[0]))
    if cur.ndim != 2 or cur.shape[0] != n_steps:
        raise ValueError(
            f"{name} must be a scalar, shape (n_neurons,) or shape (n_steps, n_neurons) "
            f"with n_steps={n_steps}; got shape {cur.shape}"
        )
    return cur


def spike_times_from_raster(spikes: np.ndarray, t_ms: np.ndarray) -> list[np.ndarray]:
    """Spike times of each neuron from a boolean raster of shape (n_steps, n_neurons)."""
    return [t_ms[spikes[:, j]] for j in range(spikes.shape[1])]


def simulate_izhikevich(
    params: IzhikevichParams,
    current: ArrayLike,
    t_ms: float,
    dt_ms: float | None = None,
    method: Method = "euler",
    v0_mV: ArrayLike = -65.0,
    record_v: bool = True,
) -> IzhikevichResult:
    """Simulate a batch of independent Izhikevich neurons for ``t_ms`` milliseconds.

    Parameters
    ----------
    params : IzhikevichParams
    current : float or ndarray of shape (n_neurons,) or (n_steps, n_neurons)
        Constant or time-varying input, in mV/ms (the paper's ``I``).
    t_ms : float
        Duration; ``n_steps = round(t_ms / dt_ms)``.
    dt_ms : float, optional
        Step. Default: ``params.dt_ms`` for ``"euler"``, 1 ms for ``"paper"``.
    method : {"euler", "paper"}
    v0_mV : float or ndarray of shape (n_neurons,)
        Initial voltage (the paper's -65 mV); ``u`` starts at ``b * v0``.
    record_v : bool
        Keep ``v`` and ``u`` (memory ``2 x n_steps x n_neurons``).

    Returns
    -------
    IzhikevichResult
    """
    _check_method(method)
    if not t_ms > 0:
        raise ValueError(f"t_ms must be positive, got {t_ms!r}")
    if dt_ms is None:
        dt_ms = params.dt_ms if method == "euler" else PAPER_DT_MS
    params = replace(params, dt_ms=dt_ms)
    n_steps = int(round(t_ms / dt_ms))
    cur = current_matrix(current, n_steps)
    n = cur.shape[1]
    v = np.broadcast_to(np.asarray(v0_mV, dtype=cur.dtype), (n,)).copy()
    u = params.b * v
    spikes = np.zeros((n_steps, n), dtype=bool)
    vs = np.empty((n_steps, n), dtype=cur.dtype) if record_v else None
    us = np.empty((n_steps, n), dtype=cur.dtype) if record_v else None
    for k in range(n_steps):
        v, u, spikes[k] = izhikevich_step(v, u, cur[k], params, method)
        if record_v:
            vs[k], us[k] = v, u
    t = np.arange(1, n_steps + 1) * dt_ms
    return IzhikevichResult(t, vs, us, spikes, spike_times_from_raster(spikes, t))


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
