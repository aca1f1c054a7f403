"""jaxselforg.parallel: one-device behaviour here, 8 simulated devices in a subprocess."""

import os
import pathlib
import re
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from jaxselforg import distances, parallel

CHECKS = pathlib.Path(__file__).with_name("multidevice_checks.py")
PROCESS_CHECKS = pathlib.Path(__file__).with_name("multiprocess_checks.py")
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
def test_multidevice_checks_pass_on_eight_simulated_devices(topic, xla_flags):
    env = dict(os.environ, XLA_FLAGS=xla_flags("--xla_force_host_platform_device_count=8"),
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


def test_two_processes_fit_what_one_process_fits(tmp_path, xla_flags):
    """jax.distributed on localhost: 2 processes x 4 CPU devices, gloo collectives."""
    with socket.socket() as probe:  # a free port for the coordinator
        probe.bind(("localhost", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, XLA_FLAGS=xla_flags("--xla_force_host_platform_device_count=4"),
               JAX_PLATFORMS="cpu")
    repo = CHECKS.parent.parent
    env["PYTHONPATH"] = os.pathsep.join([str(repo), env.get("PYTHONPATH", "")])
    processes = [subprocess.Popen([sys.executable, str(PROCESS_CHECKS), str(i), "2", str(port),
                                   str(tmp_path)], env=env, cwd=repo, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                 for i in range(2)]
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=300)[0])
    finally:
        for process in processes:
            process.kill()  # no-op once finished; never leaves a hung peer behind
    output = "\n".join(outputs)
    expected = [f"ok {name} (process 0" for name in (
        "devices_and_rows", "vae_resumed_from_the_checkpoint", "kmeans_equals_one_process",
        "gaussian_mixture_equals_one_process", "batch_som_equals_one_process",
        "vae_fit_equals_one_process")] + ["ok vae_resumed_from_the_checkpoint (process 1"]
    missing = [line for line in expected if line not in output]
    codes = [process.returncode for process in processes]
    assert not missing and codes == [0, 0], f"missing {missing}, exit codes {codes}\n{output}"


def test_importing_the_library_starts_no_backend():
    # parallel.initialize must come before any JAX computation, so importing may run none.
    code = ("import jaxselforg\nfrom jax._src import xla_bridge\n"
            "assert not xla_bridge._backends, xla_bridge._backends")
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                            timeout=120, cwd=CHECKS.parent.parent, env=dict(os.environ))
    assert result.returncode == 0, result.stderr


def test_a_multi_process_mesh_without_jax_distributed_is_refused():
    with pytest.raises(ValueError, match="2 processes was requested, but 1 process.*"
                                         "not initialised.*parallel.initialize"):
        parallel.data_mesh(processes=2)
    assert parallel.data_mesh(processes=1).size == jax.device_count()
    with pytest.raises(ValueError, match="processes must be a positive integer"):
        parallel.data_mesh(processes=0)


def test_process_rows_split_rows_in_order_and_refuse_what_does_not_divide():
    blocks = [parallel.process_rows(12, process_index=i, process_count=3) for i in range(3)]
    assert [np.arange(12)[b].tolist() for b in blocks] == [[0, 1, 2, 3], [4, 5, 6, 7],
                                                           [8, 9, 10, 11]]
    assert parallel.process_rows(5) == slice(0, 5)  # one process: every row
    with pytest.raises(ValueError, match="10 rows do not divide over 3 processes.*"
                                         "multiple of 3 rows \\(e.g. 9\\)"):
        parallel.process_rows(10, process_index=0, process_count=3)
    with pytest.raises(ValueError, match="process_index must be in 0 .. 1; got 2"):
        parallel.process_rows(10, process_index=2, process_count=2)


def test_initialize_refuses_a_process_id_outside_the_process_count():
    # Checked before jax.distributed starts (which would wait for a missing peer).
    with pytest.raises(ValueError, match="process_id must be an integer in 0 .. "
                                         "num_processes - 1 \\(num_processes=2\\); got 2"):
        parallel.initialize("localhost:1", num_processes=2, process_id=2)
    with pytest.raises(ValueError, match="num_processes must be a positive integer"):
        parallel.initialize("localhost:1", num_processes=0, process_id=0)


def test_host_copy_of_one_process_arrays_is_numpy():
    tree = {"a": jax.numpy.arange(4), "b": (np.ones(2), 3.0)}
    copied = parallel.host_copy(tree)
    assert all(isinstance(leaf, np.ndarray) for leaf in jax.tree.leaves(copied))
    np.testing.assert_array_equal(copied["a"], np.arange(4))
