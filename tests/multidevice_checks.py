"""Checks that need several devices; run by tests/test_parallel.py in a subprocess with
``XLA_FLAGS=--xla_force_host_platform_device_count=8`` (the flag must be set before JAX
starts, so these cannot run inside the main pytest process).

Every ``check_*`` function raises on failure. Run directly:
``XLA_FLAGS=--xla_force_host_platform_device_count=8 python tests/multidevice_checks.py``.
Later topics add their sharded-equals-one-device checks here.
"""

import sys
import traceback

import jax
import jax.numpy as jnp
import numpy as np

from jaxselforg import cluster, data, distances, mixture, parallel, som, train, vae

N_DEVICES = 8


def fashion(n, offset=0):
    images, labels = data.load("fashion_mnist", "train")
    return (np.asarray(data.flatten(data.to_unit_range(images[offset:offset + n]))),
            labels[offset:offset + n])


def check_devices():
    assert jax.device_count() == N_DEVICES, jax.devices()
    mesh = parallel.data_mesh()
    assert mesh.size == N_DEVICES and mesh.axis_names == (parallel.AXIS,)


def check_sharded_nearest_equals_one_device():
    queries, _ = fashion(203)  # not a multiple of 8: exercises the padding
    candidates, _ = fashion(500, offset=1000)
    mesh = parallel.data_mesh()
    for metric in ("euclidean", "manhattan", "chebyshev", "cosine"):
        index, dist = parallel.nearest(queries, candidates, metric, mesh=mesh, block_size=64)
        ref_index, ref_dist = distances.nearest(queries, candidates, metric, block_size=64)
        np.testing.assert_array_equal(index, ref_index)
        np.testing.assert_allclose(dist, ref_dist, rtol=1e-6)


def check_nearest_on_sharded_rows_keeps_rows_sharded():
    queries, _ = fashion(64)
    candidates, _ = fashion(300, offset=500)
    mesh = parallel.data_mesh()
    sharded, _ = parallel.shard_rows(queries, mesh)
    index, _ = distances.nearest(sharded, candidates, "manhattan", block_size=32)
    assert index.sharding.spec == jax.sharding.PartitionSpec(parallel.AXIS), index.sharding
    np.testing.assert_array_equal(index, distances.nearest(queries, candidates, "manhattan")[0])


def check_sum_rows_reduces_across_devices():
    x, labels = fashion(1001)  # padded to 1008 rows; the mask keeps padding out
    mesh = parallel.data_mesh()
    (rows, row_labels), mask = parallel.shard_rows((x, labels), mesh)
    assert rows.shape[0] == 1008 and int(mask.sum()) == 1001

    def class_statistics(block, valid):
        features, classes = block
        onehot = jax.nn.one_hot(classes, 10) * valid[:, None]
        return onehot.T @ features, onehot.sum(0)

    sums, counts = jax.jit(parallel.sum_rows(class_statistics, mesh))((rows, row_labels), mask)
    np.testing.assert_allclose(sums, np.stack([x[labels == c].sum(0) for c in range(10)]),
                               rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(counts, np.bincount(labels, minlength=10))


def check_host_local_rows_builds_the_global_array():
    x, _ = fashion(96)
    mesh = parallel.data_mesh()
    global_x = parallel.host_local_rows(x, mesh)
    assert global_x.shape == x.shape
    assert len(global_x.addressable_shards) == N_DEVICES
    np.testing.assert_array_equal(global_x, x)


def assert_same_kmeans(result, reference, n_rows):
    """The sharded (or multi-process) k-means is the one-device k-means; ``result``'s
    arrays are host copies or addressable."""
    np.testing.assert_allclose(result.centers, reference.centers, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(result.labels)[:n_rows], reference.labels)
    np.testing.assert_allclose(result.inertia, reference.inertia, rtol=1e-4)
    assert int(result.n_iter) == int(reference.n_iter)


def check_sharded_kmeans_equals_one_device():
    x, _ = fashion(203)  # padded to 208 rows; padding gets sample_weight 0
    mesh = parallel.data_mesh()
    sharded, mask = parallel.shard_rows(x, mesh)
    init = x[:5]
    for update, algorithm in [("mean", "lloyd"), ("mean", "elkan"), ("mean", "hamerly"),
                              ("median", "lloyd")]:
        reference = cluster.kmeans(x, 5, key=jax.random.key(0), init=init, tol=0.0,
                                   update=update)
        result = cluster.kmeans(sharded, 5, key=jax.random.key(0), init=init, tol=0.0,
                                update=update, sample_weight=mask.astype(np.float32),
                                algorithm=algorithm)
        assert_same_kmeans(result, reference, n_rows=203)
    # k-means++ seeding on sharded rows never picks a padding row.
    seeded = cluster.kmeans(sharded, 5, key=jax.random.key(1), max_iter=1,
                            sample_weight=mask.astype(np.float32))
    assert np.all(np.isfinite(seeded.centers))


# Mixtures

N_ROWS = 203  # not a multiple of 8: exercises the padding


def assert_same_fit(sharded, reference, names):
    assert int(sharded.n_iter) == int(reference.n_iter), (sharded.n_iter, reference.n_iter)
    np.testing.assert_allclose(sharded.log_likelihood, reference.log_likelihood, rtol=1e-4)
    n_iter = int(reference.n_iter)
    np.testing.assert_allclose(sharded.history[:n_iter], reference.history[:n_iter], rtol=1e-4)
    for name in names:
        np.testing.assert_allclose(getattr(sharded, name), getattr(reference, name), rtol=1e-4,
                                   atol=1e-4, err_msg=name)


def check_sharded_gaussian_mixture_equals_one_device():
    pixels = fashion(N_ROWS)[0]
    x = np.asarray(data.pca_project(pixels, data.pca(pixels, 10)))
    k = 4
    mesh = parallel.data_mesh()
    x_sharded, mask = parallel.shard_rows(x, mesh)
    assert x_sharded.shape[0] == 208 and len(x_sharded.addressable_shards) == mesh.size
    rng = np.random.default_rng(0)
    means = x[rng.choice(N_ROWS, k, replace=False)]
    precision = np.diag(1.0 / x.var(axis=0))
    for covariance_type, precisions in (("full", np.stack([precision] * k)),
                                        ("diag", np.stack([np.diag(precision)] * k))):
        kwargs = dict(key=jax.random.key(0), covariance_type=covariance_type, tol=0.0,
                      max_iter=15, weights_init=np.full(k, 1.0 / k), means_init=means,
                      precisions_init=precisions)
        sharded = mixture.gaussian_mixture(x_sharded, k, sample_weight=mask, **kwargs)
        reference = mixture.gaussian_mixture(x, k, **kwargs)
        assert_same_fit(sharded, reference, ("weights", "means", "covariances"))
        np.testing.assert_allclose(mixture.log_likelihood(sharded, x),
                                   mixture.log_likelihood(reference, x), rtol=1e-4)


def check_sharded_bernoulli_mixture_equals_one_device():
    x = np.asarray(data.binarize(fashion(N_ROWS)[0]))
    k = 4
    mesh = parallel.data_mesh()
    x_sharded, mask = parallel.shard_rows(x, mesh)
    rng = np.random.default_rng(1)
    kwargs = dict(key=jax.random.key(0), tol=0.0, max_iter=15, weights_init=np.full(k, 1.0 / k),
                  means_init=rng.uniform(0.25, 0.75, size=(k, x.shape[1])))
    sharded = mixture.bernoulli_mixture(x_sharded, k, sample_weight=mask, **kwargs)
    reference = mixture.bernoulli_mixture(x, k, **kwargs)
    assert_same_fit(sharded, reference, ("weights", "means"))


# Self-organizing maps


def downsampled(pixels):
    """14 x 14 images (2 x 2 means), ``[n, 196]``: the sharded SOM's PCA initialisation
    runs eigh on every simulated device, and at 784 pixels that took 50 s of CPU."""
    n = pixels.shape[0]
    return pixels.reshape(n, 14, 2, 14, 2).mean((2, 4)).reshape(n, 196)


def assert_same_som(result, reference):
    np.testing.assert_allclose(result.weights, reference.weights, rtol=1e-4, atol=1e-5)
    for name in ("quantization_error", "topographic_error"):
        np.testing.assert_allclose(result.history[name], reference.history[name],
                                   rtol=1e-5, atol=1e-6, err_msg=name)


def check_sharded_batch_som_equals_one_device():
    x = downsampled(fashion(N_ROWS)[0])  # padded to 208 rows; the padding has weight 0
    mesh = parallel.data_mesh()
    sharded, mask = parallel.shard_rows(x, mesh)
    kwargs = dict(key=jax.random.key(0), epochs=5)  # PCA init: also computed from shards
    for topology in ("rectangular", "hexagonal"):
        result = som.train(sharded, (4, 6), topology=topology, sample_weight=mask, **kwargs)
        reference = som.train(x, (4, 6), topology=topology, **kwargs)
        assert_same_som(result, reference)
        np.testing.assert_allclose(
            som.topographic_error(result.weights, sharded, topology=topology,
                                  sample_weight=mask),
            som.topographic_error(reference.weights, x, topology=topology), atol=1e-6)


# Training core (a VAE fit, data-parallel)


def check_sharded_vae_fit_equals_one_device():
    images, _ = data.load("fashion_mnist", "train")
    x = data.to_unit_range(images[:256])
    kwargs = dict(key=jax.random.key(0), latent_dim=4, hidden=(32,), epochs=2, batch_size=64,
                  progress=False)
    sharded = vae.train_vae(x, mesh=parallel.data_mesh(), **kwargs)
    reference = vae.train_vae(x, **kwargs)
    assert_same_training(sharded, reference)


def assert_same_training(result, reference):
    """Equal parameters and loss history of two trainings (``.state``, ``.history``)."""
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(result.state.params),
                            jax.tree.leaves(reference.state.params)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6,
                                   err_msg=jax.tree_util.keystr(path))
    np.testing.assert_allclose(result.history["loss"], reference.history["loss"], rtol=1e-5)


def check_sharded_alternating_fit_equals_one_device():
    # Two roles, two optimizers, an alternating step: the same code, data-parallel.
    import optax
    from flax import nnx

    class Generator(nnx.Module):
        def __init__(self, rngs):
            self.mean = nnx.Param(jnp.zeros(()))

        def __call__(self, z):
            return self.mean[...] + z

    def g_loss(models, x, key, hyperparams):
        fake = models["generator"](jax.random.normal(key, x.shape))
        return jnp.mean(optax.sigmoid_binary_cross_entropy(
            models["discriminator"](fake[:, None])[:, 0], 1.0)), {}

    def d_loss(models, x, key, hyperparams):
        fake = models["generator"](jax.random.normal(key, x.shape))
        d = models["discriminator"]
        return (jnp.mean(optax.sigmoid_binary_cross_entropy(d(x[:, None])[:, 0], 1.0))
                + jnp.mean(optax.sigmoid_binary_cross_entropy(d(fake[:, None])[:, 0], 0.0))), {}

    adam = {"generator": optax.adam(0.05), "discriminator": optax.adam(0.05)}
    graphdefs, state = train.create_state(
        {"generator": Generator, "discriminator": lambda rngs: nnx.Linear(1, 1, rngs=rngs)},
        adam, key=jax.random.key(0))
    step = train.make_alternating_step(graphdefs, adam, [
        train.Phase("discriminator", d_loss, repeats=2), train.Phase("generator", g_loss)])
    x = (2.0 + np.random.default_rng(0).normal(size=256)).astype(np.float32)
    kwargs = dict(batch_size=64, epochs=3, progress=False)
    sharded = train.fit(step, state, x, mesh=parallel.data_mesh(), **kwargs)
    reference = train.fit(step, state, x, **kwargs)
    for a, b in zip(jax.tree.leaves(sharded.state), jax.tree.leaves(reference.state)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def main(names):
    checks = {name: fn for name, fn in globals().items() if name.startswith("check_")}
    failed = 0
    for name in names or checks:
        try:
            checks[name]()
            print(f"ok {name}", flush=True)
        except Exception:  # noqa: BLE001
            failed += 1
            print(f"FAILED {name}\n{traceback.format_exc()}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
