"""Regenerate the numbers and figures of "What copying biology does not buy" (book/limits.md)
and the precomputed tables of M4T4, from the library alone.

    python book/limits_figures.py                       # every part, 5 seeds, in this process
    python book/limits_figures.py --part split          # one part (split, permuted or
                                                        #   permuted-{class,domain,task},
                                                        #   recurring, transfer, bandit, spikes)
    python book/limits_figures.py --merge               # parts -> results.json, figures, tables
    python book/limits_figures.py --replot              # figures and tables from results.json
    python book/limits_figures.py --quick               # 1 seed, fewer worlds: a smoke test

Each part writes ``book/_static/limits/part-<name>.json`` (every run: method, scenario,
seed, accuracy matrices, CPU seconds); ``--merge`` joins them into ``results.json`` and
draws the figures ``book/_static/limits/*.png``; the tables are printed in markdown,
mean ± standard error over seeds (ddof = 1). Parts can run in separate processes
(one per core).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from neuroai_core import energy  # noqa: E402
from neuroai_core.continual import (  # noqa: E402
    ContinualConfig,
    SurpriseConfig,
    average_accuracy,
    forward_transfer,
    run_method,
    run_surprise,
    transfer_run,
)
from neuroai_core.continual.compare import STREAMS as STREAMS_BY_NAME  # noqa: E402
from neuroai_core.continual.surprise import SURPRISE_V1, recurring_stream  # noqa: E402
from neuroai_core.neuromodulation import (  # noqa: E402
    Neuromodulators,
    SoftmaxAgent,
    SurpriseLearner,
    run_bandit,
    volatile_bandit,
)
from neuroai_core.neuromodulation.bandits import Bandit  # noqa: E402

OUT = Path(__file__).resolve().parent / "_static" / "limits"
#: Epochs per task: split digits has ~250 training images per task, permuted and rotated
#: digits ~1257, so 10 and 2 epochs give about the same number of steps (80) per task.
EPOCHS = {"split digits": 10, "permuted digits": 2, "rotated digits": 2}
SCENARIOS = ("task", "domain", "class")
#: Labelled baselines (run_method); xdg (20 % of units per task) in task-IL only.
BASELINES = ("fine-tuning", "replay", "xdg", "modulated")
FULL = SurpriseConfig()
#: The surprise learner and its controls: name -> (config, what it tests).
VARIANTS = {
    "surprise": (FULL, "the learner: no label, no boundary"),
    "no gate": (replace(FULL, gate=False), "ablation: one network, no context gates"),
    "no consolidation": (replace(FULL, ewc_lambda=0.0), "ablation: no EWC anchor"),
    "no boost": (replace(FULL, boost=1.0), "ablation: no learning-rate boost"),
    "oracle boundaries": (replace(FULL, oracle="boundaries"),
                          "the true switches replace the detector"),
    "oracle label": (replace(FULL, oracle="label"),
                     "switches and task identity given, at test too"),
    "xdg p=0.5 (label)": (replace(FULL, oracle="label", ewc_lambda=0.0, boost=1.0),
                          "labelled XdG at the learner's keep fraction, no EWC, no boost"),
    "v1 (before fixes)": (SURPRISE_V1, "unscaled gates, all output units, confidence rule"),
    "v1 + rescaled gates": (replace(SURPRISE_V1, rescale_gate=True),
                            "first-task deficit, cause 1"),
    "v1 + rescaled + seen head": (replace(SURPRISE_V1, rescale_gate=True, head="seen"),
                                  "first-task deficit, causes 1 and 2"),
}


def _cpu() -> float:
    return time.process_time()


def continual(stream: str, seeds, scenarios=SCENARIOS) -> list[dict]:
    """Every baseline and every surprise variant, in every scenario, on one stream."""
    cfg = ContinualConfig(epochs=EPOCHS[stream])
    rows = []
    for scenario in scenarios:
        for seed in seeds:
            s = STREAMS_BY_NAME[stream](scenario=scenario, seed=seed)
            for method in BASELINES:
                if method == "xdg" and scenario != "task":
                    continue
                c0 = _cpu()
                res = run_method(method, s, cfg, seed)
                rows.append(dict(stream=stream, scenario=scenario, method=method, seed=seed,
                                 R=res.R.tolist(), cpu=_cpu() - c0))
            for name, (sc, _) in VARIANTS.items():
                if name.startswith("v1 +") and stream != "permuted digits":
                    continue  # the first-task deficit is a permuted-digits finding
                c0 = _cpu()
                res = run_surprise(s, cfg, sc, seed)
                rows.append(dict(stream=stream, scenario=scenario, method=name, seed=seed,
                                 R=res.R.tolist(), R_given=res.R_given.tolist(),
                                 R_confidence=res.R_confidence.tolist(),
                                 detections=res.detections.tolist(),
                                 switches=res.switches.tolist(),
                                 n_contexts=res.n_contexts, cpu=_cpu() - c0))
            print(f"  {stream} {scenario} seed {seed} cpu {_cpu():.0f} s", flush=True)
    return rows


RECURRING_ORDER = (0, 1, 2, 0, 1)


def recurring(seeds) -> list[dict]:
    """Tasks that come back (A B C A B), domain-IL: does the learner reuse its context?"""
    rows = []
    for stream in ("split digits", "permuted digits"):
        cfg = ContinualConfig(epochs=EPOCHS[stream])
        for seed in seeds:
            s = recurring_stream(STREAMS_BY_NAME[stream](scenario="domain", seed=seed),
                                 RECURRING_ORDER)
            for method in ("fine-tuning", "replay"):
                rows.append(dict(stream=stream, method=method, seed=seed,
                                 R=run_method(method, s, cfg, seed).R.tolist()))
            for name in ("surprise", "oracle label"):
                res = run_surprise(s, cfg, VARIANTS[name][0], seed)
                # the context each task's segment was trained under (its majority); every
                # batch is scored once and trained once, so the switches cut both streams
                cuts = [0, *res.switches.tolist(), len(res.contexts)]
                seg_ctx = [int(np.bincount(np.asarray(res.contexts)[a:b]).argmax())
                           for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
                losses, sw = res.losses, res.switches.tolist()
                after = [float(np.mean(losses[s0:s0 + 10])) for s0 in sw]
                rows.append(dict(stream=stream, method=name, seed=seed, R=res.R.tolist(),
                                 segment_contexts=seg_ctx, n_contexts=res.n_contexts,
                                 loss_after_switch=after, detections=res.detections.tolist(),
                                 switches=sw))
            print(f"  recurring {stream} seed {seed}", flush=True)
    return rows


def transfer(seeds) -> list[dict]:
    rows = []
    for stream in ("rotated digits", "permuted digits"):
        cfg = ContinualConfig(epochs=EPOCHS[stream])
        for method in ("fine-tuning", "surprise"):
            for seed in seeds:
                r = transfer_run(stream, method, seed, cfg, FULL if method == "surprise"
                                 else None)
                r["forward_transfer"] = forward_transfer(r["R"], r["init"])
                rows.append({k: (v.tolist() if isinstance(v, np.ndarray) else v)
                             for k, v in r.items()})
        print(f"  transfer {stream}", flush=True)
    return rows


def blocks_bandit(seed, n_blocks: int = 6, stable_len: int = 120, volatile_len: int = 120,
                  reversal_every: int = 25) -> Bandit:
    """Stable and volatile blocks alternating, after Behrens et al. (2007): in a stable
    block one arm pays with probability 0.75 and the other 0.25 throughout; in a volatile
    block the good arm (0.8 against 0.2) swaps every ``reversal_every`` trials."""
    rng = np.random.default_rng(seed)
    p, changes, good = [], [], int(rng.integers(2))
    for b in range(n_blocks):
        volatile = b % 2 == 1
        length = volatile_len if volatile else stable_len
        hi, lo = (0.8, 0.2) if volatile else (0.75, 0.25)
        for t in range(length):
            if (t > 0 and volatile and t % reversal_every == 0) or (t == 0 and b > 0):
                good = 1 - good
                changes.append(len(p))
            row = [lo, lo]
            row[good] = hi
            p.append(row)
    p_reward = np.asarray(p)
    outcomes = (rng.random(p_reward.shape) < p_reward).astype(float)
    return Bandit(p_reward, outcomes, np.asarray(changes, dtype=int))


FIXED_ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.4, 0.8)
#: The surprise learner's grid, the same budget as the fixed rates: six settings.
SURPRISE_GRID = tuple(dict(alpha_min=a, alpha_max=b) for a in (0.05, 0.15, 0.3)
                      for b in (0.5, 0.9))


def bandit(n_tune: int, n_test: int, world: str = "blocks") -> dict:
    """Fixed learning rates against the surprise learner in the volatile-blocks world
    (``world="blocks"``) or in M3T1's world (``"m3t1"``: the good arm moves every 30 to 60
    trials, 600 trials).

    Both get six settings; each picks its best on ``n_tune`` tuning worlds, and is scored
    on ``n_test`` other worlds (common random numbers within a world)."""
    def score(make, worlds):
        return [float(run_bandit(make(), w, seed=s).rewards.mean()) for w, s in worlds]

    def make_world(seed):
        return blocks_bandit(seed) if world == "blocks" else volatile_bandit(600, seed=seed)

    def worlds(offset, n):
        return [(make_world([2026, offset, k]), int(np.random.default_rng([7, offset, k])
                                                   .integers(2**31))) for k in range(n)]

    tune, test = worlds(0, n_tune), worlds(1, n_test)
    fixed = {str(a): (lambda a=a: SoftmaxAgent(Neuromodulators(acetylcholine=a)))
             for a in FIXED_ALPHAS}
    surprise = {f"{g['alpha_min']}-{g['alpha_max']}": (lambda g=g: SurpriseLearner(**g))
                for g in SURPRISE_GRID}
    out = dict(n_tune=n_tune, n_test=n_test, fixed={}, surprise={})
    for family, makers in (("fixed", fixed), ("surprise", surprise)):
        for name, make in makers.items():
            out[family][name] = dict(tune=score(make, tune), test=score(make, test))
    if world != "blocks":
        return out
    # the stable/volatile split of the surprise learner's learning rate, default setting
    w, s = test[0]
    run = run_bandit(SurpriseLearner(), w, seed=s)
    vol = np.zeros(w.n_trials, bool)
    for b in range(1, 6, 2):
        vol[b * 120:(b + 1) * 120] = True
    out["alpha_stable"] = float(run.alphas[~vol].mean())
    out["alpha_volatile"] = float(run.alphas[vol].mean())
    out["example_alphas"] = run.alphas.tolist()
    out["example_volatile"] = vol.tolist()
    return out


def spikes_energy() -> dict:
    """M1T3's break-even: SOPs/MACs = spikes per input per inference (closed form), and the
    arithmetic-energy break-even with Horowitz's 45 nm figures."""
    e_add = energy.ENERGY_PER_OP["add_fp32_45nm"].energy_pJ
    e_mac = energy.ENERGY_PER_OP["mac_fp32_45nm"].energy_pJ
    n_in, n_out, window_ms = 100, 10, 100.0
    rates = np.arange(0.0, 81.0, 5.0)
    sops = [energy.synaptic_ops(np.full((1, n_in), r * window_ms / 1000.0).round().astype(int),
                                n_out) for r in rates]
    return dict(rates_hz=rates.tolist(), sops=sops, macs=energy.dense_macs(n_in, n_out),
                e_add_pJ=e_add, e_mac_pJ=e_mac, window_ms=window_ms,
                break_even_ops_hz=1000.0 / window_ms,
                break_even_energy_hz=e_mac / e_add * 1000.0 / window_ms)


# --- summaries ------------------------------------------------------------------------

def mean_se(values) -> tuple[float, float]:
    """Mean and standard error (ddof = 1) of a list of numbers."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0


def fmt(values, digits: int = 3) -> str:
    m, s = mean_se(values)
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def select(rows, **kw):
    return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]


def continual_tables(rows) -> str:
    out = []
    methods = list(dict.fromkeys(r["method"] for r in rows))
    for stream in ("split digits", "permuted digits"):
        sub = select(rows, stream=stream)
        if not sub:
            continue
        n = len({r["seed"] for r in sub})
        lines = [f"**{stream}**: average accuracy after 5 tasks (R[4, 0..4] mean), then R[0,0] "
                 f"(first task, before any switch), R[4,4] (newest task); mean ± s.e. over "
                 f"{n} seeds (ddof 1)", "",
                 "| method | " + " | ".join(f"{s}-IL avg | {s} R00 | {s} R44"
                                           for s in SCENARIOS) + " |",
                 "|---|" + "---|" * 9]
        for m in methods:
            cells = []
            for s in SCENARIOS:
                rr = select(sub, method=m, scenario=s)
                if not rr:
                    cells += ["n/a"] * 3
                    continue
                Rs = [np.asarray(r["R"]) for r in rr]
                cells += [fmt([average_accuracy(R) for R in Rs]), fmt([R[0, 0] for R in Rs], 2),
                          fmt([R[-1, -1] for R in Rs], 2)]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        out.append("\n".join(lines))
        det = [r for r in sub if "detections" in r and r["method"] == "surprise"]
        hits = sum(len(set(r["switches"]) & set(r["detections"])) for r in det)
        total = sum(len(r["switches"]) for r in det)
        extra = sum(len(set(r["detections"]) - set(r["switches"])) for r in det)
        out.append(f"Detector ({stream}, surprise learner): {hits} of {total} switches found "
                   f"at the switch step, {extra} detections elsewhere (late or false).")
        given = {s: fmt([np.mean(r["R_given"][-1]) for r in det if r["scenario"] == s])
                 for s in SCENARIOS}
        out.append("With each task's own context given at test (R_given), surprise learner: "
                   + ", ".join(f"{s}-IL {v}" for s, v in given.items()))
    return "\n\n".join(out)


COMBOS = tuple((st, sc) for st in ("split digits", "permuted digits") for sc in SCENARIOS)


def summary_table(rows, methods) -> str:
    """Average accuracy after 5 tasks, one column per stream and scenario."""
    lines = ["| method | " + " | ".join(f"{st.split()[0]} {sc}-IL" for st, sc in COMBOS) + " |",
             "|---|" + "---|" * len(COMBOS)]
    for m in methods:
        cells = []
        for st, sc in COMBOS:
            rr = select(rows, stream=st, scenario=sc, method=m)
            cells.append(fmt([average_accuracy(np.asarray(r["R"])) for r in rr]) if rr
                         else "n/a")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def last_row_table(rows, stream, scenario, methods, key="R") -> str:
    """Accuracy on each task after the last one, R[4, j], with the average."""
    lines = ["| method | " + " | ".join(f"task {j + 1}" for j in range(5)) + " | average |",
             "|---|" + "---|" * 6]
    for m in methods:
        rr = select(rows, stream=stream, scenario=scenario, method=m)
        if not rr or key not in rr[0]:
            continue
        Rs = np.array([r[key] for r in rr])
        cells = [fmt(Rs[:, -1, j], 2) for j in range(5)] + [fmt(Rs[:, -1].mean(1))]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def first_task_table(rows, methods) -> str:
    """R[0, 0], the first task after training it (no switch yet), per stream and scenario."""
    combos = [("permuted digits", "domain"), ("permuted digits", "class"),
              ("split digits", "class")]
    lines = ["| method | " + " | ".join(f"{st.split()[0]} {sc}-IL" for st, sc in combos) + " |",
             "|---|" + "---|" * len(combos)]
    for m in methods:
        cells = []
        for st, sc in combos:
            rr = select(rows, stream=st, scenario=sc, method=m)
            cells.append(fmt([r["R"][0][0] for r in rr], 2) if rr else "n/a")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def matrix_text(rows, stream, scenario, method, key="R") -> str:
    rr = select(rows, stream=stream, scenario=scenario, method=method)
    Rs = np.array([r[key] for r in rr])
    m, se = Rs.mean(0), Rs.std(0, ddof=1) / np.sqrt(len(Rs))
    lines = [f"{method}, {stream}, {scenario}-IL ({key}), mean ± s.e. over {len(Rs)} seeds",
             "", "| after task | " + " | ".join(f"task {j}" for j in range(m.shape[1])) + " |",
             "|---|" + "---|" * m.shape[1]]
    for i in range(m.shape[0]):
        lines.append(f"| {i} | " + " | ".join(
            f"{m[i, j]:.2f} ± {se[i, j]:.2f}" if j <= i else "" for j in range(m.shape[1])) + " |")
    return "\n".join(lines)


def recurring_table(rows) -> str:
    lines = ["| stream | method | average accuracy | returns to its first context | "
             "loss in the 10 steps after a return (nats) | after a new task |",
             "|---|---|---|---|---|---|"]
    for stream in ("split digits", "permuted digits"):
        for method in ("fine-tuning", "replay", "surprise", "oracle label"):
            rr = select(rows, stream=stream, method=method)
            if not rr:
                continue
            avg = fmt([average_accuracy(np.asarray(r["R"])) for r in rr])
            if "segment_contexts" in rr[0]:
                reuse = [np.mean([r["segment_contexts"][3] == r["segment_contexts"][0],
                                  r["segment_contexts"][4] == r["segment_contexts"][1]])
                         for r in rr]
                ret = fmt([np.mean(r["loss_after_switch"][2:]) for r in rr], 2)
                new = fmt([np.mean(r["loss_after_switch"][:2]) for r in rr], 2)
                lines.append(f"| {stream} | {method} | {avg} | {fmt(reuse, 2)} | {ret} | {new} |")
            else:
                lines.append(f"| {stream} | {method} | {avg} | n/a | n/a | n/a |")
    return "\n".join(lines)


def transfer_table(rows) -> str:
    lines = ["| sequence | learner | forward transfer (L-P 2017) | after learning | "
             "R[0,0] − trained alone (task 0: no history) |", "|---|---|---|---|---|"]
    for stream in ("rotated digits", "permuted digits"):
        for method in ("fine-tuning", "surprise"):
            rr = select(rows, stream=stream, method=method)
            lines.append(f"| {stream} | {method} | {fmt([r['forward_transfer'] for r in rr])} | "
                         f"{fmt([r['learning_transfer'] for r in rr])} | "
                         f"{fmt([r['R'][0][0] - r['single'][0] for r in rr])} |")
    return "\n".join(lines)


def bandit_table(b, world: str = "Volatile-blocks world") -> str:
    lines = [f"{world}; each learner's six settings scored on {b['n_tune']} "
             f"tuning worlds (mean reward per trial), the chosen one on {b['n_test']} other "
             "worlds; mean ± s.e. (ddof 1)", "",
             "| learner | setting | tuning worlds | test worlds |", "|---|---|---|---|"]
    for family in ("fixed", "surprise"):
        for name, v in b[family].items():
            lines.append(f"| {family} | {name} | {fmt(v['tune'])} | {fmt(v['test'])} |")
    for family in ("fixed", "surprise"):
        best = max(b[family], key=lambda k: np.mean(b[family][k]["tune"]))
        lines.append(f"| **best {family} (chosen on tuning worlds)** | {best} | | "
                     f"{fmt(b[family][best]['test'])} |")
    fb = max(b["fixed"], key=lambda k: np.mean(b["fixed"][k]["tune"]))
    sb = max(b["surprise"], key=lambda k: np.mean(b["surprise"][k]["tune"]))
    d = np.asarray(b["surprise"][sb]["test"]) - np.asarray(b["fixed"][fb]["test"])
    lines.append(f"\nPaired difference on the test worlds, best surprise − best fixed: {fmt(d)}.")
    if "alpha_stable" in b:
        lines.append(f"Default surprise learner's mean α: stable blocks {b['alpha_stable']:.3f}, "
                     f"volatile blocks {b['alpha_volatile']:.3f}.")
    return "\n".join(lines)


def tables(res: dict) -> str:
    out = []
    if "continual" in res:
        rows = res["continual"]
        out.append(continual_tables(rows))
        out.append(summary_table(rows, ("fine-tuning", "replay", "xdg", "modulated",
                                        "v1 (before fixes)", "surprise")))
        out.append(summary_table(rows, ("surprise", "no gate", "no consolidation", "no boost",
                                        "oracle boundaries", "oracle label",
                                        "xdg p=0.5 (label)")))
        win = ("fine-tuning", "replay", "v1 (before fixes)", "surprise", "oracle label")
        split_last = ("split digits", "class")
        out.append("split class-IL, R[4, j]\n\n" + last_row_table(rows, *split_last, win))
        out.append("split class-IL, R_confidence[4, j] (most-confident rule)\n\n"
                   + last_row_table(rows, *split_last, ("surprise",), "R_confidence"))
        out.append("split class-IL, R_given[4, j] (own gate given)\n\n"
                   + last_row_table(rows, *split_last, ("v1 (before fixes)", "surprise"),
                                    "R_given"))
        out.append("permuted class-IL, R[4, j]\n\n"
                   + last_row_table(rows, "permuted digits", "class", win))
        out.append(first_task_table(rows, ("fine-tuning", "v1 (before fixes)",
                                           "v1 + rescaled gates", "v1 + rescaled + seen head",
                                           "surprise")))
        for m in ("surprise", "v1 (before fixes)", "replay", "fine-tuning"):
            if select(rows, stream="split digits", scenario="class", method=m):
                out.append(matrix_text(rows, "split digits", "class", m))
        if select(rows, stream="split digits", scenario="class", method="v1 (before fixes)"):
            out.append(matrix_text(rows, "split digits", "class", "v1 (before fixes)", "R_given"))
    if "recurring" in res:
        out.append(recurring_table(res["recurring"]))
    if "transfer" in res:
        out.append(transfer_table(res["transfer"]))
    if "bandit" in res:
        out.append(bandit_table(res["bandit"]))
    if "bandit_m3t1" in res:
        out.append(bandit_table(res["bandit_m3t1"],
                                "M3T1's world (the good arm moves every 30 to 60 trials)"))
    if "spikes" in res:
        s = res["spikes"]
        out.append(f"Spikes save operations below {s['break_even_ops_hz']:.0f} Hz "
                   f"(one spike per input per {s['window_ms']:.0f} ms) and arithmetic energy "
                   f"below {s['break_even_energy_hz']:.0f} Hz ({s['e_mac_pJ']} pJ per MAC / "
                   f"{s['e_add_pJ']} pJ per add).")
    if "cpu" in res:
        out.append("CPU seconds per part: " + ", ".join(f"{k} {v:.0f}"
                                                         for k, v in res["cpu"].items()))
    return "\n\n".join(out)


# --- figures --------------------------------------------------------------------------

def _heat(ax, R, se, title):
    T = R.shape[0]
    show = np.where(np.tril(np.ones((T, T))) > 0, R, np.nan)
    im = ax.imshow(show, vmin=0, vmax=1, cmap="viridis")
    for i in range(T):
        for j in range(i + 1):
            ax.text(j, i, f"{R[i, j]:.2f}\n±{se[i, j]:.2f}", ha="center", va="center",
                    fontsize=6.5, color="w" if R[i, j] < 0.6 else "k")
    ax.set_xticks(range(T), [f"{j + 1}" for j in range(T)])
    ax.set_yticks(range(T), [f"{i + 1}" for i in range(T)])
    ax.set_xlabel("task tested (accuracy, fraction correct)")
    ax.set_ylabel("after training task")
    ax.set_title(title, fontsize=9)
    return im


def figures(res: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    if "continual" in res:
        rows = res["continual"]
        # 2. per-task matrices of the winning case, split class-IL
        names = ("fine-tuning", "replay", "v1 (before fixes)", "surprise")
        fig, axes = plt.subplots(1, 4, figsize=(15, 3.9))
        for ax, m in zip(axes, names, strict=True):
            Rs = np.array([r["R"] for r in select(rows, stream="split digits",
                                                  scenario="class", method=m)])
            _heat(ax, Rs.mean(0), Rs.std(0, ddof=1) / np.sqrt(len(Rs)), f"{m}")
        fig.suptitle("Split digits, class-IL: accuracy R[i, j] (mean ± s.e. over seeds)")
        fig.tight_layout()
        fig.savefig(OUT / "rmatrix.png", dpi=110)
        plt.close(fig)
        # 3. ablations and controls
        ctrl = ("surprise", "no gate", "no consolidation", "no boost",
                "oracle boundaries", "oracle label", "xdg p=0.5 (label)", "v1 (before fixes)")
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.0), sharey=True)
        for ax, stream in zip(axes, ("split digits", "permuted digits"), strict=True):
            for k, scenario in enumerate(SCENARIOS):
                stats = [mean_se([average_accuracy(np.asarray(r["R"])) for r in
                                  select(rows, stream=stream, scenario=scenario, method=m)])
                         for m in ctrl]
                ax.bar(np.arange(len(ctrl)) + (k - 1) * 0.27, [s[0] for s in stats], 0.27,
                       yerr=[s[1] for s in stats], label=f"{scenario}-IL", capsize=2)
            ax.set_xticks(range(len(ctrl)), ctrl, rotation=35, ha="right", fontsize=8)
            ax.set_title(f"{stream}: the learner, its ablations and controls")
            ax.set_ylabel("average accuracy (fraction correct)")
        axes[0].set_ylim(0, 1.15)
        axes[0].legend(fontsize="small", ncol=3, loc="upper center")
        fig.tight_layout()
        fig.savefig(OUT / "ablation.png", dpi=110)
        plt.close(fig)
    if "transfer" in res:
        fig, ax = plt.subplots(figsize=(6.5, 3.6))
        tr = res["transfer"]
        labels, fwt, ltr = [], [], []
        for stream in ("rotated digits", "permuted digits"):
            for method in ("fine-tuning", "surprise"):
                sub = select(tr, stream=stream, method=method)
                labels.append(f"{stream.split()[0]}\n{method}")
                fwt.append(mean_se([r["forward_transfer"] for r in sub]))
                ltr.append(mean_se([r["learning_transfer"] for r in sub]))
        x = np.arange(len(labels))
        ax.bar(x - 0.2, [v[0] for v in fwt], 0.4, yerr=[v[1] for v in fwt], capsize=2,
               label="forward transfer (vs untrained)")
        ax.bar(x + 0.2, [v[0] for v in ltr], 0.4, yerr=[v[1] for v in ltr], capsize=2,
               label="after learning (vs trained alone)")
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(x, labels)
        ax.set_ylabel("transfer (accuracy difference)")
        ax.set_title("Transfer, mean ± s.e. over seeds")
        ax.legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(OUT / "transfer.png", dpi=110)
        plt.close(fig)
    if "bandit" in res:
        b = res["bandit"]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
        alphas = [float(a) for a in b["fixed"]]
        st = [mean_se(v["test"]) for v in b["fixed"].values()]
        ax1.errorbar(alphas, [s[0] for s in st], [s[1] for s in st], fmt="o-",
                     color="tab:gray", label="fixed learning rate")
        ax1.set_xscale("log")
        ax1.set_xticks(alphas, [f"{a:g}" for a in alphas])
        ax1.xaxis.set_minor_locator(plt.NullLocator())
        best = max(b["surprise"], key=lambda k: np.mean(b["surprise"][k]["tune"]))
        m, s = mean_se(b["surprise"][best]["test"])
        ax1.axhspan(m - s, m + s, color="tab:purple", alpha=0.25)
        ax1.axhline(m, color="tab:purple", label=f"surprise learner, best of 6 settings ({best})")
        ax1.set_xlabel("fixed learning rate α (log scale)")
        ax1.set_ylabel("mean reward per trial (test worlds)")
        ax1.set_title("Volatile-blocks world")
        ax1.legend(fontsize="small")
        a = np.asarray(b["example_alphas"])
        vol = np.asarray(b["example_volatile"])
        ax2.plot(a, color="tab:purple", lw=0.8, label="surprise learner's α")
        ax2.fill_between(np.arange(len(a)), 0, vol * a.max(), color="tab:orange", alpha=0.2,
                         label="volatile block")
        ax2.set_xlabel("trial")
        ax2.set_ylabel("learning rate α")
        ax2.set_title("One world: α in stable and volatile blocks")
        ax2.legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(OUT / "bandit.png", dpi=110)
        plt.close(fig)


PARTS = ("split", "permuted", "permuted-class", "permuted-domain", "permuted-task", "recurring",
         "transfer", "bandit", "spikes")


def run_part(part: str, seeds, quick: bool) -> dict:
    c0 = _cpu()
    if part == "split":
        data = dict(continual=continual("split digits", seeds))
    elif part == "permuted":
        data = dict(continual=continual("permuted digits", seeds))
    elif part.startswith("permuted-"):  # one scenario: three processes, or a saved half
        data = dict(continual=continual("permuted digits", seeds, (part.split("-")[1],)))
    elif part == "recurring":
        data = dict(recurring=recurring(seeds))
    elif part == "transfer":
        data = dict(transfer=transfer(seeds))
    elif part == "bandit":
        n = 5 if quick else 20
        data = dict(bandit=bandit(n, n), bandit_m3t1=bandit(n, n, "m3t1"))
    else:
        data = dict(spikes=spikes_energy())
    data["cpu"] = {part: _cpu() - c0}
    return data


def merge() -> dict:
    res: dict = dict(cpu={}, config=dict(epochs=EPOCHS, variants={
        k: dict(asdict(v[0]), tests=v[1]) for k, v in VARIANTS.items()}))
    for part in PARTS:
        f = OUT / f"part-{part}.json"
        if not f.exists():
            continue
        d = json.loads(f.read_text())
        for k, v in d.items():
            if k == "cpu":
                res["cpu"].update(v)
            elif k == "continual":
                res.setdefault("continual", []).extend(v)
            else:
                res[k] = v
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed: a smoke test")
    parser.add_argument("--part", choices=PARTS, help="run one part and save it")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 ... n-1 (default 5)")
    parser.add_argument("--merge", action="store_true", help="join the saved parts")
    parser.add_argument("--replot", action="store_true",
                        help="redraw figures and tables from results.json, run nothing")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.replot:
        res = json.loads((OUT / "results.json").read_text())
    elif args.merge or args.part is None:
        seeds = tuple(range(1 if args.quick else args.seeds))
        if args.part is None and not args.merge:
            for part in PARTS:
                (OUT / f"part-{part}.json").write_text(
                    json.dumps(run_part(part, seeds, args.quick), default=float))
        res = merge()
        (OUT / "results.json").write_text(json.dumps(res, indent=0, default=float))
    else:
        seeds = tuple(range(1 if args.quick else args.seeds))
        data = run_part(args.part, seeds, args.quick)
        (OUT / f"part-{args.part}.json").write_text(json.dumps(data, default=float))
        print(tables(data))
        return
    figures(res)
    print(tables(res))


if __name__ == "__main__":
    main()
