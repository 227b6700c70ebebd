"""Task streams for continual learning, offline by default.

A stream is a sequence of tasks. Each task has ``classes_per_task`` output "slots"; the
scenario only decides which output units a task's slots map to and which units are
active (van de Ven & Tolias 2019; van de Ven, Tuytelaars & Tolias 2022):

- ``"task"`` (task-incremental): every task has its own units, and the task identity is
  given, so only the units of the current task are active (a multi-headed output);
- ``"domain"`` (domain-incremental): all tasks share the same ``classes_per_task`` units
  and the task identity is not given;
- ``"class"`` (class-incremental): every task has its own units, the task identity is
  not given, and all units of the tasks seen so far compete.

Two streams are built in: *split digits* (scikit-learn's 8x8 digits as five two-class
tasks, 0/1, 2/3, ..., 8/9) and *permuted digits* (all ten digits in every task, with a
fixed random permutation of the 64 pixels per task). Each comes with a seeded, stratified
70/30 train/test split. :func:`read_idx` and :func:`load_mnist` read MNIST's IDX files for
those who want the full-size benchmark.

References
----------
van de Ven, G. M. & Tolias, A. S. (2019). Three scenarios for continual learning.
arXiv:1904.07734.
van de Ven, G. M., Tuytelaars, T. & Tolias, A. S. (2022). Three types of incremental
learning. *Nature Machine Intelligence* 4, 1185-1197.
LeCun, Y. et al. The MNIST database; IDX file format, http://yann.lecun.com/exdb/mnist/.

Used in: M4T1 Catastrophic forgetting and the three scenarios (and M4T2, M4T3).
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

SCENARIOS: tuple[str, ...] = ("task", "domain", "class")


def _check_scenario(scenario: str) -> None:
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")


def _int_seed(seed) -> int:
    """An int seed from an int, a numpy Generator or None."""
    return int(np.random.default_rng(seed).integers(2**31 - 1))


def n_output_units(scenario: str, classes_per_task: int, n_tasks: int) -> int:
    """Size of the output layer: shared units in domain-IL, one set per task otherwise."""
    _check_scenario(scenario)
    return classes_per_task if scenario == "domain" else classes_per_task * n_tasks


def output_mask(scenario: str, task_id: int, classes_per_task: int, n_tasks: int) -> np.ndarray:
    """Which output units are active while training (or testing) in context ``task_id``.

    Parameters
    ----------
    scenario : {"task", "domain", "class"}
    task_id : int
        The task being trained; in class-IL, the last task seen so far.
    classes_per_task, n_tasks : int

    Returns
    -------
    ndarray of bool, shape (n_output_units,)

    Notes
    -----
    With ``C = classes_per_task`` and task ``t``: task-IL activates units
    ``t C ... (t + 1) C - 1``; domain-IL all ``C`` shared units; class-IL units
    ``0 ... (t + 1) C - 1``, every class seen so far.
    """
    _check_scenario(scenario)
    if not 0 <= task_id < n_tasks:
        raise ValueError(f"task_id must lie in [0, {n_tasks}), got {task_id!r}")
    mask = np.zeros(n_output_units(scenario, classes_per_task, n_tasks), dtype=bool)
    if scenario == "task":
        mask[task_id * classes_per_task : (task_id + 1) * classes_per_task] = True
    elif scenario == "domain":
        mask[:] = True
    else:
        mask[: (task_id + 1) * classes_per_task] = True
    return mask


@dataclass(frozen=True)
class Task:
    """One task: train and test inputs (float32, shape (n, n_features)) and labels.

    ``y_*`` are output-unit indices for the stream's scenario (int64, shape (n,)).
    """

    task_id: int
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


@dataclass(frozen=True)
class TaskStream:
    """A sequence of tasks under one scenario."""

    name: str
    scenario: str
    tasks: tuple[Task, ...]
    classes_per_task: int

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    @property
    def n_outputs(self) -> int:
        return n_output_units(self.scenario, self.classes_per_task, self.n_tasks)

    @property
    def n_features(self) -> int:
        return int(self.tasks[0].x_train.shape[1])

    def mask(self, task_id: int) -> torch.Tensor:
        """:func:`output_mask` of this stream as a bool tensor."""
        m = output_mask(self.scenario, task_id, self.classes_per_task, self.n_tasks)
        return torch.from_numpy(m)


def _unit_labels(scenario: str, task_id: int, within: np.ndarray, classes_per_task: int):
    """Output-unit index of each sample from its label within the task (0 ... C - 1)."""
    offset = 0 if scenario == "domain" else task_id * classes_per_task
    return torch.as_tensor(within + offset, dtype=torch.int64)


def _split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int):
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=test_fraction, stratify=y, random_state=seed)


def _task(scenario, t, x_tr, w_tr, x_te, w_te, cpt) -> Task:
    f32 = torch.float32
    return Task(
        task_id=t,
        x_train=torch.as_tensor(x_tr, dtype=f32),
        y_train=_unit_labels(scenario, t, w_tr, cpt),
        x_test=torch.as_tensor(x_te, dtype=f32),
        y_test=_unit_labels(scenario, t, w_te, cpt),
    )


def split_stream(x: np.ndarray, y: np.ndarray, scenario: str = "class", classes_per_task: int = 2,
                 test_fraction: float = 0.3, seed=0, name: str = "split") -> TaskStream:
    """Split a labelled data set into tasks of ``classes_per_task`` consecutive classes.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_features), values scaled to about [0, 1]
    y : integer ndarray of shape (n_samples,), classes 0 ... K - 1
    scenario : {"task", "domain", "class"}
    classes_per_task : int
        Task ``t`` holds classes ``t C ... (t + 1) C - 1``; K must be a multiple of C.
    test_fraction : float
        Stratified per task; the split is drawn from ``seed``.
    seed : int, numpy Generator or None
    """
    _check_scenario(scenario)
    n_classes = int(y.max()) + 1
    if classes_per_task < 1 or n_classes % classes_per_task:
        raise ValueError(f"classes_per_task must divide {n_classes}, got {classes_per_task!r}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    split_seed = _int_seed(seed)
    tasks = []
    for t in range(n_classes // classes_per_task):
        keep = (y >= t * classes_per_task) & (y < (t + 1) * classes_per_task)
        x_tr, x_te, y_tr, y_te = _split(x[keep], y[keep], test_fraction, split_seed + t)
        base = t * classes_per_task
        tasks.append(_task(scenario, t, x_tr, y_tr - base, x_te, y_te - base, classes_per_task))
    return TaskStream(name, scenario, tuple(tasks), classes_per_task)


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits (1797 images, shipped with the package, no download).

    Returns inputs of shape (1797, 64) scaled from 0...16 to [0, 1] and labels (1797,).
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.data / 16.0).astype(np.float32), d.target.astype(np.int64)


def split_digits(scenario: str = "class", seed=0, test_fraction: float = 0.3) -> TaskStream:
    """Split digits: five two-class tasks (0/1, 2/3, 4/5, 6/7, 8/9) of the 8x8 digits.

    About 250 training and 108 test images per task. The digits analogue of split MNIST
    (van de Ven & Tolias 2019).
    """
    x, y = load_digits_arrays()
    return split_stream(x, y, scenario, 2, test_fraction, seed, name="split digits")


def permuted_digits(scenario: str = "domain", n_tasks: int = 5, seed=0,
                    test_fraction: float = 0.3) -> TaskStream:
    """Permuted digits: all ten digits in every task, pixels shuffled by a fixed
    permutation per task (task 0 keeps the original order).

    The digits analogue of permuted MNIST (Goodfellow et al. 2013; Kirkpatrick et al.
    2017). One seed draws the train/test split (the same for all tasks) and the
    permutations.
    """
    _check_scenario(scenario)
    if n_tasks < 1:
        raise ValueError(f"n_tasks must be at least 1, got {n_tasks!r}")
    rng = np.random.default_rng(seed)
    x, y = load_digits_arrays()
    x_tr, x_te, y_tr, y_te = _split(x, y, test_fraction, _int_seed(rng))
    tasks = []
    for t in range(n_tasks):
        perm = np.arange(x.shape[1]) if t == 0 else rng.permutation(x.shape[1])
        tasks.append(_task(scenario, t, x_tr[:, perm], y_tr, x_te[:, perm], y_te, 10))
    return TaskStream("permuted digits", scenario, tuple(tasks), 10)


def rotate_images(x: np.ndarray, angle_deg: float, side: int = 8) -> np.ndarray:
    """Rotate square images about their centre by ``angle_deg`` (counter-clockwise).

    Bilinear interpolation; pixels that come from outside the image are 0.

    Parameters
    ----------
    x : ndarray of shape (n, side * side)
        Flattened images, row-major.
    angle_deg : float
    side : int
        Width and height of each image in pixels.

    Returns
    -------
    ndarray of shape (n, side * side), the dtype of ``x``

    Notes
    -----
    Output pixel (row r, column c) takes the value of the input at the point rotated back
    by the angle: with ``u = c - m``, ``v = m - r`` and ``m = (side - 1) / 2``, the source is
    ``u' = cos(a) u + sin(a) v``, ``v' = -sin(a) u + cos(a) v``, read by bilinear
    interpolation between the four neighbouring pixels.
    """
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != side * side:
        raise ValueError(f"x must have shape (n, {side * side}), got shape {x.shape}")
    a = np.deg2rad(angle_deg)
    m = (side - 1) / 2
    r, c = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    u, v = c - m, m - r
    us = np.cos(a) * u + np.sin(a) * v
    vs = -np.sin(a) * u + np.cos(a) * v
    cs, rs = us + m, m - vs  # source column and row (fractional)
    c0, r0 = np.floor(cs).astype(int), np.floor(rs).astype(int)
    fc, fr = cs - c0, rs - r0
    imgs = x.reshape(len(x), side, side).astype(np.float64)
    out = np.zeros_like(imgs)
    for dr, dc, w in ((0, 0, (1 - fr) * (1 - fc)), (0, 1, (1 - fr) * fc),
                      (1, 0, fr * (1 - fc)), (1, 1, fr * fc)):
        rr, cc = r0 + dr, c0 + dc
        inside = (rr >= 0) & (rr < side) & (cc >= 0) & (cc < side)
        out[:, inside] += w[inside] * imgs[:, rr[inside], cc[inside]]
    return out.reshape(len(x), side * side).astype(x.dtype)


def rotated_digits(scenario: str = "domain", n_tasks: int = 5, step_deg: float = 15.0, seed=0,
                   test_fraction: float = 0.3) -> TaskStream:
    """Rotated digits: all ten digits in every task, task ``t`` rotated by ``t * step_deg``.

    The *related* counterpart of :func:`permuted_digits` (the same images, split and labels;
    neighbouring tasks differ by a small rotation instead of a reshuffle of every pixel),
    the digits analogue of rotated MNIST (Lopez-Paz & Ranzato 2017).
    """
    _check_scenario(scenario)
    if n_tasks < 1:
        raise ValueError(f"n_tasks must be at least 1, got {n_tasks!r}")
    rng = np.random.default_rng(seed)
    x, y = load_digits_arrays()
    x_tr, x_te, y_tr, y_te = _split(x, y, test_fraction, _int_seed(rng))
    tasks = []
    for t in range(n_tasks):
        a = t * step_deg
        tasks.append(_task(scenario, t, rotate_images(x_tr, a), y_tr, rotate_images(x_te, a),
                           y_te, 10))
    return TaskStream("rotated digits", scenario, tuple(tasks), 10)


# --- MNIST, optional ------------------------------------------------------------------

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (MNIST's format), plain or gzipped.

    The header is two zero bytes, a type code (0x08 unsigned byte, 0x09 signed byte,
    0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, then
    one big-endian int32 per dimension; the data follow in C order, big-endian.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (header {raw[:4]!r})")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}i", raw[4 : 4 + 4 * ndim])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    data = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape}, found {data.size} values")
    return data.reshape(shape).astype(dtype.newbyteorder("="))


_MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte",
}


def _find_idx(root: Path, stem: str) -> Path | None:
    for candidate in (root / stem, root / f"{stem}.gz", root / "MNIST" / "raw" / stem,
                      root / "MNIST" / "raw" / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    return None


def load_mnist(root: str | Path, download: bool = False) -> dict[str, np.ndarray]:
    """MNIST from IDX files under ``root``; download with torchvision only when asked.

    Returns a dict with ``x_train`` (60000, 784) and ``x_test`` (10000, 784) scaled to
    [0, 1] (float32), and ``y_train``, ``y_test`` (int64). Feed ``x``/``y`` to
    :func:`split_stream` for split MNIST.
    """
    root = Path(root)
    paths = {k: _find_idx(root, v) for k, v in _MNIST_FILES.items()}
    if any(p is None for p in paths.values()):
        if not download:
            raise FileNotFoundError(
                f"MNIST IDX files not found under {root}; pass download=True (needs "
                "torchvision and a network connection) or use split_digits()"
            )
        from torchvision.datasets import MNIST  # optional dependency, imported lazily

        MNIST(str(root), train=True, download=True)
        MNIST(str(root), train=False, download=True)
        paths = {k: _find_idx(root, v) for k, v in _MNIST_FILES.items()}
    out = {k: read_idx(p) for k, p in paths.items()}
    for k in ("x_train", "x_test"):
        out[k] = (out[k].reshape(len(out[k]), -1) / 255.0).astype(np.float32)
    for k in ("y_train", "y_test"):
        out[k] = out[k].astype(np.int64)
    return out
