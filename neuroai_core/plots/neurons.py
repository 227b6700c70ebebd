"""Plots of single neurons and populations: voltage traces, f-I curves, firing patterns of
cell classes, time constants, linear read-outs. Every figure gets axis labels with units and
a title.

Used in: M1T1 The LIF neuron; M1T2 Cellular diversity.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FormatStrFormatter

from neuroai_core.plots.style import axes


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
    ax = axes(ax)
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
    ax = axes(ax)
    if theory_hz is not None:
        ax.plot(current_nA, theory_hz, color="tab:red", lw=2, label="formula")
    ax.plot(current_nA, rate_hz, "o", color="tab:blue", ms=4, label="simulation")
    ax.set_xlabel("input current I (nA)")
    ax.set_ylabel("firing rate (Hz)")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_spiking_trace(t_ms, v_mV, spike_times_ms=(), *, peak_mV=30.0, ax=None,
                       title="Membrane voltage", label=None, color="tab:blue"):
    """Plot a voltage trace whose spikes were reset within a step, drawing each to its peak.

    Parameters
    ----------
    t_ms, v_mV : arrays of shape (n_steps,)
    spike_times_ms : array of shape (n_spikes,)
        Drawn as vertical lines from the trace up to ``peak_mV``.
    peak_mV : float
        Spike peak (30 mV for the Izhikevich model).
    """
    ax = axes(ax)
    ax.plot(t_ms, v_mV, color=color, lw=1.0, label=label)
    if len(spike_times_ms):
        idx = np.clip(np.searchsorted(t_ms, spike_times_ms) - 1, 0, len(t_ms) - 1)
        ax.vlines(spike_times_ms, v_mV[idx], peak_mV, color=color, lw=1.0)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("membrane voltage v (mV)")
    ax.set_title(title)
    return ax


def plot_preset_gallery(traces, *, ncols=4, peak_mV=30.0,
                        title="Firing patterns of the Izhikevich cell classes"):
    """One small voltage panel per cell class.

    Parameters
    ----------
    traces : dict name -> (t_ms, v_mV, spike_times_ms)
        Arrays of shapes (n_steps,), (n_steps,), (n_spikes,).
    """
    n = len(traces)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.4 * nrows),
                             sharex=True, sharey=True, squeeze=False)
    for ax, (name, (t, v, st)) in zip(axes.flat, traces.items(), strict=False):
        plot_spiking_trace(t, v, st, peak_mV=peak_mV, ax=ax, title=name)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("v (mV)")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_fi_curves(current, rates_hz, *, ax=None, unit="mV/ms",
                   title="f-I curves of the cell classes"):
    """Firing rate against constant input, one line per cell class.

    Parameters
    ----------
    current : array of shape (n_currents,)
    rates_hz : dict name -> array of shape (n_currents,)
    unit : str
        Unit of the input, for the axis label.
    """
    ax = axes(ax)
    for name, rate in rates_hz.items():
        ax.plot(current, rate, "o-", ms=3, lw=1.2, label=name)
    ax.set_xlabel(f"input I ({unit})")
    ax.set_ylabel("firing rate (Hz)")
    ax.set_title(title)
    ax.legend(fontsize="small", ncol=2)
    return ax


def plot_isi_sequence(isi_ms, *, ax=None, title="Inter-spike intervals"):
    """Inter-spike intervals in the order they occur (log scale), one line per train.

    Adaptation shows as a rising line, bursting as a jump between two levels.

    Parameters
    ----------
    isi_ms : dict name -> array of shape (n_intervals,)
    """
    ax = axes(ax)
    for name, isi in isi_ms.items():
        ax.plot(np.arange(1, len(isi) + 1), isi, "o-", ms=3, lw=1, label=name)
    if any(len(isi) for isi in isi_ms.values()):
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.set_xlabel("interval number")
    ax.set_ylabel("inter-spike interval (ms)")
    ax.set_title(title)
    ax.legend(fontsize="small", ncol=2)
    return ax


def plot_time_constants(tau_ms, *, ax=None, bins=20, title="Membrane time constants"):
    """Histogram of the membrane time constants of a population.

    Parameters
    ----------
    tau_ms : array of shape (n_neurons,)
    """
    ax = axes(ax)
    ax.hist(tau_ms, bins=bins, color="tab:purple", alpha=0.8)
    ax.set_xlabel("membrane time constant tau_m (ms)")
    ax.set_ylabel("number of neurons")
    ax.set_title(title)
    return ax


def plot_decoding(t_ms, target, predictions, *, ax=None, unit="a.u.",
                  title="Input read out linearly from the population"):
    """The true input beside linear read-outs from one or more populations.

    Parameters
    ----------
    t_ms : array of shape (n_samples,)
    target : array of shape (n_samples,)
    predictions : dict label -> array of shape (n_samples,)
    """
    ax = axes(ax, figsize=(8, 3.2))
    ax.plot(t_ms, target, color="k", lw=2, label="input")
    for label, pred in predictions.items():
        ax.plot(t_ms, pred, lw=1.2, label=label)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"input signal ({unit})")
    ax.set_title(title)
    ax.legend(fontsize="small", loc="upper right")
    return ax
