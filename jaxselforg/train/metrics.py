"""Metric logging: ``metrics.jsonl`` (one JSON object per line, appended) and, optionally,
TensorBoard event files."""

from __future__ import annotations

import json
import math
import os
import pathlib
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["MetricsWriter", "TensorBoardWriter", "read_metrics"]


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


class TensorBoardWriter:
    """Writes per-epoch scalars as TensorBoard event files (``tensorboard --logdir``).

    Uses tensorboardX, which writes the event format without TensorFlow. A record
    with one value per run (a vmapped sweep) goes to one sub-folder per run,
    ``run_0``, ``run_1``, ..., so TensorBoard draws the runs side by side.

    Args:
      logdir: the folder of the event files (created if needed).

    Raises:
      ImportError: tensorboardX is not installed (``pip install tensorboardX``, or the
        ``jaxselforg[tensorboard]`` extra).
    """

    def __init__(self, logdir: str | os.PathLike):
        try:
            from tensorboardX import SummaryWriter
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError("TensorBoard logging needs tensorboardX: pip install tensorboardX "
                              "(or jaxselforg[tensorboard]).") from error
        self.logdir = pathlib.Path(logdir)
        self._make = SummaryWriter
        self._writers: dict[str | None, Any] = {}

    def _writer(self, run: int | None):
        if run not in self._writers:
            folder = self.logdir if run is None else self.logdir / f"run_{run}"
            self._writers[run] = self._make(logdir=str(folder))
        return self._writers[run]

    def write(self, step: int, record: Mapping[str, Any]) -> None:
        """Adds every numeric value of ``record`` at ``step`` (scalars, or one per run)."""
        for name, value in record.items():
            if name in ("epoch", "step") or isinstance(value, (str, bool)) or value is None:
                continue
            array = np.asarray(value, dtype=np.float64)
            if array.ndim == 0:
                self._writer(None).add_scalar(name, float(array), step)
            else:
                for run, item in enumerate(array.reshape(-1)):
                    self._writer(run).add_scalar(name, float(item), step)
        for writer in self._writers.values():
            writer.flush()

    def close(self) -> None:
        """Flushes and closes the event files."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
