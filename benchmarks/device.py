"""The headline benchmarks on whatever device JAX finds, in one prepared run.

For a GPU or TPU session with little time: nearest-prototype search, a k-means fit and
iteration, a Gaussian EM iteration, a batch-SOM epoch, an RBM epoch, VAE (MLP and
convolutional), GAN (DCGAN), SimCLR and VGG-style CNN classifier epochs, each as the
family benchmark times it (``benchmarks/<family>.py``: the same library calls and
settings, the same ``runner`` warm-up and median; the VAE, GAN, SimCLR and classifier
fits are those modules' ``ours_fit``), at sizes meant to finish in under 5 minutes on
one accelerator. Only our side runs (the reference libraries are CPU-only). The result
is a markdown table headed by the device (``jax.devices()[0].device_kind``), printed and
written to ``--out``.

    python -m benchmarks.device [--out device.md] [--json device.json]
    python -m benchmarks.device --quick   # small sizes: a minute or two on a laptop CPU

Importing the VAE, GAN, SimCLR and classifier benchmarks needs PyTorch
(``pip install -e .[bench]``).
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import time

import jax
import numpy as np

from benchmarks import classify as classify_benchmark
from benchmarks import contrastive as contrastive_benchmark
from benchmarks import gan as gan_benchmark
from benchmarks import runner
from benchmarks import vae as vae_benchmark
from jaxselforg import cluster, data, distances, mixture, rbm, som


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Rows (images) per benchmark, and the runner's repeats and iterations."""

    queries: int = 10_000
    candidates: int = 60_000
    kmeans_rows: int = 60_000
    k: int = 10
    iterations: int = 10
    gmm_rows: int = 60_000
    som_rows: int = 60_000
    som_epochs: int = 5
    rbm_rows: int = 60_000
    rbm_hidden: int = 500
    vae_rows: int = 60_000
    conv_rows: int = 20_000
    gan_rows: int = 8_192
    simclr_rows: int = 5_120
    classifier_rows: int = 20_000
    epochs: int = 2
    repeat: int = 3  # the classical methods' timed calls
    train_repeat: int = 3  # the VAE, GAN, SimCLR and classifier fits'


QUICK = Sizes(queries=1_000, candidates=5_000, kmeans_rows=5_000, iterations=10, gmm_rows=2_000,
              som_rows=2_000, som_epochs=2, rbm_rows=2_000, rbm_hidden=100, vae_rows=2_048,
              conv_rows=512, gan_rows=256, simclr_rows=512, classifier_rows=512, epochs=1,
              repeat=3, train_repeat=1)


def measure(sizes: Sizes) -> list[runner.Timing]:
    """Every headline timing at ``sizes``, in the order of the table."""
    images, labels = data.load("fashion_mnist", "train")
    unit = np.asarray(data.to_unit_range(images))
    pixels = unit.reshape(len(unit), -1)
    key = jax.random.key(0)
    r, n_iter = sizes.repeat, sizes.iterations
    timings = []

    x = jax.device_put(pixels[: sizes.queries])
    y = jax.device_put(pixels[: sizes.candidates])
    timings.append(runner.time_call(
        f"nearest euclidean, {sizes.queries:,} queries x {sizes.candidates:,}", "jaxselforg",
        lambda: distances.nearest(x, y), work=sizes.queries, repeat=r))

    x = jax.device_put(pixels[: sizes.kmeans_rows])
    init = pixels[np.random.default_rng(0).choice(sizes.kmeans_rows, sizes.k, replace=False)]
    timings.append(runner.per_iteration(
        f"k-means (Lloyd) iteration, {sizes.kmeans_rows:,} x 784, k={sizes.k}", "jaxselforg",
        lambda n: cluster.kmeans(x, sizes.k, key=key, init=init, tol=0.0, max_iter=n,
                                 algorithm="lloyd").centers, n_iter, r))
    timings.append(runner.time_call(
        f"k-means fit (Elkan's bounds, to convergence), {sizes.kmeans_rows:,} x 784, "
        f"k={sizes.k}", "jaxselforg", lambda: cluster.kmeans(
            x, sizes.k, key=key, init=init, tol=0.0, algorithm="elkan").centers, repeat=r))
    timings.append(runner.time_call(
        f"k-means fit (defaults, k-means++), {sizes.kmeans_rows:,} x 784, k={sizes.k}",
        "jaxselforg", lambda: cluster.kmeans(x, sizes.k, key=key).centers, repeat=r))

    x = jax.device_put(pixels[: sizes.gmm_rows])
    start = {"weights_init": np.full(sizes.k, 1.0 / sizes.k),
             "means_init": pixels[np.random.default_rng(0).choice(sizes.gmm_rows, sizes.k,
                                                                  False)],
             "precisions_init": np.ones((sizes.k, 784))}
    timings.append(runner.per_iteration(
        f"Gaussian EM iteration, diag, {sizes.gmm_rows:,} x 784, k={sizes.k}", "jaxselforg",
        lambda n: mixture.gaussian_mixture(x, sizes.k, key=key, covariance_type="diag", tol=0.0,
                                           max_iter=n, reg_covar=1e-3, **start).log_likelihood,
        n_iter, r))

    x = jax.device_put(pixels[: sizes.som_rows])
    timings.append(runner.per_iteration(
        f"batch SOM epoch, {sizes.som_rows:,} x 784, 10x10 map", "jaxselforg",
        lambda n: som.train(x, (10, 10), key=key, mode="batch", epochs=n).weights,
        sizes.som_epochs, r))

    mnist, _ = data.load("mnist", "train")
    binary = np.asarray(data.binarize(data.flatten(data.to_unit_range(mnist[: sizes.rbm_rows]))))
    x = jax.device_put(binary)
    timings.append(runner.per_iteration(
        f"RBM epoch (PCD-1), {sizes.rbm_rows:,} x 784, {sizes.rbm_hidden} hidden, batch 100",
        "jaxselforg", lambda n: rbm.fit(
            x, sizes.rbm_hidden, key=key, epochs=n, batch_size=100, learning_rate=0.01,
            schedule="constant", momentum=0.0, final_momentum=0.0, weight_decay=0.0,
            monitor_size=1, persistent=True).params, sizes.epochs, r))

    for name, rows, settings in [
            ("VAE epoch, MLP 784-512-20", sizes.vae_rows,
             {"architecture": "mlp", "latent_dim": 20}),
            ("VAE epoch, conv (Keras example), latent 16", sizes.conv_rows,
             {"architecture": "conv", "latent_dim": 16})]:
        x = jax.device_put(unit[:rows])
        timings.append(runner.per_image(runner.per_iteration(
            f"{name}, {rows:,} images, batch {vae_benchmark.BATCH}", "jaxselforg",
            lambda n, x=x, s=settings: vae_benchmark.ours_fit(x, n, key=key, **s),
            sizes.epochs, sizes.train_repeat), rows))

    x = jax.device_put(unit[: sizes.gan_rows])
    used = gan_benchmark.used(sizes.gan_rows)
    timings.append(runner.per_image(runner.per_iteration(
        f"GAN epoch, DCGAN G (64, 64), D (32, 64), {used:,} images, batch "
        f"{gan_benchmark.BATCH}", "jaxselforg", lambda n: gan_benchmark.ours_fit(
            x, n, key=key, architecture="dcgan", generator_widths=(64, 64),
            discriminator_widths=(32, 64)), sizes.epochs, sizes.train_repeat), used))

    x = jax.device_put(unit[: sizes.simclr_rows])
    timings.append(runner.per_image(runner.per_iteration(
        f"SimCLR epoch (views included), {sizes.simclr_rows:,} images, batch "
        f"{contrastive_benchmark.BATCH}", "jaxselforg",
        lambda n: contrastive_benchmark.ours_fit(x, n, key=key), sizes.epochs,
        sizes.train_repeat),
        sizes.simclr_rows))

    rows = sizes.classifier_rows
    x, y = jax.device_put(unit[:rows]), jax.device_put(np.asarray(labels[:rows], np.int32))
    timings.append(runner.per_image(runner.per_iteration(
        f"CNN classifier epoch, VGG-style, shift+flip, {rows:,} images, batch "
        f"{classify_benchmark.BATCH}", "jaxselforg", lambda n: classify_benchmark.ours_fit(
            x, y, n, key=key, **classify_benchmark.SETTINGS["VGG-style CNN"]).state,
        sizes.epochs, sizes.train_repeat), rows))
    return timings


def report(timings: list[runner.Timing], seconds: float, quick: bool) -> str:
    """The markdown section: the device, the machine line, the table."""
    device = jax.devices()[0]
    title = (f"## Headline benchmarks on {device.device_kind} ({device.platform}, "
             f"{jax.device_count()} device(s)){' (--quick sizes)' if quick else ''}")
    units = ("Units per call: queries (nearest), iterations or fits (k-means, EM, SOM, RBM), "
             "training images (VAE, GAN, SimCLR, classifier epochs). Warm-up is the first "
             "call's excess over the median (tracing and compilation).")
    return "\n".join([title, "", runner.machine() + f"; whole run {seconds:.0f} s", "",
                      runner.table(timings, reference=None, units="units"), "", units])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CPU smoke run)")
    parser.add_argument("--out", default="device.md", help="the markdown table")
    parser.add_argument("--json", default=None, help="also write raw timings here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(runner.machine(), flush=True)
    timings = measure(QUICK if args.quick else Sizes())
    text = report(timings, time.perf_counter() - started, args.quick)
    print("\n" + text)
    pathlib.Path(args.out).write_text(text + "\n")
    if args.json:
        runner.save(timings, args.json)


if __name__ == "__main__":
    main()
