"""jaxselforg.parallel: one-device behaviour here, 8 simulated devices in a subprocess."""

import os
import pathlib
import re
import subprocess
import sys

import jax
import numpy as np
import pytest

from jaxselforg import distances, parallel

CHECKS = pathlib.Path(__file__).with_name("multidevice_checks.py")
CHECK_NAMES = re.findall(r"^def (check_\w+)\(", CHECKS.read_text(), flags=re.MULTILINE)


def test_multidevice_checks_pass_on_eight_simulated_devices():
    # One subprocess for all checks (JAX start-up and compilation dominate); one test,
    # so pytest-xdist runs it on one worker only.
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu")
    repo = CHECKS.parent.parent
    env["PYTHONPATH"] = os.pathsep.join([str(repo), env.get("PYTHONPATH", "")])
    result = subprocess.run([sys.executable, str(CHECKS)], env=env, capture_output=True,
                            text=True, timeout=600, cwd=repo)
    output = result.stdout + result.stderr
    assert len(CHECK_NAMES) >= 5
    failed = [name for name in CHECK_NAMES if f"ok {name}\n" not in output]
    assert not failed and result.returncode == 0, f"failed: {failed}\n{output}"


def test_one_device_mesh_runs_the_same_code():
    mesh = parallel.data_mesh(jax.devices()[:1])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(13, 5)), rng.normal(size=(40, 5))
    index, dist = parallel.nearest(x, y, "manhattan", mesh=mesh, block_size=8)
    ref_index, ref_dist = distances.nearest(x, y, "manhattan")
    np.testing.assert_array_equal(index, ref_index)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-6)
    (sharded,), mask = parallel.shard_rows((x,), mesh)
    assert sharded.shape == x.shape and bool(mask.all())


def test_shard_rows_rejects_mismatched_leading_dimensions():
    with pytest.raises(ValueError, match="share their first dimension"):
        parallel.shard_rows((np.ones((3, 2)), np.ones(4)), parallel.data_mesh())
