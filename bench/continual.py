"""Continual learning on split digits: neuroai_core against Avalanche 0.6.

    python bench/continual.py [--quick] [--no-peers] [--seeds 0 1 2 3 4]

Protocol (both libraries, the same 70/30 stratified split per seed): five two-class
tasks of scikit-learn's digits, MLP 64-100-100-10, Adam 1e-3, batch 32, 10 epochs per
task, class- and task-incremental; methods naive (fine-tuning), EWC, SI, replay (200
samples) and joint (trained once on all tasks, as Avalanche's JointTraining; the course's
joint, retrained on all data so far after every task, is the extra row joint-cumulative).
Reported: the mean accuracy over the five tasks after the last one (mean, standard
deviation and standard error over the seeds, ddof=1), the CPU time of all the seeds'
runs of a method (one thread; process CPU time, so other jobs on a busy machine do not
count; wall time recorded beside it), and the import time of each library in a fresh
interpreter (median of 5). Ours is timed twice: the seeds one after the other
(``run_method``, as before) and all seeds at once as one stacked network
(``run_seeds``, :mod:`neuroai_core.continual.stack`); both go through the one PyTorch
training loop, ``neuroai_core.continual.train.train_task`` (autograd,
``torch.optim.Adam``), and the stacked copies must reach the same accuracies as the
separate runs. Avalanche runs its seeds one after the other. Also checks SI: ours must
change the training (compared with naive at the same seed); Avalanche 0.6.0's
SynapticIntelligence is tested for the same.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import common
import numpy as np
import torch

from neuroai_core.continual.compare import (
    ContinualConfig,
    RunResult,
    make_model,
    run_method,
    run_seeds,
)
from neuroai_core.continual.data import split_digits
from neuroai_core.continual.sources import joint_batches
from neuroai_core.continual.stack import stack_batches, stack_models, unstack
from neuroai_core.continual.train import evaluate, train_task
from neuroai_core.torch_utils import single_thread

METHODS = {"fine-tuning": "naive", "ewc": "ewc", "si": "si", "replay": "replay",
           "joint": "joint"}  # ours -> Avalanche


def write_splits(path: Path, seeds) -> None:
    """The train/test split of every seed, all tasks together, for the Avalanche worker."""
    arrays = {}
    for seed in seeds:
        s = split_digits("class", seed=seed)
        for part in ("train", "test"):
            arrays[f"x_{part}_{seed}"] = torch.cat([getattr(t, f"x_{part}") for t in s.tasks])
            arrays[f"y_{part}_{seed}"] = torch.cat([getattr(t, f"y_{part}") for t in s.tasks])
    np.savez(path, **{k: v.numpy() for k, v in arrays.items()})


def joint_once(streams, config: ContinualConfig, seeds) -> list[RunResult]:
    """Joint training as Avalanche's JointTraining does it: one training on the training
    data of all tasks together (``config.epochs`` passes), then one test. Our
    ``run_method("joint")`` instead retrains on all data so far after every task, which
    fills the whole accuracy matrix at three times the steps (row joint-cumulative).
    Several seeds train as one stacked network, as in ``run_seeds``."""
    with single_thread():
        start = time.perf_counter()
        models = [make_model("joint", s, config, seed)
                  for s, seed in zip(streams, seeds, strict=True)]
        stacked = len(seeds) > 1
        model = stack_models(models) if stacked else models[0]
        last = streams[0].n_tasks - 1
        sources = [joint_batches(s, last, epochs=config.epochs, batch_size=config.batch_size,
                                 seed=[seed, last]) for s, seed in zip(streams, seeds, strict=True)]
        result = train_task(model, stack_batches(sources) if stacked else sources[0],
                            lr=config.lr, path_integral=False, fused=stacked)
        copies = unstack(model, models[0]) if stacked else [model]
        runs = []
        for k, (net, s, seed) in enumerate(zip(copies, streams, seeds, strict=True)):
            R = np.zeros((s.n_tasks, s.n_tasks))
            R[last] = evaluate(net, s, last)
            losses = result.losses[:, k] if stacked else result.losses
            runs.append(RunResult("joint", s.scenario, int(seed), R, [losses], 0.0))
        for r in runs:
            r.seconds = (time.perf_counter() - start) / len(seeds)
        return runs


def run_all(method, streams, config, seeds, stacked: bool) -> list[RunResult]:
    """All seeds of one benchmark row: stacked in one run, or one run per seed."""
    name = "joint" if method == "joint-cumulative" else method
    if method == "joint":
        if stacked:
            return joint_once(streams, config, seeds)
        return [joint_once([s], config, [seed])[0] for s, seed in zip(streams, seeds, strict=True)]
    if stacked:
        return run_seeds(name, streams, seeds, config)
    return [run_method(name, s, config, seed) for s, seed in zip(streams, seeds, strict=True)]


def timed(fn, *args):
    """``fn(*args)``, its CPU time (this process) and wall time, in seconds."""
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn(*args)
    return out, time.process_time() - c0, time.perf_counter() - w0


def ours(methods, scenarios, seeds, config) -> tuple[list[dict], list[dict], list[dict]]:
    """Per seed: accuracy (stacked and separate); per row: the CPU and wall time of all
    seeds, stacked and one after the other; and the SI check."""
    warm = [split_digits("class", seed=s) for s in seeds[:2]]
    run_method("fine-tuning", warm[0], config, 0)  # warm-up, with the shapes of the runs
    for scenario in scenarios:
        warm = [split_digits(scenario, seed=s) for s in seeds]
        for method in ("ewc", "replay"):
            run_seeds(method, warm, seeds, ContinualConfig(epochs=1))
        joint_once(warm, ContinualConfig(epochs=1), seeds)
    rows, timing, si_check = [], [], []
    for scenario in scenarios:
        streams = [split_digits(scenario, seed=seed) for seed in seeds]
        results = {}
        for method in methods:
            before = common.load()
            sep, sep_cpu, sep_wall = timed(run_all, method, streams, config, seeds, False)
            stk, stk_cpu, stk_wall = timed(run_all, method, streams, config, seeds, True)
            results[method] = sep
            timing.append({"method": method, "scenario": scenario, "n_seeds": len(seeds),
                           "separate_cpu_s": sep_cpu, "separate_wall_s": sep_wall,
                           "stacked_cpu_s": stk_cpu, "stacked_wall_s": stk_wall,
                           "load_before": before, "load_after": common.load()})
            for a, b in zip(sep, stk, strict=True):
                rows.append({"method": method, "scenario": scenario, "seed": a.seed,
                             "average_accuracy": float(a.R[-1].mean()),
                             "stacked_average_accuracy": float(b.R[-1].mean()),
                             "max_abs_R_diff_stacked_vs_separate":
                                 float(np.abs(a.R - b.R).max())})
        if "si" in results and "fine-tuning" in results:
            for a, b in zip(results["si"], results["fine-tuning"], strict=True):
                diff = max(float(np.abs(x - y).max()) for x, y in zip(a.losses, b.losses,
                                                                     strict=True))
                si_check.append({"scenario": scenario, "seed": a.seed,
                                 "max_abs_loss_diff_si_vs_naive": diff})
    return rows, timing, si_check


def summary(rows: list[dict], key: str = "average_accuracy") -> dict:
    out: dict = {}
    for r in rows:
        out.setdefault((r["method"], r["scenario"]), []).append(r)
    res = {}
    for k, v in out.items():
        acc = np.array([r[key] for r in v])
        sd = float(np.std(acc, ddof=1)) if len(acc) > 1 else 0.0
        res[k] = {"acc_mean": float(acc.mean()), "acc_sd": sd, "acc_se": sd / len(acc) ** 0.5,
                  "n": len(acc), "cpu_s": sum(r.get("cpu_seconds", 0.0) for r in v),
                  "wall_s": sum(r["seconds"] for r in v) if all("seconds" in r for r in v)
                  else None}
    return res


def figure(table_rows, meta, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['method']}, {r['scenario']}-IL" for r in table_rows]
    x = np.arange(len(labels))
    n = meta["config"]["n_seeds"]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    for off, who, color in ((-0.2, "ours", "C0"), (0.2, "avalanche", "C1")):
        acc = [r.get(f"{who}_acc") or 0 for r in table_rows]
        se = [r.get(f"{who}_se") or 0 for r in table_rows]
        name = "neuroai_core" if who == "ours" else "Avalanche"
        ax1.bar(x + off, acc, 0.4, yerr=se, color=color, label=name)
    width = 0.27
    bars = ((-width, "avalanche_cpu_s", "C1", "Avalanche, one seed after another"),
            (0, "separate_cpu_s", "C0", "ours, one seed after another"),
            (width, "stacked_cpu_s", "C2", "ours, seeds stacked"))
    for off, key, color, name in bars:
        ax2.bar(x + off, [r.get(key) or 0 for r in table_rows], width, color=color, label=name)
    ax1.set_ylabel("mean accuracy after the last task")
    ax1.set_ylim(0, 1.05)
    ax1.legend(loc="lower right")
    ax1.set_title(f"Accuracy (mean ± standard error over {n} seeds)", fontsize=9)
    ax2.set_ylabel(f"CPU time of all {n} seeds (s)")
    ax2.set_title(f"CPU time of the {n} runs of each method", fontsize=9)
    ax2.legend(fontsize=8)
    ax2.set_xticks(x, labels, fontsize=8, rotation=30, ha="right")
    ax2.set_xlabel("method and scenario (split digits, 5 tasks)")
    fig.suptitle(f"Continual learning, split digits\n{common.label(meta)}", fontsize=9)
    common.save_figure(fig, path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.base_args(p, "continual")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = p.parse_args()
    if args.quick:
        methods, scenarios, seeds, epochs, import_runs = ["fine-tuning", "si"], ["class"], \
            [0, 1], 1, 1
    else:
        methods, scenarios, seeds, epochs, import_runs = [*METHODS, "joint-cumulative"], \
            ["class", "task"], args.seeds, 10, 5
    config = ContinualConfig(epochs=epochs)
    meta = {"date": common.now(), "machine": common.machine(), "load_start": common.load(),
            "config": {"epochs": epochs, "batch_size": 32, "lr": 1e-3, "seeds": seeds,
                       "n_seeds": len(seeds)}}
    torch.set_num_threads(1)
    mine, timing, si_ours = ours(methods, scenarios, seeds, config)
    peer = {"status": "skipped"} if args.no_peers else None
    if peer is None:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "split.npz"
            write_splits(data, seeds)
            before = common.load()
            peer = common.run_worker("avalanche", "continual_avalanche.py", {
                "data": str(data), "methods": [METHODS[m] for m in methods if m in METHODS],
                "scenarios": scenarios, "seeds": seeds, "epochs": epochs})
            peer |= {"load_before": before, "load_after": common.load()}
    imports = {"torch": common.fresh_import_time(sys.executable, "torch", import_runs),
               "neuroai_core": common.fresh_import_time(sys.executable, "neuroai_core",
                                                         import_runs),
               "neuroai_core.continual": common.fresh_import_time(
                   sys.executable, "neuroai_core.continual", import_runs)}
    av_python = common.venv_python("avalanche")
    if av_python is not None and not args.no_peers:
        imports["avalanche"] = common.fresh_import_time(av_python, "avalanche", import_runs)
    s_ours = summary(mine)
    s_stk = summary(mine, "stacked_average_accuracy")
    s_av = {(next(k for k, v in METHODS.items() if v == m), sc): v
            for (m, sc), v in summary(peer.get("rows", [])).items()}
    times = {(t["method"], t["scenario"]): t for t in timing}
    table_rows = []
    for (method, scenario), o in s_ours.items():
        a, t = s_av.get((method, scenario), {}), times[method, scenario]
        row = {"method": method, "scenario": scenario, "n_seeds": o["n"],
               "ours_acc": o["acc_mean"], "ours_sd": o["acc_sd"], "ours_se": o["acc_se"],
               "stacked_acc": s_stk[method, scenario]["acc_mean"],
               "avalanche_acc": a.get("acc_mean"), "avalanche_sd": a.get("acc_sd"),
               "avalanche_se": a.get("acc_se"),
               "separate_cpu_s": t["separate_cpu_s"], "stacked_cpu_s": t["stacked_cpu_s"],
               "separate_wall_s": t["separate_wall_s"], "stacked_wall_s": t["stacked_wall_s"],
               "avalanche_cpu_s": a.get("cpu_s"), "avalanche_wall_s": a.get("wall_s"),
               "stacking_gain": t["separate_cpu_s"] / t["stacked_cpu_s"]}
        if a:
            row["speedup"] = a["cpu_s"] / t["stacked_cpu_s"]
            row["speedup_separate"] = a["cpu_s"] / t["separate_cpu_s"]
            row["acc_diff_points"] = 100 * (o["acc_mean"] - a["acc_mean"])
        table_rows.append(row)
    meta["load_end"] = common.load()
    print(common.label(meta), "| load (1, 5, 15 min):", meta["load_start"], "->",
          meta["load_end"])
    print(common.table(table_rows, [
        ("method", "method"), ("scenario", "scenario"), ("ours_acc", "ours acc"),
        ("ours_se", "se"), ("stacked_acc", "stacked acc"), ("avalanche_acc", "Avalanche acc"),
        ("avalanche_se", "se"), ("avalanche_cpu_s", "Avalanche CPU s"),
        ("separate_cpu_s", "ours CPU s, separate"), ("stacked_cpu_s", "ours CPU s, stacked"),
        ("speedup_separate", "speed-up separate"), ("speedup", "speed-up stacked")]))
    print(f"(CPU s: all {len(seeds)} seeds of a row; speed-up: Avalanche's CPU time / ours)")
    print("import s:", imports)
    print("SI check, ours:", si_ours)
    print("SI check, Avalanche:", peer.get("si_check"))
    worst = max(r["max_abs_R_diff_stacked_vs_separate"] for r in mine)
    print("largest |R| difference, stacked vs separate runs of the same seed:", worst)
    si_changes = all(c["max_abs_loss_diff_si_vs_naive"] > 0 for c in si_ours)
    common.write_json(args.json, {"name": "continual", **meta, "ours": mine, "timing": timing,
                                  "avalanche": peer, "table": table_rows,
                                  "import_s": imports, "si_check_ours": si_ours,
                                  "si_changes_training": si_changes,
                                  "max_abs_R_diff_stacked_vs_separate": worst})
    figure(table_rows, meta, args.figure)
    if si_ours and not si_changes:
        sys.exit("SI left the training identical to naive fine-tuning")


if __name__ == "__main__":
    main()
