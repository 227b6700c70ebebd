"""snnTorch and Norse worker of bench/lif.py: run with bench/.envs/snn/bin/python.

    python lif_snn.py '{"lib": "snntorch", "n": 1000, "steps": 10000, "runs": 5, "seed": 0}'

The benchmark network (see lif_brian2.py) in float64 on one CPU thread, stepped in a
Python loop as each library's documentation does it, without gradients:

- snnTorch ``Leaky``: ``U <- beta U + X``; it does not scale its input by ``1 - beta``, so
  we pass ``X = (1 - beta) I`` with ``beta = exp(-dt / tau)``: the exact integrator.
  ``reset_mechanism="zero"`` with ``reset_delay=False`` resets in the same step (the
  default delays the reset by one step, which would act as a one-step refractory period).
- Norse ``LIFBoxCell`` (LIF without synaptic current): forward Euler,
  ``v <- v + dt / tau (v_leak - v + I)``, reset to ``v_reset`` in the same step.

Both fire when ``v > threshold`` (strictly); with float64 inputs drawn at random no
voltage lands exactly on 1, so the counts match ``v >= 1``. Prints one JSON line.
"""

import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch

cfg = json.loads(sys.argv[1])
lib, n, steps, runs = cfg["lib"], cfg["n"], cfg["steps"], cfg["runs"]
torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)
current = torch.from_numpy(np.random.default_rng(cfg["seed"]).uniform(0.5, 2.0, n))
dt_s, tau_s = 1e-4, 1e-2


def snntorch_run():
    import snntorch as snn

    beta = math.exp(-dt_s / tau_s)
    lif = snn.Leaky(beta=beta, threshold=1.0, reset_mechanism="zero", reset_delay=False)
    x = (1 - beta) * current
    mem = lif.init_leaky()
    count = torch.zeros(n)
    for _ in range(steps):
        spk, mem = lif(x, mem)
        count += spk
    return int(count.sum())


def norse_run():
    from norse.torch import LIFBoxCell, LIFBoxParameters

    p = LIFBoxParameters(tau_mem_inv=torch.as_tensor(1 / tau_s), v_leak=torch.as_tensor(0.0),
                         v_th=torch.as_tensor(1.0), v_reset=torch.as_tensor(0.0))
    cell = LIFBoxCell(p, dt=dt_s)
    state = None
    count = torch.zeros(n)
    for _ in range(steps):
        z, state = cell(current, state)
        count += z
    return int(count.sum())


run, method = {"snntorch": (snntorch_run, "exact"), "norse": (norse_run, "euler")}[lib]
module = __import__(lib)
times = []
with torch.inference_mode():
    spikes = run()  # warm-up
    for _ in range(runs):
        t0 = time.perf_counter()
        spikes = run()
        times.append(time.perf_counter() - t0)
print(json.dumps({"lib": lib, "method": method, "version": module.__version__,
                  "torch": torch.__version__, "times_s": times,
                  "median_s": statistics.median(times), "spikes": spikes, "pid": os.getpid()}))
