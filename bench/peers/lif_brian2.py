"""Brian2 worker of bench/lif.py: run with bench/.envs/brian2/bin/python.

    python lif_brian2.py '{"mode": "cython", "n": 1000, "steps": 10000, "runs": 5, "seed": 0}'

mode: "numpy" or "cython" (runtime code generation) or "cpp_standalone" (a compiled
program: its compile time is reported apart). The network is the benchmark's: N
independent LIF neurons, dv/dt = (I - v) / tau, tau 10 ms, dt 0.1 ms, threshold v >= 1,
reset to 0 (counting the spike), no refractory period, I uniform in [0.5, 2] with the seed.
Brian2 integrates this linear equation exactly (method "exact"). Prints one JSON line.
"""

import json
import os
import statistics
import sys
import tempfile
import time

import brian2 as b2
import numpy as np

cfg = json.loads(sys.argv[1])
mode, n, steps, runs = cfg["mode"], cfg["n"], cfg["steps"], cfg["runs"]
current = np.random.default_rng(cfg["seed"]).uniform(0.5, 2.0, n)
out = {"mode": mode, "method": "exact", "brian2": b2.__version__, "numpy": np.__version__}
b2.prefs.logging.console_log_level = "ERROR"
if mode == "cpp_standalone":
    build_dir = tempfile.mkdtemp(prefix="brian2-bench-")
    b2.set_device("cpp_standalone", build_on_run=False, directory=build_dir)
else:
    b2.prefs.codegen.target = mode
b2.defaultclock.dt = 0.1 * b2.ms
tau = 10 * b2.ms
G = b2.NeuronGroup(
    n, "dv/dt = (I - v) / tau : 1\nI : 1 (constant)\ncount : integer",
    threshold="v >= 1", reset="v = 0\ncount += 1", method="exact",
)
G.I = current
net = b2.Network(G)
duration = steps * b2.defaultclock.dt
times = []
if mode == "cpp_standalone":
    net.run(duration)
    t0 = time.perf_counter()
    b2.device.build(directory=build_dir, compile=True, run=False)
    out["compile_s"] = time.perf_counter() - t0
    b2.device.run(directory=build_dir)  # warm-up
    wall = []
    for _ in range(runs):
        t0 = time.perf_counter()
        b2.device.run(directory=build_dir)
        wall.append(time.perf_counter() - t0)
        times.append(float(b2.device._last_run_time))  # the program's own timer
    # Wall time of each run including starting the program and writing its results.
    out["wall_times_s"] = wall
else:
    net.store()
    for i in range(runs + 1):  # the first run (code generation, compilation) is warm-up
        net.restore()
        t0 = time.perf_counter()
        net.run(duration)
        if i:
            times.append(time.perf_counter() - t0)
out["times_s"] = times
out["median_s"] = statistics.median(times)
out["spikes"] = int(np.asarray(G.count[:]).sum())
out["pid"] = os.getpid()
print(json.dumps(out))
