"""Write the website's Performance page, book/performance.md, from bench/results/*.json.

    python bench/page.py

Run it after the benchmark scripts; it measures nothing itself, so the page always shows
exactly what the JSON files hold (machine, date, load averages included).
"""

from __future__ import annotations

import json

import common

PAGE = common.ROOT / "book" / "performance.md"
#: Bytes the numpy fallback moves per neuron-step: R I, + E_L, x g, a V, + (16-24 B each),
#: >= (9 B), where (17 B), counts += spikes (17 B).
FALLBACK_BYTES = 130


def load(name: str) -> dict | None:
    path = common.RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def fmt(x, spec=".3g", none="-") -> str:
    return none if x is None else format(x, spec)


def measured(d: dict) -> str:
    return (f"Measured on {common.label(d)}; load average (1 min) {d['load_start'][0]} at the "
            f"start, {d['load_end'][0]} at the end.")


def lif_section(d: dict | None) -> list[str]:
    out = ["## 1. LIF population throughput", ""]
    if d is None:
        return out + ["Not measured yet: run `python bench/lif.py`.", ""]
    out += [
        "The same network in every implementation: N independent LIF neurons, "
        "tau = 10 ms, dt = 0.1 ms, threshold 1, reset to 0, no refractory period, constant "
        "inputs uniform in [0.5, 2] (seed 0), T = 10,000 steps, float64, one thread. "
        "Throughput is N T / (median wall time of the timed runs after a warm-up), in "
        "neuron-steps per second. Brian2's C++ standalone time is the program's own "
        "simulation timer; its compile time is reported apart.",
        "",
        "Integrators. The exact step `v <- v_inf + (v - v_inf) exp(-dt/tau)` (Rotter & "
        "Diesmann 1999) is what Brian2 uses for this linear equation (method `exact`); "
        "forward Euler `v <- v + dt/tau (v_inf - v)` is what Norse's LIF integrates "
        "(`LIFBoxCell`). snnTorch's `Leaky` computes `U <- beta U + X` and does not scale "
        "its input, so it is given `X = (1 - beta) I` with `beta = exp(-dt/tau)`, which is "
        "the exact step, and `reset_delay=False` so that it resets in the step it fires. "
        "Euler underestimates the leak and fires about 0.5% more. Spike totals of every "
        "implementation of the same integrator must agree:",
        "",
    ]
    for k, v in d["agreement"].items():
        totals = ", ".join(f"{name} {n:,}" for name, n in v["totals"].items())
        out.append(f"- {k}: {'all equal' if v['agree'] else 'DIFFER'} ({totals})")
    out += ["", measured(d), "",
            "| implementation | integrator | N | neuron-steps/s | median run (s) | spikes "
            "| compile (s) | load before / after |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in d["rows"]:
        if r.get("status") not in (None, "ok"):
            out.append(f"| {r['impl']} | - | {r['n']:,} | {r['status']} | | | | |")
            continue
        out.append(
            f"| {r['impl']} | {r['method']} | {r['n']:,} | {fmt(r.get('rate'), '.2e')} | "
            f"{fmt(r.get('median_s'), '.4f')} | {r['spikes']:,} | {fmt(r.get('compile_s'), '.1f')}"
            f" | {r['load_before'][0]} / {r['load_after'][0]} |")
    out += ["", "```{figure} _static/performance/lif.png", ":alt: LIF throughput bar chart", "",
            f"Throughput of each implementation at both sizes ({common.label(d)}).", "```", ""]
    for n, t in d["targets"].items():
        out.append(f"- N = {int(n):,}: neuroai_core (numba) {fmt(t['ours'], '.2e')} "
                   f"neuron-steps/s, fastest peer {t['fastest_peer']} "
                   f"{fmt(t['fastest_peer_rate'], '.2e')}: "
                   f"target {'met' if t['met'] else 'NOT met'}.")
    out += ["", "### What limits ours, and how far from that limit", ""]
    for n, c in d["ceilings"].items():
        ours = d["targets"][n]["ours"]
        fallback = next((r.get("rate") for r in d["rows"] if r["n"] == int(n)
                         and r["impl"] == "neuroai_core (numpy fallback)"), None)
        line = f"- N = {int(n):,}: "
        if c.get("affine_only_neuron_steps_per_s") and ours:
            ceil = c["affine_only_neuron_steps_per_s"]
            line += (f"the numba kernel keeps each block of 512 neurons in L1 and runs it "
                     f"through all steps, so it never waits for memory; its bound is the "
                     f"arithmetic. The bare update `v <- a v + b` in the same loop (no "
                     f"threshold, reset or count) runs at {ceil:.2e} neuron-steps/s; ours "
                     f"reaches {ours / ceil:.0%} of it. ")
        if fallback:
            bound = c["cache_GBps"] * 1e9 / FALLBACK_BYTES
            line += (f"The numpy fallback pays {c['numpy_overhead_us_per_step']:.1f} us of "
                     f"Python and ufunc dispatch per step, which caps it at "
                     f"{int(n) / c['numpy_overhead_us_per_step'] * 1e6:.2e} neuron-steps/s at this "
                     f"N, and moves about {FALLBACK_BYTES} bytes per neuron-step (the general "
                     f"step of simulate: eight passes over the state, each into a new "
                     f"temporary); at the measured in-cache bandwidth of "
                     f"{c['cache_GBps']:.0f} GB/s "
                     f"that is at most {bound:.2e}. It reaches {fallback:.2e}. "
                     f"(RAM bandwidth, for comparison: {c['ram_GBps']:.0f} GB/s.)")
        line += (f" A loop with time outermost (Brian2, the plain loops) streams the state "
                 f"through memory every step, at least 24 bytes per neuron-step (read v and "
                 f"the input, write v): at most {c['cache_GBps'] * 1e9 / 24:.2e} neuron-steps/s "
                 f"from cache, {c['ram_GBps'] * 1e9 / 24:.2e} from RAM; the blocked kernel "
                 f"has no such bound.")
        out.append(line)
    return out + [""]


def busy_note(d: dict) -> str:
    """A warning when the load average exceeded the number of cores during a measurement."""
    cores = d.get("machine", {}).get("cores") or 1
    if max(d["load_start"][0], d["load_end"][0]) <= cores:
        return ""
    return (" The load average was above the number of cores: other jobs shared the CPU, "
            "so the absolute times are inflated and vary from run to run; the two libraries "
            "ran one after the other under similar load, so their ratio is the fairer "
            "comparison.")


def continual_section(d: dict | None) -> list[str]:
    out = ["## 2. Continual learning: split digits", ""]
    if d is None:
        return out + ["Not measured yet: run `python bench/continual.py`.", ""]
    av = d["avalanche"]
    n = d["config"].get("n_seeds", len(d["config"]["seeds"]))
    out += [
        "Five two-class tasks of scikit-learn's 8x8 digits (0/1, ..., 8/9), the same 70/30 "
        "stratified split per seed in both libraries, MLP 64-100-100-10, Adam 1e-3, batch "
        "32, 10 epochs per task, one thread. Accuracy: mean over the five test sets after "
        f"the last task, mean ± standard error over seeds {d['config']['seeds']} (standard "
        "deviation with ddof = 1, divided by the square root of the number of seeds). Time: "
        f"the CPU time of all {n} seeds' runs of a row (process CPU time, so other jobs on a "
        "busy machine do not count; wall time is in `bench/results/continual.json`). "
        "Ours includes testing on all five tasks after every task (the whole accuracy "
        "matrix); Avalanche's is its `train` calls only.",
        "",
        f"Avalanche: {av.get('status')}"
        + (f", version {av.get('avalanche')} on torch {av.get('torch')}" if av.get("avalanche")
           else "")
        + ". Strategies Naive, EWC, SynapticIntelligence, Replay (200 samples) and "
        "JointTraining; a growing head (`IncrementalClassifier`) in class-IL and one "
        "two-unit head per task (`MultiHeadClassifier`) in task-IL, as our masked output "
        "units. EWC's lambda does not carry over: Avalanche squares mini-batch gradients, "
        "which are about batch-size times smaller than our per-sample Fisher, so it gets "
        f"lambda = {av.get('ewc_lambda')} against our 100 (the two Fisher estimators are "
        "compared by van de Ven 2025, arXiv:2502.11756). SI: c = 1, "
        "xi = 0.1 in both. Avalanche's JointTraining trains once on all tasks, and so does "
        "our row *joint* (one `train_task` on `joint_batches` of all five tasks, then one "
        "test). The course's `run_method('joint')` retrains on all data so far after every "
        "task, to fill the whole accuracy matrix (1 + 2 + ... + 5 = 15 task-epochs of data "
        "against 5: three times the training steps); it is the row *joint-cumulative*, "
        "which has no Avalanche counterpart.",
        "",
        "Every run of ours goes through the one training loop of the course, "
        "`neuroai_core.continual.train.train_task`: plain PyTorch (`loss.backward()`, "
        "`torch.optim.Adam`), the penalties of EWC and SI added to the loss, the SI path "
        "integral accumulated from the task gradient. Ours is timed two ways: the seeds one "
        "after the other (`run_method`, column *separate*), and all seeds at once as one "
        "network with stacked weights (`run_seeds`, `neuroai_core.continual.stack`, column "
        "*stacked*): on a network this small (batches of 32) a step costs mostly Python "
        "and the dispatch of a few dozen small torch operations, which stacking pays once "
        "for all seeds. The stacked run also uses Adam's fused kernel "
        "(`torch.optim.Adam(fused=True)`: the same update, rounded differently, about a "
        "quarter faster per step); the separate runs keep the default kernel, so every "
        "existing `run_method` call keeps its exact numbers. The stacked copies reach the "
        "accuracies of the separate runs "
        "(largest difference of any accuracy-matrix entry over all rows and seeds: "
        f"{fmt(d.get('max_abs_R_diff_stacked_vs_separate'), '.3g')}). EWC's Fisher takes one "
        "backward pass per output unit for all samples at once (per-sample gradients of a "
        "linear layer are outer products, so their squares sum as one matrix product), and "
        "its per-task penalties are summed as one quadratic (Goodfellow 2015 for the "
        "per-sample trick; Adam acts on each weight alone, Kingma & Ba 2015, which is why "
        "stacked copies train as separate ones).",
        "", measured(d) + busy_note(d), "",
        f"| method | scenario | ours accuracy | Avalanche accuracy | difference (points) "
        f"| Avalanche CPU s ({n} runs) | ours CPU s, separate | ours CPU s, stacked "
        "| speed-up, separate | speed-up, stacked |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in d["table"]:
        av_acc = (f"{r['avalanche_acc']:.3f} ± {r['avalanche_se']:.3f}"
                  if r.get("avalanche_acc") is not None
                  else "-" if av.get("status") == "ok" else "not installed")
        out.append(f"| {r['method']} | {r['scenario']}-IL | {r['ours_acc']:.3f} ± "
                   f"{r['ours_se']:.3f} | {av_acc} | {fmt(r.get('acc_diff_points'), '+.1f')} | "
                   f"{fmt(r.get('avalanche_cpu_s'), '.2f')} | {r['separate_cpu_s']:.2f} | "
                   f"{r['stacked_cpu_s']:.2f} | {fmt(r.get('speedup_separate'), '.1f')} | "
                   f"{fmt(r.get('speedup'), '.1f')} |")
    compared = [r for r in d["table"] if r.get("speedup")]
    met = [f"{r['method']} {r['scenario']}-IL" for r in compared if r["speedup"] >= 5]
    missed = [f"{r['method']} {r['scenario']}-IL ({r['speedup']:.1f}x)" for r in compared
              if r["speedup"] < 5]
    out += ["", f"Target (all {n} seeds stacked in at most a fifth of Avalanche's CPU time for "
            f"the same {n} runs, speed-up 5 or more): met by {len(met)} of {len(compared)} "
            "compared rows" + (f"; missed by {', '.join(missed)}" if missed else "") + "."]
    imp = d["import_s"]
    out += ["", "Import time in a fresh interpreter (median of 5 runs of `python -c 'import X'`, "
            "interpreter start included): "
            + ", ".join(f"`{k}` {fmt(v, '.2f')} s" for k, v in imp.items())
            + ". `neuroai_core` alone imports nothing heavy; `neuroai_core.continual` imports "
            "torch (timed alone in the same way for comparison), which is almost all of its "
            "time: what it adds on top of torch is the difference of the two.", "",
            "```{figure} _static/performance/continual.png",
            ":alt: bar charts per method and scenario: mean accuracy of ours and Avalanche's, "
            "and the CPU time of all seeds for Avalanche, ours one seed after another and ours "
            "stacked", "",
            f"Accuracy (mean ± standard error over seeds) and CPU time of all seeds, ours and "
            f"Avalanche's ({common.label(d)}).", "```",
            "", "### Avalanche's synaptic intelligence does nothing on CPU", ""]
    si = av.get("si_check") or []
    if si:
        diffs = ", ".join(f"{c['scenario']}-IL seed {c['seed']}: "
                          f"{c['max_abs_weight_diff_si_vs_naive']:g}" for c in si)
        out.append(
            "Largest difference between the final weights of Avalanche's "
            f"SynapticIntelligence and of Naive at the same seed: {diffs}. A zero means SI "
            "trained exactly as naive fine-tuning. The cause: Avalanche 0.6.0's "
            "`SynapticIntelligencePlugin.extract_weights` stores "
            "`param.detach().cpu().flatten()`, which on CPU is a view of the live parameter, "
            "not a copy; the 'old' and 'new' weights it subtracts are then the same memory, "
            "every weight change it integrates is zero, the importance is zero and so is "
            "the penalty. (On a GPU, `.cpu()` copies and SI works.)")
    ours_si = ", ".join(f"{c['scenario']}-IL seed {c['seed']}: "
                        f"{c['max_abs_loss_diff_si_vs_naive']:.2g}" for c in d["si_check_ours"])
    out += ["", "Ours changes the training (largest difference of the task loss from naive "
            f"fine-tuning at the same seed: {ours_si}); the script fails if it does not.", ""]
    return out


def tutorials_section(d: dict | None) -> list[str]:
    out = ["## 3. Tutorials", ""]
    if d is None:
        return out + ["Not measured yet: run `python bench/tutorials.py`.", ""]
    b = d["budgets_s"]
    cpu = any("run_cpu_s" in r for r in d["rows"])
    judged = ("; the budgets are judged on the kernel's CPU time, wall time is given beside "
              "it" if cpu else " (wall time)")
    out += [f"`neuroai check` on every tutorial: the source notebook run offline (budget "
            f"{b['run']:g} s) and its run under the autograder (budget {b['autograde']:g} s)"
            f"{judged}.", "", measured(d), ""]
    if cpu:
        out += ["| tutorial | run CPU (s) | run wall (s) | autograder CPU (s) "
                "| autograder wall (s) | check | load before / after |",
                "| --- | ---: | ---: | ---: | ---: | --- | --- |"]
    else:
        out += ["| tutorial | run (s) | under the autograder (s) | check | load before / after |",
                "| --- | ---: | ---: | --- | --- |"]
    for r in d["rows"]:
        ok = {True: "ok", False: "FAIL", None: "-"}[r.get("ok")]
        lb, la = r.get("load_before", ["-"]), r.get("load_after", ["-"])
        times = (f"{fmt(r.get('run_cpu_s'), '.1f')} | {r['run_s']:.1f} | "
                 f"{fmt(r.get('autograde_cpu_s'), '.1f')} | " if cpu else f"{r['run_s']:.1f} | ")
        out.append(f"| {r['tutorial']} | {times}{fmt(r['autograde_s'], '.1f')} | "
                   f"{ok} | {lb[0]} / {la[0]} |")
    out += ["", f"All within budget: {'yes' if d['all_within_budget'] else 'no'}.", "",
            "```{figure} _static/performance/tutorials.png", ":alt: tutorial run times", "",
            f"Run time of each tutorial and its budgets ({common.label(d)}).", "```", ""]
    return out


BUILD_MEASURES = [
    ("first_build", "first `./dev.sh build` of a fresh clone, environment included"),
    ("repeat_build", "`./dev.sh build` again, nothing changed"),
    ("one_changed", "`./dev.sh build` after one tutorial's source changed"),
    ("check_one", "`neuroai check ID` after a one-sentence edit (and `release ID`)"),
]


def build_section(quiet: dict | None, busy: dict | None) -> list[str]:
    out = ["## 5. The main command", ""]
    if quiet is None and busy is None:
        return out + ["Not measured yet: run `python bench/build.py` (and with `--load`).", ""]
    ref = quiet or busy
    out += [
        "`bench/build.py` clones the repository into a temporary folder (its last commit) "
        "and times the commands as typed, wall time of the whole command: the first "
        "`./dev.sh build` (the virtual environment created from the pinned requirements "
        "by uv, its download cache empty, then release, check and the website), the same "
        "again with nothing changed, again "
        f"after a sentence was added to one source ({ref['tutorial']}), and `neuroai "
        "check` of that tutorial after a second edit and its `neuroai release`. Repeats are "
        "fast because `check`, `release` and the website reuse what did not change (a "
        "cache under `_build/cache/` keyed by the digests of the tutorial's files, the "
        "science package, the tooling and the installed versions). With `--load`, two "
        "processes spin on both cores throughout. The budgets of `neuroai check` are "
        "judged on the kernels' CPU time, which other work changes far less than the wall "
        "time (`tests/test_course.py` checks one tutorial with both cores kept busy and "
        "asks for the same verdict). Read the load averages: on a shared machine the "
        "first table is not a quiet one either.", ""]
    for label, d in (("without added load", quiet),
                     ("with two spinning processes added", busy)):
        if d is None:
            out += [f"Not measured {label} yet.", ""]
            continue
        out += [f"**{label.capitalize()}.** {measured(d)} Commit {d['commit']}.", "",
                "| measure | wall (s) | target (s) | phases (s) | exit |",
                "| --- | ---: | ---: | --- | --- |"]
        for key, what in BUILD_MEASURES:
            r = d["runs"].get(key)
            if r is None:
                continue
            phases = ", ".join(f"{k} {v}" for k, v in r["phases_s"].items()) or "-"
            target = d["targets_s"].get(key)
            out.append(f"| {what} | {r['wall_s']:.1f} | {fmt(target, 'g')} | {phases} | "
                       f"{'ok' if r['returncode'] == 0 else 'failed'} |")
        out.append("")
    first = (quiet or {}).get("runs", {}).get("first_build")
    if first and first.get("tail"):
        out += ["What the terminal showed during that first build, without added load "
                "(its last lines; on a terminal a progress bar also moves across the "
                "tutorials):", "", "```text", *first["tail"], "```", ""]
    return out


PHASE_NAMES = {
    "kernel_start": "kernel: start (interpreter, ipykernel)",
    "kernel_imports": "kernel: cells with imports",
    "kernel_cells": "kernel: other cells",
    "kernel_tests": "kernel: the student's functions under the tests, and the channel",
    "grader_cells": "grader process: sending the cells",
    "grader_tests": "grader process: the tests' own code, and the channel",
    "worker_setup": "grading worker: scratch, cgroups, starting the sandbox",
    "worker_cleanup": "grading worker: clean-up",
}


def _phase_table(d: dict) -> list[str]:
    """Where one graded hand-in's CPU goes, by phase, at each cluster size."""
    runs = [r for r in d["runs"] if r.get("phases")]
    if not runs:
        return []
    heads = " | ".join(f"{r.get('cluster', 'local')} {r['workers']}" for r in runs)
    out = ["Where a graded hand-in's CPU goes, in CPU seconds per hand-in (the client's and "
           "the rest of the worker's share are in the table above):", "",
           f"| phase | {heads} |", "| --- |" + " ---: |" * len(runs)]
    for key, name in PHASE_NAMES.items():
        out.append(f"| {name} | " + " | ".join(f"{r['phases'].get(key, 0.0):.3f}"
                                                for r in runs) + " |")
    return out + [""]


def grading_section(d: dict | None) -> list[str]:
    out = ["## 4. Grading", ""]
    if d is None or "overhead_cpu_s" not in d:
        return out + ["Not measured yet: run `python bench/grading.py`.", ""]
    m = d["machine"]
    out += ["`neuroai grade` on a generated cohort of M1T1 hand-ins (`bench/grading.py`), "
            "judged on CPU time, always through Dask: a local cluster of 1 or 2 worker "
            "processes that the run starts and stops (`--workers`), and a loopback cluster of "
            "2 workers started beforehand (`--scheduler`). A graded hand-in costs its "
            "sandboxed kernel's CPU, the "
            "grading worker's (sandbox set-up, the channel, the tests' own code) and its "
            "share of the client's; the overhead is that total minus the kernel CPU of the "
            "same notebook simply executed (negative: a graded kernel draws no figures and "
            "loads no debugger, which a kernel in Jupyter does).", "",
            f"Measured {d['date']} on {m.get('cpus')} cores ({m.get('platform')}, Python "
            f"{m.get('python')}), load average {d['load_average'][0]:.1f}.", "",
            "| cluster | workers | hand-ins | wall (s) | per minute | kernel CPU s "
            "| worker CPU s | client CPU s | overhead CPU s |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in d["runs"]:
        out.append(f"| {r.get('cluster', 'local')} | {r['workers']} | {r['submissions']} "
                   f"| {r['wall_s']} | {r['per_minute']} "
                   f"| {r['kernel_cpu_s']} | {r['worker_cpu_s']} | {r['client_cpu_s']} "
                   f"| {r['overhead_cpu_s']} |")
    one = d["runs"][0]
    total = one["kernel_cpu_s"] + one["worker_cpu_s"] + one["client_cpu_s"]
    out += ["", f"Executed alone, the notebook costs {d['notebook_alone_cpu_s']} s of kernel CPU; "
            f"graded at one worker, a hand-in costs {total:.2f} CPU s in all, of which the "
            f"grading machinery's own share (worker and client) is "
            f"{one['worker_cpu_s'] + one['client_cpu_s']:.2f} s. Two workers finished "
            f"{d['speedup_1_to_2']} times as fast as one (wall clock: meaningful only on an "
            "otherwise idle machine).", "",
            *_phase_table(d),
            "```{figure} _static/performance/grading.png",
            ":alt: Left, bars of hand-ins graded per minute for a local cluster of 1 and of 2 "
            "workers and a loopback cluster of 2; right, one graded hand-in's CPU seconds "
            "stacked by phase (kernel start, imports, other cells, tests, grader, worker, "
            "client) beside the same notebook executed alone.", "",
            f"Grading throughput and the CPU cost of one hand-in ({d['date']}).", "```", ""]
    return out


HEAD = """# Performance

How fast the course's code is, measured against the peers a student or instructor would
otherwise use, on the machine named under each table. Every figure and table comes from
the JSON files in `bench/results/`, written by one script per question; this page is
generated from them by `bench/page.py`. Other work may share the machine: each table gives
the load average before and after, and a run under load (above about 1.5 on this 2-core
machine) is slower than it would be on a quiet one.

## Reproduce from a fresh clone

```bash
git clone <this repository> neuroai-course && cd neuroai-course
./dev.sh test tests/test_fast_lif.py      # creates .venv from requirements-dev.txt
bash bench/peers/make_envs.sh             # the peers' venvs in bench/.envs/ (several GB)
.venv/bin/python bench/lif.py             # question 1, a few minutes
.venv/bin/python bench/continual.py       # question 2, a few minutes
.venv/bin/python bench/tutorials.py       # question 3, about ten minutes
.venv/bin/python bench/grading.py         # question 4, about seven minutes
.venv/bin/python bench/grading_figure.py
.venv/bin/python bench/build.py           # question 5, fifteen minutes or more
.venv/bin/python bench/build.py --load    # the same with both cores kept busy
.venv/bin/python bench/page.py            # rewrites this page
```

The peers (Brian2 2.9 with numpy below 2.4; snnTorch and Norse on torch 2.13.0 CPU;
Avalanche 0.6.0 on torch 2.14.1 and torchvision 0.29.1) live only in those venvs and are
run through small worker scripts in `bench/peers/`; none of them is a dependency of the
package, the course or CI. A script whose peer venv is missing reports it as "not
installed" and still measures `neuroai_core`; `--no-peers` skips them, `--quick` checks
that a script works in seconds.

The fast LIF simulator is `neuroai_core.neurons.simulate_lif_counts`: a numba kernel when
numba is installed (as on Colab), otherwise the general time loop of every neuron model,
`simulate(LIF, ...)`, on numpy ("numpy fallback" below); both give the same spike counts,
trains and voltages, bit for bit (`tests/test_fast_lif.py`).

"""

REFS = """## References

- Rotter, S. & Diesmann, M. (1999). Exact digital simulation of time-invariant linear
  systems with applications to neuronal modeling. *Biological Cybernetics* 81, 381-402.
- Gerstner, W., Kistler, W. M., Naud, R. & Paninski, L. (2014). *Neuronal Dynamics*,
  ch. 1.3. Cambridge University Press.
- Stimberg, M., Brette, R. & Goodman, D. F. M. (2019). Brian 2, an intuitive and efficient
  neural simulator. *eLife* 8, e47314.
- Zenke, F., Poole, B. & Ganguli, S. (2017). Continual learning through synaptic
  intelligence. *ICML*.
- Kirkpatrick, J. et al. (2017). Overcoming catastrophic forgetting in neural networks.
  *PNAS* 114, 3521-3526.
- Goodfellow, I. (2015). Efficient per-example gradient computations. arXiv:1510.01799.
- Kingma, D. P. & Ba, J. (2015). Adam: a method for stochastic optimization. *ICLR*.
- Lomonaco, V. et al. (2021). Avalanche: an end-to-end library for continual learning.
  *CVPR Workshops*.
- van de Ven, G. M. & Tolias, A. S. (2019). Three scenarios for continual learning.
  arXiv:1904.07734.
"""


def main() -> None:
    lines = [HEAD]
    lines += lif_section(load("lif"))
    lines += continual_section(load("continual"))
    lines += tutorials_section(load("tutorials"))
    lines += grading_section(load("grading"))
    lines += build_section(load("build"), load("build-load"))
    lines.append(REFS)
    PAGE.write_text("\n".join(lines))
    print(f"wrote {PAGE}")


if __name__ == "__main__":
    main()
