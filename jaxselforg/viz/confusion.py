"""Confusion matrices: true class against predicted (or matched) class."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from jax.typing import ArrayLike

__all__ = ["confusion_figure"]


def confusion_figure(true_labels: ArrayLike, predicted: ArrayLike, class_names: Sequence[str],
                     title: str, *, xlabel: str = "predicted class"):
    """A heat map of the counts C[i, j] = #{n : true_n = i, predicted_n = j}, each cell
    written out, the classes named on both axes; entries with ``predicted < 0`` (a
    cluster matched to no class) are left out.

    Args:
      true_labels: ``[n]`` classes in ``[0, len(class_names))``.
      predicted: ``[n]`` predicted classes (negative: none).
      class_names: a name per class.
      title: the figure's title.
      xlabel: what the columns are (a classifier's prediction, a cluster's class).

    Returns:
      The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    true_labels, predicted = np.asarray(true_labels), np.asarray(predicted)
    n_classes = len(class_names)
    kept = predicted >= 0
    counts = np.zeros((n_classes, n_classes), int)
    np.add.at(counts, (true_labels[kept], predicted[kept]), 1)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    image = ax.imshow(counts, cmap="Blues")
    for (i, j), value in np.ndenumerate(counts):
        ax.text(j, i, value, ha="center", va="center", fontsize=7,
                color="white" if value > counts.max() / 2 else "black")
    ax.set_xticks(range(n_classes), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n_classes), class_names)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="test images")
    fig.tight_layout()
    return fig
