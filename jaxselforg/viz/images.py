"""Image mosaics: many small images (samples, prototypes, filters) as one picture."""

from __future__ import annotations

import numpy as np
from jax.typing import ArrayLike

__all__ = ["filter_tiles", "image_grid", "mosaic_figure"]


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


def filter_tiles(w: ArrayLike, n: int, *, image_shape: tuple[int, int] = (28, 28)) -> np.ndarray:
    """The ``n`` columns of a weight matrix ``w [h*w, m]`` with the largest norms, as one
    mosaic of images in [0, 1] (each scaled to its own max |w|: grey 0.5 = 0).

    For RBM filters, the first layer of a network, a SOM's or k-means' prototypes
    centred on their mean.
    """
    w = np.asarray(w)
    if w.ndim != 2 or w.shape[0] != image_shape[0] * image_shape[1]:
        raise ValueError(f"w must be [{image_shape[0] * image_shape[1]}, m] (one image per "
                         f"column); got shape {w.shape}.")
    order = np.argsort(-np.linalg.norm(w, axis=0))[:n]
    cols = w[:, order].T
    cols = cols / np.maximum(np.abs(cols).max(axis=1, keepdims=True), 1e-12)
    return image_grid((0.5 + 0.5 * cols).reshape(-1, *image_shape),
                      n_cols=int(np.ceil(np.sqrt(len(order)))))


def mosaic_figure(images: ArrayLike, n_cols: int, title: str, *, width: float = 10.0,
                  row_labels=None, pad: int = 2):
    """A figure of images ``[..., h, w]`` in [0, 1] (ink = 1, drawn dark on white) tiled
    ``n_cols`` to a row, optionally with a label per row (a traversal's coordinates).

    Returns:
      The matplotlib figure (save it with :func:`save_figure` or ``harness.Run.figure``).
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    mosaic = image_grid(images.reshape(-1, *images.shape[-2:]), n_cols=n_cols, pad=pad,
                        pad_value=0.0)  # white between tiles (gray_r)
    height = width * mosaic.shape[0] / mosaic.shape[1]
    fig, ax = plt.subplots(figsize=(width, max(height, 1.0) + 0.5))
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=1)
    ax.set_xticks([])
    if row_labels is not None:
        side = images.shape[-2]
        ax.set_yticks(np.arange(len(row_labels)) * (side + pad) + side / 2, row_labels,
                      fontsize=7)
    else:
        ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
