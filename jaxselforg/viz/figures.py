"""Saving figures (matplotlib, no display needed)."""

from __future__ import annotations

import os
import pathlib

__all__ = ["save_figure"]


def save_figure(fig, path: str | os.PathLike, *, dpi: int = 120) -> pathlib.Path:
    """Saves a matplotlib figure as PNG (tight bounding box) and closes it."""
    import matplotlib.pyplot as plt

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
