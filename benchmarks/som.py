"""Self-organizing map epochs, quality measures and sweeps against MiniSom, on
Fashion-MNIST train (60000 x 784) with a 10x10 map.

Per-epoch times are differences of whole trainings, (T(1 + n) - T(1)) / n epochs,
from the same PCA start, so set-up cancels. MiniSom's ``train`` visits
``num_iteration`` samples (one epoch = n iterations, random order); its
``train_batch`` is the same online rule in data order (it has no batch map).

    python -m benchmarks.som [--rows 60000] [--grid 10 10] [--epochs 2] [--repeat 3]
"""

from __future__ import annotations

import jax
import numpy as np
from minisom import MiniSom

from benchmarks import runner
from jaxselforg import data, som


def main(argv=None):
    parser = runner.parser(__doc__, rows=60_000)
    parser.add_argument("--grid", type=int, nargs=2, default=(10, 10))
    parser.add_argument("--epochs", type=int, default=3, help="online epochs in the difference")
    parser.add_argument("--batch_epochs", type=int, default=20,
                        help="batch-map epochs in the difference (each is short)")
    parser.add_argument("--minisom_repeat", type=int, default=1)
    parser.add_argument("--sweep", type=int, default=16, help="maps in the sweep")
    args = parser.parse_args(argv)

    images, _ = data.load("fashion_mnist", "train")
    x = np.asarray(data.flatten(data.to_unit_range(images[: args.rows])))
    x_device = jax.device_put(x)
    grid = tuple(args.grid)
    key = jax.random.key(0)
    start = np.asarray(som.initial_weights(x_device, grid, key=jax.random.split(key)[0]),
                       np.float64)
    sigma = max(grid) / 2
    print(runner.machine())

    def minisom(n_epochs, method):
        reference = MiniSom(*grid, x.shape[1], sigma=sigma, learning_rate=0.5, random_seed=0)
        reference._weights = start.copy()
        if method == "train":
            reference.train(x, n_epochs * len(x), random_order=True)
        else:
            reference.train_batch(x, n_epochs * len(x))
        return reference._weights

    task = f"SOM epoch, {len(x):,} x 784, {grid[0]}x{grid[1]} map"
    timings = [
        runner.per_iteration(task, "jaxselforg batch map", lambda n: som.train(
            x_device, grid, key=key, mode="batch", epochs=n).weights,
            args.batch_epochs, args.repeat),
        runner.per_iteration(task, "jaxselforg online", lambda n: som.train(
            x_device, grid, key=key, mode="online", epochs=n).weights,
            args.epochs, args.repeat),
        runner.per_iteration(task, "MiniSom train (online)", lambda n: minisom(n, "train"),
                             1, args.minisom_repeat),
        runner.per_iteration(task, "MiniSom train_batch", lambda n: minisom(n, "train_batch"),
                             1, args.minisom_repeat),
    ]

    reference = MiniSom(*grid, x.shape[1], sigma=sigma, random_seed=0)
    reference._weights = start.copy()
    weights = jax.device_put(start.astype(np.float32))
    task = f"QE + TE over {len(x):,} images, {grid[0]}x{grid[1]} map"
    measures = [
        runner.time_call(task, "jaxselforg", lambda: (som.quantization_error(x_device, weights),
                                                      som.topographic_error(weights, x_device)),
                         repeat=args.repeat),
        runner.time_call(task, "MiniSom", lambda: (reference.quantization_error(x),
                                                   reference.topographic_error(x)),
                         repeat=args.minisom_repeat),
    ]

    sigmas = np.linspace(1.0, sigma, args.sweep // 4).astype(np.float32)
    task = f"{args.sweep} batch maps x 5 epochs ({len(sigmas)} sigma0 x 4 seeds)"
    sweeps = [
        runner.time_call(task, "jaxselforg sweep (one vmapped program)", lambda: som.sweep(
            x_device, grid, key=key, sigma=sigmas, n_seeds=4, epochs=5,
            init="random").quantization_error, repeat=args.repeat),
        runner.time_call(task, "jaxselforg, sequential train calls", lambda: [
            som.train(x_device, grid, key=k, sigma=s, epochs=5, init="random").weights
            for s in sigmas for k in jax.random.split(key, 4)], repeat=args.repeat),
    ]

    runner.print_tables((timings, "MiniSom train (online)", "epochs"),
                        (timings, "MiniSom train_batch", "epochs"),
                        (measures, "MiniSom", "evaluations"),
                        (sweeps, "jaxselforg, sequential train calls", "sweeps"))
    if args.json:
        runner.save(timings + measures + sweeps, args.json)


if __name__ == "__main__":
    main()
