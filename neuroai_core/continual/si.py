"""Synaptic intelligence (SI): importance from each parameter's share of the loss decrease.

While a task is learned, every parameter's contribution to the decrease of the task loss
is integrated along the training trajectory (the training loop does this, see
:func:`neuroai_core.continual.train.train_task`)::

    w_k = - sum_steps g_k * delta_theta_k          (g = dL/dtheta_k)

For an infinitesimally small step this sum is the line integral of ``-grad L``, so the
``w_k`` of all parameters add up to the total loss decrease ``L(start) - L(end)``. At the
end of the task each parameter's importance grows by its share, normalised by how far it
moved::

    Omega_k += w_k / (Delta_k^2 + xi),   Delta_k = theta_k(end) - theta_k(start)

and later tasks pay ``c sum_k Omega_k (theta_k - theta*_k)^2`` with ``theta*`` the
parameters at the end of the latest task.

References
----------
Zenke, F., Poole, B. & Ganguli, S. (2017). Continual learning through synaptic
intelligence. *ICML*, PMLR 70, 3987-3995 (eqs. 3-5).

Used in: M4T2 Protecting what matters: EWC and SI.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from neuroai_core.continual.ewc import quadratic_penalty
from neuroai_core.continual.train import path_integral_step  # noqa: F401 (re-exported)


def si_importance(path_integral: torch.Tensor, delta: torch.Tensor, xi: float = 0.1
                  ) -> torch.Tensor:
    """Importance gained in one task, ``w / (delta^2 + xi)`` (Zenke et al. 2017, eq. 5)."""
    return path_integral / (delta**2 + xi)


@dataclass
class SI:
    """SI penalty ``c sum_k Omega_k (theta_k - theta*_k)^2``.

    Call :meth:`start_task` before a task and :meth:`consolidate` with the task's path
    integral (``TrainResult.path_integral``) after it; pass the object as ``penalty``.
    ``xi`` (damping, in squared parameter units) keeps the ratio finite for parameters
    that hardly moved.
    """

    c: float = 1.0
    xi: float = 0.1
    omega_: dict | None = field(default=None, repr=False)
    anchor_: dict | None = field(default=None, repr=False)
    start_: dict | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.c >= 0:
            raise ValueError(f"c must be non-negative, got {self.c!r}")
        if not self.xi > 0:
            raise ValueError(f"xi must be positive, got {self.xi!r}")

    def start_task(self, model: nn.Module) -> SI:
        self.start_ = {n: p.detach().clone() for n, p in model.named_parameters()}
        return self

    def consolidate(self, model: nn.Module, path_integral: dict[str, torch.Tensor]) -> SI:
        if self.start_ is None:
            raise ValueError("call start_task(model) before training the task")
        now = {n: p.detach().clone() for n, p in model.named_parameters()}
        gained = {n: si_importance(w, now[n] - self.start_[n], self.xi)
                  for n, w in path_integral.items()}
        if self.omega_ is None:
            self.omega_ = gained
        else:
            self.omega_ = {n: self.omega_[n] + gained[n] for n in gained}
        self.anchor_ = now
        return self

    def __call__(self, model: nn.Module) -> torch.Tensor | None:
        if self.omega_ is None:
            return None
        return self.c * quadratic_penalty(model, self.omega_, self.anchor_)
