"""Tests of cellular diversity: Izhikevich cell classes, AdEx, heterogeneous LIF populations.

Each numeric expectation says where it comes from: a hand computation, the published
firing pattern (Izhikevich 2003, fig. 2; Brette & Gerstner 2005), an exact property of a
distribution, a linear-algebra identity, or an independent scalar transcription of the
published equations written in this file.
"""

import dataclasses
import math

import numpy as np
import pytest
import torch

from neuroai_core.neurons import (
    ADEX,
    ADEX_PRESETS,
    IZHIKEVICH,
    IZHIKEVICH_PRESETS,
    LIF,
    PAPER_DT_MS,
    AdExParams,
    AdExState,
    IzhikevichParams,
    IzhikevichState,
    LIFParams,
    adex_step,
    bin_spike_counts,
    classify_firing,
    fit_ridge_decoder,
    izhikevich_step,
    linear_decoding_r2,
    sample_time_constants,
    simulate,
    smooth_noise,
)

P = IZHIKEVICH_PRESETS
I_STANDARD = 10.0  # the standard input of the rate table, in the model's units (mV/ms)


def simulate_izhikevich(params, current, t_ms, method="euler", dt_ms=None, record_v=True,
                        v0_mV=None):
    """simulate(IZHIKEVICH, ...) with the integrator, and the paper's 1 ms step for it."""
    if method == "paper":
        params = dataclasses.replace(params, method="paper", dt_ms=PAPER_DT_MS)
    if dt_ms is not None:
        params = dataclasses.replace(params, dt_ms=dt_ms)
    return simulate(IZHIKEVICH, params, current, t_ms, v0_mV=v0_mV, record_states=record_v)


def simulate_adex(params, current, t_ms):
    return simulate(ADEX, params, current, t_ms, record_states=True)


def izh_step(v, u, i, params):
    spiked, (v_new, u_new) = izhikevich_step(i, IzhikevichState(v, u), params)
    return v_new, u_new, spiked


def _isi(params, current=I_STANDARD, t_ms=1000.0, method="euler"):
    res = simulate_izhikevich(params, current, t_ms, method=method, record_v=False)
    return np.diff(res.spike_times_ms[0])


# --- Izhikevich: single steps by hand ---------------------------------------------------


def test_euler_step_by_hand():
    # RS at v = -65, u = b v = -13, I = 10: f = 0.04*4225 - 325 + 140 + 13 + 10 = 7,
    # so v = -65 + 0.025*7 = -64.825; u' = a (b v - u) = 0, so u stays -13.
    v, u, spiked = izh_step(np.array([-65.0]), np.array([-13.0]), 10.0, P["RS"])
    assert v[0] == pytest.approx(-64.825, abs=1e-12)
    assert u[0] == pytest.approx(-13.0, abs=1e-12) and not spiked[0]
    # v = -60, u = -10, I = 5, dt = 0.1: f = 144 - 300 + 140 + 10 + 5 = -1 -> v = -60.1;
    # u = -10 + 0.1*0.02*(0.2*(-60) + 10) = -10.004.
    p = dataclasses.replace(P["RS"], dt_ms=0.1)
    v, u, _ = izh_step(np.array([-60.0]), np.array([-10.0]), 5.0, p)
    assert (v[0], u[0]) == pytest.approx((-60.1, -10.004), abs=1e-12)


def test_paper_step_by_hand():
    # Two half steps of 0.5 ms: f(-65, -13) = 7 -> v = -61.5; f(-61.5, -13) = 151.29 -
    # 307.5 + 163 = 6.79 -> v = -58.105; then u = -13 + 0.02*(0.2*(-58.105) + 13).
    p = dataclasses.replace(P["RS"], dt_ms=1.0, method="paper")
    v, u, _ = izh_step(np.array([-65.0]), np.array([-13.0]), 10.0, p)
    assert v[0] == pytest.approx(-58.105, abs=1e-12)
    assert u[0] == pytest.approx(-13.0 + 0.02 * (0.2 * -58.105 + 13.0), abs=1e-12)


def test_spike_resets_v_to_c_and_kicks_u_by_d():
    # From v = 29.9 the Euler step crosses 30 mV: v <- c = -65, u <- u' + d with
    # u' = 0 + 0.025*0.02*(0.2*29.9 - 0) = 0.00299.
    v, u, spiked = izh_step(np.array([29.9]), np.array([0.0]), 10.0, P["RS"])
    assert spiked[0] and v[0] == -65.0
    assert u[0] == pytest.approx(8.0 + 0.025 * 0.02 * 0.2 * 29.9, abs=1e-12)


# --- Izhikevich: the published signatures (fig. 2) under fine Euler ---------------------


def test_regular_spiking_adapts():
    # Fig. 2 RS: "the interspike period increases" -- later intervals longer than the first.
    isi = _isi(P["RS"])
    assert np.all(isi[1:] > 1.5 * isi[0]), isi[:4]
    assert classify_firing(isi) == "regular"


def test_intrinsically_bursting_fires_an_initial_burst_then_tonic_spikes():
    # Fig. 2 IB: a burst of spikes followed by repetitive single spikes.
    isi = _isi(P["IB"])
    assert np.all(isi[:2] < 5.0) and np.all(isi[2:] > 25.0), isi[:5]
    assert classify_firing(isi) == "bursting"


def test_chattering_fires_repetitive_bursts():
    # Fig. 2 CH: stereotypical bursts of closely spaced spikes: bimodal intervals, short
    # inside bursts (< 6 ms) and long between them (> 40 ms), many of each.
    isi = _isi(P["CH"])
    short, long_ = isi < 6.0, isi > 40.0
    assert np.all(short | long_)
    assert long_.sum() >= 10 and short.sum() >= 3 * long_.sum()
    assert classify_firing(isi) == "bursting"


def test_fast_spiking_fires_fastest_of_the_cortical_classes_with_little_adaptation():
    # Fig. 2 FS: "periodic trains of action potentials with extremely high frequency
    # practically without any adaptation". Among the cortical classes RS, IB, CH, FS, LTS
    # FS has the highest rate, and its intervals settle within 5 spikes at a steady value
    # less than 2x the first, while RS lengthens ~2x and LTS ~4.5x (measured below).
    rates = {n: len(_isi(P[n])) + 1 for n in ("RS", "IB", "CH", "FS", "LTS")}
    assert max(rates, key=rates.get) == "FS", rates
    fs, rs, lts = _isi(P["FS"]), _isi(P["RS"]), _isi(P["LTS"])
    assert fs[-1] / fs[0] < 2.0
    assert np.ptp(fs[5:]) < 0.2  # steady after 5 intervals
    assert fs[-1] / fs[0] < rs[-1] / rs[0] < lts[-1] / lts[0]
    assert classify_firing(fs) == "fast"


def test_low_threshold_spiking_adapts_strongly():
    # Fig. 2 LTS: high-frequency trains with considerable frequency adaptation; the
    # intervals grow gradually (no burst jump), so the pattern is not "bursting".
    isi = _isi(P["LTS"])
    assert isi[-1] / isi[0] > 3.0 and np.all(np.diff(isi[:6]) > 0)
    assert classify_firing(isi) == "regular"


def test_thalamocortical_cell_fires_a_rebound_burst_only_from_hyperpolarisation():
    # Fig. 2 TC: hyperpolarised to about -87 mV (here by I = -30), the release of the
    # inhibition triggers a rebound burst; released from rest, the cell stays silent.
    dt = P["TC"].dt_ms
    hold = np.r_[np.full(int(200 / dt), -30.0), np.zeros(int(200 / dt))]
    rest = np.zeros_like(hold)
    res = simulate_izhikevich(P["TC"], np.stack([hold, rest], axis=1), 400.0)
    assert res.v_mV[int(200 / dt) - 1, 0] == pytest.approx(-87.3, abs=0.1)
    burst = res.spike_times_ms[0] - 200.0
    assert len(burst) >= 4 and np.all((burst > 0) & (burst < 60.0)), burst
    assert len(res.spike_times_ms[1]) == 0


def test_resonator_oscillates_below_threshold_and_regular_spiking_does_not():
    # Fig. 2 RZ: damped subthreshold oscillations. The linearisation at rest has complex
    # eigenvalues for RZ (a = 0.1, b = 0.26, rest -62.5 mV: trace -0.1, determinant 0.026)
    # and real ones for RS (rest -70 mV), whose deviation from rest, a sum of two
    # exponentials, changes sign at most once. So after a small kick, v swings across its
    # resting value again and again for RZ only.
    crossings = {}
    for name in ("RZ", "RS"):
        p = P[name]
        rest = simulate_izhikevich(p, 0.0, 500.0).v_mV[-1, 0]
        kick = np.zeros((int(200 / p.dt_ms), 1))
        kick[: int(2 / p.dt_ms)] = 0.5  # 2 ms subthreshold pulse
        res = simulate_izhikevich(p, kick, 200.0, v0_mV=rest)
        assert res.spike_counts[0] == 0
        crossings[name] = np.count_nonzero(np.diff(np.sign(res.v_mV[:, 0] - rest)) != 0)
    assert crossings["RZ"] >= 6 and crossings["RS"] <= 1, crossings


# --- Izhikevich: the integrator matters -------------------------------------------------

def reference_rate(params, method: str, current: float = I_STANDARD, t_ms: float = 1000.0):
    """Spikes per second from an independent, scalar transcription of Izhikevich (2003):
    v' = 0.04 v^2 + 5 v + 140 - u + I, u' = a (b v - u), reset at 30 mV; "paper" is the
    published MATLAB loop (two 0.5 ms half steps for v, then u with the new v, dt = 1 ms)."""
    a, b, c, d = params.a, params.b, params.c, params.d
    dt = params.dt_ms if method == "euler" else 1.0
    v, u, spikes = -65.0, b * -65.0, 0
    for _ in range(int(round(t_ms / dt))):
        if method == "euler":
            v, u = v + dt * (0.04 * v * v + 5.0 * v + 140.0 - u + current), u + dt * a * (b * v - u)
        else:
            v = v + 0.5 * dt * (0.04 * v * v + 5.0 * v + 140.0 - u + current)
            v = v + 0.5 * dt * (0.04 * v * v + 5.0 * v + 140.0 - u + current)
            u = u + dt * a * (b * v - u)
        if v >= 30.0:
            v, u, spikes = c, u + d, spikes + 1
    return spikes / (t_ms / 1000.0)


@pytest.mark.parametrize("method", ["euler", "paper"])
@pytest.mark.parametrize("name", sorted(P))
def test_rates_equal_an_independent_scalar_implementation(name, method):
    rate = simulate_izhikevich(P[name], I_STANDARD, 1000.0, method=method,
                               record_v=False).rates_hz[0]
    assert rate == pytest.approx(reference_rate(P[name], method), abs=1.0), (name, method)


def test_paper_scheme_fires_slower_than_fine_euler_for_every_class():
    # The rates depend strongly on the integrator: with the 1 ms scheme the
    # fast classes lose more than a third of their rate (both from the scalar reference).
    euler = {n: reference_rate(p, "euler") for n, p in P.items()}
    paper = {n: reference_rate(p, "paper") for n, p in P.items()}
    for name in P:
        assert paper[name] < euler[name], (name, paper[name], euler[name])
    for name in ("CH", "FS", "TC", "RZ"):
        assert paper[name] < 0.6 * euler[name], (name, paper[name], euler[name])


@pytest.mark.parametrize("name", ["FS", "TC"])
def test_default_euler_step_is_within_two_percent_of_a_five_times_finer_step(name):
    # Forward Euler is first order; TC and FS are the presets most sensitive to the step.
    coarse = simulate_izhikevich(P[name], I_STANDARD, 500.0, record_v=False).spike_counts[0]
    fine = simulate_izhikevich(P[name], I_STANDARD, 500.0, dt_ms=0.005,
                               record_v=False).spike_counts[0]
    assert abs(coarse - fine) <= 0.02 * fine


# --- Izhikevich: batching, inputs, errors -----------------------------------------------


def test_izhikevich_batching_equals_one_neuron_at_a_time():
    rng = np.random.default_rng(3)
    cur = rng.uniform(0.0, 15.0, size=(2000, 4))
    batch = simulate_izhikevich(P["CH"], cur, 50.0)
    for j in range(4):
        single = simulate_izhikevich(P["CH"], cur[:, j : j + 1], 50.0)
        np.testing.assert_array_equal(single.v_mV[:, 0], batch.v_mV[:, j])
        np.testing.assert_array_equal(single.spike_times_ms[0], batch.spike_times_ms[j])


def test_izhikevich_scalar_and_vector_current_and_float32():
    res = simulate_izhikevich(P["RS"], np.array([0.0, 10.0], dtype=np.float32), 100.0)
    assert res.v_mV.shape == (4000, 2) and res.v_mV.dtype == np.float32
    assert res.spike_counts[0] == 0 and res.spike_counts[1] > 0
    paper = simulate_izhikevich(P["RS"], 10.0, 100.0, method="paper")
    assert paper.t_ms[0] == 1.0 and len(paper.t_ms) == 100  # the paper's 1 ms step


@pytest.mark.parametrize(
    "field, value, word",
    [("a", 0.0, "a must"), ("c", 30.0, "c=30.0"), ("dt_ms", 0.0, "dt_ms"),
     ("dt_ms", 2.0, "dt_ms")],
)
def test_izhikevich_bad_parameters_raise_naming_the_parameter(field, value, word):
    with pytest.raises(ValueError, match=word):
        IzhikevichParams(**{field: value})


def test_izhikevich_bad_method_shape_and_duration_raise():
    with pytest.raises(ValueError, match="method"):
        IzhikevichParams(method="rk4")
    with pytest.raises(ValueError, match="current"):
        simulate_izhikevich(P["RS"], np.ones((7, 2)), 10.0)
    with pytest.raises(ValueError, match="t_ms"):
        simulate_izhikevich(P["RS"], 10.0, -1.0)


# --- Classifying firing patterns by hand ------------------------------------------------


@pytest.mark.parametrize(
    "isi, expected",
    [
        ([12.0], "silent"),  # fewer than two intervals
        ([], "silent"),
        ([5.0, 5.0, 5.0], "fast"),  # median 5 ms < 10 ms
        ([20.0, 30.0, 40.0, 45.0], "regular"),  # gradual adaptation, no jump > 3x
        ([2.0, 2.0, 40.0, 2.0, 2.0, 40.0], "bursting"),  # 40 > 3 * 2 above two short ones
        ([3.0, 40.0, 40.0, 40.0], "regular"),  # a doublet is not a burst: one short interval
        ([3.0, 3.6, 4.6, 6.4, 10.0, 13.5, 13.5, 13.5, 13.5], "regular"),  # LTS-like, median 10
    ],
)
def test_classify_firing_rules_by_hand(isi, expected):
    assert classify_firing(np.array(isi)) == expected


def test_classify_firing_rejects_two_dimensional_input():
    with pytest.raises(ValueError, match="isi_ms"):
        classify_firing(np.ones((2, 3)))


# --- AdEx -------------------------------------------------------------------------------

A = ADEX_PRESETS["cortical"]


def test_adex_preset_is_brette_gerstner_2005():
    assert (A.c_m_pF, A.g_leak_nS, A.e_leak_mV, A.v_t_mV, A.delta_t_mV) == (
        281.0, 30.0, -70.6, -50.4, 2.0)
    assert (A.tau_w_ms, A.a_nS, A.b_nA) == (144.0, 4.0, 0.0805)
    assert A.v_peak_mV == pytest.approx(A.v_t_mV + 5 * A.delta_t_mV)
    assert A.tau_m_ms == pytest.approx(281.0 / 30.0)


def test_adex_step_by_hand():
    # At V = E_L, w = 0, I = 1 nA, dt = 0.1 ms: leak 0, exponential current
    # 30 nS * 2 mV * exp(-20.2 / 2) = 60 e^{-10.1} pA; dV = 0.1 / 0.281 nF * (1 nA + that).
    spiked, (v, w) = adex_step(1.0, AdExState(np.array([-70.6]), np.array([0.0])), A)
    exp_nA = 1e-3 * 60.0 * math.exp(-10.1)
    assert v[0] == pytest.approx(-70.6 + 0.1 / 0.281 * (1.0 + exp_nA), abs=1e-12)
    assert w[0] == 0.0 and not spiked[0]  # a (V - E_L) = 0


def test_adex_spikes_regularly_with_adaptation_for_a_step_current():
    res = simulate_adex(A, np.array([1.0]), 1000.0)
    isi = np.diff(res.spike_times_ms[0])
    assert len(isi) >= 20
    assert isi[-1] > 2.0 * isi[0]  # spike-triggered adaptation b lengthens the intervals
    assert np.all(np.diff(isi[:8]) > 0)  # monotonically, from the first interval on
    steady = isi[-5:]
    assert steady.std() / steady.mean() < 0.01  # then regular
    assert res.w_nA[-1, 0] > 0.3  # the adaptation current has built up


def test_adex_subthreshold_steady_state_solves_the_iv_curve():
    # Below rheobase V settles where I = (g_L + a)(V - E_L) - g_L Delta_T exp((V-V_T)/Delta_T)
    # (both derivatives zero, w = a (V - E_L)). Solve it by bisection on the lower branch.
    i_na = 0.3

    def excess(v):
        return 1e-3 * ((A.g_leak_nS + A.a_nS) * (v - A.e_leak_mV)
                       - A.g_leak_nS * A.delta_t_mV * math.exp((v - A.v_t_mV) / A.delta_t_mV))

    lo, hi = A.e_leak_mV, A.v_t_mV
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if excess(mid) < i_na else (lo, mid)
    res = simulate_adex(A, np.array([i_na], dtype=np.float64), 2000.0)
    assert res.spike_counts[0] == 0
    assert res.v_mV[-1, 0] == pytest.approx(lo, abs=1e-3)
    assert res.w_nA[-1, 0] == pytest.approx(1e-3 * A.a_nS * (lo - A.e_leak_mV), abs=1e-5)


def test_adex_stays_finite_without_overflow_for_huge_inputs():
    cur = np.array([1e6, -1e6, 1e9, 0.0])
    with np.errstate(over="raise", invalid="raise"):
        res = simulate_adex(A, cur, 20.0)
        _, (v, w) = adex_step(0.0, AdExState(np.array([500.0]), np.array([0.0])), A)  # above peak
    assert np.isfinite(res.v_mV).all() and np.isfinite(res.w_nA).all()
    assert np.isfinite(v).all()
    assert res.spike_counts[0] == res.spike_counts[2] == 200  # one spike per step
    assert res.spike_counts[1] == res.spike_counts[3] == 0


def test_adex_batching_equals_one_neuron_at_a_time():
    cur = np.random.default_rng(5).uniform(0.0, 2.0, size=(1000, 3))
    batch = simulate_adex(A, cur, 100.0)
    for j in range(3):
        single = simulate_adex(A, cur[:, j : j + 1], 100.0)
        np.testing.assert_array_equal(single.v_mV[:, 0], batch.v_mV[:, j])
        np.testing.assert_array_equal(single.spike_times_ms[0], batch.spike_times_ms[j])


@pytest.mark.parametrize(
    "field, value, word",
    [("c_m_pF", 0.0, "c_m_pF"), ("g_leak_nS", -1.0, "g_leak_nS"), ("delta_t_mV", 0.0,
     "delta_t_mV"), ("tau_w_ms", 0.0, "tau_w_ms"), ("dt_ms", 0.0, "dt_ms"),
     ("dt_ms", 20.0, "dt_ms=20.0"), ("v_peak_mV", -60.0, "v_peak_mV=-60.0"),
     ("v_reset_mV", -30.0, "v_reset_mV=-30.0")],
)
def test_adex_bad_parameters_raise_naming_the_parameter(field, value, word):
    with pytest.raises(ValueError, match=word):
        AdExParams(**{field: value})


# --- Heterogeneous populations ----------------------------------------------------------


@pytest.mark.parametrize("distribution", ["gamma", "lognormal"])
def test_time_constants_have_the_requested_mean_and_cv(distribution):
    # n = 40000 draws: the standard error of the mean is mean*CV/sqrt(n) = 0.025 ms and that
    # of the CV below 0.003 for both distributions; we allow 5 standard errors.
    tau = sample_time_constants(40000, 10.0, 0.5, seed=0, distribution=distribution)
    assert tau.mean() == pytest.approx(10.0, abs=5 * 0.025)
    assert tau.std() / tau.mean() == pytest.approx(0.5, abs=5 * 0.003)
    assert np.all(tau > 0)


def test_time_constants_are_reproducible_by_seed_and_never_use_the_global_rng():
    state = np.random.get_state()
    a = sample_time_constants(50, 20.0, 0.5, seed=7)
    b = sample_time_constants(50, 20.0, 0.5, seed=np.random.default_rng(7))
    c = sample_time_constants(50, 20.0, 0.5, seed=8)
    d = sample_time_constants(50, 20.0, 0.5, seed=None)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and d.shape == (50,)
    assert all(np.array_equal(x, y) for x, y in zip(state, np.random.get_state(), strict=True)
               if isinstance(x, np.ndarray))
    np.testing.assert_array_equal(sample_time_constants(5, 20.0, 0.0), np.full(5, 20.0))


@pytest.mark.parametrize(
    "kwargs, word",
    [({"n_neurons": 0}, "n_neurons"), ({"mean_ms": 0.0}, "mean_ms"), ({"cv": -0.1}, "cv"),
     ({"distribution": "normal"}, "distribution")],
)
def test_time_constants_bad_arguments_raise(kwargs, word):
    args = {"n_neurons": 10, "mean_ms": 10.0, "cv": 0.5} | kwargs
    with pytest.raises(ValueError, match=word):
        sample_time_constants(**args)


def test_population_of_sampled_time_constants_runs_as_one_lif_simulation():
    # A population whose neurons all have the mean tau equals the shared-tau simulation
    # exactly (the per-neuron coefficients are the same numbers).
    p = LIFParams()
    cur = np.random.default_rng(1).uniform(0.0, 4.0, size=(2000, 6))
    tau = sample_time_constants(6, p.tau_m_ms, 0.0)
    for method in ("exact", "euler"):
        q = dataclasses.replace(p, method=method)
        ref = simulate(LIF, q, cur, 200.0, record_states=True)
        pop = simulate(LIF, dataclasses.replace(q, tau_m_ms=tau), cur, 200.0,
                       record_states=True)
        np.testing.assert_array_equal(pop.v_mV, ref.v_mV)
        np.testing.assert_array_equal(pop.spikes, ref.spikes)
    with pytest.raises(ValueError, match="current_nA"):
        simulate(LIF, dataclasses.replace(p, tau_m_ms=(5.0, 10.0)), np.ones(3), 10.0)


def test_heterogeneous_population_carries_more_information_about_its_input():
    # The tutorial's experiment (M1T2 section 3): 40 LIF neurons share a smooth random
    # input; a linear read-out of their binned spike counts recovers it much better when
    # the time constants vary (gamma, CV 0.5) than when all equal the mean, 20 ms.
    # Measured: R^2 about 0.1 (homogeneous) against 0.65-0.75 (heterogeneous) for seeds 0-3.
    p = LIFParams()
    n_steps = 20000
    s = smooth_noise(n_steps, p.dt_ms, 20.0, seed=0)
    r2 = {}
    for cv in (0.0, 0.5):
        tau = sample_time_constants(40, 20.0, cv, seed=1)
        res = simulate(LIF, dataclasses.replace(p, tau_m_ms=tau), 2.0 + s[:, None],
                       n_steps * p.dt_ms)
        counts = bin_spike_counts(res.spikes, 50)
        target = s[: len(counts) * 50].reshape(-1, 50).mean(axis=1)
        r2[cv] = linear_decoding_r2(counts, target, n_train=len(target) // 2)
    assert r2[0.5] > 0.6 and r2[0.5] > r2[0.0] + 0.3, r2


def test_linear_decoder_matches_least_squares_and_r2_by_hand():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((200, 5))
    y = x @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.7
    w = fit_ridge_decoder(x, y, ridge=0.0)
    expected, *_ = np.linalg.lstsq(np.column_stack([x, np.ones(200)]), y, rcond=None)
    np.testing.assert_allclose(w, expected, atol=1e-10)
    assert linear_decoding_r2(x, y, n_train=100, ridge=0.0) == pytest.approx(1.0, abs=1e-12)
    # Features unrelated to the target: R^2 near 0 or below on the test half.
    assert linear_decoding_r2(rng.standard_normal((200, 5)), y, n_train=100) < 0.2
    with pytest.raises(ValueError, match="n_train"):
        linear_decoding_r2(x, y, n_train=200)


def test_bin_spike_counts_by_hand_and_smooth_noise_statistics():
    spikes = np.zeros((7, 2), dtype=bool)
    spikes[[0, 2, 3, 5], 0] = True
    spikes[6, 1] = True  # in the incomplete last bin: dropped
    np.testing.assert_array_equal(bin_spike_counts(spikes, 3), [[2, 0], [2, 0]])
    np.testing.assert_array_equal(bin_spike_counts(torch.from_numpy(spikes), 3),
                                  [[2, 0], [2, 0]])
    # An AR(1) process with coefficient e^{-dt/tau} has autocorrelation e^{-1} at lag tau.
    x = smooth_noise(200000, 0.1, 2.0, seed=0)
    assert x.mean() == pytest.approx(0.0, abs=1e-12) and x.std() == pytest.approx(1.0)
    lag = 20
    assert np.mean(x[:-lag] * x[lag:]) == pytest.approx(math.exp(-1.0), abs=0.03)
    np.testing.assert_array_equal(x, smooth_noise(200000, 0.1, 2.0, seed=0))
