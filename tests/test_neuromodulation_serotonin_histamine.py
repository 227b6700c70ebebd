"""Serotonin as patience (Doya 2002; Miyazaki et al. 2014, 2018) and histamine as an arousal
gain on a LIF population (Haas & Panula 2003). Expected values: closed forms and hand
computations, stated at each check."""

import math

import numpy as np
import pytest

from neuroai_core.neuromodulation import (
    ArousalTask,
    GainTask,
    WaitingTask,
    arousal_counts,
    arousal_tradeoff,
    best_operating_point,
    decode_accuracy,
    gain_accuracy,
    gamma_from_horizon,
    give_up_probability,
    give_up_time,
    indifference_delay,
    population_sops,
    preferred_signs,
    reward_belief,
    scalar_timing_delays,
    serotonin_prior,
    sigmoid_rate,
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


# --- waiting with a belief (Miyazaki et al. 2018) ---------------------------------------


def test_reward_belief_by_hand():
    # p = 0.75, delays 2, 6, 10 s equally likely. Bayes by hand:
    # t = 0: S = 1 -> 0.75; t = 3: S = 2/3 -> 0.5 / (0.5 + 0.25) = 2/3;
    # t = 7: S = 1/3 -> 0.25 / (0.25 + 0.25) = 1/2; t = 11: S = 0 -> 0.
    b = reward_belief(np.array([0.0, 3.0, 7.0, 11.0]), 0.75, [2, 6, 10], [1 / 3] * 3)
    np.testing.assert_allclose(b, [0.75, 2 / 3, 0.5, 0.0])
    # At exactly t = 2 the 2 s reward would have come: D > t is strict, S = 2/3.
    assert reward_belief(2.0, 0.75, [2, 6, 10], [1 / 3] * 3) == pytest.approx(2 / 3)
    # One sure delay (fixed timing): the belief stays at the prior, then drops to 0.
    np.testing.assert_allclose(reward_belief([1.0, 5.9, 6.0], 0.4, [6.0], [1.0]),
                               [0.4, 0.4, 0.0])
    # Prior 0 (a reward is never scheduled): nothing to wait for.
    np.testing.assert_allclose(reward_belief([0.0, 1.0], 0.0, [2.0], [1.0]), [0.0, 0.0])


def test_reward_belief_equals_a_count_of_trials():
    # Independent check: the posterior is the fraction of trials still to be rewarded among
    # the trials not yet rewarded. Count them exactly with 40 trials: 30 scheduled (10 at
    # each of 1, 4, 8 s), 10 omissions; at t = 5 the unrewarded trials are the 10 omissions
    # and the 10 at 8 s.
    assert reward_belief(5.0, 30 / 40, [1, 4, 8], [1 / 3] * 3) == pytest.approx(10 / 20)
    # and logit b = logit p + ln S (the module notes) on a random case
    gen = np.random.default_rng(0)
    d, w = np.sort(gen.uniform(1, 10, 5)), gen.dirichlet(np.ones(5))
    t = np.array([0.5, 3.0])
    surv = np.array([w[d > x].sum() for x in t])
    b = reward_belief(t, 0.6, d, w)
    np.testing.assert_allclose(np.log(b / (1 - b)), np.log(0.6 / 0.4) + np.log(surv))


def test_serotonin_prior_and_give_up_time_by_hand():
    # logit 0.5 = 0; + ln 3 -> p' = 3/4. logit 0.25 = -ln 3; + ln 3 -> 1/2.
    assert serotonin_prior(0.5, math.log(3)) == pytest.approx(0.75)
    assert serotonin_prior(0.25, math.log(3)) == pytest.approx(0.5)
    assert serotonin_prior(0.3, 0.0) == pytest.approx(0.3)
    t = np.arange(5.0)
    assert give_up_time(np.array([0.9, 0.8, 0.6, 0.5, 0.1]), t, 0.6) == 2.0
    assert give_up_time(np.array([0.9, 0.8, 0.7]), t[:3], 0.5) == 2.0  # waits to the end
    assert give_up_time(np.array([0.4, 0.9]), t[:2], 0.5) == 0.0  # leaves at once


def test_scalar_timing_keeps_the_mass_and_the_means():
    grid, probs = scalar_timing_delays([2.0, 6.0], [0.25, 0.75], 0.1, 0.01, 20.0)
    assert probs.sum() == pytest.approx(1.0) and grid[0] == pytest.approx(0.01)
    # each bump is a Gaussian well inside the grid: mean 0.25 * 2 + 0.75 * 6 = 5
    assert float(np.sum(grid * probs)) == pytest.approx(5.0, abs=1e-3)
    # mass below 4 s: all of the 2 s bump (sd 0.2 s) and the 6 s bump's tail beyond
    # (6 - 4) / 0.6 sd: 0.25 + 0.75 Phi(-10/3)
    tail = 0.5 * (1 + math.erf(-(2 / 0.6) / math.sqrt(2)))
    assert float(probs[grid < 4].sum()) == pytest.approx(0.25 + 0.75 * tail, abs=1e-4)


def test_serotonin_as_prior_lengthens_waits_most_under_uncertain_timing():
    # The qualitative result of Miyazaki et al. (2018) that the model reproduces: raising the
    # prior lengthens the wait on omission trials more when the delay is uncertain
    # (2, 6 or 10 s) than when it is fixed (6 s), and not at all with a 25 % prior.
    t = np.arange(0.0, 20.0, 0.05)

    def wait(delays, prior, kappa):
        grid, probs = scalar_timing_delays(delays, [1 / len(delays)] * len(delays), 0.15,
                                           0.05, 40.0)
        b = reward_belief(t, float(serotonin_prior(prior, kappa)), grid, probs)
        return give_up_time(b, t, 0.65)

    effect = {name: wait(d, p, 1.0) - wait(d, p, 0.0)
              for name, d, p in (("uncertain", [2, 6, 10], 0.75), ("fixed", [6], 0.75),
                                 ("low", [2, 6, 10], 0.25))}
    assert effect["uncertain"] > 2 * effect["fixed"] > 0
    assert effect["low"] == 0.0


def test_belief_functions_reject_bad_input():
    with pytest.raises(ValueError, match="prior"):
        reward_belief(1.0, 1.0, [2.0], [1.0])
    with pytest.raises(ValueError, match="delay_probs"):
        reward_belief(1.0, 0.5, [2.0, 3.0], [0.5, 0.6])
    with pytest.raises(ValueError, match="weber_fraction"):
        scalar_timing_delays([2.0], [1.0], 0.0, 0.1, 5.0)
    with pytest.raises(ValueError, match="threshold"):
        give_up_time([0.5], [0.0], 1.5)


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


def test_noise_inside_the_gain_removes_the_built_in_benefit():
    # Noise-free drive is identical in both variants; with noise_inside_gain the current is
    # g (drive + noise): at gain 2 and noise 0.5 nA, the same draws give twice the noise.
    a = arousal_counts(2.0, ArousalTask(n_neurons=4, noise_nA=0.0), n_trials=5, seed=3)
    b = arousal_counts(2.0, ArousalTask(n_neurons=4, noise_nA=0.0, noise_inside_gain=True),
                       n_trials=5, seed=3)
    np.testing.assert_array_equal(a[0], b[0])


def test_gain_accuracy_by_hand():
    # Inputs chosen so the sigmoid gives 75 and 25 Hz: I = 1.5 +- 0.2 ln 3 (logistic(ln 3)
    # = 3/4). N = 2, T = 20 ms: lambda+ = 1.5, lambda- = 0.5 spikes; mu = 1, sigma^2 = 2;
    # accuracy = Phi(1 / sqrt 2) = (1 + erf(1/2)) / 2; spikes = 2.
    c = 0.2 * math.log(3)
    task = GainTask(base_nA=1.5, signal_nA=c, n_neurons=2, window_ms=20.0)
    assert sigmoid_rate(1.5 + c, task) == pytest.approx(75.0)
    acc, spikes = gain_accuracy(1.0, 0.0, task)
    assert acc == pytest.approx(0.5 * (1 + math.erf(0.5)))
    assert spikes == pytest.approx(2.0)
    # The same inputs through a gain of 2 on half of them, or a shift of 0.5 nA.
    half = GainTask(base_nA=0.75, signal_nA=c / 2, n_neurons=2, window_ms=20.0)
    assert gain_accuracy(2.0, 0.0, half) == pytest.approx((acc, spikes))
    shifted = GainTask(base_nA=1.0, signal_nA=c, n_neurons=2, window_ms=20.0)
    assert gain_accuracy(1.0, 0.5, shifted) == pytest.approx((acc, spikes))
    # A silent population: chance and no spikes (gain 0 with a tiny r_max is not silent, so
    # use a huge negative shift: the logistic underflows to exactly 0 Hz).
    assert gain_accuracy(1.0, -1e4) == (0.5, 0.0)


def test_gain_accuracy_is_an_inverted_u_while_spikes_keep_rising():
    gains = np.linspace(0.5, 2.5, 21)
    res = np.array([gain_accuracy(g) for g in gains])
    k = int(np.argmax(res[:, 0]))
    assert 0 < k < len(gains) - 1  # the best gain is inside the range
    assert np.all(np.diff(res[: k + 1, 0]) > 0) and np.all(np.diff(res[k:, 0]) < 0)
    assert np.all(np.diff(res[:, 1]) > 0)
    # near chance at both ends (saturation: both groups at r_max)
    assert res[0, 0] < 0.6 and res[-1, 0] < 0.55
    with pytest.raises(ValueError, match="gain"):
        gain_accuracy(-1.0)
    with pytest.raises(ValueError, match="slope_nA"):
        GainTask(slope_nA=0.0)
