"""Regenerate the numbers and figures of "What copying biology does not buy" (book/limits.md)
and the full comparison of M4T4, from the library alone.

    python book/limits_figures.py            # everything, 3 seeds (about 15-30 min on 2 cores)
    python book/limits_figures.py --quick    # 1 seed, fewer worlds: a smoke test
    python book/limits_figures.py --replot   # figures and tables from the saved results

Writes ``book/_static/limits/results.json`` (every run: method, scenario, seed, accuracy
matrix) and the figures ``book/_static/limits/*.png``, and prints the tables in markdown.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from neuroai_core import energy  # noqa: E402
from neuroai_core.continual import (  # noqa: E402
    ContinualConfig,
    compare_task_free,
    format_table,
    forward_transfer,
    transfer_run,
)
from neuroai_core.neuromodulation import (  # noqa: E402
    Neuromodulators,
    SoftmaxAgent,
    SurpriseLearner,
    run_bandit,
    volatile_bandit,
)

OUT = Path(__file__).resolve().parent / "_static" / "limits"
#: Epochs per task: split digits has ~250 training images per task, permuted and rotated
#: digits ~1257, so 10 and 2 epochs give about the same number of steps (80) per task.
EPOCHS = {"split digits": 10, "permuted digits": 2, "rotated digits": 2}


def continual_table(seeds) -> list[dict]:
    rows = []
    for stream in ("split digits", "permuted digits"):
        cfg = ContinualConfig(epochs=EPOCHS[stream])
        methods = ("fine-tuning", "ewc", "si", "replay", "xdg", "modulated", "surprise")
        for r in compare_task_free(methods=methods, seeds=seeds, stream=stream, config=cfg):
            rows.append(dict(r, stream=stream))
        print(f"  {stream} done", flush=True)
    return rows


def transfer(seeds) -> list[dict]:
    rows = []
    for stream in ("rotated digits", "permuted digits"):
        cfg = ContinualConfig(epochs=EPOCHS[stream])
        for method in ("fine-tuning", "surprise"):
            for seed in seeds:
                r = transfer_run(stream, method, seed, cfg)
                r["forward_transfer"] = forward_transfer(r["R"], r["init"])
                rows.append({k: (v.tolist() if isinstance(v, np.ndarray) else v)
                             for k, v in r.items()})
    return rows


def bandit(n_worlds: int) -> dict:
    """M3T1's comparison: fixed learning rates against the surprise learner."""
    rng = np.random.default_rng(2026)
    alphas = [0.02, 0.05, 0.1, 0.2, 0.4, 0.8]
    fixed = {str(a): [] for a in alphas}
    surprise, s_alpha = [], []
    for _ in range(n_worlds):
        world = volatile_bandit(600, seed=rng)
        seed = int(rng.integers(2**31))
        run_s = run_bandit(SurpriseLearner(), world, seed=seed)
        surprise.append(float(run_s.rewards.mean()))
        s_alpha.append(float(run_s.alphas.mean()))
        for a in alphas:
            run_f = run_bandit(SoftmaxAgent(Neuromodulators(acetylcholine=a)), world, seed=seed)
            fixed[str(a)].append(float(run_f.rewards.mean()))
    return dict(alphas=alphas, fixed=fixed, surprise=surprise, surprise_alpha=s_alpha)


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


def mean_std(values) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def figures(res: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    # 1. the continual table as bars
    rows = res["continual"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for ax, stream in zip(axes, ("split digits", "permuted digits"), strict=True):
        sub = [r for r in rows if r["stream"] == stream]
        methods = list(dict.fromkeys(r["method"] for r in sub))
        for k, scenario in enumerate(("task", "domain", "class")):
            means = [np.mean([r["average_accuracy"] for r in sub
                              if r["method"] == m and r["scenario"] == scenario] or [np.nan])
                     for m in methods]
            stds = [np.std([r["average_accuracy"] for r in sub
                            if r["method"] == m and r["scenario"] == scenario] or [np.nan])
                    for m in methods]
            ax.bar(np.arange(len(methods)) + (k - 1) * 0.27, means, 0.27, yerr=stds,
                   label=f"{scenario}-IL", capsize=2)
        ax.set_xticks(range(len(methods)), methods, rotation=30, ha="right")
        ax.set_title(stream)
        ax.set_ylabel("average accuracy after 5 tasks")
    axes[0].legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(OUT / "continual.png", dpi=110)
    plt.close(fig)
    # 2. transfer
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    tr = res["transfer"]
    labels, fwt, ltr = [], [], []
    for stream in ("rotated digits", "permuted digits"):
        for method in ("fine-tuning", "surprise"):
            sub = [r for r in tr if r["stream"] == stream and r["method"] == method]
            labels.append(f"{stream.split()[0]}\n{method}")
            fwt.append([r["forward_transfer"] for r in sub])
            ltr.append([r["learning_transfer"] for r in sub])
    x = np.arange(len(labels))
    ax.bar(x - 0.2, [np.mean(v) for v in fwt], 0.4, yerr=[np.std(v) for v in fwt], capsize=2,
           label="forward transfer (vs untrained)")
    ax.bar(x + 0.2, [np.mean(v) for v in ltr], 0.4, yerr=[np.std(v) for v in ltr], capsize=2,
           label="after learning (vs trained alone)")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x, labels)
    ax.set_ylabel("transfer (accuracy difference)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(OUT / "transfer.png", dpi=110)
    plt.close(fig)
    # 3. bandit
    b = res["bandit"]
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    ax.semilogx(b["alphas"], [np.mean(b["fixed"][str(a)]) for a in b["alphas"]],
                "o-", color="tab:gray", label="fixed learning rate")
    ax.semilogx([np.mean(b["surprise_alpha"])], [np.mean(b["surprise"])], "*", ms=14,
                color="tab:purple", label="surprise learner (at its mean α)")
    ax.set_xlabel("learning rate α (log scale)")
    ax.set_ylabel("mean reward per trial")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(OUT / "bandit.png", dpi=110)
    plt.close(fig)


def tables(res: dict) -> str:
    out = []
    for stream in ("split digits", "permuted digits"):
        sub = [r for r in res["continual"] if r["stream"] == stream]
        out.append(f"**{stream}**, average accuracy after 5 tasks, mean ± std over "
                   f"{len({r['seed'] for r in sub})} seeds\n\n" + format_table(sub))
        det = [r for r in sub if r["method"] == "surprise"]
        lines = ["| scenario | seed | true switches | detections | contexts |",
                 "|---|---|---|---|---|"]
        for r in det:
            lines.append(f"| {r['scenario']} | {r['seed']} | {r['switches']} | "
                         f"{r['detections']} | {r['n_contexts']} |")
        out.append("\n".join(lines))
    lines = ["| sequence | method | forward transfer (L-P 2017) | after learning |",
             "|---|---|---|---|"]
    for stream in ("rotated digits", "permuted digits"):
        for method in ("fine-tuning", "surprise"):
            sub = [r for r in res["transfer"] if r["stream"] == stream and r["method"] == method]
            lines.append(f"| {stream} | {method} | "
                         f"{mean_std([r['forward_transfer'] for r in sub])} | "
                         f"{mean_std([r['learning_transfer'] for r in sub])} |")
    out.append("\n".join(lines))
    b = res["bandit"]
    lines = ["| learner | mean reward per trial |", "|---|---|"]
    for a in b["alphas"]:
        lines.append(f"| fixed α = {a} | {mean_std(b['fixed'][str(a)])} |")
    lines.append(f"| surprise learner (mean α {np.mean(b['surprise_alpha']):.2f}) | "
                 f"{mean_std(b['surprise'])} |")
    out.append("\n".join(lines))
    s = res["spikes"]
    out.append(f"Spikes save operations below {s['break_even_ops_hz']:.0f} Hz "
               f"(one spike per input per {s['window_ms']:.0f} ms) and arithmetic energy below "
               f"{s['break_even_energy_hz']:.0f} Hz ({s['e_mac_pJ']} pJ per MAC / "
               f"{s['e_add_pJ']} pJ per add).")
    return "\n\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed: a smoke test")
    parser.add_argument("--replot", action="store_true",
                        help="redraw figures and tables from results.json, run nothing")
    args = parser.parse_args()
    if args.replot:
        res = json.loads((OUT / "results.json").read_text())
        figures(res)
        print(tables(res))
        return
    seeds = (0,) if args.quick else (0, 1, 2)
    start = time.perf_counter()
    res = dict(continual=continual_table(seeds), transfer=transfer(seeds),
               bandit=bandit(5 if args.quick else 20), spikes=spikes_energy())
    res["seconds"] = time.perf_counter() - start
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(res, indent=1, default=float))
    figures(res)
    print(tables(res))
    print(f"\n{res['seconds']:.0f} s")


if __name__ == "__main__":
    main()
