"""Energy by counting operations: a spiking layer against the equivalent dense layer.

We count operations rather than claim joules, because the joules depend on the hardware
(see below) while the counts depend only on the network and its activity:

- a **dense layer** with ``n_in`` inputs and ``n_out`` outputs costs one multiply-accumulate
  (MAC) per weight each time it is evaluated: ``n_in * n_out`` MACs per inference, or per
  time step when it is run on every step;
- a **spiking layer** only works when a spike arrives: each spike of input ``i`` adds the
  weight of each of its outgoing synapses to its target, one synaptic operation (SOP, an
  accumulate without a multiply) per synapse: ``SOPs = sum over spikes of fan_out[i]``.

Energy is then ``operations x energy per operation``. The energy per operation depends on
the chip, the process node, the number format and, above all, on memory traffic, which
these counts leave out. So it is always a parameter: :data:`ENERGY_PER_OP` holds a few
published figures with their sources, as starting points to be replaced, not constants of
nature.

References
----------
Horowitz, M. (2014). Computing's energy problem (and what we can do about it). *IEEE
International Solid-State Circuits Conference (ISSCC) Digest of Technical Papers*, 10-14.
Davies, M. et al. (2018). Loihi: a neuromorphic manycore processor with on-chip learning.
*IEEE Micro* 38(1), 82-99.

Used in: M1T3 Spikes and energy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OpEnergy:
    """The energy of one operation on one kind of hardware, and where the number comes from.

    Attributes
    ----------
    energy_pJ : float
        Energy per operation, in picojoules.
    operation : str
        What exactly was measured or estimated.
    source : str
        The publication the number comes from.
    """

    energy_pJ: float
    operation: str
    source: str

    def __post_init__(self) -> None:
        if not (math.isfinite(self.energy_pJ) and self.energy_pJ >= 0):
            raise ValueError(
                f"energy_pJ must be finite and non-negative, got {self.energy_pJ!r}"
            )


_HOROWITZ = "Horowitz (2014), ISSCC, energy table for a 45 nm process at 0.9 V"

#: Published energies per operation. The 45 nm figures are the arithmetic alone (Horowitz
#: 2014; the same table puts a 64-bit read from an 8 kB SRAM near 10 pJ, more than the
#: arithmetic). The Loihi figure is the minimum energy per synaptic spike operation in
#: Davies et al. (2018, Table 2), a pre-silicon estimate for a 14 nm chip. Figures from
#: different process nodes and chips are not directly comparable.
ENERGY_PER_OP: dict[str, OpEnergy] = {
    "mac_fp32_45nm": OpEnergy(
        4.6, "32-bit float multiply (3.7 pJ) plus add (0.9 pJ)", _HOROWITZ),
    "add_fp32_45nm": OpEnergy(0.9, "32-bit float add", _HOROWITZ),
    "mac_int32_45nm": OpEnergy(
        3.2, "32-bit integer multiply (3.1 pJ) plus add (0.1 pJ)", _HOROWITZ),
    "add_int32_45nm": OpEnergy(0.1, "32-bit integer add", _HOROWITZ),
    "sop_loihi_14nm": OpEnergy(
        23.6,
        "synaptic spike operation on Loihi, minimum, pre-silicon (simulated) estimate",
        "Davies et al. (2018), IEEE Micro 38(1), Table 2",
    ),
}


def _count(value, name: str) -> int:
    try:
        ok = not isinstance(value, bool) and float(value).is_integer() and value >= 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def dense_macs(n_inputs: int, n_outputs: int, n_steps: int = 1) -> int:
    """Multiply-accumulates of a dense layer evaluated ``n_steps`` times.

    Parameters
    ----------
    n_inputs, n_outputs : int
        Layer size; the weight matrix has ``n_inputs * n_outputs`` entries.
    n_steps : int
        Number of evaluations: 1 for one inference of a conventional network, the number
        of time steps for a layer run on every step of a simulation.

    Returns
    -------
    int
        ``n_inputs * n_outputs * n_steps``: one MAC per weight per evaluation, whatever
        the input values (a zero input costs as much as any other).
    """
    return (_count(n_inputs, "n_inputs") * _count(n_outputs, "n_outputs")
            * _count(n_steps, "n_steps"))


def fan_out_of(weights) -> np.ndarray:
    """Outgoing synapses of each input: non-zero weights per row, shape (n_inputs,).

    Parameters
    ----------
    weights : array of shape (n_inputs, n_outputs)
    """
    w = np.asarray(weights)
    if w.ndim != 2:
        raise ValueError(f"weights must have shape (n_inputs, n_outputs), got shape {w.shape}")
    return np.count_nonzero(w, axis=1)


def synaptic_ops(spikes, fan_out) -> int:
    """Synaptic operations of a spiking layer: one accumulate per spike per outgoing synapse.

    Parameters
    ----------
    spikes : boolean or non-negative integer array of shape (n_steps, n_inputs)
        Spikes of the layer's inputs (or spike counts per step).
    fan_out : int or integer array of shape (n_inputs,)
        Outgoing synapses of each input: ``n_outputs`` for an all-to-all layer, or
        :func:`fan_out_of` of a sparse weight matrix.

    Returns
    -------
    int
        ``sum_k sum_i spikes[k, i] * fan_out[i]``.
    """
    s = np.asarray(spikes)
    if s.ndim != 2:
        raise ValueError(f"spikes must have shape (n_steps, n_inputs), got shape {s.shape}")
    if np.any(s < 0):
        raise ValueError("spikes must be boolean or non-negative counts")
    f = np.asarray(fan_out)
    if f.ndim == 0:
        f = np.full(s.shape[1], _count(f.item(), "fan_out"))
    if f.shape != (s.shape[1],):
        raise ValueError(
            f"fan_out must be an int or have shape (n_inputs,)=({s.shape[1]},), "
            f"got shape {f.shape}"
        )
    if np.any(f < 0) or np.any(f != np.round(f)):
        raise ValueError(f"fan_out must hold non-negative integers, got {f!r}")
    return int(s.astype(np.int64).sum(axis=0) @ f.astype(np.int64))


def energy_pJ(n_ops, energy_per_op: float | OpEnergy) -> float:
    """Energy of ``n_ops`` operations, in pJ: ``n_ops * energy_per_op``.

    Parameters
    ----------
    n_ops : int or float
        Number of operations (from :func:`dense_macs` or :func:`synaptic_ops`).
    energy_per_op : float or OpEnergy
        Energy of one operation in pJ, or an entry of :data:`ENERGY_PER_OP`.
    """
    e = energy_per_op.energy_pJ if isinstance(energy_per_op, OpEnergy) else energy_per_op
    if not (math.isfinite(e) and e >= 0):
        raise ValueError(f"energy_per_op must be finite and non-negative, got {e!r}")
    if not (math.isfinite(n_ops) and n_ops >= 0):
        raise ValueError(f"n_ops must be finite and non-negative, got {n_ops!r}")
    return float(n_ops) * float(e)
