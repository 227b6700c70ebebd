"""Plotting helpers for the tutorials. Every figure gets axis labels with units and a title.

The models never import this module; it imports the models' result types only.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2))
    return ax


def plot_voltage(t_ms, v_mV, *, spike_times_ms=None, threshold_mV=None, ax=None,
                 title="Membrane voltage"):
    """Plot one voltage trace, with spikes as vertical ticks and the threshold dashed.

    Parameters
    ----------
    t_ms : array of shape (n_steps,)
    v_mV : array of shape (n_steps,)
    spike_times_ms : array, optional
    threshold_mV : float, optional
    """
    ax = _axes(ax)
    ax.plot(t_ms, v_mV, color="tab:blue", lw=1.2, label="V(t)")
    if threshold_mV is not None:
        ax.axhline(threshold_mV, color="tab:red", ls="--", lw=1, label="threshold")
    if spike_times_ms is not None and len(spike_times_ms):
        top = np.max(v_mV) if threshold_mV is None else threshold_mV
        ax.vlines(spike_times_ms, top, top + 10.0, color="k", lw=1, label="spikes")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("membrane voltage (mV)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    return ax


def plot_fi_curve(current_nA, rate_hz, *, theory_hz=None, ax=None,
                  title="f-I curve of the LIF neuron"):
    """Plot simulated firing rates against input current, optionally beside the theory.

    Parameters
    ----------
    current_nA : array of shape (n,)
    rate_hz : array of shape (n,)
        Simulated rates.
    theory_hz : array of shape (n,), optional
        Analytic rates at the same currents.
    """
    ax = _axes(ax)
    if theory_hz is not None:
        ax.plot(current_nA, theory_hz, color="tab:red", lw=2, label="formula")
    ax.plot(current_nA, rate_hz, "o", color="tab:blue", ms=4, label="simulation")
    ax.set_xlabel("input current I (nA)")
    ax.set_ylabel("firing rate (Hz)")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")
    return ax
