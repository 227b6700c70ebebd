"""Tests of the continual-learning core (see ../shared/guide/SCIENCE.md, Continual learning)."""

import gzip
import struct

import numpy as np
import pytest
import torch

from neuroai_core.continual import (
    EWC,
    MLP,
    SI,
    ContinualConfig,
    ModulatedMLP,
    OnlineEWC,
    ReplayBuffer,
    XdGMLP,
    average_accuracy,
    backward_transfer,
    compare,
    diagonal_fisher,
    forgetting,
    output_mask,
    path_integral_step,
    permuted_digits,
    read_idx,
    run_method,
    si_importance,
    split_digits,
    summarize,
)

# --- task streams and scenarios --------------------------------------------------------


def test_output_mask_by_hand():
    # van de Ven & Tolias (2019): task-IL = the task's own head, domain-IL = one shared
    # head, class-IL = every class seen so far.
    np.testing.assert_array_equal(output_mask("task", 2, 2, 5), np.arange(10) // 2 == 2)
    np.testing.assert_array_equal(output_mask("domain", 3, 2, 5), [True, True])
    np.testing.assert_array_equal(output_mask("class", 1, 2, 5), np.arange(10) < 4)
    with pytest.raises(ValueError, match="scenario"):
        output_mask("incremental", 0, 2, 5)
    with pytest.raises(ValueError, match="task_id"):
        output_mask("task", 5, 2, 5)


def test_split_digits_tasks_labels_and_stratified_split():
    s = split_digits("class", seed=0)
    assert s.n_tasks == 5 and s.n_outputs == 10 and s.n_features == 64
    for t, task in enumerate(s.tasks):
        # class-IL: labels are the digits 2t and 2t+1 themselves
        assert set(task.y_train.tolist()) == {2 * t, 2 * t + 1}
        n = len(task.y_train) + len(task.y_test)
        assert len(task.y_test) == pytest.approx(0.3 * n, abs=1)
        # stratified: each class has the same test share as in the whole task (+- 1 sample)
        for c in (2 * t, 2 * t + 1):
            n_c = int((task.y_train == c).sum() + (task.y_test == c).sum())
            assert abs(int((task.y_test == c).sum()) - 0.3 * n_c) <= 1
    assert 0.0 <= float(s.tasks[0].x_train.min()) and float(s.tasks[0].x_train.max()) <= 1.0
    d = split_digits("domain", seed=0)
    assert d.n_outputs == 2 and set(d.tasks[3].y_train.tolist()) == {0, 1}
    # same seed, same split; another seed, another split
    assert torch.equal(split_digits("task", seed=0).tasks[0].x_test, s.tasks[0].x_test)
    assert not torch.equal(split_digits("task", seed=1).tasks[0].x_test, s.tasks[0].x_test)


def test_permuted_digits_are_pixel_permutations_of_the_same_images():
    s = permuted_digits("task", n_tasks=3, seed=0)
    assert s.n_outputs == 30 and set(s.tasks[2].y_train.tolist()) == set(range(20, 30))
    x0, x2 = s.tasks[0].x_train.numpy(), s.tasks[2].x_train.numpy()
    # the sorted pixel values of each image are unchanged by a permutation
    np.testing.assert_array_equal(np.sort(x0, axis=1), np.sort(x2, axis=1))
    assert not np.array_equal(x0, x2)


def test_read_idx_parses_a_tiny_file_written_here(tmp_path):
    # IDX format (LeCun et al., MNIST page): 0x00 0x00, type 0x08 (ubyte), ndim, then
    # big-endian int32 dimensions and the data in C order.
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = bytes([0, 0, 0x08, 3]) + struct.pack(">3i", 2, 3, 4) + images.tobytes()
    (tmp_path / "imgs-idx3-ubyte").write_bytes(raw)
    np.testing.assert_array_equal(read_idx(tmp_path / "imgs-idx3-ubyte"), images)
    labels = np.array([7, -2, 300], dtype=">i4")  # type 0x0C: big-endian int32
    with gzip.open(tmp_path / "labels.gz", "wb") as f:
        f.write(bytes([0, 0, 0x0C, 1]) + struct.pack(">i", 3) + labels.tobytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "labels.gz"), [7, -2, 300])
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")


# --- EWC: the Fisher against brute force ------------------------------------------------


def _tiny_model():
    return MLP(n_in=5, n_hidden=(4, 3), n_out=4, seed=3).double()


@pytest.mark.parametrize("active", [[True, True, True, True], [False, True, True, False]])
def test_diagonal_fisher_equals_brute_force_per_sample_autograd(active):
    # Independent computation: one backward pass per sample and label,
    # F = 1/N sum_n sum_y p(y|x_n) (d log p(y|x_n) / d theta)^2 (Kirkpatrick et al. 2017).
    model = _tiny_model()
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(7, 5, generator=gen, dtype=torch.float64)
    ids = torch.zeros(7, dtype=torch.int64)
    act = torch.tensor(active)
    fisher = diagonal_fisher(model, x, ids, act, chunk_size=3)
    brute = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    for n_ in range(len(x)):
        for k in range(int(act.sum())):
            model.zero_grad()
            logp = torch.log_softmax(model(x[n_ : n_ + 1])[0][act], dim=0)
            logp[k].backward()
            for name, p in model.named_parameters():
                brute[name] += logp[k].exp().item() * p.grad**2 / len(x)
    for name in brute:
        torch.testing.assert_close(fisher[name], brute[name], rtol=1e-10, atol=1e-12)


def test_ewc_penalty_by_hand():
    # lambda/2 * sum F (theta - theta*)^2 with F = 2 everywhere and theta - theta* = 0.1.
    model = MLP(n_in=2, n_hidden=(3,), n_out=2, seed=0)
    ewc = EWC(lam=4.0)
    ewc.terms_.append(({n: torch.full_like(p, 2.0) for n, p in model.named_parameters()},
                       {n: p.detach() - 0.1 for n, p in model.named_parameters()}))
    n_params = sum(p.numel() for p in model.parameters())
    assert float(ewc(model).detach()) == pytest.approx(0.5 * 4.0 * 2.0 * 0.01 * n_params, rel=1e-5)


def test_online_ewc_accumulates_fisher_with_decay_and_keeps_one_anchor():
    # Schwarz et al. (2018): F <- gamma F + F_t. Consolidating twice at the same
    # parameters on the same data gives (gamma + 1) F_t, anchored at those parameters.
    model = _tiny_model()
    x = torch.randn(5, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    ids, act = torch.zeros(5, dtype=torch.int64), torch.ones(4, dtype=torch.bool)
    f_t = diagonal_fisher(model, x, ids, act)
    online = OnlineEWC(lam=1.0, gamma=0.5)
    online.consolidate(model, x, ids, act).consolidate(model, x, ids, act)
    for name in f_t:
        torch.testing.assert_close(online.fisher_[name], 1.5 * f_t[name])
    assert float(online(model).detach()) == 0.0  # at the anchor
    with pytest.raises(ValueError, match="gamma"):
        OnlineEWC(gamma=1.5)


# --- SI: the path integral against the loss decrease -----------------------------------


def test_si_path_integral_equals_loss_decrease_on_a_quadratic():
    # L(theta) = sum_k h_k/2 (theta_k - a_k)^2 is separable, so along any path the
    # integral of -dL/dtheta_k dtheta_k is each parameter's own loss decrease,
    # h_k/2 [(theta0_k - a_k)^2 - (theta1_k - a_k)^2] (Zenke et al. 2017, eq. 3), and the
    # sum over k is L(theta0) - L(theta1). A straight line in 20000 steps; the left
    # Riemann sum errs by h_k delta_k^2 / (2 * 20000).
    h = torch.tensor([1.0, 3.0, 0.5, 2.0], dtype=torch.float64)
    a = torch.tensor([0.0, 1.0, -1.0, 2.0], dtype=torch.float64)
    theta0 = torch.tensor([2.0, -1.0, 0.0, 2.0], dtype=torch.float64)
    theta1 = torch.tensor([0.5, 0.5, -2.0, 3.0], dtype=torch.float64)
    n_steps = 20_000
    w = torch.zeros(4, dtype=torch.float64)
    for s in range(n_steps):
        before = theta0 + (theta1 - theta0) * s / n_steps
        after = theta0 + (theta1 - theta0) * (s + 1) / n_steps
        w = path_integral_step(w, h * (before - a), before, after)
    per_param = h / 2 * ((theta0 - a) ** 2 - (theta1 - a) ** 2)
    torch.testing.assert_close(w, per_param, atol=1e-3, rtol=0)

    def loss(th):
        return float((h / 2 * (th - a) ** 2).sum())
    assert float(w.sum()) == pytest.approx(loss(theta0) - loss(theta1), abs=1e-3)
    # Importance by hand (eq. 5): w / (Delta^2 + xi)
    torch.testing.assert_close(si_importance(w, theta1 - theta0, xi=0.1),
                               w / ((theta1 - theta0) ** 2 + 0.1))


def test_si_consolidate_and_penalty_by_hand():
    model = MLP(n_in=2, n_hidden=(2,), n_out=2, seed=0)
    si = SI(c=0.5, xi=1.0).start_task(model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)  # every parameter moved by Delta = 1
    path = {n: torch.full_like(p, 4.0) for n, p in model.named_parameters()}
    si.consolidate(model, path)  # Omega = 4 / (1 + 1) = 2
    for omega in si.omega_.values():
        torch.testing.assert_close(omega, torch.full_like(omega, 2.0))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2)
    n_params = sum(p.numel() for p in model.parameters())
    assert float(si(model).detach()) == pytest.approx(0.5 * 2.0 * 0.04 * n_params, rel=1e-5)


# --- metrics by hand ---------------------------------------------------------------------

R_HAND = np.array([[0.9, 0.1, 0.0],
                   [0.6, 0.8, 0.2],
                   [0.5, 0.7, 1.0]])


def test_metrics_by_hand():
    # A = (0.5 + 0.7 + 1.0) / 3; BWT = ((0.5 - 0.9) + (0.7 - 0.8)) / 2 (Lopez-Paz & Ranzato);
    # forgetting = ((0.9 - 0.5) + (0.8 - 0.7)) / 2 (Chaudhry et al.), equal here since the
    # best accuracy of each old task is the one right after learning it.
    assert average_accuracy(R_HAND) == pytest.approx(2.2 / 3)
    assert backward_transfer(R_HAND) == pytest.approx(-0.25)
    assert forgetting(R_HAND) == pytest.approx(0.25)
    # forgetting measures from the best earlier accuracy, BWT from the diagonal
    R = np.array([[0.6, 0.0], [0.9, 0.9]])
    assert backward_transfer(R) == pytest.approx(0.3)
    assert forgetting(R) == pytest.approx(-0.3)
    R3 = np.array([[0.5, 0, 0], [0.9, 0.8, 0], [0.4, 0.8, 1.0]])
    assert forgetting(R3) == pytest.approx(((0.9 - 0.4) + 0.0) / 2)
    assert average_accuracy([[0.7]]) == 0.7 and forgetting([[0.7]]) == 0.0
    with pytest.raises(ValueError, match="square"):
        average_accuracy(np.zeros((2, 3)))


# --- buffer, gates -----------------------------------------------------------------------


def test_replay_buffer_is_class_balanced_within_budget():
    s = split_digits("class", seed=0)
    buf = ReplayBuffer(budget=50, seed=0)
    for t in range(3):
        buf.add_task(s.tasks[t].x_train, s.tasks[t].y_train, t)
    assert len(buf) <= 50
    counts = np.bincount(buf.y_.numpy(), minlength=6)
    np.testing.assert_array_equal(counts, 50 // 6)  # 6 classes, 8 each
    with pytest.raises(ValueError, match="budget"):
        ReplayBuffer(budget=0)


def test_gates_silence_units_and_stop_their_learning():
    x = torch.rand(4, 64)
    xdg = XdGMLP(keep_fraction=0.2, seed=0)
    assert torch.all(xdg.masks.sum(dim=2) == 20)
    ids = torch.tensor([0, 0, 1, 1])
    out = xdg(x, ids).sum()
    out.backward()
    # rows of the first layer's weights belonging to units gated off in tasks 0 and 1
    # receive no gradient: gating also gates where learning happens (Masse et al. 2018)
    off = (xdg.masks[0, 0] == 0) & (xdg.masks[1, 0] == 0)
    assert torch.all(xdg.hidden[0].weight.grad[off] == 0)
    assert torch.any(xdg.hidden[0].weight.grad[~off] != 0)
    mod = ModulatedMLP(seed=0)
    with torch.no_grad():
        g = mod.gates(x, None)
    assert len(g) == 2 and all(0 < float(gi.min()) and float(gi.max()) < 1 for gi in g)


def test_runs_are_reproducible_from_the_seed():
    cfg = ContinualConfig(epochs=1)
    s = split_digits("class", seed=0)
    r1, r2 = run_method("replay", s, cfg, seed=4), run_method("replay", s, cfg, seed=4)
    np.testing.assert_array_equal(r1.R, r2.R)
    with pytest.raises(ValueError, match="task identity"):
        run_method("xdg", s, cfg)


# --- the published pattern of the three scenarios ----------------------------------------


@pytest.mark.slow
def test_three_scenarios_published_pattern_on_split_digits():
    # van de Ven & Tolias (2019), table 2 on split MNIST: fine-tuning ~87% task-IL,
    # ~59% domain-IL, ~20% class-IL; EWC and SI ~98-99% task-IL but ~20% class-IL;
    # replay far above in class-IL; joint training the upper bound. Three seeds.
    methods = ("fine-tuning", "joint", "ewc", "si", "replay")
    rows = compare(methods, ("task", "class"), seeds=(0, 1, 2), progress=False)
    rows += compare(("fine-tuning",), ("domain",), seeds=(0, 1, 2), progress=False)
    acc = {(r["method"], r["scenario"]): r["mean"] for r in summarize(rows)}
    # fine-tuning: far better in task-IL than in class-IL, where it ends near 1/5;
    # domain-IL in between (87% > 59% > 20% on split MNIST)
    assert acc["fine-tuning", "task"] - acc["fine-tuning", "class"] > 0.5
    assert abs(acc["fine-tuning", "class"] - 0.2) < 0.05
    assert acc["fine-tuning", "task"] - 0.05 > acc["fine-tuning", "domain"]
    assert acc["fine-tuning", "domain"] > acc["fine-tuning", "class"] + 0.4
    # EWC and SI: task-IL within 3 points of joint; class-IL within 5 points of fine-tuning
    for m in ("ewc", "si"):
        assert acc[m, "task"] > acc["joint", "task"] - 0.03, m
        assert abs(acc[m, "class"] - acc["fine-tuning", "class"]) < 0.05, m
    # replay lifts class-IL far above fine-tuning (by more than 0.4)
    assert acc["replay", "class"] > acc["fine-tuning", "class"] + 0.4
    # joint beats every continual method in both scenarios (up to seed noise of 0.01)
    for s in ("task", "class"):
        for m in methods[2:] + ("fine-tuning",):
            assert acc["joint", s] >= acc[m, s] - 0.01, (m, s)


def test_replay_budget_smaller_than_the_classes_is_a_clear_error():
    from neuroai_core.continual import ReplayBuffer

    x, y = torch.zeros(8, 64), torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    with pytest.raises(ValueError, match="budget=3 is smaller than the 4 classes"):
        ReplayBuffer(budget=3).add_task(x, y, 0)
