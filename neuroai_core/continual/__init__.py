"""Continual learning: task streams, one training loop, methods as penalties or batch
sources, and the metrics of forgetting.

One concept per module; this file only re-exports.
"""

from neuroai_core.continual.compare import (
    METHOD_NAMES,
    TASK_IL_ONLY,
    ContinualConfig,
    RunResult,
    compare,
    format_table,
    make_model,
    run_method,
    single_thread,
    summarize,
)
from neuroai_core.continual.data import (
    SCENARIOS,
    Task,
    TaskStream,
    load_digits_arrays,
    load_mnist,
    n_output_units,
    output_mask,
    permuted_digits,
    read_idx,
    split_digits,
    split_stream,
)
from neuroai_core.continual.ewc import EWC, OnlineEWC, diagonal_fisher, quadratic_penalty
from neuroai_core.continual.gating import ModulatedMLP, XdGMLP, xdg_masks
from neuroai_core.continual.metrics import average_accuracy, backward_transfer, forgetting
from neuroai_core.continual.si import SI, si_importance
from neuroai_core.continual.sources import (
    Batch,
    ReplayBuffer,
    current_batches,
    joint_batches,
    replay_batches,
    task_batches,
)
from neuroai_core.continual.train import (
    MLP,
    TrainResult,
    accuracy,
    evaluate,
    masked_logits,
    path_integral_step,
    train_task,
)

__all__ = [
    "Batch",
    "ContinualConfig",
    "EWC",
    "METHOD_NAMES",
    "MLP",
    "ModulatedMLP",
    "OnlineEWC",
    "ReplayBuffer",
    "RunResult",
    "SCENARIOS",
    "SI",
    "TASK_IL_ONLY",
    "Task",
    "TaskStream",
    "TrainResult",
    "XdGMLP",
    "accuracy",
    "average_accuracy",
    "backward_transfer",
    "compare",
    "current_batches",
    "diagonal_fisher",
    "evaluate",
    "forgetting",
    "format_table",
    "joint_batches",
    "load_digits_arrays",
    "load_mnist",
    "make_model",
    "masked_logits",
    "n_output_units",
    "output_mask",
    "path_integral_step",
    "permuted_digits",
    "quadratic_penalty",
    "read_idx",
    "replay_batches",
    "run_method",
    "si_importance",
    "single_thread",
    "split_digits",
    "split_stream",
    "summarize",
    "task_batches",
    "train_task",
    "xdg_masks",
]
