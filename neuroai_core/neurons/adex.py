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

References
----------
Brette, R. & Gerstner, W. (2005). Adaptive exponential integrate-and-fire model as an
effective description of neuronal activity. *Journal of Neurophysiology* 94, 3637-3642.
The default parameters are that paper's cortical (regular spiking) cell.

Used in: M1T2 Cellular diversity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from neuroai_core.neurons.izhikevich import current_matrix, spike_times_from_raster


@dataclass(frozen=True)
class AdExParams:
    """Parameters of an AdEx neuron (units in the field names).

    Defaults: the cortical cell of Brette & Gerstner (2005), reset to the leak reversal
    potential, spike cut-off at ``V_T + 5 Delta_T = -40.4 mV``. With ``dt_ms = 0.1`` the
    spike counts for steps of 0.6-2 nA equal those with 0.01 ms.
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


def adex_step(v_mV, w_nA, i_nA, params: AdExParams):
    """Advance AdEx neurons by one forward-Euler step of ``params.dt_ms``.

    Parameters
    ----------
    v_mV, w_nA : ndarray of shape (n_neurons,)
        Voltage (mV) and adaptation current (nA) before the step.
    i_nA : float or ndarray broadcastable to ``v_mV``
        Input current during the step, in nA.
    params : AdExParams

    Returns
    -------
    v_new, w_new : ndarrays of shape (n_neurons,)
    spiked : boolean ndarray of shape (n_neurons,)

    Notes
    -----
    ``V' = V + dt / C (g_L (E_L - V) + g_L Delta_T exp(x) - w + I)`` with
    ``x = min((V - V_T) / Delta_T, (V_peak - V_T) / Delta_T)``, and
    ``w' = w + dt / tau_w (a (V - E_L) - w)``; where ``V' >= V_peak``:
    ``V' <- V_reset``, ``w' <- w' + b``. (nS x mV = pA, hence the factors 1e-3.)
    """
    p = params
    x = np.minimum((v_mV - p.v_t_mV) / p.delta_t_mV, (p.v_peak_mV - p.v_t_mV) / p.delta_t_mV)
    leak_nA = 1e-3 * p.g_leak_nS * (p.e_leak_mV - v_mV + p.delta_t_mV * np.exp(x))
    v_new = v_mV + p.dt_ms / (1e-3 * p.c_m_pF) * (leak_nA - w_nA + i_nA)
    w_new = w_nA + p.dt_ms / p.tau_w_ms * (1e-3 * p.a_nS * (v_mV - p.e_leak_mV) - w_nA)
    spiked = v_new >= p.v_peak_mV
    v_new = np.where(spiked, p.v_reset_mV, v_new)
    w_new = np.where(spiked, w_new + p.b_nA, w_new)
    return v_new, w_new, spiked


@dataclass
class AdExResult:
    """What :func:`simulate_adex` returns (numpy arrays).

    Attributes
    ----------
    t_ms : ndarray of shape (n_steps,)
    v_mV, w_nA : ndarray of shape (n_steps, n_neurons), or None when not recorded
    spikes : boolean ndarray of shape (n_steps, n_neurons)
    spike_times_ms : list of n_neurons ndarrays
    """

    t_ms: np.ndarray
    v_mV: np.ndarray | None
    w_nA: np.ndarray | None
    spikes: np.ndarray
    spike_times_ms: list[np.ndarray] = field(repr=False)

    @property
    def spike_counts(self) -> np.ndarray:
        """Number of spikes of each neuron, of shape (n_neurons,)."""
        return self.spikes.sum(axis=0)


def simulate_adex(
    params: AdExParams,
    current_nA: ArrayLike,
    t_ms: float,
    v0_mV: ArrayLike | None = None,
    record_v: bool = True,
) -> AdExResult:
    """Simulate a batch of independent AdEx neurons for ``t_ms`` milliseconds.

    Parameters
    ----------
    params : AdExParams
    current_nA : float or ndarray of shape (n_neurons,) or (n_steps, n_neurons)
        Constant or time-varying input current, in nA.
    t_ms : float
        Duration; ``n_steps = round(t_ms / dt_ms)``.
    v0_mV : float or ndarray of shape (n_neurons,), optional
        Initial voltage, default ``e_leak_mV``; ``w`` starts at 0.
    record_v : bool
        Keep ``V`` and ``w``.

    Returns
    -------
    AdExResult
    """
    if not t_ms > 0:
        raise ValueError(f"t_ms must be positive, got {t_ms!r}")
    n_steps = int(round(t_ms / params.dt_ms))
    cur = current_matrix(current_nA, n_steps, "current_nA")
    n = cur.shape[1]
    v0 = params.e_leak_mV if v0_mV is None else v0_mV
    v = np.broadcast_to(np.asarray(v0, dtype=cur.dtype), (n,)).copy()
    w = np.zeros(n, dtype=cur.dtype)
    spikes = np.zeros((n_steps, n), dtype=bool)
    vs = np.empty((n_steps, n), dtype=cur.dtype) if record_v else None
    ws = np.empty((n_steps, n), dtype=cur.dtype) if record_v else None
    for k in range(n_steps):
        v, w, spikes[k] = adex_step(v, w, cur[k], params)
        if record_v:
            vs[k], ws[k] = v, w
    t = np.arange(1, n_steps + 1) * params.dt_ms
    return AdExResult(t, vs, ws, spikes, spike_times_from_raster(spikes, t))
