"""Plots of spike trains and of what they cost: rasters, inter-spike intervals, precision
of rate estimates, operation counts. Every figure gets axis labels with units and a title.

Used in: M1T2 Cellular diversity; M1T3 Spikes and energy.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from neuroai_core.plots.style import axes


def plot_raster(spikes, dt_ms=None, *, ax=None, title="Spike raster", color="k"):
    """Spike raster: one row per neuron, one tick per spike.

    Parameters
    ----------
    spikes : boolean array or tensor of shape (n_steps, n_neurons), or list of arrays
        A raster (then ``dt_ms`` is required; a spike in step k is drawn at
        ``(k + 1) * dt_ms`` and the time axis spans the whole run), or the spike times in
        ms of each neuron (e.g. ``SimResult.spike_times_ms``).
    dt_ms : float, optional
        Width of a time step, for a raster.
    """
    ax = axes(ax)
    if isinstance(spikes, (list, tuple)):
        times = [np.asarray(t, dtype=float) for t in spikes]
        n_neurons = len(times)
    else:
        if dt_ms is None:
            raise ValueError("dt_ms is required to plot a raster of shape (n_steps, n_neurons)")
        raster = spikes.cpu().numpy() if hasattr(spikes, "cpu") else np.asarray(spikes)
        if raster.ndim != 2:
            raise ValueError(f"spikes must be a raster of shape (n_steps, n_neurons) or a list "
                             f"of spike-time arrays, got shape {raster.shape}")
        n_steps, n_neurons = raster.shape
        steps, neurons = np.nonzero(raster)
        times = [(steps[neurons == j] + 1) * dt_ms for j in range(n_neurons)]
        ax.set_xlim(0, n_steps * dt_ms)
    ax.eventplot(times, colors=color, linelengths=0.8, linewidths=0.8)
    ax.set_ylim(-0.5, max(n_neurons, 1) - 0.5)
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
    ax = axes(ax)
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
    ax = axes(ax)
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
    ax = axes(ax)
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
