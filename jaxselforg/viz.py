"""Pictures for people: image mosaics and figure saving (matplotlib, no display needed)."""

from __future__ import annotations

import os
import pathlib

import numpy as np
from jax.typing import ArrayLike

__all__ = ["image_grid", "save_figure"]


def image_grid(images: ArrayLike, n_cols: int | None = None, *, pad: int = 1,
               pad_value: float = 1.0) -> np.ndarray:
    """Tiles images ``[n, h, w]`` (or flat ``[n, h*w]`` squares) into one ``[H, W]`` mosaic.

    Args:
      images: the images, any real dtype; flat rows must have a square size.
      n_cols: images per row; default ceil(sqrt(n)).
      pad: pixels between tiles.
      pad_value: value of the padding pixels.

    Returns:
      A float ``[rows * (h + pad) - pad, n_cols * (w + pad) - pad]`` array.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 2:
        side = int(round(np.sqrt(images.shape[1])))
        if side * side != images.shape[1]:
            raise ValueError(f"Flat images need a square size; got {images.shape[1]} pixels.")
        images = images.reshape(-1, side, side)
    if images.ndim != 3 or images.shape[0] == 0:
        raise ValueError(f"images must be [n, h, w] or [n, h*w]; got shape {images.shape}.")
    n, h, w = images.shape
    n_cols = int(np.ceil(np.sqrt(n))) if n_cols is None else n_cols
    n_rows = -(-n // n_cols)
    grid = np.full((n_rows * (h + pad) - pad, n_cols * (w + pad) - pad), pad_value, np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, n_cols)
        grid[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = image
    return grid


def save_figure(fig, path: str | os.PathLike, *, dpi: int = 120) -> pathlib.Path:
    """Saves a matplotlib figure as PNG (tight bounding box) and closes it."""
    import matplotlib.pyplot as plt

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
