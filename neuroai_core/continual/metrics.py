"""Metrics of continual learning, all computed from the accuracy matrix.

``R[i, j]`` is the test accuracy on task ``j`` after training on tasks ``0 ... i``
(shape (T, T); only the lower triangle ``j <= i`` is used below).

- average accuracy after the last task: ``A = 1/T sum_j R[T-1, j]``;
- backward transfer (Lopez-Paz & Ranzato 2017):
  ``BWT = 1/(T-1) sum_{j<T-1} (R[T-1, j] - R[j, j])`` (negative = forgetting);
- forgetting (Chaudhry et al. 2018): for each old task the drop from its best accuracy
  before the end, ``f_j = max_{j<=i<T-1} R[i, j] - R[T-1, j]``, averaged over ``j < T-1``.

References
----------
Lopez-Paz, D. & Ranzato, M. (2017). Gradient episodic memory for continual learning.
*NeurIPS* 30 (section 4).
Chaudhry, A., Dokania, P. K., Ajanthan, T. & Torr, P. H. S. (2018). Riemannian walk for
incremental learning: understanding forgetting and intransigence. *ECCV* (section 4.1).

Used in: M4T1 Catastrophic forgetting and the three scenarios.
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
