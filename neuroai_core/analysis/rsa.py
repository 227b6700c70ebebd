"""Representational similarity analysis (RSA): compare two systems by the geometry of
their responses, not by their units.

For each system, a representational dissimilarity matrix (RDM) holds the dissimilarity of
its responses to every pair of conditions (Kriegeskorte, Mur & Bandettini 2008):

- ``"correlation"``: ``d_ij = 1 - r(x_i, x_j)``, with ``r`` the Pearson correlation of the
  two response patterns across features (0 for identical patterns up to offset and scale,
  2 for anti-correlated ones);
- ``"euclidean"``: ``d_ij = ||x_i - x_j||``.

Two RDMs are compared on their upper triangles (the ``n (n - 1) / 2`` distinct pairs,
diagonal excluded) with the Spearman rank correlation (the default: it asks only that
the two systems order the pairs alike) or the Pearson correlation. Whether the agreement
is more than chance is tested by permuting the condition labels of one RDM (its rows and
columns together) and recomputing the comparison: ``p = (1 + #{null >= observed}) /
(1 + n_perm)``, the +1 counting the observed labelling as one of the permutations, so
``p`` is never 0 (Phipson & Smyth 2010).

References
----------
Kriegeskorte, N., Mur, M. & Bandettini, P. (2008). Representational similarity analysis —
connecting the branches of systems neuroscience. *Frontiers in Systems Neuroscience* 2, 4.
Nili, H. et al. (2014). A toolbox for representational similarity analysis. *PLoS
Computational Biology* 10(4), e1003553 (the condition-label randomisation test).
Phipson, B. & Smyth, G. K. (2010). Permutation p-values should never be zero.
*Statistical Applications in Genetics and Molecular Biology* 9(1), 39.

Used in: M5T1 AI as a tool for neuroscience.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import torch
from torch import nn

Seed = int | np.random.Generator | None
Metric = Literal["correlation", "euclidean"]
METRICS: tuple[str, ...] = ("correlation", "euclidean")
COMPARISONS: tuple[str, ...] = ("spearman", "pearson")


def condition_means(X, y) -> np.ndarray:
    """Mean response to each condition.

    Parameters
    ----------
    X : array_like of shape (n_trials, n_features)
    y : array_like of shape (n_trials,)

    Returns
    -------
    ndarray of shape (n_conditions, n_features)
        Rows in the order of ``numpy.unique(y)``.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"X must have shape (n_trials, n_features) and y shape (n_trials,), "
                         f"got shapes {X.shape} and {y.shape}")
    return np.stack([X[y == c].mean(axis=0) for c in np.unique(y)])


def rdm(responses, metric: Metric = "correlation") -> np.ndarray:
    """Representational dissimilarity matrix of condition-by-feature responses.

    Parameters
    ----------
    responses : array_like of shape (n_conditions, n_features)
        E.g. :func:`condition_means` of spike counts or of hidden-layer activations.
    metric : {"correlation", "euclidean"}

    Returns
    -------
    ndarray of shape (n_conditions, n_conditions)
        Symmetric, zero on the diagonal.
    """
    x = np.asarray(responses, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError("responses must have shape (n_conditions, n_features) with at least "
                         f"2 of each, got shape {x.shape}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if metric == "euclidean":
        sq = np.sum(x**2, axis=1)
        d = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0))
    else:
        centred = x - x.mean(axis=1, keepdims=True)
        norms = np.linalg.norm(centred, axis=1)
        if np.any(norms == 0):
            raise ValueError("metric='correlation' is undefined for a condition whose response "
                             f"is the same in every feature (rows {np.flatnonzero(norms == 0)})")
        unit = centred / norms[:, None]
        d = 1.0 - np.clip(unit @ unit.T, -1.0, 1.0)
    np.fill_diagonal(d, 0.0)
    return d


def upper_triangle(matrix) -> np.ndarray:
    """Entries above the diagonal (``k=1``), row by row: shape (n (n - 1) / 2,)."""
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 2:
        raise ValueError(f"an RDM must be a square matrix of at least 2 x 2, got shape {m.shape}")
    return m[np.triu_indices(m.shape[0], k=1)]


def rank_average(x) -> np.ndarray:
    """Ranks 1 ... n of a 1-D array, ties sharing the average of their ranks."""
    x = np.asarray(x)
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return sums[inverse] / counts[inverse]


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt(np.sum(a**2) * np.sum(b**2))
    if denom == 0:
        raise ValueError("cannot correlate RDMs whose upper triangles are constant")
    return float(np.sum(a * b) / denom)


def compare_rdms(a, b, method: str = "spearman") -> float:
    """Correlation between the upper triangles of two RDMs of the same conditions.

    Parameters
    ----------
    a, b : array_like of shape (n_conditions, n_conditions)
    method : {"spearman", "pearson"}
        Spearman: the Pearson correlation of the average ranks (ties averaged).

    Returns
    -------
    float in [-1, 1]
    """
    if method not in COMPARISONS:
        raise ValueError(f"method must be one of {COMPARISONS}, got {method!r}")
    ua, ub = upper_triangle(a), upper_triangle(b)
    if ua.shape != ub.shape:
        raise ValueError(f"the RDMs must have the same shape, got {np.shape(a)} and {np.shape(b)}")
    if method == "spearman":
        ua, ub = rank_average(ua), rank_average(ub)
    return _pearson(ua, ub)


class PermutationResult(NamedTuple):
    """What :func:`rdm_permutation_test` returns: the observed comparison, its p-value and
    the null distribution, an ndarray of shape (n_perm,)."""

    statistic: float
    p_value: float
    null: np.ndarray


def rdm_permutation_test(a, b, n_perm: int = 1000, method: str = "spearman",
                         seed: Seed = None) -> PermutationResult:
    """One-sided test that two RDMs agree more than under shuffled condition labels.

    Parameters
    ----------
    a, b : array_like of shape (n_conditions, n_conditions)
    n_perm : int
        Number of random relabellings; the smallest possible p is ``1 / (n_perm + 1)``.
    method : {"spearman", "pearson"}
    seed : int, numpy Generator or None

    Returns
    -------
    PermutationResult

    Notes
    -----
    Each permutation ``pi`` reorders rows and columns of ``b`` together,
    ``b'_ij = b_{pi(i) pi(j)}``, so ``b'`` is the RDM of the same responses with the
    conditions renamed. ``p = (1 + #{k: null_k >= observed}) / (1 + n_perm)``. With few
    conditions there are few distinct permutations (``n!``; 120 for 5): the test cannot
    give a p below about ``1 / n!``.
    """
    if not (isinstance(n_perm, (int, np.integer)) and n_perm >= 1):
        raise ValueError(f"n_perm must be a positive integer, got {n_perm!r}")
    observed = compare_rdms(a, b, method)
    b = np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    null = np.empty(n_perm)
    for k in range(n_perm):
        perm = rng.permutation(b.shape[0])
        null[k] = compare_rdms(a, b[np.ix_(perm, perm)], method)
    p = (1.0 + np.sum(null >= observed)) / (1.0 + n_perm)
    return PermutationResult(observed, float(p), null)


@torch.no_grad()
def network_representations(model: nn.Module, X, layer: int = 0) -> np.ndarray:
    """Hidden-layer activations of an MLP for each input.

    Parameters
    ----------
    model : neuroai_core.continual.MLP (or any module with a ``hidden`` ModuleList of
        ``nn.Linear`` layers, each followed by a ReLU, as :func:`~neuroai_core.analysis.train_mlp`
        returns)
    X : array_like of shape (n_inputs, n_features)
        Inputs, preprocessed as for training (e.g. standardised).
    layer : int
        Which hidden layer, 0 for the first.

    Returns
    -------
    ndarray of shape (n_inputs, n_hidden_units): ``relu(W_l h_{l-1} + b_l)`` after layer
    ``layer`` (gates of gated subclasses are not applied).
    """
    hidden = getattr(model, "hidden", None)
    if not isinstance(hidden, nn.ModuleList):
        raise ValueError(f"model must have a 'hidden' ModuleList (an MLP), got "
                         f"{type(model).__name__}")
    if not (isinstance(layer, (int, np.integer)) and 0 <= layer < len(hidden)):
        raise ValueError(f"layer must be an integer in [0, {len(hidden)}), got {layer!r}")
    weight = hidden[0].weight
    h = torch.as_tensor(np.asarray(X, dtype=float), dtype=weight.dtype, device=weight.device)
    if h.ndim != 2 or h.shape[1] != hidden[0].in_features:
        raise ValueError(f"X must have shape (n_inputs, {hidden[0].in_features}), "
                         f"got shape {tuple(h.shape)}")
    for k in range(layer + 1):
        h = torch.relu(hidden[k](h))
    return h.cpu().numpy().astype(float)
