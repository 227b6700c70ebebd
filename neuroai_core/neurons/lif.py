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

Both are one affine map per step, computed as ``V <- a V + g V_inf`` (exact:
``a = exp(-dt / tau_m)``, ``g = 1 - a``; Euler: ``g = dt / tau_m``, ``a = 1 - g``), the
same floating-point operations as the compiled kernel of :mod:`neuroai_core.neurons.fast`.
The integrator is a parameter (``LIFParams.method``). ``tau_m_ms`` may differ between
neurons (a heterogeneous population, Perez-Nieves et al. 2021): give one value per neuron.

The model follows the neuron contract (:mod:`neuroai_core.neurons.contract`):
``lif_step(current_nA, LIFState(v_mV, refractory_steps), params) -> (spikes, new_state)``;
``simulate(LIF, params, current_nA, t_ms)`` runs it.

Units: time in ms, voltage in mV, current in nA, resistance in MOhm (MOhm x nA = mV).

References
----------
Gerstner, Kistler, Naud & Paninski (2014). *Neuronal Dynamics*. Cambridge University
Press, ch. 1.3 (LIF) and eq. 1.14 (the f-I curve).
Perez-Nieves, N., Leung, V. C. H., Dragotti, P. L. & Goodman, D. F. M. (2021). Neural
heterogeneity promotes robust learning. *Nature Communications* 12, 5791.

Used in: M1T1 The leaky integrate-and-fire neuron.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np

from neuroai_core.neurons.contract import (
    NeuronModel,
    SimResult,
    as_like,
    full_like,
    module_of,
    simulate,
)

Method = Literal["exact", "euler"]
METHODS: tuple[str, ...] = ("exact", "euler")


@dataclass(frozen=True)
class LIFParams:
    """Parameters of a leaky integrate-and-fire neuron (units in the field names).

    The defaults are a textbook cortical cell (Gerstner et al. 2014): rest at -65 mV,
    threshold -50 mV, 10 ms membrane time constant, 10 MOhm input resistance, so the
    rheobase current is ``(theta - E_L) / R = 1.5 nA``.

    ``tau_m_ms`` is one number shared by all neurons, or a sequence with one time constant
    per neuron (stored as a tuple). ``method`` is the integrator, ``"exact"`` or
    ``"euler"``. One ``tau_m_ms`` below ``dt_ms`` is refused (almost surely a unit slip);
    per-neuron values below ``dt_ms`` are refused only with Euler, which is unstable there
    (the exact integrator is stable for any time constant).
    """

    tau_m_ms: float | tuple[float, ...] = 10.0
    e_leak_mV: float = -65.0
    v_reset_mV: float = -65.0
    v_threshold_mV: float = -50.0
    r_m_MOhm: float = 10.0
    t_ref_ms: float = 2.0
    dt_ms: float = 0.1
    method: Method = "exact"

    def __post_init__(self) -> None:
        tau = np.asarray(self.tau_m_ms, dtype=float)
        if tau.ndim > 1 or tau.size == 0 or not np.all(tau > 0):
            raise ValueError("tau_m_ms must be a positive number or a non-empty 1-D sequence "
                             f"of positive numbers, got {self.tau_m_ms!r}")
        if tau.ndim == 1:
            object.__setattr__(self, "tau_m_ms", tuple(float(t) for t in tau))
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if not self.dt_ms > 0:
            raise ValueError(f"dt_ms must be positive, got {self.dt_ms!r}")
        if tau.ndim == 0 and self.dt_ms > tau:
            raise ValueError(
                f"dt_ms={self.dt_ms!r} is larger than tau_m_ms={self.tau_m_ms!r}: "
                "the integration step must be smaller than the membrane time constant"
            )
        if tau.ndim == 1 and self.method == "euler" and self.dt_ms > tau.min():
            raise ValueError(f"tau_m_ms has a value {tau.min():.3g} ms below "
                             f"dt_ms={self.dt_ms!r} (unstable with Euler): use method='exact'")
        if not self.r_m_MOhm > 0:
            raise ValueError(f"r_m_MOhm must be positive, got {self.r_m_MOhm!r}")
        if not self.t_ref_ms >= 0:
            raise ValueError(f"t_ref_ms must be non-negative, got {self.t_ref_ms!r}")
        if not self.v_reset_mV < self.v_threshold_mV:
            raise ValueError(
                f"v_reset_mV={self.v_reset_mV!r} must lie below "
                f"v_threshold_mV={self.v_threshold_mV!r}"
            )
        # The affine map V <- decay V + gain V_inf of the integrator (see the module notes).
        if self.method == "exact":
            decay = np.exp(-self.dt_ms / tau)
            gain = 1.0 - decay
        else:
            gain = self.dt_ms / tau
            decay = 1.0 - gain
        if tau.ndim == 0:
            decay, gain = float(decay), float(gain)
        object.__setattr__(self, "_affine", (decay, gain))

    @property
    def ref_steps(self) -> int:
        """Length of the refractory period in whole time steps."""
        return int(round(self.t_ref_ms / self.dt_ms))

    @property
    def rheobase_nA(self) -> float:
        """Smallest constant current that eventually makes the neuron fire."""
        return (self.v_threshold_mV - self.e_leak_mV) / self.r_m_MOhm

    @property
    def affine(self) -> tuple[Any, Any]:
        """``(a, g)`` of the step ``V <- a V + g V_inf``: floats, or float64 ndarrays of
        shape (n_neurons,) for per-neuron time constants."""
        return self._affine


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


class LIFState(NamedTuple):
    """State of LIF neurons: arrays or tensors of shape (n_neurons,)."""

    v_mV: Any
    #: Refractory steps still to serve (integer); 0 for a neuron that integrates.
    refractory_steps: Any


def lif_initial_state(params: LIFParams, like, v0_mV=None) -> LIFState:
    """Neurons at rest (``e_leak_mV``, or ``v0_mV``), none refractory.

    ``like`` (array or tensor of shape (n_neurons,)) gives the shape, module, float dtype
    and device; a scalar float ``like`` is one neuron, or one per time constant when
    ``tau_m_ms`` has one per neuron.
    """
    like = like.reshape(1) if like.ndim == 0 else like
    if isinstance(params.tau_m_ms, tuple):  # one neuron per time constant
        n = len(params.tau_m_ms)
        if like.shape[-1] not in (1, n):
            raise ValueError(f"current_nA has {like.shape[-1]} neurons, tau_m_ms has {n}")
        like = like + as_like(np.zeros(n), like)
    v = full_like(like, params.e_leak_mV)
    if v0_mV is not None:
        v = v * 0 + as_like(v0_mV, v)
    xp = module_of(v)
    ref = (xp.zeros(v.shape, dtype=xp.int64, device=v.device) if xp is not np
           else np.zeros(v.shape, dtype=np.int64))
    return LIFState(v, ref)


def lif_step(current_nA, state: LIFState, params: LIFParams):
    """Advance LIF neurons by one time step ``params.dt_ms``.

    Works on numpy arrays and on torch tensors alike (any device, any float dtype).

    Parameters
    ----------
    current_nA : array, tensor or float, broadcastable to ``state.v_mV``
        Input current during the step, in nA.
    state : LIFState
        ``v_mV`` (shape (n_neurons,), mV) and ``refractory_steps`` (integers) before the
        step.
    params : LIFParams

    Returns
    -------
    spikes : boolean array or tensor of shape (n_neurons,)
    new_state : LIFState
        Voltage after the step (``v_reset_mV`` for a neuron that spiked or is refractory)
        and the refractory steps left.

    Notes
    -----
    Refractory neurons are held at ``V_reset`` and count down one step. The others
    integrate ``tau_m dV/dt = -(V - E_L) + R I`` with the chosen integrator,
    ``V <- a V + g (E_L + R I)`` (module notes); those reaching ``theta`` spike, reset to
    ``V_reset`` and start ``round(t_ref / dt)`` refractory steps.
    """
    p = params
    v, ref = state
    decay, gain = p.affine
    if not isinstance(decay, float):
        decay, gain = as_like(decay, v), as_like(gain, v)
    v_int = v * decay + gain * (p.e_leak_mV + p.r_m_MOhm * current_nA)
    xp = module_of(v_int)
    spiked = v_int >= p.v_threshold_mV
    if p.ref_steps == 0:  # no refractory period: nobody is held, the countdown stays 0
        return spiked, LIFState(xp.where(spiked, p.v_reset_mV, v_int), ref)
    refractory = ref > 0
    spiked = spiked & ~refractory
    v_new = xp.where(refractory | spiked, p.v_reset_mV, v_int)
    ref_new = xp.where(spiked, p.ref_steps, ref - refractory * 1)
    return spiked, LIFState(v_new, ref_new)


#: The LIF model under the neuron contract: ``simulate(LIF, params, current_nA, t_ms)``.
LIF = NeuronModel("lif", LIFParams, LIFState, lif_step, lif_initial_state, "current_nA")


def simulate_lif(
    params: LIFParams,
    current_nA,
    t_ms: float,
    v0_mV=None,
    record_v: bool = True,
) -> SimResult:
    """``simulate(LIF, ...)`` with the voltage recorded: the one-call form of M1T1.

    Parameters
    ----------
    params : LIFParams
    current_nA : float, array or tensor of shape (n_neurons,) or (n_steps, n_neurons)
    t_ms : float
    v0_mV : float, array or tensor of shape (n_neurons,), optional
        Initial voltage; defaults to ``e_leak_mV``.
    record_v : bool
        Record the state (``result.v_mV``) after every step.

    Returns
    -------
    SimResult
    """
    return simulate(LIF, params, current_nA, t_ms, v0_mV=v0_mV, record_states=record_v)


def lif_rate(params: LIFParams, current_nA) -> np.ndarray:
    """Analytic firing rate (Hz) of a LIF neuron for constant input current.

    Parameters
    ----------
    params : LIFParams
    current_nA : float or array_like of any shape (broadcastable against ``tau_m_ms``)

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
    tau = np.asarray(p.tau_m_ms)
    isi_ms = p.t_ref_ms + tau * np.log((safe - p.v_reset_mV) / (safe - p.v_threshold_mV))
    return np.where(above, 1000.0 / isi_ms, 0.0)
