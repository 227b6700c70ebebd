"""Small torch helpers shared by the models (seeding, threads)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch


def torch_generator(seed) -> torch.Generator:
    """A torch generator seeded from ``seed`` (int, sequence of ints, numpy Generator or
    None): the library's one way to turn a ``seed`` argument into torch randomness."""
    return torch.Generator().manual_seed(int(np.random.default_rng(seed).integers(2**31)))


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one thread inside the block, then restore the previous setting.

    The course's networks are tiny (tens to hundreds of units, small batches): torch's
    thread pool costs more than it saves, and on a shared 2-core machine extra threads slowed
    training down several-fold (up to 30x measured while writing the neuromodulation and
    continual-learning modules).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
