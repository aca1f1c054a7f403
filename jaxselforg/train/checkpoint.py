"""Checkpoints of any pytree state with Orbax: save every N steps, keep the last K,
resume from the latest, and refuse a directory written by a different configuration.

    with Checkpointer(run_dir / "checkpoints", config=asdict(cfg), save_every=100) as ckpt:
        state, start = ckpt.restore_or(init_state)
        for step in range(start, n_steps):
            state = train_step(state)
            ckpt.save(step + 1, state)

``save`` writes only on multiples of ``save_every`` (or when forced); the writes are
asynchronous and ``close`` (or leaving the ``with`` block) waits for them, so no
finished step is lost. ``restore`` checks the saved tree against the template
before reading anything: a different structure, shape or dtype is an error, never
a partial restore.

Each step is saved with a SHA-256 digest of its leaves (an Orbax JSON item beside the
state, committed atomically with it). A step whose files cannot be read, or whose
restored bytes do not match the digest (a truncated or flipped file), is corrupt:
``restore_or`` warns (:class:`CorruptCheckpointWarning`, naming the step and its
path), moves it aside to ``<directory>/corrupt/<step>`` and resumes from the newest
readable step, so training loses only the steps since that one.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, Self

import jax
import numpy as np
import orbax.checkpoint as ocp

from jaxselforg import parallel

__all__ = ["CheckpointMismatchError", "Checkpointer", "CorruptCheckpointError",
           "CorruptCheckpointWarning", "fingerprint"]

_CONFIG_FILE = "config.json"
_CORRUPT = "corrupt"


class CheckpointMismatchError(ValueError):
    """A checkpoint does not belong to this run (other config or other state shape)."""


class CorruptCheckpointError(OSError):
    """No kept checkpoint could be read (every step's files are damaged)."""


class CorruptCheckpointWarning(UserWarning):
    """A damaged checkpoint step was skipped in favour of an older one."""


def _plain_config(value, key: str):
    """JSON-ready config values: paths as strings, numpy scalars and arrays as numbers
    and lists, PRNG keys as their key data; anything else that JSON cannot hold is
    refused (a function's repr would differ on the next run and refuse its own
    checkpoints)."""
    if isinstance(value, Mapping):
        return {str(k): _plain_config(v, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_config(v, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (np.generic, np.ndarray)) or (
            isinstance(value, jax.Array) and not isinstance(value, jax.core.Tracer)):
        if jax.dtypes.issubdtype(value.dtype, jax.dtypes.prng_key):
            value = jax.random.key_data(value)
        return np.asarray(value).tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    kind = "callable" if callable(value) else type(value).__name__
    raise ValueError(f"config[{key!r}] is a {kind} ({value!r:.60}), which a "
                     "checkpoint's config.json cannot hold; use numbers, strings, lists or "
                     "dicts (e.g. the function's name).")


def _canonical(config: Mapping[str, Any]) -> dict[str, Any]:
    """JSON round trip, so tuples and lists (and key order) compare equal."""
    plain = {str(k): _plain_config(v, str(k)) for k, v in dict(config).items()}
    return json.loads(json.dumps(plain, sort_keys=True))


def _host_leaves(tree) -> list[tuple[Any, np.ndarray]]:
    """``[(path, numpy leaf)]``: one host copy, for the NaN check and the digest (leaves
    sharded over several processes are gathered, so every process computes the same)."""
    return jax.tree_util.tree_leaves_with_path(parallel.host_copy(tree))


def _digest(leaves: list[tuple[Any, np.ndarray]]) -> str:
    """SHA-256 over every leaf's path, dtype, shape and bytes."""
    digest = hashlib.sha256()
    for path, leaf in leaves:
        digest.update(f"{_path(path)}|{leaf.dtype}|{leaf.shape}|".encode())
        digest.update(np.ascontiguousarray(leaf).tobytes())
    return digest.hexdigest()


def fingerprint(tree) -> str:
    """A short digest of a pytree's bytes (16 hex digits): put in a run's checkpoint
    config, it makes the checkpoint refuse to resume with another input network (a
    distillation's teacher, a transferred encoder) whose shapes are the same. Bytes only
    (not ``_digest``'s paths and shapes): the digest existing distillation checkpoints
    hold."""
    digest = hashlib.sha256()
    for _, leaf in _host_leaves(tree):
        digest.update(np.ascontiguousarray(leaf).tobytes())
    return digest.hexdigest()[:16]


def _describe(leaf) -> tuple[tuple[int, ...], str]:
    dtype = leaf.dtype if hasattr(leaf, "dtype") else np.asarray(leaf).dtype
    return tuple(np.shape(leaf)), str(np.dtype(dtype))


def _path(path) -> str:
    """Path of a leaf, the same for a dict key and a NamedTuple/dataclass field.

    Dict keys compare as strings because Orbax stores them so: the int keys of an
    ``nnx.List``'s state come back from the metadata as ``'0'``, ``'1'``, ...
    """
    def name(entry):
        if isinstance(entry, jax.tree_util.DictKey):
            return str(entry.key)
        return getattr(entry, "key", getattr(entry, "name", getattr(entry, "idx", entry)))

    return "".join(f"[{name(entry)!r}]" for entry in path)


class Checkpointer:
    """Orbax ``CheckpointManager`` with the policies every training run here needs.

    Args:
      directory: where checkpoints live (created if needed).
      config: the run's configuration (JSON-serializable mapping); stored beside the
        checkpoints and compared on every later open.
      save_every: save on steps that are multiples of this.
      keep: number of most recent checkpoints to keep.
      ignore: config keys allowed to differ on resume (e.g. ``"epochs"`` to train
        longer, output or progress-bar flags).

    Raises:
      CheckpointMismatchError: ``directory`` holds checkpoints of another config.
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        config: Mapping[str, Any],
        save_every: int = 1,
        keep: int = 3,
        ignore: Iterable[str] = (),
    ):
        if save_every < 1 or keep < 1:
            raise ValueError(f"save_every and keep must be >= 1; got {save_every} and {keep}.")
        self.directory = pathlib.Path(directory).absolute()
        if self.directory.exists() and not self.directory.is_dir():
            raise ValueError(f"The checkpoint directory {self.directory} exists and is not a "
                             "directory; pass a folder path (it is created if missing).")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._check_config(_canonical(config), set(ignore))
        self._options = ocp.CheckpointManagerOptions(
            max_to_keep=keep, save_interval_steps=save_every, create=True)
        self._manager = self._open()

    def _open(self) -> ocp.CheckpointManager:
        return ocp.CheckpointManager(
            self.directory, options=self._options,
            item_handlers={"state": ocp.StandardCheckpointHandler(),
                           "digest": ocp.JsonCheckpointHandler()})

    def _check_config(self, config: dict[str, Any], ignore: set[str]) -> None:
        path = self.directory / _CONFIG_FILE
        if not path.exists():
            if jax.process_index() == 0:  # several processes: one writer, Orbax's primary
                path.write_text(json.dumps(config, indent=2, sort_keys=True))
            return
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise CheckpointMismatchError(
                f"{path} cannot be read as the run's configuration ({error}); restore it, or "
                "use a new directory.") from error
        keys = (set(saved) | set(config)) - ignore
        differences = [
            f"{key}: saved {saved.get(key, '<absent>')!r}, now {config.get(key, '<absent>')!r}"
            for key in sorted(keys) if saved.get(key) != config.get(key)
        ]
        if differences:
            raise CheckpointMismatchError(
                f"{self.directory} holds checkpoints of a different configuration:\n  "
                + "\n  ".join(differences)
                + "\nUse a new directory, or the saved configuration to resume."
            )

    @property
    def latest_step(self) -> int | None:
        """The newest saved step, or None."""
        return self._manager.latest_step()

    @property
    def all_steps(self) -> list[int]:
        """Every step kept on disk, oldest first."""
        return sorted(self._manager.all_steps())

    def save(self, step: int, state, *, force: bool = False) -> bool:
        """Saves ``state`` if ``step`` is due (or ``force``); returns whether it did.

        Raises:
          ValueError: ``state`` holds NaN or Inf; nothing is written, so the last
            good checkpoint stays the latest.
        """
        if not (force or self._manager.should_save(step)):
            return False
        leaves = _host_leaves(state)
        for path, leaf in leaves:
            if np.issubdtype(leaf.dtype, np.inexact) and not np.all(np.isfinite(leaf)):
                raise ValueError(
                    f"Refusing to checkpoint step {step}: {jax.tree_util.keystr(path)} holds "
                    "NaN or Inf. The last good checkpoint is kept."
                )
        args = ocp.args.Composite(state=ocp.args.StandardSave(state),
                                  digest=ocp.args.JsonSave({"sha256": _digest(leaves)}))
        return self._manager.save(step, args=args, force=force)

    def restore(self, template, step: int | None = None):
        """Restores the checkpoint at ``step`` (default latest) into ``template``'s shape.

        Raises:
          FileNotFoundError: no checkpoint.
          CheckpointMismatchError: the saved tree differs from ``template`` in
            structure, shapes or dtypes.
        """
        step = self.latest_step if step is None else step
        if step is None or step not in self._manager.all_steps():
            raise FileNotFoundError(f"No checkpoint at step {step} in {self.directory}.")
        try:
            self._check_structure(template, step)
            restored = self._manager.restore(step, args=ocp.args.Composite(
                state=ocp.args.StandardRestore(template), digest=ocp.args.JsonRestore()))
            state, saved = restored["state"], restored["digest"]
        except CheckpointMismatchError:
            raise
        except Exception as error:  # noqa: BLE001 - Orbax/tensorstore raise many kinds
            raise CorruptCheckpointError(
                f"Checkpoint step {step} in {self.directory / str(step)} cannot be read: "
                f"{type(error).__name__}: {str(error)[:300]}") from error
        if not isinstance(saved, Mapping) or saved.get("sha256") != _digest(_host_leaves(state)):
            raise CorruptCheckpointError(
                f"Checkpoint step {step} in {self.directory / str(step)} is damaged: its "
                "restored bytes do not match the digest saved with it.")
        return state

    def restore_or(self, template) -> tuple[Any, int]:
        """``(restored state, step)`` from the newest readable checkpoint, else
        ``(template, 0)``.

        A damaged step (unreadable files or a digest mismatch) is reported with a
        :class:`CorruptCheckpointWarning`, moved to ``<directory>/corrupt/<step>`` and
        skipped for the next older one.

        Raises:
          CheckpointMismatchError: the newest readable step is another state's.
          CorruptCheckpointError: checkpoints exist but none can be read (all are
            moved aside; the error lists why each failed).
        """
        failures = []
        while self.latest_step is not None:
            step = self.latest_step
            try:
                return self.restore(template, step), step
            except CorruptCheckpointError as error:
                failures.append(str(error))
                self._move_aside(step)
                older = self.latest_step
                warnings.warn(f"{error} Moved it to {self.directory / _CORRUPT / str(step)}; "
                              + (f"resuming from step {older}." if older is not None else
                                 "no older checkpoint is left."),
                              CorruptCheckpointWarning, stacklevel=2)
        if failures:
            raise CorruptCheckpointError(
                "No checkpoint in " + str(self.directory) + " could be read:\n  "
                + "\n  ".join(failures) + "\nStart a new run in a new directory (or "
                "delete this one).")
        return template, 0

    def _move_aside(self, step: int) -> None:
        self._manager.wait_until_finished()
        self._manager.close()
        target = self.directory / _CORRUPT / str(step)
        target.parent.mkdir(exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(self.directory / str(step)), str(target))
        self._manager = self._open()

    def _check_structure(self, template, step: int) -> None:
        saved_tree = self._manager.item_metadata(step)["state"].tree
        saved = {_path(p): _describe(leaf)
                 for p, leaf in jax.tree_util.tree_leaves_with_path(saved_tree)}
        wanted = {_path(p): _describe(leaf)
                  for p, leaf in jax.tree_util.tree_leaves_with_path(template)}
        problems = [f"{key}: missing in the checkpoint" for key in sorted(set(wanted) - set(saved))]
        problems += [f"{key}: in the checkpoint but not in the state" for key in
                     sorted(set(saved) - set(wanted))]
        problems += [
            f"{key}: saved shape/dtype {saved[key]}, expected {wanted[key]}"
            for key in sorted(set(saved) & set(wanted)) if saved[key] != wanted[key]
        ]
        if problems:
            raise CheckpointMismatchError(
                f"Checkpoint {step} in {self.directory} does not match the state:\n  "
                + "\n  ".join(problems)
            )

    def wait(self) -> None:
        """Blocks until pending asynchronous saves are on disk."""
        self._manager.wait_until_finished()

    def close(self) -> None:
        """Waits for pending saves and releases the manager."""
        self._manager.wait_until_finished()
        self._manager.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
