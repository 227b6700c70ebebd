"""Plotting helpers for the tutorials. Every figure gets axis labels with units and a title.

The models never import this module; it imports the models' result types only.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator


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


def plot_raster(spikes, dt_ms, *, ax=None, title="Spike raster", color="k"):
    """Plot a spike raster: one row per neuron, one tick per spike.

    Parameters
    ----------
    spikes : boolean array of shape (n_steps, n_neurons)
    dt_ms : float
        Width of a time step; a spike in step k is drawn at (k + 1) * dt_ms.
    """
    ax = _axes(ax)
    steps, neurons = np.nonzero(np.asarray(spikes))
    ax.scatter((steps + 1) * dt_ms, neurons, marker="|", s=40, color=color, linewidths=1)
    n_steps, n_neurons = np.shape(spikes)
    ax.set_xlim(0, n_steps * dt_ms)
    ax.set_ylim(-0.5, n_neurons - 0.5)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron index")
    ax.set_title(title)
    return ax


def plot_isi_histogram(intervals_ms, *, rate_hz=None, ax=None, bins=40,
                       title="Inter-spike intervals"):
    """Plot the distribution of inter-spike intervals, optionally with the exponential
    density ``r exp(-r t)`` of a Poisson process of rate ``rate_hz``.

    Parameters
    ----------
    intervals_ms : array of shape (n_intervals,)
    rate_hz : float, optional
    """
    ax = _axes(ax)
    x = np.asarray(intervals_ms, dtype=float)
    ax.hist(x, bins=bins, density=True, color="tab:blue", alpha=0.6, label="simulation")
    if rate_hz is not None and len(x):
        t = np.linspace(0.0, x.max(), 200)
        r = rate_hz / 1000.0  # per ms
        ax.plot(t, r * np.exp(-r * t), color="tab:red", lw=2, label="exponential, rate r")
    ax.set_xlabel("inter-spike interval (ms)")
    ax.set_ylabel("probability density (1/ms)")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_rate_precision(window_ms, relative_error, *, theory=None, ax=None,
                        title="Precision of a rate estimate"):
    """Plot the relative error of rate estimates against the counting window (log-log).

    Parameters
    ----------
    window_ms : array of shape (n,)
    relative_error : array of shape (n,)
        Standard deviation of the estimates divided by the true rate.
    theory : array of shape (n,), optional
        The predicted error, e.g. ``1 / sqrt(rate * window)``.
    """
    ax = _axes(ax)
    if theory is not None:
        ax.loglog(window_ms, theory, color="tab:red", lw=2, label="1 / sqrt(rate x window)")
    ax.loglog(window_ms, relative_error, "o", color="tab:blue", ms=5, label="simulation")
    ax.set_xlabel("counting window T (ms)")
    ax.set_ylabel("relative error of the rate (std / rate)")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_operation_counts(rates_hz, spiking_ops, dense_ops, *, ax=None,
                          labels=("spiking layer (SOPs)", "dense layer (MACs)"),
                          title="Operations per inference"):
    """Plot operation counts of a spiking and a dense layer against the input rate.

    Parameters
    ----------
    rates_hz : array of shape (n,)
        Mean firing rate of the inputs.
    spiking_ops, dense_ops : array of shape (n,) or float
        Operations of each layer at each rate (a float draws a constant line).
    """
    ax = _axes(ax)
    rates = np.asarray(rates_hz, dtype=float)
    ax.plot(rates, np.broadcast_to(spiking_ops, rates.shape), "o-", color="tab:blue",
            ms=4, label=labels[0])
    ax.plot(rates, np.broadcast_to(dense_ops, rates.shape), "-", color="tab:red", lw=2,
            label=labels[1])
    ax.set_xlabel("mean input rate (Hz)")
    ax.set_ylabel("operations per inference")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")
    return ax
