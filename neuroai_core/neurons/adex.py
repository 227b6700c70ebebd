"""Adaptive exponential integrate-and-fire (AdEx) neuron (Brette & Gerstner 2005).

A LIF membrane with an exponential spike-initiation current and an adaptation current
``w``::

    C dV/dt = -g_L (V - E_L) + g_L Delta_T exp((V - V_T) / Delta_T) - w + I
    tau_w dw/dt = a (V - E_L) - w
    if V >= V_peak:  V <- V_reset,  w <- w + b

Near ``V_T`` the exponential takes over and ``V`` runs away to infinity in finite time;
the spike is declared when ``V`` reaches ``V_peak``. We use ``V_peak = V_T + 5 Delta_T``
(the practical cut-off of Brette's own simulations): there the exponential current is
already ``e^5 ~ 150`` times ``g_L Delta_T``, so the time left to infinity is negligible.
The exponent's argument is clipped at ``(V_peak - V_T) / Delta_T`` -- the largest value a
neuron below the peak can need -- so the exponential never overflows, whatever the input.

Integrator: forward Euler with step ``dt_ms``. Units: time in ms, voltage in mV,
capacitance in pF, conductance in nS, current (``I``, ``w``, ``b``) in nA.

The model follows the neuron contract (:mod:`neuroai_core.neurons.contract`):
``adex_step(current_nA, AdExState(v_mV, w_nA), params) -> (spikes, new_state)``;
``simulate(ADEX, params, current_nA, t_ms)`` runs it, on numpy arrays or torch tensors.

References
----------
Brette, R. & Gerstner, W. (2005). Adaptive exponential integrate-and-fire model as an
effective description of neuronal activity. *Journal of Neurophysiology* 94, 3637-3642.
The default parameters are that paper's cortical (regular spiking) cell.

Used in: M1T2 Cellular diversity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from neuroai_core.neurons.contract import NeuronModel, as_like, full_like, module_of


@dataclass(frozen=True)
class AdExParams:
    """Parameters of an AdEx neuron (units in the field names).

    Defaults: the cortical cell of Brette & Gerstner (2005), reset to the leak reversal
    potential, spike cut-off at ``V_T + 5 Delta_T = -40.4 mV``. With ``dt_ms = 0.1`` the
    spike counts of 500 ms steps of 0.6-2 nA (in 0.1 nA increments) are within one spike of
    those with 0.01 ms: equal at 13 of the 15 currents, one fewer at 1.6 and 1.7 nA (36
    against 37, 39 against 40).
    """

    c_m_pF: float = 281.0
    g_leak_nS: float = 30.0
    e_leak_mV: float = -70.6
    v_t_mV: float = -50.4
    delta_t_mV: float = 2.0
    tau_w_ms: float = 144.0
    a_nS: float = 4.0
    b_nA: float = 0.0805
    v_reset_mV: float = -70.6
    v_peak_mV: float = -40.4
    dt_ms: float = 0.1

    def __post_init__(self) -> None:
        for name in ("c_m_pF", "g_leak_nS", "delta_t_mV", "tau_w_ms", "dt_ms"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        if not self.v_peak_mV > self.v_t_mV:
            raise ValueError(
                f"v_peak_mV={self.v_peak_mV!r} must lie above v_t_mV={self.v_t_mV!r}"
            )
        if not self.v_reset_mV < self.v_peak_mV:
            raise ValueError(
                f"v_reset_mV={self.v_reset_mV!r} must lie below v_peak_mV={self.v_peak_mV!r}"
            )
        if self.dt_ms > self.tau_m_ms:
            raise ValueError(
                f"dt_ms={self.dt_ms!r} is larger than the membrane time constant "
                f"c_m_pF / g_leak_nS = {self.tau_m_ms:.3g} ms"
            )

    @property
    def tau_m_ms(self) -> float:
        """Membrane time constant ``C / g_L`` in ms (pF / nS = ms)."""
        return self.c_m_pF / self.g_leak_nS


#: Named presets; ``"cortical"`` is Brette & Gerstner (2005)'s regular spiking cell.
ADEX_PRESETS: dict[str, AdExParams] = {"cortical": AdExParams()}


class AdExState(NamedTuple):
    """State of AdEx neurons: arrays or tensors of shape (n_neurons,)."""

    v_mV: Any
    #: Adaptation current, in nA.
    w_nA: Any


def adex_initial_state(params: AdExParams, like, v0_mV=None) -> AdExState:
    """Neurons at ``v0_mV`` (default ``e_leak_mV``) with no adaptation current (``w = 0``).

    ``like`` (array or tensor of shape (n_neurons,)) gives the shape, module, float dtype
    and device.
    """
    like = like.reshape(1) if like.ndim == 0 else like
    v = full_like(like, params.e_leak_mV)
    if v0_mV is not None:
        v = v * 0 + as_like(v0_mV, v)
    return AdExState(v, v * 0)


def adex_step(current_nA, state: AdExState, params: AdExParams):
    """Advance AdEx neurons by one forward-Euler step of ``params.dt_ms``.

    Works on numpy arrays and on torch tensors alike (any device, any float dtype).

    Parameters
    ----------
    current_nA : float, array or tensor broadcastable to ``state.v_mV``
        Input current during the step, in nA.
    state : AdExState
        Voltage ``v_mV`` (mV) and adaptation current ``w_nA`` (nA), of shape (n_neurons,),
        before the step.
    params : AdExParams

    Returns
    -------
    spikes : boolean array or tensor of shape (n_neurons,)
    new_state : AdExState

    Notes
    -----
    ``V' = V + dt / C (g_L (E_L - V) + g_L Delta_T exp(x) - w + I)`` with
    ``x = min((V - V_T) / Delta_T, (V_peak - V_T) / Delta_T)``, and
    ``w' = w + dt / tau_w (a (V - E_L) - w)``; where ``V' >= V_peak``:
    ``V' <- V_reset``, ``w' <- w' + b``. (nS x mV = pA, hence the factors 1e-3.)
    """
    p = params
    v_mV, w_nA = state
    xp = module_of(v_mV)
    x_max = (p.v_peak_mV - p.v_t_mV) / p.delta_t_mV
    x = (v_mV - p.v_t_mV) / p.delta_t_mV
    x = np.minimum(x, x_max) if xp is np else x.clamp(max=x_max)
    leak_nA = 1e-3 * p.g_leak_nS * (p.e_leak_mV - v_mV + p.delta_t_mV * xp.exp(x))
    v_new = v_mV + p.dt_ms / (1e-3 * p.c_m_pF) * (leak_nA - w_nA + current_nA)
    w_new = w_nA + p.dt_ms / p.tau_w_ms * (1e-3 * p.a_nS * (v_mV - p.e_leak_mV) - w_nA)
    spiked = v_new >= p.v_peak_mV
    v_new = xp.where(spiked, p.v_reset_mV, v_new)
    w_new = xp.where(spiked, w_new + p.b_nA, w_new)
    return spiked, AdExState(v_new, w_new)


#: The AdEx model under the neuron contract.
ADEX = NeuronModel("adex", AdExParams, AdExState, adex_step, adex_initial_state, "current_nA")
