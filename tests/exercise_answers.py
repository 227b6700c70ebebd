"""Alternative correct answers to every exercise of the tutorials.

Each function below answers one exercise correctly but is written differently from the
solution in the tutorial's source (another loop order, another formula, another order of
random draws, another library routine), so that ``tests/test_exercise_answers.py`` can show
that the tests accept any correct answer, not just the one the author wrote. None of them
calls the library function its exercise re-implements.
"""

from __future__ import annotations

import math

import numpy as np
import torch

# M1T1_LIF ----------------------------------------------------------------------------


def m1t1_euler_step(v_mV, i_nA, params):
    # Written as a relaxation towards the steady state V_inf = E_L + R I.
    v_inf = params.e_leak_mV + params.r_m_MOhm * np.asarray(i_nA, dtype=float)
    return v_mV + (v_inf - v_mV) * (params.dt_ms / params.tau_m_ms)


def m1t1_simulate_euler(i_nA, params):
    # Refractoriness counted as the time of the last spike, not as a countdown.
    n = len(i_nA)
    v = np.empty(n)
    last_spike_step = -(10**9)
    n_ref = int(round(params.t_ref_ms / params.dt_ms))
    spikes = []
    v_now = params.e_leak_mV
    for k in range(n):
        if k - last_spike_step <= n_ref:
            v_now = params.v_reset_mV
        else:
            v_now = v_now + params.dt_ms / params.tau_m_ms * (
                params.e_leak_mV - v_now + params.r_m_MOhm * i_nA[k])
            if v_now >= params.v_threshold_mV:
                spikes.append(params.dt_ms * (k + 1))
                v_now = params.v_reset_mV
                last_spike_step = k
        v[k] = v_now
    return v, np.asarray(spikes, dtype=float)


def m1t1_fi_rate(i_nA, params):
    # One current at a time, with the time to threshold written as -tau ln(1 - gap / drive).
    out = []
    for i in np.atleast_1d(i_nA):
        ri = params.r_m_MOhm * float(i)
        gap_threshold = params.v_threshold_mV - params.e_leak_mV
        if ri <= gap_threshold:
            out.append(0.0)
            continue
        start = params.v_reset_mV - params.e_leak_mV
        t_ms = params.tau_m_ms * (math.log(ri - start) - math.log(ri - gap_threshold))
        out.append(1.0 / ((params.t_ref_ms + t_ms) / 1000.0))
    return np.array(out)


# M1T2_Diversity ----------------------------------------------------------------------


def m1t2_izh_euler_step(v_mV, u, i, params):
    v_mV, u = np.asarray(v_mV, dtype=float), np.asarray(u, dtype=float)
    v_next = v_mV + params.dt_ms * (v_mV * (0.04 * v_mV + 5.0) + 140.0 - u + i)
    u_next = (1.0 - params.dt_ms * params.a) * u + params.dt_ms * params.a * params.b * v_mV
    spiked = v_next >= 30.0
    v_next = v_next.copy()
    u_next = u_next.copy()
    v_next[spiked] = params.c
    u_next[spiked] += params.d
    return v_next, u_next, spiked


def m1t2_classify_isi(isi_ms, burst_ratio=3.0, fast_isi_ms=10.0):
    s = sorted(float(x) for x in isi_ms)
    if len(s) < 2:
        return "silent"
    # Ratios of neighbours; a jump after at least two intervals (index >= 2 in s).
    jumps = [s[k] / s[k - 1] for k in range(2, len(s))]
    if any(r > burst_ratio for r in jumps):
        return "bursting"
    return "fast" if float(np.median(s)) < fast_isi_ms else "regular"


def m1t2_decoding_r2(features, target, n_train, ridge=1.0):
    x = np.c_[np.asarray(features, dtype=float), np.ones(len(features))]
    y = np.asarray(target, dtype=float)
    # Ridge through an augmented least-squares problem: [A; sqrt(ridge) I] w = [y; 0].
    a_aug = np.vstack([x[:n_train], math.sqrt(ridge) * np.eye(x.shape[1])])
    y_aug = np.r_[y[:n_train], np.zeros(x.shape[1])]
    w = np.linalg.lstsq(a_aug, y_aug, rcond=None)[0]
    resid = y[n_train:] - x[n_train:] @ w
    return 1.0 - np.mean(resid**2) / np.var(y[n_train:])


# M1T3_SpikesEnergy -------------------------------------------------------------------


def m1t3_poisson_spikes(rates_hz, t_ms, dt_ms, seed=None):
    # Draws (n_neurons, n_steps) and transposes: another order of random numbers.
    rates_hz = np.asarray(rates_hz, dtype=float)
    p = rates_hz * dt_ms / 1000.0
    if (p > 1.0).any():
        raise ValueError(f"rates_hz too high for dt_ms={dt_ms}: rates_hz * dt_ms / 1000 = "
                         f"{p.max():g} > 1")
    gen = np.random.default_rng(seed)
    n_steps = int(round(t_ms / dt_ms))
    return (gen.random((len(rates_hz), n_steps)) < p[:, None]).T


def m1t3_windowed_rates(spikes, dt_ms, window_ms):
    steps = int(round(window_ms / dt_ms))
    n_windows = len(spikes) // steps
    counts = np.add.reduceat(np.asarray(spikes[: n_windows * steps], dtype=float),
                             np.arange(0, n_windows * steps, steps), axis=0)
    return counts * 1000.0 / window_ms


def m1t3_synaptic_ops(spikes, fan_out):
    # Operations step by step (spikes @ fan-out), then summed over steps.
    fan = np.broadcast_to(np.asarray(fan_out, dtype=np.int64), (np.shape(spikes)[1],))
    return int((np.asarray(spikes, dtype=np.int64) @ fan).sum())


def m1t3_dense_macs(n_inputs, n_outputs, n_steps=1):
    return sum(n_inputs * n_outputs for _ in range(n_steps))


# M2T1_HebbOja ------------------------------------------------------------------------


def m2t1_oja_step(w, x, eta):
    y = float(np.sum(np.asarray(w) * np.asarray(x)))
    return (1.0 - eta * y * y) * np.asarray(w, dtype=float) + eta * y * np.asarray(x)


def m2t1_stdp_window_fn(dt_ms, params):
    dt = np.asarray(dt_ms, dtype=float)
    out = np.zeros_like(dt)
    pos, neg = dt > 0, dt < 0
    out[pos] = params.a_plus * np.exp(-dt[pos] / params.tau_plus_ms)
    out[neg] = -params.a_minus * np.exp(dt[neg] / params.tau_minus_ms)
    return out


def m2t1_pairwise_dw(pre_times_ms, post_times_ms, params):
    total = 0.0
    for t_pre in pre_times_ms:
        for t_post in post_times_ms:
            d = t_post - t_pre
            if d > 0:
                total += params.a_plus * math.exp(-d / params.tau_plus_ms)
            elif d < 0:
                total -= params.a_minus * math.exp(d / params.tau_minus_ms)
    return total


# M2T2_Dopamine -----------------------------------------------------------------------


def m2t2_my_td_errors(values, rewards, gamma):
    v = np.asarray(values, dtype=float)
    out = np.empty(len(v))
    previous = 0.0
    for t in range(len(v)):
        out[t] = rewards[t] + gamma * v[t] - previous
        previous = v[t]
    return out


def m2t2_my_td_trial(values, rewards, params):
    v = np.asarray(values, dtype=float)
    v_prev = np.r_[0.0, v[:-1]]
    deltas = np.asarray(rewards, dtype=float) + params.gamma * v - v_prev
    new = v.copy()
    idx = np.arange(params.cue_step, len(v) - 1)
    new[idx] = v[idx] + params.alpha * deltas[idx + 1]
    return deltas, new


def m2t2_expected_responses(p, reward, delay_steps, gamma):
    value = p * reward
    return np.array([value * gamma**delay_steps, reward - value, 0.0 - value])


# M2T3_ThreeFactor --------------------------------------------------------------------


def m2t3_eligibility_step(e, hebb, tau_e_ms, dt_ms):
    decay = math.exp(-dt_ms / tau_e_ms)
    return decay * np.asarray(e, dtype=float) + (1.0 - decay) * np.asarray(hebb, dtype=float)


def m2t3_delayed_reward_change(c0, d, tau_c_ms, tau_d_ms, delay_ms, eta=1.0):
    rate = 1.0 / tau_c_ms + 1.0 / tau_d_ms
    return eta * c0 * d * math.exp(-delay_ms / tau_c_ms) / rate


def m2t3_simulate_weight_change(c0, d, tau_c_ms, tau_d_ms, delay_ms, eta, dt_ms, t_max_ms):
    # Closed-form values of tag and dopamine at each step, summed as a rectangle rule.
    n = int(round(t_max_ms / dt_ms))
    k = np.arange(n)
    arrival = int(round(delay_ms / dt_ms))
    tag = c0 * np.exp(-k * dt_ms / tau_c_ms)
    dop = np.where(k >= arrival, d * np.exp(-(k - arrival) * dt_ms / tau_d_ms), 0.0)
    return float(eta * dt_ms * np.sum(tag * dop))


# M2T4_BeyondBackprop -----------------------------------------------------------------


def m2t4_gradient_cosine(a, b):
    # Sums of products accumulated part by part, no concatenation; angle via torch.
    parts_a = list(a) if isinstance(a, (tuple, list)) else [a]
    parts_b = list(b) if isinstance(b, (tuple, list)) else [b]
    flat_a = torch.cat([torch.as_tensor(np.asarray(p, dtype=float)).reshape(-1) for p in parts_a])
    flat_b = torch.cat([torch.as_tensor(np.asarray(p, dtype=float)).reshape(-1) for p in parts_b])
    dot = float(torch.sum(flat_a * flat_b))
    na, nb = math.sqrt(float(torch.sum(flat_a**2))), math.sqrt(float(torch.sum(flat_b**2)))
    return dot / (na * nb) if na > 0 and nb > 0 else 0.0


def m2t4_node_perturbation_update(pre, noise, reward, baseline, sigma):
    # One example at a time: modulator times outer product, then the average.
    pre, noise = np.asarray(pre, dtype=float), np.asarray(noise, dtype=float)
    total = np.zeros((noise.shape[1], pre.shape[1]))
    for n in range(pre.shape[0]):
        m = float(np.asarray(reward)[n]) - float(np.asarray(baseline)[n])
        total += m * np.outer(noise[n], pre[n])
    return total / (pre.shape[0] * sigma * sigma)


def m2t4_fa_grads(weights, x, target, feedback):
    # With einsum, and the tanh slope written as 1 / cosh^2.
    w1, w2 = weights
    a = np.einsum("hi,bi->bh", w1, x)
    h = np.tanh(a)
    err = np.einsum("oh,bh->bo", w2, h) - target
    hidden = np.einsum("bo,oh->bh", err, feedback) / np.cosh(a) ** 2
    return (np.einsum("bh,bi->hi", hidden, x) / len(x),
            np.einsum("bo,bh->oh", err, h) / len(x))


# M3T1_FourModulators -----------------------------------------------------------------


def m3t1_softmax_policy(q, beta):
    z = beta * np.asarray(q, dtype=float)
    log_norm = np.logaddexp.reduce(z, axis=-1, keepdims=True)
    return np.exp(z - log_norm)


def m3t1_value_update(q, action, reward, alpha, dopamine=1.0):
    q = np.asarray(q, dtype=float)
    onehot = np.arange(len(q)) == action
    return q + onehot * (alpha * dopamine * (reward - q[action]))


def m3t1_uncertainty_step(surprise, expected, delta, alpha_min, alpha_max, eta_fast=0.3,
                          eta_slow=0.02):
    size = math.fabs(delta)
    surprise = (1.0 - eta_fast) * surprise + eta_fast * size
    expected = (1.0 - eta_slow) * expected + eta_slow * size
    excess = max(0.0, 1.0 - expected / surprise) if surprise > 0 else 0.0
    return surprise, expected, alpha_max * excess + alpha_min * (1.0 - excess)


# M3T2_ModulatedPlasticity ------------------------------------------------------------


def m3t2_gain_modulated_forward(x, weight, gain, bias, activation=torch.tanh):
    return activation(torch.einsum("bi,oi->bo", x, weight) * gain + bias)


def m3t2_context_gains(z, context):
    h = torch.tanh(torch.nn.functional.linear(z, context.a_weight, context.a_bias))
    gain = torch.nn.functional.linear(h, context.g_weight) + 1.0
    bias = torch.nn.functional.linear(h, context.b_weight, context.b_bias)
    return gain, bias


def m3t2_hebbian_update(hebb, pre, post, m, clip=1.0):
    outer = torch.einsum("bi,bj->bij", pre, post)
    return (hebb + m.view(-1, 1, 1) * outer).clamp(min=-clip, max=clip)


# M4T1_Forgetting ---------------------------------------------------------------------


def m4t1_output_mask(scenario, task_id, classes_per_task, n_tasks):
    if scenario not in ("task", "domain", "class"):
        raise ValueError(f"scenario must be 'task', 'domain' or 'class', got {scenario!r}")
    if scenario == "domain":
        return np.full(classes_per_task, True)
    mask = np.zeros(classes_per_task * n_tasks, dtype=bool)
    start = 0 if scenario == "class" else task_id * classes_per_task
    mask[start:(task_id + 1) * classes_per_task] = True
    return mask


def m4t1_backward_transfer(R):
    R = np.asarray(R, dtype=float)
    T = len(R)
    return sum(R[T - 1, j] - R[j, j] for j in range(T - 1)) / (T - 1) if T > 1 else 0.0


def m4t1_forgetting(R):
    R = np.asarray(R, dtype=float)
    T = len(R)
    if T < 2:
        return 0.0
    masked = np.where(np.tril(np.ones((T, T), dtype=bool)), R, -np.inf)[:-1, :-1]
    return float(np.mean(masked.max(axis=0) - R[-1, :-1]))


# M4T2_EWC_SI -------------------------------------------------------------------------


def m4t2_diagonal_fisher(model, x, task_ids, active, chunk_size=128):
    # Per-sample gradients with torch.func, all labels at once, weighted by p(y|x).
    from torch.func import functional_call, jacrev, vmap

    params = {n: p.detach() for n, p in model.named_parameters()}
    units = torch.nonzero(active).flatten()

    def log_probs(p, xi, ti):
        logits = functional_call(model, p, (xi[None], ti[None]))[0]
        return torch.log_softmax(logits.index_select(0, units), dim=0)

    jac = vmap(jacrev(log_probs), in_dims=(None, 0, 0))(params, x, task_ids)
    probs = vmap(lambda xi, ti: log_probs(params, xi, ti).exp())(x, task_ids)  # (N, K)
    out = {}
    for name, g in jac.items():  # g: (N, K, *shape)
        w = probs.reshape(probs.shape + (1,) * (g.dim() - 2))
        out[name] = (w * g**2).sum(dim=(0, 1)) / len(x)
    return out


def m4t2_quadratic_penalty(model, importance, anchor):
    terms = [torch.sum(importance[n] * torch.square(p - anchor[n]))
             for n, p in model.named_parameters() if n in importance]
    return torch.stack(terms).sum() if terms else torch.zeros(())


def m4t2_path_integral_step(w, grad, theta_before, theta_after):
    return w + grad * (theta_before - theta_after)


def m4t2_si_importance(path_integral, delta, xi=0.1):
    return path_integral * torch.reciprocal(delta * delta + xi)


# M4T3_ReplayGating -------------------------------------------------------------------


def m4t3_class_balanced_keep(labels, task_ids, budget, rng):
    # Shuffles each over-full class with a permutation (another order of draws).
    labels, task_ids = np.asarray(labels), np.asarray(task_ids)
    keys = np.stack([task_ids, labels], axis=1)
    classes = np.unique(keys, axis=0)  # sorted by task id, then label
    per_class = budget // len(classes)
    kept = []
    for task_id, label in classes:
        members = np.where((task_ids == task_id) & (labels == label))[0]
        if len(members) > per_class:
            members = np.sort(members[rng.permutation(len(members))[:per_class]])
        kept.append(members)
    return np.concatenate(kept).astype(np.int64)


def m4t3_xdg_masks(n_tasks, n_hidden, keep_fraction=0.2, seed=0):
    # Ranks of uniform random numbers, drawn for all tasks and layers at once.
    if not (keep_fraction > 0 and keep_fraction <= 1):
        raise ValueError(f"keep_fraction must be in (0, 1], got {keep_fraction}")
    width = n_hidden[0]
    n_keep = max(1, round(keep_fraction * width))
    u = np.random.default_rng(seed).random((n_tasks, len(n_hidden), width))
    ranks = np.argsort(np.argsort(u, axis=-1), axis=-1)
    return torch.tensor(ranks < n_keep, dtype=torch.float32)


def m4t3_gated_forward(x, weights, biases, gates):
    h = x
    n_hidden = len(weights) - 1
    for k in range(n_hidden):
        h = torch.nn.functional.linear(h, weights[k], biases[k]).clamp(min=0)
        h = h if gates is None else gates[k] * h
    return torch.nn.functional.linear(h, weights[n_hidden], biases[n_hidden])


# M5T1_Decoding -----------------------------------------------------------------------


def m5t1_cross_validated_accuracy(fit_predict, X, y, k=5, seed=0):
    from neuroai_core.analysis import standardize, stratified_folds

    X, y = np.asarray(X, dtype=float), np.asarray(y)
    out = np.zeros(k)
    for f, test in enumerate(stratified_folds(y, k, seed)):
        is_train = np.ones(len(y), dtype=bool)
        is_train[test] = False
        x_train, x_test = standardize(X[is_train], X[test])
        out[f] = np.count_nonzero(np.asarray(fit_predict(x_train, y[is_train], x_test))
                                  == y[test]) / len(test)
    return out


def m5t1_correlation_rdm(responses):
    r = np.asarray(responses, dtype=float)
    n = len(r)
    d = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            d[i, j] = d[j, i] = 1.0 - np.corrcoef(r[i], r[j])[0, 1]
    return d


def m5t1_compare_rdms_spearman(a, b):
    n = len(a)
    i, j = np.triu_indices(n, k=1)

    def ranks(v):  # average ranks, ties shared
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(1, len(v) + 1)
        for value in np.unique(v):
            tie = v == value
            r[tie] = r[tie].mean()
        return r

    ra, rb = ranks(np.asarray(a, dtype=float)[i, j]), ranks(np.asarray(b, dtype=float)[i, j])
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float(ra @ rb / math.sqrt((ra @ ra) * (rb @ rb)))


# M5T2_Project ------------------------------------------------------------------------


def m5t2_run_baseline(method, scenario, seeds, epochs):
    from neuroai_core.analysis import continual_baseline

    runs = [continual_baseline("split digits", scenario, method, seed=s, epochs=epochs)
            for s in seeds]
    return np.array([(r.average_accuracy, r.forgetting) for r in runs]).reshape(len(seeds), 2)


def m5t2_paired_comparison(mechanism, baseline):
    d = [m - b for m, b in zip(mechanism, baseline, strict=True)]
    n = len(d)
    mean = sum(d) / n
    se = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1) / n)
    return mean, se, mean / se


# M3T3_SerotoninHistamine ---------------------------------------------------------------


def m3t3_wait_or_take(r_now, r_late, delay_steps, horizon_steps):
    # gamma written as (H - 1) / H, broadcast first
    d, h = np.broadcast_arrays(np.asarray(delay_steps, dtype=float),
                               np.asarray(horizon_steps, dtype=float))
    if (h < 1).any():
        raise ValueError(f"horizon_steps must be at least 1, got {horizon_steps!r}")
    value = np.power((h - 1.0) / h, d) * r_late
    return value, value > r_now


def m3t3_reward_belief(t_s, prior, delays_s, delay_probs):
    # count, for each time, the odds of "still to come" against "never scheduled"
    out = []
    for t in np.asarray(t_s, dtype=float):
        ahead = sum(w for d, w in zip(delays_s, delay_probs, strict=True) if d > t)
        odds = prior * ahead / (1.0 - prior)
        out.append(odds / (1.0 + odds))
    return np.array(out)


def m3t3_arousal_accuracy(gain, shift_nA, base_nA=1.2, signal_nA=0.015, n_neurons=100,
                          window_ms=100.0, r_max_hz=100.0, half_nA=1.5, slope_nA=0.2):
    # the two groups' expected counts first, the normal distribution through erfc
    counts = []
    for sign in (1.0, -1.0):
        x = (gain * (base_nA + sign * signal_nA) + shift_nA - half_nA) / slope_nA
        rate = r_max_hz * 0.5 * (1.0 + math.tanh(x / 2.0))  # the logistic, written as tanh
        counts.append(rate * (n_neurons // 2) * window_ms * 1e-3)
    total = counts[0] + counts[1]
    if total == 0:
        return 0.5, 0.0
    z = (counts[0] - counts[1]) / math.sqrt(total)
    return 1.0 - 0.5 * math.erfc(z / math.sqrt(2.0)), total


# M4T4_SurpriseGating -------------------------------------------------------------------


def m4t4_detect_changes(losses, window=20, threshold=5.0, min_std=0.05, min_gap=20):
    x = np.asarray(losses, dtype=float)
    if len(x) <= window:
        return np.zeros(0, dtype=np.int64)
    past = np.lib.stride_tricks.sliding_window_view(x[:-1], window)
    z = (x[window:] - past.mean(axis=1)) / np.maximum(past.std(axis=1), min_std)
    out, last = [], None
    for k in np.flatnonzero(z > threshold) + window:
        if last is None or k - last >= min_gap:
            out.append(int(k))
            last = k
    return np.array(out, dtype=np.int64)


def m4t4_infer_context(logits):
    z = torch.as_tensor(np.asarray(logits, dtype=float))
    conf = torch.softmax(z, dim=2).amax(dim=2)
    best, ctx = conf.max(dim=0)
    return ctx.numpy().astype(np.int64), best.numpy()


def m4t4_forward_transfer(R, baseline):
    R = np.asarray(R, dtype=float)
    b = np.asarray(baseline, dtype=float)
    if b.shape != (R.shape[0],):
        raise ValueError(f"baseline must have shape ({R.shape[0]},), got {b.shape}")
    if len(b) == 1:
        return 0.0
    return float((np.diagonal(R, offset=1) - b[1:]).mean())


# M4T5_LearningToModulate -------------------------------------------------------------


def m4t5_gated_features(x, rep, mod):
    # einsum and the logistic function written out.
    W, b = rep
    h = torch.clamp(torch.einsum("hi,bi->bh", W, x) + b, min=0.0)
    if mod is None:
        return h
    M1, c1, M2, c2 = mod
    a = torch.clamp(torch.einsum("mi,bi->bm", M1, x) + c1, min=0.0)
    return h / (1.0 + torch.exp(-(torch.einsum("hm,bm->bh", M2, a) + c2)))


def m4t5_readout_sgd_step(V, z, y, lr):
    # The step written as an increase along (e_y - p), with a one-hot from torch.
    p = torch.exp(torch.log_softmax(torch.mv(V, z), dim=0))
    target = torch.nn.functional.one_hot(torch.tensor(int(y)), V.shape[0]).to(V.dtype)
    return V + lr * (target - p)[:, None] * z[None, :]


def m4t5_sequence_meta_loss(features, x_train, y_train, x_query, y_query, lr, n_classes):
    # Inlined steps (no call of the readout step) and the loss from log_softmax and gather.
    z = features(x_train)
    V = z.new_zeros((n_classes, z.shape[1]))
    for z_k, y_k in zip(z, torch.as_tensor(y_train).tolist(), strict=True):
        p = torch.softmax(V @ z_k, dim=0)
        V = V + lr * torch.outer(torch.eye(n_classes, dtype=z.dtype)[y_k] - p, z_k)
    logp = torch.log_softmax(features(x_query) @ V.T, dim=1)
    yq = torch.as_tensor(y_query, dtype=torch.int64)
    return -logp.gather(1, yq[:, None]).mean()


ANSWERS = {
    "M1T1_LIF": {"euler_step": m1t1_euler_step, "simulate_euler": m1t1_simulate_euler,
                 "fi_rate": m1t1_fi_rate},
    "M1T2_Diversity": {"izh_euler_step": m1t2_izh_euler_step,
                       "classify_isi": m1t2_classify_isi, "decoding_r2": m1t2_decoding_r2},
    "M1T3_SpikesEnergy": {"poisson_spikes": m1t3_poisson_spikes,
                          "windowed_rates": m1t3_windowed_rates,
                          "synaptic_ops": m1t3_synaptic_ops, "dense_macs": m1t3_dense_macs},
    "M2T1_HebbOja": {"oja_step": m2t1_oja_step, "stdp_window_fn": m2t1_stdp_window_fn,
                     "pairwise_dw": m2t1_pairwise_dw},
    "M2T2_Dopamine": {"my_td_errors": m2t2_my_td_errors, "my_td_trial": m2t2_my_td_trial,
                      "expected_responses": m2t2_expected_responses},
    "M2T3_ThreeFactor": {"eligibility_step": m2t3_eligibility_step,
                         "delayed_reward_change": m2t3_delayed_reward_change,
                         "simulate_weight_change": m2t3_simulate_weight_change},
    "M2T4_BeyondBackprop": {"gradient_cosine": m2t4_gradient_cosine,
                            "node_perturbation_update": m2t4_node_perturbation_update,
                            "fa_grads": m2t4_fa_grads},
    "M3T1_FourModulators": {"softmax_policy": m3t1_softmax_policy,
                            "value_update": m3t1_value_update,
                            "uncertainty_step": m3t1_uncertainty_step},
    "M3T2_ModulatedPlasticity": {"gain_modulated_forward": m3t2_gain_modulated_forward,
                                 "context_gains": m3t2_context_gains,
                                 "hebbian_update": m3t2_hebbian_update},
    "M3T3_SerotoninHistamine": {"wait_or_take": m3t3_wait_or_take,
                                "reward_belief": m3t3_reward_belief,
                                "arousal_accuracy": m3t3_arousal_accuracy},
    "M4T1_Forgetting": {"output_mask": m4t1_output_mask,
                        "backward_transfer": m4t1_backward_transfer,
                        "forgetting": m4t1_forgetting},
    "M4T2_EWC_SI": {"diagonal_fisher": m4t2_diagonal_fisher,
                    "quadratic_penalty": m4t2_quadratic_penalty,
                    "path_integral_step": m4t2_path_integral_step,
                    "si_importance": m4t2_si_importance},
    "M4T3_ReplayGating": {"class_balanced_keep": m4t3_class_balanced_keep,
                          "xdg_masks": m4t3_xdg_masks, "gated_forward": m4t3_gated_forward},
    "M4T4_SurpriseGating": {"detect_changes": m4t4_detect_changes,
                            "infer_context": m4t4_infer_context,
                            "forward_transfer": m4t4_forward_transfer},
    "M4T5_LearningToModulate": {"gated_features": m4t5_gated_features,
                                "readout_sgd_step": m4t5_readout_sgd_step,
                                "sequence_meta_loss": m4t5_sequence_meta_loss},
    "M5T1_Decoding": {"cross_validated_accuracy": m5t1_cross_validated_accuracy,
                      "correlation_rdm": m5t1_correlation_rdm,
                      "compare_rdms_spearman": m5t1_compare_rdms_spearman},
    "M5T2_Project": {"run_baseline": m5t2_run_baseline,
                     "paired_comparison": m5t2_paired_comparison},
}
