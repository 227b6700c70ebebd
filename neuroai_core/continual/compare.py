"""Run continual-learning methods on a task stream and compare them in one tidy table.

:func:`run_method` is the whole protocol for one method, written out: build the model,
then for every task choose the batch source, train with the one loop
(:func:`~neuroai_core.continual.train.train_task`), consolidate (EWC's Fisher, SI's
importance, the replay buffer) and test on all tasks, which fills one row of the
accuracy matrix. :func:`compare` repeats it over methods x scenarios x seeds.

Methods: ``fine-tuning`` (no protection, the lower bound), ``joint`` (all data so far,
the upper bound), ``ewc``, ``online-ewc``, ``si``, ``replay`` (200-sample class-balanced
buffer), ``xdg`` (task-IL only) and ``modulated`` (the neuromodulatory gate).

Used in: M4T1, M4T2, M4T3.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from neuroai_core.continual.data import SCENARIOS, TaskStream, permuted_digits, split_digits
from neuroai_core.continual.ewc import EWC, OnlineEWC
from neuroai_core.continual.gating import ModulatedMLP, XdGMLP
from neuroai_core.continual.metrics import average_accuracy, backward_transfer, forgetting
from neuroai_core.continual.si import SI
from neuroai_core.continual.sources import (
    ReplayBuffer,
    current_batches,
    joint_batches,
    replay_batches,
)
from neuroai_core.continual.train import MLP, evaluate, train_task
from neuroai_core.torch_utils import single_thread

METHOD_NAMES: tuple[str, ...] = (
    "fine-tuning", "joint", "ewc", "online-ewc", "si", "replay", "xdg", "modulated",
)
#: Methods that need the task identity at test time.
TASK_IL_ONLY: frozenset[str] = frozenset({"xdg"})


@dataclass(frozen=True)
class ContinualConfig:
    """Hyper-parameters of a run. Strengths were chosen on split digits (task-IL) over
    the grid 10^k; they are not meant to carry over to other Fisher estimators."""

    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    n_hidden: tuple[int, ...] = (100, 100)
    ewc_lambda: float = 100.0
    online_gamma: float = 1.0
    si_c: float = 1.0
    si_xi: float = 0.1
    replay_budget: int = 200
    xdg_keep_fraction: float = 0.2

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "replay_budget"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")


@dataclass
class RunResult:
    """Accuracy matrix ``R`` (n_tasks, n_tasks) and the task losses of every step."""

    method: str
    scenario: str
    seed: int
    R: np.ndarray
    losses: list[np.ndarray]
    seconds: float


def make_model(method: str, stream: TaskStream, config: ContinualConfig, seed=0) -> MLP:
    """The network a method trains: a plain MLP, or a gated one for xdg and modulated."""
    sizes = dict(n_in=stream.n_features, n_hidden=config.n_hidden, n_out=stream.n_outputs)
    if method == "xdg":
        return XdGMLP(**sizes, n_tasks=stream.n_tasks,
                      keep_fraction=config.xdg_keep_fraction, seed=seed)
    if method == "modulated":
        return ModulatedMLP(**sizes, seed=seed)
    return MLP(**sizes, seed=seed)


def _penalty(method: str, config: ContinualConfig):
    if method == "ewc":
        return EWC(lam=config.ewc_lambda)
    if method == "online-ewc":
        return OnlineEWC(lam=config.ewc_lambda, gamma=config.online_gamma)
    if method == "si":
        return SI(c=config.si_c, xi=config.si_xi)
    return None


def run_method(method: str, stream: TaskStream, config: ContinualConfig | None = None,
               seed: int = 0, progress: bool = False) -> RunResult:
    """Train ``method`` on the tasks of ``stream`` in order; return the accuracy matrix."""
    if method not in METHOD_NAMES:
        raise ValueError(f"method must be one of {METHOD_NAMES}, got {method!r}")
    if method in TASK_IL_ONLY and stream.scenario != "task":
        raise ValueError(f"method {method!r} needs the task identity: scenario must be 'task'")
    config = config or ContinualConfig()
    with single_thread():
        return _run(method, stream, config, seed, progress)


def _run(method, stream, config, seed, progress) -> RunResult:
    """The protocol, task by task: batch source, train, consolidate, test."""
    start = time.perf_counter()
    model = make_model(method, stream, config, seed)
    penalty = _penalty(method, config)
    buffer = ReplayBuffer(config.replay_budget, seed=seed)
    kw = dict(epochs=config.epochs, batch_size=config.batch_size)
    R = np.zeros((stream.n_tasks, stream.n_tasks))
    losses = []
    for t, task in enumerate(tqdm(stream.tasks, disable=not progress, desc=method, leave=False)):
        if method == "joint":
            batches = joint_batches(stream, t, **kw, seed=[seed, t])
        elif method == "replay":
            batches = replay_batches(stream, t, buffer, **kw, seed=[seed, t])
        else:
            batches = current_batches(stream, t, **kw, seed=[seed, t])
        if isinstance(penalty, SI):
            penalty.start_task(model)
        result = train_task(model, batches, penalty, lr=config.lr)
        ids = torch.full((len(task.x_train),), t, dtype=torch.int64)
        if isinstance(penalty, (EWC, OnlineEWC)):
            penalty.consolidate(model, task.x_train, ids, stream.mask(t))
        elif isinstance(penalty, SI):
            penalty.consolidate(model, result.path_integral)
        if method == "replay":
            buffer.add_task(task.x_train, task.y_train, t)
        R[t] = evaluate(model, stream, t)
        losses.append(result.losses)
    return RunResult(method, stream.scenario, int(seed), R, losses,
                     time.perf_counter() - start)


STREAMS = {"split digits": split_digits, "permuted digits": permuted_digits}


def compare(methods=METHOD_NAMES, scenarios=SCENARIOS, seeds=(0, 1, 2),
            stream: str = "split digits", config: ContinualConfig | None = None,
            progress: bool = True) -> list[dict]:
    """Run every method in every scenario with every seed; one dict per run.

    Each row holds ``method, scenario, seed, average_accuracy, backward_transfer,
    forgetting, seconds`` and the accuracy matrix ``R`` (a nested list). Task-IL-only
    methods (xdg) are skipped in the other scenarios. The seed draws the train/test split,
    the initial weights, the batch order and the buffer.
    """
    if stream not in STREAMS:
        raise ValueError(f"stream must be one of {tuple(STREAMS)}, got {stream!r}")
    config = config or ContinualConfig()
    jobs = [(m, s, seed) for s in scenarios for m in methods for seed in seeds
            if not (m in TASK_IL_ONLY and s != "task")]
    rows = []
    for method, scenario, seed in tqdm(jobs, disable=not progress, desc="compare"):
        res = run_method(method, STREAMS[stream](scenario=scenario, seed=seed), config, seed)
        rows.append(dict(method=method, scenario=scenario, seed=seed,
                         average_accuracy=average_accuracy(res.R),
                         backward_transfer=backward_transfer(res.R),
                         forgetting=forgetting(res.R), seconds=res.seconds,
                         R=res.R.tolist()))
    return rows


def summarize(rows: list[dict], metric: str = "average_accuracy") -> list[dict]:
    """Mean and standard deviation of ``metric`` over seeds, per (method, scenario)."""
    groups: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        groups.setdefault((r["method"], r["scenario"]), []).append(r[metric])
    return [dict(method=m, scenario=s, mean=float(np.mean(v)), std=float(np.std(v)), n=len(v))
            for (m, s), v in groups.items()]


def format_table(rows: list[dict], metric: str = "average_accuracy") -> str:
    """A markdown table methods x scenarios of ``mean ± std`` of ``metric`` over seeds."""
    summary = {(r["method"], r["scenario"]): r for r in summarize(rows, metric)}
    methods = list(dict.fromkeys(r["method"] for r in rows))
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    lines = ["| method | " + " | ".join(f"{s}-IL" for s in scenarios) + " |",
             "|---|" + "---|" * len(scenarios)]
    for m in methods:
        cells = [f"{summary[m, s]['mean']:.3f} ± {summary[m, s]['std']:.3f}"
                 if (m, s) in summary else "n/a" for s in scenarios]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def config_dict(config: ContinualConfig) -> dict:
    """The configuration as a plain dict (for reports)."""
    return asdict(config)
