"""Leaky integrate-and-fire (LIF) neuron.

The membrane equation (Lapicque 1907; Gerstner et al. 2014, ch. 1.3)::

    tau_m dV/dt = -(V - E_L) + R I

with a spike when ``V >= theta``, a reset to ``V_reset`` and a refractory period
``t_ref`` during which the voltage is clamped at ``V_reset``.

Two integrators are offered and named:

- ``"exact"``: the exact solution for input held constant over one step,
  ``V <- V_inf + (V - V_inf) exp(-dt / tau_m)`` with ``V_inf = E_L + R I``
  (what Brian2 does for this linear equation);
- ``"euler"``: forward Euler, ``V <- V + dt / tau_m (V_inf - V)``, i.e. a decay factor
  ``1 - dt / tau_m`` (what Norse does).

Units: time in ms, voltage in mV, current in nA, resistance in MOhm (MOhm x nA = mV).

References
----------
Gerstner, Kistler, Naud & Paninski (2014). *Neuronal Dynamics*. Cambridge University
Press, ch. 1.3 (LIF) and eq. 1.14 (the f-I curve).

Used in: M1T1 The leaky integrate-and-fire neuron.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

Method = Literal["exact", "euler"]
METHODS: tuple[str, ...] = ("exact", "euler")


@dataclass(frozen=True)
class LIFParams:
    """Parameters of a leaky integrate-and-fire neuron (units in the field names).

    The defaults are a textbook cortical cell (Gerstner et al. 2014): rest at -65 mV,
    threshold -50 mV, 10 ms membrane time constant, 10 MOhm input resistance, so the
    rheobase current is ``(theta - E_L) / R = 1.5 nA``.
    """

    tau_m_ms: float = 10.0
    e_leak_mV: float = -65.0
    v_reset_mV: float = -65.0
    v_threshold_mV: float = -50.0
    r_m_MOhm: float = 10.0
    t_ref_ms: float = 2.0
    dt_ms: float = 0.1

    def __post_init__(self) -> None:
        if not self.tau_m_ms > 0:
            raise ValueError(f"tau_m_ms must be positive, got {self.tau_m_ms!r}")
        if not self.dt_ms > 0:
            raise ValueError(f"dt_ms must be positive, got {self.dt_ms!r}")
        if self.dt_ms > self.tau_m_ms:
            raise ValueError(
                f"dt_ms={self.dt_ms!r} is larger than tau_m_ms={self.tau_m_ms!r}: "
                "the integration step must be smaller than the membrane time constant"
            )
        if not self.r_m_MOhm > 0:
            raise ValueError(f"r_m_MOhm must be positive, got {self.r_m_MOhm!r}")
        if not self.t_ref_ms >= 0:
            raise ValueError(f"t_ref_ms must be non-negative, got {self.t_ref_ms!r}")
        if not self.v_reset_mV < self.v_threshold_mV:
            raise ValueError(
                f"v_reset_mV={self.v_reset_mV!r} must lie below "
                f"v_threshold_mV={self.v_threshold_mV!r}"
            )

    @property
    def ref_steps(self) -> int:
        """Length of the refractory period in whole time steps."""
        return int(round(self.t_ref_ms / self.dt_ms))

    @property
    def rheobase_nA(self) -> float:
        """Smallest constant current that eventually makes the neuron fire."""
        return (self.v_threshold_mV - self.e_leak_mV) / self.r_m_MOhm


#: Named presets. ``"textbook"`` is the default cell; ``"benchmark"`` is the
#: dimensionless network of the performance comparison (tau 10 ms, dt 0.1 ms,
#: threshold 1, reset 0, no refractory period), written in the same units.
LIF_PRESETS: dict[str, LIFParams] = {
    "textbook": LIFParams(),
    "benchmark": LIFParams(
        tau_m_ms=10.0, e_leak_mV=0.0, v_reset_mV=0.0, v_threshold_mV=1.0,
        r_m_MOhm=1.0, t_ref_ms=0.0, dt_ms=0.1,
    ),
}


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def lif_step(v_mV, i_nA, ref_steps, params: LIFParams, method: Method = "exact"):
    """Advance LIF neurons by one time step ``params.dt_ms``.

    Works on numpy arrays and on torch tensors alike (any device, any float dtype).

    Parameters
    ----------
    v_mV : array or tensor of shape (n_neurons,)
        Membrane voltage before the step, in mV.
    i_nA : array, tensor or float, broadcastable to ``v_mV``
        Input current during the step, in nA.
    ref_steps : integer array or tensor of shape (n_neurons,)
        Refractory steps still to serve; 0 for a neuron that integrates.
    params : LIFParams
    method : {"exact", "euler"}

    Returns
    -------
    v_new : same type and shape as ``v_mV``
        Voltage after the step (``v_reset_mV`` for a neuron that spiked).
    spiked : boolean array or tensor of shape (n_neurons,)
    ref_new : integer array or tensor of shape (n_neurons,)

    Notes
    -----
    Refractory neurons are held at ``V_reset`` and count down one step. The others
    integrate ``tau_m dV/dt = -(V - E_L) + R I`` with the chosen integrator; those
    reaching ``theta`` spike, reset to ``V_reset`` and start ``round(t_ref / dt)``
    refractory steps.
    """
    _check_method(method)
    p = params
    v_inf = p.e_leak_mV + p.r_m_MOhm * i_nA
    if method == "exact":
        v_int = v_inf + (v_mV - v_inf) * math.exp(-p.dt_ms / p.tau_m_ms)
    else:
        v_int = v_mV + (p.dt_ms / p.tau_m_ms) * (v_inf - v_mV)
    xp = torch if isinstance(v_mV, torch.Tensor) else np
    refractory = ref_steps > 0
    spiked = (v_int >= p.v_threshold_mV) & ~refractory
    v_new = xp.where(refractory | spiked, xp.full_like(v_int, p.v_reset_mV), v_int)
    ref_new = xp.where(spiked, xp.full_like(ref_steps, p.ref_steps), ref_steps - refractory * 1)
    return v_new, spiked, ref_new


@dataclass
class LIFResult:
    """What :func:`simulate_lif` returns.

    Attributes
    ----------
    t_ms : ndarray of shape (n_steps,)
        Time at the end of each step.
    v_mV : array or tensor of shape (n_steps, n_neurons), or None
        Voltage after each step; None when not recorded.
    spikes : boolean array or tensor of shape (n_steps, n_neurons)
    spike_times_ms : list of n_neurons ndarrays
        Spike times of each neuron.
    """

    t_ms: np.ndarray
    v_mV: np.ndarray | torch.Tensor | None
    spikes: np.ndarray | torch.Tensor
    spike_times_ms: list[np.ndarray] = field(repr=False)

    @property
    def spike_counts(self) -> np.ndarray:
        """Number of spikes of each neuron, of shape (n_neurons,)."""
        return np.array([len(s) for s in self.spike_times_ms])


def _as_current(current_nA, n_steps: int):
    """Return a float tensor of shape (n_steps, n_neurons) and whether input was numpy."""
    was_numpy = not isinstance(current_nA, torch.Tensor)
    cur = torch.as_tensor(np.asarray(current_nA) if was_numpy else current_nA)
    if not cur.is_floating_point():
        cur = cur.to(torch.get_default_dtype())
    if cur.ndim == 0:
        cur = cur.reshape(1)
    if cur.ndim == 1:
        cur = cur.expand(n_steps, cur.shape[0])
    if cur.ndim != 2 or cur.shape[0] != n_steps:
        raise ValueError(
            "current_nA must be a scalar, shape (n_neurons,) or shape (n_steps, n_neurons) "
            f"with n_steps={n_steps}; got shape {tuple(cur.shape)}"
        )
    return cur, was_numpy


def simulate_lif(
    params: LIFParams,
    current_nA,
    t_ms: float,
    method: Method = "exact",
    v0_mV=None,
    record_v: bool = True,
) -> LIFResult:
    """Simulate a batch of independent LIF neurons for ``t_ms`` milliseconds.

    Parameters
    ----------
    params : LIFParams
    current_nA : float, array or tensor of shape (n_neurons,) or (n_steps, n_neurons)
        Constant or time-varying input current, in nA. A tensor's device and dtype are
        kept; numpy input gives numpy output.
    t_ms : float
        Duration; ``n_steps = round(t_ms / dt_ms)``.
    method : {"exact", "euler"}
    v0_mV : float, array or tensor of shape (n_neurons,), optional
        Initial voltage; defaults to ``e_leak_mV``.
    record_v : bool
        Keep the voltage trace (memory ``n_steps x n_neurons``); spikes are always kept.

    Returns
    -------
    LIFResult
    """
    _check_method(method)
    if not t_ms > 0:
        raise ValueError(f"t_ms must be positive, got {t_ms!r}")
    n_steps = int(round(t_ms / params.dt_ms))
    cur, was_numpy = _as_current(current_nA, n_steps)
    n = cur.shape[1]
    v = torch.full((n,), params.e_leak_mV, dtype=cur.dtype, device=cur.device)
    if v0_mV is not None:
        v = v + torch.as_tensor(v0_mV, dtype=cur.dtype, device=cur.device) - params.e_leak_mV
    ref = torch.zeros(n, dtype=torch.int64, device=cur.device)
    spikes = torch.zeros((n_steps, n), dtype=torch.bool, device=cur.device)
    vs = torch.empty((n_steps, n), dtype=cur.dtype, device=cur.device) if record_v else None
    for k in range(n_steps):
        v, spikes[k], ref = lif_step(v, cur[k], ref, params, method)
        if vs is not None:
            vs[k] = v
    t = (np.arange(1, n_steps + 1) * params.dt_ms)
    steps, neurons = torch.nonzero(spikes, as_tuple=True)
    steps, neurons = steps.cpu().numpy(), neurons.cpu().numpy()
    times = [t[steps[neurons == j]] for j in range(n)]
    if was_numpy:
        return LIFResult(t, None if vs is None else vs.cpu().numpy(), spikes.cpu().numpy(), times)
    return LIFResult(t, vs, spikes, times)


def lif_rate(params: LIFParams, current_nA) -> np.ndarray:
    """Analytic firing rate (Hz) of a LIF neuron for constant input current.

    Parameters
    ----------
    params : LIFParams
    current_nA : float or array_like of any shape

    Returns
    -------
    ndarray of the shape of ``current_nA``, in Hz.

    Notes
    -----
    Above rheobase (``R I > theta - E_L``) the inter-spike interval is the refractory
    period plus the time to climb from ``V_reset`` to ``theta``::

        f = 1 / (t_ref + tau_m ln((R I + E_L - V_reset) / (R I + E_L - theta)))

    and ``f = 0`` below (Gerstner et al. 2014, eq. 1.14 with refractoriness).
    """
    p = params
    drive = p.r_m_MOhm * np.asarray(current_nA, dtype=float) + p.e_leak_mV
    above = drive > p.v_threshold_mV
    safe = np.where(above, drive, p.v_threshold_mV + 1.0)
    isi_ms = p.t_ref_ms + p.tau_m_ms * np.log((safe - p.v_reset_mV) / (safe - p.v_threshold_mV))
    return np.where(above, 1000.0 / isi_ms, 0.0)
