"""k-means and EM iterations against scikit-learn, on Fashion-MNIST train (60000 x 784).

Per-iteration times are differences, (T(1 + n) - T(1)) / n, of whole fits from the
same initial centres with the convergence test disabled (``tol=0``): both libraries
pay their set-up (validation, centring, norms) and final assignment once, and only
the iterations remain.

    python -m benchmarks.cluster [--rows 60000] [--iterations 10] [--repeat 3]

The EM rows start both libraries from the same weights, means and precisions.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from benchmarks import runner
from jaxselforg import cluster, data, mixture


def main(argv=None):
    parser = runner.parser(__doc__)
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--pca", type=int, default=100)
    parser.add_argument("--full_iterations", type=int, default=2,
                        help="EM iterations timed for full covariances on 784 pixels (slow)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    images, _ = data.load("fashion_mnist", "train")
    x = np.asarray(data.flatten(data.to_unit_range(images[: args.rows])))
    x_device = jax.device_put(x)
    init = x[np.random.default_rng(0).choice(len(x), args.k, replace=False)]
    print(runner.machine())
    timings = []

    task = f"k-means iteration, {len(x):,} x 784, k={args.k}"
    timings.append(runner.per_iteration(task, "jaxselforg", lambda n: cluster.kmeans(
        x_device, args.k, key=jax.random.key(0), init=init, tol=0.0, max_iter=n).centers,
        args.iterations, args.repeat))
    for algorithm in ("lloyd", "elkan"):
        timings.append(runner.per_iteration(task, f"sklearn KMeans ({algorithm})", lambda n: KMeans(
            args.k, init=init, n_init=1, max_iter=n, tol=0.0, algorithm=algorithm).fit(x),
            args.iterations, args.repeat))
    matmul = jax.jit(lambda a, c: jnp.matmul(a, c.T, precision=jax.lax.Precision.HIGHEST))
    centers = jax.device_put(init)
    timings.append(runner.time_call(task, "x @ centres^T alone (JAX)",
                                    lambda: matmul(x_device, centers), repeat=5))

    task = f"k-means n_init=8, {len(x):,} x 784, k={args.k}, 20 iterations"
    timings.append(runner.time_call(task, "jaxselforg, 8 restarts vmapped", lambda: cluster.kmeans(
        x_device, args.k, key=jax.random.key(0), init="random", n_init=8, tol=0.0,
        max_iter=20).centers, repeat=args.repeat))
    keys = jax.random.split(jax.random.key(0), 8)
    timings.append(runner.time_call(task, "jaxselforg, 8 sequential fits", lambda: [
        cluster.kmeans(x_device, args.k, key=key, init="random", tol=0.0, max_iter=20).centers
        for key in keys], repeat=args.repeat))

    em_timings = []
    pca = data.pca(x_device, args.pca)
    x_pca = np.asarray(data.pca_project(x_device, pca))
    cases = [("diag", "784 pixels", x, args.iterations, args.repeat),
             ("full", f"PCA-{args.pca}", x_pca, args.iterations, args.repeat),
             ("full", "784 pixels", x, args.full_iterations, 1)]
    for covariance_type, space, features, iterations, repeat in cases:
        d = features.shape[1]
        start = dict(weights_init=np.full(args.k, 1.0 / args.k),
                     means_init=features[np.random.default_rng(0).choice(len(x), args.k, False)],
                     precisions_init=(np.ones((args.k, d)) if covariance_type == "diag"
                                      else np.tile(np.eye(d), (args.k, 1, 1))))
        device_features = jax.device_put(features)
        task = f"Gaussian EM iteration, {covariance_type}, {space}, {len(x):,} rows, k={args.k}"
        em_timings.append(runner.per_iteration(task, "jaxselforg", lambda n: mixture.gaussian_mixture(
            device_features, args.k, key=jax.random.key(0), covariance_type=covariance_type,
            tol=0.0, max_iter=n, reg_covar=1e-3, **start).log_likelihood, iterations, repeat))
        em_timings.append(runner.per_iteration(task, "sklearn GaussianMixture", lambda n: GaussianMixture(
            args.k, covariance_type=covariance_type, tol=0.0, max_iter=n, reg_covar=1e-3,
            **start).fit(features), iterations, repeat))

    runner.print_tables((timings[:4], "sklearn KMeans (lloyd)", "iterations"),
                        (timings[4:], "jaxselforg, 8 sequential fits", "runs"),
                        (em_timings, "sklearn GaussianMixture", "iterations"))
    timings += em_timings
    if args.json:
        runner.save(timings, args.json)


if __name__ == "__main__":
    main()
