"""The diagnoses of ``neuroai_core.checks``: each common mistake is built by hand from a
correct answer (times 1000, negated, transposed, shifted by one step, missing dt) and must be
named; a correct answer and an unrelated wrong one must not be misnamed. And
``check_not_delegating`` must catch a function that calls its reference, by name or through a
helper, and let an own implementation pass."""

import numpy as np
import pytest
import torch

from neuroai_core import spikes as lib_spikes
from neuroai_core.checks import check_close, check_not_delegating, diagnose
from neuroai_core.neuromodulation.gain import ContextGains
from neuroai_core.neurons import lif

RATES = np.array([12.0, 40.0, 7.5, 90.0])
TRACE = np.array([0.0, 0.5, 0.9, 1.2, 1.4, 1.5])


def test_rate_per_ms_instead_of_hz_is_named():
    # A rate in spikes per ms is the rate in Hz divided by 1000.
    assert "1000 times too small" in diagnose(RATES / 1000.0, RATES)
    assert "1000 times too large" in diagnose(RATES * 1000.0, RATES)
    assert "Hz" in diagnose(RATES / 1000.0, RATES)


def test_flipped_sign_is_named():
    assert "opposite sign" in diagnose(-RATES, RATES)


def test_transposed_shape_is_named():
    raster = np.arange(12.0).reshape(3, 4)
    assert "transposed" in diagnose(raster.T, raster)


def test_off_by_one_step_is_named():
    later = np.r_[0.0, TRACE[:-1]]  # every value one step late
    earlier = np.r_[TRACE[1:], 2.0]  # every value one step early
    assert "one step later" in diagnose(later, TRACE)
    assert "one step earlier" in diagnose(earlier, TRACE)
    assert "one step too many" in diagnose(np.r_[TRACE, 1.6], TRACE)
    assert "one step too few" in diagnose(TRACE[1:], TRACE)


def test_missing_factor_dt_is_named():
    dt = 0.1
    assert "lacks the factor dt_ms" in diagnose(TRACE / dt, TRACE, factors={"dt_ms": dt})
    assert "extra factor dt_ms" in diagnose(TRACE * dt, TRACE, factors={"dt_ms": dt})
    # A factor 2 or 1/2 is named without being told.
    assert "half the expected" in diagnose(TRACE * 0.5, TRACE)
    assert "twice the expected" in diagnose(TRACE * 2.0, TRACE)


def test_an_unnamed_factor_is_claimed_only_when_several_entries_share_it():
    # Five non-zero entries all 0.75 times the expected: that is a shared constant factor.
    assert "times 0.75" in diagnose(TRACE * 0.75, TRACE)
    # One non-zero entry is one number: its ratio is no evidence of a factor.
    assert diagnose(np.array([0.0, 0.0, 3.0]), np.array([0.0, 0.0, 4.0])) == ""
    # Two non-zero entries with different ratios (0.75 and 1.5): no shared factor.
    assert diagnose(np.array([3.0, 3.0]), np.array([4.0, 2.0])) == ""


def test_a_wrong_scalar_is_not_called_a_constant_factor():
    # A change detector that finds 3 of 4 switches reports 0.75 where 1.0 is expected: a
    # missed switch, not "a 1/2?".
    assert diagnose(3 / 4, 1.0) == ""
    # Forward transfer (Lopez-Paz & Ranzato 2017) read from the diagonal R[i, i] instead of
    # R[i-1, i]; by hand: right = mean(0.30 - 0.25, 0.40 - 0.26) = 0.095,
    # diagonal = mean(0.90 - 0.25, 0.88 - 0.26) = 0.635, a ratio 6.68 that means nothing.
    R = np.array([[0.95, 0.30, 0.20],
                  [0.70, 0.90, 0.40],
                  [0.60, 0.75, 0.88]])
    b = np.array([0.25, 0.25, 0.26])
    right = np.mean([R[0, 1] - b[1], R[1, 2] - b[2]])
    on_diagonal = np.mean([R[1, 1] - b[1], R[2, 2] - b[2]])
    assert right == pytest.approx(0.095) and on_diagonal == pytest.approx(0.635)
    assert diagnose(on_diagonal, right) == ""
    # Named factors still apply to a scalar: 1000, 1/1000, 2, 1/2, -1 and `factors`.
    assert "1000 times too large" in diagnose(2500.0, 2.5)
    assert "twice the expected" in diagnose(5.0, 2.5)
    assert "half the expected" in diagnose(1.25, 2.5)
    assert "opposite sign" in diagnose(-2.5, 2.5)
    assert "lacks the factor dt_ms" in diagnose(25.0, 2.5, factors={"dt_ms": 0.1})


def test_no_diagnosis_for_a_right_or_an_unrelated_answer():
    assert diagnose(RATES, RATES) == ""
    assert diagnose(RATES + np.array([1.0, -3.0, 0.2, 5.0]), RATES) == ""
    assert diagnose(np.zeros(3), np.zeros(3)) == ""


def test_check_close_message_carries_the_diagnosis():
    with pytest.raises(AssertionError, match="Likely mistake: .*1000 times too large"):
        check_close("rate", RATES * 1000.0, RATES, hint="units")
    with pytest.raises(AssertionError, match="Likely mistake: .*transposed"):
        check_close("raster", np.ones((2, 5)), np.ones((5, 2)))


def test_torch_tensors_are_diagnosed():
    assert "opposite sign" in diagnose(torch.tensor([1.0, -2.0, 3.0]), [-1.0, 2.0, -3.0])


# check_not_delegating ------------------------------------------------------------------

def own_rate(i_nA, params):
    drive = params.r_m_MOhm * np.asarray(i_nA, float) + params.e_leak_mV
    out = np.zeros_like(drive)
    fires = drive > params.v_threshold_mV
    d = drive[fires]
    out[fires] = 1000.0 / (params.t_ref_ms + params.tau_m_ms * np.log(
        (d - params.v_reset_mV) / (d - params.v_threshold_mV)))
    return out


def delegating_rate(i_nA, params):
    return lif.lif_rate(params, i_nA)


def _helper(i_nA, params):
    return lif.lif_rate(params, i_nA)


def hidden_delegation(i_nA, params):
    rate_fn = _helper
    return rate_fn(i_nA, params)


def test_own_code_passes(capsys):
    check_not_delegating(own_rate, lif.lif_rate, args=(np.array([2.0]), lif.LIFParams()))
    assert "your own code" in capsys.readouterr().out


def test_a_call_of_the_reference_by_name_is_caught():
    with pytest.raises(AssertionError, match="lif_rate.*write yourself"):
        check_not_delegating(delegating_rate, lif.lif_rate)


def test_a_call_through_a_helper_is_caught_by_the_tripwire():
    check_not_delegating(hidden_delegation, lif.lif_rate)  # the code alone does not show it
    with pytest.raises(AssertionError, match="lif_rate"):
        check_not_delegating(hidden_delegation, lif.lif_rate,
                             args=(np.array([2.0]), lif.LIFParams()))
    # The tripwire is removed afterwards, everywhere it was set.
    import neuroai_core.neurons as neurons
    assert lif.lif_rate.__name__ == "lif_rate" and neurons.lif_rate is lif.lif_rate


def test_a_method_reference_is_caught_on_its_class():
    def gains_by_calling(z, context):
        return context(z)

    net = ContextGains(n_context=2, n_units=3, seed=0)
    with pytest.raises(AssertionError, match="forward"):
        check_not_delegating(gains_by_calling, ContextGains.forward, args=(torch.eye(2), net))
    assert ContextGains.forward.__qualname__ == "ContextGains.forward"


def test_remote_functions_are_left_to_the_grader():
    def proxy(*args):
        return lib_spikes.poisson_spikes(*args)

    proxy.__neuroai_remote__ = object()
    check_not_delegating(proxy, lib_spikes.poisson_spikes)


def test_a_named_mistake_is_reported_before_the_generic_diagnoses():
    # A wrong answer the test computed itself (here: a flipped leak, by hand) is named with
    # the test's own words; one that is also the right answer is never claimed.
    right, wrong = np.array([0.2, 0.1, 0.25]), np.array([0.2, 0.3, 0.15])
    assert diagnose(wrong, right, mistakes={"the leak has the wrong sign": wrong}) == \
        "the leak has the wrong sign"
    assert diagnose(wrong, right) == ""  # not a constant factor: nothing claimed without it
    assert diagnose(right, right, mistakes={"x": right}) == ""
    # a specific description wins over the generic one for the same wrong value
    assert diagnose(right / 1000, right, mistakes={"dt in seconds": right / 1000}) == \
        "dt in seconds"
    # and without a match the generic diagnoses still apply
    assert "1000 times too small" in diagnose(right / 1000, right, mistakes={"x": wrong})
    with pytest.raises(AssertionError, match="Likely mistake: the leak has the wrong sign"):
        check_close("dv", wrong, right, mistakes={"the leak has the wrong sign": wrong})
