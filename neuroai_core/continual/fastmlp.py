"""A hand-derived fast path of the training loop for the plain ReLU :class:`MLP`.

For a network of this size (64-100-100-10, batches of 32) a step of the autograd loop
costs about 0.7 ms, almost all of it Python and dispatch overhead of some fifty eager
operations and the autograd engine; the arithmetic itself takes a few microseconds. This
module computes the same step by hand, in NumPy float32, on one flat parameter vector:

- forward ``h_l = relu(W_l h_{l-1} + b_l)``, logits ``z = W h + b``;
- masked softmax cross-entropy (inactive units at ``-inf``, as
  :func:`~neuroai_core.continual.train.masked_logits`), mean over the batch, and its
  gradient ``dL/dz = (softmax(z) - onehot(y)) / B`` on the active units (0 elsewhere);
- backward through the layers (``dW = delta^T h``, ``db = sum delta``, ``delta <-
  (delta W) * [h > 0]``);
- the gradients of the penalties, analytic: EWC ``lambda/2 sum_t F_t (theta -
  theta*_t)^2`` gives ``lambda sum_t F_t (theta - theta*_t)``, online EWC the same with
  one term, SI ``c Omega (theta - theta*)^2`` gives ``2 c Omega (theta - theta*)``;
- the SI path integral ``w -= g (theta' - theta)`` with ``g`` the task-loss gradient;
- Adam with exactly ``torch.optim.Adam``'s update (betas 0.9, 0.999, eps 1e-8, bias
  correction, no weight decay): ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
  ``theta <- theta - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.

:func:`~neuroai_core.continual.train.train_task` uses it automatically when the model is
exactly an :class:`MLP` and the penalty is None, :class:`EWC`, :class:`OnlineEWC` or
:class:`SI`; every other model (XdG, the modulated gate, custom modules) and penalty
goes through the autograd loop. ``tests/test_continual_fast.py`` checks that both give
the same weights, losses and path integrals to float32 rounding.

:func:`mlp_fisher` is the same for EWC's Fisher: the exact per-sample expectation over
the model's predicted labels (as :func:`~neuroai_core.continual.ewc.diagonal_fisher`),
with per-sample gradients written out: for a weight ``W_l[i, j]`` the per-sample gradient
is ``delta_i a_j``, so ``F = sum_n sum_y p(y|x_n) delta_{n,y,i}^2 a_{n,j}^2 / N`` is one
matrix product ``D^T (a^2)`` with ``D_{n,i} = sum_y p(y|x_n) delta_{n,y,i}^2``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


_CONTROLLER = None


def blas_single_thread():
    """A context in which NumPy's BLAS runs on one thread (threadpoolctl, a dependency of
    scikit-learn), or a no-op without it. Matrix products of a few thousand
    multiply-adds gain nothing from threads, and on a shared 2-core machine OpenBLAS's
    threads made a step ten times slower."""
    global _CONTROLLER
    try:
        if _CONTROLLER is None:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER = ThreadpoolController()
        return _CONTROLLER.limit(limits=1, user_api="blas")
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()


def is_plain_mlp(model: nn.Module) -> bool:
    """True if ``model`` is exactly :class:`MLP` (not a subclass) with float32 parameters
    that all require gradients and no hooks: the models the fast path reproduces."""
    from neuroai_core.continual.train import MLP

    if type(model) is not MLP:
        return False
    for m in model.modules():
        if m._forward_hooks or m._forward_pre_hooks or m._backward_hooks:
            return False
    return all(p.requires_grad and p.dtype == torch.float32 for p in model.parameters())


def supports_penalty(penalty) -> bool:
    """True for the penalties with an analytic gradient here (None, EWC, OnlineEWC, SI)."""
    from neuroai_core.continual.ewc import EWC, OnlineEWC
    from neuroai_core.continual.si import SI

    return penalty is None or type(penalty) in (EWC, OnlineEWC, SI)


class _Flat:
    """The parameters of an MLP as one flat float32 vector with per-layer views."""

    def __init__(self, model: nn.Module):
        self.names = [n for n, _ in model.named_parameters()]
        self.shapes = [tuple(p.shape) for _, p in model.named_parameters()]
        sizes = [int(np.prod(s)) for s in self.shapes]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.theta = np.concatenate(
            [p.detach().numpy().ravel() for p in model.parameters()]).astype(np.float32)
        self.layers = [(self.view(self.theta, 2 * k), self.view(self.theta, 2 * k + 1))
                       for k in range(len(sizes) // 2)]

    def view(self, flat: np.ndarray, k: int) -> np.ndarray:
        return flat[self.offsets[k] : self.offsets[k + 1]].reshape(self.shapes[k])

    def flatten(self, named: dict[str, torch.Tensor]) -> np.ndarray:
        """A dict name -> tensor as one flat vector (zeros for names it lacks, as
        :func:`~neuroai_core.continual.ewc.quadratic_penalty` skips them)."""
        return np.concatenate([
            named[n].detach().numpy().ravel().astype(np.float32) if n in named
            else np.zeros(int(np.prod(shape)), dtype=np.float32)
            for n, shape in zip(self.names, self.shapes, strict=True)])

    def to_dict(self, flat: np.ndarray) -> dict[str, torch.Tensor]:
        return {n: torch.from_numpy(self.view(flat, k).copy())
                for k, n in enumerate(self.names)}


def _penalty_terms(penalty, flat: _Flat) -> list[tuple[np.ndarray, np.ndarray]]:
    """The penalty gradient as terms ``[(k, anchor), ...]`` (flat float32): the gradient
    is ``sum k * (theta - anchor)``; an empty list for no penalty yet."""
    from neuroai_core.continual.ewc import EWC, OnlineEWC

    if penalty is None:
        return []
    lam = np.float32(getattr(penalty, "lam", 0.0))
    if type(penalty) is EWC:
        return [(lam * flat.flatten(f), flat.flatten(a)) for f, a in penalty.terms_]
    if type(penalty) is OnlineEWC:
        if penalty.fisher_ is None:
            return []
        return [(lam * flat.flatten(penalty.fisher_), flat.flatten(penalty.anchor_))]
    if penalty.omega_ is None:  # SI
        return []
    return [(np.float32(2.0 * penalty.c) * flat.flatten(penalty.omega_),
             flat.flatten(penalty.anchor_))]


def _forward(layers, x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Hidden activations (input first) and logits."""
    acts = [x]
    h = x
    for w, b in layers[:-1]:
        h = h @ w.T
        h += b
        np.maximum(h, 0.0, out=h)
        acts.append(h)
    w, b = layers[-1]
    z = h @ w.T
    z += b
    return acts, z


def _masked_ce(z: np.ndarray, y: np.ndarray, active: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean masked softmax cross-entropy and its gradient with respect to the logits."""
    n = len(y)
    z = np.where(active, z, -np.inf)
    z -= np.maximum.reduce(z, axis=1, keepdims=True)
    e = np.exp(z)
    s = np.add.reduce(e, axis=1, keepdims=True)
    rows = np.arange(n)
    loss = float(np.add.reduce(np.log(s), axis=None) - np.add.reduce(z[rows, y])) / n
    s *= np.float32(n)
    e /= s  # softmax / n
    e[rows, y] -= np.float32(1.0 / n)
    return loss, e


def _backward(layers, acts, dz, grad_views) -> None:
    """Write the gradient of every layer into ``grad_views`` [(dW, db), ...]."""
    delta = dz
    for k in range(len(layers) - 1, -1, -1):
        dw, db = grad_views[k]
        np.matmul(delta.T, acts[k], out=dw)
        np.add.reduce(delta, axis=0, out=db)
        if k > 0:
            delta = delta @ layers[k][0]
            delta *= acts[k] > 0


def _train_task_fast(model: nn.Module, batches: Iterable, penalty=None, *, lr: float = 1e-3,
                     progress_iter=None):
    from neuroai_core.continual.train import TrainResult

    flat = _Flat(model)
    theta = flat.theta
    grad = np.zeros_like(theta)
    grad_views = [(flat.view(grad, 2 * k), flat.view(grad, 2 * k + 1))
                  for k in range(len(flat.layers))]
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    path = np.zeros_like(theta)
    denom = np.empty_like(theta)
    upd = np.empty_like(theta)
    tmp = np.empty_like(theta)
    eps = np.float32(EPS)
    terms = _penalty_terms(penalty, flat)
    one_b1, one_b2 = np.float32(1 - BETA1), np.float32(1 - BETA2)
    b1, b2 = np.float32(BETA1), np.float32(BETA2)
    losses = []
    step = 0
    for batch in (progress_iter if progress_iter is not None else batches):
        x = batch.x.numpy()
        y = batch.y.numpy()
        active = batch.active.numpy()
        acts, z = _forward(flat.layers, x)
        loss, dz = _masked_ce(z, y, active)
        losses.append(loss)
        _backward(flat.layers, acts, dz, grad_views)
        # Adam on the total gradient g + penalty gradient (as torch.optim.Adam, foreach).
        step += 1
        total = grad
        for k, anchor in terms:
            total = total + k * (theta - anchor)
        np.multiply(total, one_b1, out=tmp)
        m *= b1
        m += tmp  # torch: m.lerp_(g, 1 - b1)
        np.multiply(total, total, out=tmp)
        tmp *= one_b2
        v *= b2
        v += tmp
        bc1 = 1 - BETA1**step
        bc2_sqrt = (1 - BETA2**step) ** 0.5
        np.sqrt(v, out=denom)
        denom /= np.float32(bc2_sqrt)
        denom += eps
        np.divide(m, denom, out=upd)
        upd *= np.float32(-lr / bc1)
        # SI path integral with the task gradient only: w -= g * (theta' - theta).
        np.multiply(grad, upd, out=tmp)
        path -= tmp
        theta += upd
    with torch.no_grad():
        for k, p in enumerate(model.parameters()):
            p.copy_(torch.from_numpy(flat.view(theta, k)))
    losses = np.asarray(losses, dtype=np.float64)
    return TrainResult(losses, flat.to_dict(path))


def _mlp_fisher(model: nn.Module, x: torch.Tensor, active: torch.Tensor
                ) -> dict[str, torch.Tensor]:
    flat = _Flat(model)
    layers = flat.layers
    xs = x.detach().numpy().astype(np.float32)
    act = active.numpy().astype(bool)
    if act.ndim != 1:
        raise ValueError("mlp_fisher takes one mask (n_outputs,) for all samples")
    acts, z = _forward(layers, xs)
    n = len(xs)
    units = np.flatnonzero(act)
    zm = np.where(act, z, -np.inf)
    zm = zm - zm.max(axis=1, keepdims=True)
    p = np.exp(zm)
    p /= p.sum(axis=1, keepdims=True)  # (N, n_out), 0 on inactive units
    # d log p(y|x) / dz = onehot(y) - p on the active units; one row per (n, y).
    k = len(units)
    delta = np.repeat(-p[:, None, :], k, axis=1)  # (N, K, n_out)
    delta[:, np.arange(k), units] += 1.0
    weight = p[:, units]  # (N, K): p(y|x_n)
    fisher = np.zeros_like(flat.theta)
    views = [(flat.view(fisher, 2 * i), flat.view(fisher, 2 * i + 1))
             for i in range(len(layers))]
    d = delta  # (N, K, width)
    for i in range(len(layers) - 1, -1, -1):
        d_sum = np.einsum("nk,nki->ni", weight, d * d)  # D_{n,i} = sum_y p_y delta^2
        fw, fb = views[i]
        fw[...] = d_sum.T @ (acts[i] * acts[i])
        fb[...] = d_sum.sum(axis=0)
        if i > 0:
            d = (d @ layers[i][0]) * (acts[i] > 0)[:, None, :]
    fisher /= np.float32(n)
    return flat.to_dict(fisher)


def train_task_fast(model: nn.Module, batches: Iterable, penalty=None, *, lr: float = 1e-3,
                    progress_iter=None):
    """The fast path of :func:`~neuroai_core.continual.train.train_task`: same arguments,
    same :class:`~neuroai_core.continual.train.TrainResult`, the model updated in place.

    ``progress_iter`` optionally wraps ``batches`` (a tqdm bar)."""
    with blas_single_thread():
        return _train_task_fast(model, batches, penalty, lr=lr, progress_iter=progress_iter)


def mlp_fisher(model: nn.Module, x: torch.Tensor, active: torch.Tensor
               ) -> dict[str, torch.Tensor]:
    """Diagonal Fisher of a plain MLP, exact expectation over its predicted labels.

    Same definition and result as :func:`~neuroai_core.continual.ewc.diagonal_fisher`
    (up to float rounding): ``F_i = 1/N sum_n sum_{y active} p(y|x_n) (d log p(y|x_n) /
    d theta_i)^2``, the per-sample gradients written out layer by layer.
    """
    with blas_single_thread():
        return _mlp_fisher(model, x, active)
