"""Training curves: a criterion against epoch or iteration, one line per method."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from jax.typing import ArrayLike

__all__ = ["plot_curves"]


def plot_curves(ax, curves: Mapping[str, ArrayLike], *, xlabel: str = "epoch",
                ylabel: str = "", title: str | None = None, log: bool = False,
                legend_size: int = 8) -> None:
    """Draws ``{label: values [t]}`` on ``ax`` against 1..t, with a grid and a legend."""
    for label, values in curves.items():
        values = np.asarray(values)
        ax.plot(np.arange(1, len(values) + 1), values, marker=".", label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel, fontsize=9)
    if title is not None:
        ax.set_title(title, fontsize=10)
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(fontsize=legend_size)
