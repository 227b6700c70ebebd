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

from neuroai_core.continual.stack import StackedLinear
from neuroai_core.continual.train import masked_logits


def diagonal_fisher(model: nn.Module, x: torch.Tensor, task_ids: torch.Tensor,
                    active: torch.Tensor, chunk_size: int = 128) -> dict[str, torch.Tensor]:
    """Diagonal Fisher information, exact expectation over the model's predicted labels.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(x, task_ids)``; every parameter must belong to an ``nn.Linear``
        layer (or a :class:`~neuroai_core.continual.stack.StackedLinear`) used once per
        forward pass, as in every model of :mod:`neuroai_core.continual`.
    x : tensor of shape (N, n_features)
        For a stacked network of ``S`` copies, (S, N, n_features): one Fisher per copy.
    task_ids : int tensor of shape (N,), or (S, N) for a stacked network
    active : bool tensor of shape (n_outputs,)
        The output units of the scenario; the softmax runs over these only.
    chunk_size : int
        Samples per chunk (memory ``chunk_size x`` the widest layer, per copy).

    Returns
    -------
    dict name -> tensor shaped like the parameter

    Notes
    -----
    ``F_i = 1/N sum_n sum_{y active} p(y|x_n) (d log p(y|x_n) / d theta_i)^2``; no labels
    are needed. The per-sample gradients are never stored: for a linear layer
    ``z_n = W a_n + b`` the gradient of sample ``n`` is ``dW_n = delta_n a_n^T`` with
    ``delta_n = d log p(y|x_n) / d z_n``, so ``(dW_n)_ij^2 = delta_ni^2 a_nj^2`` and the
    sum over samples is one matrix product,
    ``F_W = 1/N sum_y (p_y * delta_y^2)^T (a^2)``, ``F_b = 1/N sum_y sum_n p_ny delta_ny^2``.
    One backward pass per active unit gives ``delta`` of every sample at once, since the
    samples of a batch do not interact (the trick of Goodfellow 2015 for per-example
    gradient norms; the same numbers as one backward pass per sample and unit, tested
    against that to 1e-10 in float64).

    References
    ----------
    Kirkpatrick, J. et al. (2017). Overcoming catastrophic forgetting in neural networks.
    *PNAS* 114(13), 3521-3526.
    Goodfellow, I. (2015). Efficient per-example gradient computations. arXiv:1510.01799.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size!r}")
    layers = {name: mod for name, mod in model.named_modules()
              if isinstance(mod, (nn.Linear, StackedLinear))}
    for name, p in model.named_parameters():
        if p.requires_grad and name.rpartition(".")[0] not in layers:
            raise ValueError(f"parameter {name!r} is not in a linear layer: diagonal_fisher "
                             "needs every parameter in an nn.Linear")
    seen: dict[str, list] = {name: [] for name in layers}

    def keep(name):
        def hook(module, inputs, output):
            seen[name].append((inputs[0].detach(), output))
        return hook

    fisher = {n: torch.zeros_like(p) for n, p in model.named_parameters() if p.requires_grad}
    units = torch.nonzero(active).flatten().tolist()
    n = x.shape[-2]
    handles = [mod.register_forward_hook(keep(name)) for name, mod in layers.items()]
    try:
        for start in range(0, n, chunk_size):
            for v in seen.values():
                v.clear()
            xs = x[..., start : start + chunk_size, :]
            ts = task_ids[..., start : start + chunk_size]
            with torch.enable_grad():
                log_p = torch.log_softmax(masked_logits(model(xs, ts), active), dim=-1)
            if any(len(v) != 1 for v in seen.values()):
                raise ValueError("every linear layer must be called once per forward pass")
            names = list(layers)
            outputs = [seen[name][0][1] for name in names]
            probs = log_p.detach().exp()
            for k, y in enumerate(units):
                deltas = torch.autograd.grad(log_p[..., y].sum(), outputs,
                                             retain_graph=k < len(units) - 1)
                w = probs[..., y, None]  # (..., chunk, 1)
                for name, delta in zip(names, deltas, strict=True):
                    a = seen[name][0][0]
                    wd2 = w * delta**2  # (..., chunk, out)
                    prefix = f"{name}." if name else ""
                    if f"{prefix}weight" in fisher:
                        fisher[f"{prefix}weight"] += wd2.transpose(-1, -2) @ a**2
                    if f"{prefix}bias" in fisher:
                        fisher[f"{prefix}bias"] += wd2.sum(dim=-2)
    finally:
        for h in handles:
            h.remove()
    return {name: f / n for name, f in fisher.items()}


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
    order 10^2 to 10^4 suit the digits benchmark. The terms are kept in ``terms_``, a list
    of (Fisher, anchor) pairs; the penalty evaluates their sum as one quadratic, with the
    same value and gradient (see Notes), so its cost does not grow with the number of
    tasks.

    Notes
    -----
    A sum of quadratics is a quadratic: with ``A = sum_t F_t``, ``m = sum_t F_t theta*_t / A``
    (``m = 0`` where ``A = 0``) and ``c = sum_t F_t theta*_t^2 - A m^2``,
    ``sum_t F_t (theta - theta*_t)^2 = A (theta - m)^2 + c`` for every theta; the gradient
    is ``2 A (theta - m)``, the same as term by term up to rounding.
    """

    lam: float = 1000.0
    terms_: list[tuple[dict, dict]] = field(default_factory=list, repr=False)
    merged_: tuple | None = field(default=None, repr=False, compare=False)

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
        if self.merged_ is None or self.merged_[0] != len(self.terms_):  # a term was added
            self.merged_ = (len(self.terms_), *_merge(self.terms_))
        _, total, mean, constant = self.merged_
        return 0.5 * self.lam * (quadratic_penalty(model, total, mean) + constant)


def _merge(terms: list[tuple[dict, dict]]) -> tuple[dict, dict, torch.Tensor]:
    """``A``, ``m`` and ``c`` of :class:`EWC`'s Notes from (Fisher, anchor) pairs."""
    if len(terms) == 1:  # exactly the one term
        fisher, anchor = terms[0]
        return fisher, anchor, torch.zeros((), dtype=next(iter(fisher.values())).dtype)
    total, mean, constant = {}, {}, torch.zeros((), dtype=torch.float64)
    for n in terms[0][0]:
        a = sum(f[n] for f, _ in terms)
        b = sum(f[n] * anchor[n] for f, anchor in terms)
        c = sum(f[n] * anchor[n] ** 2 for f, anchor in terms)
        m = torch.where(a > 0, b / a, torch.zeros_like(b))
        total[n], mean[n] = a, m
        constant = constant + (c - a * m**2).double().sum()
    return total, mean, constant.to(next(iter(total.values())).dtype)


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
