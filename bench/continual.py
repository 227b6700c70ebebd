"""Continual learning on split digits: neuroai_core against Avalanche 0.6.

    python bench/continual.py [--quick] [--no-peers] [--seeds 0 1 2]

Protocol (both libraries, the same 70/30 stratified split per seed): five two-class
tasks of scikit-learn's digits, MLP 64-100-100-10, Adam 1e-3, batch 32, 10 epochs per
task, class- and task-incremental; methods naive (fine-tuning), EWC, SI, replay (200
samples) and joint (trained once on all tasks, as Avalanche's JointTraining; the course's
joint, retrained on all data so far after every task, is the extra row joint-cumulative).
Reported: the mean accuracy over the five tasks after the last one
(mean and standard deviation over seeds), the wall time per run, one thread each, and
the import time of each library in a fresh interpreter (median of 5). Every run of ours
goes through the one PyTorch training loop, ``neuroai_core.continual.train.train_task``
(autograd, ``torch.optim.Adam``). Also checks SI: ours must change the training (compared
with naive at the same seed); Avalanche 0.6.0's SynapticIntelligence is tested for the same.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import common
import numpy as np
import torch

from neuroai_core.continual.compare import ContinualConfig, RunResult, make_model, run_method
from neuroai_core.continual.data import split_digits
from neuroai_core.continual.sources import joint_batches
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


def joint_once(stream, config: ContinualConfig, seed: int) -> RunResult:
    """Joint training as Avalanche's JointTraining does it: one training on the training
    data of all tasks together (``config.epochs`` passes), then one test. Our
    ``run_method("joint")`` instead retrains on all data so far after every task, which
    fills the whole accuracy matrix at three times the steps (row joint-cumulative)."""
    with single_thread():
        start = time.perf_counter()
        model = make_model("joint", stream, config, seed)
        last = stream.n_tasks - 1
        batches = joint_batches(stream, last, epochs=config.epochs,
                                batch_size=config.batch_size, seed=[seed, last])
        result = train_task(model, batches, lr=config.lr)
        R = np.zeros((stream.n_tasks, stream.n_tasks))
        R[last] = evaluate(model, stream, last)
        return RunResult("joint", stream.scenario, int(seed), R, [result.losses],
                         time.perf_counter() - start)


def run(method, stream, config, seed) -> RunResult:
    """One run of a benchmark row: joint trained once, joint-cumulative the course's."""
    if method == "joint":
        return joint_once(stream, config, seed)
    return run_method("joint" if method == "joint-cumulative" else method, stream, config, seed)


def ours(methods, scenarios, seeds, config) -> tuple[list[dict], list[dict]]:
    run_method("fine-tuning", split_digits("class", seed=0), config, 0)  # warm-up
    rows, si_check = [], []
    for scenario in scenarios:
        for seed in seeds:
            stream = split_digits(scenario, seed=seed)
            results = {}
            for method in methods:
                before = common.load()
                res = run(method, stream, config, seed)
                results[method] = res
                row = {"method": method, "scenario": scenario, "seed": seed,
                       "average_accuracy": float(res.R[-1].mean()),
                       "seconds": res.seconds, "load_before": before,
                       "load_after": common.load()}
                rows.append(row)
            if "si" in results and "fine-tuning" in results:
                a, b = results["si"], results["fine-tuning"]
                diff = max(float(np.abs(x - y).max()) for x, y in zip(a.losses, b.losses,
                                                                     strict=True))
                si_check.append({"scenario": scenario, "seed": seed,
                                 "max_abs_loss_diff_si_vs_naive": diff})
    return rows, si_check


def summary(rows: list[dict]) -> dict:
    out: dict = {}
    for r in rows:
        out.setdefault((r["method"], r["scenario"]), []).append(r)
    res = {}
    for k, v in out.items():
        res[k] = {"acc_mean": float(np.mean([r["average_accuracy"] for r in v])),
                  "acc_sd": float(np.std([r["average_accuracy"] for r in v])),
                  "seconds": statistics.median(r["seconds"] for r in v)}
    return res


def figure(table_rows, meta, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['method']}\n{r['scenario']}-IL" for r in table_rows]
    x = np.arange(len(labels))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    for off, who, color in ((-0.2, "ours", "C0"), (0.2, "avalanche", "C1")):
        acc = [r.get(f"{who}_acc") or 0 for r in table_rows]
        sd = [r.get(f"{who}_sd") or 0 for r in table_rows]
        sec = [r.get(f"{who}_s") or 0 for r in table_rows]
        name = "neuroai_core" if who == "ours" else "Avalanche"
        ax1.bar(x + off, acc, 0.4, yerr=sd, color=color, label=name)
        ax2.bar(x + off, sec, 0.4, color=color, label=name)
    ax1.set_ylabel("mean accuracy after the last task")
    ax1.set_ylim(0, 1.05)
    ax1.legend(loc="lower right")
    ax2.set_ylabel("wall time per run (s)")
    ax2.set_xticks(x, labels, fontsize=8)
    ax2.set_xlabel("method and scenario (split digits, 5 tasks)")
    fig.suptitle(f"Continual learning, split digits\n{common.label(meta)}", fontsize=9)
    common.save_figure(fig, path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.base_args(p, "continual")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = p.parse_args()
    if args.quick:
        methods, scenarios, seeds, epochs, import_runs = ["fine-tuning", "si"], ["class"], [0], 1, 1
    else:
        methods, scenarios, seeds, epochs, import_runs = [*METHODS, "joint-cumulative"], \
            ["class", "task"], args.seeds, 10, 5
    config = ContinualConfig(epochs=epochs)
    meta = {"date": common.now(), "machine": common.machine(), "load_start": common.load(),
            "config": {"epochs": epochs, "batch_size": 32, "lr": 1e-3, "seeds": seeds}}
    torch.set_num_threads(1)
    mine, si_ours = ours(methods, scenarios, seeds, config)
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
    s_av = {(next(k for k, v in METHODS.items() if v == m), sc): v
            for (m, sc), v in summary(peer.get("rows", [])).items()}
    table_rows = []
    for (method, scenario), o in s_ours.items():
        a = s_av.get((method, scenario), {})
        row = {"method": method, "scenario": scenario, "ours_acc": o["acc_mean"],
               "ours_sd": o["acc_sd"], "ours_s": o["seconds"], "avalanche_acc": a.get("acc_mean"),
               "avalanche_sd": a.get("acc_sd"), "avalanche_s": a.get("seconds")}
        if a:
            row["speedup"] = a["seconds"] / o["seconds"]
            row["acc_diff_points"] = 100 * (o["acc_mean"] - a["acc_mean"])
        table_rows.append(row)
    meta["load_end"] = common.load()
    print(common.label(meta))
    print(common.table(table_rows, [
        ("method", "method"), ("scenario", "scenario"), ("ours_acc", "ours acc"),
        ("ours_sd", "sd"), ("avalanche_acc", "Avalanche acc"), ("avalanche_sd", "sd"),
        ("ours_s", "ours s/run"),
        ("avalanche_s", "Avalanche s/run"), ("speedup", "speed-up")]))
    print("import s:", imports)
    print("SI check, ours:", si_ours)
    print("SI check, Avalanche:", peer.get("si_check"))
    si_changes = all(c["max_abs_loss_diff_si_vs_naive"] > 0 for c in si_ours)
    common.write_json(args.json, {"name": "continual", **meta, "ours": mine, "avalanche": peer,
                                  "table": table_rows, "import_s": imports,
                                  "si_check_ours": si_ours, "si_changes_training": si_changes})
    figure(table_rows, meta, args.figure)
    if si_ours and not si_changes:
        sys.exit("SI left the training identical to naive fine-tuning")


if __name__ == "__main__":
    main()
