"""k-means and EM iterations against scikit-learn, on Fashion-MNIST train (60000 x 784).

Per-iteration times are differences, (T(1 + n) - T(1)) / n, of whole fits from the
same initial centres with the convergence test disabled (``tol=0``): both libraries
pay their set-up (validation, centring, norms) and final assignment once, and only
the iterations remain.

    python -m benchmarks.cluster [--rows 60000] [--iterations 10] [--repeat 3]
    python -m benchmarks.cluster --fits [--rows 60000] [--repeat 3]

The EM rows start both libraries from the same weights, means and precisions.

``--fits`` times whole k-means fits to convergence instead, for k = 10 and 100:
from the same k-means++ centres (scikit-learn's, so both start alike) and run until
no label changes (``tol=0`` in both: their default tolerances differ, ours an
absolute centre shift, scikit-learn's relative to the data's variance), ours with
Elkan's bounds (the default's choice at this size) and Lloyd's plain loop against
scikit-learn's ``lloyd`` and ``elkan``, with iterations and inertia; each library's
k-means++ seeding alone; and each library's whole default fit (its own seeding and
tolerance), beside the memory-bandwidth floor of one pass over x.
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
from jaxselforg import cluster, data, distances, mixture
from jaxselforg.cluster import _seeding


def fits(x, repeat):
    """Whole k-means fits to convergence (``--fits``): timings and a quality table."""
    from sklearn.cluster import kmeans_plusplus

    x_device = jax.device_put(x)
    timings, quality = [], []
    one_pass = jax.jit(jnp.sum)
    timings.append(runner.time_call("one pass over x (memory floor)", "JAX sum(x)",
                                    lambda: one_pass(x_device), repeat=10))
    timings.append(runner.time_call("one pass over x (memory floor)", "numpy sum(x)",
                                    lambda: x.sum(), repeat=10))
    weights = jnp.ones(len(x), x.dtype)

    def time_and_score(task, k, runs):
        """Times every fit of ``runs`` and notes its iterations and inertia."""
        for name, fit in runs.items():
            timings.append(runner.time_call(task, name, fit, repeat=repeat))
            result = fit()
            ours = name.startswith("jaxselforg")
            quality.append((k, name, int(result.n_iter if ours else result.n_iter_),
                            float(result.inertia if ours else result.inertia_)))

    for k in (10, 100):
        init, _ = kmeans_plusplus(x, k, random_state=0)
        task = f"k-means to convergence from the same k-means++ centres, {len(x):,} x 784, k={k}"
        runs = {f"jaxselforg ({a})": lambda a=a: cluster.kmeans(
            x_device, k, key=jax.random.key(0), init=init, algorithm=a, tol=0.0)
            for a in ("elkan", "lloyd")}
        runs |= {f"sklearn KMeans ({a})": lambda a=a: KMeans(
            k, init=init, n_init=1, algorithm=a, tol=0.0).fit(x) for a in ("lloyd", "elkan")}
        time_and_score(task, k, runs)
        task = f"k-means++ seeding, {len(x):,} x 784, k={k}"
        # As the fit seeds: on the centred data, |x|^2 once (``kmeans._fit``).
        centred = x_device - jnp.mean(x_device, axis=0)
        centred_sq = jnp.sum(centred * centred, axis=1)
        seed = jax.jit(lambda key, rows, rows_sq, k=k: _seeding.kmeans_plusplus(
            key, rows, k, weights, lambda a, b: distances.scaled_sqeuclidean(a, b, rows_sq)))
        timings.append(runner.time_call(task, "jaxselforg", lambda: seed(
            jax.random.key(0), centred, centred_sq), repeat=repeat))
        timings.append(runner.time_call(task, "sklearn kmeans_plusplus",
                                        lambda k=k: kmeans_plusplus(x, k, random_state=0),
                                        repeat=repeat))
        task = f"k-means default fit (own k-means++), {len(x):,} x 784, k={k}"
        time_and_score(task, k, {
            "jaxselforg (defaults)": lambda k=k: cluster.kmeans(x_device, k, key=jax.random.key(0)),
            "sklearn KMeans (defaults)": lambda k=k: KMeans(k, random_state=0).fit(x)})
    runner.print_tables((timings[:2], None, "passes"),
                        ([t for t in timings[2:] if "same" in t.task], "sklearn KMeans (elkan)",
                         "fits"),
                        ([t for t in timings[2:] if "same" not in t.task], None, "fits"))
    print("\n| k | implementation | iterations | inertia |\n|---|---|---|---|")
    for k, name, n_iter, inertia in quality:
        print(f"| {k} | {name} | {n_iter} | {inertia:,.1f} |")
    return timings


def main(argv=None):
    parser = runner.parser(__doc__, rows=60_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--pca", type=int, default=100)
    parser.add_argument("--full_iterations", type=int, default=2,
                        help="EM iterations timed for full covariances on 784 pixels (slow)")
    parser.add_argument("--fits", action="store_true",
                        help="whole k-means fits to convergence (module docstring)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    images, _ = data.load("fashion_mnist", "train")
    x = np.asarray(data.flatten(data.to_unit_range(images[: args.rows])))
    if args.fits:
        timings = fits(x, args.repeat)
        if args.json:
            runner.save(timings, args.json)
        return
    x_device = jax.device_put(x)
    init = x[np.random.default_rng(0).choice(len(x), args.k, replace=False)]
    print(runner.machine())
    timings = []

    task = f"k-means iteration, {len(x):,} x 784, k={args.k}"
    for algorithm in ("lloyd", "elkan"):
        timings.append(runner.per_iteration(
            task, f"jaxselforg ({algorithm})", lambda n, a=algorithm: cluster.kmeans(
                x_device, args.k, key=jax.random.key(0), init=init, tol=0.0, max_iter=n,
                algorithm=a).centers, args.iterations, args.repeat))
    for algorithm in ("lloyd", "elkan"):
        timings.append(runner.per_iteration(task, f"sklearn KMeans ({algorithm})", lambda n: KMeans(
            args.k, init=init, n_init=1, max_iter=n, tol=0.0, algorithm=algorithm).fit(x),
            args.iterations, args.repeat))
    matmul = jax.jit(lambda a, c: jnp.matmul(a, c.T, precision=jax.lax.Precision.HIGHEST))
    centers = jax.device_put(init)
    timings.append(runner.time_call(task, "x @ centres^T alone (JAX)",
                                    lambda: matmul(x_device, centers), repeat=5))

    task = f"k-means n_init=8, {len(x):,} x 784, k={args.k}, 20 iterations (Lloyd)"
    timings.append(runner.time_call(task, "jaxselforg, 8 restarts vmapped", lambda: cluster.kmeans(
        x_device, args.k, key=jax.random.key(0), init="random", n_init=8, tol=0.0,
        max_iter=20, algorithm="lloyd").centers, repeat=args.repeat))
    keys = jax.random.split(jax.random.key(0), 8)
    timings.append(runner.time_call(task, "jaxselforg, 8 sequential fits", lambda: [
        cluster.kmeans(x_device, args.k, key=key, init="random", tol=0.0, max_iter=20,
                       algorithm="lloyd").centers for key in keys], repeat=args.repeat))

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

    runner.print_tables((timings[:5], "sklearn KMeans (lloyd)", "iterations"),
                        (timings[5:], "jaxselforg, 8 sequential fits", "runs"),
                        (em_timings, "sklearn GaussianMixture", "iterations"))
    timings += em_timings
    if args.json:
        runner.save(timings, args.json)


if __name__ == "__main__":
    main()
