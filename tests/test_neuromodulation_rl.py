"""Tests of TD learning, Doya's four-knob agent, the surprise learner and the bandits
(Schultz, Dayan & Montague 1997, Science; Doya 2002, Neural Networks; Yu & Dayan 2005,
Neuron)."""

import math

import numpy as np
import pytest

from neuroai_core.neuromodulation import (
    Neuromodulators,
    SoftmaxAgent,
    SurpriseLearner,
    TDChainParams,
    discounted_value,
    q_update,
    reward_after_changes,
    run_bandit,
    run_td_chain,
    softmax_probabilities,
    stationary_bandit,
    surprise_learning_rate,
    td_errors,
    td_trial,
    uncertainty_step,
    volatile_bandit,
)

# ----------------------------------------------------------------------------- TD


def test_td_errors_by_hand():
    # delta[t] = r[t] + gamma V[t] - V[t-1], V[-1] = 0, gamma = 0.9:
    # t=0: 0 + 0.9*0.5 - 0 = 0.45; t=1: 0 + 0.9*1 - 0.5 = 0.4; t=2: 2 + 0.9*0 - 1 = 1.0.
    d = td_errors(np.array([0.5, 1.0, 0.0]), np.array([0.0, 0.0, 2.0]), 0.9)
    np.testing.assert_allclose(d, [0.45, 0.4, 1.0], atol=1e-12)


def test_first_two_td_trials_by_hand():
    # Trial 1 with V = 0: the only error is the reward itself, delta[12] = r = 1, so
    # V[11] <- 0 + alpha * 1 = 0.2. Trial 2: delta[11] = gamma V[11] - V[10] = 0.2 and
    # delta[12] = 1 + gamma V[12] - V[11] = 0.8 (Sutton & Barto 2018, eq. 6.2 per state).
    p = TDChainParams(alpha=0.2, gamma=1.0)
    run = run_td_chain(p, 2)
    first = np.zeros(p.n_steps)
    first[12] = 1.0
    np.testing.assert_allclose(run.deltas[0], first, atol=1e-12)
    second = np.zeros(p.n_steps)
    second[11], second[12] = 0.2, 0.8
    np.testing.assert_allclose(run.deltas[1], second, atol=1e-12)
    v1 = np.zeros(p.n_steps)
    v1[11] = 0.2
    np.testing.assert_allclose(run.values[1], v1, atol=1e-12)


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_error_moves_from_reward_to_cue(gamma):
    # Fixed point of TD(0) on the chain: V[t] = gamma**(reward_step-1-t) r between cue and
    # reward, so delta at the reward = 0 and delta at the cue = gamma V[cue] =
    # gamma**delay r (Schultz et al. 1997, fig. 1). The error left after k trials shrinks
    # geometrically (each state's error is multiplied by about 1 - alpha per trial once its
    # successor has converged); after 300 trials with alpha = 0.3 and a delay of 8 steps it
    # is below 1e-6, so 1e-4 is a tolerance that a wrong update rule cannot meet.
    p = TDChainParams(gamma=gamma, alpha=0.3)
    run = run_td_chain(p, 300)
    assert run.deltas[0, p.reward_step] == pytest.approx(1.0)  # naive: error at the reward
    assert run.deltas[0, p.cue_step] == 0.0                   # and none at the cue
    last = run.deltas[-1]
    assert abs(last[p.reward_step]) < 1e-4
    assert last[p.cue_step] == pytest.approx(gamma ** p.delay_steps, abs=1e-4)
    others = np.delete(last, p.cue_step)
    assert np.max(np.abs(others)) < 1e-4  # nowhere else
    t = np.arange(p.cue_step, p.reward_step)
    np.testing.assert_allclose(run.values[-1][t], gamma ** (p.reward_step - 1 - t), atol=1e-4)


def test_omitted_reward_gives_a_dip_of_minus_the_prediction():
    # After learning, omitting the reward gives delta = 0 + gamma V[reward_step] - V[rs-1]
    # = -r at the time the reward was due (the dopamine dip of Schultz et al. 1997).
    p = TDChainParams(alpha=0.3)
    sizes = np.ones(301)
    sizes[-1] = 0.0
    run = run_td_chain(p, 301, reward_sizes=sizes)
    assert run.deltas[-1, p.reward_step] == pytest.approx(-1.0, abs=1e-4)
    assert run.deltas[-1, p.cue_step] == pytest.approx(1.0, abs=1e-4)


def test_td_trial_does_not_touch_its_input_or_the_states_before_the_cue():
    p = TDChainParams()
    v = np.zeros(p.n_steps)
    r = p.reward_vector()
    r[2] = 5.0  # a reward before the cue: its error cannot be learned by a pre-cue state
    _, new = td_trial(v, r, p)
    assert np.all(v == 0) and np.all(new[: p.cue_step] == 0)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"n_steps": 2}, "n_steps"), ({"cue_step": 0}, "cue_step"),
     ({"reward_step": 20}, "reward_step"), ({"gamma": 1.5}, "gamma"),
     ({"alpha": 0.0}, "alpha")],
)
def test_td_params_reject_bad_values(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TDChainParams(**kwargs)


def test_run_td_chain_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_trials"):
        run_td_chain(TDChainParams(), 0)
    with pytest.raises(ValueError, match="reward_sizes"):
        run_td_chain(TDChainParams(), 3, reward_sizes=np.ones(4))


# ---------------------------------------------------------------- four knobs


def test_modulators_map_onto_doya_knobs():
    m = Neuromodulators(dopamine=0.5, serotonin=0.8, acetylcholine=0.3, noradrenaline=7.0)
    assert (m.teaching_gain, m.gamma, m.alpha, m.beta) == (0.5, 0.8, 0.3, 7.0)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"dopamine": -0.1}, "dopamine"), ({"serotonin": 1.2}, "serotonin"),
     ({"acetylcholine": 0.0}, "acetylcholine"), ({"noradrenaline": -1.0}, "noradrenaline")],
)
def test_modulators_reject_bad_levels(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Neuromodulators(**kwargs)


def test_softmax_by_hand():
    # Two arms, q = (0, 1), beta = 2: P(1) = e^2 / (1 + e^2) = 1 / (1 + e^-2).
    p = softmax_probabilities(np.array([0.0, 1.0]), 2.0)
    assert p[1] == pytest.approx(1.0 / (1.0 + math.exp(-2.0)), abs=1e-12)
    np.testing.assert_allclose(softmax_probabilities(np.array([3.0, -1.0, 2.0]), 0.0), 1 / 3)
    # No overflow where exp(beta q) alone would overflow (exp(1000) is inf in float64).
    np.testing.assert_allclose(softmax_probabilities(np.array([1000.0, 0.0]), 1.0), [1, 0])
    with pytest.raises(ValueError, match="beta"):
        softmax_probabilities(np.zeros(2), -1.0)


def test_q_update_by_hand_and_dopamine_gain():
    # Q[1] = 0.5 + 0.1 * 1 * (1 - 0.5) = 0.55; dopamine 0 freezes learning; dopamine 2
    # doubles the step: 0.5 + 0.1 * 2 * 0.5 = 0.6.
    q = np.array([0.2, 0.5])
    np.testing.assert_allclose(q_update(q, 1, 1.0, 0.1), [0.2, 0.55])
    np.testing.assert_allclose(q_update(q, 1, 1.0, 0.1, dopamine=0.0), q)
    np.testing.assert_allclose(q_update(q, 1, 1.0, 0.1, dopamine=2.0), [0.2, 0.6])
    assert q[1] == 0.5  # input unchanged


def test_discounted_value_by_hand():
    # 0.9^3 * 2 = 1.458.
    assert discounted_value(2.0, 3, 0.9) == pytest.approx(1.458)


def test_higher_inverse_temperature_picks_the_best_arm_more_often():
    # Arms paying with p = 0.3, 0.5, 0.7; over 20 seeds of 300 trials the fraction of
    # choices of the best arm must rise with beta. At beta = 0 choice is uniform, so the
    # expected fraction is exactly 1/3 (binomial sd over 6000 choices ~0.006: we allow
    # 0.03); at beta = 20 the agent should pick the best arm on most trials (> 0.6).
    fractions = []
    for beta in (0.0, 2.0, 20.0):
        picks = []
        for seed in range(20):
            bandit = stationary_bandit([0.3, 0.5, 0.7], 300, seed=seed)
            agent = SoftmaxAgent(Neuromodulators(noradrenaline=beta, acetylcholine=0.1))
            run = run_bandit(agent, bandit, seed=1000 + seed)
            picks.append(np.mean(run.choices == 2))
        fractions.append(np.mean(picks))
    assert abs(fractions[0] - 1 / 3) < 0.03
    assert fractions[0] < fractions[1] < fractions[2]
    assert fractions[2] > 0.6


def test_dopamine_zero_agent_never_learns():
    bandit = stationary_bandit([0.1, 0.9], 50, seed=0)
    run = run_bandit(SoftmaxAgent(Neuromodulators(dopamine=0.0), q0=0.5), bandit, seed=1)
    assert np.all(run.q == 0.5)


# ----------------------------------------------------------------- surprise


def test_surprise_learning_rate_by_hand():
    # alpha_min + (alpha_max - alpha_min)(1 - slow/fast): 0.05 + 0.75 * (1 - 0.2/0.8)
    # = 0.05 + 0.75 * 0.75 = 0.6125; no excess surprise gives alpha_min.
    assert surprise_learning_rate(0.8, 0.2, 0.05, 0.8) == pytest.approx(0.6125)
    assert surprise_learning_rate(0.2, 0.3, 0.05, 0.8) == 0.05
    assert surprise_learning_rate(0.0, 0.0, 0.05, 0.8) == 0.05


def test_uncertainty_step_by_hand():
    # f = 0.5 + 0.3 (1 - 0.5) = 0.65; u = 0.5 + 0.02 (1 - 0.5) = 0.51;
    # alpha = 0.05 + 0.75 (1 - 0.51 / 0.65) = 0.05 + 0.75 * 0.14 / 0.65 = 0.211538...
    f, u, a = uncertainty_step(0.5, 0.5, -1.0, 0.05, 0.8)
    assert (f, u) == (pytest.approx(0.65), pytest.approx(0.51))
    assert a == pytest.approx(0.05 + 0.75 * 0.14 / 0.65)
    # errors smaller than expected: the surprise falls below the expected uncertainty
    f, u, a = uncertainty_step(0.2, 0.4, 0.2, 0.05, 0.8)
    assert (f, u, a) == (pytest.approx(0.2), pytest.approx(0.396), 0.05)
    with pytest.raises(ValueError, match="eta_slow"):
        uncertainty_step(0.5, 0.5, 0.0, 0.05, 0.8, eta_fast=0.01, eta_slow=0.02)


def test_surprise_learner_uses_the_uncertainty_step():
    # The learner's rates on a run equal those of the two averages iterated by hand
    # (a second implementation of the update, written here).
    bandit = volatile_bandit(200, seed=3)
    run = run_bandit(SurpriseLearner(), bandit, seed=4)
    q, f, u = np.full(2, 0.5), 0.5, 0.5
    for t in range(200):
        a, r = run.choices[t], run.rewards[t]
        delta = r - q[a]
        f, u = f + 0.3 * (abs(delta) - f), u + 0.02 * (abs(delta) - u)
        alpha = 0.05 + 0.75 * max(0.0, 1 - u / f) if f > 0 else 0.05
        assert run.alphas[t] == pytest.approx(alpha)
        q[a] += alpha * delta


def test_surprise_learner_adapts_faster_after_a_switch():
    # Yu & Dayan (2005): raising the learning rate on unexpected uncertainty speeds up
    # adaptation after a change. Over 20 volatile bandits (2 arms, p = 0.8 / 0.2, blocks of
    # 30-60 trials, 600 trials each) the surprise learner's mean reward over the 20 trials
    # after each change point must beat (a) a fixed learner at its own minimum rate 0.05
    # and (b) a fixed learner with the same *average* learning rate as the surprise learner
    # had (so the gain is from timing the rate, not from a larger rate), each by at least
    # 0.05 reward per trial. Measured with these seeds: 0.54 versus 0.42 and 0.44, i.e.
    # gains of 0.12 and 0.11 with standard errors (over the 20 worlds) of about 0.008; all
    # agents face the same outcomes (common random numbers), so 0.05 is a wide margin.
    window, gains_min, gains_matched = 20, [], []
    for seed in range(20):
        bandit = volatile_bandit(600, seed=seed)
        surprise = SurpriseLearner(alpha_min=0.05, alpha_max=0.8)
        run_s = run_bandit(surprise, bandit, seed=500 + seed)
        matched = SoftmaxAgent(Neuromodulators(acetylcholine=float(run_s.alphas.mean())))
        slow = SoftmaxAgent(Neuromodulators(acetylcholine=0.05))
        r_s = reward_after_changes(run_s, bandit, window)
        gains_min.append(r_s - reward_after_changes(run_bandit(slow, bandit, 500 + seed),
                                                    bandit, window))
        gains_matched.append(r_s - reward_after_changes(run_bandit(matched, bandit, 500 + seed),
                                                        bandit, window))
    assert np.mean(gains_min) > 0.05
    assert np.mean(gains_matched) > 0.05


def test_surprise_learner_rate_rises_after_change_points():
    # The learning rate is higher in the 10 trials after change points than on average.
    # Measured with these seeds: 0.142 versus 0.091 (ratio 1.56); we require 1.3, a rise
    # that a learner whose rate ignores surprise (ratio 1.0 exactly) cannot show.
    alphas_after, alphas_all = [], []
    for seed in range(10):
        bandit = volatile_bandit(600, seed=seed)
        run = run_bandit(SurpriseLearner(), bandit, seed=seed)
        alphas_after += [run.alphas[c:c + 10].mean() for c in bandit.change_points]
        alphas_all.append(run.alphas.mean())
    assert np.mean(alphas_after) > 1.3 * np.mean(alphas_all)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"alpha_min": 0.0}, "alpha_min"), ({"alpha_max": 1.5}, "alpha_max"),
     ({"eta_slow": 0.5}, "eta_slow"), ({"eta_fast": 0.0}, "eta_fast")],
)
def test_surprise_learner_rejects_bad_parameters(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SurpriseLearner(**kwargs)


# ------------------------------------------------------------------ bandits


def test_bandits_are_reproducible_from_their_seed():
    a, b = volatile_bandit(300, seed=3), volatile_bandit(300, seed=3)
    np.testing.assert_array_equal(a.outcomes, b.outcomes)
    np.testing.assert_array_equal(a.change_points, b.change_points)
    assert not np.array_equal(a.outcomes, volatile_bandit(300, seed=4).outcomes)
    s1, s2 = stationary_bandit([0.2, 0.8], 100, seed=1), stationary_bandit([0.2, 0.8], 100, 1)
    np.testing.assert_array_equal(s1.outcomes, s2.outcomes)
    r1 = run_bandit(SurpriseLearner(), a, seed=9)
    r2 = run_bandit(SurpriseLearner(), a, seed=np.random.default_rng(9))
    np.testing.assert_array_equal(r1.choices, r2.choices)
    np.testing.assert_array_equal(r1.rewards, r2.rewards)


def test_volatile_bandit_structure():
    bandit = volatile_bandit(1000, n_arms=3, min_block=30, max_block=60, seed=0)
    blocks = np.diff(np.r_[0, bandit.change_points])
    assert np.all((blocks >= 30) & (blocks <= 60))
    best = bandit.best_arm
    for c in bandit.change_points:
        assert best[c] != best[c - 1]  # the good arm always moves
    assert set(np.unique(bandit.p_reward)) == {0.2, 0.8}
    # Outcomes follow the probabilities: over 3000 Bernoulli draws the empirical mean of
    # the good arm is 0.8 within 4 standard errors (sqrt(0.16 / n_good) <= 0.013).
    good = bandit.p_reward == 0.8
    assert abs(bandit.outcomes[good].mean() - 0.8) < 0.05


@pytest.mark.parametrize(
    "make, name",
    [(lambda: volatile_bandit(0), "n_trials"), (lambda: volatile_bandit(10, n_arms=1), "n_arms"),
     (lambda: volatile_bandit(10, p_high=0.1, p_low=0.5), "p_low"),
     (lambda: volatile_bandit(10, min_block=5, max_block=2), "min_block"),
     (lambda: stationary_bandit([0.5], 10), "p_arms"),
     (lambda: stationary_bandit([0.5, 1.2], 10), "p_arms")],
)
def test_bandits_reject_bad_parameters(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_reward_after_changes_needs_a_change_point():
    bandit = stationary_bandit([0.2, 0.8], 50, seed=0)
    run = run_bandit(SoftmaxAgent(), bandit, seed=0)
    with pytest.raises(ValueError, match="window"):
        reward_after_changes(run, bandit, 10)
