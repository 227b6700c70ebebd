"""Tests of the LIF neuron against exact solutions (see ../shared/guide/SCIENCE.md)."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from neuroai_core.neurons import LIF_PRESETS, LIFParams, lif_rate, lif_step, simulate_lif

P64 = LIFParams()


def test_exact_step_matches_closed_form_by_hand():
    # One step from rest with I = 2 nA: V_inf = -65 + 10*2 = -45 mV,
    # V = V_inf + (V0 - V_inf) e^{-dt/tau} = -45 - 20 e^{-0.01}.
    v, spiked, ref = lif_step(np.array([-65.0]), 2.0, np.array([0]), P64, "exact")
    assert v[0] == pytest.approx(-45.0 - 20.0 * math.exp(-0.01), abs=1e-12)
    assert not spiked[0] and ref[0] == 0


def test_euler_step_by_hand():
    # V + dt/tau (V_inf - V) = -65 + 0.01 * 20 = -64.8 mV.
    v, _, _ = lif_step(np.array([-65.0]), 2.0, np.array([0]), P64, "euler")
    assert v[0] == pytest.approx(-64.8, abs=1e-12)


def test_spike_reset_and_refractory_countdown():
    p = LIFParams(t_ref_ms=0.3, dt_ms=0.1)  # 3 refractory steps
    v, spiked, ref = lif_step(np.array([-50.05]), 10.0, np.array([0]), p)
    assert spiked[0] and v[0] == p.v_reset_mV and ref[0] == 3
    for expected_ref in (2, 1, 0):
        v, spiked, ref = lif_step(v, 10.0, ref, p)
        assert not spiked[0] and v[0] == p.v_reset_mV and ref[0] == expected_ref
    v, _, _ = lif_step(v, 10.0, ref, p)
    assert v[0] > p.v_reset_mV  # integrates again once the refractory period is served


def test_subthreshold_trace_equals_exact_solution():
    # Below threshold the exact integrator reproduces V(t) = V_inf + (V0 - V_inf) e^{-t/tau}
    # at every step (the formula is the analytic solution of the linear ODE).
    i = 1.0  # nA, below the 1.5 nA rheobase
    res = simulate_lif(P64, np.array([i]), 50.0, method="exact")
    v_inf = P64.e_leak_mV + P64.r_m_MOhm * i
    exact = v_inf + (P64.e_leak_mV - v_inf) * np.exp(-res.t_ms / P64.tau_m_ms)
    np.testing.assert_allclose(res.v_mV[:, 0], exact, atol=1e-4)  # float32 trace
    assert res.spike_counts[0] == 0


def test_euler_converges_to_exact_solution_first_order():
    # Forward Euler has global error O(dt): halving dt roughly halves the error.
    i = 1.2
    v_inf = -65.0 + 10.0 * i
    errors = []
    for dt in (0.4, 0.2, 0.1, 0.05):
        p = dataclasses.replace(P64, dt_ms=dt)
        res = simulate_lif(p, torch.tensor([i], dtype=torch.float64), 20.0, method="euler")
        exact = v_inf + (-65.0 - v_inf) * np.exp(-res.t_ms / p.tau_m_ms)
        errors.append(np.max(np.abs(res.v_mV[:, 0].numpy() - exact)))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all(errors[1:] < errors[:-1])
    np.testing.assert_allclose(ratios, 2.0, rtol=0.1)


@pytest.mark.parametrize("method", ["exact", "euler"])
def test_fi_curve_matches_formula_within_one_step(method):
    # SCIENCE.md: simulated inter-spike interval within one time step of the formula
    # (exact integrator); Euler with dt = 0.01 ms is within one step of 0.1 ms as well.
    dt = 0.1 if method == "exact" else 0.01
    p = dataclasses.replace(P64, dt_ms=dt)
    currents = np.linspace(1.6, 5.0, 18)
    res = simulate_lif(p, torch.tensor(currents, dtype=torch.float64), 600.0, method=method)
    rate = lif_rate(p, currents)
    for j, times in enumerate(res.spike_times_ms):
        isi = np.diff(times)
        assert len(isi) >= 5
        assert np.all(np.abs(isi - 1000.0 / rate[j]) <= 0.1 + 1e-9), (currents[j], isi[:3])


def test_rate_is_zero_at_and_below_rheobase_and_no_spikes_there():
    currents = np.array([0.0, 1.0, 1.5])
    np.testing.assert_array_equal(lif_rate(P64, currents), 0.0)
    res = simulate_lif(P64, currents, 500.0)
    np.testing.assert_array_equal(res.spike_counts, 0)


def test_rate_formula_by_hand():
    # I = 2.5 nA: ISI = 2 + 10 ln(25/10) ms.
    assert lif_rate(P64, 2.5) == pytest.approx(1000.0 / (2.0 + 10.0 * math.log(2.5)))


def test_batching_equals_one_neuron_at_a_time_and_time_varying_input():
    rng = np.random.default_rng(0)
    cur = rng.uniform(0.0, 4.0, size=(300, 5))
    batch = simulate_lif(P64, cur, 30.0)
    for j in range(5):
        single = simulate_lif(P64, cur[:, j : j + 1], 30.0)
        np.testing.assert_array_equal(single.v_mV[:, 0], batch.v_mV[:, j])
        np.testing.assert_array_equal(single.spike_times_ms[0], batch.spike_times_ms[j])


def test_torch_input_keeps_dtype_and_numpy_input_gives_numpy():
    res_t = simulate_lif(P64, torch.full((3,), 2.0, dtype=torch.float64), 5.0)
    assert isinstance(res_t.v_mV, torch.Tensor) and res_t.v_mV.dtype == torch.float64
    res_n = simulate_lif(P64, np.full(3, 2.0, dtype=np.float32), 5.0, record_v=False)
    assert res_n.v_mV is None and isinstance(res_n.spikes, np.ndarray)


def test_benchmark_preset_spike_count_matches_formula():
    # Dimensionless benchmark network: threshold 1, reset 0, no refractory period, so
    # ISI = tau ln(I / (I - 1)). The simulated ISI is that time rounded up to whole
    # steps, so the count over 1 s lies between 1000/(ISI + dt) and 1000/ISI.
    p = LIF_PRESETS["benchmark"]
    inputs = np.array([1.2, 1.5, 2.0])
    res = simulate_lif(p, torch.tensor(inputs, dtype=torch.float64), 1000.0)
    isi = 10.0 * np.log(inputs / (inputs - 1.0))
    assert np.all(res.spike_counts >= np.floor(1000.0 / (isi + p.dt_ms)))
    assert np.all(res.spike_counts <= np.floor(1000.0 / isi))


@pytest.mark.parametrize(
    "field, value, word",
    [
        ("tau_m_ms", 0.0, "tau_m_ms"),
        ("tau_m_ms", -5.0, "tau_m_ms"),
        ("dt_ms", 20.0, "dt_ms=20.0"),
        ("dt_ms", 0.0, "dt_ms"),
        ("r_m_MOhm", -1.0, "r_m_MOhm"),
        ("t_ref_ms", -1.0, "t_ref_ms"),
        ("v_reset_mV", -40.0, "v_reset_mV=-40.0"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(field, value, word):
    with pytest.raises(ValueError, match=word):
        LIFParams(**{field: value})


def test_bad_method_and_shapes_raise():
    with pytest.raises(ValueError, match="method"):
        simulate_lif(P64, 2.0, 10.0, method="rk4")
    with pytest.raises(ValueError, match="current_nA"):
        simulate_lif(P64, np.ones((7, 2)), 10.0)
    with pytest.raises(ValueError, match="t_ms"):
        simulate_lif(P64, 2.0, 0.0)
