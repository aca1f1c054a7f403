"""Supervised CNN training throughput against the same network in PyTorch, on-device
augmentation throughput, and the cost of the Fréchet distance against scipy, on
Fashion-MNIST.

CNN training. Both sides train the same network the same way: ``classify.CNN``, 3x3
convolutions with "SAME" padding in stages of 32 and 64 channels, each stage
``stride1_convs`` stride-1 convolutions then a stride-2 one, BatchNorm (momentum 0.9
in Flax's convention, 0.1 in PyTorch's; eps 1e-5) after every convolution but the
first, no bias on a convolution followed by BatchNorm, ReLU; flatten, dense 256, ReLU,
dropout 0.3, a linear head to 10 classes. Two settings: the default CNN
(``stride1_convs=0``, the reference CNN of ``evaluation.feature_extractor``) and the
VGG-style one (``stride1_convs=1``, the Fashion-MNIST target of
``experiments.classify``). AdamW (lr 1e-3 with cosine decay to 0 over the run, weight
decay 5e-4), batches of 128 (the remainder dropped), cross-entropy; every batch
augmented by a random shift of up to 2 pixels (zero fill) and a horizontal flip with
probability 1/2, per image. Ours is ``classify.train_classifier`` as a user calls it
(the augmentation inside the jitted step, one ``lax.scan`` per epoch); PyTorch's is the
usual eager loop with the same augmentation as one gather per batch. The two networks
have the same parameter count (checked). XLA's "SAME" pads a stride-2 convolution of
a 28-pixel side by 0 before and 1 after, PyTorch's ``padding=1`` by 1 on each side: the
same shapes and arithmetic, windows one pixel apart. Per-epoch times are differences
of whole fits, (T(1 + n) - T(1)) / n, so set-up and compilation cancel; the first call
(compilation) is reported separately as warm-up.

Augmentation. One jitted call on ``--aug_rows`` images: the classifier's pipeline
above, and SimCLR's two views (``augment.simclr_views`` of
``contrastive.simclr_augmentation((0.3, 1.0), flip=True, jitter=0.0)``: a random
resized crop and a flip with probability 1/2), against the same on PyTorch tensors
(the gather above; ``affine_grid`` + ``grid_sample`` as in ``benchmarks/contrastive.py``).

Fréchet distance. ``evaluation.frechet_distance`` (float64, eigenvalues of
S_a^(1/2) S_b S_a^(1/2)) against the pytorch-fid formula in numpy/scipy (float64,
``scipy.linalg.sqrtm(S_a S_b)``) on two ``[--fcd_rows, 256]`` feature sets: the
penultimate features of the default CNN (trained one epoch on ``--rows`` images) for
training images against test images, and Gaussian features with a power-law spectrum.
Both values are printed (they should agree to 1e-3 relative), with our formula in numpy
without its eigenvalue floor, to tell which side a difference comes from.

    python -m benchmarks.classify [--rows 5120] [--epochs 1] [--aug_rows 60000]
                                  [--fcd_rows 10000] [--repeat 3] [--json classify.json]
    python -m benchmarks.classify --tiny   # a smoke run of about a minute

Needs PyTorch and scipy (``pip install -e .[bench]``).
"""

from __future__ import annotations

import json
import time
import warnings

import jax
import numpy as np
import scipy.linalg
import torch
from flax import nnx
from torch import nn
from torch.nn import functional as F

from benchmarks import contrastive as contrastive_benchmark
from benchmarks import runner
from jaxselforg import augment, classify, contrastive, evaluation
from jaxselforg import nn as jnn

BATCH = 128
LEARNING_RATE = 1e-3
WEIGHT_DECAY = 5e-4
MAX_SHIFT = 2
CNN = {"channels": (32, 64), "features": 256, "dropout": 0.3}
SETTINGS = {"default CNN": {**CNN, "stride1_convs": 0},
            "VGG-style CNN": {**CNN, "stride1_convs": 1}}
AUGMENTATION = augment.Compose([augment.RandomShift(MAX_SHIFT), (augment.HorizontalFlip(), 0.5)])
SIMCLR_AUGMENTATION = contrastive.simclr_augmentation((0.3, 1.0), flip=True, jitter=0.0)
TORCH = "PyTorch (eager)"
SCIPY = "numpy/scipy sqrtm (float64)"
TINY = {"rows": 512, "epochs": 2, "repeat": 1, "aug_rows": 4_096, "fcd_rows": 1_000}


class TorchCNN(nn.Module):
    def __init__(self, channels=(32, 64), features=256, dropout=0.3, stride1_convs=0,
                 n_classes=10, side=28):
        super().__init__()
        layers, width = [], 1
        for c in channels:
            for stride in [1] * stride1_convs + [2]:
                normed = bool(layers)  # every convolution but the first
                layers.append(nn.Conv2d(width, c, 3, stride=stride, padding=1, bias=not normed))
                layers += [nn.BatchNorm2d(c, momentum=0.1, eps=1e-5)] if normed else []
                layers.append(nn.ReLU())
                width = c
        side //= 2 ** len(channels)
        self.encoder = nn.Sequential(*layers, nn.Flatten(),
                                     nn.Linear(side * side * width, features), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(features, n_classes))

    def forward(self, x):
        return self.head(self.encoder(x))


def torch_shift_flip(x: torch.Tensor) -> torch.Tensor:
    """Every image of ``[n, 1, h, w]`` shifted by up to ``MAX_SHIFT`` pixels each way (zero
    fill) and then mirrored with probability 1/2: one gather from the padded batch."""
    n, _, h, w = x.shape
    m = MAX_SHIFT
    padded = F.pad(x[:, 0], (m, m, m, m))
    dy, dx = torch.randint(-m, m + 1, (2, n, 1))
    rows = torch.arange(h) + m - dy
    cols = torch.arange(w) + m - dx
    cols = torch.where(torch.rand(n, 1) < 0.5, cols.flip(1), cols)
    return padded[torch.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]][:, None]


def torch_fit(x: torch.Tensor, y: torch.Tensor, epochs: int, settings: dict,
              seed: int = 0) -> float:
    """Trains a fresh torch CNN for ``epochs`` epochs; returns the last batch loss."""
    torch.manual_seed(seed)
    model = TorchCNN(**settings)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE,
                                  weight_decay=WEIGHT_DECAY)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=epochs * (x.shape[0] // BATCH))
    loss = None
    for rows in runner.torch_batches(x.shape[0], BATCH, epochs):
        loss = F.cross_entropy(model(torch_shift_flip(x[rows])), y[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return float(loss.detach())


def ours_fit(x, y, epochs: int, *, key, **settings) -> classify.ClassifierTraining:
    return classify.train_classifier(
        x, y, key=key, architecture="cnn", epochs=epochs, batch_size=BATCH,
        learning_rate=LEARNING_RATE, weight_decay=WEIGHT_DECAY, augmentation=AUGMENTATION,
        progress=False, **settings)


def parameter_counts(settings: dict) -> tuple[int, int]:
    """Trainable parameters of ours and of PyTorch's network (BatchNorm's running
    statistics are state, not parameters, on both sides)."""
    model = nnx.eval_shape(lambda: classify.make_classifier("cnn", rngs=nnx.Rngs(0),
                                                            **settings))
    return jnn.n_parameters(model), sum(p.numel() for p in TorchCNN(**settings).parameters())


def training_timings(x_all, y_all, args, key) -> list[runner.Timing]:
    rows, timed = args.rows, runner.timing(args)
    x, y = jax.device_put(x_all[:rows]), jax.device_put(y_all[:rows])
    x_torch = torch.from_numpy(x_all[:rows, None].copy())
    y_torch = torch.from_numpy(y_all[:rows].astype(np.int64))
    timings = []
    for name, settings in SETTINGS.items():
        ours, theirs = parameter_counts(settings)
        print(f"{name}: {ours:,} parameters (jaxselforg), {theirs:,} (PyTorch)", flush=True)
        if ours != theirs:
            raise AssertionError(f"{name}: the two networks differ ({ours} vs {theirs}).")
        task = (f"CNN training epoch, {name} ({ours:,} parameters), shift+flip, {rows:,} "
                f"images, batch {BATCH}")
        timings.append(runner.per_image_epoch(
            task, "jaxselforg", lambda n, s=settings: ours_fit(x, y, n, key=key, **s).state,
            rows, **timed))
        timings.append(runner.per_image_epoch(
            task, TORCH, lambda n, s=settings: torch_fit(x_torch, y_torch, n, s), rows,
            **timed))
    return timings


def augmentation_timings(x_all, args, key) -> list[runner.Timing]:
    rows = args.aug_rows
    x = jax.device_put(x_all[:rows])
    x_torch = torch.from_numpy(x_all[:rows, None].copy())
    classifier_views = jax.jit(AUGMENTATION)
    simclr_views = jax.jit(lambda k, images: augment.simclr_views(SIMCLR_AUGMENTATION, k,
                                                                  images))
    timings = []
    task = f"classifier augmentation (shift 2 px + flip p=1/2), {rows:,} images"
    timings.append(runner.time_call(task, "jaxselforg", lambda: classifier_views(key, x),
                                    work=rows, repeat=args.repeat))
    timings.append(runner.time_call(task, TORCH, lambda: torch_shift_flip(x_torch), work=rows,
                                    repeat=args.repeat))
    task = (f"SimCLR views (resized crop (0.3, 1) + flip p=1/2), 2 per image of {rows:,} "
            f"images")
    timings.append(runner.time_call(task, "jaxselforg", lambda: simclr_views(key, x),
                                    work=2 * rows, repeat=args.repeat))
    timings.append(runner.time_call(
        task, TORCH, lambda: (contrastive_benchmark.torch_views(x_torch),
                              contrastive_benchmark.torch_views(x_torch)),
        work=2 * rows, repeat=args.repeat))
    return timings


def scipy_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """pytorch-fid's formula in float64: ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2
    sqrtm(S_a S_b)), with its retry on a matrix offset by 1e-6 I if sqrtm fails. (scipy
    warns that S_a S_b is singular when a feature is constant: counted in the report.)"""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(s_a @ s_b)
        if not np.isfinite(root).all():
            offset = 1e-6 * np.eye(len(s_a))
            root = scipy.linalg.sqrtm((s_a + offset) @ (s_b + offset))
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(s_a) + np.trace(s_b)
                 - 2.0 * np.trace(root.real))


def eigh_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Our formula in numpy float64 with every eigenvalue clipped at 0 but none floored:
    a diagnostic of which side a difference comes from (not timed)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(s_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    trace_sqrt = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ s_b @ root_a), 0.0, None)))
    return float(np.sum((a.mean(axis=0) - b.mean(axis=0)) ** 2) + np.trace(s_a) + np.trace(s_b)
                 - 2.0 * trace_sqrt)


def gaussian_features(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two ``[n, d]`` float32 sets, N(0, C_a) and N(delta, C_b), whose covariances share
    a random basis and a power-law spectrum lambda_k ~ k^-1.5 (as CNN features roughly
    do), C_b's eigenvalues perturbed by up to 20 %."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
    spectrum = np.arange(1, d + 1) ** -1.5
    scale_a = basis * np.sqrt(spectrum)
    scale_b = basis * np.sqrt(spectrum * rng.uniform(0.8, 1.2, d))
    a = rng.standard_normal((n, d)) @ scale_a.T
    b = rng.standard_normal((n, d)) @ scale_b.T + 0.02 * rng.standard_normal(d)
    return a.astype(np.float32), b.astype(np.float32)


def frechet_timings(x_all, y_all, args, key) -> tuple[list[runner.Timing], dict]:
    """Our and scipy's Fréchet distance on CNN and Gaussian features, and both values."""
    n, rows = args.fcd_rows, args.rows
    x_test, _ = runner.unit_images("fashion_mnist", "test")
    model = ours_fit(jax.device_put(x_all[:rows]), jax.device_put(y_all[:rows]), 1, key=key,
                     **SETTINGS["default CNN"]).model
    cnn = (np.asarray(classify.features(model, x_all[:n])),
           np.asarray(classify.features(model, x_test[:n])))
    timings, values = [], {}
    for name, (a, b) in [(f"CNN features (1 epoch on {rows:,} images), train vs test", cnn),
                         ("Gaussian features, power-law spectrum", gaussian_features(n, 256))]:
        task = f"Fréchet distance, {name}, 2 x [{n:,}, {a.shape[1]}]"
        dead = int(np.sum(a.std(axis=0) == 0) + np.sum(b.std(axis=0) == 0))
        timings.append(runner.time_call(task, "jaxselforg",
                                        lambda a=a, b=b: evaluation.frechet_distance(a, b),
                                        repeat=args.repeat))
        timings.append(runner.time_call(task, SCIPY, lambda a=a, b=b: scipy_frechet(a, b),
                                        repeat=args.repeat))
        ours, theirs = float(evaluation.frechet_distance(a, b)), scipy_frechet(a, b)
        relative = abs(ours - theirs) / max(abs(theirs), 1e-300)
        values[task] = {"jaxselforg": ours, "scipy": theirs, "relative_difference": relative,
                        "numpy_eigh_unfloored": eigh_frechet(a, b), "constant_features": dead}
    return timings, values


def main(argv=None):
    parser = runner.parser(__doc__, epochs=1, rows=5_120)
    parser.add_argument("--aug_rows", type=int, default=60_000, help="images augmented")
    parser.add_argument("--fcd_rows", type=int, default=10_000, help="features per set")
    parser.add_argument("--tiny", action="store_true",
                        help=f"smoke-run sizes (override the others): {TINY}")
    args = parser.parse_args(argv)
    if args.tiny:
        vars(args).update(TINY)

    started = time.perf_counter()
    x_all, y_all = runner.unit_images("fashion_mnist")
    key = jax.random.key(0)
    print(runner.machine(torch=True), flush=True)

    training = training_timings(x_all, y_all, args, key)
    augmentation = augmentation_timings(x_all, args, key)
    frechet, values = frechet_timings(x_all, y_all, args, key)

    runner.print_tables((training, TORCH, "images"), (augmentation, TORCH, "images"),
                        (frechet, SCIPY, "distances"), torch=True)
    print()
    for task, v in values.items():
        verdict = "agree" if v["relative_difference"] <= 1e-3 else "DISAGREE beyond 1e-3"
        print(f"{task}: jaxselforg {v['jaxselforg']:.7g}, scipy {v['scipy']:.7g}, relative "
              f"difference {v['relative_difference']:.1e} ({verdict}; "
              f"{v['constant_features']} constant features; our formula in numpy without the "
              f"eigenvalue floor: {v['numpy_eigh_unfloored']:.7g})")
    print(f"whole run {time.perf_counter() - started:.0f} s")
    if args.json:
        runner.save(training + augmentation + frechet, args.json)
        with open(args.json) as f:
            saved = json.load(f)
        saved["frechet_values"] = values
        with open(args.json, "w") as f:
            json.dump(saved, f, indent=2)


if __name__ == "__main__":
    main()
