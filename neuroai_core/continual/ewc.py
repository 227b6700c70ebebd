"""Elastic weight consolidation (EWC) and online EWC: a quadratic penalty weighted by the
diagonal Fisher information.

After task ``t`` the parameters ``theta*`` and the diagonal Fisher ``F`` are stored; while
learning later tasks the loss gets the penalty::

    Omega(theta) = lambda / 2 * sum_i F_i (theta_i - theta*_i)^2

The Fisher estimator is named because it matters: here it is the **exact expectation over
the model's own predicted labels, with per-sample gradients**::

    F_i = 1/N sum_n sum_y p(y | x_n) (d log p(y | x_n) / d theta_i)^2

with ``p`` the softmax over the active output units. Squaring the gradient of a
mini-batch *mean* instead gives a number about ``batch_size`` times smaller (the
cross terms between samples average out), and using the true labels instead of the
model's gives the "empirical Fisher"; this is why lambda values do not carry over
between papers and libraries.

Plain EWC keeps one penalty per past task (each with its own anchor); online EWC
(Schwarz et al. 2018) keeps one running Fisher ``F <- gamma F + F_t`` and one anchor, the
parameters after the latest task.

References
----------
Kirkpatrick, J. et al. (2017). Overcoming catastrophic forgetting in neural networks.
*PNAS* 114(13), 3521-3526.
Schwarz, J. et al. (2018). Progress & compress: a scalable framework for continual
learning. *ICML*, PMLR 80, 4528-4537.
van de Ven, G. M. (2025). On the computation of the Fisher information in continual
learning. arXiv:2502.11756 (the estimators compared).

Used in: M4T2 Protecting what matters: EWC and SI.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from neuroai_core.continual.train import masked_logits


def diagonal_fisher(model: nn.Module, x: torch.Tensor, task_ids: torch.Tensor,
                    active: torch.Tensor, chunk_size: int = 128) -> dict[str, torch.Tensor]:
    """Diagonal Fisher information, exact expectation over the model's predicted labels.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(x, task_ids)``.
    x : tensor of shape (N, n_features)
    task_ids : int tensor of shape (N,)
    active : bool tensor of shape (n_outputs,)
        The output units of the scenario; the softmax runs over these only.
    chunk_size : int
        Samples per vectorised chunk (memory ``chunk_size x n_parameters``).

    Returns
    -------
    dict name -> tensor shaped like the parameter

    Notes
    -----
    ``F_i = 1/N sum_n sum_{y active} p(y|x_n) (d log p(y|x_n) / d theta_i)^2``, with the
    per-sample gradients from ``torch.func.vmap``; no labels are needed.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size!r}")
    params = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
    units = torch.nonzero(active).flatten().tolist()

    def log_prob(p, xi, ti, y):
        logits = functional_call(model, p, (xi[None], ti[None]))
        return torch.log_softmax(masked_logits(logits, active), dim=1)[0, y]

    per_sample_grad = vmap(grad(log_prob), in_dims=(None, 0, 0, None))
    fisher = {n: torch.zeros_like(p) for n, p in params.items()}
    for start in range(0, len(x), chunk_size):
        xs, ts = x[start : start + chunk_size], task_ids[start : start + chunk_size]
        with torch.no_grad():
            probs = torch.softmax(masked_logits(model(xs, ts), active), dim=1)
        for y in units:
            g = per_sample_grad(params, xs, ts, y)
            w = probs[:, y]
            for n in fisher:
                shape = (-1,) + (1,) * (g[n].ndim - 1)
                fisher[n] += (w.reshape(shape) * g[n] ** 2).sum(dim=0)
    return {n: f / len(x) for n, f in fisher.items()}


def _anchor(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def quadratic_penalty(model: nn.Module, importance: dict[str, torch.Tensor],
                      anchor: dict[str, torch.Tensor]) -> torch.Tensor:
    """``sum_i importance_i (theta_i - anchor_i)^2`` over the named parameters."""
    total = torch.zeros(())
    for n, p in model.named_parameters():
        if n in importance:
            total = total + (importance[n] * (p - anchor[n]) ** 2).sum()
    return total


@dataclass
class EWC:
    """EWC penalty ``lambda/2 sum_t sum_i F_t,i (theta_i - theta*_t,i)^2`` (one term per
    past task). Call :meth:`consolidate` after each task; pass the object as ``penalty``.

    ``lam`` is the strength; with this Fisher estimator (a per-sample average) values of
    order 10^2 to 10^4 suit the digits benchmark.
    """

    lam: float = 1000.0
    terms_: list[tuple[dict, dict]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not self.lam >= 0:
            raise ValueError(f"lam must be non-negative, got {self.lam!r}")

    def consolidate(self, model: nn.Module, x, task_ids, active) -> EWC:
        fisher = diagonal_fisher(model, x, task_ids, active)
        self.terms_.append((fisher, _anchor(model)))
        return self

    def __call__(self, model: nn.Module) -> torch.Tensor | None:
        if not self.terms_:
            return None
        return 0.5 * self.lam * sum(quadratic_penalty(model, f, a) for f, a in self.terms_)


@dataclass
class OnlineEWC:
    """Online EWC: ``F <- gamma F + F_t``, one anchor (the latest parameters), penalty
    ``lambda/2 sum_i F_i (theta_i - theta*_i)^2`` (Schwarz et al. 2018)."""

    lam: float = 1000.0
    gamma: float = 1.0
    fisher_: dict | None = field(default=None, repr=False)
    anchor_: dict | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.lam >= 0:
            raise ValueError(f"lam must be non-negative, got {self.lam!r}")
        if not 0 <= self.gamma <= 1:
            raise ValueError(f"gamma must lie in [0, 1], got {self.gamma!r}")

    def consolidate(self, model: nn.Module, x, task_ids, active) -> OnlineEWC:
        f_t = diagonal_fisher(model, x, task_ids, active)
        if self.fisher_ is None:
            self.fisher_ = f_t
        else:
            self.fisher_ = {n: self.gamma * self.fisher_[n] + f_t[n] for n in f_t}
        self.anchor_ = _anchor(model)
        return self

    def __call__(self, model: nn.Module) -> torch.Tensor | None:
        if self.fisher_ is None:
            return None
        return 0.5 * self.lam * quadratic_penalty(model, self.fisher_, self.anchor_)
