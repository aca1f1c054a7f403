"""pairwise / nearest against scipy's cdist and a plain numpy BLAS formulation.

Fashion-MNIST test images (queries) against the 60,000 training images, pixels in
[0, 1]. scipy's cdist is a C loop (no BLAS), so at 10,000 x 60,000 a single call takes
minutes; it runs on ``--slow_queries`` queries and the comparison is per query (the
work is linear in the number of queries). For ``nearest`` the references run chunked
(cdist or the BLAS formula on blocks of queries, then argmin), as a user would.

    python -m benchmarks.distances [--queries 10000] [--slow_queries 1000] [--repeat 3]
"""

from __future__ import annotations

import jax
import numpy as np
from scipy.spatial.distance import cdist

from benchmarks import runner
from jaxselforg import data, distances


def numpy_sqeuclidean(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """|x|^2 + |y|^2 - 2 x y^T with one BLAS matrix product (float32)."""
    return np.maximum((x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * (x @ y.T), 0.0)


def numpy_nearest(x: np.ndarray, y: np.ndarray, chunk: int = 1000):
    """Chunked BLAS nearest neighbour: argmin of the squared distances per query block."""
    index, dist = [], []
    y_norms = (y * y).sum(1)
    for start in range(0, x.shape[0], chunk):
        block = x[start:start + chunk]
        sq = (block * block).sum(1)[:, None] + y_norms[None, :] - 2.0 * (block @ y.T)
        j = sq.argmin(1)
        index.append(j)
        dist.append(np.sqrt(np.maximum(sq[np.arange(len(j)), j], 0.0)))
    return np.concatenate(index), np.concatenate(dist)


def cdist_nearest(x: np.ndarray, y: np.ndarray, metric: str, chunk: int = 500):
    index = []
    for start in range(0, x.shape[0], chunk):
        index.append(cdist(x[start:start + chunk], y, metric).argmin(1))
    return np.concatenate(index)


def main(argv=None):
    parser = runner.parser(__doc__)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--slow_queries", type=int, default=1_000)
    args = parser.parse_args(argv)

    train, _ = data.load("fashion_mnist", "train")
    test, _ = data.load("fashion_mnist", "test")
    y = np.asarray(data.flatten(data.to_unit_range(train)))
    x_all = np.asarray(data.flatten(data.to_unit_range(test)))[: args.queries]
    x_slow = x_all[: args.slow_queries]
    y_device = jax.device_put(y)
    x_device, x_slow_device = jax.device_put(x_all), jax.device_put(x_slow)
    n, n_slow, r = len(x_all), len(x_slow), args.repeat
    print(runner.machine())

    t = []
    task = f"pairwise euclidean, {n_slow:,} x 60,000"
    t.append(runner.time_call(task, "jaxselforg", lambda: distances.pairwise(
        x_slow_device, y_device), work=n_slow, repeat=r))
    t.append(runner.time_call(task, "numpy BLAS", lambda: np.sqrt(numpy_sqeuclidean(x_slow, y)),
                              work=n_slow, repeat=r, warmup=False))
    t.append(runner.time_call(task, "scipy cdist", lambda: cdist(x_slow, y, "euclidean"),
                              work=n_slow, repeat=r, warmup=False))

    task = f"pairwise manhattan, {n_slow:,} x 60,000"
    t.append(runner.time_call(task, "jaxselforg", lambda: distances.pairwise(
        x_slow_device, y_device, "manhattan"), work=n_slow, repeat=r))
    t.append(runner.time_call(task, "scipy cdist", lambda: cdist(x_slow, y, "cityblock"),
                              work=n_slow, repeat=r, warmup=False))

    task = "nearest euclidean, queries x 60,000"
    t.append(runner.time_call(task, "jaxselforg", lambda: distances.nearest(
        x_device, y_device), work=n, repeat=r))
    t.append(runner.time_call(task, "numpy BLAS (chunked)", lambda: numpy_nearest(x_all, y),
                              work=n, repeat=r, warmup=False))
    t.append(runner.time_call(task, "scipy cdist", lambda: cdist_nearest(
        x_slow, y, "euclidean"), work=n_slow, repeat=r, warmup=False))

    task = "nearest manhattan, queries x 60,000"
    t.append(runner.time_call(task, "jaxselforg", lambda: distances.nearest(
        x_slow_device, y_device, "manhattan"), work=n_slow, repeat=r))
    t.append(runner.time_call(task, "scipy cdist", lambda: cdist_nearest(
        x_slow, y, "cityblock"), work=n_slow, repeat=r, warmup=False))

    runner.print_tables((t, "scipy cdist", "queries"))
    if args.json:
        runner.save(t, args.json)


if __name__ == "__main__":
    main()
