"""Plots for TD learning and bandit agents. Every figure gets axis labels with
units and a title. The models never import this module.

Used in: M2T2 Dopamine as a reward prediction error; M3T1 Four modulators, four knobs.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from neuroai_core.plots.style import axes


def plot_td_errors(deltas, trials, *, cue_step=None, reward_step=None, ax=None,
                   title="Prediction error within a trial"):
    """Prediction error against time step for selected trials, one line per trial.

    Parameters
    ----------
    deltas : ndarray of shape (n_trials, n_steps)
    trials : sequence of int
        Trials to draw (0-based); labelled 1-based.
    cue_step, reward_step : int, optional
        Marked by vertical lines.
    """
    ax = axes(ax)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(trials)))
    steps = np.arange(deltas.shape[1])
    for k, c in zip(trials, colors, strict=True):
        ax.plot(steps, deltas[k], "o-", ms=3, color=c, label=f"trial {k + 1}")
    for step, name, ls in ((cue_step, "cue", "--"), (reward_step, "reward", ":")):
        if step is not None:
            ax.axvline(step, color="gray", ls=ls, lw=1)
            ax.text(step, ax.get_ylim()[1], f" {name}", va="top", color="gray")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("time step in the trial")
    ax.set_ylabel("TD error δ (reward units)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="center right")
    return ax


def plot_td_heatmap(deltas, *, ax=None, title="Prediction error over learning"):
    """Image of the prediction error, trials down and time steps across."""
    ax = axes(ax, figsize=(7, 4))
    lim = max(float(np.max(np.abs(deltas))), 1e-12)
    im = ax.imshow(deltas, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                   interpolation="nearest")
    ax.figure.colorbar(im, ax=ax, label="TD error δ (reward units)")
    ax.set_xlabel("time step in the trial")
    ax.set_ylabel("trial")
    ax.set_title(title)
    return ax


def plot_bandit_run(run, bandit, *, ax=None, window=10, label=None, color=None,
                    title="Choices in a bandit"):
    """Running fraction of choices of the currently best arm, with change points.

    Parameters
    ----------
    run : BanditRun
    bandit : Bandit
    window : int
        Width of the moving average, in trials.
    """
    ax = axes(ax)
    correct = (run.choices == bandit.best_arm).astype(float)
    smooth = np.convolve(correct, np.ones(window) / window, mode="same")
    ax.plot(np.arange(1, len(smooth) + 1), smooth, color=color, label=label, lw=1.2)
    for c in bandit.change_points:
        ax.axvline(c + 1, color="gray", lw=0.8, ls=":")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("trial")
    ax.set_ylabel(f"best arm chosen ({window}-trial average)")
    ax.set_title(title)
    if label is not None:
        ax.legend(fontsize=8, loc="lower right")
    return ax


def plot_learning_rate(run, bandit, *, ax=None, title="Learning rate of the agent"):
    """Learning rate used on each trial, with change points."""
    ax = axes(ax)
    ax.plot(np.arange(1, len(run.alphas) + 1), run.alphas, color="tab:purple", lw=1.0)
    for c in bandit.change_points:
        ax.axvline(c + 1, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("trial")
    ax.set_ylabel("learning rate α")
    ax.set_title(title)
    return ax
