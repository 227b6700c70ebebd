"""Avalanche worker of bench/continual.py: run with bench/.envs/avalanche/bin/python.

    python continual_avalanche.py '{"data": "/tmp/split.npz", "methods": ["naive"],
                                    "scenarios": ["class"], "seeds": [0], "epochs": 10}'

The split-digits data come from bench/continual.py (the same 70/30 stratified split per
seed as neuroai_core's), so both libraries see the same images. Protocol: five two-class
experiences (0/1, ..., 8/9), MLP 64-100-100 with a growing head (class-IL,
IncrementalClassifier) or one 2-unit head per task (task-IL, MultiHeadClassifier), Adam
1e-3, batch 32, 10 epochs per experience. Strategies: Naive, EWC, SynapticIntelligence,
Replay (200 samples), JointTraining. The accuracy is the mean over the five test sets
after the last experience; the time of the training, wall and CPU (this process, one
thread). Also reports, per seed and scenario, the largest weight
difference between SI and Naive (0 means SI never changed the training). One JSON line.
"""

import json
import os
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore")

import avalanche  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from avalanche.benchmarks.scenarios.deprecated.generators import nc_benchmark  # noqa: E402
from avalanche.benchmarks.utils.classification_dataset import (  # noqa: E402
    _make_taskaware_tensor_classification_dataset as tensor_dataset,
)
from avalanche.models import IncrementalClassifier, MultiHeadClassifier  # noqa: E402
from avalanche.models.dynamic_modules import MultiTaskModule  # noqa: E402
from avalanche.training import EWC, JointTraining, Naive, Replay, SynapticIntelligence  # noqa: E402
from avalanche.training.plugins import EvaluationPlugin  # noqa: E402
from torch import nn  # noqa: E402

cfg = json.loads(sys.argv[1])
torch.set_num_threads(1)
data = np.load(cfg["data"])
EWC_LAMBDA = cfg.get("ewc_lambda", 3200.0)
SI_LAMBDA, SI_EPS = cfg.get("si_lambda", 1.0), cfg.get("si_eps", 0.1)


class Body(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU())


class ClassIL(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = Body()
        self.head = IncrementalClassifier(100, initial_out_features=2)

    def forward(self, x):
        return self.head(self.body.net(x))


class TaskIL(MultiTaskModule):
    def __init__(self):
        super().__init__()
        self.body = Body()
        self.head = MultiHeadClassifier(100, initial_out_features=2)

    def forward_single_task(self, x, task_label):
        return self.head(self.body.net(x), task_label)


def benchmark(seed, scenario):
    def ds(split):
        x = torch.from_numpy(data[f"x_{split}_{seed}"])
        y = torch.from_numpy(data[f"y_{split}_{seed}"])
        return tensor_dataset(x, y, targets=y.tolist())
    task = scenario == "task"
    return nc_benchmark(ds("train"), ds("test"), n_experiences=5, task_labels=task,
                        fixed_class_order=list(range(10)), class_ids_from_zero_in_each_exp=task)


def strategy(method, model):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    kw = dict(model=model, optimizer=opt, criterion=nn.CrossEntropyLoss(), train_mb_size=32,
              train_epochs=cfg["epochs"], eval_mb_size=1000, device="cpu",
              evaluator=EvaluationPlugin(loggers=[]))
    if method == "naive":
        return Naive(**kw)
    if method == "ewc":
        return EWC(ewc_lambda=EWC_LAMBDA, **kw)
    if method == "si":
        return SynapticIntelligence(si_lambda=SI_LAMBDA, eps=SI_EPS, **kw)
    if method == "replay":
        return Replay(mem_size=200, **kw)
    if method == "joint":
        return JointTraining(**kw)
    raise ValueError(method)


@torch.no_grad()
def final_accuracy(model, bm, scenario):
    model.eval()
    accs = []
    for exp in bm.test_stream:
        x = torch.stack([exp.dataset[i][0] for i in range(len(exp.dataset))])
        y = torch.tensor([exp.dataset[i][1] for i in range(len(exp.dataset))])
        out = model(x, torch.full((len(x),), exp.task_label)) if scenario == "task" else model(x)
        accs.append(float((out.argmax(1) == y).float().mean()))
    return float(np.mean(accs))


def run(method, scenario, seed):
    torch.manual_seed(seed)
    bm = benchmark(seed, scenario)
    model = TaskIL() if scenario == "task" else ClassIL()
    strat = strategy(method, model)
    t0, c0 = time.perf_counter(), time.process_time()
    if method == "joint":
        strat.train(bm.train_stream)
    else:
        for exp in bm.train_stream:
            strat.train(exp)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    weights = torch.cat([p.detach().flatten() for p in model.body.parameters()])
    return final_accuracy(model, bm, scenario), seconds, cpu, weights


rows, si_check = [], []
for scenario in cfg["scenarios"]:
    for seed in cfg["seeds"]:
        finals = {}
        for method in cfg["methods"]:
            acc, seconds, cpu, w = run(method, scenario, seed)
            finals[method] = w
            rows.append({"method": method, "scenario": scenario, "seed": seed,
                         "average_accuracy": acc, "seconds": seconds, "cpu_seconds": cpu})
        if "si" in finals and "naive" in finals:
            si_check.append({"scenario": scenario, "seed": seed,
                             "max_abs_weight_diff_si_vs_naive":
                                 float((finals["si"] - finals["naive"]).abs().max())})
print(json.dumps({"avalanche": avalanche.__version__, "torch": torch.__version__,
                  "ewc_lambda": EWC_LAMBDA, "si_lambda": SI_LAMBDA, "si_eps": SI_EPS,
                  "rows": rows, "si_check": si_check,
                  "median_seconds": statistics.median(r["seconds"] for r in rows),
                  "pid": os.getpid()}))
