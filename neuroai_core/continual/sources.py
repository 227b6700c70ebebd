"""Batch sources: what data the training loop sees, all in one place.

:func:`~neuroai_core.continual.train.train_task` takes any iterable of :class:`Batch`; the
methods that differ only in their data are written here as such iterables:

- :func:`task_batches`, the plain source: ``epochs`` shuffled passes over one data set;
- :func:`current_batches`, the current task only (fine-tuning, EWC, SI, the gates);
- :func:`replay_batches`, every mini-batch of the current task joined by a mini-batch
  drawn from a :class:`ReplayBuffer`, a class-balanced memory of past examples under a
  fixed budget (200 samples by default: after ``k`` classes, ``budget // k`` per class, the
  oldest dropped first when a class must shrink), so the loss is the mean over both halves;
- :func:`joint_batches`, all the training data seen so far (the upper bound that a
  continual learner should approach).

The scenario enters through ``Batch.active``, the output units each sample may use
(:func:`neuroai_core.continual.data.output_mask`). Replayed samples keep their task id; in
task-IL they use their own task's output units, in domain- and class-IL the units active
for the current task.

The sources are generators: each batch is made when the loop asks for it, so a source
that looks at the model (for example to pick hard examples) sees the weights of that
moment.

References
----------
Rolnick, D. et al. (2019). Experience replay for continual learning. *NeurIPS* 32.
Chaudhry, A. et al. (2019). On tiny episodic memories in continual learning.
arXiv:1902.10486.
van de Ven, G. M., Siegelmann, H. T. & Tolias, A. S. (2020). Brain-inspired replay for
continual learning with artificial neural networks. *Nature Communications* 11, 4069.

Used in: M4T1, M4T2, M4T3, M5T2.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch

from neuroai_core.continual.data import TaskStream
from neuroai_core.torch_utils import torch_generator


class Batch(NamedTuple):
    """One mini-batch: inputs (B, n_features), labels (B,), task id of each sample (B,)
    and the active output units of each sample (B, n_outputs), bool."""

    x: torch.Tensor
    y: torch.Tensor
    task_ids: torch.Tensor
    active: torch.Tensor


def task_batches(x: torch.Tensor, y: torch.Tensor, task_ids: torch.Tensor, active: torch.Tensor,
                 *, epochs: int, batch_size: int = 32, seed=0) -> Iterator[Batch]:
    """The plain batch source: ``epochs`` shuffled passes over one data set.

    Parameters
    ----------
    x : tensor of shape (N, n_features)
    y : int tensor of shape (N,)
    task_ids : int tensor of shape (N,)
    active : bool tensor of shape (n_outputs,) or (N, n_outputs)
        One mask for all samples or one per sample.
    epochs : int
        Passes over the data, each in a fresh random order.
    batch_size : int
        Samples per batch (the last batch of an epoch may be smaller).
    seed : int, Generator or None
        Draws the order of the samples.

    Yields
    ------
    Batch
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
    n = len(x)
    act = active.expand(n, -1) if active.ndim == 1 else active
    return _shuffled_passes(x, y, task_ids, act, epochs, batch_size, torch_generator(seed))


def _shuffled_passes(x, y, task_ids, act, epochs, batch_size, gen) -> Iterator[Batch]:
    n = len(x)
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        # One gather per epoch, then views: the same batches as indexing every batch.
        xs, ys, ts, acts = x[order], y[order], task_ids[order], act[order]
        for start in range(0, n, batch_size):
            stop = start + batch_size
            yield Batch(xs[start:stop], ys[start:stop], ts[start:stop], acts[start:stop])


def _mask_table(stream: TaskStream) -> torch.Tensor:
    """The masks of all tasks, (n_tasks, n_outputs)."""
    return torch.stack([stream.mask(t) for t in range(stream.n_tasks)])


def _active_rows(stream: TaskStream, task_ids: torch.Tensor, current: int,
                 table: torch.Tensor | None = None) -> torch.Tensor:
    """Active units of each sample while training task ``current`` (``table``: the
    precomputed :func:`_mask_table`)."""
    table = _mask_table(stream) if table is None else table
    if stream.scenario == "task":
        return table[task_ids]
    return table[current].expand(len(task_ids), -1)


def current_batches(stream: TaskStream, t: int, *, epochs: int, batch_size: int = 32,
                    seed=0) -> Iterator[Batch]:
    """The batch source of fine-tuning, EWC and SI: task ``t`` only."""
    task = stream.tasks[t]
    ids = torch.full((len(task.x_train),), t, dtype=torch.int64)
    return task_batches(task.x_train, task.y_train, ids, stream.mask(t), epochs=epochs,
                        batch_size=batch_size, seed=seed)


def joint_batches(stream: TaskStream, t: int, *, epochs: int, batch_size: int = 32,
                  seed=0) -> Iterator[Batch]:
    """All training data of tasks 0 ... t, shuffled together (the upper bound)."""
    tasks = stream.tasks[: t + 1]
    x = torch.cat([k.x_train for k in tasks])
    y = torch.cat([k.y_train for k in tasks])
    ids = torch.cat([torch.full((len(k.x_train),), k.task_id) for k in tasks])
    return task_batches(x, y, ids, _active_rows(stream, ids, t), epochs=epochs,
                        batch_size=batch_size, seed=seed)


@dataclass
class ReplayBuffer:
    """A class-balanced memory of at most ``budget`` samples.

    A class is identified by (task id, label), so permuted tasks keep their own slots.
    """

    budget: int = 200
    seed: int = 0
    x_: torch.Tensor | None = field(default=None, repr=False)
    y_: torch.Tensor | None = field(default=None, repr=False)
    task_ids_: torch.Tensor | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.budget < 1:
            raise ValueError(f"budget must be at least 1, got {self.budget!r}")

    def __len__(self) -> int:
        return 0 if self.x_ is None else len(self.x_)

    def add_task(self, x: torch.Tensor, y: torch.Tensor, task_id: int) -> ReplayBuffer:
        """Add a task's samples and shrink every class to ``budget // n_classes``."""
        ids = torch.full((len(x),), task_id, dtype=torch.int64)
        if self.x_ is not None:
            x, y = torch.cat([self.x_, x]), torch.cat([self.y_, y])
            ids = torch.cat([self.task_ids_, ids])
        keys = ids * 100_000 + y
        classes = torch.unique(keys)
        if self.budget < len(classes):
            raise ValueError(f"budget={self.budget} is smaller than the {len(classes)} classes "
                             "seen so far: a class-balanced buffer needs one slot per class")
        per_class = self.budget // len(classes)
        rng = np.random.default_rng([self.seed, task_id])
        keep = []
        for c in classes:
            members = torch.nonzero(keys == c).flatten().numpy()
            if len(members) > per_class:  # old members come first: keep a random subset
                members = np.sort(rng.choice(members, per_class, replace=False))
            keep.extend(members.tolist())
        keep = torch.as_tensor(keep)
        self.x_, self.y_, self.task_ids_ = x[keep], y[keep], ids[keep]
        return self


def replay_batches(stream: TaskStream, t: int, buffer: ReplayBuffer, *, epochs: int,
                   batch_size: int = 32, seed=0) -> Iterator[Batch]:
    """Each batch of task ``t`` concatenated with ``batch_size`` samples from the buffer."""
    gen = torch_generator(seed)
    table = _mask_table(stream)
    for batch in current_batches(stream, t, epochs=epochs, batch_size=batch_size, seed=seed):
        if len(buffer) == 0:
            yield batch
            continue
        idx = torch.randint(len(buffer), (batch_size,), generator=gen)
        ids = buffer.task_ids_[idx]
        yield Batch(torch.cat([batch.x, buffer.x_[idx]]), torch.cat([batch.y, buffer.y_[idx]]),
                    torch.cat([batch.task_ids, ids]),
                    torch.cat([batch.active, _active_rows(stream, ids, t, table)]))
