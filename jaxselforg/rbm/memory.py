"""Scoring an associative memory: how well a restored pattern matches the original.

Used for the RBM's completion and denoising and for the Hopfield network's recall, so
that the two are scored the same way.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from jax.typing import ArrayLike

__all__ = ["RestorationErrors", "restoration_errors"]


class RestorationErrors(NamedTuple):
    """Errors of restored patterns against the originals.

    Attributes:
      mean_abs_error: mean |restored - original| over the scored units (restored
        values may be probabilities).
      pixel_error_pct: % of scored units wrong after rounding at 0.5.
      pixel_error_pct_whole: % of all units wrong after rounding.
      n_distinct: the number of distinct rounded outputs among the patterns (a
        memory stuck in a few spurious states gives few).
    """

    mean_abs_error: float
    pixel_error_pct: float
    pixel_error_pct_whole: float
    n_distinct: int


def restoration_errors(restored: ArrayLike, original: ArrayLike,
                       where: ArrayLike | None = None) -> RestorationErrors:
    """Scores ``restored [n, d]`` (values in [0, 1]) against binary ``original [n, d]``.

    Args:
      restored: the memory's outputs (pixel probabilities or binary states).
      original: the clean patterns.
      where: ``[d]`` or ``[n, d]`` bool, the units scored (the hidden half of a
        completion); default all.

    Returns:
      :class:`RestorationErrors`.

    Raises:
      ValueError: shapes that differ, or a ``where`` that selects nothing.
    """
    restored, original = np.asarray(restored, np.float64), np.asarray(original, np.float64)
    if restored.shape != original.shape or restored.ndim != 2:
        raise ValueError(f"restored and original must both be [n, d]; got {restored.shape} and "
                         f"{original.shape}.")
    mask = np.ones(original.shape, bool) if where is None else np.broadcast_to(
        np.asarray(where, bool), original.shape)
    if not mask.any():
        raise ValueError("where selects no unit to score.")
    wrong = (restored > 0.5) != (original > 0.5)
    return RestorationErrors(
        mean_abs_error=float(np.mean(np.abs(restored - original)[mask])),
        pixel_error_pct=float(100 * np.mean(wrong[mask])),
        pixel_error_pct_whole=float(100 * np.mean(wrong)),
        n_distinct=len(np.unique(restored > 0.5, axis=0)))
