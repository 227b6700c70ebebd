"""A fast simulator of many independent LIF neurons with constant input: spike counts.

:func:`simulate_lif` keeps the whole voltage and spike history in torch, which is what a
tutorial wants and far too slow for a population of 10,000 neurons over 10,000 steps.
:func:`simulate_lif_counts` steps the same equation (same :class:`LIFParams`, same units,
same two integrators) but keeps only the state and the spike counts, and optionally the
spike trains. Both integrators are one affine map per step, written ``V <- a V + b``:

- ``"exact"``: ``a = exp(-dt / tau_m)``, ``b = (1 - a) V_inf`` with ``V_inf = E_L + R I``
  (the exact solution for input held constant over the step, as Brian2 integrates it);
- ``"euler"``: ``a = 1 - dt / tau_m``, ``b = (dt / tau_m) V_inf`` (forward Euler, as Norse).

It is a genuine time-stepped simulation: every neuron is advanced through every step.
Two back ends compute the same floating-point operations in the same order and give the
same spike counts bit for bit:

- ``"numba"`` (used when numba is installed, e.g. on Colab): a compiled kernel that takes
  the neurons in blocks of :data:`BLOCK` and runs each block through all the steps, so the
  block's state stays in the L1 cache and the loop over the block vectorises;
- ``"numpy"``: a time loop of in-place ufuncs over all neurons (no dependency beyond
  numpy). Set the environment variable ``NEUROAI_NO_NUMBA=1`` to make ``"auto"`` pick it.

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

from neuroai_core.neurons.lif import LIFParams, Method, _check_method

Backend = Literal["auto", "numba", "numpy"]
BACKENDS: tuple[str, ...] = ("auto", "numba", "numpy")
#: Neurons per block of the numba kernel: its v, b and counts (12 KiB) stay in L1.
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
        ``"numba"`` or ``"numpy"``: which back end ran.
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


def affine_coefficients(params: LIFParams, current_nA, method: Method = "exact", dtype=np.float64):
    """The ``a`` and ``b`` of the step ``V <- a V + b`` (see the module notes).

    Returns
    -------
    a : numpy scalar of type ``dtype``, shared by all neurons (they share ``tau_m``)
    b : ndarray of shape (n_neurons,) and dtype ``dtype``
    """
    _check_method(method)
    p = params
    v_inf = p.e_leak_mV + p.r_m_MOhm * np.asarray(current_nA, dtype=np.float64)
    if method == "exact":
        decay = math.exp(-p.dt_ms / p.tau_m_ms)
        gain = 1.0 - decay
    else:
        gain = p.dt_ms / p.tau_m_ms
        decay = 1.0 - gain
    return np.dtype(dtype).type(decay), (gain * v_inf).astype(dtype)


def simulate_lif_counts(
    params: LIFParams,
    current_nA,
    t_ms: float,
    method: Method = "exact",
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
        (tau 10 ms, dt 0.1 ms, threshold 1, reset 0, no refractory period).
    current_nA : array_like of shape (n_neurons,)
        Each neuron's constant input current, in nA.
    t_ms : float
        Duration; ``n_steps = round(t_ms / dt_ms)``.
    method : {"exact", "euler"}
    v0_mV : float or array_like of shape (n_neurons,), optional
        Initial voltage; defaults to ``e_leak_mV``.
    record_spikes : bool
        Also return the spike trains (memory ``n_steps x n_neurons`` bytes).
    backend : {"auto", "numba", "numpy"}
        ``"auto"`` takes numba when it is available.
    dtype : numpy float dtype
        float64 (default, as Brian2) or float32 (as torch's peers).

    Returns
    -------
    LIFCounts

    Notes
    -----
    Per step and neuron: a refractory neuron stays at ``V_reset`` and counts down;
    otherwise ``V <- a V + b`` and, if ``V >= theta``, the neuron spikes, resets to
    ``V_reset`` and starts ``round(t_ref / dt)`` refractory steps. This is
    :func:`~neuroai_core.neurons.lif_step`'s update, with the integrator written as an
    affine map (so the last bits of ``V`` may differ from it).
    """
    v, a, b, n_steps, use_numba = _prepare(params, current_nA, t_ms, method, v0_mV, backend, dtype)
    counts = np.zeros(v.shape, dtype=np.int64)
    spikes = np.zeros((n_steps, v.size), dtype=np.bool_) if record_spikes else None
    theta, reset = v.dtype.type(params.v_threshold_mV), v.dtype.type(params.v_reset_mV)
    if use_numba:
        kernel = _compiled("record" if record_spikes else "count", params.ref_steps > 0)
        out = spikes if record_spikes else np.zeros((0, 0), dtype=np.bool_)
        kernel(a, b, v, counts, out, n_steps, theta, reset, params.ref_steps, BLOCK)
    else:
        _run_numpy(a, b, v, counts, spikes, n_steps, theta, reset, params.ref_steps)
    return LIFCounts(counts, v, spikes, "numba" if use_numba else "numpy")


def _prepare(params, current_nA, t_ms, method, v0_mV, backend, dtype):
    if not isinstance(params, LIFParams):
        raise ValueError(f"params must be a LIFParams, got {type(params).__name__}")
    _check_method(method)
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
                         "set): use backend='numpy' or 'auto'")
    a, b = affine_coefficients(params, cur, method, dtype)
    v = np.full(cur.shape, params.e_leak_mV, dtype=dtype)
    if v0_mV is not None:
        v0 = np.broadcast_to(np.asarray(v0_mV, dtype=np.float64), cur.shape)
        if not np.all(np.isfinite(v0)):
            raise ValueError(f"v0_mV must be finite, got {v0_mV!r}")
        v[:] = v0
    use_numba = backend == "numba" or (backend == "auto" and numba_available())
    return v, a, b, n_steps, use_numba


def _run_numpy(a, b, v, counts, spikes, n_steps, theta, reset, ref_steps) -> None:
    """Time loop over all neurons with in-place ufuncs (no temporaries per step).

    Spikes are tallied in a uint8 counter (no casting per step), added to ``counts``
    every 255 steps, before it could overflow.
    """
    spiked = np.empty(v.shape, dtype=np.bool_)
    tally = np.zeros(v.shape, dtype=np.uint8)
    refractory = np.zeros(v.shape, dtype=np.int64) if ref_steps > 0 else None
    held = np.zeros(v.shape, dtype=np.bool_)
    for k in range(n_steps):
        np.multiply(v, a, out=v)
        np.add(v, b, out=v)
        np.greater_equal(v, theta, out=spiked)
        if refractory is not None:
            np.greater(refractory, 0, out=held)
            np.logical_and(spiked, ~held, out=spiked)
            np.subtract(refractory, held, out=refractory, casting="unsafe")
            np.copyto(refractory, ref_steps, where=spiked)
            np.logical_or(held, spiked, out=held)
            np.copyto(v, reset, where=held)
        else:
            np.copyto(v, reset, where=spiked)
        np.add(tally, spiked.view(np.uint8), out=tally)
        if spikes is not None:
            spikes[k] = spiked
        if k % 255 == 254:
            counts += tally
            tally[:] = 0
    counts += tally


# The numba kernels. Plain Python functions here, compiled on first use by _compiled (so
# importing this module never imports numba). Each takes the neurons in blocks and runs a
# block through all the steps; the operations per neuron and step are those of _run_numpy.


def _count_kernel(a, b, v, counts, spikes, n_steps, theta, reset, ref_steps, block):
    # Each block is copied into fresh scratch arrays: the compiler then knows that they do
    # not overlap and vectorises the loop over the block, whose state stays in L1.
    n = v.shape[0]
    bb, vb = np.empty(block, b.dtype), np.empty(block, v.dtype)
    cb = np.empty(block, np.int64)
    for start in range(0, n, block):
        m = min(block, n - start)
        bb[:m], vb[:m] = b[start:start + m], v[start:start + m]
        cb[:m] = 0
        for _ in range(n_steps):
            for j in range(m):
                x = a * vb[j] + bb[j]
                s = x >= theta
                vb[j] = reset if s else x
                cb[j] += s
        v[start:start + m] = vb[:m]
        counts[start:start + m] += cb[:m]


def _record_kernel(a, b, v, counts, spikes, n_steps, theta, reset, ref_steps, block):
    # As _count_kernel, and each step's spikes of the block are copied into the raster.
    n = v.shape[0]
    bb, vb = np.empty(block, b.dtype), np.empty(block, v.dtype)
    cb, sb = np.empty(block, np.int64), np.empty(block, np.bool_)
    for start in range(0, n, block):
        m = min(block, n - start)
        bb[:m], vb[:m] = b[start:start + m], v[start:start + m]
        cb[:m] = 0
        for k in range(n_steps):
            for j in range(m):
                x = a * vb[j] + bb[j]
                s = x >= theta
                vb[j] = reset if s else x
                cb[j] += s
                sb[j] = s
            spikes[k, start:start + m] = sb[:m]
        v[start:start + m] = vb[:m]
        counts[start:start + m] += cb[:m]


def _refractory_kernel(a, b, v, counts, spikes, n_steps, theta, reset, ref_steps, block):
    n = v.shape[0]
    held = np.zeros(n, dtype=np.int64)
    record = spikes.shape[0] > 0
    for start in range(0, n, block):
        stop = min(start + block, n)
        for k in range(n_steps):
            for j in range(start, stop):
                x = a * v[j] + b[j]
                if held[j] > 0:
                    held[j] -= 1
                    v[j] = reset
                elif x >= theta:
                    v[j] = reset
                    held[j] = ref_steps
                    counts[j] += 1
                    if record:
                        spikes[k, j] = True
                else:
                    v[j] = x


_KERNELS: dict = {}


def _compiled(kind: str, refractory: bool):
    """The numba-compiled kernel (compiled once per process, cached on disk by numba)."""
    key = "refractory" if refractory else kind
    if key not in _KERNELS:
        import numba

        py = {"count": _count_kernel, "record": _record_kernel,
              "refractory": _refractory_kernel}[key]
        # No fastmath: the kernel must round exactly as numpy does (no fused multiply-add).
        _KERNELS[key] = numba.njit(cache=True, fastmath=False, error_model="numpy")(py)
    return _KERNELS[key]
