"""A fast back end for one job: spike counts of many independent LIF neurons with constant
input.

:func:`~neuroai_core.neurons.simulate` keeps the whole spike history and steps the model
through numpy or torch one step at a time: what a tutorial wants, and too slow for a
population of 10,000 neurons over 10,000 steps. :func:`simulate_lif_counts` runs the same
model (same :class:`LIFParams`, same units, same two integrators) in a kernel compiled by
numba that takes the neurons in blocks of :data:`BLOCK` and runs each block through all the
steps, so the block's state stays in the L1 cache and the loop over the block vectorises.
It keeps only the state and the spike counts, and optionally the spike trains.

It performs the floating-point operations of :func:`~neuroai_core.neurons.lif_step` in the
same order, ``V <- a V + g (E_L + R I)`` then threshold, reset and refractory countdown, so
its counts, trains and final voltages equal ``simulate(LIF, ...)``'s bit for bit (the tests
check it). Without numba (or with the environment variable ``NEUROAI_NO_NUMBA=1``) the
``"auto"`` back end runs ``simulate`` itself: the same numbers, slower.

References
----------
Gerstner, Kistler, Naud & Paninski (2014). *Neuronal Dynamics*, ch. 1.3 (the LIF model).
Rotter & Diesmann (1999). Exact digital simulation of time-invariant linear systems with
applications to neuronal modeling. *Biological Cybernetics* 81, 381-402 (the exact step).

Used in: the course's Performance page (``bench/lif.py``); M1T1 teaches the model.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Literal

import numpy as np

from neuroai_core.neurons.contract import simulate
from neuroai_core.neurons.lif import LIF, LIFParams, LIFState

Backend = Literal["auto", "numba", "simulate"]
BACKENDS: tuple[str, ...] = ("auto", "numba", "simulate")
#: Neurons per block of the numba kernel: its v, b, refractory steps and counts stay in L1.
BLOCK = 512


@dataclass
class LIFCounts:
    """What :func:`simulate_lif_counts` returns.

    Attributes
    ----------
    spike_counts : ndarray of shape (n_neurons,), int64
    v_mV : ndarray of shape (n_neurons,)
        Voltage after the last step.
    spikes : boolean ndarray of shape (n_steps, n_neurons), or None when not recorded
    backend : str
        ``"numba"`` or ``"simulate"``: which back end ran.
    """

    spike_counts: np.ndarray
    v_mV: np.ndarray
    spikes: np.ndarray | None
    backend: str


def numba_available() -> bool:
    """Whether numba can be imported (and ``NEUROAI_NO_NUMBA`` is not set)."""
    if os.environ.get("NEUROAI_NO_NUMBA", "") not in ("", "0"):
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def simulate_lif_counts(
    params: LIFParams,
    current_nA,
    t_ms: float,
    v0_mV=None,
    record_spikes: bool = False,
    backend: Backend = "auto",
    dtype=np.float64,
) -> LIFCounts:
    """Simulate independent LIF neurons with constant inputs; return their spike counts.

    Parameters
    ----------
    params : LIFParams
        ``LIF_PRESETS["benchmark"]`` is the dimensionless network of the performance page
        (tau 10 ms, dt 0.1 ms, threshold 1, reset 0, no refractory period). The integrator
        is ``params.method``; ``tau_m_ms`` must be one number.
    current_nA : array_like of shape (n_neurons,)
        Each neuron's constant input current, in nA.
    t_ms : float
        Duration; ``n_steps = round(t_ms / dt_ms)``.
    v0_mV : float or array_like of shape (n_neurons,), optional
        Initial voltage; defaults to ``e_leak_mV``.
    record_spikes : bool
        Also return the spike trains (memory ``n_steps x n_neurons`` bytes).
    backend : {"auto", "numba", "simulate"}
        ``"auto"`` takes numba when it is available, else ``simulate``.
    dtype : numpy float dtype
        float64 (default, as Brian2) or float32 (as torch's peers).

    Returns
    -------
    LIFCounts
    """
    v, cur, n_steps, use_numba = _prepare(params, current_nA, t_ms, v0_mV, backend, dtype)
    if not use_numba:
        res = simulate(LIF, params, cur, t_ms, state=LIFState(v, np.zeros(v.shape, np.int64)),
                       record_spikes=record_spikes)
        counts = np.asarray(res.spike_counts, dtype=np.int64)
        return LIFCounts(counts, res.final_state.v_mV, res.spikes, "simulate")
    decay, gain = params.affine
    dt = v.dtype.type
    # b = g (E_L + R I), each operation in the neurons' dtype, as lif_step computes it.
    b = dt(gain) * (dt(params.e_leak_mV) + dt(params.r_m_MOhm) * cur)
    counts = np.zeros(v.shape, dtype=np.int64)
    held = np.zeros(v.shape, dtype=np.int64)
    spikes = np.zeros((n_steps if record_spikes else 0, v.size), dtype=np.bool_)
    kernel = _compiled(record_spikes, params.ref_steps > 0)
    kernel(dt(decay), b, v, held, counts, spikes, n_steps, dt(params.v_threshold_mV),
           dt(params.v_reset_mV), params.ref_steps, BLOCK)
    return LIFCounts(counts, v, spikes if record_spikes else None, "numba")


def _prepare(params, current_nA, t_ms, v0_mV, backend, dtype):
    if not isinstance(params, LIFParams):
        raise ValueError(f"params must be a LIFParams, got {type(params).__name__}")
    if not isinstance(params.tau_m_ms, float | int):
        raise ValueError("params.tau_m_ms must be one number for simulate_lif_counts, got "
                         f"{len(params.tau_m_ms)} values: use simulate(LIF, ...)")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    if not (isinstance(t_ms, (int, float)) and t_ms > 0 and math.isfinite(t_ms)):
        raise ValueError(f"t_ms must be a positive number, got {t_ms!r}")
    n_steps = int(round(t_ms / params.dt_ms))
    if n_steps < 1:
        raise ValueError(f"t_ms={t_ms!r} is shorter than one step of dt_ms={params.dt_ms!r}")
    cur = np.asarray(current_nA, dtype=np.float64)
    if cur.ndim != 1 or cur.size == 0 or not np.all(np.isfinite(cur)):
        raise ValueError("current_nA must be a non-empty 1-D array of finite currents, "
                         f"got shape {cur.shape}")
    if backend == "numba" and not numba_available():
        raise ValueError("backend='numba' but numba is not installed (or NEUROAI_NO_NUMBA is "
                         "set): use backend='simulate' or 'auto'")
    v = np.full(cur.shape, params.e_leak_mV, dtype=dtype)
    if v0_mV is not None:
        v0 = np.broadcast_to(np.asarray(v0_mV, dtype=np.float64), cur.shape)
        if not np.all(np.isfinite(v0)):
            raise ValueError(f"v0_mV must be finite, got {v0_mV!r}")
        v[:] = v0
    use_numba = backend == "numba" or (backend == "auto" and numba_available())
    return v, cur.astype(dtype), n_steps, use_numba


def _make_kernel(record: bool, refractory: bool):
    """The kernel, as a plain Python function; ``record`` and ``refractory`` are constants
    of the closure, so numba compiles away the branches that do not apply."""

    def kernel(a, b, v, held, counts, spikes, n_steps, theta, reset, ref_steps, block):
        # Each block is copied into fresh scratch arrays: the compiler then knows that they
        # do not overlap and vectorises the loop over the block, whose state stays in L1.
        n = v.shape[0]
        bb, vb = np.empty(block, b.dtype), np.empty(block, v.dtype)
        hb, cb = np.empty(block, np.int64), np.empty(block, np.int64)
        sb = np.empty(block, np.bool_)
        for start in range(0, n, block):
            m = min(block, n - start)
            bb[:m], vb[:m] = b[start:start + m], v[start:start + m]
            hb[:m] = held[start:start + m]
            cb[:m] = 0
            for k in range(n_steps):
                for j in range(m):
                    x = a * vb[j] + bb[j]  # lif_step: v * decay + gain * (E_L + R I)
                    if refractory:
                        h = hb[j]
                        s = (x >= theta) & (h == 0)
                        vb[j] = reset if (s | (h > 0)) else x
                        hb[j] = ref_steps if s else max(h - 1, 0)
                    else:
                        s = x >= theta
                        vb[j] = reset if s else x
                    cb[j] += s
                    if record:
                        sb[j] = s
                if record:
                    spikes[k, start:start + m] = sb[:m]
            v[start:start + m] = vb[:m]
            held[start:start + m] = hb[:m]
            counts[start:start + m] += cb[:m]

    return kernel


_KERNELS: dict = {}


def _compiled(record: bool, refractory: bool):
    """The numba-compiled kernel for these constants (compiled once per process)."""
    key = (record, refractory)
    if key not in _KERNELS:
        import numba

        # No fastmath: the kernel must round exactly as numpy does (no fused multiply-add).
        _KERNELS[key] = numba.njit(cache=True, fastmath=False, error_model="numpy")(
            _make_kernel(record, refractory))
    return _KERNELS[key]
