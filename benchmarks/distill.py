"""Knowledge distillation throughput against PyTorch, and a vmapped (T, w_soft) sweep
against sequential runs, on MNIST train.

Both sides train Hinton et al.'s student (784-800-800-10 ReLU MLP, no dropout) on a
frozen teacher (784-1200-1200-10, eval mode, no gradient): per batch of 128 the
teacher's logits, the student's, and the loss w_hard CE(y, softmax(z_s)) + w_soft T^2
KL(softmax(z_t / T) || softmax(z_s / T)) at T = 20, w_hard = 0.1, w_soft = 0.9; AdamW
(lr 1e-3, no weight decay). Ours is ``distill.train_distilled`` as a user calls it (one
jit'd ``lax.scan`` per epoch); PyTorch's the usual eager loop over batches on all the
CPU threads torch chooses. Per-epoch times are differences of whole fits,
(T(1 + n) - T(1)) / n, so set-up and compilation cancel (the warm-up is reported
separately). The teacher's weights are random: the cost of a step does not depend on
them.

The sweep row trains 8 students (T in {1, 2, 4, 8} x w_soft in {0.5, 0.9}) as one
vmapped program against the same 8 runs one after another.

    python -m benchmarks.distill [--rows 10000] [--sweep_rows 5000] [--epochs 2]

Needs PyTorch (``pip install -e .[bench]``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import torch
from flax import nnx
from torch import nn
from torch.nn import functional as F

from benchmarks import runner
from jaxselforg import classify, distill

BATCH = 128
LEARNING_RATE = 1e-3
TEMPERATURE, HARD, SOFT = 20.0, 0.1, 0.9
TEACHER, STUDENT = (1200, 1200), (800, 800)


def torch_mlp(hidden) -> nn.Module:
    layers, width = [nn.Flatten()], 784
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, 10))


def torch_fit(teacher: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int,
              seed: int = 0) -> float:
    """Distils a fresh torch student for ``epochs`` epochs; returns the last batch loss."""
    torch.manual_seed(seed)
    student = torch_mlp(STUDENT)
    optimizer = torch.optim.AdamW(student.parameters(), lr=LEARNING_RATE, weight_decay=0.0)
    teacher.eval()
    loss = None
    for rows in runner.torch_batches(x.shape[0], BATCH, epochs):
        images, labels = x[rows], y[rows]
        with torch.no_grad():
            soft_targets = F.softmax(teacher(images) / TEMPERATURE, dim=1)
        logits = student(images)
        soft = F.kl_div(F.log_softmax(logits / TEMPERATURE, dim=1), soft_targets,
                        reduction="batchmean")
        loss = HARD * F.cross_entropy(logits, labels) + SOFT * TEMPERATURE**2 * soft
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return float(loss.detach())


def ours_fit(x, y, teacher, epochs: int, *, key, temperature=TEMPERATURE, soft_weight=SOFT):
    result = distill.train_distilled(
        x, y, teacher, key=key, architecture="mlp", hidden=STUDENT, dropout=0.0,
        weight_decay=0.0, temperature=temperature, hard_weight=1.0 - jnp.asarray(soft_weight)
        if np.ndim(soft_weight) else 1.0 - soft_weight, soft_weight=soft_weight,
        epochs=epochs, batch_size=BATCH, learning_rate=LEARNING_RATE, progress=False)
    return result.state.params["student"]


def main(argv=None):
    parser = runner.parser(__doc__, epochs=2, rows=10_000, sweep_rows=5_000)
    args = parser.parse_args(argv)
    timed = runner.timing(args)

    x_all, y_all = runner.unit_images("mnist")
    key = jax.random.key(0)
    teacher = classify.MLPClassifier(hidden=TEACHER, dropout=0.5, rngs=nnx.Rngs(1))
    torch_teacher = torch_mlp(TEACHER)
    print(runner.machine(torch=True))

    rows = args.rows
    x, y = jax.device_put(x_all[:rows]), jax.device_put(y_all[:rows])
    x_torch = torch.from_numpy(x_all[:rows].copy())
    y_torch = torch.from_numpy(y_all[:rows].astype(np.int64))
    task = (f"distillation epoch, teacher 784-1200-1200-10 -> student 784-800-800-10, "
            f"{rows:,} images, batch {BATCH}")
    timings = [
        runner.per_image_epoch(task, "jaxselforg", lambda n: ours_fit(x, y, teacher, n, key=key),
                               rows, **timed),
        runner.per_image_epoch(task, "PyTorch (eager)", lambda n: torch_fit(
            torch_teacher, x_torch, y_torch, n), rows, **timed),
    ]

    temperatures = jnp.repeat(jnp.asarray([1.0, 2.0, 4.0, 8.0]), 2)
    soft_weights = jnp.tile(jnp.asarray([0.5, 0.9]), 4)
    runs = len(temperatures)
    keys = jax.random.split(key, runs)
    xs, ys = x[: args.sweep_rows], y[: args.sweep_rows]
    task = (f"{runs} distilled students (T x w_soft), {args.sweep_rows:,} images, one epoch "
            "each")

    def sequential(n):
        return [ours_fit(xs, ys, teacher, n, key=keys[i], temperature=float(temperatures[i]),
                         soft_weight=float(soft_weights[i])) for i in range(runs)]

    sweep = runner.sweep_versus_sequential(
        task, lambda n: ours_fit(xs, ys, teacher, n, key=keys, temperature=temperatures,
                                 soft_weight=soft_weights), sequential,
        runs * args.sweep_rows, **timed)

    runner.print_versus_torch(timings, sweep, args.json)


if __name__ == "__main__":
    main()
