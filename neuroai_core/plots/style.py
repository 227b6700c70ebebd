"""The one axes helper of the plots: every plotting function draws into ``ax`` when given,
else into a new figure of the given size."""

from __future__ import annotations

import matplotlib.pyplot as plt


def axes(ax=None, figsize: tuple[float, float] = (7, 3.2)):
    """``ax`` itself, or the axes of a new figure of ``figsize`` inches when ``ax`` is None."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax
