"""Learning to modulate: a neuromodulatory network meta-learned to gate another network's
plasticity (ANML, Beaulieu et al. 2020; OML, Javed & White 2019), small enough for a CPU.

**The pair.** For an input ``x`` (n_in,):

- representation ``h = relu(W x + b)``, shape (H,);
- modulator ``g = sigmoid(M2 relu(M1 x + c1) + c2)``, shape (H,), every entry in (0, 1);
- gated features ``z = g * h`` (elementwise);
- readout ``logits = V z``, ``V`` of shape (C, H), zero at the start of every sequence.

**Inner loop: online learning of a sequence.** Classes come one after the other, a few
images each, one image at a time; after each image one step of plain SGD on the
cross-entropy changes the readout alone,
``V <- V - alpha (softmax(V z) - e_y) z^T``. Column ``j`` of the update is proportional to
``z_j = g_j h_j``: a gate near zero both silences unit ``j`` and freezes the readout
weights that leave it. The modulator decides, image by image, where learning happens.

**Outer loop: meta-learning.** After the inner loop has run through a sequence, the
meta-loss is the cross-entropy of the final readout on other images (queries) of every
class of the sequence: it is low only if the last classes were learned *and* the first
ones were not overwritten. Its gradient with respect to ``W, b, M1, c1, M2, c2`` and the
inner learning rate ``alpha`` (learned as ``log alpha``) flows through every inner step:
back-propagation through the whole sequence, exact (no first-order approximation, no
truncation), which is cheap here because the representation and the gate do not change
inside the sequence and the readout update is written out. Adam takes the outer step, on
a batch of sequences at a time. ``gate=False`` fixes ``g = 1`` (the same meta-learning
without a modulator, the OML-like control).

Meta-training sees only its own classes; meta-testing gives the frozen pair a *new*
sequence of held-out classes and measures the accuracy matrix ``R`` (all ``C`` readout
rows learn from the first image, a row not seen yet being pushed down; the test after
class ``i`` lets the rows of classes ``0 ... i`` compete, as class-incremental learning).

**The inner rate.** At a small rate ``softmax(V z)`` stays close to uniform, each step
barely depends on ``V``, and the readout becomes a weighted sum of the features of each
class, independent of the order of the sequence: nothing is overwritten, and argmax
accuracy is unchanged by the scale of ``V``. The meta-loss, a cross-entropy, rewards
confident readouts and so pushes the rate up; :func:`tune_inner_lr` chooses a rate by
accuracy on meta-training sequences instead, and :func:`meta_experiment` reports both.

References
----------
Beaulieu, S., Frati, L., Miconi, T., Lehman, J., Stanley, K. O., Clune, J. & Cheney, N.
(2020). Learning to continually learn. *ECAI 2020*, 992-1001 (arXiv:2002.09571).
Javed, K. & White, M. (2019). Meta-learning representations for continual learning.
*NeurIPS* 32 (OML).
Finn, C., Abbeel, P. & Levine, S. (2017). Model-agnostic meta-learning for fast adaptation
of deep networks. *ICML*, 1126-1135 (MAML: differentiating through inner SGD steps).
Li, Z., Zhou, F., Chen, F. & Li, H. (2017). Meta-SGD: learning to learn quickly for
few-shot learning. arXiv:1707.09835 (a meta-learned inner learning rate).

Used in: M4T5 Learning to modulate.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from neuroai_core.continual.compare import ContinualConfig, run_method
from neuroai_core.continual.data import Task, TaskStream, load_digits_arrays
from neuroai_core.continual.surprise import SurpriseConfig, run_surprise
from neuroai_core.torch_utils import single_thread, torch_generator

# --- the three computations a student writes (references of M4T5's exercises) ---------
# The library's own machinery below does not call them (a graded run disables them); it
# uses the batched private versions, which tests/test_anml.py checks against these.


def gated_features(x, rep, mod):
    """Gated hidden activations of the prediction network, ``z = g * h``.

    Parameters
    ----------
    x : tensor of shape (B, n_in)
        Inputs (pixel intensities in [0, 1]).
    rep : tuple (W, b)
        The representation layer: ``W`` (H, n_in), ``b`` (H,).
    mod : tuple (M1, c1, M2, c2) or None
        The modulatory network: ``M1`` (n_mod, n_in), ``c1`` (n_mod,), ``M2`` (H, n_mod),
        ``c2`` (H,). None means no modulator: every gate is 1.

    Returns
    -------
    tensor of shape (B, H)
        ``z``, the representation multiplied elementwise by the gate, both functions of
        the same input.

    Notes
    -----
    .. math:: h = \\mathrm{relu}(W x + b), \\quad
              g = \\sigma(M_2\\, \\mathrm{relu}(M_1 x + c_1) + c_2), \\quad z = g \\odot h

    with :math:`\\sigma(u) = 1 / (1 + e^{-u})` (Beaulieu et al. 2020, figure 1: the
    modulatory network's sigmoid output multiplies the prediction network's activations).

    References
    ----------
    Beaulieu, S. et al. (2020). Learning to continually learn. *ECAI 2020*, 992-1001.
    """
    x = torch.as_tensor(x)
    W, b = rep
    h = torch.relu(x @ W.T + b)
    if mod is None:
        return h
    M1, c1, M2, c2 = mod
    return torch.sigmoid(torch.relu(x @ M1.T + c1) @ M2.T + c2) * h


def readout_sgd_step(V, z, y, lr):
    """One online SGD step of a softmax readout on one example.

    Parameters
    ----------
    V : tensor of shape (C, H)
        Readout weights (no bias).
    z : tensor of shape (H,)
        Features of the example.
    y : int
        Its class, in ``0 ... C - 1``.
    lr : float or 0-d tensor
        The learning rate ``alpha`` (positive).

    Returns
    -------
    tensor of shape (C, H)
        The new weights; ``V`` is not changed in place, so the result stays differentiable
        with respect to ``V``, ``z`` and ``lr``.

    Notes
    -----
    The gradient of the cross-entropy :math:`-\\log \\mathrm{softmax}(V z)_y` with respect to
    :math:`V` is :math:`(p - e_y) z^\\top` with :math:`p = \\mathrm{softmax}(V z)`, so

    .. math:: V' = V - \\alpha\\, (p - e_y)\\, z^\\top .

    References
    ----------
    Javed, K. & White, M. (2019). Meta-learning representations for continual learning.
    *NeurIPS* 32 (the inner loop updates the prediction network's last layers).
    """
    V = torch.as_tensor(V)
    z = torch.as_tensor(z, dtype=V.dtype)
    p = torch.softmax(V @ z, dim=0)
    target = torch.zeros_like(p)
    target[int(y)] = 1.0
    return V - lr * torch.outer(p - target, z)


def sequence_meta_loss(features, x_train, y_train, x_query, y_query, lr, n_classes):
    """The meta-loss of one sequence: learn it online, then test on queries of every class.

    Parameters
    ----------
    features : callable
        Maps inputs (B, n_in) to features (B, H) (the gated pair, or any torch module);
        its parameters are what the meta-gradient reaches.
    x_train : tensor of shape (K, n_in)
        The sequence, in the order it is learned (class after class).
    y_train : int tensor of shape (K,)
        Classes in ``0 ... n_classes - 1``.
    x_query : tensor of shape (Q, n_in)
    y_query : int tensor of shape (Q,)
    lr : float or 0-d tensor
        The inner learning rate ``alpha``.
    n_classes : int
        ``C``, rows of the readout.

    Returns
    -------
    0-d tensor
        Mean cross-entropy (nats) of the queries under the readout reached after one SGD
        step per training example from ``V = 0``; differentiable with respect to the
        parameters of ``features`` (through every inner step) and ``lr``.

    Notes
    -----
    With :math:`z_k = f(x_k)`, :math:`V_0 = 0` and
    :math:`V_{k+1} = V_k - \\alpha (\\mathrm{softmax}(V_k z_k) - e_{y_k}) z_k^\\top`,

    .. math:: \\mathcal{L}_\\text{meta} = \\frac{1}{Q} \\sum_q
              -\\log \\mathrm{softmax}(V_K f(x_q))_{y_q} .

    Its gradient is the MAML gradient (Finn et al. 2017) of a readout-only inner loop
    (Javed & White 2019; Beaulieu et al. 2020).
    """
    z = features(x_train)
    V = torch.zeros(int(n_classes), z.shape[1], dtype=z.dtype)
    for k in range(len(z)):
        V = readout_sgd_step(V, z[k], int(y_train[k]), lr)
    logits = features(x_query) @ V.T
    return nn.functional.cross_entropy(logits, torch.as_tensor(y_query, dtype=torch.int64))


# --- parameters ----------------------------------------------------------------------


@dataclass(frozen=True)
class MetaConfig:
    """Sizes and budgets of meta-training (counts are numbers of images, units or steps).

    ``n_hidden`` units in the representation (and gates), ``n_modulator`` hidden units of
    the modulatory network; each meta-training sequence has ``n_ways`` classes with
    ``n_shots`` training images each (one inner SGD step per image) and ``n_queries``
    query images per class for the meta-loss; ``meta_steps`` outer Adam steps at
    ``meta_lr`` on ``meta_batch`` sequences each; ``inner_lr`` is the starting inner
    learning rate (dimensionless, meta-learned when ``learn_inner_lr``); ``gate=False``
    fixes every gate at 1 (no modulator).
    """

    n_hidden: int = 64
    n_modulator: int = 32
    n_ways: int = 5
    n_shots: int = 10
    n_queries: int = 10
    meta_steps: int = 150
    meta_batch: int = 16
    meta_lr: float = 3e-3
    inner_lr: float = 0.1
    learn_inner_lr: bool = True
    gate: bool = True

    def __post_init__(self) -> None:
        for name in ("n_hidden", "n_modulator", "n_shots", "n_queries", "meta_batch"):
            if int(getattr(self, name)) != getattr(self, name) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if int(self.n_ways) != self.n_ways or self.n_ways < 2:
            raise ValueError(f"n_ways must be an integer of at least 2, got {self.n_ways!r}")
        if int(self.meta_steps) != self.meta_steps or self.meta_steps < 0:
            raise ValueError(f"meta_steps must be a non-negative integer, got {self.meta_steps!r}")
        for name in ("meta_lr", "inner_lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")


# --- the pair ---------------------------------------------------------------------------


class ModulatedPair(nn.Module):
    """A representation and a modulatory network; ``forward(x)`` gives ``z = g * h``.

    The readout is not a module parameter: it starts at zero for every sequence and is
    learned by the inner loop (:func:`online_learning`). ``log_lr`` is the meta-learned
    inner learning rate, ``alpha = exp(log_lr)``. With ``gate=False`` the modulator is
    absent and ``g = 1``.
    """

    def __init__(self, n_in: int = 64, n_hidden: int = 64, n_modulator: int = 32,
                 inner_lr: float = 0.1, gate: bool = True, seed=0):
        super().__init__()
        if n_in < 1 or n_hidden < 1 or n_modulator < 1:
            raise ValueError(f"layer sizes must be positive, got {n_in}, {n_hidden}, "
                             f"{n_modulator}")
        if not inner_lr > 0:
            raise ValueError(f"inner_lr must be positive, got {inner_lr!r}")
        gen = torch_generator(seed)
        self.gate = bool(gate)
        self.rep = nn.Linear(n_in, n_hidden)
        layers = [self.rep]
        if self.gate:
            self.mod1 = nn.Linear(n_in, n_modulator)
            self.mod2 = nn.Linear(n_modulator, n_hidden)
            layers += [self.mod1, self.mod2]
        with torch.no_grad():  # PyTorch's default initialisation, from our own generator
            for layer in layers:
                bound = 1.0 / layer.in_features**0.5
                layer.weight.uniform_(-bound, bound, generator=gen)
                layer.bias.uniform_(-bound, bound, generator=gen)
        self.log_lr = nn.Parameter(torch.tensor(math.log(inner_lr)))

    @property
    def inner_lr(self) -> float:
        return float(self.log_lr.detach().exp())

    def representation(self, x: torch.Tensor) -> torch.Tensor:
        """``h = relu(W x + b)``, shape (B, H)."""
        return torch.relu(self.rep(x))

    def gates(self, x: torch.Tensor) -> torch.Tensor:
        """``g = sigmoid(M2 relu(M1 x + c1) + c2)``, shape (B, H); ones without a modulator."""
        if not self.gate:
            return torch.ones(len(x), self.rep.out_features, dtype=x.dtype)
        return torch.sigmoid(self.mod2(torch.relu(self.mod1(x))))

    def forward(self, x: torch.Tensor, gate: bool = True) -> torch.Tensor:
        """Gated features ``z = g * h`` (B, H); ``gate=False`` ablates the gate (``g = 1``)."""
        h = self.representation(x)
        return h * self.gates(x) if gate and self.gate else h

    def parts(self):
        """``(rep, mod)`` as the tensors :func:`gated_features` takes (mod None without
        a modulator)."""
        rep = (self.rep.weight, self.rep.bias)
        if not self.gate:
            return rep, None
        return rep, (self.mod1.weight, self.mod1.bias, self.mod2.weight, self.mod2.bias)


# --- the batched inner loop used for meta-training and meta-testing ------------------------


def _inner_loop(z_train: torch.Tensor, y_train: torch.Tensor, lr, n_classes: int,
                record=None) -> torch.Tensor:
    """Online SGD of zero-initialised readouts for a batch of sequences at once.

    ``z_train`` (S, K, H), ``y_train`` (S, K); returns the readouts (S, C, H), all ``C``
    outputs learning from the first step (the readout of a class not seen yet is pushed
    down). ``record(k, V)`` is called after step ``k``.
    """
    S, K, H = z_train.shape
    V = torch.zeros(S, n_classes, H, dtype=z_train.dtype)
    onehot = nn.functional.one_hot(y_train, n_classes).to(z_train.dtype)  # (S, K, C)
    for k in range(K):
        zk = z_train[:, k]  # (S, H)
        p = torch.softmax(torch.bmm(V, zk.unsqueeze(2)).squeeze(2), dim=1)
        V = V - lr * (p - onehot[:, k]).unsqueeze(2) * zk.unsqueeze(1)
        if record is not None:
            record(k, V)
    return V


def _query_logits(net: ModulatedPair, x_train, y_train, x_query, n_classes: int,
                  gate: bool = True, lr=None) -> torch.Tensor:
    """Query logits (S, Q, C) after the inner loop, for a batch of sequences:
    ``x_train`` (S, K, n_in), ``y_train`` (S, K), ``x_query`` (S, Q, n_in)."""
    S, K, n_in = x_train.shape
    Q = x_query.shape[1]
    z_tr = net(x_train.reshape(S * K, n_in), gate).reshape(S, K, -1)
    z_q = net(x_query.reshape(S * Q, n_in), gate).reshape(S, Q, -1)
    V = _inner_loop(z_tr, y_train, net.log_lr.exp() if lr is None else lr, n_classes)
    return torch.einsum("sch,sqh->sqc", V, z_q)


def _query_loss(net: ModulatedPair, x_train, y_train, x_query, y_query, n_classes: int,
                gate: bool = True, lr=None) -> torch.Tensor:
    """Mean meta-loss over a batch of sequences (the batched :func:`sequence_meta_loss`)."""
    logits = _query_logits(net, x_train, y_train, x_query, n_classes, gate, lr)
    return nn.functional.cross_entropy(logits.reshape(-1, n_classes), y_query.reshape(-1))


def _by_class(x: np.ndarray, y: np.ndarray, classes) -> dict[int, torch.Tensor]:
    return {int(c): torch.as_tensor(x[y == c], dtype=torch.float32) for c in classes}


def sample_sequences(pool: dict[int, torch.Tensor], n_sequences: int, n_ways: int,
                     n_shots: int, n_queries: int, gen: np.random.Generator):
    """Draw sequences of ``n_ways`` distinct classes from ``pool`` (class -> images).

    Returns ``x_train`` (S, n_ways * n_shots, n_in) ordered class by class, ``y_train``
    (S, n_ways * n_shots) with each class renamed by its position in the sequence
    (0 ... n_ways - 1), and ``x_query`` (S, n_ways * n_queries, n_in), ``y_query``; the
    queries of a class are other images than its training images.
    """
    classes = sorted(pool)
    if n_ways > len(classes):
        raise ValueError(f"n_ways must be at most the {len(classes)} classes of the pool, "
                         f"got {n_ways!r}")
    xs, ys, xq, yq = [], [], [], []
    for _ in range(n_sequences):
        order = gen.permutation(classes)[:n_ways]
        tr, q = [], []
        for c in order:
            imgs = pool[int(c)]
            pick = torch.as_tensor(gen.choice(len(imgs), n_shots + n_queries, replace=False))
            tr.append(imgs[pick[:n_shots]])
            q.append(imgs[pick[n_shots:]])
        xs.append(torch.cat(tr))
        xq.append(torch.cat(q))
        ys.append(torch.arange(n_ways).repeat_interleave(n_shots))
        yq.append(torch.arange(n_ways).repeat_interleave(n_queries))
    return torch.stack(xs), torch.stack(ys), torch.stack(xq), torch.stack(yq)


@dataclass
class MetaTrainResult:
    """A meta-trained pair, the meta-loss of every outer step (nats), the inner learning
    rate over the outer steps and the CPU seconds meta-training took."""

    net: ModulatedPair
    meta_losses: np.ndarray
    inner_lrs: np.ndarray
    cpu_seconds: float


def meta_train(x: np.ndarray, y: np.ndarray, classes, config: MetaConfig | None = None,
               seed=0, progress: bool = False) -> MetaTrainResult:
    """Meta-train a :class:`ModulatedPair` on sequences of ``classes`` of ``(x, y)``.

    Parameters
    ----------
    x : ndarray of shape (n, n_in)
        Meta-training images (only these are ever seen).
    y : int ndarray of shape (n,)
    classes : sequence of int
        The meta-training classes (at least ``config.n_ways``).
    config : MetaConfig
    seed : int or sequence of ints
        Draws the initial weights and every sequence.

    Returns
    -------
    MetaTrainResult

    Notes
    -----
    Each outer step draws ``meta_batch`` sequences (:func:`sample_sequences`), runs the
    inner loop on each from a zero readout and takes one Adam step on the mean meta-loss
    (:func:`sequence_meta_loss`), with the exact gradient through all inner steps.
    """
    config = config or MetaConfig()
    gen = np.random.default_rng(seed)
    pool = _by_class(np.asarray(x), np.asarray(y), classes)
    net = ModulatedPair(x.shape[1], config.n_hidden, config.n_modulator, config.inner_lr,
                        config.gate, seed=[int(gen.integers(2**31)), 1])
    net.log_lr.requires_grad_(config.learn_inner_lr)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=config.meta_lr)
    losses, lrs = [], []
    start = time.process_time()
    with single_thread():
        for _ in tqdm(range(config.meta_steps), disable=not progress, desc="meta-training",
                      leave=False):
            xt, yt, xq, yq = sample_sequences(pool, config.meta_batch, config.n_ways,
                                              config.n_shots, config.n_queries, gen)
            loss = _query_loss(net, xt, yt, xq, yq, config.n_ways)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            lrs.append(net.inner_lr)
    return MetaTrainResult(net, np.asarray(losses), np.asarray(lrs),
                           time.process_time() - start)


def pretrain(x: np.ndarray, y: np.ndarray, classes, config: MetaConfig | None = None,
             steps: int = 300, batch_size: int = 32, lr: float = 3e-3,
             seed=0) -> ModulatedPair:
    """The control without meta-learning: a pair without modulator whose representation
    is trained as an ordinary classifier of ``classes`` (Adam, mini-batches, a temporary
    softmax readout that is then thrown away)."""
    config = config or MetaConfig()
    if steps < 0 or batch_size < 1 or not lr > 0:
        raise ValueError(f"steps, batch_size, lr must be >= 0, >= 1, > 0; got {steps!r}, "
                         f"{batch_size!r}, {lr!r}")
    gen = np.random.default_rng(seed)
    net = ModulatedPair(x.shape[1], config.n_hidden, config.n_modulator, config.inner_lr,
                        gate=False, seed=[int(gen.integers(2**31)), 1])
    keep = np.isin(y, list(classes))
    xs = torch.as_tensor(x[keep], dtype=torch.float32)
    label = {int(c): k for k, c in enumerate(classes)}
    ys = torch.as_tensor([label[int(c)] for c in y[keep]], dtype=torch.int64)
    head = nn.Linear(config.n_hidden, len(label))
    tg = torch_generator([int(gen.integers(2**31)), 2])
    with torch.no_grad():  # PyTorch's default initialisation, from the seed, not global RNG
        bound = 1.0 / config.n_hidden**0.5
        head.weight.uniform_(-bound, bound, generator=tg)
        head.bias.uniform_(-bound, bound, generator=tg)
    opt = torch.optim.Adam([*net.rep.parameters(), *head.parameters()], lr=lr)
    with single_thread():
        for _ in range(steps):
            idx = torch.randint(len(xs), (batch_size,), generator=tg)
            loss = nn.functional.cross_entropy(head(net(xs[idx])), ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net


# --- meta-testing ---------------------------------------------------------------------------


def class_sequence(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                   y_test: np.ndarray, classes, n_train: int, seed=0,
                   name: str = "held-out digits") -> TaskStream:
    """A class-incremental stream with one class per task, in the order of ``classes``.

    Task ``t`` has ``n_train`` training images of ``classes[t]`` (drawn with ``seed``) and
    all its test images; labels are renamed ``t``. The stream every method of M4T5 is
    tested on (the meta-learned pair online, fine-tuning and the surprise learner through
    their own loops).
    """
    gen = np.random.default_rng(seed)
    tasks = []
    f32 = torch.float32
    for t, c in enumerate(classes):
        mine = np.flatnonzero(y_train == c)
        if n_train < 1 or n_train > len(mine):
            raise ValueError(f"n_train must lie in [1, {len(mine)}] for class {c}, got "
                             f"{n_train!r}")
        pick = np.sort(gen.choice(mine, n_train, replace=False))
        test = y_test == c
        tasks.append(Task(t, torch.as_tensor(x_train[pick], dtype=f32),
                          torch.full((n_train,), t, dtype=torch.int64),
                          torch.as_tensor(x_test[test], dtype=f32),
                          torch.full((int(test.sum()),), t, dtype=torch.int64)))
    return TaskStream(name, "class", tuple(tasks), 1)


@torch.no_grad()
def online_learning(net: ModulatedPair, stream: TaskStream, lr: float | None = None,
                    gate: bool = True, seed=0) -> np.ndarray:
    """Learn a class-incremental ``stream`` online with the frozen pair; return ``R``.

    One SGD step of the readout per training image (:func:`readout_sgd_step`), images of
    a task in a random order drawn from ``seed``, tasks in order; after each task the test
    accuracy on every task with the readouts of the classes seen so far
    (``max(i, j) + 1`` units), the accuracy matrix ``R`` (n_tasks, n_tasks). ``lr``
    defaults to the pair's meta-learned rate; ``gate=False`` ablates the gate.
    """
    gen = torch_generator(seed)
    T = stream.n_tasks
    order = [task.x_train[torch.randperm(len(task.x_train), generator=gen)]
             for task in stream.tasks]
    x_tr = torch.cat(order)
    y_tr = torch.cat([torch.full((len(o),), t, dtype=torch.int64)
                      for t, o in enumerate(order)])
    ends = np.cumsum([len(o) for o in order]) - 1
    z_tr = net(x_tr, gate).unsqueeze(0)
    z_te = [net(task.x_test, gate) for task in stream.tasks]
    R = np.zeros((T, T))

    def record(k, V):
        hits = np.flatnonzero(ends == k)
        if len(hits):
            i = int(hits[0])
            for j, z in enumerate(z_te):
                logits = z @ V[0].T
                logits[:, max(i, j) + 1 :] = float("-inf")
                R[i, j] = float((logits.argmax(1) == j).float().mean())

    with single_thread():
        _inner_loop(z_tr, y_tr.unsqueeze(0), net.inner_lr if lr is None else lr, T,
                    record=record)
    return R


@torch.no_grad()
def tune_inner_lr(net: ModulatedPair, x: np.ndarray, y: np.ndarray, classes, grid,
                  n_ways: int = 5, n_shots: int = 10, n_queries: int = 10,
                  n_sequences: int = 32, gate: bool = True, seed=0) -> float:
    """The inner learning rate of ``grid`` under which the pair, learning sequences of the
    meta-training ``classes`` online, ends with the highest query accuracy.

    Only meta-training classes are used (never the held-out ones). Every method of
    :func:`meta_experiment` that learns online gets its rate this way, meta-learned or
    not, since the meta-loss (a cross-entropy) rewards confident readouts, which a larger
    rate gives, more than it rewards correct ones.
    """
    gen = np.random.default_rng(seed)
    pool = _by_class(np.asarray(x), np.asarray(y), classes)
    xt, yt, xq, yq = sample_sequences(pool, n_sequences, n_ways, n_shots, n_queries, gen)
    best, best_acc = None, -1.0
    with single_thread():
        for lr in grid:
            if not lr > 0:
                raise ValueError(f"grid must hold positive learning rates, got {lr!r}")
            logits = _query_logits(net, xt, yt, xq, n_ways, gate, float(lr))
            acc = float((logits.argmax(2) == yq).float().mean())
            if acc > best_acc:
                best, best_acc = float(lr), acc
    return best


# --- the whole protocol: meta-train on some digits, test on a new sequence of the others --


def dihedral_classes(x: np.ndarray, y: np.ndarray, classes, side: int = 8):
    """Eight classes from every class of ``classes``: its images under the eight
    symmetries of the square (four quarter turns, each with or without a transpose).

    Returns ``(x, y)`` with ``y = 8 c + s`` for class ``c`` under symmetry ``s`` (``s < 4``:
    ``s`` counter-clockwise quarter turns; ``s >= 4``: ``s - 4`` turns, then a transpose).
    Turning images into new classes is how few-shot and meta-learning studies enlarge
    Omniglot (Vinyals et al. 2016; Santoro et al. 2016); here it turns 5 digits into 40
    meta-training classes.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 2 or x.shape[1] != side * side:
        raise ValueError(f"x must have shape (n, {side * side}), got shape {x.shape}")
    xs, ys = [], []
    for c in classes:
        imgs = x[y == c].reshape(-1, side, side)
        for s in range(8):
            im = np.rot90(imgs, s % 4, axes=(1, 2))
            if s >= 4:
                im = im.transpose(0, 2, 1)
            xs.append(im.reshape(-1, side * side))
            ys.append(np.full(len(im), 8 * int(c) + s, dtype=np.int64))
    return np.concatenate(xs).astype(x.dtype), np.concatenate(ys)


#: The methods of :func:`meta_experiment`, in the order of M4T5's tables.
META_METHODS: tuple[str, ...] = (
    "meta-learned modulator", "meta-learned modulator, own rate", "modulator ablated (g = 1)",
    "meta-learned, no modulator", "untrained pair", "pretrained, no meta-learning",
    "fine-tuning", "surprise learner",
)

#: Inner learning rates from which :func:`tune_inner_lr` chooses.
LR_GRID: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0)


def meta_experiment(seed: int = 0, config: MetaConfig | None = None, n_train: int = 10,
                    n_meta_classes: int = 5, methods=META_METHODS) -> dict:
    """One seed of M4T5's comparison, every method on the same new sequence.

    The seed draws a stratified 70/30 split of scikit-learn's digits and which
    ``n_meta_classes`` digits are for meta-training (the others, in a random order, make
    the new sequence). Meta-training uses the training images of its digits under the
    eight symmetries (:func:`dihedral_classes`); the test sequence gives every method the
    same ``n_train`` training images of each held-out digit and tests on all their test
    images (:func:`class_sequence`).

    Methods (:data:`META_METHODS`), the first six learning the sequence online
    (:func:`online_learning`) at an inner rate chosen from :data:`LR_GRID` by accuracy on
    meta-training sequences (:func:`tune_inner_lr`), never on the held-out digits:

    - the meta-learned pair (:func:`meta_train`); the same at its own meta-learned rate;
      the same with its gate ablated to 1;
    - the pair meta-trained without a modulator (``gate=False``, OML's recipe);
    - the untrained pair (random representation and modulator, as initialised);
    - a representation pretrained as an ordinary classifier of the meta-training classes
      (:func:`pretrain`);
    - fine-tuning of a fresh 64-100-100 network and M4T4's surprise learner
      (:func:`~neuroai_core.continual.surprise.run_surprise`), each with its own loop
      (Adam, 5 images per batch, 5 passes over each digit), neither of which sees the
      meta-training digits.

    Returns
    -------
    dict
        ``R`` (method -> accuracy matrix (T, T)), ``cpu_seconds`` (method -> CPU seconds of
        its training, meta-training included), ``meta_losses`` (method -> meta-loss per
        outer step, nats, for the meta-trained ones), ``inner_lr`` (method -> rate used
        online), ``classes`` (held-out digits in sequence order), ``meta_classes``,
        ``net`` (the meta-learned pair) and ``stream``.
    """
    from sklearn.model_selection import train_test_split

    config = config or MetaConfig()
    unknown = set(methods) - set(META_METHODS)
    if unknown:
        raise ValueError(f"methods must be among {META_METHODS}, got {sorted(unknown)!r}")
    if not 2 <= n_meta_classes <= 8:
        raise ValueError(f"n_meta_classes must lie in [2, 8], got {n_meta_classes!r}")
    x, y = load_digits_arrays()
    gen = np.random.default_rng([seed, 5])
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, stratify=y,
                                              random_state=int(gen.integers(2**31)))
    order = gen.permutation(10)
    meta_classes = sorted(int(c) for c in order[:n_meta_classes])
    test_classes = [int(c) for c in order[n_meta_classes:]]
    xa, ya = dihedral_classes(x_tr, y_tr, meta_classes)
    pool_classes = sorted(set(ya.tolist()))
    stream = class_sequence(x_tr, y_tr, x_te, y_te, test_classes, n_train, seed=[seed, 6])
    out = dict(R={}, cpu_seconds={}, meta_losses={}, inner_lr={}, classes=test_classes,
               meta_classes=meta_classes, stream=stream, net=None)
    want = set(methods)

    def online(name, net, gate=True, lr=None, cpu=0.0, losses=None):
        if lr is None:
            lr = tune_inner_lr(net, xa, ya, pool_classes, LR_GRID, n_ways=config.n_ways,
                               n_shots=config.n_shots, n_queries=config.n_queries,
                               gate=gate, seed=[seed, 7])
        out["inner_lr"][name], out["cpu_seconds"][name] = lr, cpu
        if losses is not None:
            out["meta_losses"][name] = losses
        out["R"][name] = online_learning(net, stream, lr, gate=gate, seed=seed)

    mod_names = {"meta-learned modulator", "meta-learned modulator, own rate",
                 "modulator ablated (g = 1)"}
    if want & mod_names:
        res = meta_train(xa, ya, pool_classes, config, seed=[seed, 1])
        out["net"] = res.net
        kw = dict(cpu=res.cpu_seconds, losses=res.meta_losses)
        if "meta-learned modulator" in want:
            online("meta-learned modulator", res.net, **kw)
        if "meta-learned modulator, own rate" in want:
            online("meta-learned modulator, own rate", res.net, lr=res.net.inner_lr, **kw)
        if "modulator ablated (g = 1)" in want:
            online("modulator ablated (g = 1)", res.net, gate=False, **kw)
    if "meta-learned, no modulator" in want:
        plain = MetaConfig(**{**config.__dict__, "gate": False})
        res = meta_train(xa, ya, pool_classes, plain, seed=[seed, 1])
        online("meta-learned, no modulator", res.net, cpu=res.cpu_seconds,
               losses=res.meta_losses)
    if "untrained pair" in want:
        online("untrained pair", ModulatedPair(x.shape[1], config.n_hidden,
                                               config.n_modulator, seed=[seed, 1]))
    if "pretrained, no meta-learning" in want:
        start = time.process_time()
        net = pretrain(xa, ya, pool_classes, config, seed=[seed, 2])
        online("pretrained, no meta-learning", net, cpu=time.process_time() - start)
    own = ContinualConfig(epochs=5, batch_size=5)
    if "fine-tuning" in want:
        start = time.process_time()
        out["R"]["fine-tuning"] = run_method("fine-tuning", stream, own, seed=seed).R
        out["cpu_seconds"]["fine-tuning"] = time.process_time() - start
    if "surprise learner" in want:
        # The detector's window scaled to 10 batches per digit (M4T4's default is 20).
        sc = SurpriseConfig(window=5, min_gap=5, boost_steps=2)
        start = time.process_time()
        out["R"]["surprise learner"] = run_surprise(stream, own, sc, seed=seed).R
        out["cpu_seconds"]["surprise learner"] = time.process_time() - start
    out["R"] = {m: out["R"][m] for m in META_METHODS if m in out["R"]}
    return out
