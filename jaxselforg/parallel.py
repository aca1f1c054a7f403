"""Data parallelism: a 1-D device mesh, row-sharded datasets, cross-device reductions.

The algorithms of this library are written for one device; data parallelism runs
the same code on a shard of the rows on every device and reduces what must be
global (sums, counts, responsibilities) across the mesh. This uses ``jax.sharding``
and ``jax.shard_map`` (``pmap`` is in maintenance mode).

One process, many devices::

    mesh = parallel.data_mesh()                      # all local devices, axis "data"
    x_sharded, mask = parallel.shard_rows(x, mesh)   # rows split across devices
    index, dist = parallel.nearest(x, y, "manhattan", mesh=mesh)

Many hosts (the same code; every process runs it)::

    parallel.initialize("host0:1234", num_processes=2, process_id=i)  # before any JAX call
    mesh = parallel.data_mesh(processes=2)           # spans the devices of all hosts
    rows = parallel.process_rows(n)                  # this process's share of 0..n-1
    x = parallel.host_local_rows(x_all[rows], mesh)  # each process passes its own rows
    stats = parallel.sum_rows(statistics_fn, mesh)(x, mask, params)
    labels = parallel.host_copy(result.labels)       # a row-sharded result, on every host

Each process then holds only its own rows; reductions with :func:`sum_rows` are
global. Row counts per process must be equal (pad and mask otherwise). Results that
stay row-sharded (labels) are not addressable from one process: :func:`host_copy`
gathers them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jax.typing import ArrayLike

from jaxselforg import _validation, distances

__all__ = [
    "AXIS",
    "data_mesh",
    "host_copy",
    "host_local_rows",
    "initialize",
    "map_rows",
    "nearest",
    "process_rows",
    "replicate",
    "shard_rows",
    "sum_rows",
]

AXIS = "data"


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, **options) -> None:
    """Starts JAX's multi-process runtime: ``jax.distributed.initialize`` with CPU
    collectives.

    Every process runs the same program and calls this first, before any other JAX
    call, with the same ``coordinator_address`` (``"host:port"`` of process 0) and
    ``num_processes``, and its own ``process_id`` in ``0 .. num_processes - 1``.
    Afterwards ``jax.devices()`` lists the devices of every process and
    :func:`data_mesh` spans them. On accelerators the collectives are the
    platform's own (NCCL, ICI); for CPU devices this selects gloo, without which a
    cross-process reduction on CPU fails. On managed clusters (SLURM, Cloud TPU) the
    three arguments can be omitted: JAX reads them from the environment.

    Args:
      coordinator_address: ``"host:port"`` where process 0 listens.
      num_processes: how many processes take part.
      process_id: this process's index.
      **options: further keywords of ``jax.distributed.initialize``.

    Raises:
      ValueError: ``num_processes`` below 1, or ``process_id`` outside
        ``0 .. num_processes - 1``.
    """
    if num_processes is not None:
        num_processes = _validation.positive_int(num_processes, "num_processes")
    if process_id is not None and (
            isinstance(process_id, bool) or not isinstance(process_id, (int, np.integer))
            or not 0 <= process_id < (num_processes or np.inf)):
        raise ValueError(f"process_id must be an integer in 0 .. num_processes - 1 "
                         f"(num_processes={num_processes}); got {process_id!r}.")
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id, **options)


def data_mesh(devices: Sequence[jax.Device] | None = None, axis_name: str = AXIS, *,
              processes: int | None = None) -> Mesh:
    """A 1-D mesh over ``devices`` (default: every device of every process).

    Args:
      devices: the mesh's devices; default ``jax.devices()``.
      axis_name: the mesh axis.
      processes: the number of processes the mesh must span (a multi-host run
        states it, so that a process started without :func:`initialize`, which
        would silently train alone on its own rows, stops instead).

    Raises:
      ValueError: no devices, or ``processes`` differs from the processes running
        (``jax.process_count()``) or from those owning ``devices``.
    """
    devices = jax.devices() if devices is None else list(devices)
    if not devices:
        raise ValueError("data_mesh needs at least one device.")
    if processes is not None:
        processes = _validation.positive_int(processes, "processes")
        running = jax.process_count()
        owners = len({device.process_index for device in devices})
        if running != processes:
            hint = (" jax.distributed is not initialised: call parallel.initialize("
                    "coordinator_address, num_processes, process_id) in every process "
                    "before any other JAX call." if running == 1 else "")
            raise ValueError(f"A mesh over {processes} processes was requested, but "
                             f"{running} process(es) are running.{hint}")
        if owners != processes:
            raise ValueError(f"A mesh over {processes} processes was requested, but the "
                             f"devices given belong to {owners}; pass devices of every "
                             "process (default: jax.devices()).")
    # Auto axes: the compiler propagates shardings (GSPMD), so library code needs no
    # out_sharding annotations; jax.make_mesh defaults to Explicit axes since 0.7.
    return jax.make_mesh((len(devices),), (axis_name,), axis_types=(jax.sharding.AxisType.Auto,),
                         devices=devices)


def _axis(mesh: Mesh) -> str:
    if len(mesh.axis_names) != 1:
        raise ValueError(f"Expected a 1-D data mesh; got axes {mesh.axis_names}.")
    return mesh.axis_names[0]


def shard_rows(data, mesh: Mesh):
    """Places a pytree of arrays (shared first dimension n) row-sharded on ``mesh``.

    Rows are zero-padded to a multiple of the number of devices.

    Returns:
      ``(sharded, mask)``: the padded, sharded pytree and a boolean ``[n_padded]``
      mask, sharded the same way, that is False on the padding rows.
    """
    leaves = jax.tree.leaves(data)
    sizes = {jnp.shape(leaf)[0] for leaf in leaves}
    if len(sizes) != 1:
        raise ValueError(f"All arrays must share their first dimension; got {sorted(sizes)}.")
    n = sizes.pop()
    pad = -n % mesh.size
    sharding = NamedSharding(mesh, PartitionSpec(_axis(mesh)))

    def place(leaf):
        leaf = jnp.asarray(leaf)
        leaf = jnp.pad(leaf, [(0, pad)] + [(0, 0)] * (leaf.ndim - 1))
        return jax.device_put(leaf, sharding)

    mask = jax.device_put(jnp.arange(n + pad) < n, sharding)
    return jax.tree.map(place, data), mask


def replicate(data, mesh: Mesh):
    """Places a pytree fully replicated on every device of ``mesh``."""
    return jax.device_put(data, NamedSharding(mesh, PartitionSpec()))


def process_rows(n: int, *, process_index: int | None = None,
                 process_count: int | None = None) -> slice:
    """The rows ``start:stop`` of ``0 .. n - 1`` that this process loads (multi-host).

    Process p of P owns the p-th of P equal consecutive blocks, in the order in
    which :func:`host_local_rows` joins them, so the global array holds rows
    ``0 .. n - 1`` in order.

    Args:
      n: the number of rows of the whole dataset.
      process_index: default ``jax.process_index()``.
      process_count: default ``jax.process_count()``.

    Raises:
      ValueError: ``n`` does not divide into ``process_count`` equal blocks (drop
        or pad rows to a multiple), or ``process_index`` is out of range.
    """
    n = _validation.positive_int(n, "n")
    count = jax.process_count() if process_count is None else process_count
    count = _validation.positive_int(count, "process_count")
    index = jax.process_index() if process_index is None else process_index
    if not 0 <= index < count:
        raise ValueError(f"process_index must be in 0 .. {count - 1}; got {index}.")
    if n % count:
        raise ValueError(f"{n} rows do not divide over {count} processes; use a multiple of "
                         f"{count} rows (e.g. {n - n % count}), padding with sample_weight 0 "
                         "if every row must count.")
    size = n // count
    return slice(index * size, (index + 1) * size)


def host_local_rows(local_rows: ArrayLike, mesh: Mesh) -> jax.Array:
    """Builds a global row-sharded array from each process's own rows (multi-host).

    Every process calls this with its own ``[n_local, ...]`` block (equal sizes,
    e.g. ``x[process_rows(n)]``); the result is one global array of
    ``n_local * process_count`` rows, process 0's first. In a single process it is
    the same as :func:`shard_rows` without padding.

    Raises:
      ValueError: the processes pass different numbers of rows, or ``n_local`` does
        not divide over this process's devices in ``mesh``.
    """
    sharding = NamedSharding(mesh, PartitionSpec(_axis(mesh)))
    local_rows = jnp.asarray(local_rows)
    if local_rows.ndim == 0:
        raise ValueError("local_rows must have a first (row) dimension; got a scalar.")
    n_local = local_rows.shape[0]
    if jax.process_count() > 1:
        counts = np.asarray(multihost_utils.process_allgather(np.int64(n_local))).reshape(-1)
        if len(set(counts.tolist())) != 1:
            raise ValueError(f"Every process must pass the same number of rows; got "
                             f"{counts.tolist()} (process 0, 1, ...). Split with "
                             "parallel.process_rows(n), padding n to a multiple of the "
                             "process count.")
    local_devices = sum(device.process_index == jax.process_index()
                        for device in mesh.devices.flat)
    if local_devices == 0 or n_local % local_devices:
        raise ValueError(f"{n_local} rows do not divide over this process's "
                         f"{local_devices} device(s) of the mesh; pass a multiple of "
                         f"{max(local_devices, 1)} rows per process.")
    return jax.make_array_from_process_local_data(sharding, local_rows)


def host_copy(tree):
    """A NumPy copy of every array of ``tree`` on every process, sharded or not.

    A row-sharded result of a multi-host run (k-means labels, the global data) is
    not addressable from one process, and ``np.asarray`` of it fails; this gathers
    the shards from all processes (a collective: every process must call it). A
    replicated or single-process array is copied from a local shard.

    Returns:
      ``tree`` with ``np.ndarray`` leaves.
    """
    def copy(leaf):
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
            if leaf.is_fully_replicated:
                return np.asarray(leaf.addressable_data(0))
            return np.asarray(multihost_utils.process_allgather(leaf, tiled=True))
        return np.asarray(leaf)

    return jax.tree.map(copy, tree)


def map_rows(fn: Callable, mesh: Mesh) -> Callable:
    """Runs ``fn(rows, *replicated)`` on every device's shard of rows.

    ``fn`` must be row-wise (row i of the output depends on row i of the input);
    outputs stay row-sharded. The first argument is row-sharded, the others are
    replicated.
    """
    axis = _axis(mesh)

    def wrapped(rows, *replicated):
        in_specs = (PartitionSpec(axis),) + (PartitionSpec(),) * len(replicated)
        return jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=PartitionSpec(axis))(
            rows, *replicated
        )

    return wrapped


def sum_rows(fn: Callable, mesh: Mesh) -> Callable:
    """Sums per-shard statistics over the mesh: ``sum_devices fn(rows, mask, *replicated)``.

    This is the data-parallel step of every algorithm that is a sum over examples
    (k-means centre sums and counts, EM responsibilities, batch-SOM numerators):
    each device reduces its rows, one ``psum`` adds the results. ``mask`` marks real
    rows (from :func:`shard_rows`) so padding contributes nothing if ``fn`` uses it.

    Returns:
      A function returning ``fn``'s pytree, summed over devices and replicated.
    """
    axis = _axis(mesh)

    def per_shard(rows, mask, *replicated):
        return jax.lax.psum(fn(rows, mask, *replicated), axis)

    def wrapped(rows, mask, *replicated):
        in_specs = (PartitionSpec(axis), PartitionSpec(axis)) + (PartitionSpec(),) * len(replicated)
        return jax.shard_map(per_shard, mesh=mesh, in_specs=in_specs, out_specs=PartitionSpec())(
            rows, mask, *replicated
        )

    return wrapped


def nearest(
    x: ArrayLike,
    y: ArrayLike,
    metric: str = "euclidean",
    *,
    mesh: Mesh | None = None,
    **options,
) -> tuple[jax.Array, ...]:
    """:func:`jaxselforg.distances.nearest` with the queries ``x`` sharded over ``mesh``.

    l(i) = argmin_j rho(x_i, y_j) - b_j for every row of ``x``: every device searches
    all of ``y`` (replicated) for its share of ``x`` with the library's one search;
    the result equals the one-device call.

    Args:
      x: queries ``[n, d]`` (padded to a multiple of the mesh size internally).
      y: candidates ``[m, d]``, replicated on every device.
      metric: the distance (``jaxselforg.distances.METRICS``).
      mesh: a one-axis device mesh; default :func:`data_mesh`.
      **options: :func:`jaxselforg.distances.nearest`'s keywords (``p``, ``w``,
        ``runner_up``, ``bias``, ``matmul``, ``exact_distance``, ``centre``,
        ``block_size``).

    Returns:
      ``(index, distance)``, each ``[n]``; with ``runner_up=True``, ``(index,
      distance, second)``.

    Raises:
      ValueError: as :func:`jaxselforg.distances.nearest`.
    """
    mesh = data_mesh() if mesh is None else mesh
    x = _validation.matrix(x, "x")
    y = _validation.matrix(y, "y", features=x.shape[1])
    if options.get("bias") is not None:  # checked here: inside shard_map it is traced
        options["bias"] = _validation.vector(options["bias"], "bias", size=y.shape[0])
    x_sharded, _ = shard_rows(x, mesh)

    def local(rows, candidates):
        return distances.nearest(rows, candidates, metric, **options)

    result = jax.jit(map_rows(local, mesh))(x_sharded, replicate(y, mesh))
    n = x.shape[0]
    return tuple(part[:n] for part in result)
