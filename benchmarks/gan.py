"""GAN training throughput against the same networks in PyTorch, a vmapped seed sweep
against sequential runs, and the two epoch drivers, on Fashion-MNIST train.

Both sides train the same networks the same way, with the Keras example's settings (no
BatchNorm; ``gan.train_gan``'s defaults add it and use Adam 2e-4, b1 0.5, so the
benchmark passes these explicitly and BENCHMARKS.md's rows stay comparable):
the non-saturating loss (D: binary cross-entropy, real = 1 and fake = 0, on detached
fakes; G: ``-mean ln D(G(z))`` on fresh z), one discriminator step then one generator
step per batch of 64 real images (the remainder dropped, reshuffled every epoch), Adam
(lr 3e-4, betas 0.9 and 0.999) for each network, z ~ N(0, I) of dimension 128, images
in [0, 1] and a sigmoid generator output. The DCGAN is the Keras example's at the
given widths -- G: Dense 7*7*w0 -> LeakyReLU(0.2) -> per width a 4x4 stride-2
transposed convolution -> LeakyReLU -> 7x7 convolution to 1 channel; D: 3x3 stride-2
convolutions -> LeakyReLU -> global max pool -> Dense 1 -- and the fully connected GAN
is G ``128 -> 256 -> 512 -> 1024 -> 784``, D ``784 -> 512 -> 256 -> 1`` (leaky ReLU).

Ours is ``gan.train_gan`` as a user calls it; PyTorch's is the usual eager loop over
batches with the same tensors in memory, on all the CPU threads torch chooses.
Per-epoch times are differences of whole fits, (T(1 + n) - T(1)) / n, so set-up and
compilation cancel; the first call (compilation) is reported separately as warm-up.

The sweep trains ``--sweep_runs`` seeds as one vmapped program
(``key=jax.random.split(key, 8)``) against the same runs one after another (ours and
PyTorch's). The driver rows train the DCGAN with ``epoch_driver="scan"`` (one jitted
``lax.scan`` per epoch, ``train_gan``'s default) and ``"loop"`` (a Python loop of
jitted steps).

    python -m benchmarks.gan [--dcgan_rows 512] [--mlp_rows 4096] [--sweep_runs 8] [--keras_widths]
    python -m benchmarks.gan --tiny   # a smoke run: every row at 128 images

Needs PyTorch (``pip install -e .[bench]``).
"""

from __future__ import annotations

import itertools

import jax
import torch
from torch import nn
from torch.nn import functional as F

from benchmarks import runner
from jaxselforg import gan

BATCH = 64
LATENT_DIM = 128
LEARNING_RATE = 3e-4
BETAS = (0.9, 0.999)
SLOPE = 0.2  # leaky ReLU, both architectures
SECTIONS = ("throughput", "sweep", "drivers")


class TorchDCGANGenerator(nn.Module):
    """The Keras DCGAN generator at ``widths`` (NCHW; 28x28 output)."""

    def __init__(self, widths=(128, 128), latent_dim: int = LATENT_DIM):
        super().__init__()
        small = 28 // 2 ** len(widths)
        layers = [nn.Linear(latent_dim, small * small * widths[0]), nn.LeakyReLU(SLOPE),
                  nn.Unflatten(1, (widths[0], small, small))]
        for a, b in zip((widths[0], *widths[:-1]), widths):
            layers += [nn.ConvTranspose2d(a, b, 4, stride=2, padding=1), nn.LeakyReLU(SLOPE)]
        layers += [nn.Conv2d(widths[-1], 1, 7, padding=3), nn.Flatten(1, 2), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


class TorchDCGANDiscriminator(nn.Module):
    """The Keras DCGAN discriminator at ``widths``: its logit ``[n]``."""

    def __init__(self, widths=(64, 128)):
        super().__init__()
        layers = [nn.Unflatten(1, (1, 28))]
        for a, b in zip((1, *widths[:-1]), widths):
            layers += [nn.Conv2d(a, b, 3, stride=2, padding=1), nn.LeakyReLU(SLOPE)]
        self.trunk = nn.Sequential(*layers)
        self.logit = nn.Linear(widths[-1], 1)

    def forward(self, images):
        return self.logit(self.trunk(images).amax(dim=(2, 3)))[:, 0]


def _mlp(sizes, activate_final: bool):
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if activate_final or i < len(sizes) - 2:
            layers.append(nn.LeakyReLU(SLOPE))
    return layers


class TorchMLPGenerator(nn.Module):
    """G: ``z -> 256 -> 512 -> 1024 -> 784``, sigmoid output ``[n, 28, 28]``."""

    def __init__(self, latent_dim: int = LATENT_DIM):
        super().__init__()
        self.net = nn.Sequential(*_mlp((latent_dim, 256, 512, 1024, 784), False),
                                 nn.Unflatten(1, (28, 28)), nn.Sigmoid())

    def forward(self, z):
        return self.net(z)


class TorchMLPDiscriminator(nn.Module):
    """D: ``784 -> 512 -> 256 -> 1``: its logit ``[n]``."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), *_mlp((784, 512, 256), True), nn.Linear(256, 1))

    def forward(self, images):
        return self.net(images)[:, 0]


def torch_fit(networks, x: torch.Tensor, epochs: int, seed: int = 0):
    """Trains a fresh torch GAN (``networks() -> (G, D)``) for ``epochs`` epochs, one D
    step then one G step per batch; returns the last generator loss."""
    torch.manual_seed(seed)
    generator, discriminator = networks()
    g_opt = torch.optim.Adam(generator.parameters(), lr=LEARNING_RATE, betas=BETAS)
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=LEARNING_RATE, betas=BETAS)
    loss = None
    for rows in runner.torch_batches(x.shape[0], BATCH, epochs):
        real = x[rows]
        fake = generator(torch.randn(BATCH, LATENT_DIM)).detach()
        real_logits, fake_logits = discriminator(real), discriminator(fake)
        d_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  + F.binary_cross_entropy_with_logits(fake_logits,
                                                       torch.zeros_like(fake_logits)))
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()
        fake_logits = discriminator(generator(torch.randn(BATCH, LATENT_DIM)))
        loss = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        g_opt.zero_grad(set_to_none=True)
        loss.backward()
        g_opt.step()
    return float(loss.detach())


def ours_fit(x, epochs: int, *, key, **settings):
    if settings.get("architecture") == "dcgan":  # the Keras example's global max pool
        settings.setdefault("discriminator_pool", "max")
    result = gan.train_gan(x, key=key, epochs=epochs, batch_size=BATCH, latent_dim=LATENT_DIM,
                           batch_norm=False, learning_rate=LEARNING_RATE, b1=BETAS[0],
                           b2=BETAS[1], progress=False, **settings)
    return result.state.params


def used(rows: int) -> int:
    """Images an epoch trains on: whole batches only."""
    return rows // BATCH * BATCH


def report(timings: list[runner.Timing], reference: str) -> None:
    """Prints a section's table as soon as it is measured (long runs keep what is done)."""
    print()
    print(runner.table(timings, reference=reference, units="images"), flush=True)
    print()


def main(argv=None):
    parser = runner.parser(__doc__, repeat=1, epochs=3, sweep_rows=1024)
    parser.add_argument("--dcgan_rows", type=int, default=512,
                        help="training images of the DCGAN rows (CPU widths)")
    parser.add_argument("--keras_widths", action="store_true",
                        help="also the Keras widths, G (128, 128) and D (64, 128)")
    parser.add_argument("--keras_rows", type=int, default=512)
    parser.add_argument("--mlp_rows", type=int, default=4096, help="fully connected GAN images")
    parser.add_argument("--sweep_architecture", choices=gan.ARCHITECTURES, default="mlp")
    parser.add_argument("--sweep_runs", type=int, default=8)
    parser.add_argument("--driver_rows", type=int, default=256,
                        help="images of the scan-vs-loop DCGAN rows")
    parser.add_argument("--tiny", action="store_true",
                        help="smoke run: every row at 128 images, one repeat")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                        help="which tables to measure")
    args = parser.parse_args(argv)
    if args.tiny:
        args.dcgan_rows = args.keras_rows = args.mlp_rows = args.sweep_rows = 128
        args.driver_rows, args.repeat, args.epochs = 128, 1, 1
    timed = runner.timing(args)

    x_all, _ = runner.unit_images("fashion_mnist")
    key = jax.random.key(0)
    print(runner.machine(torch=True))

    cpu_widths, keras_widths = ((64, 64), (32, 64)), ((128, 128), (64, 128))
    configs = [("DCGAN, G (64, 64), D (32, 64)", args.dcgan_rows,
                {"architecture": "dcgan", "generator_widths": cpu_widths[0],
                 "discriminator_widths": cpu_widths[1]},
                lambda: (TorchDCGANGenerator(cpu_widths[0]),
                         TorchDCGANDiscriminator(cpu_widths[1])))]
    if args.keras_widths:
        configs.append(("DCGAN, Keras widths G (128, 128), D (64, 128)", args.keras_rows,
                        {"architecture": "dcgan", "generator_widths": keras_widths[0],
                         "discriminator_widths": keras_widths[1]},
                        lambda: (TorchDCGANGenerator(keras_widths[0]),
                                 TorchDCGANDiscriminator(keras_widths[1]))))
    configs.append(("fully connected GAN", args.mlp_rows, {"architecture": "mlp"},
                    lambda: (TorchMLPGenerator(), TorchMLPDiscriminator())))

    timings, sweep, drivers = [], [], []
    for name, rows, settings, networks in configs if "throughput" in args.sections else []:
        x = jax.device_put(x_all[:rows])
        x_torch = torch.from_numpy(x_all[:rows].copy())
        task = f"GAN training epoch, {name}, {used(rows):,} images, batch {BATCH}"
        timings.append(runner.per_image_epoch(
            task, "jaxselforg", lambda n, x=x, s=settings: ours_fit(x, n, key=key, **s),
            used(rows), **timed))
        timings.append(runner.per_image_epoch(
            task, "PyTorch (eager)", lambda n, x=x_torch, m=networks: torch_fit(m, x, n),
            used(rows), **timed))

    if timings:
        report(timings, "PyTorch (eager)")
    if "sweep" in args.sections:
        sweep = measure_sweep(args, x_all, key, configs)
    if "drivers" in args.sections:
        x = jax.device_put(x_all[: args.driver_rows])
        task = f"DCGAN epoch by driver, G (64, 64), D (32, 64), {used(args.driver_rows):,} images"
        drivers = [runner.per_image_epoch(
            task, f'jaxselforg, epoch_driver="{driver}"',
            lambda n, d=driver: ours_fit(x, n, key=key, epoch_driver=d, **configs[0][2]),
            used(args.driver_rows), **timed) for driver in ("loop", "scan")]
        report(drivers, 'jaxselforg, epoch_driver="loop"')
    if args.json:
        runner.save(timings + sweep + drivers, args.json)


def measure_sweep(args, x_all, key, configs) -> list[runner.Timing]:
    """Seeds as one vmapped program vs the same runs one after another (ours, PyTorch)."""
    runs = args.sweep_runs
    sweep_settings, sweep_networks = (
        ({"architecture": "mlp"}, lambda: (TorchMLPGenerator(), TorchMLPDiscriminator()))
        if args.sweep_architecture == "mlp" else
        (configs[0][2], configs[0][3]))
    x = jax.device_put(x_all[: args.sweep_rows])
    x_torch = torch.from_numpy(x_all[: args.sweep_rows].copy())
    keys = jax.random.split(key, runs)
    label = "fully connected GAN" if args.sweep_architecture == "mlp" else configs[0][0]
    task = f"{runs} {label} runs (seeds), {used(args.sweep_rows):,} images, one epoch each"
    work = runs * used(args.sweep_rows)

    def ours_sequential(n):
        return [ours_fit(x, n, key=keys[i], **sweep_settings) for i in range(runs)]

    def torch_sequential(n):
        return [torch_fit(sweep_networks, x_torch, n, seed=i) for i in range(runs)]

    timed = runner.timing(args)
    sweep = [
        *runner.sweep_versus_sequential(
            task, lambda n: ours_fit(x, n, key=keys, **sweep_settings), ours_sequential, work,
            **timed),
        runner.per_image_epoch(task, "PyTorch (eager), sequential runs", torch_sequential, work,
                               **timed),
    ]

    report(sweep, "PyTorch (eager), sequential runs")
    print(f"vmapped over sequential (ours): {sweep[1].per_unit_s / sweep[0].per_unit_s:.1f}x")
    return sweep


if __name__ == "__main__":
    main()
