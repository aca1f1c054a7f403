"""Kohonen self-organizing maps (lecture section 7): the development of a map over 2-D
data, and a 20x20 map of Fashion-MNIST (prototypes, U-matrix, hits, labels), online
against batch, next to MiniSom.

    python -m experiments.som [--quick] [--n_train 60000] [--epochs 30] [--grid 20 20]
"""

from __future__ import annotations

import dataclasses

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from experiments import harness
from jaxselforg import data, som, viz

TITLE = "Kohonen self-organizing maps"


@dataclasses.dataclass
class Config:
    """2-D development figures, then the Fashion-MNIST map scored on the test set."""

    seed: int = 0
    toy_points: int = 2000
    toy_grid: tuple[int, ...] = (10, 10)
    toy_epochs: tuple[int, ...] = (0, 10, 20, 30)
    chain_units: int = 50
    dataset: str = "fashion_mnist"
    n_train: int = 60_000
    grid: tuple[int, ...] = (20, 20)
    epochs: int = 30
    online_epochs: int = 10
    minisom_reference: bool = True
    minisom_epochs: int = 1


QUICK = {"toy_points": 1000, "n_train": 5_000, "epochs": 10, "online_epochs": 3,
         "grid": (12, 12), "minisom_epochs": 1}


def _draw_map(ax, weights, points, title):
    """Points in grey; prototypes joined to their grid neighbours (rows and columns)."""
    ax.scatter(points[:, 0], points[:, 1], s=2, color="0.75")
    w = np.asarray(weights)
    for line in w:  # along each row
        ax.plot(line[:, 0], line[:, 1], color="tab:blue", lw=0.8)
    for line in w.transpose(1, 0, 2):  # along each column
        ax.plot(line[:, 0], line[:, 1], color="tab:blue", lw=0.8)
    ax.scatter(w[..., 0], w[..., 1], s=6, color="tab:red", zorder=3)
    ax.set_title(title, fontsize=9)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def development_figure(config: Config, run: harness.Run):
    """The lecture's picture: online maps unfolding over a square and a ring; a chain."""
    key = jax.random.key(config.seed)
    shapes = {"uniform square": data.uniform_square(key, config.toy_points),
              "ring": data.ring(key, config.toy_points)}
    last = max(config.toy_epochs)
    rows = []
    fig, axes = plt.subplots(len(shapes) + 1, len(config.toy_epochs),
                             figsize=(3 * len(config.toy_epochs), 3 * (len(shapes) + 1)))
    for r, (name, points) in enumerate(shapes.items()):
        result = som.train(points, config.toy_grid, key=key, mode="online", epochs=last,
                           init="uniform", record_weights=True,
                           learning_rate=0.5, sigma=max(config.toy_grid) / 2)
        initial = som.initial_weights(points, config.toy_grid, key=jax.random.split(key)[0],
                                      init="uniform")
        for c, epoch in enumerate(config.toy_epochs):
            weights = initial if epoch == 0 else result.history["weights"][epoch - 1]
            _draw_map(axes[r, c], weights, np.asarray(points), f"{name}: epoch {epoch}")
        rows.append((f"{config.toy_grid[0]}x{config.toy_grid[1]} map, {name}",
                     float(result.quantization_error), float(result.topographic_error)))
    square = shapes["uniform square"]
    chain = som.train(square, (config.chain_units,), key=key, mode="online", epochs=last,
                      init="uniform", record_weights=True, learning_rate=0.5,
                      sigma=config.chain_units / 2)
    chain_initial = som.initial_weights(square, (config.chain_units,),
                                        key=jax.random.split(key)[0], init="uniform")
    for c, epoch in enumerate(config.toy_epochs):
        weights = chain_initial if epoch == 0 else chain.history["weights"][epoch - 1]
        _draw_map(axes[-1, c], weights, np.asarray(square),
                  f"{config.chain_units}-unit chain: epoch {epoch}")
    rows.append((f"{config.chain_units}-unit chain, uniform square",
                 float(chain.quantization_error), float(chain.topographic_error)))
    fig.suptitle("Development of the map (online training; grid neighbours joined)")
    fig.tight_layout()
    run.figure(fig, "development", "Maps unfolding over a uniform square and a ring, and a "
               "1-D chain filling the square, after 0, 10, 20 and 30 epochs")
    run.table(("map", "final QE", "final TE"), rows,
              caption="The 2-D maps at the end of training (training data):")


def _minisom(config, x, init_weights, epochs):
    """MiniSom with our settings: gaussian, sigma0 = half the grid, PCA start, online."""
    from minisom import MiniSom

    rows, cols = config.grid
    reference = MiniSom(rows, cols, x.shape[1], sigma=max(rows, cols) / 2, learning_rate=0.5,
                        neighborhood_function="gaussian", random_seed=config.seed)
    reference._weights = np.array(init_weights, dtype=np.float64)
    reference.train(x, epochs * len(x), random_order=True)
    return reference.get_weights().astype(np.float32)


def fashion_map(config: Config, run: harness.Run) -> dict:
    images, labels = data.load(config.dataset, "train")
    test_images, test_labels = data.load(config.dataset, "test")
    x = data.flatten(data.to_unit_range(images[: config.n_train]))
    y = np.asarray(labels[: config.n_train])
    x_test = data.flatten(data.to_unit_range(test_images))
    y_test = np.asarray(test_labels)
    key = jax.random.key(config.seed)
    rows, cols = config.grid

    fits = {}
    fits["batch map (jaxselforg)"], batch_s = harness.timed(lambda: som.train(
        x, config.grid, key=key, mode="batch", epochs=config.epochs))
    fits["online, asymptotic decay (jaxselforg)"], online_s = harness.timed(lambda: som.train(
        x, config.grid, key=key, mode="online", epochs=config.online_epochs,
        sigma_schedule="asymptotic", learning_rate_schedule="asymptotic"))
    seconds = {"batch map (jaxselforg)": batch_s,
               "online, asymptotic decay (jaxselforg)": online_s}
    epochs_of = {"batch map (jaxselforg)": config.epochs,
                 "online, asymptotic decay (jaxselforg)": config.online_epochs}
    weights = {name: fit.weights for name, fit in fits.items()}
    if config.minisom_reference:
        start = som.initial_weights(x, config.grid, key=jax.random.split(key)[0], init="pca")
        name = "online, asymptotic decay (MiniSom)"
        weights[name], seconds[name] = harness.timed(lambda: _minisom(
            config, np.asarray(x), np.asarray(start), config.minisom_epochs))
        epochs_of[name] = config.minisom_epochs

    table, summary = [], {}
    for name, w in weights.items():
        unit_labels = som.winner_labels_classifier(w, x, y, n_classes=10)
        accuracy = float(np.mean(np.asarray(som.predict_labels(w, unit_labels, x_test)) == y_test))
        qe = float(som.quantization_error(x_test, w))
        te = float(som.topographic_error(w, x_test))
        table.append((name, epochs_of[name], qe, te, accuracy, round(seconds[name], 1)))
        summary[name] = {"test_quantization_error": qe, "test_topographic_error": te,
                         "winner_label_accuracy": accuracy, "seconds": seconds[name]}
        run.log(section="fashion_map", method=name, **summary[name])
    run.text(
        f"A {rows}x{cols} map (rectangular, gaussian neighbourhood, PCA start, sigma0 = "
        f"{max(rows, cols) / 2:g}) trained on {x.shape[0]:,} {config.dataset} training images, "
        f"scored on the {x_test.shape[0]:,} test images: quantization error E_q (mean "
        "Euclidean distance to the winner), topographic error (share of images whose two "
        "best units are not grid neighbours) and the accuracy of labelling every image by "
        "the majority training class of its winning unit. MiniSom (the reference library; "
        "online only; its `train_batch` is the same online rule in data order) starts "
        "from the same PCA map with the same sigma0, learning rate and decay.")
    run.table(("method", "epochs", "test E_q", "test TE", "winner-label accuracy", "fit s"),
              table)

    best = fits["batch map (jaxselforg)"]
    _map_figures(config, best.weights, x, y, run)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, measure in zip(axes, ("quantization_error", "topographic_error")):
        viz.plot_curves(ax, {name: fit.history[measure] for name, fit in fits.items()},
                        ylabel=f"{measure.replace('_', ' ')} (train)")
    fig.suptitle("Online against batch training, per epoch")
    fig.tight_layout()
    run.figure(fig, "qe_te_per_epoch", "Quantization and topographic error per epoch, "
               "online against batch")
    return summary


def _map_figures(config, weights, x, y, run):
    rows, cols = config.grid
    class_names = data.CLASS_NAMES[config.dataset]
    mosaic = viz.image_grid(np.asarray(weights).reshape(rows * cols, 28, 28), n_cols=cols,
                            pad=1)
    fig, ax = plt.subplots(figsize=(9, 9))
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=1)
    ax.axis("off")
    ax.set_title(f"Prototypes of the {rows}x{cols} batch map")
    run.figure(fig, "prototypes", "Every unit's prototype, in grid order")

    fig = viz.som_maps_figure(som.u_matrix(weights), som.hit_map(weights, x),
                              som.label_map(weights, x, y, n_classes=10), class_names)
    run.figure(fig, "u_matrix_hits_labels", "U-matrix, hit map and label map of the batch map")


def run(config: Config, run: harness.Run) -> dict:
    development_figure(config, run)
    return {"fashion_map": fashion_map(config, run), "grid": list(config.grid)}


if __name__ == "__main__":
    harness.main(__name__)
