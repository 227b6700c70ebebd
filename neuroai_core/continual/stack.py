"""Several networks trained as one: stacked weights for several seeds in the one loop.

A network of this module is small (a 64-100-100-10 MLP, batches of 32): one training step
costs far more in Python and in the dispatch of each tensor operation than in arithmetic.
Training ``S`` copies (``S`` seeds, or the copies of one method) one after the other pays
that cost ``S`` times. Stacked, the copies become one network whose every weight carries a
leading axis of length ``S``::

    W : (S, n_out, n_in)        h_s' = relu(h_s W_s^T + b_s)   for every copy s at once

(a batched matrix product, ``torch.baddbmm``), and every batch carries the same axis:
inputs (S, B, n_features), labels (S, B), one mini-batch per copy, each drawn by that
copy's own batch source. The one training loop,
:func:`~neuroai_core.continual.train.train_task`, then trains all copies in one pass per
step; it needs nothing special, because

- the task loss it minimises is the **sum over copies** of each copy's mean cross-entropy,
  so the gradient reaching copy ``s`` is exactly the gradient of its own loss (the copies
  share no weight);
- Adam, the SI path integral and the quadratic penalties of EWC and SI act on each weight
  separately, so on stacked tensors they act on every copy as on its own.

The copies stay independent: stacked and separate training compute the same function of
the same numbers, and differ only by the rounding of a batched matrix product against a
single one (float64: equal to 1e-10 after 40 steps; float32: the same accuracies in every
run measured, ``tests/test_continual_stack.py`` and ``bench/continual.py``).

Notes
-----
With ``L_s`` the mean cross-entropy of copy ``s`` on its own batch and ``theta_s`` its
weights, the stacked loss is ``L = sum_s L_s`` and ``dL/dtheta_s = dL_s/dtheta_s`` because
``L_r`` does not depend on ``theta_s`` for ``r != s``. Adam's update of a weight depends
only on that weight's own gradients (Kingma & Ba 2015, Algorithm 1), as do the SI path
integral (Zenke et al. 2017, eq. 3) and the gradients of the quadratic penalties; so one
step of the stack is one step of every copy.

References
----------
Kingma, D. P. & Ba, J. (2015). Adam: a method for stochastic optimization. *ICLR*
(arXiv:1412.6980).
Zenke, F., Poole, B. & Ganguli, S. (2017). Continual learning through synaptic
intelligence. *ICML*, PMLR 70, 3987-3995.

Used in: M4T1, M4T2 (five seeds in about the time of two), ``bench/continual.py``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Sequence

import torch
from torch import nn

from neuroai_core.continual.sources import Batch


class StackedLinear(nn.Module):
    """``S`` linear layers of the same shape as one: ``y_s = x_s W_s^T + b_s``.

    Parameters ``weight`` (S, out_features, in_features) and ``bias`` (S, out_features),
    named as in :class:`torch.nn.Linear` so that a stacked network has the parameter names
    of its copies. ``forward`` takes (S, B, in_features) and returns (S, B, out_features).
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        if weight.ndim != 3 or bias.shape != weight.shape[:2]:
            raise ValueError(f"weight must be (S, out, in) and bias (S, out), got shapes "
                             f"{tuple(weight.shape)} and {tuple(bias.shape)}")
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(bias)

    @property
    def in_features(self) -> int:
        return self.weight.shape[2]

    @property
    def out_features(self) -> int:
        return self.weight.shape[1]

    @classmethod
    def from_layers(cls, layers: Sequence[nn.Linear]) -> StackedLinear:
        """Stack copies of ``nn.Linear`` layers (their current weights, copied)."""
        with torch.no_grad():
            return cls(torch.stack([la.weight for la in layers]).clone(),
                       torch.stack([la.bias for la in layers]).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight.transpose(1, 2))


def stack_models(models: Sequence[nn.Module]) -> nn.Module:
    """One network holding ``len(models)`` copies of the same architecture.

    Every ``nn.Linear`` becomes a :class:`StackedLinear` and every buffer (the XdG masks)
    gets a leading copy axis; the weights are copied, the models left untouched. The
    stacked network is called as ``model(x, task_ids)`` with x (S, B, n_features) and
    task_ids (S, B) and returns (S, B, n_outputs), each copy computing what it computes
    alone. Its parameters have the names of the copies' parameters, with shape
    (S, *shape).

    Parameters
    ----------
    models : sequence of nn.Module
        Of one class and one set of layer sizes, whose parameters all belong to
        ``nn.Linear`` layers and whose forward works on inputs with a leading axis (all
        models of :mod:`neuroai_core.continual` do).

    Returns
    -------
    nn.Module
        Of the models' class; :func:`unstack` gives the copies back.
    """
    models = list(models)
    if not models:
        raise ValueError("models must hold at least one model, got none")
    first = models[0]
    if any(type(m) is not type(first) for m in models):
        names = sorted({type(m).__name__ for m in models})
        raise ValueError(f"models must be of one class, got {names}")
    shapes = [[(n, tuple(p.shape)) for n, p in m.named_parameters()] for m in models]
    if any(s != shapes[0] for s in shapes):
        raise ValueError("models must have the same parameters (names and shapes)")
    linear = {name for name, mod in first.named_modules() if isinstance(mod, nn.Linear)}
    for name, _ in first.named_parameters():
        if name.rpartition(".")[0] not in linear:
            raise ValueError(f"parameter {name!r} is not in an nn.Linear layer: cannot stack it")
    stacked = copy.deepcopy(first)
    for name in linear:
        stacked.set_submodule(name, StackedLinear.from_layers(
            [m.get_submodule(name) for m in models]))
    for name, _ in first.named_buffers():
        owner, _, leaf = name.rpartition(".")
        module = stacked.get_submodule(owner) if owner else stacked
        module.register_buffer(leaf, torch.stack([m.get_buffer(name) for m in models]))
    stacked.n_stacked = len(models)
    return stacked


def unstack(stacked: nn.Module, like: nn.Module) -> list[nn.Module]:
    """The copies of a stacked network, each a model like ``like`` with copy ``s``'s
    current weights and buffers (copied, so training the stack does not move them)."""
    copies = []
    for s in range(stacked.n_stacked):
        model = copy.deepcopy(like)
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(stacked.get_parameter(name)[s])
            for name, b in model.named_buffers():
                b.copy_(stacked.get_buffer(name)[s])
        copies.append(model)
    return copies


def stack_batches(sources: Sequence[Iterable[Batch]]) -> Iterator[Batch]:
    """Zip one batch source per copy into stacked batches: every field gets a leading
    copy axis (x (S, B, n_features), y (S, B), task_ids (S, B), active (S, B, n_outputs)).

    The sources must yield batches of equal sizes at every step (streams of one kind with
    different seeds do: their splits have the same sizes) and the same number of batches.
    A generator, like the sources: each stacked batch is made when the loop asks for it.
    """
    for batches in zip(*sources, strict=True):
        yield Batch(*(torch.stack(field) for field in zip(*batches, strict=True)))
