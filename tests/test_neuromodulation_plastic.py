"""Tests of gain modulation (Vecoven et al. 2020) and of neuromodulated differentiable
plasticity (Miconi et al. 2019, ICLR: "Backpropamine")."""

import math

import numpy as np
import pytest
import torch

from neuroai_core.neuromodulation import (
    ContextGains,
    GainModulatedNet,
    PlasticRNN,
    accuracy_by_presentation,
    context_accuracy,
    context_task,
    cue_reward_accuracy,
    cue_reward_episodes,
    gain_modulated_forward,
    hebbian_update,
    train_context_net,
    train_plastic_rnn,
)
from neuroai_core.neuromodulation.plastic_rnn import PlasticState

# --- gain modulation -----------------------------------------------------------------

def test_gain_modulated_forward_by_hand():
    # W x = [1*1 + 0*2, 0.5*1 - 1*2] = [1, -1.5]; g * Wx + b = [2*1 + 0, 0.5*(-1.5) + 0.25]
    # = [2, -0.5]; y = tanh of that.
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    w = torch.tensor([[1.0, 0.0], [0.5, -1.0]], dtype=torch.float64)
    y = gain_modulated_forward(x, w, torch.tensor([2.0, 0.5], dtype=torch.float64),
                               torch.tensor([0.0, 0.25], dtype=torch.float64))
    np.testing.assert_allclose(y.numpy(), [[math.tanh(2.0), math.tanh(-0.5)]], rtol=1e-12)
    # Gain 0 silences the net input: only the bias is left.
    y0 = gain_modulated_forward(x, w, torch.zeros(2, dtype=torch.float64),
                                torch.tensor([0.3, -0.1], dtype=torch.float64))
    np.testing.assert_allclose(y0.numpy(), [[math.tanh(0.3), math.tanh(-0.1)]], rtol=1e-12)


def test_context_network_without_signal_is_a_plain_layer():
    # ContextGains docstring: with z = 0 every gain is exactly 1 and the bias is a constant,
    # so GainModulatedNet(x) is an ordinary tanh layer: compare with that layer written out.
    net = GainModulatedNet(n_in=2, n_hidden=5, seed=3).double()
    x = torch.randn(7, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    gain, bias = net.context(torch.zeros(7, 2, dtype=torch.float64))
    np.testing.assert_array_equal(gain.detach().numpy(), 1.0)
    c = net.context
    const_b = torch.tanh(c.a_bias) @ c.b_weight.T + c.b_bias
    plain = torch.tanh(x @ net.weight.T + const_b) @ net.readout.T + net.readout_bias
    np.testing.assert_allclose(net(x).detach().numpy(), plain.detach().numpy(), rtol=1e-12)


def test_context_task_targets_and_conflicts():
    # Each stimulus appears once per context; targets follow the rule sign(x[ctx]).
    task = context_task(50, seed=1)
    x, ctx, y = task.x.numpy(), task.z.numpy().argmax(1), task.y.numpy()
    np.testing.assert_array_equal(x[:50], x[50:])
    np.testing.assert_array_equal(ctx, np.repeat([0, 1], 50))
    np.testing.assert_array_equal(y, (x[np.arange(100), ctx] > 0).astype(float))
    np.testing.assert_array_equal(task.conflicting.numpy(), (x[:, 0] > 0) != (x[:, 1] > 0))
    # Conflicting items have opposite targets in the two contexts.
    conf = task.conflicting.numpy()[:50]
    np.testing.assert_array_equal(y[:50][conf], 1.0 - y[50:][conf])


def test_gain_modulated_network_solves_both_contexts_unmodulated_is_at_chance():
    # Vecoven et al. 2020: with the context acting through gains and biases one network
    # learns both rules. Without the modulatory path the network computes the same output
    # for the same stimulus in both contexts, so on conflicting items it is right in exactly
    # one of the two: 0.5 (chance) at best, whatever the training.
    train, test = context_task(200, seed=0), context_task(500, seed=1)
    for seed in (0, 1):
        mod = GainModulatedNet(seed=seed)
        train_context_net(mod, train, progress=False)
        acc = context_accuracy(mod, test)
        assert acc["conflicting"] > 0.95 and acc["congruent"] > 0.95, acc
        plain = GainModulatedNet(seed=seed)
        train_context_net(plain, train, use_context=False, progress=False)
        acc0 = context_accuracy(plain, test, use_context=False)
        assert acc0["conflicting"] == pytest.approx(0.5, abs=1e-6), acc0
        assert acc0["congruent"] > 0.95, acc0  # it did learn what it can learn


def test_gain_layer_rejects_bad_sizes():
    with pytest.raises(ValueError, match="n_hidden"):
        ContextGains(2, 4, n_hidden=0)
    with pytest.raises(ValueError, match="n_stimuli"):
        context_task(0)


# --- neuromodulated Hebbian trace ------------------------------------------------------

def test_hebbian_update_by_hand_with_clipping():
    # outer(pre, post) = [[0.5, 0.8], [-0.25, -0.4]]; M = 0.5 halves it; adding to Hebb gives
    # [[1.15, 0.4], [0.075, -1.15]], clipped to [-1, 1]: [[1, 0.4], [0.075, -1]].
    hebb = torch.tensor([[[0.9, 0.0], [0.2, -0.95]]], dtype=torch.float64)
    pre = torch.tensor([[1.0, -0.5]], dtype=torch.float64)
    post = torch.tensor([[0.5, 0.8]], dtype=torch.float64)
    new = hebbian_update(hebb, pre, post, torch.tensor([0.5], dtype=torch.float64))
    np.testing.assert_allclose(new[0].numpy(), [[1.0, 0.4], [0.075, -1.0]], rtol=1e-12)
    # A tighter clip bound.
    new = hebbian_update(hebb, pre, post, torch.tensor([0.5], dtype=torch.float64), clip=0.3)
    np.testing.assert_allclose(new[0].numpy(), [[0.3, 0.3], [0.075, -0.3]], rtol=1e-12)
    # M = 0: the trace is unchanged, exactly; a negative M reverses the sign of the change.
    same = hebbian_update(hebb, pre, post, torch.zeros(1, dtype=torch.float64))
    assert torch.equal(same, hebb)
    neg = hebbian_update(torch.zeros_like(hebb), pre, post, torch.tensor([-1.0]).double())
    np.testing.assert_allclose(neg[0].numpy(), [[-0.5, -0.8], [0.25, 0.4]], rtol=1e-12)


def test_plastic_step_matches_the_equations_written_with_loops():
    # Miconi et al. 2019: x_j = tanh(sum_i (w_ij + alpha_ij Hebb_ij) x_i + input_j),
    # M = tanh(w_M . x + b_M), Hebb_ij <- clip(Hebb_ij + M x_i(t-1) x_j(t)); an independent
    # plain-Python evaluation of these sums.
    net = PlasticRNN(n_in=2, n_hidden=3, seed=0).double()
    gen = torch.Generator().manual_seed(1)
    x0 = torch.rand(1, 3, generator=gen, dtype=torch.float64) - 0.5
    h0 = 0.6 * (torch.rand(1, 3, 3, generator=gen, dtype=torch.float64) - 0.5)
    u = torch.tensor([[1.0, -0.3]], dtype=torch.float64)
    _, m, state = net.step(u, PlasticState(x0, h0))
    w, a, win = net.w.detach().numpy(), net.alpha.detach().numpy(), net.w_in.detach().numpy()
    xp, hp = x0[0].numpy(), h0[0].numpy()
    x = [math.tanh(sum((w[i, j] + a[i, j] * hp[i, j]) * xp[i] for i in range(3))
                   + sum(win[j, k] * u[0, k].item() for k in range(2))) for j in range(3)]
    mm = math.tanh(sum(net.w_mod[j].item() * x[j] for j in range(3)) + net.b_mod.item())
    hebb = [[min(1.0, max(-1.0, hp[i, j] + mm * xp[i] * x[j])) for j in range(3)]
            for i in range(3)]
    np.testing.assert_allclose(state.x[0].detach().numpy(), x, rtol=1e-12)
    assert m.item() == pytest.approx(mm, rel=1e-12)
    np.testing.assert_allclose(state.hebb[0].detach().numpy(), hebb, rtol=1e-12)


def test_gradients_reach_alpha_and_the_modulator():
    # Autograd against finite differences (torch.autograd.gradcheck) for the plasticity
    # coefficients alpha and the modulator weights w_M, through a 6-step episode.
    net = PlasticRNN(n_in=3, n_hidden=4, seed=2).double()
    inputs = 0.5 * torch.randn(2, 6, 3, dtype=torch.float64,
                               generator=torch.Generator().manual_seed(0))

    def run(alpha, w_mod):
        params = dict(net.named_parameters()) | {"alpha": alpha, "w_mod": w_mod}
        out, _ = torch.func.functional_call(net, params, (inputs,))
        return out

    alpha = net.alpha.detach().clone().requires_grad_(True)
    w_mod = net.w_mod.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(run, (alpha, w_mod))
    out = run(alpha, w_mod)
    g_alpha, g_mod = torch.autograd.grad(out.sum(), (alpha, w_mod))
    assert g_alpha.abs().max() > 1e-4 and g_mod.abs().max() > 1e-4
    # In the non-plastic control alpha = 0: M has no path to the output, its gradient is 0.
    ctrl = PlasticRNN(n_in=3, n_hidden=4, plastic=False, seed=2).double()
    out, _ = ctrl(inputs)
    out.sum().backward()
    assert not ctrl.alpha.requires_grad
    assert torch.equal(ctrl.w_mod.grad, torch.zeros(4, dtype=torch.float64))


def test_cue_reward_episodes_layout():
    ep = cue_reward_episodes(20, n_cues=4, n_trials=10, seed=0)
    inp = ep.inputs.numpy().reshape(20, 10, 3, 5)
    # Half of the cues pay in every episode; the target is the feedback of that trial.
    assert inp.shape == (20, 10, 3, 5)
    np.testing.assert_array_equal(inp[:, :, 2, 4], 2 * ep.rewarded.numpy() - 1)
    np.testing.assert_array_equal(inp[:, :, :2, 4], 0.0)  # no feedback before it is due
    np.testing.assert_array_equal(inp[:, :, 0, :4].argmax(-1), ep.cues)
    for e in range(20):
        # A cue keeps its outcome within the episode; at most n_cues // 2 = 2 cues pay.
        outcomes = {}
        for c, r in zip(ep.cues[e], ep.rewarded[e].numpy(), strict=True):
            assert outcomes.setdefault(c, r) == r
        assert sum(outcomes.values()) <= 2
    # Over many episodes every cue pays half of the time (a random half is drawn).
    big = cue_reward_episodes(4000, n_cues=4, n_trials=1, seed=1)
    for c in range(4):
        assert abs(big.rewarded.numpy()[big.cues == c].mean() - 0.5) < 0.05
    assert not ep.seen_before[:, 0].any()
    assert ep.seen_before[0, 1] == (ep.cues[0, 1] == ep.cues[0, 0])
    # Seeded: the same seed gives the same episodes.
    assert torch.equal(cue_reward_episodes(3, seed=5).inputs, cue_reward_episodes(3, seed=5).inputs)


def test_plastic_network_smoke_learns_within_episodes():
    # Short runs (60 iterations at a higher learning rate) from three seeds: in most of them
    # the loss falls and the plastic network already predicts rewards of repeated cues well
    # above chance (0.5). One seed alone is not enough: whether a run this short leaves the
    # chance plateau depends on the CPU's arithmetic (seed 0 stays there on one Intel Xeon,
    # seeds 1 and 2 learn; on an AMD EPYC seed 0 learned).
    test = cue_reward_episodes(200, seed=100)
    learned = []
    for seed in (0, 1, 2):
        candidate = PlasticRNN(n_in=7, seed=seed)
        losses = train_plastic_rnn(candidate, n_iters=60, lr=0.02, seed=seed, progress=False)
        if losses[-10:].mean() < losses[:10].mean() - 0.2:
            learned.append((cue_reward_accuracy(candidate, test), candidate))
    assert len(learned) >= 2, f"{len(learned)} of 3 seeds learned"
    accuracy, net = max(learned, key=lambda x: x[0])
    assert accuracy > 0.8
    # Accuracy by showing: repeats are learned; a first showing can be predicted no better
    # than the task's own constraint allows. Exactly half of the 6 cues pay in an episode,
    # so after seeing some cues, an unseen cue pays with probability
    # (3 - paying cues seen) / (6 - cues seen): the Bayes-optimal first-showing accuracy,
    # computed here from the episodes, is the ceiling (a coin toss, 0.5, when the
    # network ignores the count; how far it exploits it varies with the CPU's arithmetic).
    by_showing = accuracy_by_presentation(net, test, max_showings=3)
    assert by_showing.shape == (3,)
    best_first = []
    for cues, paid in zip(test.cues, test.rewarded.numpy(), strict=True):
        seen: dict[int, float] = {}
        for cue, reward in zip(cues, paid, strict=True):
            if cue not in seen:
                p = (3 - sum(seen.values())) / (6 - len(seen))
                best_first.append(max(p, 1 - p))
            seen[int(cue)] = float(reward)
    ceiling = float(np.mean(best_first))
    assert 0.4 < by_showing[0] <= ceiling + 0.05, (by_showing, ceiling)
    assert by_showing[1] > 0.8 and by_showing[1] > by_showing[0] + 0.15, by_showing


@pytest.mark.slow
def test_plastic_beats_non_plastic_of_the_same_size():
    # Miconi et al. 2019: with the same units and the same training budget (300 iterations
    # of 32 episodes), the plastic network learns the cue-reward association within each
    # episode almost perfectly; the non-plastic network stays near 0.7. Margin >= 0.2 on
    # every seed; chance is 0.5.
    test = cue_reward_episodes(500, seed=1000)
    for seed in (0, 1, 2):
        accs = {}
        for plastic in (True, False):
            net = PlasticRNN(n_in=7, plastic=plastic, seed=seed)
            train_plastic_rnn(net, seed=seed, progress=False)
            accs[plastic] = cue_reward_accuracy(net, test)
        assert accs[True] > 0.95 and accs[False] < 0.8, (seed, accs)
        assert accs[True] - accs[False] >= 0.2, (seed, accs)
