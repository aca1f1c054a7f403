"""Checks of JAX's multi-process runtime; tests/test_parallel.py launches this file as 2
processes on localhost, each with 4 simulated CPU devices (one global 8-device mesh,
gloo collectives):

    XLA_FLAGS=--xla_force_host_platform_device_count=4 \
        python tests/multiprocess_checks.py PROCESS_ID 2 PORT OUT_DIR

Each process loads only its own rows (``parallel.process_rows``), builds the global
arrays with ``parallel.host_local_rows`` and fits k-means, a Gaussian mixture, a batch
SOM and a VAE (``train.fit`` with checkpoints and ``metrics.jsonl`` in ``OUT_DIR``).
Process 0 then fits the same models in one process, on all the rows on one device,
and compares them with the tolerances of the 8-device checks (multidevice_checks.py).
Every check prints ``ok <name>`` or raises.
"""

import pathlib
import sys
import time

import jax  # only configured here: parallel.initialize must run before any JAX call

N_ROWS = 256  # 128 per process, 32 per device


def _checks(out_dir: pathlib.Path):
    import numpy as np
    from multidevice_checks import (
        assert_same_fit,
        assert_same_kmeans,
        assert_same_som,
        assert_same_training,
        downsampled,
        fashion,
    )

    from jaxselforg import cluster, data, mixture, parallel, som, train, vae

    primary = jax.process_index() == 0
    mesh = parallel.data_mesh(processes=2)
    assert mesh.size == 8 and jax.local_device_count() == 4, jax.devices()
    mine = parallel.process_rows(N_ROWS)
    images = data.to_unit_range(data.load("fashion_mnist", "train")[0][:N_ROWS])
    # Each process keeps its own rows only; process 0 keeps all of them for the
    # one-process reference after the multi-process fits.
    pixels = np.asarray(data.flatten(images))
    reference_pixels = pixels if primary else None
    images, pixels = np.asarray(images)[mine], pixels[mine]

    def share(rows):
        return parallel.host_local_rows(rows, mesh)

    yield "devices_and_rows"
    global_pixels = share(pixels)
    assert global_pixels.shape == (N_ROWS, 784)
    assert len(global_pixels.addressable_shards) == 4
    np.testing.assert_array_equal(parallel.host_copy(global_pixels)[mine], pixels)
    try:
        share(pixels[: 96 if primary else 128])
    except ValueError as error:  # every process sees both counts and refuses
        assert "same number of rows" in str(error) and "[96, 128]" in str(error), error
    else:
        raise AssertionError("unequal row counts per process were accepted")
    try:
        share(pixels[:6])
    except ValueError as error:
        assert "do not divide over this process's 4 device(s)" in str(error), error
    else:
        raise AssertionError("6 rows over 4 local devices were accepted")

    # Held-out rows known to every process: the k-means and mixture starts.
    features = fashion(8, offset=1000)[0]
    init = features[:5]
    kmeans = parallel.host_copy(  # Elkan's bounds on rows held by two processes
        cluster.kmeans(global_pixels, 5, key=jax.random.key(0), init=init, tol=0.0,
                       algorithm="elkan")
    )
    yield "kmeans_on_two_processes"
    k = 4  # on 14 x 14 images: no PCA (an eigh on every device) to compile
    mixture_kwargs = {
        "key": jax.random.key(0),
        "covariance_type": "diag",
        "tol": 0.0,
        "max_iter": 10,
        "weights_init": np.full(k, 1.0 / k),
        "means_init": downsampled(features[:k]),
        "precisions_init": np.ones((k, 196), np.float32),
    }
    gaussian = parallel.host_copy(
        mixture.gaussian_mixture(share(downsampled(pixels)), k, **mixture_kwargs)
    )
    yield "gaussian_mixture_on_two_processes"

    som_kwargs = {"key": jax.random.key(0), "epochs": 5}
    batch_som = parallel.host_copy(som.train(share(downsampled(pixels)), (4, 6), **som_kwargs))
    yield "batch_som_on_two_processes"

    vae_kwargs = {
        "key": jax.random.key(0),
        "latent_dim": 4,
        "hidden": (32,),
        "epochs": 2,
        "batch_size": 64,
        "progress": False,
    }
    run = {"checkpoint_dir": out_dir / "checkpoints", "metrics_path": out_dir / "metrics.jsonl"}
    trained = vae.train_vae(share(images), mesh=mesh, **run, **vae_kwargs)
    trained = trained._replace(state=parallel.host_copy(trained.state))
    yield "vae_fit_on_two_processes"
    resumed = vae.train_vae(share(images), mesh=mesh, **run, **vae_kwargs)  # restores only
    for a, b in zip(
        jax.tree.leaves(parallel.host_copy(resumed.state)), jax.tree.leaves(trained.state)
    ):
        np.testing.assert_array_equal(a, b)
    yield "vae_resumed_from_the_checkpoint"
    if not primary:
        return

    x = reference_pixels
    assert_same_kmeans(
        kmeans, cluster.kmeans(x, 5, key=jax.random.key(0), init=init, tol=0.0), n_rows=N_ROWS
    )
    yield "kmeans_equals_one_process"
    reference = mixture.gaussian_mixture(downsampled(x), k, **mixture_kwargs)
    assert_same_fit(gaussian, reference, ("weights", "means", "covariances"))
    yield "gaussian_mixture_equals_one_process"
    assert_same_som(batch_som, som.train(downsampled(x), (4, 6), **som_kwargs))
    yield "batch_som_equals_one_process"
    x_images = np.asarray(x).reshape(N_ROWS, 28, 28)
    assert_same_training(trained, vae.train_vae(x_images, **vae_kwargs))
    records = train.read_metrics(run["metrics_path"])
    assert [r["epoch"] for r in records] == [1, 2], records  # written once, by process 0
    np.testing.assert_allclose([r["loss"] for r in records], trained.history["loss"])
    assert (out_dir / "checkpoints" / "config.json").is_file()
    steps = sorted(int(p.name) for p in run["checkpoint_dir"].iterdir() if p.name.isdigit())
    assert steps == [4, 8], steps  # 256 rows: 4 steps of 64 per epoch, saved every epoch
    yield "vae_fit_equals_one_process"


def main(process_id: int, num_processes: int, port: int, out_dir: str) -> int:
    from jaxselforg import parallel

    parallel.initialize(f"localhost:{port}", num_processes=num_processes, process_id=process_id)
    checks = _checks(pathlib.Path(out_dir))
    name, started = "start", time.perf_counter()
    try:
        for name in checks:
            print(
                f"ok {name} (process {process_id}, {time.perf_counter() - started:.1f} s)",
                flush=True,
            )
    except Exception:  # noqa: BLE001
        import traceback

        print(f"FAILED after {name} (process {process_id})\n{traceback.format_exc()}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
