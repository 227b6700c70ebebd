"""Plots for continual learning: the accuracy matrix and accuracy on each task over
training. Every figure gets axis labels with units and a title.

Used in: M4T1, M4T2, M4T3.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from neuroai_core.plots.style import axes


def plot_accuracy_matrix(R, *, ax=None, title="Accuracy matrix R[i, j]"):
    """Heat map of ``R[i, j]``, test accuracy on task j after training tasks 0 ... i.

    Parameters
    ----------
    R : array of shape (n_tasks, n_tasks), accuracies in [0, 1]
    """
    R = np.asarray(R, dtype=float)
    ax = axes(ax, (4.2, 3.6))
    T = R.shape[0]
    im = ax.imshow(R, vmin=0.0, vmax=1.0, cmap="viridis")
    for i in range(T):
        for j in range(T):
            ax.text(j, i, f"{R[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="black" if R[i, j] > 0.6 else "white")
    ax.set_xticks(range(T), [str(j + 1) for j in range(T)])
    ax.set_yticks(range(T), [str(i + 1) for i in range(T)])
    ax.set_xlabel("tested on task j")
    ax.set_ylabel("after training task i")
    ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="accuracy (fraction)")
    return ax


def plot_task_accuracies(R, *, ax=None, title="Accuracy on each task over training",
                         task_labels=None):
    """One line per task: its test accuracy after each task of training (from ``R``).

    Each line starts when its task is trained; earlier points are left out.
    """
    R = np.asarray(R, dtype=float)
    ax = axes(ax, (5.5, 3.4))
    T = R.shape[0]
    labels = task_labels or [f"task {j + 1}" for j in range(T)]
    for j in range(T):
        ax.plot(np.arange(j + 1, T + 1), R[j:, j], "o-", ms=4, label=labels[j])
    ax.plot(np.arange(1, T + 1), R.mean(axis=1, where=np.tri(T, dtype=bool)), "k--", lw=2,
            label="mean over tasks so far")
    ax.set_xticks(range(1, T + 1))
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("number of tasks trained")
    ax.set_ylabel("test accuracy (fraction)")
    ax.set_title(title)
    ax.legend(fontsize="small", loc="best", ncol=2)
    return ax


def plot_scenarios(results: dict, *, title="The same network, three scenarios"):
    """Accuracy matrices side by side, one per scenario: ``{"task-IL": R, ...}``."""
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.6))
    for ax, (name, R) in zip(np.atleast_1d(axes), results.items(), strict=True):
        plot_accuracy_matrix(R, ax=ax, title=f"{name}: mean {np.mean(np.asarray(R)[-1]):.2f}")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_comparison(rows: list[dict], *, metric="average_accuracy", ax=None,
                    title="Average accuracy after the last task"):
    """Grouped bars: methods x scenarios, mean and standard deviation over seeds.

    ``rows`` as returned by :func:`neuroai_core.continual.compare`.
    """
    ax = axes(ax, (8, 3.4))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    width = 0.8 / len(scenarios)
    for k, s in enumerate(scenarios):
        means, stds = [], []
        for m in methods:
            v = [r[metric] for r in rows if r["method"] == m and r["scenario"] == s]
            means.append(np.mean(v) if v else np.nan)
            stds.append(np.std(v) if v else 0.0)
        ax.bar(np.arange(len(methods)) + (k - (len(scenarios) - 1) / 2) * width, means, width,
               yerr=stds, capsize=2, label=f"{s}-IL")
    ax.set_xticks(range(len(methods)), methods, rotation=20)
    ax.set_ylabel(f"{metric.replace('_', ' ')} (fraction)")
    ax.set_xlabel("method")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax
