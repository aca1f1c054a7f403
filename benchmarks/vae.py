"""VAE training throughput against the same architectures in PyTorch, and a vmapped
sweep against sequential runs, on Fashion-MNIST train.

Both sides train the same model the same way: Adam (lr 1e-3), batches of 128 (the
remainder dropped), every batch dynamically binarized, loss = summed BCE-with-logits
+ KL per image, averaged over the batch; one z per image. The MLP is
784-512-(mu, log sigma^2) with latent 20 and a mirrored decoder; the conv model is the
Keras example's (Conv 32 and 64, 3x3 stride 2, dense 256, latent 16, mirrored
transposed convolutions). Ours is ``vae.train_vae`` as a user calls it (one jit'd
``lax.scan`` per epoch); PyTorch's is the usual eager loop over batches with the same
tensors in memory, on all the CPU threads torch chooses. Per-epoch times are
differences of whole fits, (T(1 + n) - T(1)) / n, so set-up and compilation cancel;
the first call (compilation) is reported separately as warm-up.

The sweep row trains 8 MLP VAEs (8 seeds x 8 learning rates) as one vmapped program
(``key`` of shape [8], ``learning_rate`` of shape [8]) against the same 8 runs one
after another.

    python -m benchmarks.vae [--rows 60000] [--conv_rows 20000] [--sweep_rows 10000]

Needs PyTorch (``pip install -e .[bench]``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import torch
from torch import nn
from torch.nn import functional as F

from benchmarks import runner
from jaxselforg import vae

BATCH = 128
LEARNING_RATE = 1e-3


class TorchMLPVAE(nn.Module):
    def __init__(self, latent_dim: int, hidden: int = 512, n_pixels: int = 784):
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(n_pixels, hidden), nn.ReLU())
        self.mean = nn.Linear(hidden, latent_dim)
        self.log_variance = nn.Linear(hidden, latent_dim)
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(),
                                     nn.Linear(hidden, n_pixels), nn.Unflatten(1, (28, 28)))

    def forward(self, x):
        h = self.encoder(x)
        return self.mean(h), self.log_variance(h)


class TorchConvVAE(nn.Module):
    def __init__(self, latent_dim: int, hidden: int = 256):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Unflatten(1, (1, 28)), nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
            nn.Linear(7 * 7 * 64, hidden), nn.ReLU())
        self.mean = nn.Linear(hidden, latent_dim)
        self.log_variance = nn.Linear(hidden, latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 7 * 7 * 64), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
            nn.ConvTranspose2d(64, 64, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.Conv2d(32, 1, 3, padding=1), nn.Flatten(1, 2))

    def forward(self, x):
        h = self.encoder(x)
        return self.mean(h), self.log_variance(h)


def torch_fit(model_fn, x: torch.Tensor, epochs: int, seed: int = 0):
    """Trains a fresh torch VAE for ``epochs`` epochs; returns the last batch loss."""
    torch.manual_seed(seed)
    model = model_fn()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss = None
    for rows in runner.torch_batches(x.shape[0], BATCH, epochs):
        batch = torch.bernoulli(x[rows])
        mean, log_variance = model(batch)
        z = mean + torch.exp(0.5 * log_variance) * torch.randn_like(mean)
        logits = model.decoder(z)
        reconstruction = F.binary_cross_entropy_with_logits(
            logits, batch, reduction="none").sum(dim=(1, 2))
        kl = 0.5 * (mean**2 + log_variance.exp() - log_variance - 1).sum(dim=1)
        loss = (reconstruction + kl).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return float(loss.detach())


def ours_fit(x, epochs: int, *, key, **settings):
    result = vae.train_vae(x, key=key, epochs=epochs, batch_size=BATCH,
                              learning_rate=settings.pop("learning_rate", LEARNING_RATE),
                              progress=False, **settings)
    return result.state.params["model"]


def main(argv=None):
    parser = runner.parser(__doc__, epochs=2, rows=60_000, sweep_rows=10_000)
    parser.add_argument("--conv_rows", type=int, default=20_000, help="conv training images")
    parser.add_argument("--sweep_runs", type=int, default=8)
    args = parser.parse_args(argv)
    timed = runner.timing(args)

    x_all, _ = runner.unit_images("fashion_mnist")
    key = jax.random.key(0)
    print(runner.machine(torch=True))

    timings = []
    for name, rows, settings, torch_model in [
            ("MLP 784-512-20", args.rows, {"architecture": "mlp", "latent_dim": 20},
             lambda: TorchMLPVAE(20)),
            ("conv (Keras example), latent 16", args.conv_rows,
             {"architecture": "conv", "latent_dim": 16}, lambda: TorchConvVAE(16))]:
        x = jax.device_put(x_all[:rows])
        x_torch = torch.from_numpy(x_all[:rows].copy())
        task = f"VAE training epoch, {name}, {rows:,} images, batch {BATCH}"
        timings.append(runner.per_image_epoch(
            task, "jaxselforg", lambda n, x=x, s=settings: ours_fit(x, n, key=key, **s), rows,
            **timed))
        timings.append(runner.per_image_epoch(
            task, "PyTorch (eager)", lambda n, x=x_torch, m=torch_model: torch_fit(m, x, n),
            rows, **timed))

    runs = args.sweep_runs
    x = jax.device_put(x_all[: args.sweep_rows])
    keys = jax.random.split(key, runs)
    rates = jnp.geomspace(3e-4, 3e-3, runs)
    task = (f"{runs} MLP VAE runs (seeds x learning rates), {args.sweep_rows:,} images, "
            f"one epoch each")
    settings = {"architecture": "mlp", "latent_dim": 20}

    def sequential(n):
        return [ours_fit(x, n, key=keys[i], learning_rate=rates[i], **settings)
                for i in range(runs)]

    sweep = runner.sweep_versus_sequential(
        task, lambda n: ours_fit(x, n, key=keys, learning_rate=rates, **settings), sequential,
        runs * args.sweep_rows, **timed)

    runner.print_versus_torch(timings, sweep, args.json)


if __name__ == "__main__":
    main()
