"""Plots for local learning rules: Oja's neuron, STDP windows, eligibility
traces and reward-modulated STDP. Every figure gets axis labels with units and a title.

The rules never import this module.

Used in: M2T1 Hebb and Oja; M2T3 Three-factor learning.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from neuroai_core.plots.style import axes


def plot_oja_2d(x, w_history, pc1, *, ax=None, title="Oja's neuron finds the principal axis"):
    """Scatter 2-D inputs with the weight trajectory and the first principal component.

    Parameters
    ----------
    x : ndarray of shape (n_samples, 2)
    w_history : ndarray of shape (n_updates + 1, 2)
    pc1 : ndarray of shape (2,)
        Unit leading eigenvector of the input covariance.
    """
    ax = axes(ax, (5, 5))
    ax.scatter(x[:, 0], x[:, 1], s=4, alpha=0.25, color="0.5", label="inputs x")
    ax.plot(w_history[:, 0], w_history[:, 1], color="tab:orange", lw=1, label="w during learning")
    w = w_history[-1]
    arrow = {"color": "tab:red", "width": 1.5, "headwidth": 7, "headlength": 9}
    ax.annotate("", xy=w, xytext=(0, 0), arrowprops=arrow)
    for sign in (1, -1):
        ax.plot([0, 1.3 * sign * pc1[0]], [0, 1.3 * sign * pc1[1]], "k--", lw=1,
                label="first PC (eigh)" if sign == 1 else None)
    ax.plot([], [], color="tab:red", lw=3, label="final w")
    ax.set_aspect("equal")
    ax.set_xlabel("input x1 (a.u.)")
    ax.set_ylabel("input x2 (a.u.)")
    ax.set_title(title)
    ax.legend(fontsize="small", loc="upper left")
    return ax


def plot_oja_convergence(w_history, pc1, *, title="Convergence of Oja's rule"):
    """Cosine with the first PC and weight norm against the number of updates."""
    w_history = np.asarray(w_history)
    norm = np.linalg.norm(w_history, axis=1)
    cosine = np.abs(w_history @ pc1) / np.maximum(norm, 1e-300)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.2))
    a1.plot(cosine)
    a1.set_xlabel("update")
    a1.set_ylabel("|cos(w, PC1)|")
    a1.set_title("Alignment with the first principal component")
    a2.plot(norm, color="tab:green")
    a2.axhline(1.0, color="k", ls="--", lw=1)
    a2.set_xlabel("update")
    a2.set_ylabel("|w|")
    a2.set_title("Weight norm")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_stdp_window(dt_ms, curves, *, ax=None, title="STDP window"):
    """Plot one or more STDP windows.

    Parameters
    ----------
    dt_ms : ndarray of shape (n,)
        ``t_post - t_pre`` in ms.
    curves : dict label -> ndarray of shape (n,)
        Weight change per spike pair.
    """
    ax = axes(ax, (6, 3.2))
    for label, w in curves.items():
        pos, neg = dt_ms > 0, dt_ms < 0
        line, = ax.plot(dt_ms[pos], w[pos], label=label)
        ax.plot(dt_ms[neg], w[neg], color=line.get_color())
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("t_post - t_pre (ms)")
    ax.set_ylabel("weight change per pair")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def plot_three_factor(t_ms, tag, dopamine, w, *, closed_form=None,
                      labels=("tag c", "dopamine d", "weight change"),
                      title="A delayed dopamine pulse reads out a decaying tag"):
    """Three stacked panels: eligibility trace, neuromodulator, weight change.

    Parameters
    ----------
    t_ms, tag, dopamine, w : ndarrays of shape (n_steps,)
    closed_form : float, optional
        Predicted final weight change, drawn as a dashed line.
    labels : three str
        Names of the three variables (units are arbitrary, "(a.u.)" is appended).
    """
    fig, axes = plt.subplots(3, 1, figsize=(7, 5.5), sharex=True)
    t_s = np.asarray(t_ms) / 1000.0
    for ax, y, label, color in zip(
        axes, (tag, dopamine, w), labels,
        ("tab:purple", "tab:green", "tab:red"), strict=True,
    ):
        ax.plot(t_s, y, color=color)
        ax.set_ylabel(label + " (a.u.)")
    if closed_form is not None:
        axes[2].axhline(closed_form, color="k", ls="--", lw=1, label="closed form")
        axes[2].legend(fontsize="small")
    axes[-1].set_xlabel("time (s)")
    axes[0].set_title(title)
    fig.tight_layout()
    return fig


def plot_rstdp(result, *, ax=None, title="R-STDP: dopamine strengthens the rewarded synapse"):
    """Weights over time, averaged over trials; synapse 0 (rewarded) highlighted.

    Parameters
    ----------
    result : RSTDPResult
    """
    ax = axes(ax, (7, 3.5))
    mean = result.w_mV.mean(axis=1)
    for j in range(1, mean.shape[1]):
        ax.plot(result.t_s, mean[:, j], color="0.6", lw=1,
                label="other synapses" if j == 1 else None)
    ax.plot(result.t_s, mean[:, 0], color="tab:red", lw=2.5, label="rewarded synapse")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("synaptic weight (mV)")
    n = result.w_mV.shape[1]
    ax.set_title(title + (f" (mean of {n} trials)" if n > 1 else ""))
    ax.legend(fontsize="small")
    return ax
