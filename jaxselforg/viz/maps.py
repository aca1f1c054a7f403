"""Self-organizing map pictures: U-matrix, hit map and label map side by side."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from jax.typing import ArrayLike

__all__ = ["som_maps_figure"]


def som_maps_figure(u_matrix: ArrayLike, hits: ArrayLike, unit_labels: ArrayLike,
                    class_names: Sequence[str], *, title: str | None = None,
                    inputs: str = "training images"):
    """Three panels for a ``[rows, cols]`` map: the U-matrix (mean distance to grid
    neighbours), the hit map (inputs won per unit) and the label map (majority class
    per unit, -1 for units that won nothing), each with its colour scale or names;
    ``inputs`` names what was mapped (the hit map's title), ``title`` heads the figure.

    Returns:
      The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    u, hits, unit_labels = np.asarray(u_matrix), np.asarray(hits), np.asarray(unit_labels)
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2))
    image = axes[0].imshow(u, cmap="bone_r")
    axes[0].set_title("U-matrix (mean distance to grid neighbours)")
    fig.colorbar(image, ax=axes[0], fraction=0.046)
    image = axes[1].imshow(hits, cmap="viridis")
    axes[1].set_title(f"hit map ({inputs} won)")
    fig.colorbar(image, ax=axes[1], fraction=0.046)
    cmap = plt.get_cmap("tab10")
    colours = np.where(unit_labels[..., None] >= 0, cmap(np.maximum(unit_labels, 0))[..., :3], 1.0)
    axes[2].imshow(colours)
    for (i, j), label in np.ndenumerate(unit_labels):
        if label >= 0:
            axes[2].text(j, i, class_names[label][:4], ha="center", va="center", fontsize=5)
    axes[2].set_title("label map (majority class per unit)")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    if title is not None:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
