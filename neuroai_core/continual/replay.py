"""Replay and joint training: methods that enter the training loop as a batch source.

- :class:`ReplayBuffer` keeps a class-balanced memory of past examples under a fixed
  budget (200 samples by default: after ``k`` classes, ``budget // k`` per class, the
  oldest dropped first when a class must shrink). :func:`replay_batches` mixes one
  mini-batch from the buffer into every mini-batch of the current task, so the loss is
  the mean over both halves.
- :func:`joint_batches` trains on all the data seen so far: the upper bound that a
  continual learner should approach.

Replayed samples keep their task id; in task-IL they use their own task's output units,
in domain- and class-IL the units active for the current task.

References
----------
Rolnick, D. et al. (2019). Experience replay for continual learning. *NeurIPS* 32.
Chaudhry, A. et al. (2019). On tiny episodic memories in continual learning.
arXiv:1902.10486.
van de Ven, G. M., Siegelmann, H. T. & Tolias, A. S. (2020). Brain-inspired replay for
continual learning with artificial neural networks. *Nature Communications* 11, 4069.

Used in: M4T3 Replay, context gating and neuromodulatory gating.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from neuroai_core.continual.data import TaskStream
from neuroai_core.continual.train import Batch, task_batches


def _mask_table(stream: TaskStream) -> torch.Tensor:
    """The masks of all tasks, (n_tasks, n_outputs)."""
    return torch.stack([stream.mask(t) for t in range(stream.n_tasks)])


def _active_rows(stream: TaskStream, task_ids: torch.Tensor, current: int,
                 table: torch.Tensor | None = None) -> torch.Tensor:
    """Active units of each sample while training task ``current`` (``table``: the
    precomputed :func:`_mask_table`)."""
    if stream.scenario == "task":
        table = _mask_table(stream) if table is None else table
        return table[task_ids]
    return stream.mask(current).expand(len(task_ids), -1)


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
    gen = torch.Generator().manual_seed(int(np.random.default_rng(seed).integers(2**31)))
    table = _mask_table(stream)
    for batch in current_batches(stream, t, epochs=epochs, batch_size=batch_size, seed=seed):
        if len(buffer) == 0:
            yield batch
            continue
        idx = torch.randint(len(buffer), (batch_size,), generator=gen)
        ids = buffer.task_ids_[idx]
        old = Batch(buffer.x_[idx], buffer.y_[idx], ids, _active_rows(stream, ids, t, table))
        yield Batch(*(torch.cat([a, b]) for a, b in zip(batch, old, strict=True)))
