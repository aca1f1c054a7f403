"""Test configuration: where the real datasets live.

Tests that need Fashion-MNIST or MNIST read them through ``JAXSELFORG_DATA_DIR``
(a folder with ``fashion_mnist/`` and ``mnist/`` subfolders holding the canonical
gzipped IDX files). When the variable is unset we point it at ``../shared/data``
next to the repository, if that folder exists; nothing is ever skipped, so a
machine without the data fails loudly instead of passing silently.
"""

import os
import pathlib
import subprocess
import sys

_REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
_SHARED_DATA = _REPO_ROOT.parent / "shared" / "data"

if not os.environ.get("JAXSELFORG_DATA_DIR") and _SHARED_DATA.is_dir():
    os.environ["JAXSELFORG_DATA_DIR"] = str(_SHARED_DATA)

# Compile time dominates this suite (tiny shapes, many programs), so XLA is asked for
# its quick compile (`jax_disable_most_optimizations`): about 40% less compile time
# here, though the programs run slower (a small RBM fit 2.95 s against 0.53 s), and
# the same numbers up to float rounding: the suite also passes without it (measured
# 2026-12-08: 3 min 11 s with a filled cache; 9 min 13 s with an empty one, a run made
# before three tolerances that were tighter than float32 guarantees, and held only by
# the quick compile's rounding, were set from eps).
# Set in the environment so that the subprocesses (8 simulated devices, the
# kill-and-resume runs) inherit it; the library, experiments and benchmarks run with
# XLA's full optimization.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

# And XLA:CPU's older loop emitters instead of its MLIR fusion emitters, which spend
# far longer compiling the small fusions this suite is made of: measured here
# (2026-12-08, quiet, empty compilation cache) the whole suite took 5 min 38 s with
# them off against 9 min 24 s, every test passing with its tolerance unchanged. XLA
# aborts the process on a flag it does not know, so the flag is only added after a
# child interpreter has started JAX with it (once: the xdist workers and the suite's
# subprocesses inherit the result). Subprocesses that set XLA_FLAGS append to it
# (the ``xla_flags`` fixture).
_QUICK_XLA_FLAG = "--xla_cpu_use_fusion_emitters=false"
_XLA_PROBED = "JAXSELFORG_TEST_XLA_FLAGS_PROBED"


def _xla_flags(*flags: str) -> str:
    """The XLA_FLAGS of this process with ``flags`` added, for a subprocess's env."""
    return " ".join([os.environ.get("XLA_FLAGS", ""), *flags]).strip()


if not os.environ.get(_XLA_PROBED):
    _probe = subprocess.run(
        [sys.executable, "-c", "import jax; jax.devices()"], check=False, capture_output=True,
        env={**os.environ, "XLA_FLAGS": _xla_flags(_QUICK_XLA_FLAG), "JAX_PLATFORMS": "cpu"})
    if _probe.returncode == 0:
        os.environ["XLA_FLAGS"] = _xla_flags(_QUICK_XLA_FLAG)
    os.environ[_XLA_PROBED] = "1"

# JAX's persistent compilation cache, kept between runs and checkouts in the user's
# cache folder (~/.cache/jaxselforg/xla-tests, or under $XDG_CACHE_HOME). Compilation
# dominates this suite: measured on this 2-core machine (2026-12-08, quiet), a run with
# an empty cache took 5 min 38 s, one with a full cache 3 min 32 s. A key is a
# digest of the program without its source locations, the jaxlib version, the backend
# and the compiler flags, so a fresh clone of unchanged code (CI on the same machine)
# reuses what an earlier run compiled, and a changed program simply misses. Each module
# drops its compiled programs (see _release_compiled_programs below), so without the
# cache the same small programs would also be compiled again in every module, xdist
# worker and subprocess. A hit still fires the compile event that ``compilations``
# counts, so the "no recompilation" checks keep their meaning. Set
# JAXSELFORG_TEST_XLA_CACHE to another folder, or to "" for none. Without a size limit
# (JAX's LRU eviction rescans the whole folder on every write: a cold suite took 26 min
# with it); instead the controller deletes, when a run starts, the entries neither read
# nor written for 30 days (by the files' access times); a cold suite writes about 7,800
# entries, 90 MB.
_XLA_CACHE = os.environ.get("JAXSELFORG_TEST_XLA_CACHE", os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
    "jaxselforg", "xla-tests"))
if _XLA_CACHE:
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _XLA_CACHE)
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    # By default JAX also points XLA's GPU autotuning cache into that folder, and the
    # folder's path then enters every key's compile options: a cache filled from one
    # folder path missed every program read from another. No GPU caches, path-free keys.
    os.environ.setdefault("JAX_PERSISTENT_CACHE_ENABLE_XLA_CACHES", "none")
_CACHE_DAYS = 30


import contextlib
import time

import jax
import pytest

# XLA compiles a program once per jitted function and set of static arguments, shapes
# and dtypes; JAX announces each compilation through its public monitoring events,
# with the jitted function's name. Counting those is how a test checks "no
# recompilation", rather than reading a jitted function's private cache size.
_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


@contextlib.contextmanager
def _recording_compilations():
    names = []

    def listener(event, duration_secs, **kwargs):
        if event == _COMPILE_EVENT:
            names.append(kwargs.get("fun_name"))

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield names
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


@pytest.fixture
def compilations():
    """``with compilations() as names:`` lists the functions compiled inside the block."""
    return _recording_compilations


@pytest.fixture
def xla_flags():
    """``xla_flags("--flag=value", ...)``: this process's XLA_FLAGS plus those, for a
    subprocess (keeps the suite's compile-speed flag)."""
    return _xla_flags


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drops every compiled program after each test module.

    XLA's CPU backend maps each compiled executable's code into its own few memory
    regions, and a process may hold at most ``vm.max_map_count`` of them (65,530 by
    default). One xdist worker compiles some 20,000 programs over this suite and crossed
    that limit: the next compilation segfaulted inside XLA (measured: ~3 regions per
    executable; a worker held 24,000 regions a third of the way through). The modules
    share no compiled state that matters, so each starts from an empty cache.
    """
    yield
    jax.clear_caches()


def pytest_configure(config):
    """The controller (not an xdist worker) prunes the compilation cache's stale entries."""
    if not _XLA_CACHE or hasattr(config, "workerinput") or not os.path.isdir(_XLA_CACHE):
        return
    cutoff = time.time() - _CACHE_DAYS * 86_400
    with os.scandir(_XLA_CACHE) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                stat = entry.stat()
                if entry.is_file() and max(stat.st_atime, stat.st_mtime) < cutoff:
                    os.unlink(entry.path)
