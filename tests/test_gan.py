"""Tests for jaxselforg.gan: the Keras architectures (parameter counts), the objectives
against float64 numpy formulas, the gradient penalty on critics with known gradients,
the discriminator held fixed (parameters and BatchNorm statistics bit for bit) in the
generator's phase, exact resume, the seed sweep against single runs, samplers and the
input checks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxselforg import data, gan, train


def _n_params(module) -> int:
    return sum(leaf.size for leaf in jax.tree.leaves(nnx.state(module, nnx.Param)))


@pytest.fixture(scope="module")
def mnist():
    images, labels = data.load("mnist", "train")
    return data.to_unit_range(images[:128]), labels[:128]


# Small networks for the training tests: compile time dominates.
_SMALL = {"architecture": "mlp", "latent_dim": 8, "generator_widths": (16,),
          "discriminator_widths": (16,), "batch_size": 32, "progress": False}


def test_dcgan_has_the_keras_example_parameter_counts():
    # keras-io dcgan_overriding_train_step.py (MNIST): 1,339,905 and 74,625 parameters.
    g = nnx.eval_shape(lambda: gan.Generator("dcgan", latent_dim=128, rngs=nnx.Rngs(0)))
    d = nnx.eval_shape(lambda: gan.Discriminator("dcgan", rngs=nnx.Rngs(0)))
    assert (_n_params(g), _n_params(d)) == (1_339_905, 74_625)
    # Conditional: 128 + 10 generator inputs; 1 + 10 discriminator input channels.
    gc = nnx.eval_shape(lambda: gan.Generator("dcgan", code_dim=10, rngs=nnx.Rngs(0)))
    dc = nnx.eval_shape(lambda: gan.Discriminator("dcgan", n_classes=10, rngs=nnx.Rngs(0)))
    assert _n_params(gc) - _n_params(g) == 10 * 7 * 7 * 128
    assert _n_params(dc) - _n_params(d) == 10 * 9 * 64


def test_networks_map_shapes_and_ranges():
    g = gan.Generator("dcgan", latent_dim=6, code_dim=3, widths=(4, 4), rngs=nnx.Rngs(0))
    d = gan.Discriminator("dcgan", n_classes=3, widths=(4, 4), rngs=nnx.Rngs(1))
    z, code = jnp.ones((5, 6)), jax.nn.one_hot(jnp.arange(5) % 3, 3)
    images = g(z, code)
    assert images.shape == (5, 28, 28) and bool(jnp.all((images > 0) & (images < 1)))
    assert d(images, code).shape == (5,)
    # Radford et al.'s discriminator reads every pixel of the last maps: 7 x 7 x 4 features.
    flat = gan.Discriminator("dcgan", widths=(4, 4), pool="flatten", rngs=nnx.Rngs(1))
    assert flat.trunk.out_features == 7 * 7 * 4 and flat(images).shape == (5,)
    with pytest.raises(ValueError, match="pool applies to the DCGAN discriminator"):
        gan.Discriminator("mlp", pool="max", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="Unknown pool 'min'"):
        gan.Discriminator("dcgan", pool="min", rngs=nnx.Rngs(0))
    info = gan.Discriminator("mlp", q_dim=12, widths=(8,), rngs=nnx.Rngs(2))
    logit, q = info.heads(images)
    np.testing.assert_array_equal(logit, info(images))
    assert q.shape == (5, 12)
    with pytest.raises(ValueError, match=r"needs a code .* of shape \[5, 3\]"):
        g(z)
    with pytest.raises(ValueError, match=r"one-hot labels of shape \[5, 3\]"):
        d(images)
    with pytest.raises(ValueError, match="no InfoGAN head"):
        d.heads(images, code)
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        gan.Generator("mlp", latent_dim=0, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="Unknown architecture 'resnet'"):
        gan.Discriminator("resnet", rngs=nnx.Rngs(0))


def _bce_reference(real, fake):
    real, fake = np.float64(real), np.float64(fake)
    d_real, d_fake = 1 / (1 + np.exp(-real)), 1 / (1 + np.exp(-fake))
    return -np.mean(np.log(d_real)) - np.mean(np.log(1 - d_fake))


def test_losses_equal_the_papers_formulas_in_float64():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=7).astype(np.float32), rng.normal(size=5).astype(np.float32)
    d_fake = 1 / (1 + np.exp(-np.float64(fake)))
    for loss in ("minimax", "non_saturating"):
        np.testing.assert_allclose(gan.discriminator_loss(real, fake, loss),
                                   _bce_reference(real, fake), rtol=1e-6)
    np.testing.assert_allclose(gan.generator_loss(fake, "minimax"),
                               np.mean(np.log(1 - d_fake)), rtol=1e-6)
    np.testing.assert_allclose(gan.generator_loss(fake, "non_saturating"),
                               -np.mean(np.log(d_fake)), rtol=1e-6)
    np.testing.assert_allclose(gan.discriminator_loss(real, fake, "wasserstein_gp"),
                               np.mean(fake) - np.mean(real), rtol=1e-6)
    np.testing.assert_allclose(gan.generator_loss(fake, "wasserstein_gp"), -np.mean(fake),
                               rtol=1e-6)
    # Why the non-saturating loss: where D rejects the samples (logit -10, D ~ 5e-5) the
    # minimax generator's gradient vanishes and the non-saturating one does not.
    rejected = jnp.full((4,), -10.0)
    minimax = jax.grad(lambda l: gan.generator_loss(l, "minimax"))(rejected)
    saturating = jax.grad(lambda l: gan.generator_loss(l, "non_saturating"))(rejected)
    assert float(jnp.max(jnp.abs(minimax))) < 1e-4
    assert float(jnp.min(jnp.abs(saturating))) > 0.2
    with pytest.raises(ValueError, match="Unknown loss 'hinge'"):
        gan.generator_loss(fake, "hinge")


def test_gradient_penalty_on_critics_with_known_gradients():
    key = jax.random.key(0)
    real, fake = jnp.ones((6, 4, 4)), jnp.zeros((6, 4, 4))
    w = jax.random.normal(jax.random.key(1), (4, 4))
    linear = lambda x: jnp.sum(x * w, axis=(1, 2))  # gradient w everywhere
    np.testing.assert_allclose(gan.gradient_penalty(linear, real, fake, key),
                               (jnp.linalg.norm(w) - 1) ** 2, rtol=1e-5)
    # A flat critic: zero gradient, penalty 1, and its own gradient finite (no sqrt(0) NaN).
    flat = lambda x: 0.0 * jnp.sum(x, axis=(1, 2))
    np.testing.assert_allclose(gan.gradient_penalty(flat, real, fake, key), 1.0, rtol=1e-5)
    grad = jax.grad(lambda s: gan.gradient_penalty(lambda x: s * jnp.sum(x, axis=(1, 2)),
                                                   real, fake, key))(0.0)
    assert bool(jnp.isfinite(grad))
    # eps ~ U[0, 1]: f(x) = 1/2 ||x||^2 has gradient x_hat = eps (real ones, fake zeros),
    # so the norms are 4 eps, inside [0, 4] (a normal eps would leave it).
    square = lambda x: 0.5 * jnp.sum(x**2, axis=(1, 2))
    many_real, many_fake = jnp.ones((2000, 4, 4)), jnp.zeros((2000, 4, 4))
    penalty = gan.gradient_penalty(square, many_real, many_fake, key)
    # E[(4 eps - 1)^2] for eps ~ U[0, 1] is 16/3 - 4 + 1 = 7/3.
    np.testing.assert_allclose(penalty, 7 / 3, rtol=0.05)


def test_generator_phase_holds_the_discriminator_fixed_bit_for_bit(mnist):
    images = mnist[0][:16]
    objective = gan.GANObjective("non_saturating", latent_dim=4)
    factories = {"generator": lambda rngs: gan.Generator("mlp", latent_dim=4, widths=(8,),
                                                         batch_norm=True, rngs=rngs),
                 "discriminator": lambda rngs: gan.Discriminator("mlp", widths=(8,),
                                                                 batch_norm=True, rngs=rngs)}
    optimizers = {"generator": gan.OPTIMIZER, "discriminator": gan.OPTIMIZER}
    graphdefs, state = train.create_state(factories, optimizers, key=jax.random.key(0),
                                          hyperparams={"gp_weight": 0.0, "info_weight": 0.0})
    g_only = train.make_alternating_step(graphdefs, optimizers,
                                         [train.Phase("generator", objective.generator)])
    new, metrics = jax.jit(g_only)(state, images)
    for part in ("params", "model_state", "opt_state"):
        jax.tree.map(np.testing.assert_array_equal, getattr(state, part)["discriminator"],
                     getattr(new, part)["discriminator"])
    assert not np.array_equal(state.params["generator"]["net"]["layers"][0]["kernel"],
                              new.params["generator"]["net"]["layers"][0]["kernel"])
    # The generator's own statistics moved, and D called in train mode would have moved
    # its own: the test can fail.
    assert not np.array_equal(state.model_state["generator"]["net"]["norms"][0]["mean"],
                              new.model_state["generator"]["net"]["norms"][0]["mean"])
    d = train.get_model(graphdefs, state, "discriminator")
    before = np.asarray(d.trunk.norms[0].mean[...])
    d(images, train=True)
    assert not np.array_equal(before, d.trunk.norms[0].mean[...])
    assert np.isfinite(float(metrics["loss"]))  # one phase: unprefixed


def test_train_gan_resumes_exactly_and_logs_both_players(mnist, tmp_path, compilations):
    images = mnist[0]
    straight = gan.train_gan(images, key=jax.random.key(3), epochs=2, **_SMALL)
    gan.train_gan(images, key=jax.random.key(3), epochs=1, checkpoint_dir=tmp_path / "ckpt",
                  **_SMALL)
    with compilations() as compiled:
        resumed = gan.train_gan(images, key=jax.random.key(3), epochs=2,
                                checkpoint_dir=tmp_path / "ckpt",
                                metrics_path=tmp_path / "m.jsonl", **_SMALL)
    # The same settings again (a resume, a snapshot): the compiled epoch is reused.
    assert "jit(checked)" not in compiled, compiled
    jax.tree.map(np.testing.assert_array_equal, straight.state.params, resumed.state.params)
    for name in ("generator/loss", "discriminator/loss", "discriminator/d_real",
                 "discriminator/d_fake", "generator/d_fake"):
        assert np.all(np.isfinite(straight.history[name])), name
    d_real, d_fake = straight.history["discriminator/d_real"], straight.history[
        "discriminator/d_fake"]
    assert np.all((0 < d_real) & (d_real < 1) & (0 < d_fake) & (d_fake < 1))
    with pytest.raises(train.CheckpointMismatchError):
        gan.train_gan(images, key=jax.random.key(3), epochs=2, loss="minimax",
                      checkpoint_dir=tmp_path / "ckpt", **_SMALL)


def test_seed_sweep_is_the_single_runs_in_one_program(mnist):
    images = mnist[0]
    keys = jax.random.split(jax.random.key(5), 2)
    seen = []
    sweep = gan.train_gan(images, key=keys, epochs=1,
                          evaluate=lambda g: seen.append(g) or {"mean_pixel": float(
                              jnp.mean(gan.sample(g, 8, key=jax.random.key(0))))}, **_SMALL)
    assert sweep.n_runs == 2 and len(seen) == 2
    # The fully connected GAN's default: BatchNorm in the generator only.
    generator, discriminator = sweep.generator_of(0), sweep.discriminator_of(0)
    assert generator.net.norms[0] is not None and discriminator.trunk.norms[0] is None
    assert sweep.history["mean_pixel"].shape == (1, 2)
    single = gan.train_gan(images, key=keys[1], epochs=1, **_SMALL)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6),
                 train.select_run(sweep.state.params, 1), single.state.params)
    with pytest.raises(ValueError, match="Name the run of a sweep"):
        sweep.generator  # noqa: B018


def test_train_gans_dcgan_discriminator_flattens_its_maps_unless_told(mnist):
    tiny = {"architecture": "dcgan", "latent_dim": 2, "generator_widths": (2, 2),
            "discriminator_widths": (2, 2), "batch_size": 32, "epochs": 1, "progress": False}
    default = gan.train_gan(mnist[0][:32], key=jax.random.key(0), **tiny)
    assert default.discriminator.trunk.pool == "flatten"  # Radford et al.: learns faster
    keras = gan.train_gan(mnist[0][:32], key=jax.random.key(0), discriminator_pool="max",
                          **tiny)
    assert keras.discriminator.trunk.pool == "max"


def test_conditional_wgan_gp_and_infogan_train_and_sample(mnist):
    images, labels = mnist
    cgan = gan.train_gan(images, labels, key=jax.random.key(0), conditional=True,
                         loss="wasserstein_gp", n_critic=2, epochs=1, **_SMALL)
    assert "discriminator/gradient_penalty" in cgan.history
    rows = gan.class_rows(cgan.generator, 3, key=jax.random.key(1))
    assert rows.shape == (10, 3, 28, 28)
    info = gan.InfoCodes(4, 2)
    infogan = gan.train_gan(images, key=jax.random.key(0), info=info, epochs=1, **_SMALL)
    assert np.all(np.isfinite(infogan.history["generator/info_loss"]))
    traversal = gan.code_traversal(infogan.generator, info, key=jax.random.key(2),
                                   continuous_index=1, values=[-1.0, 0.0, 1.0])
    assert traversal.shape == (4, 3, 28, 28)
    # Row r of the traversal is category r: equal to generating from its code directly.
    z = jax.random.normal(jax.random.key(2), (1, 8))
    direct = gan.generate(infogan.generator, z, info.code(jnp.array([2]), jnp.array([[0., 1.]])))
    np.testing.assert_allclose(traversal[2, 2], direct[0], rtol=1e-5, atol=1e-6)
    line = gan.interpolate(infogan.generator, z[0], -z[0], steps=5,
                           code=info.code(jnp.array([0]), jnp.zeros((1, 2)))[0])
    np.testing.assert_allclose(line[0], traversal[0, 1], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        gan.sample(cgan.generator, 2, key=jax.random.key(0), labels=jnp.array([3, 10]))
    with pytest.raises(ValueError, match="needs a code"):
        gan.sample(cgan.generator, 2, key=jax.random.key(0))


@pytest.mark.parametrize("settings, message", [
    ({"latent_dim": 0}, "latent_dim must be a positive integer"),
    ({"n_critic": 0}, "n_critic must be a positive integer"),
    ({"gp_weight": -1.0}, "gp_weight must be >= 0"),
    ({"info_weight": float("nan")}, "info_weight contains 1 NaN or Inf"),
    ({"conditional": True}, "needs labels"),
    ({"loss": "wasserstein_gp", "batch_norm": True}, "must not use BatchNorm"),
    ({"batch_norm": ("generator", "critic")}, "Unknown batch_norm role 'critic'"),
    ({"batch_norm": 1}, "batch_norm must be True, False, None or a sequence"),
    ({"loss": "least_squares"}, "Unknown loss 'least_squares'"),
    ({"discriminator_pool": "flatten"}, "pool applies to the DCGAN discriminator"),
])
def test_bad_settings_are_refused(mnist, settings, message):
    with pytest.raises(ValueError, match=message):
        gan.train_gan(mnist[0], key=jax.random.key(0), **{**_SMALL, **settings})


def test_bad_data_is_refused(mnist):
    images, labels = mnist
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        gan.train_gan(images * 255, key=jax.random.key(0), **_SMALL)
    with pytest.raises(ValueError, match=r"images must be \[n, h, w\]"):
        gan.train_gan(images.reshape(128, -1), key=jax.random.key(0), **_SMALL)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        gan.train_gan(images, labels, key=jax.random.key(0), conditional=True, n_classes=3,
                      **_SMALL)
    with pytest.raises(ValueError, match="conditional GAN only"):
        gan.train_gan(images, labels, key=jax.random.key(0), **_SMALL)
    with pytest.raises(ValueError, match=r"jax.random.key\(0\)"):
        gan.train_gan(images, key=0, **_SMALL)
