"""Tests of the LIF neuron against exact solutions (closed forms and hand computations)."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from neuroai_core.neurons import (
    LIF,
    LIF_PRESETS,
    LIFParams,
    LIFState,
    lif_rate,
    lif_step,
    simulate,
    simulate_lif,
)

P64 = LIFParams()


def test_exact_step_matches_closed_form_by_hand():
    # One step from rest with I = 2 nA: V_inf = -65 + 10*2 = -45 mV,
    # V = V_inf + (V0 - V_inf) e^{-dt/tau} = -45 - 20 e^{-0.01}.
    spiked, (v, ref) = lif_step(2.0, LIFState(np.array([-65.0]), np.array([0])), P64)
    assert v[0] == pytest.approx(-45.0 - 20.0 * math.exp(-0.01), abs=1e-12)
    assert not spiked[0] and ref[0] == 0


def test_euler_step_by_hand():
    # V + dt/tau (V_inf - V) = -65 + 0.01 * 20 = -64.8 mV.
    euler = dataclasses.replace(P64, method="euler")
    _, (v, _) = lif_step(2.0, LIFState(np.array([-65.0]), np.array([0])), euler)
    assert v[0] == pytest.approx(-64.8, abs=1e-12)


def test_spike_reset_and_refractory_countdown():
    p = LIFParams(t_ref_ms=0.3, dt_ms=0.1)  # 3 refractory steps
    spiked, state = lif_step(10.0, LIFState(np.array([-50.05]), np.array([0])), p)
    assert spiked[0] and state.v_mV[0] == p.v_reset_mV and state.refractory_steps[0] == 3
    for expected_ref in (2, 1, 0):
        spiked, state = lif_step(10.0, state, p)
        assert not spiked[0] and state.v_mV[0] == p.v_reset_mV
        assert state.refractory_steps[0] == expected_ref
    _, state = lif_step(10.0, state, p)
    assert state.v_mV[0] > p.v_reset_mV  # integrates again once the refractory period is served


def test_subthreshold_trace_equals_exact_solution():
    # Below threshold the exact integrator reproduces V(t) = V_inf + (V0 - V_inf) e^{-t/tau}
    # at every step (the formula is the analytic solution of the linear ODE).
    i = 1.0  # nA, below the 1.5 nA rheobase
    v_inf = P64.e_leak_mV + P64.r_m_MOhm * i
    res = simulate(LIF, P64, np.array([i]), 50.0, record_states=True)  # float64
    exact = v_inf + (P64.e_leak_mV - v_inf) * np.exp(-res.t_ms / P64.tau_m_ms)
    np.testing.assert_allclose(res.v_mV[:, 0], exact, rtol=0, atol=1e-9)
    # float32: each of the 500 steps rounds V (~ -60 mV, half an ulp ~ 2e-6 mV), so the
    # accumulated error stays below 500 * 2e-6 = 1e-3 mV.
    res32 = simulate(LIF, P64, np.array([i], dtype=np.float32), 50.0, record_states=True)
    assert res32.v_mV.dtype == np.float32
    np.testing.assert_allclose(res32.v_mV[:, 0], exact, rtol=0, atol=1e-3)
    assert res.spike_counts[0] == 0


def test_euler_converges_to_exact_solution_first_order():
    # Forward Euler has global error O(dt): halving dt roughly halves the error.
    i = 1.2
    v_inf = -65.0 + 10.0 * i
    errors = []
    for dt in (0.4, 0.2, 0.1, 0.05):
        p = dataclasses.replace(P64, dt_ms=dt, method="euler")
        res = simulate_lif(p, torch.tensor([i], dtype=torch.float64), 20.0)
        exact = v_inf + (-65.0 - v_inf) * np.exp(-res.t_ms / p.tau_m_ms)
        errors.append(np.max(np.abs(res.v_mV[:, 0].numpy() - exact)))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all(errors[1:] < errors[:-1])
    np.testing.assert_allclose(ratios, 2.0, rtol=0.1)


@pytest.mark.parametrize("method", ["exact", "euler"])
def test_fi_curve_matches_formula_within_one_step(method):
    # Spikes are detected on the time grid, so the simulated inter-spike interval lies
    # within one time step of the formula (exact integrator); Euler with dt = 0.01 ms is
    # within one step of 0.1 ms as well.
    dt = 0.1 if method == "exact" else 0.01
    p = dataclasses.replace(P64, dt_ms=dt, method=method)
    currents = np.linspace(1.6, 5.0, 18)
    res = simulate(LIF, p, torch.tensor(currents, dtype=torch.float64), 600.0)
    rate = lif_rate(p, currents)
    for j, times in enumerate(res.spike_times_ms):
        isi = np.diff(times)
        assert len(isi) >= 5
        assert np.all(np.abs(isi - 1000.0 / rate[j]) <= 0.1 + 1e-9), (currents[j], isi[:3])


def test_rate_is_zero_at_and_below_rheobase_and_no_spikes_there():
    currents = np.array([0.0, 1.0, 1.5])
    np.testing.assert_array_equal(lif_rate(P64, currents), 0.0)
    res = simulate(LIF, P64, currents, 500.0)
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
    assert res_n.states is None and isinstance(res_n.spikes, np.ndarray)
    with pytest.raises(AttributeError, match="record_states"):
        _ = res_n.v_mV


def test_benchmark_preset_spike_count_matches_formula():
    # Dimensionless benchmark network: threshold 1, reset 0, no refractory period, so
    # ISI = tau ln(I / (I - 1)). The simulated ISI is that time rounded up to whole
    # steps, so the count over 1 s lies between 1000/(ISI + dt) and 1000/ISI.
    p = LIF_PRESETS["benchmark"]
    inputs = np.array([1.2, 1.5, 2.0])
    res = simulate(LIF, p, torch.tensor(inputs, dtype=torch.float64), 1000.0)
    isi = 10.0 * np.log(inputs / (inputs - 1.0))
    counts = res.spike_counts.numpy()
    assert np.all(counts >= np.floor(1000.0 / (isi + p.dt_ms)))
    assert np.all(counts <= np.floor(1000.0 / isi))


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
        ("method", "rk4", "method"),
        ("tau_m_ms", (10.0, -1.0), "tau_m_ms"),
        ("tau_m_ms", [[10.0]], "tau_m_ms"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(field, value, word):
    with pytest.raises(ValueError, match=word):
        LIFParams(**{field: value})


def test_bad_shapes_durations_and_models_raise():
    with pytest.raises(ValueError, match="current_nA"):
        simulate(LIF, P64, np.ones((7, 2)), 10.0)
    with pytest.raises(ValueError, match="t_ms"):
        simulate(LIF, P64, 2.0, 0.0)
    with pytest.raises(ValueError, match="t_ms"):
        simulate(LIF, P64, 2.0, 0.01)  # shorter than one step
    with pytest.raises(ValueError, match="params"):
        simulate(LIF, "textbook", 2.0, 10.0)
    with pytest.raises(ValueError, match="model"):
        simulate("lif", P64, 2.0, 10.0)


def test_per_neuron_time_constants_equal_separate_simulations():
    # A population with one tau per neuron is the same as each neuron simulated alone with
    # its own (scalar) tau: the update of every neuron depends on its own tau only.
    tau = (3.0, 10.0, 27.0)
    cur = np.random.default_rng(2).uniform(0.0, 5.0, size=(1500, 3))
    for method in ("exact", "euler"):
        p = dataclasses.replace(P64, method=method)
        pop = simulate(LIF, dataclasses.replace(p, tau_m_ms=tau), cur, 150.0,
                       record_states=True)
        for j, t in enumerate(tau):
            single = simulate(LIF, dataclasses.replace(p, tau_m_ms=t), cur[:, j:j + 1], 150.0,
                              record_states=True)
            np.testing.assert_array_equal(pop.v_mV[:, j], single.v_mV[:, 0])
            np.testing.assert_array_equal(pop.spike_times_ms[j], single.spike_times_ms[0])
    # A tau below dt: refused for one shared value; allowed per neuron with the exact
    # integrator (stable for any tau), refused with Euler (unstable there).
    with pytest.raises(ValueError, match="dt_ms"):
        LIFParams(tau_m_ms=0.05)
    assert LIFParams(tau_m_ms=(0.05, 10.0)).tau_m_ms == (0.05, 10.0)
    with pytest.raises(ValueError, match="tau_m_ms"):
        LIFParams(tau_m_ms=(0.05, 10.0), method="euler")
    # Shorter time constants fire faster for the same current.
    res = simulate(LIF, LIFParams(tau_m_ms=np.array([5.0, 20.0])), 3.0, 100.0)
    assert res.spike_counts[0] > res.spike_counts[1] > 0
