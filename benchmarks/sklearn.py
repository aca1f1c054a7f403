"""The scikit-learn estimators in scikit-learn's machinery: a GridSearchCV over 8 SOM
sigmas (ours vs MiniSom in a loop) and a Pipeline fit of KMeans (ours vs
scikit-learn's), on Fashion-MNIST train rows.

The first call of each is reported separately (for ours: compilation); the estimators
compile once per shape, so the search's later fits reuse the program.

    python -m benchmarks.sklearn [--rows 10000] [--grid 10 10] [--epochs 5] [--repeat 3]
"""

from __future__ import annotations

import argparse

import numpy as np
import sklearn.cluster
from minisom import MiniSom
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks import runner
from jaxselforg import data
from jaxselforg import sklearn as jsk


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--grid", type=int, nargs=2, default=(10, 10))
    parser.add_argument("--epochs", type=int, default=5, help="online epochs per SOM fit")
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--minisom_repeat", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    images, _ = data.load("fashion_mnist", "train")
    x = np.asarray(data.flatten(data.to_unit_range(images[: args.rows])))
    grid = tuple(args.grid)
    sigmas = np.linspace(1.0, max(grid) / 2, 8).astype(np.float32)
    print(runner.machine())

    def ours_search():
        estimator = jsk.SelfOrganizingMap(
            grid,
            mode="online",
            epochs=args.epochs,
            learning_rate=0.5,
            init="random",
            random_state=0,
        )
        return GridSearchCV(estimator, {"sigma": list(sigmas)}, cv=2).fit(x).best_params_

    def minisom_loop():
        halves = np.array_split(np.arange(len(x)), 2)
        scores = []
        for sigma in sigmas:
            fold_scores = []
            for test in halves:
                train = np.setdiff1d(np.arange(len(x)), test)
                reference = MiniSom(
                    *grid, x.shape[1], sigma=float(sigma), learning_rate=0.5, random_seed=0
                )
                reference.train(x[train], args.epochs * len(train), random_order=True)
                fold_scores.append(-reference.quantization_error(x[test]))
            scores.append(np.mean(fold_scores))
        return sigmas[int(np.argmax(scores))]

    task = f"GridSearchCV, 8 sigmas x 2 folds, {len(x):,} x 784, {grid[0]}x{grid[1]} online SOM"
    searches = [
        runner.time_call(task, "jaxselforg SelfOrganizingMap", ours_search, repeat=args.repeat),
        runner.time_call(
            task, "MiniSom loop", minisom_loop, repeat=args.minisom_repeat, warmup=False
        ),
    ]

    def pipeline(kmeans):
        return make_pipeline(StandardScaler(), PCA(50), kmeans).fit(x)

    task = f"Pipeline(StandardScaler, PCA(50), KMeans({args.clusters})), {len(x):,} x 784"
    pipelines = [
        runner.time_call(
            task,
            "jaxselforg KMeans",
            lambda: pipeline(jsk.KMeans(args.clusters, random_state=0)),
            repeat=args.repeat,
        ),
        runner.time_call(
            task,
            "scikit-learn KMeans",
            lambda: pipeline(sklearn.cluster.KMeans(args.clusters, random_state=0)),
            repeat=args.repeat,
        ),
    ]

    print()
    print(runner.machine())
    print(runner.table(searches, reference="MiniSom loop", units="searches"))
    print()
    print(runner.table(pipelines, reference="scikit-learn KMeans", units="fits"))
    if args.json:
        runner.save(searches + pipelines, args.json)


if __name__ == "__main__":
    main()
