"""What one hand-in may use: the bounds every side of grading agrees on."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Limits:
    """What one hand-in may use. Defaults suit the course's tutorials on a 2-core CPU.

    The kernel (sandbox): ``cell_timeout_s`` of CPU per cell, ``submission_timeout_s`` of
    wall time for all its cells, ``mem_mb`` of address space, ``nproc`` processes, ``cpu_s``
    of CPU in all, ``scratch_mb`` of scratch, /tmp and /dev/shm each. The grader (the
    unprivileged process that talks to the kernel): ``tests_timeout_s`` of wall time and
    ``tests_cpu_s`` of its own CPU for the whole test phase, ``grader_mem_mb`` of memory,
    ``message_mb`` for any one message from the kernel, ``output_mb`` of the notebook's
    outputs kept for the report.
    """

    cell_timeout_s: int = 60
    submission_timeout_s: int = 300
    tests_timeout_s: int = 600
    tests_cpu_s: int = 120
    mem_mb: int = 3072
    grader_mem_mb: int = 2048
    nproc: int = 128
    cpu_s: int = 600
    scratch_mb: int = 256
    message_mb: int = 64
    output_mb: int = 8

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive whole number, got {value!r}")
