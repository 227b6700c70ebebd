"""Surprise-driven task-free continual learning, forward transfer and rotated digits.

Every expected value says where it comes from: a hand computation, a closed form, or the
construction of the stream (where its tasks switch)."""

import math

import numpy as np
import pytest

from neuroai_core.continual import (
    ChangeDetector,
    ContinualConfig,
    SurpriseConfig,
    detect_changes,
    forward_transfer,
    hits_and_false_alarms,
    infer_context,
    learning_transfer,
    permuted_digits,
    rotate_images,
    run_surprise,
    surprise_scores,
    transfer_run,
)

# --- metrics ------------------------------------------------------------------------

R3 = np.array([[0.9, 0.3, 0.2],
               [0.8, 0.95, 0.5],
               [0.7, 0.9, 0.85]])


def test_forward_transfer_by_hand():
    # Lopez-Paz & Ranzato: mean over i = 1, 2 of R[i-1, i] - b[i]
    # = ((0.3 - 0.2) + (0.5 - 0.25)) / 2 = 0.175
    assert forward_transfer(R3, [0.1, 0.2, 0.25]) == pytest.approx(0.175)
    # negative when the untrained network does better: ((0.3 - 0.6) + (0.5 - 0.5)) / 2
    assert forward_transfer(R3, [0.0, 0.6, 0.5]) == pytest.approx(-0.15)
    assert forward_transfer([[0.7]], [0.1]) == 0.0


def test_learning_transfer_by_hand():
    # mean over i = 1, 2 of R[i, i] - s[i] = ((0.95 - 0.8) + (0.85 - 0.9)) / 2 = 0.05
    assert learning_transfer(R3, [0.9, 0.8, 0.9]) == pytest.approx(0.05)
    assert learning_transfer([[0.7]], [0.9]) == 0.0


def test_transfer_metrics_reject_bad_shapes():
    with pytest.raises(ValueError, match="baseline"):
        forward_transfer(R3, [0.1, 0.2])
    with pytest.raises(ValueError, match="R must be"):
        forward_transfer(np.zeros((2, 3)), [0.1, 0.2])
    with pytest.raises(ValueError, match="baseline"):
        learning_transfer(R3, np.zeros((3, 1)))


# --- rotated digits -------------------------------------------------------------------

def test_rotate_images_quarter_turns_by_hand():
    x = np.zeros((1, 64), np.float32)
    x[0, 0 * 8 + 7] = 1.0  # top-right corner
    # counter-clockwise quarter turn: top-right -> top-left -> bottom-left
    assert rotate_images(x, 90).reshape(8, 8)[0, 0] == pytest.approx(1.0)
    assert rotate_images(x, 180).reshape(8, 8)[7, 0] == pytest.approx(1.0)
    img = np.random.default_rng(0).random((3, 64))
    np.testing.assert_allclose(rotate_images(img, 0), img, atol=1e-12)
    # a quarter turn moves pixels onto pixels: np.rot90 is an independent implementation
    np.testing.assert_allclose(rotate_images(img, 90).reshape(3, 8, 8),
                               np.rot90(img.reshape(3, 8, 8), k=1, axes=(1, 2)), atol=1e-12)
    # half a pixel off-grid: bilinear is a weighted mean, so the centre mass is kept in [0, 1]
    r = rotate_images(img, 15)
    assert r.min() >= 0 and r.max() <= 1


def test_rotate_images_rejects_bad_shape():
    with pytest.raises(ValueError, match="x must have shape"):
        rotate_images(np.zeros((2, 63)), 10)


# --- the detector -----------------------------------------------------------------------

def test_surprise_scores_by_hand():
    # window 3 before step 3: [1, 2, 3], mean 2, population std sqrt(2/3)
    z = surprise_scores([1.0, 2.0, 3.0, 4.0], window=3, min_std=0.01)
    assert np.isnan(z[:3]).all()
    assert z[3] == pytest.approx(2.0 / math.sqrt(2.0 / 3.0))
    # a flat past: the floor min_std sets the scale, (3 - 1) / 0.05 = 40
    assert surprise_scores([1, 1, 1, 3], window=3, min_std=0.05)[3] == pytest.approx(40.0)


def _stream(switches, n_steps, seed):
    """Loss stream: each task's loss decays from 2.3 to 0.1 nats; Gaussian noise 0.05."""
    rng = np.random.default_rng(seed)
    starts = [0, *switches]
    k = np.arange(n_steps)
    since = k - np.array([max(s for s in starts if s <= i) for i in k])
    return 0.1 + 2.2 * np.exp(-since / 8.0) + 0.05 * np.abs(rng.standard_normal(n_steps))


def test_detect_changes_finds_known_switches():
    for seed in range(5):
        switches = [100, 230, 300, 420]
        det = detect_changes(_stream(switches, 500, seed), window=20, threshold=5.0)
        hit, false = hits_and_false_alarms(det, switches, tolerance=3)
        assert hit == 1.0 and false == 0, (seed, det)


def test_detect_changes_min_gap_by_hand():
    losses = np.r_[np.zeros(10), 5.0, 9.0, np.full(8, 9.0), 20.0]
    # z at step 10 is 5 / 0.05 = 100; step 11 is within min_gap = 5; step 20: the past
    # [5, 9, 9, ...] has mean 8.6, std 1.2 -> z = 9.5 > 5
    np.testing.assert_array_equal(detect_changes(losses, window=10, threshold=5.0,
                                                 min_gap=5), [10, 20])
    # with min_gap 11 the second detection is too close
    np.testing.assert_array_equal(detect_changes(losses, window=10, threshold=5.0,
                                                 min_gap=11), [10])


def test_online_detector_equals_batch_detector():
    rng = np.random.default_rng(3)
    for _ in range(5):
        losses = np.abs(rng.standard_normal(300)) * 0.2 + (rng.random(300) < 0.02) * 3
        online = ChangeDetector(window=15, threshold=4.0, min_std=0.05, min_gap=25)
        found = [k for k, v in enumerate(losses) if online.update(v)]
        np.testing.assert_array_equal(found, detect_changes(losses, 15, 4.0, 0.05, 25))


def test_hits_and_false_alarms_by_hand():
    # switches 10 and 50, tolerance 5: 12 hits the first, 30 is a false alarm, 57 misses
    assert hits_and_false_alarms([12, 30, 57], [10, 50], 5) == (0.5, 2)
    assert hits_and_false_alarms([], [10], 5) == (0.0, 0)


def test_detector_rejects_bad_parameters():
    with pytest.raises(ValueError, match="window"):
        detect_changes(np.zeros(10), window=1)
    with pytest.raises(ValueError, match="threshold"):
        detect_changes(np.zeros(10), threshold=0)
    with pytest.raises(ValueError, match="min_std"):
        surprise_scores(np.zeros(10), min_std=0)
    with pytest.raises(ValueError, match="tolerance"):
        hits_and_false_alarms([1], [1], -1)
    with pytest.raises(ValueError, match="boost"):
        SurpriseConfig(boost=0.5)


# --- context inference -----------------------------------------------------------------

def test_infer_context_by_hand():
    # sample 0: context 0 gives p = (1/2, 1/2), context 1 gives (e^5, 1)/(e^5 + 1) = 0.9933
    # sample 1: context 0 gives (e^2, 1)/(e^2 + 1) = 0.8808 against context 1's 1/2
    logits = np.array([[[0.0, 0.0], [2.0, 0.0]],
                       [[5.0, 0.0], [1.0, 1.0]]])
    ctx, conf = infer_context(logits)
    np.testing.assert_array_equal(ctx, [1, 0])
    np.testing.assert_allclose(conf, [math.exp(5) / (math.exp(5) + 1),
                                      math.exp(2) / (math.exp(2) + 1)])
    # inactive units (-inf) get probability 0: one active unit means probability 1
    masked = np.array([[[0.0, -np.inf]], [[3.0, 2.9]]])
    assert infer_context(masked)[0].tolist() == [0]
    with pytest.raises(ValueError, match="logits must have shape"):
        infer_context(np.zeros((2, 3)))


# --- the learner ------------------------------------------------------------------------

def test_surprise_learner_finds_task_switches_without_labels():
    # permuted digits: 1257 training images per task, batches of 32 -> 40 batches per
    # epoch; 2 epochs -> the true task changes every 80 steps
    stream = permuted_digits("domain", seed=0)
    run = run_surprise(stream, ContinualConfig(epochs=2), seed=0)
    np.testing.assert_array_equal(run.switches, [80, 160, 240, 320])
    hit, false = hits_and_false_alarms(run.detections, run.switches, tolerance=5)
    assert hit == 1.0 and false == 0, run.detections
    # each detection allocated a new context (no two permutations look alike), and the
    # learner changed context only at its detections
    assert run.n_contexts == 5
    changes = np.flatnonzero(np.diff(run.contexts)) + 1
    np.testing.assert_array_equal(changes, run.detections)
    assert run.R.shape == (5, 5) and np.all((run.R >= 0) & (run.R <= 1))
    # every test image got one of the contexts in use
    assert all(c.max() < run.n_contexts for c in run.test_contexts)


def test_forward_transfer_related_beats_unrelated():
    # Construction: rotated task i+1 is the same digits turned 15 degrees further, so a
    # network trained on task i already reads it far above chance (0.1); a fresh pixel
    # permutation leaves it near chance. One epoch per task is enough to see it.
    cfg = ContinualConfig(epochs=1)
    rot = transfer_run("rotated digits", "fine-tuning", 0, cfg)
    perm = transfer_run("permuted digits", "fine-tuning", 0, cfg)
    assert forward_transfer(rot["R"], rot["init"]) > 0.3
    assert abs(forward_transfer(perm["R"], perm["init"])) < 0.15
    with pytest.raises(ValueError, match="stream_name"):
        transfer_run("split digits")


def test_compare_task_free_rows():
    from neuroai_core.continual import compare_task_free

    # xdg needs the task label, so it is skipped outside task-IL: one row is left
    rows = compare_task_free(methods=("xdg", "fine-tuning"), scenarios=("domain",), seeds=(0,),
                             config=ContinualConfig(epochs=1))
    assert [(r["method"], r["scenario"], r["seed"]) for r in rows] == [("fine-tuning", "domain", 0)]
    assert np.array(rows[0]["R"]).shape == (5, 5)
    with pytest.raises(ValueError, match="stream"):
        compare_task_free(stream="rotated digits")


def test_predict_inferred_follows_infer_context():
    # predict_inferred writes the rule out; infer_context on the stacked logits is the
    # independent statement of it
    import torch

    from neuroai_core.continual import XdGMLP, predict_inferred
    from neuroai_core.continual.train import masked_logits

    net = XdGMLP(n_in=64, n_hidden=(30, 30), n_out=10, n_tasks=4, keep_fraction=0.5, seed=1)
    x = torch.rand(50, 64)
    active = torch.tensor([True] * 6 + [False] * 4)
    with torch.no_grad():
        logits = torch.stack([masked_logits(net(x, torch.full((50,), c)), active)
                              for c in range(3)])
    ctx_ref, _ = infer_context(logits.numpy())
    pred, ctx = predict_inferred(net, x, active, 3)
    np.testing.assert_array_equal(ctx, ctx_ref)
    np.testing.assert_array_equal(pred, logits[ctx_ref, np.arange(50)].argmax(dim=1).numpy())
    assert pred.max() < 6  # inactive units are never predicted


# --- the fixes and the controls (2026-12) ------------------------------------------------

def test_familiar_context_by_hand():
    # Two contexts in 1-D: N(0, 1) and N(3, 0.25). log-likelihoods up to the shared constant
    # -1/2 [(x - mu)^2 / v + log v]:
    #   x = 1.0: c0 -0.5 * 1 = -0.5;  c1 -0.5 * (4 / 0.25 + log 0.25) = -7.31  -> 0
    #   x = 2.6: c0 -0.5 * 6.76 = -3.38; c1 -0.5 * (0.16 / 0.25 + log 0.25) = 0.37 -> 1
    #   x = -9 : c0 -40.5; c1 -0.5 * (144 / 0.25 - 1.386) = -287.3                 -> 0
    from neuroai_core.continual.surprise import familiar_context

    ctx = familiar_context([[1.0], [2.6], [-9.0]], means=[[0.0], [3.0]], variances=[[1.0], [0.25]])
    np.testing.assert_array_equal(ctx, [0, 1, 0])
    # a broad context does not win just by being broad: the log-variance term
    ctx = familiar_context([[0.0]], means=[[0.0], [0.0]], variances=[[1.0], [100.0]])
    np.testing.assert_array_equal(ctx, [0])
    with pytest.raises(ValueError, match="variances must be positive"):
        familiar_context([[0.0]], [[0.0]], [[0.0]])
    with pytest.raises(ValueError, match="x must be"):
        familiar_context([[0.0, 1.0]], [[0.0]], [[1.0]])


def test_rescaled_gate_is_inverted_dropout():
    # Kept units are multiplied by 1 / keep_fraction (as inverted dropout, Srivastava et al.
    # 2014, so the next layer gets the same mean drive): computed here from the weights.
    import torch

    from neuroai_core.continual.surprise import _ContextMLP

    net = _ContextMLP(n_in=6, n_hidden=(8, 8), n_out=3, n_tasks=2, keep_fraction=0.25,
                      seed=3, rescale=True)
    x = torch.rand(5, 6)
    m = net.masks[1]  # (n_layers, width), 2 of 8 units kept per layer
    assert m.sum(dim=1).tolist() == [2.0, 2.0]
    with torch.no_grad():
        h = torch.relu(net.hidden[0](x)) * m[0] * 4.0
        h = torch.relu(net.hidden[1](h)) * m[1] * 4.0
        expected = net.head(h)
        np.testing.assert_allclose(net(x, torch.full((5,), 1)).numpy(), expected.numpy(),
                                   rtol=1e-6)


def test_learner_with_everything_off_is_fine_tuning():
    # With the gate, the anchor and the boost off and the true boundaries given, the
    # learner is fine-tuning: the same MLP, the same batches, a fresh Adam at each task.
    # In split class-IL fine-tuning trains the units of the classes seen so far, which is
    # head="seen"; head="all" (the old rule) trains the units of unseen classes too.
    from neuroai_core.continual import run_method, split_digits

    cfg = ContinualConfig(epochs=1)
    stream = split_digits("class", seed=0)
    off = SurpriseConfig(gate=False, ewc_lambda=0.0, boost_steps=0, oracle="boundaries")
    fine = run_method("fine-tuning", stream, cfg, seed=0).R
    np.testing.assert_allclose(run_surprise(stream, cfg, off, seed=0).R, fine)
    from dataclasses import replace

    old = run_surprise(stream, cfg, replace(off, head="all"), seed=0).R
    assert not np.allclose(old, fine)


def test_oracles_follow_the_truth():
    # oracle="boundaries": the detections are the true switches (by construction); with
    # oracle="label" on a recurring stream A B C A B every batch trains under its task's
    # identity, so the context of each segment is 0 1 2 0 1.
    from neuroai_core.continual.surprise import recurring_stream

    cfg = ContinualConfig(epochs=1)
    base = permuted_digits("domain", seed=0)
    run = run_surprise(base, cfg, SurpriseConfig(oracle="boundaries"), seed=0)
    np.testing.assert_array_equal(run.detections, run.switches)
    stream = recurring_stream(base, (0, 1, 2, 0, 1))
    assert [t.task_id for t in stream.tasks] == [0, 1, 2, 0, 1]
    run = run_surprise(stream, cfg, SurpriseConfig(oracle="label"), seed=0)
    cuts = [0, *run.switches.tolist(), len(run.contexts)]
    segs = [set(run.contexts[a:b].tolist()) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    assert segs == [{0}, {1}, {2}, {0}, {1}]
    np.testing.assert_array_equal(np.diag(run.R_given) >= 0, True)
    with pytest.raises(ValueError, match="scenario must be 'domain'"):
        recurring_stream(permuted_digits("class", seed=0), (0, 1))
    with pytest.raises(ValueError, match="order"):
        recurring_stream(base, (0, 7))


def test_surprise_config_validates_new_switches():
    for kw, name in ((dict(head="some"), "head"), (dict(oracle="yes"), "oracle"),
                     (dict(test_rule="vote"), "test_rule"), (dict(var_floor=0.0), "var_floor")):
        with pytest.raises(ValueError, match=name):
            SurpriseConfig(**kw)


def test_familiarity_statistics_are_each_tasks_input_statistics():
    # On split digits the learner detects every switch at the switch step (the detection
    # batch is trained under the new context), and each epoch visits every training image
    # once, so the inputs trained under context c are task c's training images, each seen
    # `epochs` times: their mean and (floored) variance are those of task c's x_train,
    # computed here from the data directly. The test images are then routed as
    # familiar_context says on those statistics.
    import torch

    from neuroai_core.continual import familiar_context, split_digits

    stream = split_digits("class", seed=1)
    sc = SurpriseConfig(var_floor=0.01)
    run = run_surprise(stream, ContinualConfig(epochs=4), sc, seed=1)
    np.testing.assert_array_equal(run.detections, run.switches)
    for c, task in enumerate(stream.tasks):
        x = task.x_train.double()
        np.testing.assert_allclose(run.context_means[c].numpy(), x.mean(0).numpy(), atol=1e-5)
        np.testing.assert_allclose(run.context_variances[c].numpy(),
                                   x.var(0, unbiased=False).numpy() + 0.01, atol=1e-5)
    for task, ctx in zip(stream.tasks, run.test_contexts, strict=True):
        mine = familiar_context(task.x_test, torch.stack([t.x_train.double().mean(0)
                                                          for t in stream.tasks]),
                                torch.stack([t.x_train.double().var(0, unbiased=False) + 0.01
                                             for t in stream.tasks]))
        np.testing.assert_array_equal(ctx, mine)
