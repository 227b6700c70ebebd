"""LIF population throughput: neuroai_core against a plain numpy loop, plain torch, Brian2
(numpy, cython, C++ standalone), snnTorch and Norse.

    python bench/lif.py [--quick] [--no-peers] [--runs 7]

The network: N independent LIF neurons, tau 10 ms, dt 0.1 ms, threshold 1, reset to 0, no
refractory period, constant inputs uniform in [0.5, 2] (seed 0); N = 1,000 and 10,000,
T = 10,000 steps; float64 everywhere, one thread. Each implementation is warmed up, then
timed ``--runs`` times; the table gives the median, in neuron-steps per second. Spike
totals must agree between implementations of the same integrator (exact or Euler).
Peers run in their venvs (bench/peers/make_envs.sh); a missing one is "not installed".
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time

import common
import numpy as np

from neuroai_core.neurons import LIF_PRESETS, simulate_lif_counts
from neuroai_core.neurons.fast import BLOCK, numba_available

PARAMS = LIF_PRESETS["benchmark"]
DT_MS, TAU_MS = PARAMS.dt_ms, PARAMS.tau_m_ms


def inputs(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 2.0, n)


def plain_numpy(current: np.ndarray, steps: int) -> int:
    """What one writes in numpy: exact integration, in-place updates, boolean reset."""
    a = math.exp(-DT_MS / TAU_MS)
    b = (1.0 - a) * current
    v = np.zeros_like(current)
    count = np.zeros(current.shape, dtype=np.int64)
    for _ in range(steps):
        v *= a
        v += b
        spiked = v >= 1.0
        v[spiked] = 0.0
        count += spiked
    return int(count.sum())


def plain_torch(current: np.ndarray, steps: int) -> int:
    """The same in torch (float64, one thread, no autograd)."""
    import torch

    a = math.exp(-DT_MS / TAU_MS)
    with torch.inference_mode():
        b = (1.0 - a) * torch.from_numpy(current)
        v = torch.zeros_like(b)
        count = torch.zeros(b.shape, dtype=torch.int64)
        for _ in range(steps):
            v.mul_(a).add_(b)
            spiked = v >= 1.0
            v.masked_fill_(spiked, 0.0)
            count += spiked
        return int(count.sum())


def ours(method: str, backend: str):
    params = dataclasses.replace(PARAMS, method=method)

    def run(current, steps):
        res = simulate_lif_counts(params, current, steps * DT_MS, backend=backend)
        return int(res.spike_counts.sum())
    return run


def local_rows(n: int, steps: int, runs: int) -> list[dict]:
    import torch

    torch.set_num_threads(1)
    current = inputs(n)
    impls = []
    if numba_available():
        impls += [("neuroai_core (numba)", "exact", ours("exact", "numba")),
                  ("neuroai_core (numba)", "euler", ours("euler", "numba"))]
    # The fallback without numba is the general time loop, simulate(LIF, ...), on numpy.
    impls += [("neuroai_core (numpy fallback)", "exact", ours("exact", "simulate")),
              ("plain numpy loop", "exact", plain_numpy),
              ("plain torch loop", "exact", plain_torch)]
    rows = []
    for name, method, fn in impls:
        before = common.load()
        med, times, spikes = common.median_time(lambda fn=fn: fn(current, steps), runs)
        rows.append({"impl": name, "method": method, "n": n, "steps": steps, "median_s": med,
                     "times_s": times, "spikes": spikes, "load_before": before,
                     "load_after": common.load()})
    return rows


def peer_rows(n: int, steps: int, runs: int) -> list[dict]:
    rows = []
    jobs = [("Brian2 numpy", "brian2", "lif_brian2.py", {"mode": "numpy"}),
            ("Brian2 cython", "brian2", "lif_brian2.py", {"mode": "cython"}),
            ("Brian2 C++ standalone", "brian2", "lif_brian2.py", {"mode": "cpp_standalone"}),
            ("snnTorch", "snn", "lif_snn.py", {"lib": "snntorch"}),
            ("Norse", "snn", "lif_snn.py", {"lib": "norse"})]
    for name, env, script, extra in jobs:
        before = common.load()
        res = common.run_worker(env, script, {"n": n, "steps": steps, "runs": runs, "seed": 0}
                                | extra)
        row = {"impl": name, "n": n, "steps": steps, "load_before": before,
               "load_after": common.load()} | res
        rows.append(row)
    return rows


def ceilings(n: int, steps: int) -> dict:
    """What limits the simulation: an upper bound and the machine's bandwidths."""
    out = {}
    b = (1 - math.exp(-DT_MS / TAU_MS)) * inputs(n)
    # Python/ufunc overhead per step: the numpy fallback (simulate) on a single neuron.
    t0 = time.perf_counter()
    simulate_lif_counts(PARAMS, [1.5], 2000 * DT_MS, backend="simulate")
    out["numpy_overhead_us_per_step"] = (time.perf_counter() - t0) / 2000 * 1e6
    # Bandwidth of one in-place ufunc over n float64 (cache-resident) and over 256 MiB (RAM).
    for key, size, reps in (("cache_GBps", n, 2000), ("ram_GBps", 32 * 2**20, 5)):
        x, y = np.ones(size), np.ones(size)
        np.add(x, y, out=x)
        t0 = time.perf_counter()
        for _ in range(reps):
            np.add(x, y, out=x)
        out[key] = 3 * 8 * size * reps / (time.perf_counter() - t0) / 1e9  # 2 reads + 1 write
    if numba_available():
        import numba

        @numba.njit(cache=False)
        def affine_only(b, steps, block):  # the update without threshold: an upper bound
            vb = np.zeros(block)
            bb = np.empty(block)
            total = 0.0
            a = math.exp(-0.01)
            for start in range(0, b.shape[0], block):
                m = min(block, b.shape[0] - start)
                bb[:m] = b[start:start + m]
                vb[:m] = 0.0
                for _ in range(steps):
                    for j in range(m):
                        vb[j] = a * vb[j] + bb[j]
                total += vb[:m].sum()
            return total

        affine_only(b[:10], 2, BLOCK)
        med, _, _ = common.median_time(lambda: affine_only(b, steps, BLOCK), 5)
        out["affine_only_neuron_steps_per_s"] = n * steps / med
    return out


def check_agreement(rows: list[dict]) -> dict:
    """Spike totals of every implementation, by integrator: one value each when they agree."""
    totals: dict = {}
    for r in rows:
        if r.get("spikes") is not None:
            totals.setdefault(f"{r['method']} N={r['n']}", {})[r["impl"]] = r["spikes"]
    return {k: {"totals": v, "agree": len(set(v.values())) == 1} for k, v in totals.items()}


def figure(rows: list[dict], meta: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({r["n"] for r in rows})
    names = list(dict.fromkeys(f"{r['impl']} ({r['method']})" for r in rows if r.get("rate")))
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(names) + 1.8))
    height = 0.8 / len(sizes)
    for i, n in enumerate(sizes):
        rate = {f"{r['impl']} ({r['method']})": r["rate"] for r in rows
                if r["n"] == n and r.get("rate")}
        ys = [k + i * height for k in range(len(names))]
        ax.barh(ys, [rate.get(name, 0) for name in names], height, label=f"N = {n:,}")
    ax.set_yticks([k + height * (len(sizes) - 1) / 2 for k in range(len(names))], names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("throughput (neuron-steps per second, log scale)")
    ax.set_title(f"LIF population, T = {rows[0]['steps']:,} steps\n{common.label(meta)}",
                 fontsize=9)
    ax.legend(loc="lower right")
    common.save_figure(fig, path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.base_args(p, "lif")
    p.add_argument("--runs", type=int, default=7, help="timed runs after the warm-up")
    args = p.parse_args()
    sizes, steps, runs = ((200,), 300, 1) if args.quick else ((1000, 10000), 10000, args.runs)
    meta = {"date": common.now(), "machine": common.machine(), "load_start": common.load()}
    rows = []
    for n in sizes:
        rows += local_rows(n, steps, runs)
        if not args.no_peers:
            rows += peer_rows(n, steps, runs)
    for r in rows:
        if r.get("median_s"):
            r["rate"] = r["n"] * r["steps"] / r["median_s"]
    meta["ceilings"] = {n: ceilings(n, steps) for n in sizes}
    meta["load_end"] = common.load()
    agreement = check_agreement(rows)
    targets = {}
    for n in sizes:
        mine = max((r["rate"] for r in rows if r["n"] == n and r.get("rate")
                    and r["impl"] == "neuroai_core (numba)"), default=None)
        peers = [r for r in rows if r["n"] == n and r.get("rate")
                 and not r["impl"].startswith("neuroai_core")]
        best = max(peers, key=lambda r: r["rate"], default=None)
        targets[n] = {"ours": mine, "fastest_peer": best and best["impl"],
                      "fastest_peer_rate": best and best["rate"],
                      "met": bool(mine and (best is None or mine >= best["rate"]))}
    print(common.label(meta))
    print(common.table(rows, [("impl", "implementation"), ("method", "integrator"), ("n", "N"),
                              ("rate", "neuron-steps/s"), ("median_s", "median s"),
                              ("spikes", "spikes"), ("status", "status"),
                              ("compile_s", "compile s")]))
    print("agreement:", {k: v["agree"] for k, v in agreement.items()})
    print("targets:", targets)
    common.write_json(args.json, {"name": "lif", **meta, "rows": rows,
                                  "agreement": agreement, "targets": targets})
    figure(rows, meta, args.figure)
    sys.exit(0 if all(v["agree"] for v in agreement.values()) else 1)


if __name__ == "__main__":
    main()
