"""A small common runner: time ours and the reference side by side in one process.

Each implementation is called once to warm up (for JAX: tracing + compilation at
the benchmarked shapes; that first call is reported separately), then timed
``repeat`` times; the median is reported. Results are blocked on
(``jax.block_until_ready``) so asynchronous dispatch does not flatter JAX.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable

import jax
import numpy as np

from jaxselforg import data

# The two rows of a sweep (see ``sweep_versus_sequential``).
VMAPPED, SEQUENTIAL = "jaxselforg, vmapped (one program)", "jaxselforg, sequential runs"


@dataclasses.dataclass
class Timing:
    task: str
    implementation: str
    work: int  # units of work per call (e.g. queries), for throughput
    first_s: float  # the warm-up call: includes compilation for JAX
    median_s: float
    runs: list[float]

    @property
    def per_unit_s(self) -> float:
        return self.median_s / self.work


def time_call(task: str, implementation: str, fn: Callable[[], object], *, work: int = 1,
              repeat: int = 5, warmup: bool = True) -> Timing:
    """Times ``fn()``: one warm-up call (if ``warmup``), then the median of ``repeat``."""
    first = None
    if warmup:
        start = time.perf_counter()
        jax.block_until_ready(fn())
        first = time.perf_counter() - start
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        runs.append(time.perf_counter() - start)
    first = runs[0] if first is None else first
    timing = Timing(task, implementation, work, first, statistics.median(runs), runs)
    print(f"  {task} / {implementation}: median {timing.median_s:.3f} s "
          f"(first call {timing.first_s:.3f} s, {repeat} runs)", flush=True)
    return timing


def per_iteration(task: str, implementation: str, fit: Callable[[int], object],
                  iterations: int, repeat: int) -> Timing:
    """The time of one iteration, from whole fits: (T(1 + iterations) - T(1)) / iterations.

    ``fit(n)`` runs n iterations (epochs, EM steps, ...) with any stopping test
    disabled; set-up and final work cancel in the difference. Warm-up (compilation) is
    the larger excess of a first call over its median.
    """
    short = time_call(f"{task} [1 iteration]", implementation, lambda: fit(1), repeat=repeat)
    long = time_call(f"{task} [{1 + iterations} iterations]", implementation,
                     lambda: fit(1 + iterations), repeat=repeat)
    step = max(long.median_s - short.median_s, 1e-9) / iterations
    # Whichever fit compiled (the first call of a shape) shows the warm-up.
    warmup = max(short.first_s - short.median_s, long.first_s - long.median_s, 0.0)
    return Timing(task, implementation, 1, warmup + step, step,
                  [(lr - sr) / iterations for lr, sr in zip(long.runs, short.runs)])


def per_image(timing: Timing, images: int) -> Timing:
    """An epoch timing re-expressed per training image (for images/s)."""
    return dataclasses.replace(timing, work=images)


def per_image_epoch(task: str, implementation: str, fit: Callable[[int], object], images: int,
                    *, epochs: int, repeat: int) -> Timing:
    """``per_iteration`` of an epoch of ``images`` training images, per image."""
    return per_image(per_iteration(task, implementation, fit, epochs, repeat), images)


def sweep_versus_sequential(task: str, vmapped: Callable[[int], object],
                            sequential: Callable[[int], object], images: int, *, epochs: int,
                            repeat: int) -> list[Timing]:
    """A sweep's two rows: ``vmapped(n)`` (the runs as one program) and ``sequential(n)``
    (the same runs one after another), per image over all runs (``images``)."""
    return [per_image_epoch(task, VMAPPED, vmapped, images, epochs=epochs, repeat=repeat),
            per_image_epoch(task, SEQUENTIAL, sequential, images, epochs=epochs,
                            repeat=repeat)]


def parser(doc: str, *, repeat: int = 3, epochs: int | None = None, rows: int | None = None,
           sweep_rows: int | None = None) -> argparse.ArgumentParser:
    """A benchmark's command line, described by the first line of its ``doc``, with the
    runner's own options: ``--repeat`` (timed calls per row), ``--json`` (a path for
    the raw timings) and, given their defaults, ``--epochs`` (the n of
    ``per_iteration``'s difference T(1 + n) - T(1)), ``--rows`` (the training rows) and
    ``--sweep_rows`` (the rows of each run of a vmapped sweep)."""
    arguments = argparse.ArgumentParser(description=doc.split("\n")[0])
    if epochs is not None:
        arguments.add_argument("--epochs", type=int, default=epochs,
                               help="epochs in the difference")
    if rows is not None:
        arguments.add_argument("--rows", type=int, default=rows, help="training rows")
    if sweep_rows is not None:
        arguments.add_argument("--sweep_rows", type=int, default=sweep_rows,
                               help="training rows of each run of the vmapped sweep")
    arguments.add_argument("--repeat", type=int, default=repeat, help="timed calls per row")
    arguments.add_argument("--json", default=None, help="also write the raw timings here")
    return arguments


def timing(args: argparse.Namespace) -> dict[str, int]:
    """The ``epochs`` and ``repeat`` of the command line, as the timers take them."""
    return {"epochs": args.epochs, "repeat": args.repeat}


def unit_images(dataset: str, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """A dataset's images ``[n, 28, 28]`` as float32 in [0, 1] and its int32 labels
    ``[n]``, on the host (each side slices and moves what it trains on)."""
    images, labels = data.load(dataset, split)
    return np.asarray(data.to_unit_range(images)), np.asarray(labels).astype(np.int32)


def torch_batches(n: int, batch_size: int, epochs: int):
    """The row indices of every batch of a PyTorch reference's epochs: a fresh
    ``torch.randperm(n)`` per epoch cut into whole batches (the remainder dropped)."""
    import torch  # only the PyTorch benchmarks need it

    for _ in range(epochs):
        order = torch.randperm(n)
        for i in range(n // batch_size):
            yield order[i * batch_size:(i + 1) * batch_size]


def print_tables(*tables: tuple[list[Timing], str, str], torch: bool = False) -> None:
    """A closing report: the ``machine`` (with PyTorch's version and threads if
    ``torch``), then one ``table`` per ``(timings, reference, units)``, a blank line
    between them."""
    print()
    print(machine(torch=torch))
    for i, (timings, reference, units) in enumerate(tables):
        if i:
            print()
        print(table(timings, reference=reference, units=units))


def print_versus_torch(timings: list[Timing], sweep: list[Timing],
                       json_path: str | None) -> None:
    """The closing report of a training benchmark: the machine, the table against
    PyTorch (eager), the sweep's table against our sequential runs, the raw JSON."""
    print_tables((timings, "PyTorch (eager)", "images"), (sweep, SEQUENTIAL, "images"),
                 torch=True)
    if json_path:
        save(timings + sweep, json_path)


def machine(*, torch: bool = False) -> str:
    """One line describing where the numbers come from; with ``torch``, a second one
    with PyTorch's version and CPU threads (the reference of the training benchmarks)."""
    cpu = platform.processor() or platform.machine()
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
        cpu = next((l.split(":", 1)[1].strip() for l in lines if l.startswith("Model name")), cpu)
    except OSError:
        pass
    device = jax.devices()[0]
    line = (f"{cpu}, {os.cpu_count()} cores; JAX {jax.__version__} on {device.platform} "
            f"({device.device_kind}); Python {platform.python_version()}")
    if torch:
        import torch as reference  # only the PyTorch benchmarks need it

        line += f"\nPyTorch {reference.__version__}, {reference.get_num_threads()} threads"
    return line


def table(timings: list[Timing], reference: str | None, units: str = "queries") -> str:
    """Markdown table; the speed-up is the reference's time per unit over each one's
    (no speed-up column without a ``reference``: one implementation on one device).

    ``warm-up`` is the first call minus the median: for JAX, tracing and compilation.
    """
    by_task: dict[str, list[Timing]] = {}
    for timing in timings:
        by_task.setdefault(timing.task, []).append(timing)
    versus = "" if reference is None else f" speed-up vs {reference} |"
    header = (f"| task | implementation | {units} per call | warm-up (s) | median (s) | "
              f"{units}/s |{versus}")
    lines = [header, "|---|---|---|---|---|---|" + ("---|" if versus else "")]
    for task, rows in by_task.items():
        ref = next((r for r in rows if r.implementation == reference), None)
        for r in rows:
            ratio = f"{ref.per_unit_s / r.per_unit_s:.1f}x" if ref else "n/a"
            warmup = max(r.first_s - r.median_s, 0.0)
            rate = r.work / r.median_s
            rate = f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}"
            lines.append(f"| {task} | {r.implementation} | {r.work:,} | {warmup:.2f} | "
                         f"{r.median_s:.3f} | {rate} |" + (f" {ratio} |" if versus else ""))
    return "\n".join(lines)


def save(timings: list[Timing], path: str) -> None:
    """Writes the raw timings as JSON."""
    with open(path, "w") as f:
        json.dump({"machine": machine(), "timings": [dataclasses.asdict(t) for t in timings]},
                  f, indent=2)
