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


@pytest.fixture(scope="module")
def multidevice_output():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu")
    repo = CHECKS.parent.parent
    env["PYTHONPATH"] = os.pathsep.join([str(repo), env.get("PYTHONPATH", "")])
    result = subprocess.run([sys.executable, str(CHECKS)], env=env, capture_output=True,
                            text=True, timeout=600, cwd=repo)
    return result.stdout + result.stderr


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_on_eight_simulated_devices(multidevice_output, name):
    assert f"ok {name}\n" in multidevice_output, multidevice_output


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
