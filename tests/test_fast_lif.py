"""Tests of the fast LIF back end (neuroai_core.neurons.fast): a numba kernel for spike
counts, with ``simulate(LIF, ...)`` as its fallback.

Three independent checks of the spike counts: a straightforward step-by-step loop written
here, the analytic count from the inter-spike interval, and the general time loop
``simulate(LIF, ...)`` (numpy and torch). Then: the kernel and ``simulate`` agree to within
the rounding the arithmetic allows, and bad input is refused with a ValueError naming the parameter.
"""

import dataclasses
import math

import numpy as np
import pytest
import torch

from neuroai_core.neurons import LIF, LIF_PRESETS, LIFParams, simulate, simulate_lif_counts
from neuroai_core.neurons.fast import numba_available

BENCH = LIF_PRESETS["benchmark"]  # tau 10 ms, dt 0.1 ms, theta 1, reset 0, no refractoriness
needs_numba = pytest.mark.skipif(not numba_available(), reason="numba not installed")
BACKENDS = ["simulate", pytest.param("numba", marks=needs_numba)]


def reference_counts(params, current, n_steps, method, dtype=np.float64):
    """The update written out plainly, one numpy step at a time (no refractory period):
    ``V <- a V + b`` with ``b = g (E_L + R I)``, every operation in ``dtype`` (the order of
    operations the module documents)."""
    p = params
    if method == "exact":
        a = math.exp(-p.dt_ms / p.tau_m_ms)
        g = 1.0 - a
    else:
        g = p.dt_ms / p.tau_m_ms
        a = 1.0 - g
    a = dtype(a)
    i = np.asarray(current, float).astype(dtype)
    b = dtype(g) * (dtype(p.e_leak_mV) + dtype(p.r_m_MOhm) * i)
    v = np.full(len(b), p.e_leak_mV, dtype=dtype)
    counts = np.zeros(len(b), dtype=np.int64)
    for _ in range(n_steps):
        v = a * v + b
        spiked = v >= p.v_threshold_mV
        v = np.where(spiked, dtype(p.v_reset_mV), v)
        counts += spiked
    return counts, v


def assert_voltages_close(got, want, p, dtype):
    """Voltages of two implementations of the same update, to within the rounding its
    arithmetic allows: each step adds at most a few ulp of |V| and the decay a damps earlier
    errors, so they add up to at most (a few ulp) x 1 / (1 - a); an exp(-dt/tau) one ulp off
    moves the fixed point b / (1 - a) by eps / (1 - a), relative."""
    a = math.exp(-p.dt_ms / p.tau_m_ms) if p.method == "exact" else 1 - p.dt_ms / p.tau_m_ms
    eps = float(np.finfo(dtype).eps)
    np.testing.assert_allclose(got, want, rtol=0,
                               atol=8 * eps / (1 - a) * max(1.0, float(np.abs(want).max())))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", ["exact", "euler"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_counts_equal_reference_loop(backend, method, dtype):
    current = np.random.default_rng(1).uniform(0.5, 2.0, 1300)  # not a multiple of BLOCK
    expected, v_end = reference_counts(BENCH, current, 2000, method, dtype)
    p = dataclasses.replace(BENCH, method=method)
    res = simulate_lif_counts(p, current, 200.0, backend=backend, dtype=dtype)
    assert res.backend == backend
    np.testing.assert_array_equal(res.spike_counts, expected)
    # Voltages not bit for bit: which exp and which vector instructions (fused multiply-add
    # or not) run depends on the CPU; see assert_voltages_close.
    assert_voltages_close(res.v_mV, v_end, p, dtype)
    assert expected.sum() > 1000  # the test exercises spiking


@pytest.mark.parametrize("backend", BACKENDS)
def test_exact_counts_equal_analytic_interspike_interval(backend):
    # From V = 0 the exact step V_n = a V_{n-1} + (1 - a) I (a = exp(-dt/tau)) gives, by
    # the geometric series, V_n = I (1 - a^n). The neuron spikes at the first step k with
    # I (1 - a^k) >= 1 and restarts from 0, so in T steps it fires floor(T / k) times.
    # Currents within 1e-9 of a step boundary are left out (rounding could go either way).
    a = math.exp(-BENCH.dt_ms / BENCH.tau_m_ms)
    n_steps = 3000
    candidates = np.linspace(0.5, 2.0, 2001)
    current, expected = [], []
    for i in candidates:
        k = next((n for n in range(1, n_steps + 1) if i * (1 - a**n) >= 1), None)
        if k is not None and abs(i * (1 - a**k) - 1) < 1e-9:
            continue
        if k is not None and abs(i * (1 - a ** (k - 1)) - 1) < 1e-9:
            continue
        current.append(i)
        expected.append(0 if k is None else n_steps // k)
    res = simulate_lif_counts(BENCH, current, n_steps * BENCH.dt_ms, backend=backend)
    np.testing.assert_array_equal(res.spike_counts, expected)
    # And the interval is within one step of the continuous-time f-I formula
    # tau ln(I / (I - 1)) (Gerstner et al. 2014, eq. 1.14).
    i = 1.5
    k = next(n for n in range(1, n_steps) if i * (1 - a**n) >= 1)
    assert abs(k * BENCH.dt_ms - BENCH.tau_m_ms * math.log(i / (i - 1))) <= BENCH.dt_ms


def test_euler_fires_more_than_exact():
    # Euler's decay 1 - dt/tau is smaller than exp(-dt/tau): V climbs faster, about 0.5% more
    # spikes at dt/tau = 0.01 (the leak is underestimated by dt/(2 tau) to first order).
    current = np.random.default_rng(0).uniform(0.5, 2.0, 2000)
    exact = simulate_lif_counts(BENCH, current, 1000.0).spike_counts.sum()
    euler_params = dataclasses.replace(BENCH, method="euler")
    euler = simulate_lif_counts(euler_params, current, 1000.0).spike_counts.sum()
    assert 1.002 < euler / exact < 1.01


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", ["exact", "euler"])
def test_counts_equal_torch_simulation_with_refractory_period(backend, method):
    # The torch path of simulate (float64) against this back end: same spikes.
    p = dataclasses.replace(LIF_PRESETS["textbook"], t_ref_ms=2.0, method=method)  # 20 steps
    current = np.random.default_rng(2).uniform(1.0, 4.0, 200)
    slow = simulate(LIF, p, torch.from_numpy(current), 300.0)
    fast = simulate_lif_counts(p, current, 300.0, backend=backend, record_spikes=True)
    np.testing.assert_array_equal(fast.spike_counts, slow.spike_counts.numpy())
    np.testing.assert_array_equal(fast.spikes, slow.spikes.numpy())
    assert slow.spike_counts.sum() > 500


@needs_numba
@pytest.mark.parametrize("t_ref_ms", [0.0, 0.5])
@pytest.mark.parametrize("method", ["exact", "euler"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numba_kernel_equals_simulate_and_env_var_forces_simulate(
        t_ref_ms, method, dtype, monkeypatch):
    p = dataclasses.replace(BENCH, t_ref_ms=t_ref_ms, method=method)
    current = np.random.default_rng(3).uniform(0.5, 2.0, 777)
    v0 = np.random.default_rng(4).uniform(0.0, 0.9, 777)
    fast = simulate_lif_counts(p, current, 150.0, v0_mV=v0, backend="numba",
                               record_spikes=True, dtype=dtype)
    ref = simulate(LIF, p, current.astype(dtype), 150.0, v0_mV=v0.astype(dtype))
    np.testing.assert_array_equal(fast.spikes, ref.spikes)
    np.testing.assert_array_equal(fast.spike_counts, ref.spike_counts)
    assert_voltages_close(fast.v_mV, ref.final_state.v_mV, p, dtype)
    assert fast.v_mV.dtype == dtype
    counts_only = simulate_lif_counts(p, current, 150.0, v0_mV=v0, backend="numba", dtype=dtype)
    np.testing.assert_array_equal(counts_only.spike_counts, ref.spike_counts)
    assert counts_only.spikes is None
    monkeypatch.setenv("NEUROAI_NO_NUMBA", "1")
    slow = simulate_lif_counts(p, current, 150.0, v0_mV=v0, record_spikes=True, dtype=dtype)
    assert slow.backend == "simulate"
    np.testing.assert_array_equal(fast.spikes, slow.spikes)
    assert_voltages_close(fast.v_mV, slow.v_mV, p, dtype)
    with pytest.raises(ValueError, match="backend"):
        simulate_lif_counts(p, current, 1.0, backend="numba")


def test_initial_voltage_and_below_threshold_input():
    res = simulate_lif_counts(BENCH, [0.9, 0.9], 50.0, v0_mV=[0.0, 0.95])
    assert res.spike_counts.tolist() == [0, 0]  # I < 1: V relaxes to 0.9 from either side
    np.testing.assert_allclose(res.v_mV, 0.9, atol=0.05 * 0.9)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"params": LIFParams(tau_m_ms=(10.0, 20.0))}, "tau_m_ms"),
        ({"backend": "cuda"}, "backend"),
        ({"dtype": np.int32}, "dtype"),
        ({"t_ms": 0.0}, "t_ms"),
        ({"t_ms": 0.01}, "t_ms"),
        ({"current_nA": [[1.0, 2.0]]}, "current_nA"),
        ({"current_nA": [1.0, np.nan]}, "current_nA"),
        ({"current_nA": []}, "current_nA"),
        ({"v0_mV": [0.0, np.inf]}, "v0_mV"),
        ({"params": "benchmark"}, "params"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, name):
    args = {"params": BENCH, "current_nA": [1.0, 2.0], "t_ms": 10.0} | kwargs
    with pytest.raises(ValueError, match=name):
        simulate_lif_counts(**args)


def test_lifparams_still_validates():
    with pytest.raises(ValueError, match="tau_m_ms"):
        LIFParams(tau_m_ms=-1.0)
