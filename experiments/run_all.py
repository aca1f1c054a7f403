"""The main job: every registered experiment, then ``runs/REPORT.md`` with all tables and figures.

    python -m experiments.run_all [--quick] [--out runs] [--only distances ...] [--no-progress]

``--quick`` uses each experiment's small settings (all nine topics: 17 minutes measured
on 2 CPU cores, over the 12-minute target); without it, the full runs (a GPU or a
patient CPU). A failing experiment is reported in REPORT.md and the others still run; the exit
status is non-zero if any failed.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import pathlib
import platform
import sys
import time
import traceback

import jax

from experiments import harness

# In lecture order; each is a module of this package with Config, QUICK, TITLE and run().
EXPERIMENTS = ("distances", "cluster", "som", "rbm", "vae", "discriminative", "classify", "gan",
               "contrastive", "transfer")


def _environment() -> str:
    devices = jax.devices()
    return (f"JAX {jax.__version__} on {len(devices)} x {devices[0].device_kind} "
            f"({devices[0].platform}); Python {platform.python_version()}; "
            f"{os.cpu_count()} CPU cores")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small, fast settings")
    parser.add_argument("--out", default="runs", help="output root (default: runs)")
    parser.add_argument("--only", nargs="+", choices=EXPERIMENTS, help="run only these")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.no_progress:
        os.environ["JAXSELFORG_PROGRESS"] = "0"

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sections, overview, failed = [], [], []
    for name in args.only or EXPERIMENTS:
        module = importlib.import_module(f"experiments.{name}")
        config = harness.configure(module.Config, getattr(module, "QUICK", {}), quick=args.quick)
        print(f"== {name} ({'quick' if args.quick else 'full'})", flush=True)
        start = time.perf_counter()
        try:
            harness.execute(module, config, out / name, quick=args.quick)
            section = (out / name / "report.md").read_text()
            sections.append(section.replace("](", f"]({name}/"))
            status = "ok"
        except Exception:  # noqa: BLE001 - one broken topic must not hide the others
            trace = traceback.format_exc()
            print(trace, file=sys.stderr)
            sections.append(f"## {module.TITLE}\n\nFAILED:\n\n```\n{trace}\n```\n")
            failed.append(name)
            status = "FAILED"
        seconds = time.perf_counter() - start
        # Each compiled XLA program holds a few of the process's memory maps (at most
        # vm.max_map_count, 65,530 by default); the topics share none, so drop them.
        jax.clear_caches()
        overview.append(f"| [{module.TITLE}](#{name}) | {status} | {seconds:.0f} |")
        print(f"== {name}: {status} in {seconds:.0f} s", flush=True)

    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    report = [
        "# jaxselforg report",
        (f"Generated {stamp} by `python -m experiments.run_all{' --quick' if args.quick else ''}"
         f"`; {_environment()}."),
        "| experiment | status | seconds |\n|---|---|---|\n" + "\n".join(overview),
    ]
    for name, section in zip(args.only or EXPERIMENTS, sections):
        report.append(f'<a id="{name}"></a>\n\n{section}')
    (out / "REPORT.md").write_text("\n\n".join(report))
    print(f"Wrote {out / 'REPORT.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
