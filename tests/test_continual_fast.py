"""The hand-derived fast path of the plain MLP (neuroai_core.continual.fastmlp) against the
autograd loop it replaces.

Expected values come from the autograd path itself (``train_task(..., fast=False)``:
``torch.autograd`` gradients, ``torch.optim.Adam``, ``diagonal_fisher(..., fast=False)``
with ``torch.func.vmap``), run from the same initial weights on the same batches, and,
for one Adam step, from Adam's definition (after one step ``m_hat = g``, ``v_hat = g^2``,
so ``delta = -lr g / (|g| + eps)``).
"""

import copy
import itertools

import numpy as np
import pytest
import torch

from neuroai_core.continual import fastmlp
from neuroai_core.continual.compare import ContinualConfig, run_method
from neuroai_core.continual.data import split_digits
from neuroai_core.continual.ewc import EWC, OnlineEWC, diagonal_fisher
from neuroai_core.continual.gating import ModulatedMLP, XdGMLP
from neuroai_core.continual.replay import ReplayBuffer, current_batches, replay_batches
from neuroai_core.continual.si import SI
from neuroai_core.continual.train import MLP, masked_logits, train_task

N_STEPS = 20
ATOL = 1e-5


def _ids(task):
    return torch.full((len(task.x_train),), task.task_id, dtype=torch.int64)


def _after_first_task(scenario, penalty=None):
    """A stream, an MLP trained on task 0 by autograd and the consolidated penalty."""
    stream = split_digits(scenario, seed=0)
    model = MLP(n_out=stream.n_outputs, seed=3)
    if isinstance(penalty, SI):
        penalty.start_task(model)
    res = train_task(model, current_batches(stream, 0, epochs=2, seed=1), penalty, fast=False)
    if isinstance(penalty, (EWC, OnlineEWC)):
        penalty.consolidate(model, stream.tasks[0].x_train, _ids(stream.tasks[0]), stream.mask(0))
    elif isinstance(penalty, SI):
        penalty.consolidate(model, res.path_integral)
    return stream, model


def _both_paths(model, make_batches, penalty):
    slow, fast = copy.deepcopy(model), copy.deepcopy(model)
    r_slow = train_task(slow, itertools.islice(make_batches(), N_STEPS), penalty, fast=False)
    r_fast = train_task(fast, itertools.islice(make_batches(), N_STEPS), penalty, fast=True)
    return slow, fast, r_slow, r_fast


def _assert_same(slow, fast, r_slow, r_fast):
    assert len(r_fast.losses) == len(r_slow.losses) == N_STEPS
    for (name, p), q in zip(slow.named_parameters(), fast.parameters(), strict=True):
        torch.testing.assert_close(q, p, atol=ATOL, rtol=0, msg=name)
    np.testing.assert_allclose(r_fast.losses, r_slow.losses, atol=ATOL, rtol=0)
    assert set(r_fast.path_integral) == set(r_slow.path_integral)
    for name, w in r_slow.path_integral.items():
        torch.testing.assert_close(r_fast.path_integral[name], w, atol=1e-7, rtol=1e-4)


@pytest.mark.parametrize("scenario", ["task", "class", "domain"])
@pytest.mark.parametrize("kind", ["plain", "ewc", "online-ewc", "si"])
def test_fast_path_gives_the_autograd_weights_after_20_steps(scenario, kind):
    penalty = {"plain": None, "ewc": EWC(lam=100.0), "online-ewc": OnlineEWC(lam=100.0),
               "si": SI(c=1.0, xi=0.1)}[kind]
    stream, model = _after_first_task(scenario, penalty)
    if penalty is not None:  # the penalty is live: not zero and moves the weights
        assert penalty(model) is not None
    slow, fast, r_slow, r_fast = _both_paths(
        model, lambda: current_batches(stream, 1, epochs=3, seed=7), penalty)
    _assert_same(slow, fast, r_slow, r_fast)
    moved = max(float((p - q).detach().abs().max()) for p, q in zip(model.parameters(),
                                                           fast.parameters(), strict=True))
    assert moved > 1e-3


def test_fast_path_penalty_changes_the_update():
    """EWC's gradient enters the fast step: with the penalty the weights differ from
    plain training by far more than the tolerance."""
    stream, model = _after_first_task("task", EWC(lam=1e4))
    ewc = EWC(lam=1e4).consolidate(model, stream.tasks[0].x_train, _ids(stream.tasks[0]),
                                   stream.mask(0))
    _, a, _, _ = _both_paths(model, lambda: current_batches(stream, 1, epochs=3, seed=7), ewc)
    _, b, _, _ = _both_paths(model, lambda: current_batches(stream, 1, epochs=3, seed=7), None)
    assert max(float((p - q).detach().abs().max()) for p, q in zip(a.parameters(), b.parameters(),
                                                          strict=True)) > 100 * ATOL


@pytest.mark.parametrize("scenario", ["task", "class"])
def test_fast_path_with_replay_batches(scenario):
    """Replay batches: 64 samples, the old half with per-sample masks of their own task
    (task-IL) or of the current one (class-IL)."""
    stream, model = _after_first_task(scenario)
    buffer = ReplayBuffer(200, seed=0)
    for t in (0, 1):
        buffer.add_task(stream.tasks[t].x_train, stream.tasks[t].y_train, t)
    batches = lambda: replay_batches(stream, 2, buffer, epochs=3, seed=5)  # noqa: E731
    first = next(iter(batches()))
    assert len(first.x) == 64
    _assert_same(*_both_paths(model, batches, None))


def test_one_fast_adam_step_by_definition():
    """After one step Adam moves every parameter by ``-lr g / (|g| + eps)``."""
    stream = split_digits("class", seed=0)
    model = MLP(seed=0)
    batch = next(iter(current_batches(stream, 0, epochs=1, seed=0)))
    loss = torch.nn.functional.cross_entropy(masked_logits(model(batch.x), batch.active),
                                             batch.y)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    before = [p.detach().clone() for p in model.parameters()]
    res = train_task(model, [batch], lr=1e-3, fast=True)
    assert res.losses[0] == pytest.approx(float(loss.detach()), abs=1e-6)
    for p, p0, g in zip(model.parameters(), before, grads, strict=True):
        expected = p0 - 1e-3 * g / (g.abs() + 1e-8)
        torch.testing.assert_close(p.detach(), expected, atol=1e-7, rtol=0)


@pytest.mark.parametrize("scenario", ["task", "class", "domain"])
def test_fast_fisher_equals_vmap_fisher(scenario):
    stream, model = _after_first_task(scenario)
    task = stream.tasks[1]
    mask = stream.mask(1)
    exact = diagonal_fisher(model, task.x_train, _ids(task), mask, fast=False)
    fast = fastmlp.mlp_fisher(model, task.x_train, mask)
    assert set(fast) == set(exact)
    for name, f in exact.items():
        torch.testing.assert_close(fast[name], f, atol=1e-7, rtol=1e-4, msg=name)
    # diagonal_fisher takes the fast path for a plain MLP
    auto = diagonal_fisher(model, task.x_train, _ids(task), mask)
    for name, f in fast.items():
        torch.testing.assert_close(auto[name], f, atol=0, rtol=0)


def test_dispatch_only_plain_mlps_and_known_penalties():
    assert fastmlp.is_plain_mlp(MLP())
    assert not fastmlp.is_plain_mlp(XdGMLP())
    assert not fastmlp.is_plain_mlp(ModulatedMLP())
    assert not fastmlp.is_plain_mlp(MLP().double())
    frozen = MLP()
    frozen.head.bias.requires_grad_(False)
    assert not fastmlp.is_plain_mlp(frozen)
    assert all(fastmlp.supports_penalty(p) for p in (None, EWC(), OnlineEWC(), SI()))
    assert not fastmlp.supports_penalty(lambda model: torch.zeros(()))


@pytest.mark.parametrize("scenario", ["task", "class"])
@pytest.mark.parametrize("method", ["fine-tuning", "ewc", "si", "replay", "joint"])
def test_whole_runs_give_the_autograd_accuracies(monkeypatch, scenario, method):
    """A full protocol run (5 tasks, 2 epochs each) by both paths: the accuracy matrices
    agree to float noise (at most one test image of about 108 flips)."""
    stream = split_digits(scenario, seed=1)
    fast = run_method(method, stream, ContinualConfig(epochs=2), seed=1)

    def refuse(*args, **kwargs):
        raise AssertionError("fast=False must not reach the fast path")

    monkeypatch.setattr(fastmlp, "train_task_fast", refuse)
    monkeypatch.setattr(fastmlp, "mlp_fisher", refuse)
    slow = run_method(method, stream, ContinualConfig(epochs=2, fast=False), seed=1)
    np.testing.assert_allclose(fast.R, slow.R, atol=1.5 / 100)
    for a, b in zip(fast.losses, slow.losses, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
