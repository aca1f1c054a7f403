"""The networks of a training result, run by run.

Every family's training call returns a NamedTuple of ``graphdef`` (or ``{role:
graphdef}``), the final ``state`` and the ``history``; a sweep's state has a leading
run axis. :class:`TrainingResult` (the base of a one-network family's result) and
these functions are the one way such a result hands out its networks::

    result.n_runs, result.model, result.model_of(3)           # a TrainingResult
    train.n_runs(result.state)                      # None for a single run
    train.model_of(result.graphdef, result.state)   # the single run's network
    train.model_of(graphdefs, state, 3, role="generator")     # one role of run 3
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
from flax import nnx

from jaxselforg.train.state import TrainState, get_model, select_run

__all__ = ["TrainingResult", "evaluate_runs", "model_of", "n_runs"]


def n_runs(state: TrainState) -> int | None:
    """The number of runs of a batch of states (the leading axis of ``state.step``),
    or None for a single run."""
    step = np.asarray(state.step)
    return int(step.shape[0]) if step.ndim else None


def model_of(graphdef, state: TrainState, run: int | None = None, *, role: str | None = None,
             accessor: str = "model_of") -> nnx.Module:
    """The trained network of a single run (``run=None``) or of run ``run`` of a sweep.

    Args:
      graphdef: the ``graphdef`` or ``{role: graphdef}`` of the state.
      state: a :class:`TrainState`, leaves ``[n_runs, ...]`` for a sweep.
      run: which run of a sweep; None for a single run.
      role: which network (:func:`get_model`); default the only one.
      accessor: the result's method named in the error (``"generator_of"``).

    Raises:
      ValueError: no run named for a sweep, a run named for a single run, or an
        unknown role.
    """
    runs = n_runs(state)
    if run is None and runs is not None:
        raise ValueError(f"Name the run of a sweep of {runs} runs: {accessor}(i).")
    if run is not None and runs is None:
        raise ValueError(f"This is a single run; call {accessor}() without a run.")
    return get_model(graphdef, state if run is None else select_run(state, run), role)


class TrainingResult(NamedTuple):
    """A trained network (or a sweep of them): what ``fit`` left, with its structure.

    A family's result subclasses it (``class VAETraining(train.TrainingResult)``, no
    new fields) to document its history.

    Attributes:
      graphdef: the network's structure.
      state: the final :class:`TrainState` (leaves ``[n_runs, ...]`` for a sweep).
      history: ``{name: [epochs]}`` (``[epochs, n_runs]`` for a sweep) of per-epoch
        means.
    """

    graphdef: nnx.GraphDef
    state: TrainState
    history: dict[str, np.ndarray]

    @property
    def n_runs(self) -> int | None:
        """Number of runs of a sweep, None for a single run."""
        return n_runs(self.state)

    @property
    def model(self) -> nnx.Module:
        """The trained network of a single run."""
        return model_of(self.graphdef, self.state)

    def model_of(self, run: int) -> nnx.Module:
        """The trained network of run ``run`` of a sweep."""
        return model_of(self.graphdef, self.state, run)


def evaluate_runs(evaluate: Callable[[nnx.Module], Mapping[str, Any]], graphdef,
                  state: TrainState, *, role: str | None = None) -> dict[str, Any]:
    """``evaluate(model)`` of a single run's network, or of every run's of a sweep.

    Args:
      evaluate: ``evaluate(model) -> {name: value}``.
      graphdef, state, role: as :func:`model_of`.

    Returns:
      ``evaluate``'s dict for a single run; ``{name: [n_runs] floats}`` for a sweep.
    """
    runs = n_runs(state)
    if runs is None:
        return dict(evaluate(model_of(graphdef, state, role=role)))
    values = [evaluate(model_of(graphdef, state, i, role=role)) for i in range(runs)]
    return {name: [float(value[name]) for value in values] for name in values[0]}
