"""Tests of the Module 5 analysis tools: a simulated population, decoders, RSA, baselines.

Each expected value comes from an independent source: scipy's ``pdist``/``squareform``,
``spearmanr``, ``pearsonr`` and ``rankdata`` for the RSA arithmetic; scikit-learn's
``LinearDiscriminantAnalysis`` for the linear decoder; a LIF loop written in this file
(the textbook form of the exact step) for the population's spike counts; hand
computations for the rest. Statistical checks use a fixed seed and bounds of
4 standard errors computed from the number of samples (a miss probability below 1e-4 for
any seed), so the suite is deterministic.
"""

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist, squareform
from scipy.stats import pearsonr, rankdata, spearmanr
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from neuroai_core.analysis import (
    POPULATION_LIF,
    bandit_baseline,
    compare_rdms,
    condition_means,
    continual_baseline,
    cross_val_accuracy,
    linear_decoder,
    mlp_decoder,
    network_representations,
    population_responses,
    rank_average,
    rdm,
    rdm_permutation_test,
    standardize,
    stratified_folds,
    train_mlp,
    upper_triangle,
)
from neuroai_core.continual import MLP

DIRECTIONS = np.arange(8) * 45.0  # 8 directions, degrees
N_TRIALS = 40  # per direction


def binomial_bound(n: int, p: float, n_se: float = 4.0) -> float:
    """``n_se`` standard errors of an accuracy measured on ``n`` Bernoulli(p) trials."""
    return n_se * math.sqrt(p * (1 - p) / n)


@pytest.fixture(scope="module")
def population():
    return population_responses(DIRECTIONS, n_neurons=50, n_trials=N_TRIALS, seed=0)


def separable_set(n_per_class=30, n_classes=4, n_features=6, seed=0):
    # Gaussian clusters of standard deviation 1 around means 10 units apart on the axes:
    # the nearest other mean is 10 * sqrt(2) = 14 away, over 7 standard deviations.
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    means = 10.0 * np.eye(n_classes, n_features)
    return means[y] + rng.standard_normal((len(y), n_features)), y


# --- the simulated population ------------------------------------------------------------


def test_population_shapes_labels():
    r = population_responses(DIRECTIONS, n_neurons=50, n_trials=N_TRIALS, seed=1)
    assert r.counts.shape == (8 * N_TRIALS, 50) and r.counts.dtype == np.int64
    np.testing.assert_array_equal(r.labels, np.repeat(np.arange(8), N_TRIALS))
    assert r.tuning.shape == (8, 50) and r.tuning.min() >= 0 and r.tuning.max() <= 1
    assert r.preferred_deg.shape == (50,)
    np.testing.assert_allclose(r.rates_hz, r.counts / 0.2)
    again = population_responses(DIRECTIONS, n_neurons=50, n_trials=N_TRIALS, seed=1)
    np.testing.assert_array_equal(r.counts, again.counts)
    # Trial-to-trial variability: the same stimulus gives different counts.
    assert r.counts[r.labels == 0].std(axis=0).mean() > 0.5


def test_cosine_tuning_by_hand():
    r = population_responses(DIRECTIONS, n_neurons=5, n_trials=1, seed=2)
    delta = np.deg2rad(DIRECTIONS[:, None] - r.preferred_deg[None, :])
    np.testing.assert_allclose(r.tuning, (1 + np.cos(delta)) / 2)
    random = population_responses(np.arange(3), n_neurons=5, n_trials=1, tuning="random", seed=2)
    assert random.preferred_deg is None and random.tuning.shape == (3, 5)


def reference_lif_counts(params, current_nA, t_ms):
    """Spike counts of LIF cells with constant currents, written out here: the exact step
    ``V <- V_inf + (V - V_inf) exp(-dt / tau)`` from rest, threshold, reset, refractory
    steps (Gerstner et al. 2014, ch. 1.3)."""
    p = params
    v_inf = p.e_leak_mV + p.r_m_MOhm * np.asarray(current_nA, dtype=float)
    decay = math.exp(-p.dt_ms / p.tau_m_ms)
    v = np.full(v_inf.shape, p.e_leak_mV)
    held = np.zeros(v_inf.shape, dtype=int)
    counts = np.zeros(v_inf.shape, dtype=int)
    for _ in range(int(round(t_ms / p.dt_ms))):
        v = v_inf + (v - v_inf) * decay
        spiked = (v >= p.v_threshold_mV) & (held == 0)
        v[(held > 0) | spiked] = p.v_reset_mV
        held = np.where(spiked, int(round(p.t_ref_ms / p.dt_ms)), np.maximum(held - 1, 0))
        counts += spiked
    return counts


def test_noiseless_counts_equal_a_reference_lif_loop():
    # Without noise each trial is a LIF cell with a constant current: the loop above must
    # count the same spikes (to one spike, for a cell whose voltage lands within rounding
    # of the threshold: the library computes the same step as an affine map).
    r = population_responses(DIRECTIONS, n_neurons=20, n_trials=2, trial_noise=0.0,
                             noise_nA=0.0, seed=3)
    ref = reference_lif_counts(POPULATION_LIF, r.current_nA, 200.0)
    diff = np.abs(r.counts - ref)
    assert diff.max() <= 1 and np.mean(diff == 0) > 0.99
    assert r.counts.sum() > 0 and np.any(r.counts == 0)  # some cells fire, some do not


def test_population_decoding_beats_chance_and_grows_with_neurons(population):
    # 320 trials, 8 classes: chance 1/8, 4 standard errors = 0.074.
    chance, bound = 1 / 8, binomial_bound(8 * N_TRIALS, 1 / 8)
    y = population.labels
    acc = {n: cross_val_accuracy(linear_decoder, population.counts[:, :n], y).mean()
           for n in (2, 10, 50)}
    assert acc[2] > chance + bound
    assert acc[2] + 0.1 < acc[10] < acc[50] - 0.05  # seeded: 0.24, 0.56, 0.88
    assert acc[50] > 0.75


# --- folds and decoders ----------------------------------------------------------------


def test_stratified_folds_are_disjoint_cover_everything_and_keep_proportions():
    y = np.repeat([0, 1, 2], [10, 20, 13])
    folds = stratified_folds(y, k=5, seed=0)
    everything = np.concatenate(folds)
    assert len(everything) == len(y) and set(everything) == set(range(len(y)))
    for f in folds:
        counts = np.bincount(y[f], minlength=3)
        # each class split into 5 parts differing by at most one trial
        assert np.all(np.abs(counts - np.array([10, 20, 13]) / 5) < 1)
    assert all(np.array_equal(a, b) for a, b in zip(folds, stratified_folds(y, 5, seed=0),
                                                    strict=True))


def test_linear_decoder_equals_scikit_learn_lda():
    # Without shrinkage: the same rule as LinearDiscriminantAnalysis(solver="lsqr").
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 120)
    x = rng.standard_normal((120, 5)) + 0.8 * y[:, None] * rng.standard_normal(5)
    x_test = rng.standard_normal((60, 5)) + 1.0
    ours = linear_decoder(x, y, x_test, shrinkage=0.0)
    theirs = LinearDiscriminantAnalysis(solver="lsqr").fit(x, y).predict(x_test)
    np.testing.assert_array_equal(ours, theirs)
    # Full shrinkage and balanced classes: S is a multiple of the identity, so the rule is
    # the nearest class mean, computed here by hand.
    xb = rng.standard_normal((30, 5)) + 2.0 * np.eye(3, 5)[np.repeat(np.arange(3), 10)]
    yb = np.repeat(np.arange(3), 10)
    means = np.stack([xb[yb == c].mean(axis=0) for c in range(3)])
    nearest = np.argmin(((x_test[:, None, :] - means[None]) ** 2).sum(axis=-1), axis=1)
    np.testing.assert_array_equal(linear_decoder(xb, yb, x_test, shrinkage=1.0), nearest)


@pytest.mark.parametrize("decoder", [linear_decoder, mlp_decoder])
def test_decoders_separate_a_separable_set_and_are_at_chance_on_shuffled_labels(decoder):
    x, y = separable_set()
    np.testing.assert_array_equal(cross_val_accuracy(decoder, x, y, k=5, seed=0), 1.0)
    # Shuffled labels carry no information: 8 balanced classes, 320 trials, the pooled
    # accuracy (equal folds) is near 1/8 within 4 binomial standard errors (0.074).
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((320, 20))
    ys = rng.permutation(np.repeat(np.arange(8), 40))
    acc = cross_val_accuracy(decoder, xs, ys, k=5, seed=0).mean()
    assert abs(acc - 1 / 8) < binomial_bound(320, 1 / 8)


def test_standardisation_uses_the_training_fold_only():
    x, y = separable_set(n_per_class=10, n_classes=2)
    x = x * 3.0 + 7.0
    folds = stratified_folds(y, 5, seed=0)
    seen = []

    def spy(x_tr, y_tr, x_te):
        seen.append((x_tr, x_te))
        return np.zeros(len(x_te), dtype=int)

    cross_val_accuracy(spy, x, y, k=5, seed=0)
    for (x_tr, x_te), test in zip(seen, folds, strict=True):
        train = np.setdiff1d(np.arange(len(y)), test)
        mean, std = x[train].mean(axis=0), x[train].std(axis=0)  # by hand, train only
        np.testing.assert_allclose(x_tr, (x[train] - mean) / std)
        np.testing.assert_allclose(x_te, (x[test] - mean) / std)
    z, none = standardize(np.array([[1.0, 5.0], [3.0, 5.0]]))
    np.testing.assert_allclose(z, [[-1.0, 0.0], [1.0, 0.0]])  # a constant feature stays 0
    assert none is None


def test_train_mlp_is_seeded_and_network_representations_are_its_hidden_layer():
    x, y = separable_set(n_per_class=10, n_classes=3)
    m1, m2 = train_mlp(x, y, n_hidden=8, n_steps=20, seed=3), train_mlp(x, y, 8, 20, seed=3)
    for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
        assert torch.equal(p1, p2)
    h = network_representations(m1, x)
    w, b = m1.hidden[0].weight.detach().numpy(), m1.hidden[0].bias.detach().numpy()
    np.testing.assert_allclose(h, np.maximum(x @ w.T.astype(float) + b, 0), rtol=1e-5,
                               atol=1e-5)
    deep = MLP(6, (5, 4), 3, seed=0)
    w0, b0 = deep.hidden[0].weight.detach().numpy(), deep.hidden[0].bias.detach().numpy()
    w1, b1 = deep.hidden[1].weight.detach().numpy(), deep.hidden[1].bias.detach().numpy()
    by_hand = np.maximum(np.maximum(x @ w0.T + b0, 0) @ w1.T + b1, 0)
    np.testing.assert_allclose(network_representations(deep, x, layer=1), by_hand, rtol=1e-5,
                               atol=1e-5)


# --- RSA ---------------------------------------------------------------------------------


def test_condition_means_by_hand():
    x = np.array([[1.0, 2.0], [3.0, 4.0], [10.0, 0.0]])
    np.testing.assert_allclose(condition_means(x, [5, 5, 2]), [[10.0, 0.0], [2.0, 3.0]])


@pytest.mark.parametrize("metric", ["correlation", "euclidean"])
def test_rdm_equals_scipy_pdist(metric):
    x = np.random.default_rng(0).standard_normal((7, 12))
    d = rdm(x, metric)
    np.testing.assert_allclose(d, squareform(pdist(x, metric)), atol=1e-12)
    np.testing.assert_allclose(upper_triangle(d), pdist(x, metric), atol=1e-12)


def test_compare_rdms_equals_scipy_spearman_and_pearson_with_ties():
    rng = np.random.default_rng(1)
    # integer-valued RDMs have many tied pairs: the average ranks must match scipy's
    a = squareform(rng.integers(0, 4, 28).astype(float))
    b = squareform(rng.integers(0, 4, 28).astype(float) + 0.5 * squareform(a))
    ua, ub = upper_triangle(a), upper_triangle(b)
    np.testing.assert_allclose(rank_average(ua), rankdata(ua))
    assert compare_rdms(a, b) == pytest.approx(spearmanr(ua, ub).statistic, abs=1e-12)
    assert compare_rdms(a, b, "pearson") == pytest.approx(pearsonr(ua, ub).statistic, abs=1e-12)


def test_permutation_test_small_p_for_identical_rdms_uniform_for_unrelated_ones():
    rng = np.random.default_rng(2)
    a = rdm(rng.standard_normal((8, 20)))
    res = rdm_permutation_test(a, a, n_perm=999, seed=0)
    # Only the identity among the 8! = 40320 relabellings reaches r = 1: p = 1/1000.
    assert res.statistic == pytest.approx(1.0) and res.p_value == pytest.approx(1 / 1000)
    # Under the null every p is valid: over 200 unrelated pairs the p-values are about
    # uniform: mean 0.5 within 4 x sqrt(1/12/200) = 0.082, and P(p <= 0.05) <= 0.05 plus
    # 4 binomial standard errors (0.062).
    ps = np.array([rdm_permutation_test(rdm(rng.standard_normal((6, 10))),
                                        rdm(rng.standard_normal((6, 10))), n_perm=99,
                                        seed=k).p_value for k in range(200)])
    assert ps.min() >= 1 / 100
    assert abs(ps.mean() - 0.5) < 4 * math.sqrt(1 / 12 / 200)
    assert np.mean(ps <= 0.05) < 0.05 + binomial_bound(200, 0.05)


def test_trained_network_and_population_share_representational_geometry(population):
    # The network reads the population, so its hidden layer keeps the population's
    # geometry of directions: neighbouring directions stay similar in both.
    z, _ = standardize(population.counts)
    model = train_mlp(z, population.labels, n_hidden=32, n_steps=200, seed=0)
    net = rdm(condition_means(network_representations(model, z), population.labels))
    pop = rdm(condition_means(z, population.labels))
    res = rdm_permutation_test(net, pop, n_perm=999, seed=0)
    assert res.statistic > 0.5 and res.p_value < 0.01


# --- clear errors --------------------------------------------------------------------------


def test_clear_errors():
    y = np.repeat([0, 1], [3, 10])
    with pytest.raises(ValueError, match=r"k must be .*smallest class \(3 trials.*got 4"):
        stratified_folds(y, k=4)
    with pytest.raises(ValueError, match="k must be .*got 1"):
        stratified_folds(y, k=1)
    with pytest.raises(ValueError, match="metric must be one of .*'cosine'"):
        rdm(np.ones((3, 4)), metric="cosine")
    with pytest.raises(ValueError, match=r"responses must have shape .*got shape \(5,\)"):
        rdm(np.arange(5.0))
    with pytest.raises(ValueError, match="the same in every feature"):
        rdm(np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]]))
    with pytest.raises(ValueError, match=r"same shape, got \(3, 3\) and \(4, 4\)"):
        compare_rdms(np.eye(3), np.eye(4))
    with pytest.raises(ValueError, match="method must be one of .*'kendall'"):
        compare_rdms(np.eye(3), np.eye(3), method="kendall")
    with pytest.raises(ValueError, match=r"y must have shape \(4,\) .*got shape \(3,\)"):
        cross_val_accuracy(linear_decoder, np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(ValueError, match=r"X must have shape .*got shape \(4,\)"):
        cross_val_accuracy(linear_decoder, np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="tuning must be one of .*'gaussian'"):
        population_responses(DIRECTIONS, tuning="gaussian")
    with pytest.raises(ValueError, match="n_neurons must be a positive integer, got 0"):
        population_responses(DIRECTIONS, n_neurons=0)
    with pytest.raises(ValueError, match="layer must be an integer in .*got 1"):
        network_representations(MLP(3, (4,), 2), np.zeros((2, 3)), layer=1)
    with pytest.raises(ValueError, match="n_perm must be a positive integer, got 0"):
        rdm_permutation_test(np.eye(3), np.eye(3), n_perm=0)


# --- project baselines ---------------------------------------------------------------------


def test_continual_baseline_is_deterministic_and_shows_forgetting():
    cls = continual_baseline("split digits", "class", seed=0)
    task = continual_baseline("split digits", "task", seed=0)
    np.testing.assert_array_equal(cls.R, continual_baseline("split digits", "class", seed=0).R)
    assert cls.R.shape == (5, 5)
    assert cls.average_accuracy == pytest.approx(cls.R[-1].mean())
    # van de Ven & Tolias (2019): fine-tuning forgets in class-IL (ends near 1/5: only the
    # last task is right), much less in task-IL.
    assert cls.average_accuracy < 0.3 and cls.forgetting > 0.7
    assert task.average_accuracy > cls.average_accuracy + 0.5
    with pytest.raises(ValueError, match="benchmark must be one of .*'split mnist'"):
        continual_baseline("split mnist")


def test_bandit_baseline_beats_random_choice_and_is_deterministic():
    # A random chooser earns (0.8 + 0.2) / 2 = 0.5 per trial; 2000 trials give a
    # standard error of at most 0.5 / sqrt(2000) = 0.011.
    res = bandit_baseline("softmax", n_trials=2000, seed=0)
    assert res.mean_reward > 0.5 + 4 * 0.5 / math.sqrt(2000)
    again = bandit_baseline("softmax", n_trials=2000, seed=0)
    assert again.mean_reward == res.mean_reward
    np.testing.assert_array_equal(res.alphas, 0.1)  # fixed acetylcholine learning rate
    surprise = bandit_baseline("surprise", n_trials=2000, seed=0)
    assert surprise.alphas.max() > 0.1  # the learning rate rises after switches
    with pytest.raises(ValueError, match="agent must be one of .*'greedy'"):
        bandit_baseline("greedy")
