"""Tests of Poisson spikes, spike-train statistics and operation counting.

The Poisson generator is a Bernoulli process on a grid: in each bin of width dt a neuron
fires with probability p = r dt. Its statistics are known exactly (Dayan & Abbott 2001,
ch. 1.4, for the continuous limit): counts in n bins are Binomial(n, p) with mean n p and
Fano factor 1 - p; intervals are geometric with mean dt / p and CV sqrt(1 - p). Every
statistical test compares with these values within 4 standard errors computed from the
number of samples (a two-sided miss probability below 1e-4 for any seed), and uses a fixed
seed, so the suite is deterministic.
"""

import math

import matplotlib
import numpy as np
import pytest

from neuroai_core.energy import (
    ENERGY_PER_OP,
    OpEnergy,
    dense_macs,
    energy_pJ,
    fan_out_of,
    synaptic_ops,
)
from neuroai_core.spikes import (
    coefficient_of_variation,
    fano_factor,
    firing_rates,
    isi,
    poisson_spikes,
    spike_counts,
    spike_times,
    windowed_rates,
)

matplotlib.use("Agg")

RATE_HZ, DT_MS = 20.0, 1.0
P = RATE_HZ * DT_MS / 1000.0  # 0.02 spike probability per bin


@pytest.fixture(scope="module")
def trials():
    # 4000 independent trials of 1 s (1000 bins) at 20 Hz.
    return poisson_spikes(np.full(4000, RATE_HZ), 1000.0, DT_MS, seed=1)


def test_poisson_mean_count_matches_rate(trials):
    # Expected count r T = 20 spikes; the mean of N = 4000 Binomial(1000, 0.02) counts
    # has standard error sqrt(n p (1 - p) / N) = sqrt(19.6 / 4000) = 0.070.
    counts = spike_counts(trials)
    n, n_trials = trials.shape
    se = math.sqrt(n * P * (1 - P) / n_trials)
    assert abs(counts.mean() - RATE_HZ * 1.0) < 4 * se
    # The same check through the rate estimator, in Hz: standard error se / T.
    assert abs(firing_rates(trials, DT_MS).mean() - RATE_HZ) < 4 * se / 1.0


def test_poisson_fano_factor_near_one(trials):
    # Binomial counts have Fano factor exactly 1 - p = 0.98 (-> 1, Poisson, as dt -> 0).
    # The sample variance of N near-normal counts has relative standard error
    # sqrt(2 / (N - 1)) = 0.022, so the Fano factor is known to 4 x 0.022 x 0.98 = 0.088.
    counts = spike_counts(trials)
    se = (1 - P) * math.sqrt(2 / (len(counts) - 1))
    assert abs(fano_factor(counts) - (1 - P)) < 4 * se
    assert abs(fano_factor(counts) - 1.0) < 4 * se + P


def test_poisson_intervals_are_exponential_with_cv_one():
    # 200 trains of 20 s at 20 Hz: about 80,000 intervals. Long trains keep the bias of
    # intervals cut by the window edges (order 1 / (r T) = 0.25%) well below the error.
    spikes = poisson_spikes(np.full(200, RATE_HZ), 20_000.0, DT_MS, seed=2)
    intervals = isi(spike_times(spikes, DT_MS))
    m = len(intervals)
    assert m > 70_000
    # Geometric intervals: mean dt / p = 50 ms = 1 / r; standard error 50 * CV / sqrt(m).
    cv_exact = math.sqrt(1 - P)
    assert abs(intervals.mean() - DT_MS / P) < 4 * 50.0 * cv_exact / math.sqrt(m)
    # CV sqrt(1 - p) = 0.990 (-> 1 for exponential intervals). The sample CV of
    # exponential data has standard error 1 / sqrt(m) (delta method: 2/m + 1/m - 2/m).
    cv = coefficient_of_variation(intervals)
    assert abs(cv - cv_exact) < 4 / math.sqrt(m)
    assert abs(cv - 1.0) < 4 / math.sqrt(m) + P
    # Exponential shape: P(ISI > 50 ms) = (1 - p)^50 = 0.364, close to e^-1 = 0.368;
    # a binomial proportion over m intervals has standard error sqrt(S (1 - S) / m).
    survival = (1 - P) ** 50
    se = math.sqrt(survival * (1 - survival) / m)
    assert abs(np.mean(intervals > 50.0) - survival) < 4 * se


def test_rate_error_shrinks_like_one_over_sqrt_rate_times_window():
    # A rate estimated from a window T has relative std sqrt((1 - p) / (r T)).
    # 2000 neurons, windows of 50 ms and 800 ms at 40 Hz: predicted 0.222 and 0.0556.
    rate, dt = 40.0, 1.0
    p = rate * dt / 1000.0
    spikes = poisson_spikes(np.full(2000, rate), 800.0, dt, seed=3)
    for window_ms in (50.0, 800.0):
        est = windowed_rates(spikes, dt, window_ms)
        assert est.shape == (int(800 / window_ms), 2000)
        predicted = math.sqrt((1 - p) / (rate * window_ms / 1000.0))
        rel = est.std() / rate
        # The sample std of >= 2000 estimates has relative standard error <= 1/sqrt(2 x 1999)
        # (normal data; Poisson counts of mean >= 2 are close enough at 4 standard errors).
        assert abs(rel - predicted) < 4 * predicted / math.sqrt(2 * 1999)


def test_reproducible_by_seed_and_generator():
    a = poisson_spikes([5.0, 50.0], 200.0, 0.5, seed=7)
    b = poisson_spikes([5.0, 50.0], 200.0, 0.5, seed=7)
    np.testing.assert_array_equal(a, b)
    # A Generator is used as given: the same stream as default_rng(7).
    c = poisson_spikes([5.0, 50.0], 200.0, 0.5, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a, c)
    # The documented recipe: one draw rng.random((n_steps, n_neurons)) < rate * dt.
    u = np.random.default_rng(7).random((400, 2))
    np.testing.assert_array_equal(a, u < np.array([5.0, 50.0]) * 0.5 / 1000.0)
    assert not np.array_equal(a, poisson_spikes([5.0, 50.0], 200.0, 0.5, seed=8))
    assert a.dtype == bool and a.shape == (400, 2)


def test_extreme_and_time_varying_rates_are_exact():
    # p = 0 never fires; p = r dt = 1000 Hz x 1 ms = 1 fires in every bin.
    s = poisson_spikes([0.0, 1000.0], 50.0, 1.0, seed=0)
    np.testing.assert_array_equal(spike_counts(s), [0, 50])
    # A rate of 0 for 20 steps, then 1000 Hz: spikes exactly in the last 30 steps.
    rates = np.concatenate([np.zeros((20, 1)), np.full((30, 1), 1000.0)])
    s = poisson_spikes(rates, 50.0, 1.0, seed=0)
    np.testing.assert_array_equal(s[:, 0], np.arange(50) >= 20)


def test_counting_utilities_by_hand():
    raster = np.array([[1, 0], [0, 0], [1, 1], [0, 0], [1, 0], [0, 1]], dtype=bool)
    dt = 10.0  # ms; the train lasts 60 ms
    np.testing.assert_array_equal(spike_counts(raster), [3, 2])
    np.testing.assert_allclose(firing_rates(raster, dt), [3 / 0.06, 2 / 0.06])
    # Windows of 20 ms: counts [1, 0], [1, 1], [1, 1] -> divide by 0.02 s.
    np.testing.assert_allclose(windowed_rates(raster, dt, 20.0), [[50, 0], [50, 50], [50, 50]])
    # 40 ms windows: one whole window (4 steps), the last 2 steps dropped.
    np.testing.assert_allclose(windowed_rates(raster, dt, 40.0), [[2 / 0.04, 1 / 0.04]])
    times = spike_times(raster, dt)  # (k + 1) dt
    np.testing.assert_allclose(times[0], [10.0, 30.0, 50.0])
    np.testing.assert_allclose(times[1], [30.0, 60.0])
    # Intervals are taken within each train, never across trains: [20, 20] and [30].
    np.testing.assert_allclose(isi(times), [20.0, 20.0, 30.0])
    np.testing.assert_allclose(isi(times[0]), [20.0, 20.0])


def test_cv_and_fano_by_hand():
    assert coefficient_of_variation([10.0, 10.0, 10.0]) == 0.0  # a clock
    # Intervals 5 and 15: mean 10, population std 5 -> CV 0.5.
    assert coefficient_of_variation([5.0, 15.0]) == pytest.approx(0.5)
    assert math.isnan(coefficient_of_variation([3.0]))
    # Counts 2, 4, 6: mean 4, unbiased variance 4 -> Fano 1.
    assert fano_factor([2, 4, 6]) == pytest.approx(1.0)
    assert fano_factor([5, 5, 5]) == 0.0
    assert math.isnan(fano_factor([0, 0]))


# A tiny layer, counted by hand: 3 inputs, 2 outputs, 4 time steps.
RASTER = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=bool)


def test_dense_and_spiking_operation_counts_by_hand():
    # Dense: 3 x 2 = 6 weights, one MAC each per evaluation; 24 when run on all 4 steps.
    assert dense_macs(3, 2) == 6
    assert dense_macs(3, 2, n_steps=4) == 24
    # Spiking, all-to-all: 5 spikes (inputs fire 2, 1 and 2 times) x fan-out 2 = 10 SOPs.
    assert synaptic_ops(RASTER, 2) == 10
    assert synaptic_ops(RASTER, np.array([2, 2, 2])) == 10
    # Sparse weights: input 0 reaches 1 target, input 1 two, input 2 none:
    # 2 spikes x 1 + 1 spike x 2 + 2 spikes x 0 = 4 SOPs.
    w = np.array([[0.5, 0.0], [0.2, -1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(fan_out_of(w), [1, 2, 0])
    assert synaptic_ops(RASTER, fan_out_of(w)) == 4
    assert synaptic_ops(np.zeros((10, 3), dtype=bool), 2) == 0  # silence is free


def test_event_driven_accumulation_equals_the_dense_product():
    # Why an SOP is one accumulate: adding the weight rows of the inputs that spiked gives
    # exactly the dense product s @ W, with (spikes x fan-out) additions instead of
    # n_in x n_out multiply-accumulates per step.
    w = np.random.default_rng(0).normal(size=(3, 2))
    adds = 0
    for s in RASTER:
        out = np.zeros(2)
        for i in np.flatnonzero(s):
            out += w[i]
            adds += w.shape[1]
        np.testing.assert_allclose(out, s @ w)
    assert adds == synaptic_ops(RASTER, 2) == 10


def test_energy_is_operations_times_energy_per_operation():
    assert energy_pJ(10, 0.9) == pytest.approx(9.0)
    assert energy_pJ(24, ENERGY_PER_OP["mac_fp32_45nm"]) == pytest.approx(24 * 4.6)
    assert energy_pJ(0, 23.6) == 0.0
    # Presets agree with the components they cite (Horowitz 2014: 3.7 + 0.9, 3.1 + 0.1 pJ).
    assert ENERGY_PER_OP["mac_fp32_45nm"].energy_pJ == pytest.approx(3.7 + 0.9)
    assert ENERGY_PER_OP["mac_int32_45nm"].energy_pJ == pytest.approx(3.1 + 0.1)
    for name, op in ENERGY_PER_OP.items():
        assert any(str(year) in op.source for year in (2014, 2018)), name
        assert op.operation, name


@pytest.mark.parametrize(
    "call, word",
    [
        (lambda: poisson_spikes(2000.0, 10.0, 1.0), "rates_hz"),  # p = 2 > 1
        (lambda: poisson_spikes(-1.0, 10.0, 1.0), "rates_hz"),
        (lambda: poisson_spikes(np.ones((3, 2)), 10.0, 1.0), "rates_hz"),
        (lambda: poisson_spikes(10.0, 10.0, 0.0), "dt_ms"),
        (lambda: poisson_spikes(10.0, 0.0, 1.0), "t_ms"),
        (lambda: windowed_rates(RASTER, 1.0, 10.0), "window_ms"),
        (lambda: firing_rates(np.ones(5), 1.0), "spikes"),
        (lambda: dense_macs(-1, 2), "n_inputs"),
        (lambda: dense_macs(3, 2.5), "n_outputs"),
        (lambda: dense_macs(3, 2, n_steps=-4), "n_steps"),
        (lambda: synaptic_ops(RASTER, np.array([1, 2])), "fan_out"),
        (lambda: synaptic_ops(RASTER, -1), "fan_out"),
        (lambda: synaptic_ops(RASTER[0], 2), "spikes"),
        (lambda: energy_pJ(10, -0.9), "energy_per_op"),
        (lambda: energy_pJ(-1, 0.9), "n_ops"),
        (lambda: OpEnergy(float("nan"), "add", "nowhere"), "energy_pJ"),
    ],
)
def test_bad_input_raises_naming_the_parameter(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def test_plots_have_labels_with_units_and_titles():
    import matplotlib.pyplot as plt

    from neuroai_core.plots import (
        plot_isi_histogram,
        plot_operation_counts,
        plot_raster,
        plot_rate_precision,
    )

    axes = [
        plot_raster(RASTER, 1.0),
        plot_isi_histogram([5.0, 20.0, 60.0], rate_hz=20.0),
        plot_rate_precision([10, 100], [0.5, 0.1], theory=[0.5, 0.16]),
        plot_operation_counts([1, 10], [5, 50], 30),
    ]
    for ax in axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        assert "(" in ax.get_xlabel()  # a unit or an explicit "index"
    plt.close("all")


def test_one_raster_for_a_boolean_raster_and_for_spike_times():
    # The same spikes given as a raster (step k drawn at (k + 1) dt) and as times draw the
    # same ticks; a raster needs dt_ms.
    import matplotlib.pyplot as plt
    import torch

    from neuroai_core.plots import plot_raster

    raster = np.zeros((5, 3), dtype=bool)
    raster[[0, 3], 0] = True
    raster[4, 2] = True
    times = [np.array([1.0, 4.0]), np.array([]), np.array([5.0])]
    ticks = []
    for spikes, dt in ((raster, 1.0), (torch.from_numpy(raster), 1.0), (times, None)):
        ax = plot_raster(spikes, dt)
        ticks.append([list(c.get_positions()) for c in ax.collections])
        assert ax.get_ylabel() == "neuron index" and ax.get_xlabel() == "time (ms)"
    assert ticks[0] == ticks[1] == ticks[2] == [[1.0, 4.0], [], [5.0]]
    with pytest.raises(ValueError, match="dt_ms"):
        plot_raster(raster)
    plt.close("all")
