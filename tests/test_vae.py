"""Tests for jaxselforg.vae: the objective against closed forms and Monte Carlo,
the architectures, training on real Fashion-MNIST rows, importance-weighted
evaluation, latent-space helpers and input validation.

Compilation dominates the run time, so the tests share one trained model, build
layers with fixed (numpy) weights instead of random initializers, and check shapes
with ``jax.eval_shape`` where no numbers are needed.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from flax import nnx

from jaxselforg import data, train, vae

N_TRAIN, N_TEST = 512, 64
EPOCHS = 5
KEY = jax.random.key(0)
SETTINGS = {"latent_dim": 4, "hidden": (64,), "epochs": EPOCHS, "batch_size": 64,
            "progress": False}


@pytest.fixture(scope="module")
def fashion():
    train_images, _ = data.load("fashion_mnist", "train")
    test_images, _ = data.load("fashion_mnist", "test")
    x = np.asarray(train_images[:N_TRAIN], np.float32) / 255.0
    x_test = np.asarray(test_images[:N_TEST], np.float32) / 255.0
    binary_test = (np.random.default_rng(99).random(x_test.shape) < x_test).astype(np.float32)
    return x, x_test, binary_test


@pytest.fixture(scope="module")
def trained(fashion):
    x, x_test, _ = fashion
    return vae.train_vae(x, key=KEY, learning_rate=3e-3, test_images=x_test, **SETTINGS)


def _with_weights(module_fn, **values):
    """A module built without running its random initializers, holding ``values``."""
    module = nnx.eval_shape(module_fn)
    nnx.update(module, nnx.State(values))
    return module


# ---------------------------------------------------------------------------
# The objective's pieces.


def test_gaussian_kl_matches_textbook_formula_and_monte_carlo():
    mean = np.array([[0.0, 0.0], [1.5, -0.5], [-2.0, 0.3]], np.float32)
    log_variance = np.array([[0.0, 0.0], [-1.0, 0.7], [0.4, -2.0]], np.float32)
    n = 200_000

    @jax.jit
    def compute(key):
        z = vae.reparameterize(key, jnp.broadcast_to(mean, (n, 3, 2)),
                                  jnp.broadcast_to(log_variance, (n, 3, 2)))
        log_ratio = (vae.gaussian_log_density(z, mean, log_variance)
                     - vae.gaussian_log_density(z, jnp.zeros(()), jnp.zeros(())))
        return vae.gaussian_kl(mean, log_variance), z, log_ratio

    kl, z, log_ratio = map(np.asarray, compute(jax.random.key(1)))
    # KL(N(m, s^2) || N(0, 1)) = ln(1 / s) + (s^2 + m^2) / 2 - 1/2, per coordinate.
    m, s = mean.astype(np.float64), np.exp(0.5 * log_variance.astype(np.float64))
    textbook = np.sum(np.log(1.0 / s) + (s**2 + m**2) / 2.0 - 0.5, axis=1)
    np.testing.assert_allclose(kl, textbook, rtol=1e-6, atol=1e-7)
    assert kl[0] == 0.0
    # Monte Carlo: E_q[ln q(z) - ln p(z)] over reparameterized samples.
    estimate, stderr = np.mean(log_ratio, 0), np.std(log_ratio, 0) / math.sqrt(n)
    assert np.all(np.abs(estimate - textbook) < 4 * stderr + 1e-6)
    # The samples have the moments of N(mu, sigma^2).
    assert np.all(np.abs(np.mean(z, 0) - m) < 4 * s / math.sqrt(n))
    np.testing.assert_allclose(np.std(z, 0), s, rtol=0.01)


def test_bernoulli_log_likelihood_is_summed_bce_and_stable():
    rng = np.random.default_rng(2)
    logits = (3.0 * rng.normal(size=(3, 4, 5))).astype(np.float32)
    targets = rng.random((3, 4, 5)).astype(np.float32)
    p = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    direct = np.sum(targets * np.log(p) + (1 - targets) * np.log(1 - p), axis=(1, 2))
    ours = jax.jit(vae.bernoulli_log_likelihood)
    np.testing.assert_allclose(ours(logits, targets), direct, rtol=1e-5)
    # Saturated logits give exact values instead of log(0).
    np.testing.assert_allclose(ours(np.full((1, 1, 2), 100.0, np.float32),
                                    np.array([[[1.0, 0.0]]], np.float32)), [-100.0], rtol=1e-6)


def test_vae_loss_terms_and_beta(trained, fashion):
    graphdef, state = nnx.split(trained.model)

    @jax.jit
    def terms(state, x, key):
        model = nnx.merge(graphdef, state)
        return (vae.vae_loss(model, x, key), vae.vae_loss(model, x, key, beta=0.25),
                model.encode(x))

    full, weighted, (mean, log_variance) = terms(state, fashion[2][:8], jax.random.key(4))
    np.testing.assert_allclose(full.kl, vae.gaussian_kl(mean, log_variance), rtol=1e-6)
    np.testing.assert_allclose(full.loss, full.reconstruction + full.kl, rtol=1e-6)
    np.testing.assert_allclose(weighted.loss, full.reconstruction + 0.25 * full.kl, rtol=1e-6)
    assert full.loss.shape == (8,) and np.all(full.reconstruction > 0) and np.all(full.kl > 0)


# ---------------------------------------------------------------------------
# Architectures.


def test_architectures_shapes():
    mlp = nnx.eval_shape(lambda: vae.MLPVAE(latent_dim=5, hidden=(300, 300),
                                               rngs=nnx.Rngs(0)))
    assert [layer.kernel.shape for layer in mlp.encoder.layers] == [(784, 300), (300, 300)]
    assert mlp.head.mean.kernel.shape == mlp.head.log_variance.kernel.shape == (300, 5)
    assert [layer.kernel.shape for layer in mlp.decoder.layers] == [(5, 300), (300, 300),
                                                                    (300, 784)]
    conv = nnx.eval_shape(lambda: vae.make_vae("conv", latent_dim=2, hidden=16,
                                                  rngs=nnx.Rngs(0)))
    assert isinstance(conv, vae.ConvVAE)
    # The Keras example's encoder: Conv 32 and 64, 3x3, stride 2, then dense.
    conv1, conv2 = conv.encoder.convs
    assert conv1.kernel.shape == (3, 3, 1, 32) and conv1.stride == 2
    assert conv2.kernel.shape == (3, 3, 32, 64) and conv2.stride == 2
    assert conv.encoder.dense.kernel.shape == (7 * 7 * 64, 16)
    assert conv.decoder.expand.kernel.shape == (2, 7 * 7 * 64)
    assert [d.kernel.shape for d in conv.decoder.deconvs] == [(3, 3, 64, 64), (3, 3, 64, 32)]
    assert conv.decoder.output.kernel.shape == (3, 3, 32, 1)
    x = jax.ShapeDtypeStruct((3, 28, 28), jnp.float32)
    for model, d in [(mlp, 5), (conv, 2)]:
        graphdef, state = nnx.split(model)
        (mean, log_variance), (logits, _, _) = jax.eval_shape(
            lambda s, x, g=graphdef: (nnx.merge(g, s).encode(x),
                                      nnx.merge(g, s)(x, jax.random.key(0))), state, x)
        assert mean.shape == log_variance.shape == (3, d)
        assert logits.shape == (3, 28, 28)


# ---------------------------------------------------------------------------
# Training on real data, and evaluation of the trained model.


def test_loss_decreases_on_fashion_mnist(trained, fashion):
    history = trained.history
    assert history["loss"].shape == (EPOCHS,) and np.all(np.isfinite(history["loss"]))
    assert history["loss"][-1] < history["loss"][0] - 50.0
    assert np.all(np.diff(history["test_negative_elbo"]) < 0)
    # At beta = 1 the loss is the -ELBO: reconstruction + KL.
    np.testing.assert_allclose(history["negative_elbo"], history["loss"], rtol=1e-6)
    np.testing.assert_allclose(history["reconstruction"] + history["kl"], history["loss"],
                               rtol=1e-5)
    # Better than any model that ignores the image: the best constant decoder (each
    # pixel Bernoulli with its training mean) on the same binary test images.
    x, _, binary_test = fashion
    p = np.clip(x.mean(0), 1e-3, 1 - 1e-3)
    constant = -np.mean(np.sum(binary_test * np.log(p) + (1 - binary_test) * np.log(1 - p),
                               (1, 2)))
    ours = float(np.mean(vae.elbo_terms(trained.model, binary_test, key=KEY).loss))
    assert ours < constant - 20.0


def test_importance_weighted_bound_rises_with_k_above_the_elbo(trained, fashion):
    model, x = trained.model, fashion[2]
    key = jax.random.key(5)
    elbo = -float(np.mean(vae.elbo_terms(model, x, key=key).loss))
    bounds = {k: float(np.mean(vae.importance_log_likelihood(
        model, x, key=key, n_samples=k, chunk_size=30))) for k in (1, 10, 100)}
    # L_1 is a one-sample ELBO estimate; L_K rises with K (Burda et al., theorem 1).
    assert abs(bounds[1] - elbo) < 3.0
    assert bounds[1] + 1.0 < bounds[10] < bounds[100] and bounds[100] > elbo + 1.0
    # Chunking K only changes how the samples are summed, not which are drawn.
    unchunked = vae.importance_log_likelihood(model, x, key=key, n_samples=100,
                                                 chunk_size=100)
    np.testing.assert_allclose(np.mean(unchunked), bounds[100], rtol=1e-6)


def test_evaluate_table_row(trained, fashion):
    model, x = trained.model, fashion[2]
    row = vae.evaluate(model, x, key=jax.random.key(6), n_samples=100, chunk_size=30)
    np.testing.assert_allclose(row.negative_elbo, row.reconstruction + row.kl, rtol=1e-5)
    assert row.log_likelihood > -row.negative_elbo and row.n_samples == 100
    decoded = [vae.decode(model, vae.encode(model, x[i:i + 16])[0])
               for i in range(0, N_TEST, 16)]
    mse = np.mean((np.concatenate(decoded) - x) ** 2)
    np.testing.assert_allclose(row.reconstruction_mse, mse, rtol=1e-5)
    assert 0.0 < float(row.reconstruction_mse) < 0.25
    assert np.isnan(vae.evaluate(model, x, key=jax.random.key(6)).log_likelihood)


def test_vmapped_sweep_equals_single_runs(trained, fashion):
    keys = jnp.stack([KEY, jax.random.key(1)])
    sweep = vae.train_vae(fashion[0], key=keys, learning_rate=jnp.array([3e-3, 1e-3]),
                             test_images=fashion[1], **SETTINGS)
    assert sweep.n_runs == 2 and sweep.history["loss"].shape == (EPOCHS, 2)
    first = sweep.model_of(0)
    for a, e in zip(jax.tree.leaves(nnx.state(first, nnx.Param)),
                    jax.tree.leaves(nnx.state(trained.model, nnx.Param)), strict=True):
        # vmapped matrix products may round differently: float32 tolerance.
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(sweep.history["loss"][:, 0], trained.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(sweep.history["test_negative_elbo"][:, 0],
                               trained.history["test_negative_elbo"], rtol=1e-5)
    assert not np.allclose(sweep.history["loss"][:, 1], trained.history["loss"])
    with pytest.raises(ValueError, match="Name the run of a sweep"):
        sweep.model  # noqa: B018


def test_beta_is_traced_and_sweepable(trained, fashion):
    # Two copies of the first run, KL weights 1 and 0.25, in one vmapped program.
    keys = jnp.stack([KEY, KEY])
    sweep = vae.train_vae(fashion[0], key=keys, learning_rate=3e-3, beta=jnp.array([1.0, 0.25]),
                          **{**SETTINGS, "epochs": 1})
    np.testing.assert_allclose(sweep.state.hyperparams["beta"], [1.0, 0.25])
    h = sweep.history
    np.testing.assert_allclose(h["loss"][0, 0], trained.history["loss"][0], rtol=1e-5)
    # The loss of run 1 weighs its KL by 0.25 (per-step means are linear in the terms).
    np.testing.assert_allclose(h["loss"][:, 1], h["reconstruction"][:, 1] + 0.25 * h["kl"][:, 1],
                               rtol=1e-5)
    assert h["kl"][0, 1] > h["kl"][0, 0]  # a weaker KL penalty lets the code carry more
    with pytest.raises(ValueError, match="'beta' must be a scalar for one run"):
        vae.train_vae(fashion[0], key=KEY, beta=jnp.array([1.0, 0.5]), **SETTINGS)


def test_resume_continues_training(fashion, tmp_path, trained):
    # 3 of the 5 epochs, then a resumed call: the same bits as the straight run (and an
    # nnx.List model's int-keyed state survives the checkpoint round trip).
    x, x_test, _ = fashion
    vae.train_vae(x, key=KEY, learning_rate=3e-3, test_images=x_test,
                     checkpoint_dir=tmp_path, save_every=3, **{**SETTINGS, "epochs": 3})
    resumed = vae.train_vae(x, key=KEY, learning_rate=3e-3, test_images=x_test,
                               checkpoint_dir=tmp_path, **SETTINGS)
    for a, e in zip(jax.tree.leaves(resumed.state), jax.tree.leaves(trained.state),
                    strict=True):
        np.testing.assert_array_equal(a, e)
    np.testing.assert_array_equal(resumed.history["epoch"], [4, 5])
    with pytest.raises(train.CheckpointMismatchError, match="latent_dim: saved 4, now 3"):
        vae.train_vae(x, key=KEY, learning_rate=3e-3, checkpoint_dir=tmp_path,
                         **{**SETTINGS, "latent_dim": 3})


def test_cosine_decay_reaches_zero_and_is_part_of_the_checkpoint(fashion, tmp_path):
    x = fashion[0]
    settings = {**SETTINGS, "epochs": 2, "learning_rate_decay": "cosine"}
    result = vae.train_vae(x, key=KEY, checkpoint_dir=tmp_path, **settings)
    hyper = train.get_hyperparams(result.state)
    assert int(hyper["decay_steps"]) == 2 * (len(x) // SETTINGS["batch_size"])
    assert int(result.state.step) == int(hyper["decay_steps"])
    constant = vae.train_vae(x, key=KEY, **{**settings, "learning_rate_decay": "constant"})
    # Same first epoch up to the decaying step size, different end point.
    assert not np.allclose(constant.history["loss"][1], result.history["loss"][1])
    # A longer run would follow another schedule: refused, not silently mixed.
    with pytest.raises(train.CheckpointMismatchError, match="decay_steps"):
        vae.train_vae(x, key=KEY, checkpoint_dir=tmp_path, **{**settings, "epochs": 3})
    with pytest.raises(ValueError, match="Unknown learning_rate_decay .linear.; accepted: .constant., .cosine."):
        vae.train_vae(x, key=KEY, **{**settings, "learning_rate_decay": "linear"})


# ---------------------------------------------------------------------------
# Latent space.


def test_latent_helpers(trained, fashion):
    model, x = trained.model, fashion[1]
    traversal = vae.latent_traversal(model, x[0], offsets=jnp.array([-2.0, 0.0, 2.0]))
    assert traversal.shape == (4, 3, 28, 28)
    mean, _ = vae.encode(model, x[:2])
    at_mean = vae.decode(model, mean)
    for row in range(4):
        np.testing.assert_allclose(traversal[row, 1], at_mean[0], atol=1e-6)
        assert not np.allclose(traversal[row, 0], traversal[row, 2], atol=1e-3)
    path = vae.interpolate(model, x[0], x[1], n_steps=5)
    assert path.shape == (5, 28, 28)
    np.testing.assert_allclose(path[0], at_mean[0], atol=1e-6)
    np.testing.assert_allclose(path[-1], at_mean[1], atol=1e-6)
    samples = vae.sample(model, 6, key=jax.random.key(3))
    assert samples.shape == (6, 28, 28) and np.all((samples >= 0) & (samples <= 1))
    # Encoding one image alone or among others gives the same code.
    np.testing.assert_allclose(vae.encode(model, x[1:2])[0], mean[1:2], rtol=1e-6)


def test_latent_usage_per_dimension_kl_and_active_units(trained, fashion):
    model, x = trained.model, fashion[1]
    usage = vae.latent_usage(model, x)
    mean, log_variance = (np.asarray(a, np.float64) for a in vae.encode(model, x))
    kl = 0.5 * (mean**2 + np.exp(log_variance) - 1.0 - log_variance)
    np.testing.assert_allclose(usage.kl_per_dimension, kl.mean(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(usage.activity, mean.var(0), rtol=1e-4, atol=1e-7)
    # The per-dimension terms add up to the KL of the ELBO.
    np.testing.assert_allclose(np.sum(usage.kl_per_dimension),
                               np.mean(vae.gaussian_kl(*vae.encode(model, x))), rtol=1e-5)
    assert usage.n_active == int(np.sum(mean.var(0) > 0.01)) >= 1
    assert vae.latent_usage(model, x, threshold=np.inf).n_active == 0
    with pytest.raises(ValueError, match="threshold must be >= 0"):
        vae.latent_usage(model, x, threshold=-1.0)


def test_latent_grid_layout():
    rng = np.random.default_rng(4)
    flat = _with_weights(
        lambda: vae.MLPVAE(latent_dim=2, hidden=(8,), rngs=nnx.Rngs(0)),
        **jax.tree.map(lambda leaf: rng.normal(size=leaf.shape).astype(np.float32),
                       nnx.to_pure_dict(nnx.state(nnx.eval_shape(
                           lambda: vae.MLPVAE(latent_dim=2, hidden=(8,),
                                                 rngs=nnx.Rngs(0)))))))
    grid = vae.latent_grid(flat, n=4, quantiles=(0.1, 0.9))
    assert grid.shape == (4, 4, 28, 28)
    v = scipy.stats.norm.ppf(np.linspace(0.1, 0.9, 4))
    # Row 0 is the top of the plot (largest z_2); column 3 the right (largest z_1).
    corners = vae.decode(flat, jnp.array([[v[3], v[3]], [v[1], v[0]]]))
    np.testing.assert_allclose(grid[0, 3], corners[0], atol=1e-6)
    np.testing.assert_allclose(grid[3, 1], corners[1], atol=1e-6)
    assert not np.allclose(grid[0, 0], grid[3, 3], atol=1e-3)


# ---------------------------------------------------------------------------
# Bad input.


@pytest.mark.parametrize("latent_dim", [0, -2, 2.5])
def test_latent_dim_below_one_raises(latent_dim, fashion):
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        nnx.eval_shape(lambda: vae.MLPVAE(latent_dim=latent_dim, rngs=nnx.Rngs(0)))
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        nnx.eval_shape(lambda: vae.ConvVAE(latent_dim=latent_dim, rngs=nnx.Rngs(0)))
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        vae.train_vae(fashion[0], key=KEY, latent_dim=latent_dim)


def _entry_points(model, images):
    return [lambda: vae.elbo_terms(model, images, key=KEY),
            lambda: vae.importance_log_likelihood(model, images, key=KEY, n_samples=2),
            lambda: vae.evaluate(model, images, key=KEY),
            lambda: vae.encode(model, images),
            lambda: vae.train_vae(images, key=KEY, **SETTINGS)]


def test_bad_images_raise(trained, fashion):
    model, x = trained.model, fashion[1]
    raw, _ = data.load("fashion_mnist", "test")
    with_nan = x[:4].copy()
    with_nan[0, 3, 3] = np.nan
    cases = [
        (raw[:4], r"values in \[0, 1\].*to_unit_range.*got values in \[0.0, 255.0\]"),
        (x[:4] - 0.5, r"values in \[0, 1\]"),
        (with_nan, r"values in \[0, 1\]"),
        (x[:4, :27], r"shape \[n, 28, 28\] with n >= 1; got \(4, 27, 28\)"),
        (x[:4].reshape(4, 784), r"shape \[n, 28, 28\]"),
        (x[:0], r"n >= 1"),
    ]
    for images, message in cases:
        for call in _entry_points(model, images):
            with pytest.raises(ValueError, match=message):
                call()
    with pytest.raises(ValueError, match=r"images must have shape \[n, 28, 28\] for this model"):
        jax.eval_shape(model.encode, jax.ShapeDtypeStruct((2, 28, 27), jnp.float32))
    with pytest.raises(ValueError, match=r"z must have shape \[n, 4\]"):
        vae.decode(model, np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="only finite latent codes"):
        vae.decode(model, np.full((3, 4), np.inf, np.float32))
    with pytest.raises(ValueError, match="multiples of 4"):
        nnx.eval_shape(lambda: vae.ConvVAE(image_shape=(30, 30), rngs=nnx.Rngs(0)))
    with pytest.raises(ValueError, match="Unknown architecture 'rnn'; accepted: 'mlp', 'conv'"):
        vae.train_vae(x, key=KEY, architecture="rnn")
    with pytest.raises(ValueError, match="Unknown activation 'sigmoidish'; accepted: 'relu'"):
        nnx.eval_shape(lambda: vae.MLPVAE(activation="sigmoidish", rngs=nnx.Rngs(0)))
    with pytest.raises(ValueError, match="latent_grid needs a 2-d latent space"):
        vae.latent_grid(model)


@pytest.mark.parametrize("settings,message", [
    ({"learning_rate": -1e-3}, r"learning_rate must be > 0.0; got -0.001"),
    ({"learning_rate": 0.0}, r"learning_rate must be > 0.0"),
    ({"learning_rate": float("nan")}, r"learning_rate contains 1 NaN"),
    ({"beta": -1.0}, r"beta must be >= 0.0; got -1.0"),
])
def test_train_vae_refuses_a_non_positive_learning_rate_and_a_negative_beta(fashion, settings,
                                                                           message):
    with pytest.raises(ValueError, match=message):
        vae.train_vae(fashion[0], key=KEY, **{**SETTINGS, **settings})


def test_importance_log_likelihood_refuses_grey_images(trained, fashion):
    with pytest.raises(ValueError, match=r"images must be binary .* importance_log_likelihood"):
        vae.importance_log_likelihood(trained.model, fashion[1][:4], key=KEY, n_samples=2)
