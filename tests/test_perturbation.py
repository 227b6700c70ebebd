"""Perturbation learning, feedback alignment and the gradient-estimate statistics.

Expected values come from closed forms (cosines of known vectors, a one-unit network
worked by hand, the moments of Gaussian noise) and from an independent computation of the
gradient with torch autograd; none is copied from the code's own output.
"""

import math

import numpy as np
import pytest
import torch

from neuroai_core.plasticity import perturbation as P
from neuroai_core.plasticity import three_factor_step


def small_problem(seed=0, n_in=3, n_hidden=2, n_out=2, batch=5):
    rng = np.random.default_rng(seed)
    w = P.init_mlp(n_in, n_hidden, n_out, rng)
    x = rng.normal(size=(batch, n_in))
    t = rng.normal(size=(batch, n_out))
    return w, x, t


def autograd_grads(w, x, t, feedback=None):
    """dL/dW by torch autograd; with ``feedback`` the hidden error travels through B.

    For feedback alignment the output is written as ``h.detach() W2^T + (h B^T -
    h.detach() B^T)``: the same value, whose derivative with respect to ``h`` goes through
    ``B`` instead of ``W2`` (Lillicrap et al. 2016).
    """
    w1 = torch.tensor(w[0], requires_grad=True)
    w2 = torch.tensor(w[1], requires_grad=True)
    xt, tt = torch.tensor(x), torch.tensor(t)
    h = torch.tanh(xt @ w1.T)
    if feedback is None:
        y = h @ w2.T
    else:
        b = torch.tensor(feedback)
        y = h.detach() @ w2.T + (h @ b.T - h.detach() @ b.T)
    loss = 0.5 * ((y - tt) ** 2).sum(dim=1).mean()
    loss.backward()
    return w1.grad.numpy(), w2.grad.numpy()


# ---- cosine ------------------------------------------------------------------------


def test_cosine_of_known_vectors():
    assert P.cosine_similarity(np.array([1.0, 0.0]), np.array([1.0, 1.0])) == pytest.approx(
        1 / math.sqrt(2))
    assert P.cosine_similarity(np.array([1.0, 2.0]), np.array([-2.0, -4.0])) == pytest.approx(-1)
    assert P.cosine_similarity(np.array([1.0, 2.0]), np.array([2.0, -1.0])) == pytest.approx(0)
    # lists of arrays are concatenated: ([3], [[4]]) against ([4], [[3]]) is (3,4).(4,3)/25
    assert P.cosine_similarity((np.array([3.0]), np.array([[4.0]])),
                               (np.array([4.0]), np.array([[3.0]]))) == pytest.approx(24 / 25)
    assert P.cosine_similarity(np.zeros(3), np.ones(3)) == 0.0
    with pytest.raises(ValueError, match="same size"):
        P.cosine_similarity(np.ones(2), np.ones(3))


# ---- backprop and feedback alignment --------------------------------------------------


def test_backprop_matches_autograd():
    w, x, t = small_problem(1, n_in=4, n_hidden=5, n_out=3, batch=7)
    for got, want in zip(P.backprop_grads(w, x, t), autograd_grads(w, x, t), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_feedback_alignment_matches_autograd_through_b():
    w, x, t = small_problem(2, n_in=4, n_hidden=5, n_out=3, batch=7)
    b = np.random.default_rng(9).normal(size=w[1].shape)
    got = P.feedback_alignment_grads(w, x, t, b)
    want = autograd_grads(w, x, t, feedback=b)
    for g, v in zip(got, want, strict=True):
        np.testing.assert_allclose(g, v, rtol=1e-10, atol=1e-12)
    # and it differs from backprop in the hidden layer only
    exact = autograd_grads(w, x, t)
    np.testing.assert_allclose(got[1], exact[1], rtol=1e-10)
    assert not np.allclose(got[0], exact[0])


def test_feedback_alignment_one_unit_by_hand():
    # x = 1, W1 = 0 -> h = tanh(0) = 0, tanh' = 1; W2 = 2 -> y = 0; target 1 -> error -1.
    # g2 = error * h = 0; backprop: g1 = error * W2 * 1 * x = -2; with B = -1: g1 = +1.
    w = (np.array([[0.0]]), np.array([[2.0]]))
    x, t = np.array([[1.0]]), np.array([[1.0]])
    g1, g2 = P.feedback_alignment_grads(w, x, t, np.array([[-1.0]]))
    assert g1[0, 0] == pytest.approx(1.0) and g2[0, 0] == pytest.approx(0.0)
    assert P.backprop_grads(w, x, t)[0][0, 0] == pytest.approx(-2.0)


# ---- node perturbation --------------------------------------------------------------


def test_node_perturbation_update_by_hand():
    # one example: (R - b) / sigma^2 = (1 - 0.5) / 0.25 = 2; outer([0.5, -1], [1, 2]) * 2
    got = P.node_perturbation_update(np.array([[1.0, 2.0]]), np.array([[0.5, -1.0]]),
                                     np.array([1.0]), np.array([0.5]), sigma=0.5)
    np.testing.assert_allclose(got, [[1.0, 2.0], [-2.0, -4.0]])
    # two examples average; the second has R = b and adds nothing but counts in the mean
    got2 = P.node_perturbation_update(np.array([[1.0, 2.0], [7.0, 7.0]]),
                                      np.array([[0.5, -1.0], [3.0, 3.0]]),
                                      np.array([1.0, 4.0]), np.array([0.5, 4.0]), sigma=0.5)
    np.testing.assert_allclose(got2, [[0.5, 1.0], [-1.0, -2.0]])


def test_node_perturbation_is_a_three_factor_rule():
    # For one example, the update equals M2T3's three-factor step from w = 0 with the
    # modulator M = R - b and the eligibility e_ij = xi_i x_j / sigma^2 (eta = 1, dt = 1).
    rng = np.random.default_rng(3)
    pre, xi = rng.normal(size=(1, 4)), rng.normal(size=(1, 3)) * 0.1
    reward, base, sigma = -0.3, -0.7, 0.1
    elig = np.outer(xi[0], pre[0]) / sigma**2
    want = three_factor_step(np.zeros((3, 4)), elig, reward - base, eta=1.0, dt_ms=1.0)
    got = P.node_perturbation_update(pre, xi, np.array([reward]), np.array([base]), sigma)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def _mean_error_within_noise(estimates, g, n_se=4.0):
    """|mean - g|^2 against its expectation for an unbiased estimator, trace(Cov) / K."""
    k = estimates.shape[0]
    err2 = float(np.sum((estimates.mean(axis=0) - g) ** 2))
    expected = float(np.sum(np.var(estimates, axis=0, ddof=1))) / k
    return err2, n_se * expected


def test_node_perturbation_is_unbiased():
    w, x, t = small_problem(4)
    g = np.concatenate([a.ravel() for a in autograd_grads(w, x, t)])
    est = P.gradient_estimates("node", w, x, t, 20000, sigma=1e-3, seed=5)
    err2, bound = _mean_error_within_noise(est, g)
    assert err2 < bound, (err2, bound)
    assert P.cosine_similarity(est.mean(axis=0), g) > 0.99


def test_node_perturbation_sign():
    # A step along minus the estimate lowers the loss on average (first-order descent).
    w, x, t = small_problem(6, n_in=5, n_hidden=4, n_out=3, batch=8)
    est = P.gradient_estimates("node", w, x, t, 4000, sigma=1e-3, seed=7).mean(axis=0)
    g1, g2 = est[: w[0].size].reshape(w[0].shape), est[w[0].size:].reshape(w[1].shape)
    assert P.loss((w[0] - 0.01 * g1, w[1] - 0.01 * g2), x, t) < P.loss(w, x, t)


# ---- weight perturbation --------------------------------------------------------------


def test_weight_perturbation_is_unbiased_with_variance_n_plus_one():
    # First order: g_hat = (xi . g) xi / sigma^2 with xi ~ N(0, sigma^2 I); by Isserlis'
    # theorem E g_hat = g and E |g_hat - g|^2 = (N + 1) |g|^2 for N parameters.
    w, x, t = small_problem(8)
    g = np.concatenate([a.ravel() for a in autograd_grads(w, x, t)])
    n = g.size  # 3*2 + 2*2 = 10
    k = 20000
    est = P.gradient_estimates("weight", w, x, t, k, sigma=1e-4, seed=9)
    err2, bound = _mean_error_within_noise(est, g)
    assert err2 < bound, (err2, bound)
    _, rel_var, bias_cos = P.estimator_stats(est, g)
    assert bias_cos > 0.99
    # relative standard error of a variance of these heavy-tailed estimates: a few percent
    assert rel_var == pytest.approx(n + 1, rel=0.1)


def test_weight_perturbation_cosine_is_that_of_a_random_direction():
    # |cos(g_hat, g)| = |cos(xi, g)|, the first coordinate of a random unit vector in N
    # dimensions: E|u_1| = Gamma(N/2) / (sqrt(pi) Gamma((N + 1) / 2)).
    w, x, t = small_problem(10, n_in=6, n_hidden=4, n_out=3, batch=6)
    g = np.concatenate([a.ravel() for a in autograd_grads(w, x, t)])
    n = g.size
    est = P.gradient_estimates("weight", w, x, t, 4000, sigma=1e-4, seed=11)
    cos = np.array([P.cosine_similarity(e, g) for e in est])
    # (xi . g)^2 >= 0: never against the gradient, up to the second-order term of the loss
    # change, about sigma |H| / |g| ~ 1e-4 relative here
    assert cos.min() > -1e-3
    want = math.exp(math.lgamma(n / 2) - math.lgamma((n + 1) / 2)) / math.sqrt(math.pi)
    se = cos.std(ddof=1) / math.sqrt(cos.size)
    assert abs(cos.mean() - want) < 4 * se, (cos.mean(), want, se)


def test_estimator_stats_closed_forms():
    g = np.array([1.0, 2.0, 2.0])  # |g|^2 = 9
    d = np.array([0.0, 3.0, 0.0])
    cos, var, bias_cos = P.estimator_stats(np.stack([g + d, g - d]), g)
    # ddof = 1 variance of two rows a, b is (a - b)^2 / 2 per component: sum 2 |d|^2 = 18
    assert var == pytest.approx(18 / 9)
    assert bias_cos == pytest.approx(1.0)
    want = np.mean([(g + d) @ g / (np.linalg.norm(g + d) * 3), (g - d) @ g
                    / (np.linalg.norm(g - d) * 3)])
    assert cos == pytest.approx(want)
    with pytest.raises(ValueError, match="estimates"):
        P.estimator_stats(np.ones((2, 4)), g)


# ---- parameters, training and the sweep ----------------------------------------------


@pytest.mark.parametrize("field, value", [("method", "hebb"), ("n_hidden", 0),
                                          ("sigma", 0.0), ("lr", -1.0), ("n_steps", 2.5)])
def test_params_are_validated(field, value):
    with pytest.raises(ValueError, match=field):
        P.LocalLearningParams(**{field: value})


def test_noise_scale_is_validated():
    w, x, t = small_problem()
    with pytest.raises(ValueError, match="sigma"):
        P.node_perturbation_grads(w, x, t, sigma=0.0)
    with pytest.raises(ValueError, match="sigma"):
        P.weight_perturbation_grads(w, x, t, sigma=-1.0)


def test_training_starts_from_the_same_network_and_learns():
    task = P.digits_task(seed=0)
    assert task["x_train"].shape == (1257, 64) and task["t_test"].shape == (540, 10)
    runs = {m: P.train_network(P.LocalLearningParams(m, n_steps=200, record_every=100), task,
                               seed=3) for m in ("backprop", "node")}
    assert runs["backprop"].train_loss[0] == runs["node"].train_loss[0]
    for r in runs.values():  # chance is 10 % accuracy
        assert r.train_loss[-1] < 0.6 * r.train_loss[0]
        assert r.test_accuracy[-1] > 0.6


def test_width_sweep_deterministic_rules_have_no_variance():
    task = P.digits_task(seed=0)
    sweep = P.width_sweep(task, widths=(4, 8), n_seeds=2, n_repeats=3, batch_size=8)
    np.testing.assert_array_equal(sweep.n_params, [4 * 74, 8 * 74])
    np.testing.assert_allclose(sweep.cosine["backprop"], 1.0)
    np.testing.assert_allclose(sweep.relative_variance["backprop"], 0.0, atol=1e-20)
    np.testing.assert_allclose(sweep.relative_variance["feedback"], 0.0, atol=1e-20)
    assert np.all(sweep.relative_variance["weight"] > sweep.relative_variance["node"])


def test_demo_paths_agree_with_the_exercise_references():
    # The demos compute node perturbation and feedback alignment without calling the
    # functions the tutorial's exercises ask for; both paths must give the same numbers.
    w, x, t = small_problem(12, n_in=4, n_hidden=3, n_out=2, batch=6)
    sigma, seed = 0.01, 13
    rng = np.random.default_rng(seed)  # the draws node_perturbation_grads makes, in order
    xi1, xi2 = rng.normal(0, sigma, (6, 3)), rng.normal(0, sigma, (6, 2))
    h0, y0 = P.forward(w, x)
    h, y = P.forward(w, x, (xi1, xi2))
    r, b = -P.sample_losses(y, t), -P.sample_losses(y0, t)
    got = P.node_perturbation_grads(w, x, t, sigma, seed)
    np.testing.assert_allclose(got[0], -P.node_perturbation_update(x, xi1, r, b, sigma))
    np.testing.assert_allclose(got[1], -P.node_perturbation_update(h, xi2, r, b, sigma))
    fb = np.random.default_rng(14).normal(size=(2, 3))
    row = P.gradient_estimates("feedback", w, x, t, 1, feedback=fb)[0]
    want = autograd_grads(w, x, t, feedback=fb)
    np.testing.assert_allclose(row, np.concatenate([a.ravel() for a in want]), rtol=1e-10)


@pytest.mark.slow  # about 12 s of CPU: 52 training runs of 2000 updates
@pytest.mark.parametrize("method", P.METHODS)
def test_default_learning_rates_follow_their_documented_procedure(method):
    # DEFAULT_LR says: the rate of LR_GRID with the lowest training loss after 2000 steps
    # on seed 0 of the digits task (width 32, sigma 1e-3, batches of 32).
    losses = P.tune_learning_rate(method, P.digits_task(seed=0),
                                  P.LocalLearningParams(method, n_steps=2000), seed=0)
    assert min(losses, key=losses.get) == pytest.approx(P.DEFAULT_LR[method])
