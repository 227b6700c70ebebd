"""Stacked training (several seeds as one network, neuroai_core.continual.stack) against
separate training of the same copies, and the fast exact EWC pieces (the Fisher from one
backward pass per unit, the per-task quadratics merged into one).

Expected values come from independent computations: each copy trained alone by the same
loop, a brute-force Fisher with one backward pass per sample and unit, the EWC penalty
written term by term.
"""

import copy
import itertools

import numpy as np
import pytest
import torch
from torch import nn

from neuroai_core.continual import (
    EWC,
    MLP,
    SI,
    ContinualConfig,
    ModulatedMLP,
    XdGMLP,
    compare,
    current_batches,
    diagonal_fisher,
    quadratic_penalty,
    replay_batches,
    run_method,
    split_digits,
    train_task,
)
from neuroai_core.continual.compare import run_seeds
from neuroai_core.continual.sources import ReplayBuffer
from neuroai_core.continual.stack import StackedLinear, stack_batches, stack_models, unstack

SEEDS = (0, 1, 2)


def _double_batches(stream, t, seed, n):
    return [b._replace(x=b.x.double()) for b in
            itertools.islice(current_batches(stream, t, epochs=2, seed=seed), n)]


@pytest.mark.parametrize("cls", [MLP, XdGMLP, ModulatedMLP])
def test_a_stacked_network_computes_what_each_copy_computes(cls):
    # Independent computation: each model called alone on its own inputs.
    models = [cls(seed=s).double() for s in SEEDS]
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(len(SEEDS), 6, 64, generator=gen, dtype=torch.float64)
    ids = torch.randint(0, 5, (len(SEEDS), 6), generator=gen)
    stacked = stack_models(models)
    out = stacked(x, ids)
    assert out.shape == (len(SEEDS), 6, 10)
    for k, m in enumerate(models):
        torch.testing.assert_close(out[k], m(x[k], ids[k]), rtol=0, atol=1e-12)
    names = [n for n, _ in models[0].named_parameters()]
    assert [n for n, _ in stacked.named_parameters()] == names
    for m, back in zip(models, unstack(stacked, models[0]), strict=True):  # round trip
        for (n, p), q in zip(m.named_parameters(), back.parameters(), strict=True):
            assert torch.equal(p, q), n
        for (n, b), c in zip(m.named_buffers(), back.buffers(), strict=True):
            assert torch.equal(b, c), n


def test_stack_models_rejects_what_it_cannot_stack():
    with pytest.raises(ValueError, match="one class"):
        stack_models([MLP(), XdGMLP()])
    with pytest.raises(ValueError, match="same parameters"):
        stack_models([MLP(n_hidden=(100, 100)), MLP(n_hidden=(50, 100))])

    class Scaled(MLP):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(()))

    with pytest.raises(ValueError, match="'scale' is not in an nn.Linear"):
        stack_models([Scaled(), Scaled()])
    with pytest.raises(ValueError, match="weight must be"):
        StackedLinear(torch.zeros(2, 3), torch.zeros(2))


@pytest.mark.parametrize("kind", ["none", "ewc", "si"])
def test_stacked_training_equals_separate_training_in_float64(kind):
    # Each copy trained alone by the same loop on its own batches is the expected value.
    # Float64: the batched and the single matrix products differ by rounding only
    # (~1e-16 relative per operation), so after 2 x 20 Adam steps the weights agree to
    # far better than 1e-10 unless the copies leak into each other or share a gradient.
    stream = split_digits("class", seed=0)
    models = [MLP(n_out=stream.n_outputs, seed=s).double() for s in SEEDS]

    def penalty():
        return {"none": None, "ewc": EWC(lam=1e3), "si": SI(c=1.0, xi=0.1)}[kind]

    def protocol(model, batches_of, penalty):
        results = []
        for t in range(2):
            if isinstance(penalty, SI):
                penalty.start_task(model)
            res = train_task(model, batches_of(t), penalty)
            x = batches_of(t)[0].x
            if isinstance(penalty, EWC):
                ids = torch.full(x.shape[:-1], t, dtype=torch.int64)
                penalty.consolidate(model, x, ids, stream.mask(t))
            elif isinstance(penalty, SI):
                penalty.consolidate(model, res.path_integral)
            results.append(res)
        return results

    alone = [copy.deepcopy(m) for m in models]
    expected = [protocol(m, lambda t, s=s: _double_batches(stream, t, [s, t], 20), penalty())
                for m, s in zip(alone, SEEDS, strict=True)]
    stacked = stack_models(models)
    got = protocol(stacked, lambda t: list(stack_batches(
        [_double_batches(stream, t, [s, t], 20) for s in SEEDS])), penalty())
    for k, m in enumerate(alone):
        for t in range(2):
            np.testing.assert_allclose(got[t].losses[:, k], expected[k][t].losses,
                                       rtol=0, atol=1e-10)
        for n, p in m.named_parameters():
            torch.testing.assert_close(stacked.get_parameter(n)[k], p, rtol=0, atol=1e-10,
                                       msg=n)
            if kind == "si":
                torch.testing.assert_close(got[1].path_integral[n][k],
                                           expected[k][1].path_integral[n], rtol=1e-8,
                                           atol=1e-14, msg=n)
    # and the copies did learn different things (different seeds, different batches)
    assert not torch.allclose(stacked.head.weight[0], stacked.head.weight[1])


def test_run_seeds_gives_each_seed_the_accuracies_of_its_own_run():
    # Float32 protocol: stacked and separate runs differ by the rounding of a batched
    # against a single matrix product (float32 epsilon 6e-8 relative). A test accuracy can
    # change only through a test image whose two largest logits are closer than that drift
    # (observed: none at all, max |dR| = 0 over 5 seeds, 8 methods, 2 scenarios at 10
    # epochs). We allow two such images per entry of R (2/107 ~ 0.019, about the standard
    # error of the mean accuracy over five seeds, bench/continual.py): a real fault (copies
    # sharing a gradient, seeds swapped, a copy not trained) moves R by far more, e.g.
    # swapping two seeds' results changes the entries by up to 0.2 here.
    cfg = ContinualConfig(epochs=2)
    for method, scenario in (("replay", "class"), ("ewc", "task"), ("xdg", "task")):
        streams = [split_digits(scenario, seed=s) for s in SEEDS]
        stacked = run_seeds(method, streams, SEEDS, cfg)
        for s, stream, res in zip(SEEDS, streams, stacked, strict=True):
            alone = run_method(method, stream, cfg, s)
            tolerance = 2 / min(len(t.y_test) for t in stream.tasks)
            assert res.seed == s and res.method == method
            np.testing.assert_allclose(res.R, alone.R, rtol=0, atol=tolerance + 1e-9)
            for a, b in zip(res.losses, alone.losses, strict=True):
                np.testing.assert_allclose(a, b, rtol=0, atol=1e-3)
    swapped = np.abs(stacked[0].R - run_method("xdg", streams[1], cfg, 1).R).max()
    assert swapped > tolerance, "the control: another seed's run is told apart"
    with pytest.raises(ValueError, match="same non-zero length"):
        run_seeds("ewc", streams, SEEDS[:2], cfg)
    with pytest.raises(ValueError, match="one kind and scenario"):
        run_seeds("ewc", [split_digits("task"), split_digits("class")], (0, 1), cfg)


def test_replay_sources_stack_with_their_own_buffers():
    stream = split_digits("class", seed=0)
    buffers = [ReplayBuffer(40, seed=s).add_task(stream.tasks[0].x_train,
                                                 stream.tasks[0].y_train, 0) for s in SEEDS]
    sources = [replay_batches(stream, 1, b, epochs=1, seed=[s, 1])
               for b, s in zip(buffers, SEEDS, strict=True)]
    first = next(stack_batches(sources))
    assert first.x.shape == (3, 64, 64) and first.active.shape == (3, 64, 10)
    alone = next(replay_batches(stream, 1, buffers[1], epochs=1, seed=[1, 1]))
    for field, expected in zip(first, alone, strict=True):
        assert torch.equal(field[1], expected)


def test_path_integral_off_changes_nothing_else():
    stream = split_digits("class", seed=0)
    a, b = MLP(n_out=10, seed=0), MLP(n_out=10, seed=0)
    batches = list(itertools.islice(current_batches(stream, 0, epochs=1, seed=0), 5))
    ra, rb = train_task(a, batches), train_task(b, batches, path_integral=False)
    assert rb.path_integral == {} and set(ra.path_integral) == {n for n, _ in a.named_parameters()}
    np.testing.assert_array_equal(ra.losses, rb.losses)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


# --- EWC: the Fisher of a stacked network, the merged penalty ---------------------------


def test_the_fisher_of_a_stacked_network_is_each_copys_fisher():
    # Expected: diagonal_fisher of each copy alone (itself tested against brute force in
    # tests/test_continual.py); class-IL mask with 4 active units, chunks of 3 samples.
    models = [MLP(n_in=5, n_hidden=(4, 3), n_out=6, seed=s).double() for s in SEEDS]
    x = torch.randn(3, 7, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ids = torch.zeros(3, 7, dtype=torch.int64)
    act = torch.tensor([True, True, True, True, False, False])
    stacked = diagonal_fisher(stack_models(models), x, ids, act, chunk_size=3)
    for k, m in enumerate(models):
        for n, f in diagonal_fisher(m, x[k], ids[k], act, chunk_size=3).items():
            torch.testing.assert_close(stacked[n][k], f, rtol=1e-12, atol=1e-15)


def test_diagonal_fisher_names_a_parameter_outside_linear_layers():
    class Scaled(MLP):
        def __init__(self):
            super().__init__(n_in=3, n_hidden=(2,), n_out=2)
            self.scale = nn.Parameter(torch.ones(()))

    with pytest.raises(ValueError, match="'scale'"):
        diagonal_fisher(Scaled(), torch.ones(2, 3), torch.zeros(2, dtype=torch.int64),
                        torch.ones(2, dtype=torch.bool))


def test_ewc_merged_penalty_equals_the_sum_of_its_terms():
    # Expected: lambda/2 sum_t sum_i F_t,i (theta_i - theta*_t,i)^2 written term by term
    # with quadratic_penalty, value and gradient; three terms with random Fisher
    # (some entries exactly 0, where A = 0 must not give NaN) and anchors; float64.
    model = MLP(n_in=4, n_hidden=(3,), n_out=2, seed=0).double()
    gen = torch.Generator().manual_seed(5)
    ewc = EWC(lam=7.0)
    for _ in range(3):
        fisher = {n: torch.rand(p.shape, generator=gen, dtype=torch.float64)
                  * (torch.rand(p.shape, generator=gen) > 0.3) for n, p in model.named_parameters()}
        anchor = {n: p.detach() + torch.randn(p.shape, generator=gen, dtype=torch.float64)
                  for n, p in model.named_parameters()}
        ewc.terms_.append((fisher, anchor))
        value = ewc(model)
        expected = 0.5 * 7.0 * sum(quadratic_penalty(model, f, a) for f, a in ewc.terms_)
        (g_value,) = torch.autograd.grad(value, [model.head.weight])
        (g_expected,) = torch.autograd.grad(expected, [model.head.weight])
        torch.testing.assert_close(value, expected, rtol=1e-12, atol=0)
        torch.testing.assert_close(g_value, g_expected, rtol=1e-12, atol=1e-14)
        assert torch.isfinite(g_value).all()


def test_compare_with_stacked_seeds_gives_the_same_rows():
    # Expected: compare's rows run one seed at a time; stacked within two test images
    # per entry of R (see test_run_seeds_gives_each_seed_the_accuracies_of_its_own_run).
    cfg = ContinualConfig(epochs=1)
    kw = dict(methods=("fine-tuning", "xdg"), scenarios=("task", "class"), seeds=(0, 1),
              config=cfg, progress=False)
    plain, stacked = compare(**kw), compare(**kw, stack_seeds=True)
    assert [(r["method"], r["scenario"], r["seed"]) for r in stacked] == \
        [(r["method"], r["scenario"], r["seed"]) for r in plain]
    assert len(plain) == 6  # xdg only in task-IL
    for a, b in zip(plain, stacked, strict=True):
        np.testing.assert_allclose(a["R"], b["R"], rtol=0, atol=2 / 107)
