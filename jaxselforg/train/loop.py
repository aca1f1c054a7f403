"""Epochs and the training loop: one compiled ``lax.scan`` per epoch, checkpoints,
metric logs, a progress bar and a clean stop on a non-finite loss.

Three layers, each usable alone:

* :func:`make_epoch`: a pure ``epoch(state, data) -> (state, metrics)`` that draws the
  epoch's batch order from ``state.key`` and scans the step over it, on device;
* :func:`run_epochs`: a whole run as one pure function (a scan over epochs), which
  ``jax.vmap`` maps over seeds and traced hyperparameters;
* :func:`fit`: the Python loop around the compiled epoch: resume from the latest
  checkpoint, log ``metrics.jsonl``, show progress, save every few epochs, stop on
  NaN/Inf. A state with a leading run axis (``init_states``) is trained vmapped.

Resuming is exact: the checkpoint holds the whole ``TrainState`` (parameters,
optimizer moments, step, PRNG key), and every random choice of an epoch derives
from that key, so an interrupted and resumed run ends with the same bits as an
uninterrupted one (on the same device and JAX version).
"""

from __future__ import annotations

import functools
import os
import pathlib
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, TypedDict

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxselforg import _validation
from jaxselforg.data.batching import epoch_indices, scan_batches
from jaxselforg.train import results
from jaxselforg.train.checkpoint import Checkpointer
from jaxselforg.train.metrics import MetricsWriter, TensorBoardWriter, read_metrics
from jaxselforg.train.state import get_hyperparams
from jaxselforg.train.step import StepFn, tree_all_finite

__all__ = [
    "EPOCH_DRIVERS",
    "FitResult",
    "NonFiniteLossError",
    "fit",
    "make_epoch",
    "progress_enabled",
    "run_epochs",
]

_FALSE = {"0", "false", "no", "off"}

EPOCH_DRIVERS = ("scan", "loop")
"""How :func:`fit` runs an epoch's steps: ``"scan"``, one compiled ``lax.scan`` over
the batches (no per-step dispatch; the default), or ``"loop"``, a Python loop of
jitted steps over the same batches in the same order (XLA's CPU backend runs some
convolution gradients several times slower inside a loop body, jax-ml/jax#12868).
"""


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or Inf loss (or parameters); the run was stopped.

    Attributes:
      step: the first optimizer step whose loss was not finite (1-based), or the
        step after which the parameters were not finite.
      last_checkpoint: the newest checkpoint step kept on disk, or None.
    """

    def __init__(self, message: str, *, step: int, last_checkpoint: int | None):
        super().__init__(message)
        self.step = step
        self.last_checkpoint = last_checkpoint


class RunOptions(TypedDict, total=False):
    """How a run is kept and watched: the options of :func:`fit` that every trainer
    (``train_classifier``, ``train_gan``, ``train_vae``, ...) takes as ``**run`` and
    passes through unchanged. Each means what it means for :func:`fit`; ``desc``
    defaults to the trainer's name.
    """

    checkpoint_dir: str | os.PathLike | None
    save_every: int
    keep: int
    metrics_path: str | os.PathLike | None
    tensorboard_dir: str | os.PathLike | None
    eval_every: int
    progress: bool | None
    desc: str
    mesh: Mesh | None
    epoch_driver: str


def run_options(trainer: str, options: Mapping[str, Any], *,
                others: Iterable[str] = ()) -> tuple[RunOptions, dict[str, Any]]:
    """Splits a trainer's ``**`` keywords into its :class:`RunOptions` and the rest.

    Args:
      trainer: the trainer's name: the default ``desc`` and the name errors give.
      options: the keywords the trainer was called with.
      others: the other names the trainer takes through ``**`` (a model's settings).

    Returns:
      ``(run, rest)``: the run options, ``desc`` set, and the keywords in ``others``.

    Raises:
      TypeError: a keyword that is neither a run option nor in ``others``.
    """
    run_names = RunOptions.__annotations__.keys()
    others = frozenset(others) - run_names
    run = RunOptions(desc=trainer)
    rest = {}
    for name, value in options.items():
        if name in run_names:
            run[name] = value
        elif name in others:
            rest[name] = value
        else:
            takes = f"{sorted(others)} and " if others else ""
            raise TypeError(f"{trainer}() got an unexpected keyword argument {name!r}; "
                            f"it takes {takes}the run options {sorted(run_names)}.")
    return run, rest


class FitResult(NamedTuple):
    """The outcome of :func:`fit`.

    Attributes:
      state: the final state (leaves ``[n_runs, ...]`` for a vmapped run).
      history: ``{name: array [n_epochs]}`` (``[n_epochs, n_runs]`` when vmapped) of
        per-epoch means of every step metric, the evaluation metrics, and ``"epoch"``
        and ``"step"``; epochs before a resume are included when ``metrics_path``
        holds them.
      start_epoch: the epoch the call started from (> 0 after a resume).
    """

    state: Any
    history: dict[str, np.ndarray]
    start_epoch: int


def progress_enabled() -> bool:
    """Progress bars are on unless the environment sets ``JAXSELFORG_PROGRESS=0``."""
    return os.environ.get("JAXSELFORG_PROGRESS", "1").lower() not in _FALSE


def make_epoch(step: StepFn, batch_size: int, *, mesh: Mesh | None = None):
    """One epoch as a pure function ``epoch(state, data) -> (state, metrics)``.

    The epoch splits ``state.key`` for a random permutation of the examples
    (``jaxselforg.data.epoch_indices``: ``n // batch_size`` full batches, the rest
    dropped, differently every epoch) and runs ``step`` on each batch in a
    ``lax.scan``; each batch is gathered from ``data`` on device
    (``jaxselforg.data.scan_batches``, the library's one epoch driver).

    Args:
      step: ``step(state, batch) -> (state, metrics)`` (:func:`make_step`); ``state``
        must be a NamedTuple with a ``key`` field holding PRNG key data.
      batch_size: examples per step (static).
      mesh: optional 1-D device mesh: each batch is sharded along its first
        dimension over it (data parallelism; ``batch_size`` must be a multiple of
        the number of devices). The state is left to the compiler (replicated).

    Returns:
      ``epoch(state, data)``: ``data`` is a pytree of arrays sharing their first
      (example) dimension; ``metrics`` are the step metrics stacked ``[n_batches]``.
    """
    batch_size = _validation.positive_int(batch_size, "batch_size")
    sharding = None
    if mesh is not None:
        if len(mesh.axis_names) != 1 or batch_size % mesh.size:
            raise ValueError(f"mesh must be 1-D with a size dividing batch_size {batch_size}; "
                             f"got axes {mesh.axis_names} of sizes {tuple(mesh.shape.values())}.")
        sharding = NamedSharding(mesh, PartitionSpec(mesh.axis_names[0]))

    def body(state, batch, index):
        del index  # the state counts its own steps
        if sharding is not None:
            batch = lax.with_sharding_constraint(batch, sharding)
        return step(state, batch)

    def epoch(state, data):
        key, order_key = jax.random.split(jax.random.wrap_key_data(state.key))
        state = state._replace(key=jax.random.key_data(key))
        return scan_batches(body, state, data, key=order_key, batch_size=batch_size)

    return epoch


def run_epochs(epoch, state, data, n_epochs: int):
    """A whole run as one pure function: ``n_epochs`` epochs in a ``lax.scan``.

    ``jax.vmap(lambda s: run_epochs(epoch, s, data, n))(states)`` trains a batch of
    runs (seeds, traced hyperparameters) in one compiled program.

    Args:
      epoch: from :func:`make_epoch`.
      state: the initial state.
      data: the training data (pytree, shared first dimension).
      n_epochs: number of epochs (static).

    Returns:
      ``(state, metrics)`` with metrics ``[n_epochs, n_batches]``.
    """
    n_epochs = _validation.positive_int(n_epochs, "n_epochs")
    return lax.scan(lambda s, _: epoch(s, data), state, None, length=n_epochs)


@functools.lru_cache(maxsize=32)
def _compiled_epoch(step: StepFn, batch_size: int, vmapped: bool, mesh: Mesh | None,
                    data_per_run: bool = False):
    """The jitted (and, for a batch of runs, vmapped) epoch, which also reports whether
    the new parameters are finite; cached so that repeated ``fit`` calls with the same
    step compile once. ``data_per_run``: the data's leading axis is the runs'."""
    epoch = make_epoch(step, batch_size, mesh=mesh)

    def checked(state, data):
        state, metrics = epoch(state, data)
        return state, metrics, tree_all_finite(state.params)

    if vmapped:
        checked = jax.vmap(checked, in_axes=(0, 0 if data_per_run else None))
    return jax.jit(checked)


@functools.lru_cache(maxsize=32)
def _looped_epoch(step: StepFn, batch_size: int, vmapped: bool, mesh: Mesh | None,
                  data_per_run: bool = False):
    """The epoch of :func:`make_epoch` as a Python loop of jitted steps: the same key
    split, batch order and steps (equal results up to XLA's fusion choices), with the
    finiteness report of :func:`_compiled_epoch`."""
    make_epoch(step, batch_size, mesh=mesh)  # the same checks of batch_size and mesh
    sharding = None if mesh is None else NamedSharding(mesh, PartitionSpec(mesh.axis_names[0]))

    def start(state, data):
        key, order_key = jax.random.split(jax.random.wrap_key_data(state.key))
        n = jax.tree.leaves(data)[0].shape[0]
        return state._replace(key=jax.random.key_data(key)), epoch_indices(order_key, n,
                                                                           batch_size)

    def update(state, data, rows):
        batch = jax.tree.map(lambda leaf: leaf[rows], data)
        if sharding is not None:
            batch = lax.with_sharding_constraint(batch, sharding)
        return step(state, batch)

    if vmapped:
        data_axis = 0 if data_per_run else None
        start = jax.vmap(start, in_axes=(0, data_axis))
        update = jax.vmap(update, in_axes=(0, data_axis, 0))
        finite = jax.jit(jax.vmap(lambda state: tree_all_finite(state.params)))
    else:
        finite = jax.jit(lambda state: tree_all_finite(state.params))
    start, update = jax.jit(start), jax.jit(update)
    batch_axis = 1 if vmapped else 0  # metrics [n_batches] or [n_runs, n_batches]

    def epoch(state, data):
        state, order = start(state, data)
        metrics = []
        for i in range(order.shape[batch_axis]):
            state, values = update(state, data, order[:, i] if vmapped else order[i])
            metrics.append(values)
        metrics = jax.tree.map(lambda *v: jnp.stack(v, axis=batch_axis), *metrics)
        return state, metrics, finite(state)

    return epoch


def _strong(tree):
    """Every array with a strong dtype: Orbax restores a weakly typed scalar (a loss
    hyperparameter given as a Python float) as a strong one, and jit compiles the two
    apart, so a resumed run would recompile its epoch."""
    return jax.tree.map(lambda leaf: jnp.asarray(leaf, jnp.asarray(leaf).dtype), tree)


def _committed(tree):
    """Every array committed to its current sharding.

    Orbax restores committed arrays and a fresh state is usually uncommitted; jit
    compiles the two apart, so a resumed run would recompile its epoch. Committing
    both makes them one program (and the resumed run's bits those of a straight run).
    """
    return jax.tree.map(lambda leaf: jax.device_put(leaf, leaf.sharding)
                        if isinstance(leaf, jax.Array) else jnp.asarray(leaf), tree)


def _fit_config(config, data, batch_size, state, n_runs) -> dict[str, Any]:
    """The user's config plus what fit itself must match on resume."""
    full = dict(config or {})
    full["fit.batch_size"] = batch_size
    full["fit.n_runs"] = n_runs
    full["fit.data"] = [[list(leaf.shape), str(leaf.dtype)] for leaf in jax.tree.leaves(data)]
    for name, value in sorted(get_hyperparams(state).items()):
        full[f"fit.hyperparams.{name}"] = np.asarray(value).tolist()
    return full


def _epoch_record(epoch: int, step: int, metrics, seconds: float) -> dict[str, Any]:
    # Step metrics are [n_batches] (or [n_runs, n_batches]): average over the batches.
    record = {"epoch": epoch, "step": step, "seconds": seconds}
    for name, values in metrics.items():
        record[name] = np.mean(np.asarray(values, dtype=np.float64), axis=-1)
    return record


def _stack(values: list, dtype) -> np.ndarray:
    arrays = [np.asarray(np.nan if v is None else v, dtype=dtype) for v in values]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1 and len({a.size for a in arrays}) == 1:
        # A one-run sweep's [1] values are written to metrics.jsonl as numbers; the
        # epochs read back on resume then meet this call's [1] arrays.
        shape = max(shapes, key=len)
        arrays = [a.reshape(shape) for a in arrays]
    return np.stack(arrays)


def _history(records: Iterable[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    records = [r for r in records if "epoch" in r and "error" not in r]
    names = dict.fromkeys(name for r in records for name in r)
    return {name: _stack([r.get(name) for r in records],
                         np.float64 if name not in ("epoch", "step") else np.int64)
            for name in names}


def _losses(metrics) -> dict[str, np.ndarray]:
    """The step's loss metrics: ``loss`` (one network) or ``<role>/loss`` (several)."""
    found = {name: np.asarray(value) for name, value in metrics.items()
             if name == "loss" or name.endswith("/loss")}
    if not found:
        raise ValueError(f"The step's metrics need a 'loss' (or '<role>/loss'); got "
                         f"{sorted(metrics)}.")
    return found


def _first_bad(loss: np.ndarray) -> tuple[int, list[int]]:
    """Index of the first batch with a non-finite loss, and the runs affected."""
    bad = ~np.isfinite(loss.reshape(-1, loss.shape[-1]))
    return int(np.argmax(bad.any(axis=0))), [int(r) for r in np.flatnonzero(bad.any(axis=1))]


def fit(
    step: StepFn,
    state,
    data,
    *,
    batch_size: int,
    epochs: int,
    checkpoint_dir: str | os.PathLike | None = None,
    config: Mapping[str, Any] | None = None,
    save_every: int = 1,
    keep: int = 3,
    ignore: Iterable[str] = (),
    metrics_path: str | os.PathLike | None = None,
    tensorboard_dir: str | os.PathLike | None = None,
    eval_fn: Callable[[Any], Mapping[str, Any]] | None = None,
    eval_every: int = 1,
    progress: bool | None = None,
    desc: str = "train",
    mesh: Mesh | None = None,
    epoch_driver: str = "scan",
    data_per_run: bool = False,
) -> FitResult:
    """Trains ``state`` for ``epochs`` epochs with checkpoints, logs and a progress bar.

    Each epoch is one call of the jitted :func:`make_epoch` program. After it the
    loss is checked: a NaN or Inf (or non-finite parameters) stops the run with
    :class:`NonFiniteLossError` before anything of that epoch is saved, so the last
    good checkpoint stays the newest. Otherwise the epoch's mean metrics (and
    ``eval_fn``'s, every ``eval_every`` epochs) are appended to ``metrics_path`` and
    the state is saved every ``save_every`` epochs and at the end. Every state of
    :func:`~jaxselforg.train.create_state` trains here unchanged: one network,
    several roles (an alternating GAN step, a frozen teacher), partial freezing.

    With ``checkpoint_dir``, a call resumes from the newest checkpoint there and runs
    the remaining epochs up to ``epochs`` (a total, not an increment). The directory
    must belong to the same configuration: ``config`` plus the batch size, data
    shapes and injected hyperparameters of ``state``; anything else raises
    :class:`~jaxselforg.train.CheckpointMismatchError` before any state is restored.

    A ``state`` whose leaves have a leading run axis (``init_states``) trains all runs
    vmapped in one program; metrics then hold one value per run, and a non-finite
    loss in any run stops them all. With ``data_per_run``, every leaf of ``data`` has
    that run axis too, ``[n_runs, n, ...]``, and run i trains on ``data[i]`` (one model
    per class, each on its own class's rows, is one program).

    Args:
      step: ``step(state, batch) -> (state, metrics)``, e.g. from :func:`make_step`
        or :func:`make_alternating_step`; ``state`` has ``step`` (int32 count) and
        ``key`` (PRNG key data) fields; ``metrics`` has ``"loss"`` or
        ``"<role>/loss"`` entries, all checked for NaN/Inf.
      state: the initial state (ignored in favour of the newest checkpoint, if any).
      data: pytree of arrays sharing their first (example) dimension.
      batch_size: examples per step.
      epochs: total number of epochs.
      checkpoint_dir: where to save and resume; None for no checkpoints.
      config: JSON-serializable run configuration stored with the checkpoints.
      save_every: save every this many epochs (a checkpoint's number is its step).
      keep: how many of the newest checkpoints to keep.
      ignore: ``config`` keys allowed to differ on resume.
      metrics_path: this run's own ``metrics.jsonl``: one record per epoch
        (``epoch``, ``step``, ``seconds`` (the first includes compilation), the
        step metrics' epoch means, ``eval_fn``'s values). On start, epoch records
        past the state's step (an interrupted run's, or an earlier run's) are
        dropped, so after a resume the file reads as if never interrupted.
      tensorboard_dir: also write every epoch's record as TensorBoard scalars
        here (:class:`~jaxselforg.train.TensorBoardWriter`; one sub-folder per run
        of a sweep).
      eval_fn: ``eval_fn(state) -> {name: value}``, logged with the epoch's record.
      eval_every: evaluate every this many epochs (and after the last).
      progress: show a tqdm bar with the live loss; default: unless the environment
        sets ``JAXSELFORG_PROGRESS=0``.
      desc: the progress bar's label.
      mesh: data-parallel device mesh: the state and ``data`` are replicated on it
        and every batch is split over it (see :func:`make_epoch`).
      epoch_driver: ``"scan"`` or ``"loop"`` (:data:`EPOCH_DRIVERS`): how an epoch's
        steps run; both take the same batches in the same order.

    Returns:
      A :class:`FitResult`.

    Raises:
      NonFiniteLossError: the loss or the parameters became NaN or Inf.
      CheckpointMismatchError: ``checkpoint_dir`` holds another configuration's run.
      ValueError: bad settings (non-positive counts, batch larger than the data).
    """
    batch_size = _validation.positive_int(batch_size, "batch_size")
    epochs = _validation.positive_int(epochs, "epochs")
    save_every = _validation.positive_int(save_every, "save_every")
    eval_every = _validation.positive_int(eval_every, "eval_every")
    data = jax.tree.map(jnp.asarray, data)
    n_runs = results.n_runs(state)
    data_per_run = bool(data_per_run)
    if data_per_run:
        if n_runs is None or mesh is not None:
            raise ValueError("data_per_run needs a state with a run axis (init_states) and "
                             "no mesh.")
        runs = {leaf.shape[0] if leaf.ndim else 0 for leaf in jax.tree.leaves(data)}
        if runs != {n_runs}:
            raise ValueError(f"With data_per_run every data leaf must have {n_runs} runs "
                             f"first; got leading dimensions {sorted(runs)}.")
    axis = 1 if data_per_run else 0
    sizes = {leaf.shape[axis] if leaf.ndim > axis else 0 for leaf in jax.tree.leaves(data)}
    if len(sizes) != 1 or 0 in sizes:
        where = "second (example)" if data_per_run else "first"
        raise ValueError(f"data must be arrays sharing a non-empty {where} dimension; "
                         f"got {where} dimensions {sorted(sizes)}.")
    n_examples = sizes.pop()
    _validation.positive_int(batch_size, "batch_size", at_most=n_examples,
                             bound="the number of examples")
    steps_per_epoch = n_examples // batch_size
    driver = _validation.choice(epoch_driver, EPOCH_DRIVERS, "epoch_driver")
    epoch_fn = (_compiled_epoch if driver == "scan" else _looped_epoch)(
        step, batch_size, n_runs is not None, mesh, data_per_run)
    show = progress_enabled() if progress is None else progress

    ckpt = board = None
    if checkpoint_dir is not None:
        ckpt = Checkpointer(checkpoint_dir,
                            config=_fit_config(config, data, batch_size, state, n_runs),
                            save_every=save_every * steps_per_epoch, keep=keep, ignore=ignore)
    try:
        state = _strong(state)
        if mesh is not None:
            # Data parallelism: state and data replicated, each batch split (make_epoch).
            # Before the restore, so that Orbax restores onto the mesh: a state restored
            # onto each process's own first device cannot be moved onto a mesh that spans
            # several processes.
            replicated = NamedSharding(mesh, PartitionSpec())
            state, data = jax.device_put((state, data), replicated)
        if ckpt is not None:
            state, _ = ckpt.restore_or(state)
        if mesh is None:
            state = _committed(state)
        done = int(np.max(np.asarray(state.step)))
        if done % steps_per_epoch:
            raise ValueError(f"The state is at step {done}, not at the end of an epoch of "
                             f"{steps_per_epoch} steps; fit resumes at epoch boundaries only.")
        start_epoch = done // steps_per_epoch

        records: list[dict[str, Any]] = []
        writer = None
        # Several processes (multi-host): every one runs this loop and holds the same
        # metrics; process 0 alone writes the logs (Orbax already makes it the
        # checkpoints' primary host), so each record is on disk once.
        primary = jax.process_index() == 0
        if tensorboard_dir is not None and primary:
            board = TensorBoardWriter(tensorboard_dir)
        if metrics_path is not None:
            path = pathlib.Path(metrics_path)
            if path.exists():
                records = [r for r in read_metrics(path)
                           if "epoch" not in r or r.get("step", 0) <= done]
            if jax.process_count() > 1:  # every process has read the file before it changes
                multihost_utils.sync_global_devices(f"jaxselforg.fit read {path}")
            if primary:
                writer = MetricsWriter(path)
                writer.path.write_text("")
                for record in records:
                    writer.write(record)

        from tqdm.auto import tqdm

        bar = tqdm(total=epochs * steps_per_epoch, initial=min(done, epochs * steps_per_epoch),
                   desc=desc, unit="step", disable=not show, dynamic_ncols=True, leave=False)
        with bar:
            for epoch in range(start_epoch + 1, epochs + 1):
                started = time.perf_counter()
                new_state, metrics, finite = epoch_fn(state, data)
                losses = _losses(metrics)
                seconds = time.perf_counter() - started
                step_number = epoch * steps_per_epoch
                problem = None
                bad = [name for name, loss in losses.items() if not np.all(np.isfinite(loss))]
                if bad:
                    loss = losses[bad[0]]
                    batch, runs = _first_bad(loss)
                    step_number = (epoch - 1) * steps_per_epoch + batch + 1
                    what = "loss" if bad[0] == "loss" else f"{bad[0].split('/')[0]} loss"
                    problem = f"the {what} is {loss.reshape(-1, loss.shape[-1])[runs[0], batch]}"
                elif not np.all(np.asarray(finite)):
                    runs = [int(r) for r in np.flatnonzero(~np.asarray(finite).reshape(-1))]
                    problem = "the parameters hold NaN or Inf"
                if problem is not None:
                    last = ckpt.latest_step if ckpt is not None else None
                    where = "" if n_runs is None else f" in run(s) {runs}"
                    kept = (f"The last good checkpoint, step {last}, is kept in "
                            f"{ckpt.directory}." if last is not None else
                            "No checkpoint was saved.")
                    if writer is not None:
                        writer.write(epoch=epoch, step=step_number, error=problem)
                    raise NonFiniteLossError(
                        f"Training stopped at step {step_number} (epoch {epoch}){where}: "
                        f"{problem}. {kept} Lower the learning rate or check the data and "
                        "the loss for overflow.", step=step_number, last_checkpoint=last)
                state = new_state
                record = _epoch_record(epoch, step_number, metrics, seconds)
                if eval_fn is not None and (epoch % eval_every == 0 or epoch == epochs):
                    record.update(eval_fn(state))
                records.append(record)
                if writer is not None:
                    writer.write(record)
                if board is not None:
                    board.write(step_number, record)
                if ckpt is not None:
                    ckpt.save(step_number, state)
                bar.update(steps_per_epoch)
                bar.set_postfix({name: f"{float(np.mean(record[name])):.4g}"
                                 for name in losses} | {"epoch": epoch})
        final = epochs * steps_per_epoch
        if ckpt is not None and start_epoch < epochs and ckpt.latest_step != final:
            ckpt.save(final, state, force=True)
    finally:
        if ckpt is not None:
            ckpt.close()
        if board is not None:
            board.close()
    return FitResult(state, _history(records), start_epoch)
