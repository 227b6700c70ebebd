"""Gating hidden units: context-dependent gating (XdG) and a neuromodulatory gate.

Both are models, not changes to the training loop: each is an :class:`MLP` whose hidden
activations are multiplied by a gate, ``h_l <- g_l * relu(W_l h_{l-1} + b_l)``. A
multiplicative gate also gates **where learning happens**: the gradient reaching the
weights into unit ``j`` and out of it is scaled by ``g_j``, so a unit gated to zero is
not changed by the current task.

- **XdG** (Masse, Grant & Freedman 2018): a fixed random binary mask per task keeps a
  fraction of each hidden layer (20% in the paper) and silences the rest. It needs the
  task identity, so it applies to task-incremental learning only.
- **Neuromodulatory gate**, in the spirit of ANML (Beaulieu et al. 2020): a second,
  small network sees the same input and produces a gate in (0, 1) for every hidden unit,
  ``g = sigmoid(M(x))``. In ANML the modulatory network is meta-learned and then frozen;
  here it is learned along with the prediction network by the same loop, the simplest
  stand-in (no outer loop), so it needs no task identity and runs in all three scenarios.

References
----------
Masse, N. Y., Grant, G. D. & Freedman, D. J. (2018). Alleviating catastrophic forgetting
using context-dependent gating and synaptic stabilization. *PNAS* 115(44), E10467-E10475.
Beaulieu, S. et al. (2020). Learning to continually learn. *ECAI 2020*, 992-1001
(ANML, arXiv:2002.09571).

Used in: M4T3 Replay, context gating and neuromodulatory gating.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from neuroai_core.continual.train import MLP
from neuroai_core.torch_utils import torch_generator


def xdg_masks(n_tasks: int, n_hidden: tuple[int, ...], keep_fraction: float = 0.2,
              seed=0) -> torch.Tensor:
    """Random binary gates, one per task and hidden layer, shape (n_tasks, n_layers, width).

    Exactly ``round(keep_fraction * width)`` units per layer and task stay on. All hidden
    layers must have the same width.
    """
    if not 0 < keep_fraction <= 1:
        raise ValueError(f"keep_fraction must lie in (0, 1], got {keep_fraction!r}")
    if len(set(n_hidden)) != 1:
        raise ValueError(f"n_hidden must have equal widths for XdG, got {n_hidden!r}")
    rng = np.random.default_rng(seed)
    width = n_hidden[0]
    n_keep = max(1, int(round(keep_fraction * width)))
    masks = np.zeros((n_tasks, len(n_hidden), width), dtype=np.float32)
    for t in range(n_tasks):
        for layer in range(len(n_hidden)):
            masks[t, layer, rng.choice(width, n_keep, replace=False)] = 1.0
    return torch.from_numpy(masks)


class XdGMLP(MLP):
    """An MLP whose hidden units are gated by a fixed random mask of each sample's task."""

    def __init__(self, n_in: int = 64, n_hidden: tuple[int, ...] = (100, 100), n_out: int = 10,
                 n_tasks: int = 5, keep_fraction: float = 0.2, seed=0):
        super().__init__(n_in, n_hidden, n_out, seed=seed)
        self.register_buffer("masks", xdg_masks(n_tasks, n_hidden, keep_fraction, seed))

    def gates(self, x: torch.Tensor, task_ids: torch.Tensor) -> list[torch.Tensor]:
        if task_ids is None:
            raise ValueError("XdG needs the task id of every sample (task-IL only)")
        # masks[task_ids], written so that a stacked copy axis in front passes through.
        g = torch.take_along_dim(self.masks, task_ids[..., None, None], dim=-3)
        return [g[..., k, :] for k in range(g.shape[-2])]


class ModulatedMLP(MLP):
    """An MLP gated by a modulatory network that sees the input: ``g = sigmoid(M(x))``.

    ``M`` is ``n_in -> n_modulator -> sum(n_hidden)`` with a ReLU; its output bias starts
    at ``gate_bias`` (default 0: every gate starts at one half).
    """

    def __init__(self, n_in: int = 64, n_hidden: tuple[int, ...] = (100, 100), n_out: int = 10,
                 n_modulator: int = 50, gate_bias: float = 0.0, seed=0):
        super().__init__(n_in, n_hidden, n_out, seed=seed)
        gen = torch_generator([1, seed])
        self.n_hidden = tuple(n_hidden)
        self.modulator = nn.Sequential(nn.Linear(n_in, n_modulator), nn.ReLU(),
                                       nn.Linear(n_modulator, sum(n_hidden)))
        with torch.no_grad():
            for layer in (self.modulator[0], self.modulator[2]):
                bound = 1.0 / layer.in_features**0.5
                layer.weight.uniform_(-bound, bound, generator=gen)
                layer.bias.uniform_(-bound, bound, generator=gen)
            self.modulator[2].bias.add_(gate_bias)

    def gates(self, x: torch.Tensor, task_ids: torch.Tensor | None) -> list[torch.Tensor]:
        g = torch.sigmoid(self.modulator(x))
        return list(torch.split(g, self.n_hidden, dim=-1))
