"""A small MLP and the one training loop of the continual-learning module.

Every method enters the loop in one of two ways (never through hooks):

- a **penalty**, a callable ``penalty(model) -> scalar tensor`` added to the task loss
  (EWC, online EWC, SI);
- a **batch source**, an iterable of :class:`~neuroai_core.continual.sources.Batch` (the
  current task only, the current task mixed with a replay buffer, or all data so far for
  joint training; all in :mod:`neuroai_core.continual.sources`).

The scenario enters through ``Batch.active``, the output units each sample may use
(:func:`neuroai_core.continual.data.output_mask`): inactive units are set to ``-inf``
before the softmax, so they neither compete nor learn.

The loop also measures, for every parameter, how much it contributed to the decrease of
the task loss, ``w_k += -g_k * delta_theta_k`` (the path integral of synaptic
intelligence, Zenke et al. 2017), with ``g`` the gradient of the task loss alone. It costs
a few tensor operations per step and is returned in :class:`TrainResult`.

There is one loop, plain PyTorch (``loss.backward()``, ``optimizer.step()``) for every
model and penalty, and the weights change in place at every step: a batch source or a
penalty that looks at the model during the task sees the current weights. Several seeds
go through the same loop as one network with stacked weights
(:mod:`neuroai_core.continual.stack`): the loss is then one mean cross-entropy per copy,
summed.

Used in: M4T1, M4T2, M4T3, M5T2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from neuroai_core.continual.sources import Batch
from neuroai_core.torch_utils import torch_generator


class TrainResult(NamedTuple):
    """What :func:`train_task` returns: the task loss at every step and the SI path
    integral of every parameter (a dict name -> tensor shaped like the parameter)."""

    losses: np.ndarray
    path_integral: dict[str, torch.Tensor]


class MLP(nn.Module):
    """A fully connected ReLU network, 64-100-100-10 by default.

    ``forward(x, task_ids)`` takes the task id of each sample so that every model of this
    module has the same call; the plain MLP ignores it. Subclasses that gate hidden units
    (XdG, the neuromodulatory gate) override :meth:`gates`.
    """

    def __init__(self, n_in: int = 64, n_hidden: tuple[int, ...] = (100, 100), n_out: int = 10,
                 seed=0):
        super().__init__()
        if n_in < 1 or n_out < 1 or any(h < 1 for h in n_hidden):
            raise ValueError(f"layer sizes must be positive, got {n_in}, {n_hidden}, {n_out}")
        gen = torch_generator(seed)
        sizes = (n_in, *n_hidden)
        pairs = zip(sizes[:-1], sizes[1:], strict=True)
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in pairs)
        self.head = nn.Linear(sizes[-1], n_out)
        with torch.no_grad():  # PyTorch's default init, drawn from our own generator
            for layer in (*self.hidden, self.head):
                bound = 1.0 / layer.in_features**0.5
                layer.weight.uniform_(-bound, bound, generator=gen)
                layer.bias.uniform_(-bound, bound, generator=gen)

    def gates(self, x: torch.Tensor, task_ids: torch.Tensor) -> list[torch.Tensor] | None:
        """Multiplicative gates on the hidden layers, each (B, n_hidden), or None."""
        return None

    def forward(self, x: torch.Tensor, task_ids: torch.Tensor | None = None) -> torch.Tensor:
        gates = self.gates(x, task_ids)
        h = x
        for k, layer in enumerate(self.hidden):
            h = torch.relu(layer(h))
            if gates is not None:
                h = h * gates[k]
        return self.head(h)


def path_integral_step(w: torch.Tensor, grad: torch.Tensor, theta_before: torch.Tensor,
                       theta_after: torch.Tensor) -> torch.Tensor:
    """One step of the SI path integral, ``w - grad * (theta_after - theta_before)``
    (Zenke et al. 2017, eq. 3, summed over discrete steps)."""
    return w - grad * (theta_after - theta_before)


def masked_logits(logits: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    """Set the logits of inactive output units to -inf (they get probability 0)."""
    return logits.masked_fill(~active, float("-inf"))


def task_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over a batch: a scalar for logits (B, n_outputs) and labels (B,);
    one per copy, shape (S,), for a stacked network's (S, B, n_outputs) and (S, B)
    (:mod:`neuroai_core.continual.stack`)."""
    if y.ndim == 1:
        return nn.functional.cross_entropy(logits, y)
    per_sample = nn.functional.cross_entropy(logits.flatten(0, -2), y.flatten(), reduction="none")
    return per_sample.view(y.shape).mean(dim=-1)


def train_task(model: nn.Module, batches: Iterable[Batch],
               penalty: Callable[[nn.Module], torch.Tensor | None] | None = None, *,
               lr: float = 1e-3, n_steps: int | None = None,
               progress: bool = False, path_integral: bool = True,
               fused: bool = False) -> TrainResult:
    """Train ``model`` on the batches of one task with Adam; the only training loop.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(x, task_ids)``; returns logits of shape (B, n_outputs). Its
        parameters are updated in place after every batch. A stacked network of ``S``
        copies (:func:`~neuroai_core.continual.stack.stack_models`, with batches from
        :func:`~neuroai_core.continual.stack.stack_batches`) trains all copies at once.
    batches : iterable of Batch
        The batch source: it decides what data the model sees (current task, replay,
        all data so far) and which output units are active
        (:mod:`neuroai_core.continual.sources`).
    penalty : callable, optional
        ``penalty(model)`` returns a scalar added to the loss (EWC, SI), or None while
        it has nothing to protect yet.
    lr : float
        Adam's learning rate (a fresh optimizer per task, as in van de Ven et al.).
    n_steps : int, optional
        Length of the progress bar only.
    progress : bool
        Show a tqdm progress bar.
    path_integral : bool
        Accumulate the SI path integral (only SI uses it); False skips its four tensor
        operations per parameter and step, and returns an empty dict in its place.
    fused : bool
        Use Adam's fused kernel (``torch.optim.Adam(fused=True)``, one pass over each
        tensor): the same update, rounded differently (about one unit in the last place
        per step), and about a quarter faster per step on a stacked network. Off by
        default, so that every existing run keeps its exact numbers; ``run_seeds`` turns
        it on.

    Returns
    -------
    TrainResult
        The task loss of every step, shape (n_steps,) (a stacked network: (n_steps, S),
        one column per copy), and the SI path integral of every parameter.

    Notes
    -----
    Each step minimises ``L = CE(mask(f(x)), y) + penalty(theta)`` and accumulates
    ``w_k += -g_k (theta_k' - theta_k)`` with ``g = dCE/dtheta`` of the task loss only
    (Zenke et al. 2017, eq. 3): the penalty's own gradient is not part of the task's
    path integral. For a stacked network ``CE`` is the sum over copies of each copy's
    mean cross-entropy: the copies share no weight, so each gets its own gradient, and
    Adam, the path integral and the penalties act weight by weight.
    """
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    # foreach: one kernel per operation for all tensors, the same numbers as the plain
    # loop over tensors; fused: one kernel for the whole update, rounded differently.
    optimizer = torch.optim.Adam(params.values(), lr=lr, foreach=not fused or None,
                                 fused=fused or None)
    path = {n: torch.zeros_like(p) for n, p in params.items()} if path_integral else {}
    losses = []
    for batch in tqdm(batches, total=n_steps, disable=not progress, desc="training", leave=False):
        optimizer.zero_grad()
        logits = masked_logits(model(batch.x, batch.task_ids), batch.active)
        loss = task_loss(logits, batch.y)
        extra = penalty(model) if penalty is not None else None
        protect = extra is not None and extra.requires_grad
        if path_integral:
            loss.sum().backward()
            # The task gradient alone, before the penalty's gradient is added to .grad.
            task_grads = {n: torch.zeros_like(p) if p.grad is None
                          else p.grad.clone() if protect else p.grad
                          for n, p in params.items()}
            before = {n: p.detach().clone() for n, p in params.items()}
            if protect:
                extra.backward()
        else:  # one backward pass through both: the same sum of gradients in .grad
            (loss.sum() + extra if protect else loss.sum()).backward()
        optimizer.step()
        if path_integral:
            with torch.no_grad():
                for n, p in params.items():
                    path[n] = path_integral_step(path[n], task_grads[n], before[n], p)
        losses.append(loss.detach())
    losses = torch.stack(losses).double().numpy() if losses else np.zeros(0)
    return TrainResult(losses, path)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, task_id: int,
             active: torch.Tensor) -> float:
    """Fraction of samples whose most probable active unit is the label."""
    model.eval()
    ids = torch.full((len(x),), task_id, dtype=torch.int64)
    pred = masked_logits(model(x, ids), active).argmax(dim=1)
    model.train()
    return float((pred == y).float().mean())


def evaluate(model: nn.Module, stream, trained_upto: int) -> np.ndarray:
    """Test accuracy on every task of ``stream`` after training tasks 0 ... trained_upto.

    Returns an ndarray of shape (n_tasks,): one row ``R[trained_upto, :]`` of the accuracy
    matrix. Task-IL tests task ``j`` with its own units; class-IL with the units of all
    tasks seen so far (``max(trained_upto, j)``); domain-IL with the shared units.
    """
    row = np.zeros(stream.n_tasks)
    for j, task in enumerate(stream.tasks):
        context = j if stream.scenario == "task" else max(trained_upto, j)
        row[j] = accuracy(model, task.x_test, task.y_test, j, stream.mask(context))
    return row
