"""Tests for jaxselforg.nn: the matrix-product convolutions against Flax's, the MLP
against a numpy forward pass, explicit train/eval mode (dropout, BatchNorm), the
encoder/decoder shapes and the input checks."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from flax import nnx

from jaxselforg import nn


def _with_weights(module_fn, **values):
    """A module built without running its random initializers, holding ``values``."""
    module = nnx.eval_shape(module_fn)
    nnx.update(module, nnx.State(values))
    return module


@pytest.mark.parametrize("kernel_size", [3, 4])  # the VAE's and the Keras DCGAN's
def test_conv_transpose_equals_flax_conv_transpose(kernel_size):
    rng = np.random.default_rng(3)
    kernel = rng.normal(size=(kernel_size, kernel_size, 5, 3)).astype(np.float32)
    bias = rng.normal(size=3).astype(np.float32)
    ours = _with_weights(lambda: nn.ConvTranspose2x(5, 3, kernel_size=kernel_size,
                                                    rngs=nnx.Rngs(0)), kernel=kernel, bias=bias)
    flax_layer = _with_weights(
        lambda: nnx.ConvTranspose(5, 3, (kernel_size, kernel_size), strides=2, padding="SAME",
                                  rngs=nnx.Rngs(0)), kernel=kernel, bias=bias)
    for shape in [(2, 7, 7, 5), (1, 3, 6, 5)]:
        x = rng.normal(size=shape).astype(np.float32)
        mine = ours(x)
        assert mine.shape == (shape[0], 2 * shape[1], 2 * shape[2], 3)
        np.testing.assert_allclose(mine, flax_layer(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("in_features, out_features, stride, side, kernel_size", [
    (1, 4, 2, 28, 3), (3, 4, 2, 7, 3), (4, 3, 1, 9, 3), (3, 4, 1, 6, 3),  # im2col / taps first
    (4, 1, 1, 7, 7), (2, 3, 2, 8, 4)])  # the DCGAN generator's 7x7 output; an even kernel
def test_conv_equals_flax_conv(in_features, out_features, stride, side, kernel_size):
    rng = np.random.default_rng(5)
    shape = (kernel_size, kernel_size, in_features, out_features)
    kernel = rng.normal(size=shape).astype(np.float32)
    bias = rng.normal(size=out_features).astype(np.float32)
    ours = _with_weights(lambda: nn.Conv(in_features, out_features, stride,
                                         kernel_size=kernel_size, rngs=nnx.Rngs(0)),
                         kernel=kernel, bias=bias)
    flax_layer = _with_weights(
        lambda: nnx.Conv(in_features, out_features, (kernel_size, kernel_size), strides=stride,
                         padding="SAME", rngs=nnx.Rngs(0)), kernel=kernel, bias=bias)
    x = rng.normal(size=(2, side, side + 1, in_features)).astype(np.float32)
    np.testing.assert_allclose(ours(x), flax_layer(x), rtol=1e-5, atol=1e-5)
    # Same initialization as nnx.Conv from the same key.
    fresh = nn.Conv(in_features, out_features, stride, kernel_size=kernel_size,
                    rngs=nnx.Rngs(1))
    reference = nnx.Conv(in_features, out_features, (kernel_size, kernel_size), strides=stride,
                         rngs=nnx.Rngs(1))
    np.testing.assert_array_equal(fresh.kernel[...], reference.kernel[...])
    with pytest.raises(ValueError, match="stride must be 1 or 2"):
        nn.Conv(1, 1, 3, rngs=nnx.Rngs(0))


def test_mlp_is_the_dense_forward_pass():
    net = nn.MLP(6, (5, 3), activation="tanh", rngs=nnx.Rngs(0))
    x = np.random.default_rng(0).normal(size=(4, 2, 3)).astype(np.float32)  # flattened to 6
    (w1, w2), (b1, b2) = ([np.asarray(getattr(layer, name)[...]) for layer in net.layers]
                          for name in ("kernel", "bias"))
    expected = np.tanh(x.reshape(4, 6) @ w1 + b1) @ w2 + b2
    np.testing.assert_allclose(net(x), expected, rtol=1e-5, atol=1e-6)
    final = nn.MLP(6, (5, 3), activation="tanh", activate_final=True, rngs=nnx.Rngs(0))
    np.testing.assert_allclose(final(x), np.tanh(expected), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="expects 6 input features"):
        net(np.zeros((4, 7), np.float32))
    with pytest.raises(ValueError, match="at least one layer width"):
        nn.MLP(6, (), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="Unknown activation 'sigmoidal'"):
        nn.MLP(6, (5,), activation="sigmoidal", rngs=nnx.Rngs(0))


def test_dropout_only_in_train_mode_and_needs_a_key():
    net = nn.MLP(8, (64, 2), dropout=0.5, rngs=nnx.Rngs(0))
    plain = nn.MLP(8, (64, 2), rngs=nnx.Rngs(0))  # the same weights, no dropout
    x = np.random.default_rng(1).normal(size=(3, 8)).astype(np.float32)
    np.testing.assert_array_equal(net(x), plain(x))  # eval (the default): no masks
    np.testing.assert_array_equal(net(x, train=False), plain(x))
    a = net(x, train=True, key=jax.random.key(0))
    assert not np.allclose(a, plain(x))
    np.testing.assert_array_equal(a, net(x, train=True, key=jax.random.key(0)))  # key-driven
    assert not np.allclose(a, net(x, train=True, key=jax.random.key(1)))
    with pytest.raises(ValueError, match="MLP has dropout.*needs key="):
        net(x, train=True)
    with pytest.raises(ValueError, match=r"dropout rate must be in \[0, 1\)"):
        nn.MLP(8, (4,), dropout=1.0, rngs=nnx.Rngs(0))
    plain(x, train=True)  # no dropout: no key needed


def test_batch_norm_train_uses_and_updates_statistics_eval_does_neither():
    net = nn.MLP(3, (4, 2), batch_norm=True, rngs=nnx.Rngs(0))
    x = 5.0 + 2.0 * np.random.default_rng(2).normal(size=(16, 3)).astype(np.float32)
    before = jax.tree.map(np.array, nnx.state(net, nnx.BatchStat))
    eval_out = net(x)
    after_eval = nnx.state(net, nnx.BatchStat)
    for a, e in zip(jax.tree.leaves(after_eval), jax.tree.leaves(before), strict=True):
        np.testing.assert_array_equal(a, e)
    net(x, train=True)
    norm = net.norms[0]
    assert net.layers[0].bias is None  # before a BatchNorm, whose shift replaces it
    h = x @ np.asarray(net.layers[0].kernel[...])
    # Running averages move 10% of the way to the batch's (momentum 0.9).
    np.testing.assert_allclose(norm.mean[...], 0.1 * h.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(norm.var[...], 0.9 + 0.1 * h.var(0), rtol=1e-5)
    # Train mode normalizes with the batch's own statistics: unit-variance features.
    train_hidden = (h - h.mean(0)) / np.sqrt(h.var(0) + 1e-5)
    np.testing.assert_allclose(train_hidden.std(0), 1.0, rtol=1e-3)
    assert not np.allclose(net(x), eval_out)  # eval now uses the updated averages


def test_a_layer_before_a_batch_norm_has_no_bias():
    # The norm's shift replaces the bias, whose gradient is exactly zero: Adam would turn
    # its rounding noise into full-size steps (a vmapped sweep then differs from its runs).
    encoder = nnx.eval_shape(lambda: nn.ConvEncoder((8, 8), (2, 3, 4), 5, batch_norm=True,
                                                    rngs=nnx.Rngs(0)))
    assert [conv.bias is None for conv in encoder.convs] == [False, True, True]
    assert encoder.dense.bias is not None  # no norm after the dense layer
    decoder = nnx.eval_shape(lambda: nn.ConvDecoder(3, (8, 8), (4, 2), batch_norm=True,
                                                    rngs=nnx.Rngs(0)))
    assert decoder.expand.bias is None and all(d.bias is None for d in decoder.deconvs)
    assert decoder.output.bias is not None
    mlp = nnx.eval_shape(lambda: nn.MLP(3, (4, 4, 2), batch_norm=True, rngs=nnx.Rngs(0)))
    assert [layer.bias is None for layer in mlp.layers] == [True, True, False]
    plain = nnx.eval_shape(lambda: nn.ConvDecoder(3, (8, 8), (4, 2), rngs=nnx.Rngs(0)))
    assert plain.expand.bias is not None and all(d.bias is not None for d in plain.deconvs)


def test_conv_encoder_decoder_shapes_and_checks():
    enc = nn.ConvEncoder((8, 12), (4, 6), 5, in_channels=3, activation="leaky_relu",
                         batch_norm=True, dropout=0.25, rngs=nnx.Rngs(0))
    assert enc.norms[0] is None and enc.norms[1] is not None  # DCGAN: no BN on the input layer
    x = np.random.default_rng(3).random((2, 8, 12, 3)).astype(np.float32)
    assert enc(x).shape == (2, 5)
    assert enc(x, train=True, key=jax.random.key(0)).shape == (2, 5)
    with pytest.raises(ValueError, match="ConvEncoder has dropout"):
        enc(x, train=True)
    with pytest.raises(ValueError, match=r"expects images \[n, 8, 12, 3\]"):
        enc(x[..., 0])
    flat = nn.ConvEncoder((8, 8), (4,), None, rngs=nnx.Rngs(0))
    assert flat(np.zeros((2, 8, 8), np.float32)).shape == (2, 4 * 4 * 4) == (2, flat.out_features)
    with pytest.raises(ValueError, match="multiples of 4"):
        nn.ConvEncoder((28, 30), (32, 64), rngs=nnx.Rngs(0))
    dec = nn.ConvDecoder(3, (8, 12), (6, 4), rngs=nnx.Rngs(0))
    assert dec(np.zeros((2, 3), np.float32)).shape == (2, 8, 12)
    rgb = nn.ConvDecoder(3, (8, 12), (6, 4), out_channels=3, batch_norm=True, rngs=nnx.Rngs(0))
    assert rgb(np.zeros((2, 3), np.float32), train=True).shape == (2, 8, 12, 3)
    with pytest.raises(ValueError, match=r"expects inputs \[n, 3\]"):
        dec(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="at least one convolution"):
        nn.ConvDecoder(3, (8, 8), (), rngs=nnx.Rngs(0))


def test_conv_encoder_vgg_stages_are_the_composed_flax_convolutions():
    # stride1_convs = 1: each stage is conv(stride 1) -> conv(stride 2), every block
    # conv -> activation here (no BatchNorm), then the dense layer: Flax's layers composed.
    enc = nn.ConvEncoder((8, 8), (3, 4), 5, stride1_convs=1, rngs=nnx.Rngs(1))
    assert [conv.stride for conv in enc.convs] == [1, 2, 1, 2]
    assert [conv.kernel.shape[2:] for conv in enc.convs] == [(1, 3), (3, 3), (3, 4), (4, 4)]
    x = np.random.default_rng(4).random((2, 8, 8)).astype(np.float32)
    h = x[..., None]
    for conv in enc.convs:
        flax_conv = nnx.Conv(*conv.kernel.shape[2:], (3, 3), strides=conv.stride,
                             padding="SAME", rngs=nnx.Rngs(0))
        flax_conv.kernel[...] = conv.kernel[...]
        flax_conv.bias[...] = conv.bias[...]
        h = jax.nn.relu(flax_conv(h))
    expected = jax.nn.relu(enc.dense(h.reshape(2, -1)))
    np.testing.assert_allclose(enc(x), expected, rtol=1e-5, atol=1e-6)
    bn = nnx.eval_shape(lambda: nn.ConvEncoder((8, 8), (3, 4), 5, stride1_convs=2,
                                               batch_norm=True, rngs=nnx.Rngs(0)))
    assert len(bn.convs) == 6 and bn.norms[0] is None and all(bn.norms[1:])
    with pytest.raises(ValueError, match=r"stride1_convs must be an integer >= 0; got -1"):
        nn.ConvEncoder((8, 8), (3,), stride1_convs=-1, rngs=nnx.Rngs(0))


def test_gaussian_head():
    head = nn.GaussianHead(4, 2, rngs=nnx.Rngs(0))
    h = np.ones((3, 4), np.float32)
    mean, log_variance = head(h)
    np.testing.assert_allclose(mean, h @ np.asarray(head.mean.kernel[...])
                               + np.asarray(head.mean.bias[...]), rtol=1e-6)
    assert log_variance.shape == (3, 2) and not np.allclose(mean, log_variance)
    with pytest.raises(ValueError, match="latent_dim"):
        nn.GaussianHead(4, 0, rngs=nnx.Rngs(0))


def test_n_parameters_counts_trainable_values_not_batch_norm_statistics():
    mlp = nn.MLP(5, (4, 3), rngs=nnx.Rngs(0))
    assert nn.n_parameters(mlp) == 5 * 4 + 4 + 4 * 3 + 3
    normed = nn.MLP(5, (4, 3), batch_norm=True, rngs=nnx.Rngs(0))
    # No bias before the norm; its scale and shift are parameters, its running mean and
    # variance are not.
    assert nn.n_parameters(normed) == 5 * 4 + 4 + 4 + 4 * 3 + 3
