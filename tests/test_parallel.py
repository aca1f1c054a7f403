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


# One subprocess per topic: JAX start-up and compilation dominate, and separate tests let
# pytest-xdist run the topics side by side and name the topic that fails.
TOPICS = {
    "rows": ("check_sharded_nearest_equals_one_device",
             "check_nearest_on_sharded_rows_keeps_rows_sharded",
             "check_sum_rows_reduces_across_devices",
             "check_host_local_rows_builds_the_global_array"),
    "prototypes": ("check_sharded_kmeans_equals_one_device",
                   "check_sharded_batch_som_equals_one_device"),
    "mixtures": ("check_sharded_gaussian_mixture_equals_one_device",
                 "check_sharded_bernoulli_mixture_equals_one_device"),
    "training": ("check_sharded_vae_fit_equals_one_device",
                 "check_sharded_alternating_fit_equals_one_device"),
}


def test_every_multidevice_check_runs_in_exactly_one_topic():
    listed = [name for names in TOPICS.values() for name in names]
    assert sorted(listed) == sorted(set(CHECK_NAMES) - {"check_devices"})


@pytest.mark.parametrize("topic", TOPICS)
def test_multidevice_checks_pass_on_eight_simulated_devices(topic):
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu")
    repo = CHECKS.parent.parent
    env["PYTHONPATH"] = os.pathsep.join([str(repo), env.get("PYTHONPATH", "")])
    names = ("check_devices", *TOPICS[topic])  # every subprocess first checks its 8 devices
    result = subprocess.run([sys.executable, str(CHECKS), *names], check=False, env=env,
                            capture_output=True, text=True, timeout=600, cwd=repo)
    output = result.stdout + result.stderr
    failed = [name for name in names if f"ok {name}\n" not in output]
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
