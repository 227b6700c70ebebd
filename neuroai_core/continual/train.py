"""A small MLP and the one training loop of the continual-learning module.

Every method enters the loop in one of two ways (never through hooks):

- a **penalty**, a callable ``penalty(model) -> scalar tensor`` added to the task loss
  (EWC, online EWC, SI);
- a **batch source**, an iterable of :class:`Batch` (the current task only, the current
  task mixed with a replay buffer, or all data so far for joint training).

The scenario enters through ``Batch.active``, the output units each sample may use
(:func:`neuroai_core.continual.data.output_mask`): inactive units are set to ``-inf``
before the softmax, so they neither compete nor learn.

The loop also measures, for every parameter, how much it contributed to the decrease of
the task loss, ``w_k += -g_k * delta_theta_k`` (the path integral of synaptic
intelligence, Zenke et al. 2017), with ``g`` the gradient of the task loss alone. It costs
a few vector operations per step and is returned in :class:`TrainResult`.

For the plain :class:`MLP` with no penalty, EWC, online EWC or SI, :func:`train_task`
runs the same step written out by hand in NumPy (:mod:`neuroai_core.continual.fastmlp`,
equal to float32 rounding and several times faster); ``fast=False`` forces autograd.

Used in: M4T1, M4T2, M4T3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm


class Batch(NamedTuple):
    """One mini-batch: inputs (B, n_features), labels (B,), task id of each sample (B,)
    and the active output units of each sample (B, n_outputs), bool."""

    x: torch.Tensor
    y: torch.Tensor
    task_ids: torch.Tensor
    active: torch.Tensor


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
        gen = torch.Generator().manual_seed(int(np.random.default_rng(seed).integers(2**31)))
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


def task_batches(x: torch.Tensor, y: torch.Tensor, task_ids: torch.Tensor, active: torch.Tensor,
                 *, epochs: int, batch_size: int = 32, seed=0) -> Iterable[Batch]:
    """The plain batch source: ``epochs`` shuffled passes over one data set.

    ``active`` is either one mask (n_outputs,) for all samples or one per sample.
    """
    gen = torch.Generator().manual_seed(int(np.random.default_rng(seed).integers(2**31)))
    n = len(x)
    act = active.expand(n, -1) if active.ndim == 1 else active
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        # One gather per epoch, then views: the same batches as indexing every batch.
        xs, ys, ts, acts = x[order], y[order], task_ids[order], act[order]
        for start in range(0, n, batch_size):
            stop = start + batch_size
            yield Batch(xs[start:stop], ys[start:stop], ts[start:stop], acts[start:stop])


def train_task(model: nn.Module, batches: Iterable[Batch],
               penalty: Callable[[nn.Module], torch.Tensor] | None = None, *,
               lr: float = 1e-3, n_steps: int | None = None, progress: bool = False,
               fast: bool = True) -> TrainResult:
    """Train ``model`` on the batches of one task with Adam; the only training loop.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(x, task_ids)``; returns logits of shape (B, n_outputs).
    batches : iterable of Batch
        The batch source: it decides what data the model sees (current task, replay,
        all data so far) and which output units are active.
    penalty : callable, optional
        ``penalty(model)`` returns a scalar added to the loss (EWC, SI).
    lr : float
        Adam's learning rate (a fresh optimizer per task, as in van de Ven et al.).
    n_steps : int, optional
        Length of the progress bar only.
    progress : bool
        Show a tqdm progress bar.
    fast : bool
        Use the hand-derived NumPy step of :mod:`neuroai_core.continual.fastmlp` when the
        model is a plain :class:`MLP` and the penalty is None, EWC, online EWC or SI (the
        same update to float32 rounding, several times faster); ``False`` forces autograd.

    Returns
    -------
    TrainResult

    Notes
    -----
    Each step minimises ``L = CE(mask(f(x)), y) + penalty(theta)`` and accumulates
    ``w_k += -g_k (theta_k' - theta_k)`` with ``g = dCE/dtheta`` of the task loss only.
    """
    from neuroai_core.continual import fastmlp

    if fast and fastmlp.is_plain_mlp(model) and fastmlp.supports_penalty(penalty):
        bar = tqdm(batches, total=n_steps, disable=not progress, desc="training", leave=False)
        return fastmlp.train_task_fast(model, batches, penalty, lr=lr, progress_iter=bar)
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    plist = list(params.values())
    detached = [p.detach() for p in plist]
    # foreach: one multi-tensor kernel per Adam operation instead of one per parameter.
    optimizer = torch.optim.Adam(plist, lr=lr, foreach=True)
    path = {n: torch.zeros_like(p) for n, p in params.items()}
    losses = []
    for batch in tqdm(batches, total=n_steps, disable=not progress, desc="training", leave=False):
        logits = masked_logits(model(batch.x, batch.task_ids), batch.active)
        loss = nn.functional.cross_entropy(logits, batch.y)
        task_grads = torch.autograd.grad(loss, plist, allow_unused=True)
        if any(g is None for g in task_grads):
            task_grads = [torch.zeros_like(p) if g is None else g
                          for p, g in zip(plist, task_grads, strict=True)]
        extra = penalty(model) if penalty is not None else None
        extra_grads = (torch.autograd.grad(extra, plist, allow_unused=True)
                       if extra is not None and extra.requires_grad else [None] * len(plist))
        for p, g, e in zip(plist, task_grads, extra_grads, strict=True):
            p.grad = g if e is None else g + e
        before = torch._foreach_mul(detached, 1.0)  # a copy of every parameter
        optimizer.step()
        # The path integral w -= g * (theta_after - theta_before) (path_integral_step),
        # for all parameters at once.
        with torch.no_grad():
            delta = torch._foreach_sub(detached, before)
            torch._foreach_addcmul_(list(path.values()), task_grads, delta, value=-1.0)
        losses.append(loss.detach())  # no .item() per step: one conversion at the end
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
