"""Learning without backprop: weight and node perturbation, feedback alignment.

One small network, ``x -> h = tanh(W1 x + xi1) -> y = W2 h + xi2`` (no biases; ``xi`` is
noise, zero except for node perturbation), trained on the squared error
``L = 1/2 |y - t|^2`` (averaged over a batch) by four rules that estimate the gradient
``dL/dW`` in four ways:

- **backprop**: the exact gradient; the hidden error ``delta1 = (W2^T delta2) * tanh'``
  needs the output weights ``W2`` a second time, travelling backwards ("weight transport");
- **feedback alignment** (Lillicrap et al. 2016): the same, with a fixed random matrix
  ``B`` in place of ``W2^T``; biased, but without noise;
- **weight perturbation** (Jabri & Flower 1992; Werfel, Xie & Seung 2005): add Gaussian
  noise ``xi`` (std ``sigma``) to every weight at once; the change of the loss, times the
  noise, over ``sigma^2``, estimates the gradient: ``g = (L(W + xi) - L(W)) xi / sigma^2``;
- **node perturbation** (Williams 1992; Fiete & Seung 2006; Werfel et al. 2005): add the
  noise to the units' summed inputs instead. A three-factor rule: the global reward
  ``R = -L(perturbed)`` minus a baseline ``b = -L(noiseless)`` gates a local eligibility
  ``e_ij = xi_i x_j / sigma^2`` (noise of the postsynaptic unit times presynaptic activity),
  ``dW_ij = eta (R - b) e_ij``.

Both perturbation estimates are unbiased to first order in ``sigma``; their variance grows
with the number of perturbed quantities: all weights for weight perturbation, all units
for node perturbation. For a loss linear in the perturbation and Gaussian noise, one
weight-perturbation estimate ``g_hat = (xi . g) xi / sigma^2`` of ``N`` parameters has
``E |g_hat - g|^2 = (N + 1) |g|^2`` (Isserlis' theorem), and its cosine with ``g`` is that
of a random direction, ``E |cos| = Gamma(N/2) / (sqrt(pi) Gamma((N+1)/2)) ~ sqrt(2 / (pi N))``.

References
----------
Werfel, J., Xie, X. & Seung, H. S. (2005). Learning curves for stochastic gradient descent
in linear feedforward networks. *Neural Computation* 17(12), 2699-2718.
Fiete, I. R. & Seung, H. S. (2006). Gradient learning in spiking neural networks by dynamic
perturbation of conductances. *Physical Review Letters* 97, 048104.
Lillicrap, T. P., Cownden, D., Tweed, D. B. & Akerman, C. J. (2016). Random synaptic
feedback weights support error backpropagation for deep learning. *Nature Communications*
7, 13276.
Lillicrap, T. P., Santoro, A., Marris, L., Akerman, C. J. & Hinton, G. (2020).
Backpropagation and the brain. *Nature Reviews Neuroscience* 21, 335-346.
Williams, R. J. (1992). Simple statistical gradient-following algorithms for connectionist
reinforcement learning. *Machine Learning* 8, 229-256.

Used in: M2T4 Beyond backprop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

METHODS: tuple[str, ...] = ("backprop", "feedback", "node", "weight")

#: Learning rates of :func:`train_network` per method, for the digits task of M2T4 at width 32,
#: ``sigma = 1e-3``, batches of 32: the rate of a factor-of-2 grid that gave the lowest
#: training loss after 2000 steps on seed 0 (``tune_learning_rate(method,
#: digits_task(seed=0), LocalLearningParams(method, n_steps=2000), LR_GRID, seed=0)``);
#: the tutorial's comparisons use other seeds.
DEFAULT_LR: dict[str, float] = {"backprop": 0.4096, "feedback": 0.2048, "node": 0.0512,
                                "weight": 0.0032}
LR_GRID: tuple[float, ...] = tuple(0.0004 * 2.0**k for k in range(13))  # 0.0004 ... 1.6


@dataclass(frozen=True)
class LocalLearningParams:
    """Parameters of :func:`train_network` (all quantities dimensionless).

    ``n_hidden`` hidden tanh units; ``n_steps`` updates on batches of ``batch_size``
    training examples drawn with replacement; learning rate ``lr`` (``None``: the method's
    entry of :data:`DEFAULT_LR`); ``sigma`` the standard deviation of the perturbation noise
    (of a weight or of a unit's summed input, in the units of that quantity); the loss is
    recorded every ``record_every`` steps.
    """

    method: str = "backprop"
    n_hidden: int = 32
    n_steps: int = 600
    batch_size: int = 32
    lr: float | None = None
    sigma: float = 1e-3
    record_every: int = 20

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        for name in ("n_hidden", "n_steps", "batch_size", "record_every"):
            value = getattr(self, name)
            if not (isinstance(value, (int, np.integer)) and value >= 1):
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        if not self.sigma > 0:
            raise ValueError(f"sigma must be positive, got {self.sigma!r}")

    @property
    def learning_rate(self) -> float:
        return DEFAULT_LR[self.method] if self.lr is None else float(self.lr)


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")


def init_mlp(n_in: int, n_hidden: int, n_out: int, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Random weights ``W1`` (n_hidden, n_in) and ``W2`` (n_out, n_hidden).

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        Layer sizes, each >= 1.
    seed : int, None or numpy Generator

    Returns
    -------
    (W1, W2) : ndarrays

    Notes
    -----
    Entries are Gaussian with variance ``1 / fan_in`` (LeCun initialisation), so that
    summed inputs have about unit scale.
    """
    for name, value in (("n_in", n_in), ("n_hidden", n_hidden), ("n_out", n_out)):
        if not (isinstance(value, (int, np.integer)) and value >= 1):
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_hidden, n_in))
    w2 = rng.normal(0.0, 1.0 / np.sqrt(n_hidden), (n_out, n_hidden))
    return w1, w2


def forward(weights, x, noise=None):
    """Run the network on a batch.

    Parameters
    ----------
    weights : tuple (W1, W2) of ndarrays (n_hidden, n_in) and (n_out, n_hidden)
    x : ndarray (batch, n_in)
    noise : tuple (xi1, xi2) of ndarrays (batch, n_hidden) and (batch, n_out), optional
        Added to the summed inputs of the hidden and the output units (node perturbation).

    Returns
    -------
    h : ndarray (batch, n_hidden)
        Hidden activities ``tanh(x W1^T + xi1)``.
    y : ndarray (batch, n_out)
        Outputs ``h W2^T + xi2``.
    """
    w1, w2 = weights
    a1 = x @ w1.T
    if noise is not None:
        a1 = a1 + noise[0]
    h = np.tanh(a1)
    y = h @ w2.T
    if noise is not None:
        y = y + noise[1]
    return h, y


def sample_losses(y, target) -> np.ndarray:
    """Squared error of each example, ``1/2 sum_k (y_k - t_k)^2``; shape (batch,)."""
    return 0.5 * np.sum((np.asarray(y) - np.asarray(target)) ** 2, axis=-1)


def loss(weights, x, target) -> float:
    """Mean over the batch of :func:`sample_losses` of the noiseless network."""
    return float(np.mean(sample_losses(forward(weights, x)[1], target)))


def _layer_grads(x, h, delta2, back):
    """``(g1, g2)`` from a forward pass, the output error and the backward matrix.

    The tutorial's demos compute gradients through this helper, so that they never call the
    functions its exercises ask for (those are unavailable while a notebook is graded).
    """
    delta1 = (delta2 @ back) * (1.0 - h**2)
    n = x.shape[0]
    return delta1.T @ x / n, delta2.T @ h / n


def backprop_grads(weights, x, target):
    """Exact gradient of :func:`loss` with respect to ``(W1, W2)``.

    Returns
    -------
    (g1, g2) : ndarrays shaped like ``W1`` and ``W2``

    Notes
    -----
    With ``delta2 = y - t`` and ``delta1 = (delta2 W2) * (1 - h^2)`` (row vectors, one row
    per example), ``g2 = delta2^T h / n`` and ``g1 = delta1^T x / n``: the output error
    travels back through the forward weights ``W2`` themselves (weight transport).

    References
    ----------
    Lillicrap, T. P., Santoro, A., Marris, L., Akerman, C. J. & Hinton, G. (2020).
    Backpropagation and the brain. *Nature Reviews Neuroscience* 21, 335-346.
    """
    h, y = forward(weights, x)
    return _layer_grads(x, h, y - target, weights[1])


def feedback_alignment_grads(weights, x, target, feedback):
    """Feedback alignment's update direction: backprop with ``W2`` replaced by ``feedback``.

    Parameters
    ----------
    weights : tuple (W1, W2)
        ndarrays (n_hidden, n_in) and (n_out, n_hidden).
    x : ndarray (batch, n_in)
    target : ndarray (batch, n_out)
    feedback : ndarray (n_out, n_hidden)
        Fixed random feedback weights ``B`` (shaped like ``W2``; they carry the output error
        back to the hidden units as ``delta2 B``, where backprop uses ``delta2 W2``).

    Returns
    -------
    (g1, g2) : ndarrays shaped like ``W1`` and ``W2``; ``g2`` is the exact gradient.

    Notes
    -----
    ``delta2 = y - t``, ``delta1 = (delta2 B) * (1 - h^2)``, ``g2 = delta2^T h / n``,
    ``g1 = delta1^T x / n`` (Lillicrap et al. 2016, eq. 1-2 with ``B`` in place of
    ``W^T``). With ``feedback = W2`` this is :func:`backprop_grads`.

    References
    ----------
    Lillicrap, T. P., Cownden, D., Tweed, D. B. & Akerman, C. J. (2016). Random synaptic
    feedback weights support error backpropagation for deep learning. *Nature
    Communications* 7, 13276.
    """
    w1, w2 = weights
    a1 = x @ w1.T
    h = np.tanh(a1)
    error = h @ w2.T - target
    hidden_error = (error @ np.asarray(feedback, dtype=float)) * (1.0 - np.tanh(a1) ** 2)
    return hidden_error.T @ x / x.shape[0], error.T @ h / x.shape[0]


def node_perturbation_update(pre, noise, reward, baseline, sigma: float):
    """The three-factor update of node perturbation for one layer.

    Parameters
    ----------
    pre : ndarray (batch, n_pre)
        Presynaptic activities.
    noise : ndarray (batch, n_post)
        The noise that was added to each postsynaptic unit's summed input.
    reward : ndarray (batch,) or float
        Reward of each example with the noise on.
    baseline : ndarray (batch,) or float
        Expected reward without the noise.
    sigma : float
        Standard deviation of the noise.

    Returns
    -------
    ndarray (n_post, n_pre)
        The reward-ascent direction, the batch mean of ``(R - b) xi_i x_j / sigma^2``;
        an estimate of ``-dL/dW`` when ``R = -L``.

    Notes
    -----
    ``Delta W_ij = eta < (R - b) e_ij >`` with eligibility ``e_ij = xi_i x_j / sigma^2``:
    the three-factor rule of :func:`~neuroai_core.plasticity.three_factor_step` with the
    modulator ``M = R - b``. To first order ``R - b = -sum_i (dL/da_i) xi_i``, and
    ``E[xi_i xi_k] = sigma^2 delta_ik`` makes the mean ``-dL/dW_ij`` (Williams 1992;
    Fiete & Seung 2006).

    References
    ----------
    Williams, R. J. (1992). Simple statistical gradient-following algorithms for
    connectionist reinforcement learning. *Machine Learning* 8, 229-256.
    Fiete, I. R. & Seung, H. S. (2006). Gradient learning in spiking neural networks by
    dynamic perturbation of conductances. *Physical Review Letters* 97, 048104.
    """
    _positive("sigma", sigma)
    pre = np.asarray(pre, dtype=float)
    noise = np.asarray(noise, dtype=float)
    modulator = np.broadcast_to(np.asarray(reward, float) - np.asarray(baseline, float),
                                (pre.shape[0],))
    return (noise * modulator[:, None]).T @ pre / (pre.shape[0] * sigma**2)


def node_perturbation_grads(weights, x, target, sigma: float, seed=None):
    """Node perturbation's estimate of the gradient of :func:`loss` (one noisy pass).

    Each example gets its own Gaussian noise (std ``sigma``) on every hidden and output
    unit's summed input; its reward is ``R = -L`` with the noise on and the baseline
    ``b = -L`` of the noiseless network on the same input.

    Returns
    -------
    (g1, g2) : ndarrays shaped like ``W1`` and ``W2``, an estimate of ``dL/dW``.

    Notes
    -----
    ``g_l = -< (R - b) xi_l x_{l-1}^T > / sigma^2`` (:func:`node_perturbation_update` with
    the sign turned to a gradient of the loss). Its variance grows with the number of
    perturbed units (Werfel et al. 2005).

    Parameters
    ----------
    weights : tuple (W1, W2)
    x : ndarray (batch, n_in)
    target : ndarray (batch, n_out)
    sigma : float
        Standard deviation of the noise on each summed input; positive.
    seed : int, None or numpy Generator

    References
    ----------
    Werfel, J., Xie, X. & Seung, H. S. (2005). Learning curves for stochastic gradient
    descent in linear feedforward networks. *Neural Computation* 17(12), 2699-2718.
    """
    _positive("sigma", sigma)
    rng = np.random.default_rng(seed)
    w1, w2 = weights
    n = x.shape[0]
    noise = (rng.normal(0.0, sigma, (n, w1.shape[0])), rng.normal(0.0, sigma, (n, w2.shape[0])))
    h0, y0 = forward(weights, x)
    h, y = forward(weights, x, noise)
    reward, baseline = -sample_losses(y, target), -sample_losses(y0, target)
    # the batch mean of (R - b) xi x^T / sigma^2, written out (see node_perturbation_update)
    m = (reward - baseline)[:, None] / (n * sigma**2)
    return -(noise[0] * m).T @ x, -(noise[1] * m).T @ h


def weight_perturbation_grads(weights, x, target, sigma: float, seed=None):
    """Weight perturbation's estimate of the gradient of :func:`loss` (one noisy pass).

    All weights get Gaussian noise ``xi`` (std ``sigma``) at once, the same for the whole
    batch; the estimate is ``(L(W + xi) - L(W)) xi / sigma^2``.

    Returns
    -------
    (g1, g2) : ndarrays shaped like ``W1`` and ``W2``

    Notes
    -----
    To first order ``L(W + xi) - L(W) = g . xi``, and ``E[xi xi^T] = sigma^2 I`` makes the
    mean ``g``. By Isserlis' theorem ``E |g_hat - g|^2 = (N + 1) |g|^2`` for ``N`` weights
    (to first order), and ``|cos(g_hat, g)|`` is that of a random direction.

    Parameters
    ----------
    weights : tuple (W1, W2)
    x : ndarray (batch, n_in)
    target : ndarray (batch, n_out)
    sigma : float
        Standard deviation of the noise on each weight; positive.
    seed : int, None or numpy Generator

    References
    ----------
    Werfel, J., Xie, X. & Seung, H. S. (2005). Learning curves for stochastic gradient
    descent in linear feedforward networks. *Neural Computation* 17(12), 2699-2718.
    """
    _positive("sigma", sigma)
    rng = np.random.default_rng(seed)
    xi = tuple(rng.normal(0.0, sigma, w.shape) for w in weights)
    perturbed = tuple(w + d for w, d in zip(weights, xi, strict=True))
    change = loss(perturbed, x, target) - loss(weights, x, target)
    return tuple(change * d / sigma**2 for d in xi)


def flat(arrays) -> np.ndarray:
    """Concatenate an array or a sequence of arrays into one flat vector."""
    if isinstance(arrays, np.ndarray):
        return arrays.ravel()
    return np.concatenate([np.asarray(a, dtype=float).ravel() for a in arrays])


def _row_cosines(rows: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Cosine of each row of ``rows`` (k, n) with ``g`` (n,); 0 where a norm is 0."""
    norms = np.linalg.norm(rows, axis=1) * np.linalg.norm(g)
    return np.divide(rows @ g, norms, out=np.zeros(rows.shape[0]), where=norms > 0)


def cosine_similarity(a, b) -> float:
    """Cosine of the angle between two parameter vectors.

    Parameters
    ----------
    a, b : ndarray, or sequences of ndarrays (e.g. ``(g1, g2)``) flattened and concatenated
        in order; the two must have the same total size.

    Returns
    -------
    float in [-1, 1]; 0 when either vector is zero.

    Notes
    -----
    ``cos(a, b) = a . b / (|a| |b|)``: 1 for the same direction, 0 for orthogonal ones.
    """
    a, b = flat(a), flat(b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same size, got {a.size} and {b.size}")
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norm) if norm > 0 else 0.0


def gradient_estimates(method: str, weights, x, target, n_repeats: int, sigma: float = 1e-3,
                       seed=0, feedback=None) -> np.ndarray:
    """``n_repeats`` estimates of the gradient by one method, flattened; (n_repeats, n_params).

    ``method`` is one of :data:`METHODS`; ``feedback`` (n_out, n_hidden) is required for
    ``"feedback"``. Backprop and feedback alignment are deterministic: their rows are equal.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "feedback" and feedback is None:
        raise ValueError("feedback must be given for method 'feedback', got None")
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_repeats):
        if method == "backprop":
            g = backprop_grads(weights, x, target)
        elif method == "feedback":
            h, y = forward(weights, x)
            g = _layer_grads(x, h, y - target, feedback)
        elif method == "node":
            g = node_perturbation_grads(weights, x, target, sigma, rng)
        else:
            g = weight_perturbation_grads(weights, x, target, sigma, rng)
        rows.append(flat(g))
    return np.stack(rows)


def estimator_stats(estimates, true_grad):
    """Alignment and spread of repeated gradient estimates.

    Parameters
    ----------
    estimates : ndarray (n_repeats, n_params)
    true_grad : ndarray (n_params,) or sequence of arrays

    Returns
    -------
    cosine : float
        Mean over repeats of each estimate's cosine with the true gradient.
    relative_variance : float
        Total variance across repeats (sum over parameters, ddof = 1) divided by
        ``|g|^2``; 0 for a deterministic rule, ``N + 1`` for first-order weight
        perturbation of ``N`` parameters.
    bias_cosine : float
        Cosine of the mean estimate with the true gradient.
    """
    est = np.asarray(estimates, dtype=float)
    g = flat(true_grad)
    if est.ndim != 2 or est.shape[1] != g.size:
        raise ValueError(f"estimates must have shape (n_repeats, {g.size}), got {est.shape}")
    cos = np.mean(_row_cosines(est, g))
    var = float(np.sum(np.var(est, axis=0, ddof=1))) if est.shape[0] > 1 else 0.0
    return float(cos), var / float(g @ g), float(_row_cosines(est.mean(axis=0)[None], g)[0])


def digits_task(test_fraction: float = 0.3, seed=0):
    """scikit-learn's 8x8 digits as a regression onto one-hot targets.

    Returns
    -------
    dict with ``x_train`` (n, 64) pixels in [0, 1] minus their training mean, ``t_train``
    (n, 10) one-hot targets, ``y_train`` (n,) labels, and the same for ``_test``; a
    stratified split (1257 / 540 examples for ``test_fraction = 0.3``).
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    from sklearn.model_selection import train_test_split

    from neuroai_core.continual.data import load_digits_arrays

    x, y = load_digits_arrays()
    x = x.astype(float)
    rs = int(np.random.default_rng(seed).integers(2**31 - 1))
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, stratify=y,
                                              random_state=rs)
    mean = x_tr.mean(axis=0)
    eye = np.eye(10)
    return {"x_train": x_tr - mean, "t_train": eye[y_tr], "y_train": y_tr,
            "x_test": x_te - mean, "t_test": eye[y_te], "y_test": y_te}


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train_network` records.

    ``steps`` (n_records,) the update counts at which ``train_loss`` (mean squared error
    on the whole training set) and ``test_accuracy`` (fraction correct, argmax of the
    output) were measured; ``fa_angle_deg`` the angle between ``W2`` and the feedback
    matrix ``B`` (NaN unless ``method == "feedback"``); ``weights`` the final ``(W1, W2)``;
    ``feedback`` the matrix ``B`` (drawn for every method, used by feedback alignment only);
    ``initial_weights`` the ``(W1, W2)`` training started from.
    """

    steps: np.ndarray
    train_loss: np.ndarray
    test_accuracy: np.ndarray
    fa_angle_deg: np.ndarray
    weights: tuple
    feedback: np.ndarray
    initial_weights: tuple


def accuracy(weights, x, labels) -> float:
    """Fraction of examples whose largest output is the label's."""
    return float(np.mean(np.argmax(forward(weights, x)[1], axis=1) == labels))


def train_network(params: LocalLearningParams, task: dict, seed=0,
                  progress: bool = False) -> TrainResult:
    """Train the network on ``task`` (see :func:`digits_task`) with one rule.

    The initial weights, the feedback matrix and the batches depend on ``seed`` only, not
    on the method, so the four methods start from the same network and see the same
    batches; the perturbation noise is drawn from its own stream.
    """
    rng = np.random.default_rng(seed)
    seeds = rng.integers(2**31 - 1, size=4)
    x, t = task["x_train"], task["t_train"]
    n_in, n_out = x.shape[1], t.shape[1]
    w = init_mlp(n_in, params.n_hidden, n_out, seeds[0])
    initial = w
    feedback = np.random.default_rng(seeds[1]).normal(0.0, 1.0 / np.sqrt(params.n_hidden),
                                                      (n_out, params.n_hidden))
    batches = np.random.default_rng(seeds[2]).integers(0, x.shape[0],
                                                       (params.n_steps, params.batch_size))
    noise_rng = np.random.default_rng(seeds[3])
    lr = params.learning_rate
    steps, losses, accs, angles = [], [], [], []

    def record(k):
        steps.append(k)
        losses.append(loss(w, x, t))
        accs.append(accuracy(w, task["x_test"], task["y_test"]))
        angles.append(np.degrees(np.arccos(np.clip(_row_cosines(w[1].ravel()[None],
                          feedback.ravel())[0], -1, 1)))
                      if params.method == "feedback" else np.nan)

    record(0)
    for k in tqdm(range(params.n_steps), disable=not progress, desc=params.method):
        xb, tb = x[batches[k]], t[batches[k]]
        if params.method == "backprop":
            g = backprop_grads(w, xb, tb)
        elif params.method == "feedback":
            h, y = forward(w, xb)
            g = _layer_grads(xb, h, y - tb, feedback)
        elif params.method == "node":
            g = node_perturbation_grads(w, xb, tb, params.sigma, noise_rng)
        else:
            g = weight_perturbation_grads(w, xb, tb, params.sigma, noise_rng)
        w = tuple(wi - lr * gi for wi, gi in zip(w, g, strict=True))
        if (k + 1) % params.record_every == 0 or k + 1 == params.n_steps:
            record(k + 1)
    return TrainResult(np.array(steps), np.array(losses), np.array(accs), np.array(angles), w,
                       feedback, initial)


def tune_learning_rate(method: str, task: dict, params: LocalLearningParams | None = None,
                       grid=LR_GRID, seed=0) -> dict[float, float]:
    """Final training loss of :func:`train_network` for each learning rate of ``grid``.

    Returns ``{lr: final training loss}`` (``inf`` where training diverged); the other
    settings come from ``params`` (default :class:`LocalLearningParams` with ``method``).
    """
    from dataclasses import replace

    base = LocalLearningParams(method=method) if params is None else replace(params,
                                                                             method=method)
    out = {}
    with np.errstate(all="ignore"):
        for lr in grid:
            run = replace(base, lr=float(lr), record_every=base.n_steps)
            final = train_network(run, task, seed).train_loss[-1]
            out[float(lr)] = float(final) if np.isfinite(final) else float("inf")
    return out


@dataclass(frozen=True)
class WidthSweep:
    """What :func:`width_sweep` measures, per method: arrays of shape (n_widths, n_seeds).

    ``cosine`` mean cosine of one estimate with the true gradient (all parameters);
    ``cosine_hidden`` the same for the hidden layer ``W1`` alone; ``relative_variance``
    total variance across repeats over ``|g|^2`` (see :func:`estimator_stats`).
    ``n_params`` (n_widths,) the number of weights, ``n_units`` the number of hidden and
    output units.
    """

    widths: np.ndarray
    n_params: np.ndarray
    n_units: np.ndarray
    cosine: dict
    cosine_hidden: dict
    relative_variance: dict


def width_sweep(task: dict, widths=(8, 16, 32, 64, 128), n_seeds: int = 5,
                n_repeats: int = 20, batch_size: int = 32, sigma: float = 1e-3,
                seed=0) -> WidthSweep:
    """Gradient estimates of every method at initialisation, for networks of several widths.

    For each width and seed: a fresh network (:func:`init_mlp`), a random feedback matrix,
    one batch of ``batch_size`` training examples, the true gradient
    (:func:`backprop_grads`) and ``n_repeats`` estimates per method
    (:func:`gradient_estimates`) compared with it (:func:`estimator_stats`).
    """
    if not (isinstance(n_repeats, (int, np.integer)) and n_repeats >= 2):
        raise ValueError(f"n_repeats must be an integer >= 2, got {n_repeats!r}")
    rng = np.random.default_rng(seed)
    x_all, t_all = task["x_train"], task["t_train"]
    n_in, n_out = x_all.shape[1], t_all.shape[1]
    shape = (len(widths), n_seeds)
    cos = {m: np.empty(shape) for m in METHODS}
    cos1 = {m: np.empty(shape) for m in METHODS}
    var = {m: np.empty(shape) for m in METHODS}
    for i, width in enumerate(widths):
        for j in range(n_seeds):
            w = init_mlp(n_in, int(width), n_out, rng)
            feedback = rng.normal(0.0, 1.0 / np.sqrt(width), (n_out, int(width)))
            idx = rng.integers(0, x_all.shape[0], batch_size)
            x, t = x_all[idx], t_all[idx]
            g = backprop_grads(w, x, t)
            n1 = g[0].size
            for m in METHODS:
                reps = n_repeats if m in ("node", "weight") else 2
                est = gradient_estimates(m, w, x, t, reps, sigma, rng, feedback)
                cos[m][i, j], var[m][i, j], _ = estimator_stats(est, g)
                cos1[m][i, j] = np.mean(_row_cosines(est[:, :n1], g[0].ravel()))
    widths = np.asarray(widths)
    return WidthSweep(widths, widths * (n_in + n_out), widths + n_out, cos, cos1, var)
