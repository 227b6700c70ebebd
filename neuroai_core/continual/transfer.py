"""Transfer across tasks: does learning earlier tasks help or hurt the next one?

For one task sequence and one learner, :func:`transfer_run` measures the three things the
transfer metrics need (all on the test sets of the stream):

- the accuracy matrix ``R`` of the sequence (``R[i, j]``: task ``j`` after tasks
  ``0 ... i``);
- ``b[j]``, the accuracy of the untrained network on task ``j``, the baseline of
  Lopez-Paz & Ranzato's forward transfer (:func:`~neuroai_core.continual.metrics.
  forward_transfer`);
- ``s[j]``, the accuracy of a fresh network trained on task ``j`` alone with the same
  budget, the baseline of :func:`~neuroai_core.continual.metrics.learning_transfer`.

The course compares a *related* sequence (:func:`~neuroai_core.continual.data.
rotated_digits`, small rotations of the same digits) with an *unrelated* one
(:func:`~neuroai_core.continual.data.permuted_digits`, a fresh pixel permutation per
task), both domain-incremental.

References
----------
Lopez-Paz, D. & Ranzato, M. (2017). Gradient episodic memory for continual learning.
*NeurIPS* 30.

Used in: M4T4 A neuromodulator against forgetting, without task labels.
"""

from __future__ import annotations

import numpy as np

from neuroai_core.continual.compare import ContinualConfig, run_method
from neuroai_core.continual.data import TaskStream, permuted_digits, rotated_digits
from neuroai_core.continual.metrics import learning_transfer
from neuroai_core.continual.sources import current_batches
from neuroai_core.continual.train import MLP, accuracy, train_task
from neuroai_core.torch_utils import single_thread

TRANSFER_STREAMS = {"rotated digits": rotated_digits, "permuted digits": permuted_digits}


def _single_task(stream: TaskStream, config: ContinualConfig, seed) -> tuple[np.ndarray, ...]:
    """Untrained and trained-alone accuracy on every task (each a fresh MLP)."""
    b, s = np.zeros(stream.n_tasks), np.zeros(stream.n_tasks)
    sizes = dict(n_in=stream.n_features, n_hidden=config.n_hidden, n_out=stream.n_outputs)
    for j, task in enumerate(stream.tasks):
        model = MLP(**sizes, seed=seed)
        b[j] = accuracy(model, task.x_test, task.y_test, j, stream.mask(j))
        batches = current_batches(stream, j, epochs=config.epochs,
                                  batch_size=config.batch_size, seed=[seed, j])
        train_task(model, batches, lr=config.lr)
        s[j] = accuracy(model, task.x_test, task.y_test, j, stream.mask(j))
    return b, s


def transfer_run(stream_name: str = "rotated digits", method: str = "fine-tuning", seed: int = 0,
                 config: ContinualConfig | None = None, surprise=None) -> dict:
    """Accuracy matrix, both baselines and both transfer metrics of one run.

    Parameters
    ----------
    stream_name : {"rotated digits", "permuted digits"}
        Domain-incremental, five tasks.
    method : str
        A method of :func:`~neuroai_core.continual.compare.run_method`, or ``"surprise"``
        (:func:`~neuroai_core.continual.surprise.run_surprise`, with ``surprise`` its
        configuration).
    seed : int
    config : ContinualConfig, optional

    Returns
    -------
    dict with ``R`` (T, T), ``init`` (T,), ``single`` (T,) and ``learning_transfer``
    (float). Forward transfer is ``forward_transfer(R, init)`` (left to the caller: M4T4's
    exercise re-implements it).
    """
    if stream_name not in TRANSFER_STREAMS:
        raise ValueError(f"stream_name must be one of {tuple(TRANSFER_STREAMS)}, "
                         f"got {stream_name!r}")
    config = config or ContinualConfig()
    stream = TRANSFER_STREAMS[stream_name](scenario="domain", seed=seed)
    if method == "surprise":
        from neuroai_core.continual.surprise import run_surprise

        R = run_surprise(stream, config, surprise, seed).R
    else:
        R = run_method(method, stream, config, seed).R
    with single_thread():
        b, s = _single_task(stream, config, seed)
    return dict(stream=stream_name, method=method, seed=seed, R=R, init=b, single=s,
                learning_transfer=learning_transfer(R, s))
