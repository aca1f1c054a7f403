"""The run harness shared by every experiment.

An experiment module defines a typed dataclass ``Config`` (its fields are the
command-line flags; a ``QUICK`` dict of overrides for ``--quick``), a ``TITLE`` and
``run(config, run) -> summary``, and ends with ``harness.main(__name__)``::

    python -m experiments.<name> [--quick] [--out DIR] [--no-progress] [--<field> value ...]

Precedence: the dataclass defaults (the full run), then ``QUICK`` if ``--quick``,
then explicit flags. Each run writes into its folder ``config.json``,
``metrics.jsonl`` (via ``run.log``), ``summary.json`` (the returned headline
numbers plus wall time), PNG figures and ``report.md``, the section that
``experiments.run_all`` gathers into ``runs/REPORT.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import pathlib
import sys
import time
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

import jax
import numpy as np

from jaxselforg import train, viz

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse_bool(text: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def _flag_type(hint) -> tuple[typing.Callable[[str], Any], str | None]:
    """argparse converter and nargs for a dataclass field's type hint."""
    origin = typing.get_origin(hint)
    if hint is bool:
        return _parse_bool, None
    if hint in (int, float, str):
        return hint, None
    if origin in (tuple, list, Sequence):
        (item, *_) = typing.get_args(hint) or (str,)
        return item, "+"
    if origin in (typing.Union, types.UnionType):  # X | None
        non_none = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _flag_type(non_none[0])
    raise TypeError(f"Unsupported config field type {hint!r}.")


def configure(config_cls, quick_overrides: dict | None = None, *, quick: bool = False):
    """The default (full-run) config, with the ``--quick`` overrides if ``quick``."""
    config = config_cls()
    return dataclasses.replace(config, **(quick_overrides or {})) if quick else config


def parse_config(config_cls, argv: Sequence[str] | None, quick_overrides: dict | None = None):
    """Builds ``(config, out, quick)`` from the command line.

    Raises:
      SystemExit: on a bad flag (argparse prints what is accepted).
    """
    parser = argparse.ArgumentParser(description=config_cls.__doc__)
    parser.add_argument("--quick", action="store_true", help="small, fast settings")
    parser.add_argument("--out", default=None, help="output folder (default runs/<name>)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    hints = typing.get_type_hints(config_cls)
    for field in dataclasses.fields(config_cls):
        convert, nargs = _flag_type(hints[field.name])
        parser.add_argument(f"--{field.name}", type=convert, nargs=nargs, default=None,
                            help=f"default: {field.default!r}")
    args = parser.parse_args(argv)
    config = configure(config_cls, quick_overrides, quick=args.quick)
    explicit = {}
    for field in dataclasses.fields(config_cls):
        value = getattr(args, field.name)
        if value is not None:
            explicit[field.name] = tuple(value) if isinstance(value, list) else value
    config = dataclasses.replace(config, **explicit)
    if args.no_progress:
        os.environ["JAXSELFORG_PROGRESS"] = "0"
    return config, args.out, args.quick


class Run:
    """One experiment's output folder and report section.

    Attributes:
      out: the folder (created).
      quick: whether ``--quick`` settings are in use.
    """

    def __init__(self, out: str | os.PathLike, *, quick: bool = False):
        self.out = pathlib.Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.quick = quick
        metrics_path = self.out / "metrics.jsonl"
        metrics_path.unlink(missing_ok=True)
        self._metrics = train.MetricsWriter(metrics_path)
        self._blocks: list[tuple[str, ...]] = []

    def log(self, record: dict[str, Any] | None = None, **values: Any) -> None:
        """Appends one record to ``metrics.jsonl``."""
        self._metrics.write(record, **values)

    def progress(self, iterable: Iterable, desc: str, total: int | None = None):
        """A tqdm progress bar over ``iterable`` (silent when progress is disabled)."""
        from tqdm.auto import tqdm

        return tqdm(iterable, desc=desc, total=total, disable=not train.progress_enabled(),
                    leave=False, dynamic_ncols=True)

    def text(self, markdown: str) -> None:
        """Adds a paragraph (or any markdown) to the report section."""
        self._blocks.append(("text", markdown.strip()))

    def table(self, header: Sequence[str], rows: Iterable[Sequence[Any]], caption: str = "") -> str:
        """Adds a markdown table; floats print with 4 significant digits."""
        fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
        markdown = (f"{caption}\n\n" if caption else "") + "\n".join(lines)
        self._blocks.append(("text", markdown))
        return markdown

    def figure(self, fig, name: str, caption: str) -> pathlib.Path:
        """Saves a matplotlib figure as ``<name>.png`` and adds it to the report."""
        path = viz.save_figure(fig, self.out / f"{name}.png")
        self._blocks.append(("figure", path.name, caption))
        return path

    def render(self, title: str, link_prefix: str = "") -> str:
        """The report section as markdown; figure links get ``link_prefix``."""
        parts = [f"## {title}"]
        for kind, *content in self._blocks:
            if kind == "text":
                parts.append(content[0])
            else:
                filename, caption = content
                parts.append(f"![{caption}]({link_prefix}{filename})\n\n*{caption}*")
        return "\n\n".join(parts) + "\n"


def finish_curves(fig, axes, title: str, *, xlabel: str = "epoch", legend_size: int = 7):
    """The ending of a figure of training curves: every axis gets the x label, a grid
    and a legend; the figure its title and a tight layout. Returns ``fig``."""
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=legend_size)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def seconds_per_epoch(seconds) -> float:
    """The median of an epoch's wall times, leaving out the first (it compiles) when
    there are others; NaN for no epochs."""
    seconds = np.asarray(seconds, float)
    if not seconds.size:
        return float("nan")
    return float(np.median(seconds[1:] if seconds.size > 1 else seconds))


def timed(fn):
    """``(fn(), seconds)``, waiting for JAX's asynchronous results before stopping the clock."""
    start = time.perf_counter()
    result = jax.block_until_ready(fn())
    return result, time.perf_counter() - start


def training_seconds(metrics_path: str | os.PathLike, measured: float) -> float:
    """A training's seconds summed over its epochs' records in ``metrics_path``
    (compilation included), so that a run resumed from its checkpoints reports the whole
    training, not the restore; ``measured`` when there are no per-epoch records."""
    path = pathlib.Path(metrics_path)
    records = [r for r in train.read_metrics(path) if "epoch" in r] if path.exists() else []
    return float(sum(r["seconds"] for r in records)) if records else measured


def execute(module: types.ModuleType, config, out: str | os.PathLike, *, quick: bool) -> dict:
    """Runs one experiment into ``out``: config, metrics, summary, figures, report."""
    run = Run(out, quick=quick)
    (run.out / "config.json").write_text(
        json.dumps({"quick": quick, **dataclasses.asdict(config)}, indent=2, default=str)
    )
    start = time.perf_counter()
    summary = dict(module.run(config, run))
    summary["wall_time_s"] = round(time.perf_counter() - start, 2)
    (run.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    (run.out / "report.md").write_text(run.render(module.TITLE))
    return summary


def main(module_name: str, argv: Sequence[str] | None = None) -> dict:
    """Command-line entry point of ``python -m experiments.<name>``."""
    module = sys.modules[module_name] if module_name in sys.modules else importlib.import_module(
        module_name)
    name = module.__name__.rsplit(".", 1)[-1]
    config, out, quick = parse_config(module.Config, argv, getattr(module, "QUICK", {}))
    out = pathlib.Path(out or pathlib.Path("runs") / name)
    summary = execute(module, config, out, quick=quick)
    print(json.dumps(summary, indent=2, default=str))
    print(f"Wrote {out}/ (report.md, summary.json, metrics.jsonl, figures)")
    return summary
