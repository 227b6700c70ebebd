"""The meta-learned modulator (neuroai_core.continual.anml).

Every expected value says where it comes from: a hand computation, a closed form, an
independent implementation written here, or finite differences of the loss."""

import math

import numpy as np
import pytest
import torch

from neuroai_core.continual import anml
from neuroai_core.continual.anml import (
    MetaConfig,
    ModulatedPair,
    class_sequence,
    dihedral_classes,
    gated_features,
    online_learning,
    readout_sgd_step,
    sample_sequences,
    sequence_meta_loss,
)

# --- the gated forward pass ----------------------------------------------------------------

# A 2-input, 2-unit pair small enough to compute by hand (the M4T5 visible test):
# W = [[1, -1], [2, 0.5]], b = [0, -0.5]; M1 = I, c1 = 0; M2 = [[0, 0], [ln 3, 0]], c2 = 0.
W = torch.tensor([[1.0, -1.0], [2.0, 0.5]])
B = torch.tensor([0.0, -0.5])
MOD = (torch.eye(2), torch.zeros(2), torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]]),
       torch.zeros(2))


def test_gated_features_by_hand():
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    # x1: h = relu([1, 2] + [0, -0.5]) = [1, 1.5]; modulator hidden relu(x1) = [1, 0],
    #     M2 [1, 0] = [0, ln 3], g = [1/2, 3/4]; z = [0.5, 1.125].
    # x2: h = relu([-2, 1] + [0, -0.5]) = [0, 0.5]; modulator hidden [0, 2], M2 [0, 2] = 0,
    #     g = [1/2, 1/2]; z = [0, 0.25].
    z = gated_features(x, (W, B), MOD)
    np.testing.assert_allclose(z.numpy(), [[0.5, 1.125], [0.0, 0.25]], rtol=1e-6)


def test_gate_of_ones_is_the_plain_network():
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(7, 5, generator=gen)
    Wr, br = torch.randn(4, 5, generator=gen), torch.randn(4, generator=gen)
    plain = torch.relu(x @ Wr.T + br)  # the ungated representation, written here
    assert torch.equal(gated_features(x, (Wr, br), None), plain)
    # A modulator whose output bias is +50 gives sigmoid(50) = 1 - 2e-22: gates of one.
    mod = (torch.randn(3, 5, generator=gen), torch.zeros(3), torch.zeros(4, 3),
           torch.full((4,), 50.0))
    torch.testing.assert_close(gated_features(x, (Wr, br), mod), plain)
    # And -50 closes every gate.
    mod_closed = (*mod[:3], torch.full((4,), -50.0))
    assert float(gated_features(x, (Wr, br), mod_closed).abs().max()) < 1e-15


def test_pair_forward_matches_the_function_and_its_ablation():
    net = ModulatedPair(n_in=6, n_hidden=5, n_modulator=4, seed=1)
    x = torch.rand(9, 6, generator=torch.Generator().manual_seed(0))
    rep, mod = net.parts()
    with torch.no_grad():
        torch.testing.assert_close(net(x), gated_features(x, rep, mod))
        torch.testing.assert_close(net(x, gate=False), gated_features(x, rep, None))
        g = net.gates(x)
    assert g.shape == (9, 5) and float(g.min()) > 0 and float(g.max()) < 1
    plain = ModulatedPair(n_in=6, n_hidden=5, gate=False, seed=1)
    assert plain.parts()[1] is None
    assert torch.equal(plain.gates(x), torch.ones(9, 5))


# --- one inner-loop step ----------------------------------------------------------------


def test_readout_step_by_hand():
    # V = 0, three classes: p = (1/3, 1/3, 1/3); with y = 0, p - e_y = (-2/3, 1/3, 1/3)
    # and V' = -0.3 (p - e_y) z^T with z = (1, 2).
    V = torch.zeros(3, 2)
    out = readout_sgd_step(V, torch.tensor([1.0, 2.0]), 0, 0.3)
    np.testing.assert_allclose(out.numpy(), [[0.2, 0.4], [-0.1, -0.2], [-0.1, -0.2]],
                               rtol=1e-6)
    assert torch.equal(V, torch.zeros(3, 2))  # not changed in place


def test_readout_step_is_gradient_descent_on_the_cross_entropy():
    # Independent computation: autograd of -log softmax(V z)_y.
    gen = torch.Generator().manual_seed(4)
    V = torch.randn(4, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    z = torch.rand(6, generator=gen, dtype=torch.float64)
    loss = -torch.log_softmax(V @ z, dim=0)[2]
    (grad,) = torch.autograd.grad(loss, V)
    expected = V.detach() - 0.05 * grad
    torch.testing.assert_close(readout_sgd_step(V.detach(), z, 2, 0.05), expected)


def test_a_closed_gate_freezes_its_readout_column():
    # z_j = g_j h_j = 0 leaves column j of V unchanged: the gate decides where learning
    # happens (Beaulieu et al. 2020).
    V = torch.randn(3, 4, generator=torch.Generator().manual_seed(5))
    out = readout_sgd_step(V, torch.tensor([0.5, 0.0, 1.0, 0.0]), 1, 0.7)
    assert torch.equal(out[:, 1], V[:, 1]) and torch.equal(out[:, 3], V[:, 3])
    assert not torch.equal(out[:, 0], V[:, 0])


def test_batched_inner_loop_equals_the_step_by_step_loop():
    gen = torch.Generator().manual_seed(6)
    z = torch.rand(3, 8, 5, generator=gen, dtype=torch.float64)
    y = torch.randint(4, (3, 8), generator=gen)
    V = anml._inner_loop(z, y, 0.4, 4)
    for s in range(3):
        Vs = torch.zeros(4, 5, dtype=torch.float64)
        for k in range(8):
            Vs = readout_sgd_step(Vs, z[s, k], int(y[s, k]), 0.4)
        torch.testing.assert_close(V[s], Vs)


# --- the meta-loss and its gradient ----------------------------------------------------------


def test_meta_loss_by_hand():
    # features = identity; one training image z = (1, 0) of class 0, lr 1, C = 2:
    # V1 = -(p - e_0) z^T = [[0.5, 0], [-0.5, 0]]; query (1, 0) of class 0 has logits
    # (0.5, -0.5) and cross-entropy log(1 + e^-1).
    f = torch.nn.Identity()
    loss = sequence_meta_loss(f, torch.tensor([[1.0, 0.0]]), torch.tensor([0]),
                              torch.tensor([[1.0, 0.0]]), torch.tensor([0]), 1.0, 2)
    assert float(loss) == pytest.approx(math.log(1 + math.exp(-1)), rel=1e-6)
    # No learning (lr -> 0): the readout stays 0 and the loss is log C.
    loss0 = sequence_meta_loss(f, torch.tensor([[1.0, 0.0]]), torch.tensor([0]),
                               torch.tensor([[0.3, 2.0]]), torch.tensor([1]), 1e-12, 3)
    assert float(loss0) == pytest.approx(math.log(3), rel=1e-6)  # float32


def _double_pair(seed=0):
    net = ModulatedPair(n_in=5, n_hidden=4, n_modulator=3, inner_lr=0.5, seed=seed).double()
    gen = np.random.default_rng(seed)
    pool = {c: torch.as_tensor(gen.random((6, 5))) for c in range(3)}
    xt, yt, xq, yq = sample_sequences(pool, 1, 3, 2, 2, gen)
    return net, xt[0], yt[0], xq[0], yq[0]


def test_meta_gradient_against_finite_differences():
    # Central differences of the meta-loss in every parameter of a tiny pair (float64):
    # the gradient through every inner step must match (no first-order approximation).
    net, xt, yt, xq, yq = _double_pair()

    def loss():
        return sequence_meta_loss(net, xt, yt, xq, yq, net.log_lr.exp(), 3)

    net.zero_grad()
    loss().backward()
    eps = 1e-6
    for name, p in net.named_parameters():
        flat = p.data.view(-1)
        numeric = torch.zeros_like(flat)
        for i in range(len(flat)):
            old = float(flat[i])
            with torch.no_grad():
                flat[i] = old + eps
                up = float(loss())
                flat[i] = old - eps
                down = float(loss())
                flat[i] = old
            numeric[i] = (up - down) / (2 * eps)
        torch.testing.assert_close(p.grad.view(-1), numeric, rtol=1e-5, atol=1e-8,
                                   msg=f"meta-gradient of {name}")


def test_first_order_gradient_differs_from_the_exact_one():
    # The exact meta-gradient includes the path through the training features; dropping
    # it (detaching z_train, a first-order approximation) changes the gradient, so the
    # finite-difference test above can tell the two apart.
    net, xt, yt, xq, yq = _double_pair(1)
    loss = sequence_meta_loss(net, xt, yt, xq, yq, net.log_lr.exp(), 3)
    exact = torch.autograd.grad(loss, net.rep.weight)[0]

    def detached(x):
        return net(x).detach() if x is xt else net(x)

    loss_fo = sequence_meta_loss(detached, xt, yt, xq, yq, net.log_lr.exp(), 3)
    first = torch.autograd.grad(loss_fo, net.rep.weight)[0]
    assert float((exact - first).abs().max()) > 1e-4


def test_batched_query_loss_is_the_mean_of_sequence_losses():
    net = ModulatedPair(n_in=5, n_hidden=4, n_modulator=3, seed=2)
    gen = np.random.default_rng(2)
    pool = {c: torch.as_tensor(gen.random((8, 5)), dtype=torch.float32) for c in range(4)}
    xt, yt, xq, yq = sample_sequences(pool, 3, 3, 2, 2, gen)
    batched = anml._query_loss(net, xt, yt, xq, yq, 3)
    single = [sequence_meta_loss(net, xt[s], yt[s], xq[s], yq[s], net.log_lr.exp(), 3)
              for s in range(3)]
    torch.testing.assert_close(batched, torch.stack(single).mean())


# --- data -----------------------------------------------------------------------------------


def test_sample_sequences_shapes_and_disjoint_queries():
    pool = {c: torch.arange(c * 100, c * 100 + 12, dtype=torch.float32).unsqueeze(1)
            for c in range(6)}
    xt, yt, xq, yq = sample_sequences(pool, 4, 3, 2, 5, np.random.default_rng(0))
    assert xt.shape == (4, 6, 1) and xq.shape == (4, 15, 1)
    assert yt[0].tolist() == [0, 0, 1, 1, 2, 2] and yq[0].tolist() == [0] * 5 + [1] * 5 + [2] * 5
    for s in range(4):
        for k in range(3):
            tr = set(xt[s, 2 * k : 2 * k + 2, 0].tolist())
            q = set(xq[s, 5 * k : 5 * k + 5, 0].tolist())
            assert not tr & q  # queries are other images
            assert len({v // 100 for v in tr | q}) == 1  # all of one class
    with pytest.raises(ValueError, match="n_ways"):
        sample_sequences(pool, 1, 7, 1, 1, np.random.default_rng(0))


def test_dihedral_classes_by_hand():
    img = np.arange(64, dtype=np.float32).reshape(1, 64)
    x, y = dihedral_classes(img, np.array([3]), [3])
    assert y.tolist() == [24, 25, 26, 27, 28, 29, 30, 31]  # 8 c + s
    square = img.reshape(8, 8)
    assert np.array_equal(x[0].reshape(8, 8), square)
    # One counter-clockwise quarter turn: the top-right pixel (0, 7) moves to the top left.
    assert x[1].reshape(8, 8)[0, 0] == square[0, 7]
    assert np.array_equal(x[4].reshape(8, 8), square.T)
    assert len({x[s].tobytes() for s in range(8)}) == 8  # an asymmetric image: 8 images


def test_class_sequence_is_class_incremental_one_class_per_task():
    gen = np.random.default_rng(0)
    x_tr, y_tr = gen.random((60, 3)), np.repeat(np.arange(3), 20)
    x_te, y_te = gen.random((15, 3)), np.repeat(np.arange(3), 5)
    s = class_sequence(x_tr, y_tr, x_te, y_te, [2, 0], n_train=4, seed=1)
    assert s.scenario == "class" and s.n_tasks == 2 and s.n_outputs == 2
    assert s.tasks[0].y_train.tolist() == [0] * 4 and s.tasks[1].y_test.tolist() == [1] * 5
    assert np.isin(s.tasks[0].x_train.numpy(), x_tr[y_tr == 2].astype(np.float32)).all()
    assert np.isin(s.tasks[0].x_test.numpy(), x_te[y_te == 2].astype(np.float32)).all()
    with pytest.raises(ValueError, match="n_train"):
        class_sequence(x_tr, y_tr, x_te, y_te, [0], n_train=21)


# --- online learning and meta-training ---------------------------------------------------


def test_online_learning_with_orthogonal_features_does_not_forget():
    # Independent expectation: if each class lights up its own feature (orthogonal
    # one-hot features), one SGD step on class i only raises row i on feature i and
    # lowers the other rows on feature i, so a test image of class j is still scored
    # highest by row j after every later class: R = 1 on and below the diagonal.
    class OneHot(ModulatedPair):
        def forward(self, x, gate=True):
            return x

    net = OneHot(n_in=3, n_hidden=3, inner_lr=0.5)
    eye = np.eye(3, dtype=np.float32)
    x_tr, y_tr = np.repeat(eye, 4, axis=0), np.repeat(np.arange(3), 4)
    s = class_sequence(x_tr, y_tr, eye, np.arange(3), [0, 1, 2], n_train=4)
    R = online_learning(net, s)
    assert np.array_equal(np.tril(R), np.tril(np.ones((3, 3))))


def test_meta_training_lowers_the_meta_loss():
    # Two classes of separable inputs; 60 outer steps must lower the meta-loss from its
    # start (about log 2 = 0.69 nats with gates at one half and a small readout).
    gen = np.random.default_rng(0)
    x = np.concatenate([gen.random((30, 6)) * [1, 1, 1, 0, 0, 0],
                        gen.random((30, 6)) * [0, 0, 0, 1, 1, 1]]).astype(np.float32)
    y = np.repeat([0, 1], 30)
    cfg = MetaConfig(n_hidden=8, n_modulator=4, n_ways=2, n_shots=3, n_queries=3,
                     meta_steps=60, meta_batch=4, meta_lr=0.01)
    res = anml.meta_train(x, y, [0, 1], cfg, seed=0)
    assert res.meta_losses.shape == (60,) and res.inner_lrs.shape == (60,)
    assert res.meta_losses[-10:].mean() < 0.5 * res.meta_losses[:5].mean()
    # Same seed, same run: every sequence and weight comes from the seed.
    again = anml.meta_train(x, y, [0, 1], cfg, seed=0)
    np.testing.assert_array_equal(res.meta_losses, again.meta_losses)


def test_meta_config_validation_names_the_parameter():
    with pytest.raises(ValueError, match="n_ways"):
        MetaConfig(n_ways=1)
    with pytest.raises(ValueError, match="inner_lr"):
        MetaConfig(inner_lr=0.0)
    with pytest.raises(ValueError, match="meta_steps"):
        MetaConfig(meta_steps=-1)
    with pytest.raises(ValueError, match="n_shots"):
        MetaConfig(n_shots=0)


def test_meta_experiment_holds_out_its_test_digits():
    # The protocol's promise: the digits of the new sequence are never meta-trained on,
    # every method is tested on the same five of them, and each R is a (5, 5) matrix of
    # accuracies. A tiny budget (2 outer steps) keeps the test fast.
    cfg = MetaConfig(meta_steps=2, meta_batch=2)
    out = anml.meta_experiment(3, cfg, methods=("meta-learned modulator", "fine-tuning"))
    assert sorted(out["classes"] + out["meta_classes"]) == list(range(10))
    assert not set(out["classes"]) & set(out["meta_classes"])
    assert list(out["R"]) == ["meta-learned modulator", "fine-tuning"]
    for R in out["R"].values():
        assert R.shape == (5, 5) and ((R >= 0) & (R <= 1)).all()
    stream = out["stream"]
    assert [int(t.y_train[0]) for t in stream.tasks] == list(range(5))
    assert all(len(t.x_train) == 10 for t in stream.tasks)
    assert out["inner_lr"]["meta-learned modulator"] in anml.LR_GRID
    with pytest.raises(ValueError, match="methods"):
        anml.meta_experiment(0, cfg, methods=("no such method",))


def test_pretrain_depends_on_its_seed_only():
    # Seeds as arguments: the same seed gives the same weights whatever the global torch
    # RNG did in between (the temporary readout was once drawn from it), another seed not.
    gen = np.random.default_rng(1)
    x, y = gen.random((40, 6)).astype(np.float32), np.repeat([0, 1], 20)
    cfg = MetaConfig(n_hidden=5, n_modulator=3)
    a = anml.pretrain(x, y, [0, 1], cfg, steps=20, seed=4)
    torch.manual_seed(123)
    torch.rand(10)
    b = anml.pretrain(x, y, [0, 1], cfg, steps=20, seed=4)
    c = anml.pretrain(x, y, [0, 1], cfg, steps=20, seed=5)
    assert torch.equal(a.rep.weight, b.rep.weight)
    assert not torch.equal(a.rep.weight, c.rep.weight)
