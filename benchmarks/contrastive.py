"""SimCLR training throughput against PyTorch (augmentation included), and a vmapped
temperature sweep against sequential runs, on Fashion-MNIST train.

Both sides train the same network the same way: ``contrastive.EmbeddingNet``'s encoder
(3x3 stride-2 convolutions 32/64, BatchNorm after all but the first, ReLU, a dense
layer of 128 with ReLU) and projection head (256 -> 64), two views per image of a
batch of 256 (both through the network as one batch of 512), NT-Xent at tau = 0.5 (the
mean over the 2N anchors), Adam at 1e-3. The views: a random resized crop (area in
(0.3, 1), aspect in (3/4, 4/3), bilinear, back to 28x28) and a horizontal flip with
probability 1/2 (the brightness/contrast jitter, a few elementwise operations, is off
on both sides: the numbers in BENCHMARKS.md were measured without it). Ours is
``contrastive.train_simclr`` as a user calls it, the views drawn inside the jitted step;
PyTorch's is the usual eager loop with the same crops done on tensors (``affine_grid``
+ ``grid_sample`` for the whole batch; torchvision's per-image transforms would be
slower). Per-epoch times are differences of whole fits,
(T(1 + n) - T(1)) / n, so set-up and compilation cancel.

The sweep row trains 4 temperatures (0.1, 0.2, 0.5, 1.0) as one vmapped program against
the same 4 runs one after another.

    python -m benchmarks.contrastive [--rows 5120] [--sweep_rows 2560] [--epochs 1]

Needs PyTorch (``pip install -e .[bench]``).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import torch
from torch import nn
from torch.nn import functional as F

from benchmarks import runner
from jaxselforg import contrastive

BATCH = 256
LEARNING_RATE = 1e-3
TEMPERATURE = 0.5
CHANNELS, FEATURES, HEAD = (32, 64), 128, (256, 64)


class TorchEmbeddingNet(nn.Module):
    def __init__(self):
        super().__init__()
        layers, width = [], 1
        for i, c in enumerate(CHANNELS):
            layers += [nn.Conv2d(width, c, 3, stride=2, padding=1)]
            layers += [nn.BatchNorm2d(c)] if i > 0 else []
            layers += [nn.ReLU()]
            width = c
        self.encoder = nn.Sequential(*layers, nn.Flatten(), nn.Linear(7 * 7 * width, FEATURES),
                                     nn.ReLU())
        self.head = nn.Sequential(nn.Linear(FEATURES, HEAD[0]), nn.ReLU(),
                                  nn.Linear(HEAD[0], HEAD[1]))

    def forward(self, x):
        return self.head(self.encoder(x))


def torch_views(x: torch.Tensor) -> torch.Tensor:
    """A random resized crop (and a flip with p = 1/2) of every image ``[n, 1, 28, 28]``."""
    n = x.shape[0]
    area = torch.empty(n).uniform_(0.3, 1.0)
    log_ratio = torch.empty(n).uniform_(math.log(3 / 4), math.log(4 / 3))
    ratio = torch.exp(log_ratio)
    w = torch.sqrt(area * ratio).clamp(max=1.0)
    h = torch.sqrt(area / ratio).clamp(max=1.0)
    cx = (torch.rand(n) * 2 - 1) * (1 - w)
    cy = (torch.rand(n) * 2 - 1) * (1 - h)
    flip = torch.where(torch.rand(n) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = w * flip, cx
    theta[:, 1, 1], theta[:, 1, 2] = h, cy
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def torch_ntxent(z_a, z_b, tau):
    z = F.normalize(torch.cat([z_a, z_b]), dim=1)
    n = z_a.shape[0]
    logits = z @ z.T / tau
    logits = logits - 1e9 * torch.eye(2 * n)
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(logits, targets)


def torch_fit(x: torch.Tensor, epochs: int, seed: int = 0) -> float:
    """Trains a fresh torch SimCLR for ``epochs`` epochs; returns the last batch loss."""
    torch.manual_seed(seed)
    model = TorchEmbeddingNet()
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss = None
    for rows in runner.torch_batches(x.shape[0], BATCH, epochs):
        batch = x[rows]
        views = torch.cat([torch_views(batch), torch_views(batch)])
        z = model(views)
        loss = torch_ntxent(z[:BATCH], z[BATCH:], TEMPERATURE)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return float(loss.detach())


def ours_fit(x, epochs: int, *, key, temperature=TEMPERATURE):
    result = contrastive.train_simclr(
        x, key=key, temperature=temperature, epochs=epochs, batch_size=BATCH,
        augmentation=contrastive.simclr_augmentation((0.3, 1.0), flip=True, jitter=0.0),
        optimizer="adam", learning_rate=LEARNING_RATE, channels=CHANNELS, features=FEATURES,
        head=HEAD, progress=False)
    return result.state.params["model"]


def main(argv=None):
    parser = runner.parser(__doc__, epochs=1, rows=5_120, sweep_rows=2_560)
    args = parser.parse_args(argv)
    timed = runner.timing(args)

    x_all, _ = runner.unit_images("fashion_mnist")
    key = jax.random.key(0)
    print(runner.machine(torch=True))

    rows = args.rows
    x = jax.device_put(x_all[:rows])
    x_torch = torch.from_numpy(x_all[:rows, None].copy())
    task = f"SimCLR epoch (views included), {rows:,} images, batch {BATCH} (x2 views)"
    timings = [
        runner.per_image_epoch(task, "jaxselforg", lambda n: ours_fit(x, n, key=key), rows,
                               **timed),
        runner.per_image_epoch(task, "PyTorch (eager)", lambda n: torch_fit(x_torch, n), rows,
                               **timed),
    ]

    taus = jnp.asarray([0.1, 0.2, 0.5, 1.0])
    keys = jax.random.split(key, len(taus))
    xs = x[: args.sweep_rows]
    task = f"{len(taus)} SimCLR runs (temperatures), {args.sweep_rows:,} images, one epoch each"

    def sequential(n):
        return [ours_fit(xs, n, key=keys[i], temperature=float(taus[i]))
                for i in range(len(taus))]

    sweep = runner.sweep_versus_sequential(
        task, lambda n: ours_fit(xs, n, key=keys, temperature=taus), sequential,
        len(taus) * args.sweep_rows, **timed)

    runner.print_versus_torch(timings, sweep, args.json)


if __name__ == "__main__":
    main()
