"""Metrics of continual learning, all computed from the accuracy matrix.

``R[i, j]`` is the test accuracy on task ``j`` after training on tasks ``0 ... i``
(shape (T, T); only the lower triangle ``j <= i`` is used below).

- average accuracy after the last task: ``A = 1/T sum_j R[T-1, j]``;
- backward transfer (Lopez-Paz & Ranzato 2017):
  ``BWT = 1/(T-1) sum_{j<T-1} (R[T-1, j] - R[j, j])`` (negative = forgetting);
- forgetting (Chaudhry et al. 2018): for each old task the drop from its best accuracy
  before the end, ``f_j = max_{j<=i<T-1} R[i, j] - R[T-1, j]``, averaged over ``j < T-1``;
- forward transfer (Lopez-Paz & Ranzato 2017):
  ``FWT = 1/(T-1) sum_{i>0} (R[i-1, i] - b[i])`` with ``b`` the accuracy of the untrained
  network; and its counterpart after learning, ``1/(T-1) sum_{i>0} (R[i, i] - s[i])``
  with ``s`` a network trained on each task alone (:func:`learning_transfer`).

References
----------
Lopez-Paz, D. & Ranzato, M. (2017). Gradient episodic memory for continual learning.
*NeurIPS* 30 (section 4).
Chaudhry, A., Dokania, P. K., Ajanthan, T. & Torr, P. H. S. (2018). Riemannian walk for
incremental learning: understanding forgetting and intransigence. *ECCV* (section 4.1).
Díaz-Rodríguez, N., Lomonaco, V., Filliat, D. & Maltoni, D. (2018). Don't forget, there is
more than forgetting: new metrics for continual learning. NeurIPS Continual Learning
workshop (arXiv:1810.13166).
Wołczyk, M., Zając, M., Pascanu, R., Kuciński, Ł. & Miłoś, P. (2021). Continual World: a
robotic benchmark for continual reinforcement learning. *NeurIPS* 34.

Used in: M4T1 Catastrophic forgetting and the three scenarios; M4T4 (transfer).
"""

from __future__ import annotations

import numpy as np


def _matrix(R) -> np.ndarray:
    R = np.asarray(R, dtype=float)
    if R.ndim != 2 or R.shape[0] != R.shape[1] or R.shape[0] < 1:
        raise ValueError(f"R must be a square matrix (n_tasks, n_tasks), got shape {R.shape}")
    return R


def average_accuracy(R) -> float:
    """Mean accuracy over all tasks after training the last one, ``mean(R[-1, :])``."""
    R = _matrix(R)
    return float(R[-1].mean())


def backward_transfer(R) -> float:
    """``1/(T-1) sum_{j<T-1} (R[T-1, j] - R[j, j])``; 0 for a single task."""
    R = _matrix(R)
    T = R.shape[0]
    if T == 1:
        return 0.0
    return float(np.mean(R[-1, :-1] - np.diag(R)[:-1]))


def forgetting(R) -> float:
    """``1/(T-1) sum_{j<T-1} (max_{j<=i<T-1} R[i, j] - R[T-1, j])``; 0 for one task."""
    R = _matrix(R)
    T = R.shape[0]
    if T == 1:
        return 0.0
    best = np.array([R[j : T - 1, j].max() for j in range(T - 1)])
    return float(np.mean(best - R[-1, :-1]))


def _baseline(baseline, T: int) -> np.ndarray:
    b = np.asarray(baseline, dtype=float)
    if b.shape != (T,):
        raise ValueError(f"baseline must have shape (n_tasks,)=({T},), got shape {b.shape}")
    return b


def forward_transfer(R, baseline) -> float:
    """Forward transfer of Lopez-Paz & Ranzato (2017):
    ``FWT = 1/(T-1) sum_{i=1}^{T-1} (R[i-1, i] - b[i])``.

    ``R[i-1, i]`` is the accuracy on task ``i`` *before* training on it, after tasks
    ``0 ... i-1``: what earlier learning already gives the next task. The baseline ``b[i]``
    is what task ``i`` gets without that earlier learning; Lopez-Paz & Ranzato use the
    accuracy of the network at its random initialisation (``b-bar`` in their section 4).
    Positive: earlier tasks help the next one; negative: they hurt it.

    Parameters
    ----------
    R : array of shape (T, T)
        The accuracy matrix (see the module notes).
    baseline : array of shape (T,)
        ``b[i]``, the accuracy on task ``i`` of the untrained network (``b[0]`` is unused).

    Returns
    -------
    float
        0 for a single task.
    """
    R = _matrix(R)
    T = R.shape[0]
    b = _baseline(baseline, T)
    if T == 1:
        return 0.0
    return float(np.mean(np.diag(R, k=1) - b[1:]))


def learning_transfer(R, single_task) -> float:
    """Transfer measured after learning: ``1/(T-1) sum_{i=1}^{T-1} (R[i, i] - s[i])``.

    ``s[i]`` is the accuracy on task ``i`` of a network trained on task ``i`` alone, from
    scratch, with the same budget (epochs, learning rate) as in the sequence. The
    difference says whether having learned tasks ``0 ... i-1`` makes task ``i`` learned
    better (positive) or worse (negative) in that budget; it is the single-task baseline
    of the transfer metrics in Díaz-Rodríguez et al. (2018) and Wołczyk et al. (2021),
    applied to the final accuracy instead of the area under the learning curve. Not the
    quantity of Lopez-Paz & Ranzato (see :func:`forward_transfer`).

    Parameters
    ----------
    R : array of shape (T, T)
    single_task : array of shape (T,)
        ``s[i]``; ``s[0]`` is unused.
    """
    R = _matrix(R)
    T = R.shape[0]
    s = _baseline(single_task, T)
    if T == 1:
        return 0.0
    return float(np.mean(np.diag(R)[1:] - s[1:]))
