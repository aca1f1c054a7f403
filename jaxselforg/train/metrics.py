"""Metric logging to ``metrics.jsonl``: one JSON object per line, appended."""

from __future__ import annotations

import json
import math
import os
import pathlib
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["MetricsWriter", "read_metrics"]


def _plain(value: Any) -> Any:
    """JSON-friendly scalars: arrays of size 1 become numbers, NaN becomes null."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "shape") or isinstance(value, (np.generic,)):
        array = np.asarray(value)
        if array.size != 1:
            return _plain(array.tolist())
        value = array.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class MetricsWriter:
    """Appends records to ``<path>``; each ``write`` is flushed at once.

    Args:
      path: the ``.jsonl`` file (parent folders are created).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = pathlib.Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record: Mapping[str, Any] | None = None, **values: Any) -> None:
        """Writes one line: ``record`` merged with ``values`` (arrays become lists)."""
        line = _plain({**(record or {}), **values})
        with self.path.open("a") as f:
            f.write(json.dumps(line) + "\n")


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Every record of a ``metrics.jsonl`` file, in order."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
