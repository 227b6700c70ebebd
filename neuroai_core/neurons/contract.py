"""The contract every neuron model follows, and the one time loop they all share.

A model is a :class:`NeuronModel`: a name, a frozen parameter dataclass (units in the field
names), a state ``NamedTuple`` (e.g. ``LIFState(v_mV, refractory_steps)``) and two
functions:

- ``step(input, state, params) -> (spikes, new_state)`` advances every neuron by one step
  of ``params.dt_ms``. ``spikes`` is a boolean array of the neurons' shape. Numpy arrays
  and torch tensors are both accepted: the result has the module, float dtype and device of
  the input and the state (nothing is converted);
- ``initial_state(params, like, v0_mV=None)`` is the resting state of neurons shaped like
  ``like`` (an array or tensor whose module, dtype and device the state takes), with
  ``v0_mV`` as the voltage when given.

:func:`simulate` runs any model over time: it is the only time loop of the neuron models.

Adding a model: one module with its params, state, ``step`` and ``initial_state`` and a
``NeuronModel`` instance, plus one line in ``tests/test_neuron_contract.py``
(see ``CONTRIBUTING.md``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class NeuronModel:
    """A neuron model that follows the contract of this module.

    Attributes
    ----------
    name : str
    params_type : type
        The frozen dataclass of its parameters; it has a ``dt_ms`` field.
    state_type : type
        The ``NamedTuple`` of its state variables, the voltage ``v_mV`` first.
    step : callable
        ``step(input, state, params) -> (spikes, new_state)``.
    initial_state : callable
        ``initial_state(params, like, v0_mV=None) -> state``.
    input_name : str
        Name (with unit) of the input, used in error messages, e.g. ``"current_nA"``.
    """

    name: str
    params_type: type
    state_type: type
    step: Callable[[Any, Any, Any], tuple[Any, Any]]
    initial_state: Callable[..., Any]
    input_name: str = "current"

    def __repr__(self) -> str:
        return f"NeuronModel({self.name!r})"


def is_tensor(x) -> bool:
    """Whether ``x`` is a torch tensor, without importing torch: a tensor can only exist
    once torch is imported, so a notebook that works in numpy never pays torch's import
    (about 2 s of CPU in every graded kernel)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _torch():
    import torch

    return torch


def module_of(x):
    """``torch`` for a tensor, ``numpy`` for anything else."""
    return _torch() if is_tensor(x) else np


def full_like(like, value: float):
    """An array or tensor shaped like ``like`` (same module, float dtype, device) filled
    with ``value``."""
    return module_of(like).full_like(like, value)


def as_like(values, like):
    """``values`` (numpy array or scalar) in the module, dtype and device of ``like``."""
    if is_tensor(like):
        return _torch().as_tensor(values, dtype=like.dtype, device=like.device)
    return np.asarray(values, dtype=like.dtype)


def float_input(x, name: str):
    """Input as a float array or tensor: floats keep their dtype, integers and booleans
    become float32 (numpy) or torch's default dtype. Python numbers become float64 arrays.
    """
    if is_tensor(x):
        return x if x.is_floating_point() else x.to(_torch().get_default_dtype())
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind not in "biu":
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr.astype(np.float32)


def input_matrix(x, n_steps: int, name: str):
    """Broadcast a scalar, (n_neurons,) or (n_steps, n_neurons) input to 2-D."""
    cur = float_input(x, name)
    if cur.ndim == 0:
        cur = cur.reshape(1)
    if cur.ndim == 1:
        cur = cur.expand(n_steps, cur.shape[0]) if is_tensor(cur) else (
            np.broadcast_to(cur, (n_steps, cur.shape[0])))
    if cur.ndim != 2 or cur.shape[0] != n_steps:
        raise ValueError(
            f"{name} must be a scalar, shape (n_neurons,) or shape (n_steps, n_neurons) "
            f"with n_steps={n_steps}; got shape {tuple(cur.shape)}"
        )
    return cur


def n_steps_of(t_ms, dt_ms: float) -> int:
    """``round(t_ms / dt_ms)``, at least one step, or a ValueError naming ``t_ms``."""
    if not (isinstance(t_ms, (int, float, np.integer, np.floating)) and np.isfinite(t_ms)
            and t_ms > 0):
        raise ValueError(f"t_ms must be a positive number, got {t_ms!r}")
    n_steps = int(round(t_ms / dt_ms))
    if n_steps < 1:
        raise ValueError(f"t_ms={t_ms!r} is shorter than one step of dt_ms={dt_ms!r}")
    return n_steps


@dataclass
class SimResult:
    """What :func:`simulate` returns.

    Attributes
    ----------
    t_ms : ndarray of shape (n_steps,)
        Time at the end of each step.
    spikes : boolean array or tensor of shape (n_steps, n_neurons), or None
        None when ``record_spikes=False``.
    spike_counts : integer array or tensor of shape (n_neurons,)
    states : state NamedTuple of arrays or tensors of shape (n_steps, n_neurons), or None
        The state after each step (a neuron that spiked shows its reset values); None
        unless ``record_states=True``. Its fields are also attributes of the result:
        ``result.v_mV`` is ``result.states.v_mV``.
    final_state : state NamedTuple
        The state after the last step (to continue a simulation).

    Arrays and tensors follow the input: numpy in, numpy out; a tensor's dtype and device
    are kept. ``t_ms`` and ``spike_times_ms`` are numpy.
    """

    t_ms: np.ndarray
    spikes: Any
    spike_counts: Any
    states: Any
    final_state: Any
    _spike_times: list | None = field(default=None, repr=False)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        fields = getattr(type(self.final_state), "_fields", ())
        if name in fields:
            if self.states is None:
                raise AttributeError(f"{name!r} was not recorded: pass record_states=True")
            return getattr(self.states, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def spike_times_ms(self) -> list[np.ndarray]:
        """Spike times of each neuron: a list of n_neurons ndarrays, in ms."""
        if self._spike_times is None:
            if self.spikes is None:
                raise AttributeError("spikes were not recorded: pass record_spikes=True")
            raster = self.spikes
            raster = raster.cpu().numpy() if is_tensor(raster) else raster
            steps, neurons = np.nonzero(raster)
            self._spike_times = [self.t_ms[steps[neurons == j]] for j in range(raster.shape[1])]
        return self._spike_times

    @property
    def rates_hz(self):
        """Mean firing rate of each neuron over the whole run, in Hz."""
        return self.spike_counts / (float(self.t_ms[-1]) / 1000.0)


def simulate(
    model: NeuronModel,
    params,
    input,
    t_ms: float,
    *,
    state=None,
    v0_mV=None,
    record_spikes: bool = True,
    record_states: bool = False,
) -> SimResult:
    """Simulate a batch of independent neurons of any model for ``t_ms`` milliseconds.

    Parameters
    ----------
    model : NeuronModel
        E.g. ``LIF``, ``IZHIKEVICH`` or ``ADEX`` from :mod:`neuroai_core.neurons`.
    params : the model's parameter dataclass
    input : float, array or tensor of shape (n_neurons,) or (n_steps, n_neurons), or callable
        Constant or time-varying input, in the model's unit (nA for LIF and AdEx, mV/ms for
        Izhikevich). A callable ``input(k)`` returns the input of step ``k`` (an array or
        tensor of the neurons' shape); it is called once per step, in order (e.g. to draw
        noise step by step).
    t_ms : float
        Duration; ``n_steps = round(t_ms / params.dt_ms)``.
    state : the model's state NamedTuple, optional
        Initial state; default ``model.initial_state(params, like=input, v0_mV=v0_mV)``.
    v0_mV : float, array or tensor of shape (n_neurons,), optional
        Initial voltage of the default initial state (the model's rest otherwise).
    record_spikes : bool
        Keep the raster of shape (n_steps, n_neurons) (one byte per entry); without it only
        the counts are kept.
    record_states : bool
        Keep every state variable after every step.

    Returns
    -------
    SimResult
    """
    if not isinstance(model, NeuronModel):
        raise ValueError(f"model must be a NeuronModel, got {type(model).__name__}")
    if not isinstance(params, model.params_type):
        raise ValueError(f"params must be a {model.params_type.__name__} for model "
                         f"{model.name!r}, got {type(params).__name__}")
    n_steps = n_steps_of(t_ms, params.dt_ms)
    if callable(input):
        first = float_input(input(0), model.input_name)

        def input_at(k):
            return first if k == 0 else input(k)
    else:
        cur = input_matrix(input, n_steps, model.input_name)
        first = cur[0]

        def input_at(k):
            return cur[k]
    if state is None:
        state = model.initial_state(params, first, v0_mV)
    elif v0_mV is not None:
        raise ValueError("give state or v0_mV, not both")
    elif not isinstance(state, model.state_type):
        raise ValueError(f"state must be a {model.state_type.__name__}, "
                         f"got {type(state).__name__}")
    v = state[0]
    shape = tuple(v.shape)
    if is_tensor(v):
        torch = _torch()

        def zeros(dtype, n=None):
            return torch.zeros(shape if n is None else (n, *shape), dtype=dtype,
                               device=v.device)
        bool_t, int_t = torch.bool, torch.int64
    else:
        def zeros(dtype, n=None):
            return np.zeros(shape if n is None else (n, *shape), dtype=dtype)
        bool_t, int_t = np.bool_, np.int64
    spikes = zeros(bool_t, n_steps) if record_spikes else None
    counts = None if record_spikes else zeros(int_t)
    traces = [zeros(s.dtype, n_steps) for s in state] if record_states else None
    for k in range(n_steps):
        spiked, state = model.step(input_at(k), state, params)
        if spikes is not None:
            spikes[k] = spiked
        else:
            counts += spiked
        if traces is not None:
            for trace, value in zip(traces, state, strict=True):
                trace[k] = value
    if spikes is not None:
        counts = spikes.sum(0)
    t = np.arange(1, n_steps + 1) * params.dt_ms
    states = None if traces is None else type(state)(*traces)
    return SimResult(t, spikes, counts, states, state)
