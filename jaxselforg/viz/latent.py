"""Latent spaces: 2-D codes coloured by class."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from jax.typing import ArrayLike

__all__ = ["latent_scatter"]


def latent_scatter(codes: ArrayLike, labels: ArrayLike, class_names: Sequence[str], title: str,
                   *, axis_labels: tuple[str, str] = ("$z_1$", "$z_2$"), ax=None):
    """A scatter figure of 2-D codes ``[n, 2]`` (a VAE's means, an embedding), one colour
    per class of ``labels [n]``; drawn on ``ax`` (a panel of a larger figure) if given.

    Returns:
      The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    codes, labels = np.asarray(codes), np.asarray(labels)
    if codes.ndim != 2 or codes.shape[1] != 2 or labels.shape != codes.shape[:1]:
        raise ValueError(f"codes must be [n, 2] with labels [n]; got {codes.shape} and "
                         f"{labels.shape}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(8.5, 7))
    fig = ax.figure
    cmap = plt.get_cmap("tab10")
    for c, name in enumerate(class_names):
        chosen = labels == c
        ax.scatter(codes[chosen, 0], codes[chosen, 1], s=2, color=cmap(c % 10), label=name,
                   alpha=0.6)
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title(title)
    ax.legend(markerscale=6, fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
