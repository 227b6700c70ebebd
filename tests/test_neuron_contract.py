"""The neuron contract, checked for every model (neuroai_core.neurons.contract).

Every model exposes ``step(input, state, params) -> (spikes, new_state)`` with a state
NamedTuple and a frozen parameter dataclass, works on numpy arrays and torch tensors alike
(module, dtype and device follow the input), and runs over time through the one
``simulate``. The expected values here are the model's own step applied by hand (the
contract is that ``simulate`` adds nothing to it), the same computation in the other array
module, or a second identical run.

Adding a model: one line in MODELS below (the model, parameters, and an input amplitude in
the model's unit that makes it fire within 100 ms).
"""

import dataclasses

import numpy as np
import pytest
import torch

from neuroai_core.neurons import (
    ADEX,
    ADEX_PRESETS,
    IZHIKEVICH,
    IZHIKEVICH_PRESETS,
    LIF,
    LIFParams,
    NeuronModel,
    simulate,
)

MODELS = [
    pytest.param(LIF, LIFParams(), 2.5, id="lif"),
    pytest.param(LIF, LIFParams(tau_m_ms=(5.0, 10.0, 15.0, 20.0, 25.0), method="euler"), 2.5,
                 id="lif-per-neuron-tau-euler"),
    pytest.param(IZHIKEVICH, IZHIKEVICH_PRESETS["CH"], 10.0, id="izhikevich"),
    pytest.param(IZHIKEVICH, dataclasses.replace(IZHIKEVICH_PRESETS["RS"], method="paper",
                                                 dt_ms=1.0), 10.0, id="izhikevich-paper"),
    pytest.param(ADEX, ADEX_PRESETS["cortical"], 1.0, id="adex"),
]
N = 5  # neurons
T_MS = 100.0


def drive(params, amplitude, dtype=np.float64, seed=0):
    """A random time-varying input of shape (n_steps, N) between 0 and 1.5 x amplitude."""
    n_steps = int(round(T_MS / params.dt_ms))
    return np.random.default_rng(seed).uniform(0.0, 1.5 * amplitude, (n_steps, N)).astype(dtype)


def float_fields(state):
    return [x for x in state if (x.is_floating_point() if isinstance(x, torch.Tensor)
                                 else np.issubdtype(x.dtype, np.floating))]


@pytest.mark.parametrize(("model", "params", "amplitude"), MODELS)
def test_model_declares_the_contract(model, params, amplitude):
    assert isinstance(model, NeuronModel)
    assert isinstance(params, model.params_type)
    assert dataclasses.is_dataclass(params) and params.__dataclass_params__.frozen
    assert params.dt_ms > 0
    assert model.state_type._fields[0] == "v_mV"
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.dt_ms = 1.0


@pytest.mark.parametrize(("model", "params", "amplitude"), MODELS)
@pytest.mark.parametrize("xp", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_step_shapes_dtypes_and_module_follow_the_input(model, params, amplitude, xp, dtype):
    like = np.full(N, amplitude, dtype=dtype)
    if xp == "torch":
        like = torch.from_numpy(like)
    state = model.initial_state(params, like)
    assert isinstance(state, model.state_type)
    spikes, new = model.step(like, state, params)
    assert isinstance(new, model.state_type)
    for x in (spikes, *new):
        assert isinstance(x, torch.Tensor if xp == "torch" else np.ndarray)
        assert tuple(x.shape) == (N,)
    assert spikes.dtype == (torch.bool if xp == "torch" else np.bool_)
    want = getattr(torch if xp == "torch" else np, dtype)
    assert float_fields(new) and all(x.dtype == want for x in float_fields(new))


@pytest.mark.parametrize(("model", "params", "amplitude"), MODELS)
def test_device_follows_the_input(model, params, amplitude):
    # The meta device computes shapes and dtypes without data: every output must stay there
    # (a numpy detour or a tensor created on the default device would fail).
    devices = ["meta"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        like = torch.full((N,), amplitude, dtype=torch.float32, device=device)
        state = model.initial_state(params, like)
        spikes, new = model.step(like, state, params)
        for x in (spikes, *new):
            assert x.device.type == device


@pytest.mark.parametrize(("model", "params", "amplitude"), MODELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_simulate_equals_stepping_by_hand(model, params, amplitude, dtype):
    current = drive(params, amplitude, dtype)
    res = simulate(model, params, current, T_MS, record_states=True)
    state = model.initial_state(params, current[0])
    for k in range(current.shape[0]):
        spikes, state = model.step(current[k], state, params)
        np.testing.assert_array_equal(res.spikes[k], spikes)
        for trace, value in zip(res.states, state, strict=True):
            np.testing.assert_array_equal(trace[k], value)
    for final, value in zip(res.final_state, state, strict=True):
        np.testing.assert_array_equal(final, value)
    np.testing.assert_array_equal(res.spike_counts, res.spikes.sum(axis=0))
    assert res.spike_counts.sum() > 0  # the test exercises spiking
    assert res.v_mV.dtype == dtype
    np.testing.assert_allclose(res.t_ms, np.arange(1, len(current) + 1) * params.dt_ms)
    steps, neurons = np.nonzero(res.spikes)
    for j in range(N):
        np.testing.assert_array_equal(res.spike_times_ms[j], res.t_ms[steps[neurons == j]])


@pytest.mark.parametrize(("model", "params", "amplitude"), MODELS)
def test_numpy_and_torch_agree(model, params, amplitude):
    current = drive(params, amplitude)
    a = simulate(model, params, current, T_MS, record_states=True)
    b = simulate(model, params, torch.from_numpy(current), T_MS, record_states=True)
    assert isinstance(b.spikes, torch.Tensor) and isinstance(b.v_mV, torch.Tensor)
    np.testing.assert_array_equal(a.spikes, b.spikes.numpy())
    for x, y in zip(a.states, b.states, strict=True):
        np.testing.assert_allclose(x, y.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("model", "params", "amplitude"), MODELS)
def test_simulate_is_deterministic_and_input_forms_agree(model, params, amplitude):
    current = drive(params, amplitude)
    a = simulate(model, params, current, T_MS, record_states=True)
    b = simulate(model, params, current.copy(), T_MS, record_states=True)
    np.testing.assert_array_equal(a.spikes, b.spikes)
    for x, y in zip(a.states, b.states, strict=True):
        np.testing.assert_array_equal(x, y)
    # A callable input (one step at a time) and counts only give the same spikes.
    c = simulate(model, params, lambda k: current[k], T_MS, record_spikes=False)
    assert c.spikes is None
    np.testing.assert_array_equal(c.spike_counts, a.spike_counts)
    # A constant input equals the same value repeated on every step.
    const = np.full(N, amplitude)
    d = simulate(model, params, const, T_MS)
    e = simulate(model, params, np.tile(const, (len(current), 1)), T_MS)
    np.testing.assert_array_equal(d.spikes, e.spikes)
    # Continuing from the final state equals one long run.
    half = len(current) // 2
    first = simulate(model, params, current[:half], half * params.dt_ms)
    rest = simulate(model, params, current[half:], (len(current) - half) * params.dt_ms,
                    state=first.final_state)
    np.testing.assert_array_equal(np.concatenate([first.spikes, rest.spikes]), a.spikes)


@pytest.mark.parametrize(("model", "params", "amplitude"), MODELS)
def test_initial_voltage_and_bad_arguments(model, params, amplitude):
    v0 = np.linspace(-70.0, -60.0, N)
    res = simulate(model, params, np.zeros(N), 1.0, v0_mV=v0, record_states=True)
    expected_first, _ = model.step(np.zeros(N), model.initial_state(params, np.zeros(N), v0),
                                   params)
    np.testing.assert_array_equal(res.spikes[0], expected_first)
    state = model.initial_state(params, np.zeros(N), v0)
    np.testing.assert_array_equal(state.v_mV, v0)
    with pytest.raises(ValueError, match="t_ms"):
        simulate(model, params, amplitude, -1.0)
    with pytest.raises(ValueError, match="params"):
        simulate(model, object(), amplitude, 10.0)
    with pytest.raises(ValueError, match="state"):
        simulate(model, params, amplitude, 10.0, state=(np.zeros(1), np.zeros(1)))
    with pytest.raises(ValueError, match="v0_mV"):
        simulate(model, params, amplitude, 10.0, state=state, v0_mV=-65.0)
    with pytest.raises(ValueError, match=model.input_name):
        simulate(model, params, np.ones((3, N)), 10.0)
