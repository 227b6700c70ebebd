"""Run continual-learning methods on a task stream and compare them in one tidy table.

:func:`run_method` is the whole protocol for one method, written out: build the model,
then for every task choose the batch source, train with the one loop
(:func:`~neuroai_core.continual.train.train_task`), consolidate (EWC's Fisher, SI's
importance, the replay buffer) and test on all tasks, which fills one row of the
accuracy matrix. :func:`run_seeds` runs the same protocol for several seeds at once, their
networks stacked as one (:mod:`neuroai_core.continual.stack`); :func:`compare` repeats it
over methods x scenarios x seeds.

Methods: ``fine-tuning`` (no protection, the lower bound), ``joint`` (all data so far,
the upper bound), ``ewc``, ``online-ewc``, ``si``, ``replay`` (200-sample class-balanced
buffer), ``xdg`` (task-IL only) and ``modulated`` (the neuromodulatory gate).

Used in: M4T1, M4T2, M4T3.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
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
from neuroai_core.continual.stack import stack_batches, stack_models, unstack
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


def _check(method: str, streams) -> None:
    if method not in METHOD_NAMES:
        raise ValueError(f"method must be one of {METHOD_NAMES}, got {method!r}")
    if method in TASK_IL_ONLY and any(s.scenario != "task" for s in streams):
        raise ValueError(f"method {method!r} needs the task identity: scenario must be 'task'")


def run_method(method: str, stream: TaskStream, config: ContinualConfig | None = None,
               seed: int = 0, progress: bool = False) -> RunResult:
    """Train ``method`` on the tasks of ``stream`` in order; return the accuracy matrix."""
    _check(method, [stream])
    config = config or ContinualConfig()
    with single_thread():
        return _run(method, [stream], config, [seed], progress)[0]


def run_seeds(method: str, streams: Sequence[TaskStream], seeds: Sequence[int],
              config: ContinualConfig | None = None, progress: bool = False
              ) -> list[RunResult]:
    """:func:`run_method` for several seeds at once, as one stacked network.

    Parameters
    ----------
    method : str
        One of :data:`METHOD_NAMES`.
    streams : sequence of TaskStream
        One stream per seed (usually the same stream drawn with each seed), of one kind
        and scenario: their tasks must have the same sizes.
    seeds : sequence of int
        Seed ``k`` draws copy ``k``'s initial weights, batch order and replay buffer, as
        ``run_method(method, streams[k], config, seeds[k])`` does.
    config : ContinualConfig, optional
    progress : bool

    Returns
    -------
    list of RunResult
        One per seed, in order; ``seconds`` is the run's time divided by the number of
        seeds.

    Notes
    -----
    The copies are trained by the one loop,
    :func:`~neuroai_core.continual.train.train_task`, as one network with stacked weights
    (:mod:`neuroai_core.continual.stack`) and Adam's fused kernel; every step trains all
    of them, so five seeds cost about twice one seed instead of five times. Each copy
    computes what ``run_method`` computes for its seed, up to rounding (a batched matrix
    product, the fused Adam update): equal to 1e-10 in float64; in float32 the accuracy
    matrices agree within two test images per entry (``tests/test_continual_stack.py``).
    A single seed runs unstacked, exactly as ``run_method``.
    """
    streams, seeds = list(streams), [int(s) for s in seeds]
    if len(streams) != len(seeds) or not seeds:
        raise ValueError(f"streams and seeds must have the same non-zero length, got "
                         f"{len(streams)} and {len(seeds)}")
    if len({(s.name, s.scenario, s.n_tasks) for s in streams}) != 1:
        raise ValueError("streams must be of one kind and scenario")
    _check(method, streams)
    config = config or ContinualConfig()
    with single_thread():
        return _run(method, streams, config, seeds, progress)


def _source(method, stream, t, buffer, config, seed):
    """The batch source of ``method`` for task ``t``."""
    kw = dict(epochs=config.epochs, batch_size=config.batch_size, seed=[seed, t])
    if method == "joint":
        return joint_batches(stream, t, **kw)
    if method == "replay":
        return replay_batches(stream, t, buffer, **kw)
    return current_batches(stream, t, **kw)


def _run(method, streams, config, seeds, progress) -> list[RunResult]:
    """The protocol, task by task: batch source, train, consolidate, test. One seed trains
    one network; several seeds train their copies stacked as one network."""
    start = time.perf_counter()
    stacked = len(seeds) > 1
    models = [make_model(method, s, config, seed) for s, seed in zip(streams, seeds, strict=True)]
    model = stack_models(models) if stacked else models[0]

    def together(tensors):  # one tensor for the network: stacked, or the only one
        return torch.stack(list(tensors)) if stacked else tensors[0]

    penalty = _penalty(method, config)
    buffers = [ReplayBuffer(config.replay_budget, seed=seed) for seed in seeds]
    n_tasks = streams[0].n_tasks
    R = np.zeros((len(seeds), n_tasks, n_tasks))
    losses = [[] for _ in seeds]
    for t in tqdm(range(n_tasks), disable=not progress, desc=method, leave=False):
        sources = [_source(method, s, t, b, config, seed)
                   for s, b, seed in zip(streams, buffers, seeds, strict=True)]
        if isinstance(penalty, SI):
            penalty.start_task(model)
        result = train_task(model, stack_batches(sources) if stacked else sources[0],
                            penalty, lr=config.lr, path_integral=isinstance(penalty, SI),
                            fused=stacked)
        tasks = [s.tasks[t] for s in streams]
        if t < n_tasks - 1:  # what protects task t matters only for the tasks after it
            if isinstance(penalty, (EWC, OnlineEWC)):
                x = together([k.x_train for k in tasks])
                ids = torch.full(x.shape[:-1], t, dtype=torch.int64)
                penalty.consolidate(model, x, ids, streams[0].mask(t))
            elif isinstance(penalty, SI):
                penalty.consolidate(model, result.path_integral)
        if method == "replay":
            for b, k in zip(buffers, tasks, strict=True):
                b.add_task(k.x_train, k.y_train, t)
        copies = unstack(model, models[0]) if stacked else [model]
        for k, (net, s) in enumerate(zip(copies, streams, strict=True)):
            R[k, t] = evaluate(net, s, t)
            losses[k].append(result.losses[:, k] if stacked else result.losses)
    seconds = (time.perf_counter() - start) / len(seeds)
    return [RunResult(method, s.scenario, seed, R[k], losses[k], seconds)
            for k, (s, seed) in enumerate(zip(streams, seeds, strict=True))]


STREAMS = {"split digits": split_digits, "permuted digits": permuted_digits}


def compare(methods=METHOD_NAMES, scenarios=SCENARIOS, seeds=(0, 1, 2),
            stream: str = "split digits", config: ContinualConfig | None = None,
            progress: bool = True, stack_seeds: bool = False) -> list[dict]:
    """Run every method in every scenario with every seed; one dict per run.

    Each row holds ``method, scenario, seed, average_accuracy, backward_transfer,
    forgetting, seconds`` and the accuracy matrix ``R`` (a nested list). Task-IL-only
    methods (xdg) are skipped in the other scenarios. The seed draws the train/test split,
    the initial weights, the batch order and the buffer. ``stack_seeds=True`` trains the
    seeds of each method and scenario at once (:func:`run_seeds`): the same rows, in the
    same order, in about a third of the time for five seeds.
    """
    if stream not in STREAMS:
        raise ValueError(f"stream must be one of {tuple(STREAMS)}, got {stream!r}")
    config = config or ContinualConfig()
    groups = [(m, s) for s in scenarios for m in methods
              if not (m in TASK_IL_ONLY and s != "task")]
    rows = []
    for method, scenario in tqdm(groups, disable=not progress, desc="compare"):
        streams = [STREAMS[stream](scenario=scenario, seed=seed) for seed in seeds]
        if stack_seeds:
            results = run_seeds(method, streams, seeds, config)
        else:
            results = [run_method(method, st, config, seed)
                       for st, seed in zip(streams, seeds, strict=True)]
        for seed, res in zip(seeds, results, strict=True):
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
