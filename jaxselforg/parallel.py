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

    jax.distributed.initialize()                     # before any other JAX call
    mesh = parallel.data_mesh()                      # spans the devices of all hosts
    x = parallel.host_local_rows(my_rows, mesh)      # each process passes its own rows
    stats = parallel.sum_rows(statistics_fn, mesh)(x, mask, params)

Each process then holds only its own rows; reductions with :func:`sum_rows` are
global. Row counts per process must be equal (pad and mask otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jax.typing import ArrayLike

from jaxselforg import _validation, distances

__all__ = [
    "AXIS",
    "data_mesh",
    "shard_rows",
    "replicate",
    "host_local_rows",
    "map_rows",
    "sum_rows",
    "nearest",
]

AXIS = "data"


def data_mesh(devices: Sequence[jax.Device] | None = None, axis_name: str = AXIS) -> Mesh:
    """A 1-D mesh over ``devices`` (default: every device of every process)."""
    devices = jax.devices() if devices is None else list(devices)
    if not devices:
        raise ValueError("data_mesh needs at least one device.")
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


def host_local_rows(local_rows: ArrayLike, mesh: Mesh) -> jax.Array:
    """Builds a global row-sharded array from each process's own rows (multi-host).

    Every process calls this with its own ``[n_local, ...]`` block (equal sizes);
    the result is one global array of ``n_local * process_count`` rows. In a single
    process it is the same as :func:`shard_rows` without padding.
    """
    sharding = NamedSharding(mesh, PartitionSpec(_axis(mesh)))
    return jax.make_array_from_process_local_data(sharding, jnp.asarray(local_rows))


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
