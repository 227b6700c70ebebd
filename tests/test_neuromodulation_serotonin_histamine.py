"""Serotonin as patience (Doya 2002; Miyazaki et al. 2014, 2018) and histamine as an arousal
gain on a LIF population (Haas & Panula 2003). Expected values: closed forms and hand
computations, stated at each check."""

import math

import numpy as np
import pytest

from neuroai_core.neuromodulation import (
    ArousalTask,
    WaitingTask,
    arousal_counts,
    arousal_tradeoff,
    best_operating_point,
    decode_accuracy,
    gamma_from_horizon,
    give_up_probability,
    indifference_delay,
    population_sops,
    preferred_signs,
    simulate_waiting,
    value_of_waiting,
    wait_value_memoryless,
)
from neuroai_core.neurons import LIFParams

# --- serotonin --------------------------------------------------------------------------


def test_gamma_from_horizon_and_value_by_hand():
    assert gamma_from_horizon(10) == pytest.approx(0.9)
    np.testing.assert_allclose(gamma_from_horizon([1, 2, 4]), [0.0, 0.5, 0.75])
    # 0.9^2 * 4 = 3.24
    assert value_of_waiting(4.0, 2, 0.9) == pytest.approx(3.24)
    np.testing.assert_allclose(value_of_waiting(2.0, [0, 1, 3], 0.5), [2.0, 1.0, 0.25])


def test_indifference_delay_closed_form():
    # ln(1/3) / ln(0.9) = -1.098612 / -0.1053605 = 10.4272
    assert indifference_delay(1.0, 3.0, 0.9) == pytest.approx(10.4272, abs=1e-4)
    # at t* waiting is worth exactly r_now
    for g in (0.5, 0.8, 0.95, 0.99):
        t = indifference_delay(1.0, 2.5, g)
        assert value_of_waiting(2.5, t, g) == pytest.approx(1.0)
    assert indifference_delay(1.0, 3.0, 1.0) == math.inf
    assert indifference_delay(1.0, 3.0, 0.0) == 0.0
    # long horizons: t* ~ H ln(R_late / R_now) (ln(1 - 1/H) ~ -1/H)
    assert indifference_delay(1.0, 3.0, gamma_from_horizon(1000.0)) == pytest.approx(
        1000 * math.log(3), rel=1e-3)


def test_wait_value_memoryless_against_the_series():
    # independent: sum_k gamma^k (1-q)^(k-1) q R, summed to k = 2000
    for q, g in ((0.1, 0.9), (0.3, 0.95), (1.0, 0.5)):
        k = np.arange(1, 2001)
        series = float(np.sum(g**k * (1 - q) ** (k - 1) * q * 3.0))
        assert wait_value_memoryless(3.0, q, g) == pytest.approx(series)


def test_give_up_probability_by_hand():
    assert give_up_probability(1.0, 1.0, 2.0) == pytest.approx(0.5)
    # 1 / (1 + e^(2 * 1)) = 0.1192
    assert give_up_probability(2.0, 1.0, 2.0) == pytest.approx(1 / (1 + math.e**2))


def test_simulated_waiting_matches_closed_forms():
    task = WaitingTask(r_now=1.0, r_late=3.0, mean_delay_steps=10, omission_prob=0.5,
                       beta=2.0)
    q = 0.1
    for horizon in (5, 20):
        g = gamma_from_horizon(horizon)
        h = float(give_up_probability(wait_value_memoryless(3.0, q, g), 1.0, 2.0))
        sim = simulate_waiting(g, task, n_trials=20000, seed=horizon)
        assert sim["give_up_prob"] == pytest.approx(h)
        om = sim["omission"]
        # omission trials: geometric leaving time, mean 1/h (max_steps 500 is far beyond)
        assert sim["wait_steps"][om].mean() == pytest.approx(1 / h, rel=0.05)
        # rewarded: P(D < L) = sum_d q (1-q)^(d-1) (1-h)^d = q (1-h) / (1 - (1-q)(1-h))
        p = q * (1 - h) / (1 - (1 - q) * (1 - h))
        assert sim["rewarded"][~om].mean() == pytest.approx(p, abs=0.02)
        assert not sim["rewarded"][om].any()
    # the serotonin knob: a longer horizon gives longer waits on omission trials
    runs = [simulate_waiting(gamma_from_horizon(H), task, 5000, seed=1) for H in (2, 5, 10, 20)]
    waits = [r["wait_steps"][r["omission"]].mean() for r in runs]
    assert np.all(np.diff(waits) > 0), waits


def test_serotonin_rejects_bad_input():
    with pytest.raises(ValueError, match="horizon_steps"):
        gamma_from_horizon(0.5)
    with pytest.raises(ValueError, match="gamma"):
        value_of_waiting(1.0, 1, 1.5)
    with pytest.raises(ValueError, match="r_now"):
        indifference_delay(3.0, 1.0, 0.9)
    with pytest.raises(ValueError, match="delay_steps"):
        value_of_waiting(1.0, -1, 0.9)
    with pytest.raises(ValueError, match="mean_delay_steps"):
        WaitingTask(mean_delay_steps=0.5)


# --- histamine --------------------------------------------------------------------------


def test_decode_and_sops_by_hand():
    w = np.array([1, 1, -1, -1])
    counts = np.array([[3, 1, 0, 1],    # sum w n = 3 -> +1, stimulus +1: right
                       [0, 1, 2, 0],    # -1, stimulus +1: wrong
                       [1, 1, 1, 1]])   # 0: a tie, one half
    assert decode_accuracy(counts, w, np.array([1, 1, -1])) == pytest.approx(1.5 / 3)
    # (5 + 3 + 4) spikes x 10 synapses / 3 trials = 40
    assert population_sops(counts, 10) == pytest.approx(40.0)
    np.testing.assert_array_equal(preferred_signs(4), w)


def _lif_count(current_nA, window_ms):
    """Closed form: from rest at E_L = V_reset the first spike comes after
    tau ln(RI / (RI - (theta - E_L))), later ones every t_ref + that time."""
    p = LIFParams()
    ri = p.r_m_MOhm * current_nA
    gap = p.v_threshold_mV - p.e_leak_mV
    if ri <= gap:
        return 0
    climb = p.tau_m_ms * math.log(ri / (ri - gap))
    return int((window_ms - climb) // (p.t_ref_ms + climb)) + 1 if climb <= window_ms else 0


def test_noise_free_counts_follow_the_lif_closed_form():
    task = ArousalTask(n_neurons=4, window_ms=100.0, base_nA=1.2, signal_nA=0.2, noise_nA=0.0)
    for gain in (1.0, 1.5, 2.5):
        counts, s, w = arousal_counts(gain, task, n_trials=3, seed=0)
        for trial in range(3):
            for i in range(4):
                current = gain * (1.2 + 0.2 * w[i] * s[trial])
                # the 0.1 ms grid can move a spike across the window's end: +-1
                assert abs(counts[trial, i] - _lif_count(current, 100.0)) <= 1


def test_zero_gain_is_silent_and_chance():
    task = ArousalTask(noise_nA=0.5)
    counts, s, w = arousal_counts(0.0, task, n_trials=50, seed=1)
    # noise alone (sd 0.5 nA) almost never crosses the 1.5 nA rheobase (3 sd)
    assert counts.sum() <= 2 * 50
    assert decode_accuracy(np.zeros_like(counts), w, s) == 0.5


def test_arousal_trades_accuracy_for_energy():
    res = arousal_tradeoff([0.5, 1.5, 3.0], n_trials=300, seed=0)
    # more gain, more spikes: strictly more SOPs
    assert np.all(np.diff(res["sops"]) > 0)
    # near chance below rheobase, clearly better above it (binomial sd ~ 0.03)
    assert res["accuracy"][0] < 0.7 and res["accuracy"][2] > 0.85
    np.testing.assert_allclose(res["rate_hz"] * 0.1 * 100 * 100, res["sops"])


def test_best_operating_point_by_hand():
    # utility = accuracy - 1e-4 * sops = [0.59, 0.8, 0.45] -> gain 2
    best, u = best_operating_point([1, 2, 3], [0.6, 0.9, 0.95], [100, 1000, 5000], 1e-4)
    assert best == 2.0
    np.testing.assert_allclose(u, [0.59, 0.8, 0.45])
    # free energy: the most accurate point
    assert best_operating_point([1, 2, 3], [0.6, 0.9, 0.95], [100, 1000, 5000], 0.0)[0] == 3
    with pytest.raises(ValueError, match="cost_per_sop"):
        best_operating_point([1], [1], [1], -1.0)
    with pytest.raises(ValueError, match="gain"):
        arousal_counts(-1.0)
