"""Decode a stimulus from population responses: cross-validation and two decoders.

A decoder is any function ``fit_predict(X_train, y_train, X_test) -> y_pred``: it learns
from the training trials only and predicts the labels of the test trials.
:func:`cross_val_accuracy` splits the trials into ``k`` stratified folds
(:func:`stratified_folds`), holds each fold out once, and returns the accuracy on each
held-out fold.

Features are standardised (zero mean, unit variance per neuron) with the mean and standard
deviation of the **training fold only** (:func:`standardize`). Fitting them on all trials
would let the test trials leak into the training: their mean shifts every training
feature, so the estimate of accuracy would no longer be that of a decoder meeting new data
(information leakage; Hastie et al. 2009, section 7.10.2). The same rule holds for any
preprocessing that learns from data (PCA, feature selection).

Two decoders:

- :func:`linear_decoder`: linear discriminant analysis with a shrunk covariance, closed
  form and deterministic;
- :func:`mlp_decoder`: a one-hidden-layer ReLU network (:class:`~neuroai_core.continual.MLP`)
  trained full batch with Adam on the cross-entropy, seeded (:func:`train_mlp`).

References
----------
Glaser, J. I., Benjamin, A. S., Chowdhury, R. H., Perich, M. G., Miller, L. E. &
Kording, K. P. (2020). Machine learning for neural decoding. *eNeuro* 7(4).
Hastie, T., Tibshirani, R. & Friedman, J. (2009). *The Elements of Statistical Learning*,
2nd ed., sections 4.2 (linear regression of an indicator matrix, and masking), 4.3 (linear
discriminant analysis) and 7.10
(cross-validation, and the wrong and right way to do it).

Used in: M5T1 AI as a tool for neuroscience.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from neuroai_core.continual.train import MLP
from neuroai_core.torch_utils import single_thread

Seed = int | np.random.Generator | None
FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _check_xy(X, y) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must have shape (n_trials, n_features), got shape {X.shape}")
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y must have shape ({len(X)},) to match X, got shape {y.shape}")
    return X, y


def stratified_folds(labels, k: int = 5, seed: Seed = None) -> list[np.ndarray]:
    """Split trial indices into ``k`` disjoint folds with the same class proportions.

    Parameters
    ----------
    labels : array_like of shape (n_trials,)
    k : int
        Number of folds, ``2 <= k <=`` the size of the smallest class (so that every class
        appears in every test fold).
    seed : int, numpy Generator or None
        Shuffles the trials of each class before they are dealt out.

    Returns
    -------
    list of k sorted int ndarrays
        The test indices of each fold; together they cover every trial exactly once.

    Notes
    -----
    The trials of each class are shuffled and cut into ``k`` nearly equal parts
    (``numpy.array_split``); fold ``i`` takes part ``i`` of every class. Class sizes that
    are multiples of ``k`` give folds of exactly equal size and composition.
    """
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {y.shape}")
    classes, sizes = np.unique(y, return_counts=True)
    if not (isinstance(k, (int, np.integer)) and 2 <= k <= sizes.min()):
        raise ValueError(f"k must be an integer between 2 and the size of the smallest class "
                         f"({sizes.min()} trials of class {classes[sizes.argmin()]!r}), got {k!r}")
    rng = np.random.default_rng(seed)
    folds: list[list[np.ndarray]] = [[] for _ in range(k)]
    for c in classes:
        members = rng.permutation(np.flatnonzero(y == c))
        for i, part in enumerate(np.array_split(members, k)):
            folds[i].append(part)
    return [np.sort(np.concatenate(parts)) for parts in folds]


def standardize(X_train, X_test=None) -> tuple[np.ndarray, np.ndarray | None]:
    """Z-score features with the training set's mean and standard deviation.

    Returns ``(Z_train, Z_test)`` (``Z_test`` is None when ``X_test`` is None). Features
    constant in the training set get scale 1 (they stay constant instead of dividing by 0).
    """
    X_train = np.asarray(X_train, dtype=float)
    mean = X_train.mean(axis=0)
    scale = X_train.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z_test = None if X_test is None else (np.asarray(X_test, dtype=float) - mean) / scale
    return (X_train - mean) / scale, z_test


def linear_decoder(X_train, y_train, X_test, shrinkage: float = 0.1) -> np.ndarray:
    """Linear discriminant analysis: fit on the training trials, predict the test trials.

    Parameters
    ----------
    X_train : array_like of shape (n_train, n_features)
    y_train : array_like of shape (n_train,)
    X_test : array_like of shape (n_test, n_features)
    shrinkage : float
        ``lambda`` in [0, 1]: how far the covariance is pulled towards a multiple of the
        identity (0: the sample covariance, singular when neurons outnumber trials).

    Returns
    -------
    ndarray of shape (n_test,): predicted labels, taken from those of ``y_train``.

    Notes
    -----
    With class means ``mu_c``, class frequencies ``pi_c`` and the pooled within-class
    covariance ``S = 1/n sum_c sum_{i in c} (x_i - mu_c)(x_i - mu_c)^T``, shrunk to
    ``S_lambda = (1 - lambda) S + lambda tr(S) / p I``, each class scores
    ``x^T S_lambda^{-1} mu_c - mu_c^T S_lambda^{-1} mu_c / 2 + ln pi_c`` and the highest
    wins (Hastie et al. 2009, section 4.3): a linear rule, the Bayes classifier for
    Gaussian classes with a shared covariance. With ``lambda = 0`` it equals scikit-learn's
    ``LinearDiscriminantAnalysis(solver="lsqr")``. Why not least squares on one-hot
    labels, simpler still? With more than two classes it suffers from *masking*: for
    classes whose means lie on a circle, as cosine-tuned populations put directions, the
    middle classes never win (Hastie et al. 2009, section 4.2).
    """
    X_train, y_train = _check_xy(X_train, y_train)
    if not 0.0 <= shrinkage <= 1.0:
        raise ValueError(f"shrinkage must lie in [0, 1], got {shrinkage!r}")
    classes, y_idx, n_c = np.unique(y_train, return_inverse=True, return_counts=True)
    means = np.stack([X_train[y_idx == c].mean(axis=0) for c in range(len(classes))])
    centred = X_train - means[y_idx]
    cov = centred.T @ centred / len(X_train)
    p = cov.shape[0]
    cov = (1.0 - shrinkage) * cov + shrinkage * np.trace(cov) / p * np.eye(p)
    coef = np.linalg.lstsq(cov, means.T, rcond=None)[0].T
    intercept = -0.5 * np.sum(means * coef, axis=1) + np.log(n_c / len(X_train))
    scores = np.asarray(X_test, dtype=float) @ coef.T + intercept
    return classes[np.argmax(scores, axis=1)]


def train_mlp(X, y, n_hidden: int = 32, n_steps: int = 300, lr: float = 1e-2,
              weight_decay: float = 1e-4, seed: Seed = 0) -> MLP:
    """Train a one-hidden-layer ReLU network on labelled trials (full batch, Adam).

    Parameters
    ----------
    X : array_like of shape (n_trials, n_features)
        Standardised features (:func:`standardize`).
    y : int array_like of shape (n_trials,)
        Labels ``0 ... n_classes - 1`` (the output layer has ``max(y) + 1`` units).
    n_hidden : int
    n_steps : int
        Adam steps, each on the whole training set.
    lr, weight_decay : float
        Adam's learning rate and L2 weight decay.
    seed : int, numpy Generator or None
        Initial weights (the training is then deterministic).

    Returns
    -------
    neuroai_core.continual.MLP
        ``model(x)`` gives logits of shape (n, n_classes); ``model.hidden[0]`` is the hidden
        layer (see :func:`~neuroai_core.analysis.network_representations`).
    """
    X, y = _check_xy(X, y)
    y_t = torch.as_tensor(y, dtype=torch.int64)
    if y_t.min() < 0:
        raise ValueError(f"y must hold labels 0 ... n_classes - 1, got min {int(y_t.min())}")
    model = MLP(X.shape[1], (n_hidden,), int(y_t.max()) + 1, seed=seed)
    x_t = torch.as_tensor(X, dtype=torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    with single_thread():
        for _ in range(n_steps):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x_t), y_t).backward()
            optimizer.step()
    return model


def mlp_decoder(X_train, y_train, X_test, n_hidden: int = 32, n_steps: int = 300,
                lr: float = 1e-2, seed: Seed = 0) -> np.ndarray:
    """Fit :func:`train_mlp` on the training trials and predict the test trials' labels.

    Labels may be any values; they are mapped to ``0 ... C - 1`` for training and back.
    Returns an ndarray of shape (n_test,).
    """
    classes, y_idx = np.unique(np.asarray(y_train), return_inverse=True)
    model = train_mlp(X_train, y_idx, n_hidden=n_hidden, n_steps=n_steps, lr=lr, seed=seed)
    with torch.no_grad():
        logits = model(torch.as_tensor(np.asarray(X_test, dtype=float), dtype=torch.float32))
    return classes[logits.argmax(dim=1).numpy()]


def cross_val_accuracy(fit_predict: FitPredict, X, y, k: int = 5, seed: Seed = 0,
                       standardize_features: bool = True) -> np.ndarray:
    """Accuracy of a decoder on each of ``k`` held-out stratified folds.

    Parameters
    ----------
    fit_predict : callable ``(X_train, y_train, X_test) -> y_pred``
        E.g. :func:`linear_decoder`, :func:`mlp_decoder` or a ``functools.partial`` of them.
    X : array_like of shape (n_trials, n_features)
    y : array_like of shape (n_trials,)
    k : int
        Number of folds (:func:`stratified_folds`).
    seed : int, numpy Generator or None
        Draws the folds.
    standardize_features : bool
        Z-score with the training fold's statistics only (see the module notes).

    Returns
    -------
    ndarray of shape (k,): the fraction of correct predictions in each test fold.
    """
    X, y = _check_xy(X, y)
    folds = stratified_folds(y, k, seed)
    scores = np.empty(k)
    for i, test in enumerate(folds):
        train = np.setdiff1d(np.arange(len(y)), test)
        x_tr, x_te = X[train], X[test]
        if standardize_features:
            x_tr, x_te = standardize(x_tr, x_te)
        y_pred = np.asarray(fit_predict(x_tr, y[train], x_te))
        if y_pred.shape != test.shape:
            raise ValueError(f"fit_predict returned shape {y_pred.shape}, expected {test.shape}")
        scores[i] = np.mean(y_pred == y[test])
    return scores
