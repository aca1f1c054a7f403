"""Layers and activations shared by every network of the library.

``Conv`` and ``ConvTranspose2x`` compute the same functions as ``nnx.Conv`` and
``nnx.ConvTranspose`` with square kernels and "SAME" padding, as matrix products
(see their docstrings for why); ``ACTIVATIONS`` names the nonlinearities a network
can be built with.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import nnx

from jaxselforg import _validation

__all__ = ["ACTIVATIONS", "Conv", "ConvTranspose2x", "activation"]

ACTIVATIONS = {
    "relu": jax.nn.relu,
    "leaky_relu": functools.partial(jax.nn.leaky_relu, negative_slope=0.2),  # DCGAN's slope
    "tanh": jnp.tanh,
    "gelu": jax.nn.gelu,
    "elu": jax.nn.elu,
    "softplus": jax.nn.softplus,
}


def activation(name: str):
    """The nonlinearity called ``name`` (one of ``ACTIVATIONS``).

    Raises:
      ValueError: an unknown name (the message lists the accepted ones).
    """
    return ACTIVATIONS[_validation.choice(name, tuple(ACTIVATIONS), "activation")]


class _SquareKernel(nnx.Module):
    """The parameters of a k x k (transposed) convolution: a ``[k, k, in, out]`` kernel
    and a bias ``[out]`` (none with ``use_bias=False``: before a BatchNorm, whose shift
    replaces it), initialized as ``nnx.Conv``'s (LeCun normal, zeros)."""

    def __init__(self, in_features: int, out_features: int, *, kernel_size: int = 3,
                 use_bias: bool = True, rngs: nnx.Rngs):
        self.kernel_size = _validation.positive_int(kernel_size, "kernel_size")
        k = self.kernel_size
        self.kernel = nnx.Param(nnx.initializers.lecun_normal()(
            rngs.params(), (k, k, in_features, out_features)))
        self.bias = nnx.Param(jnp.zeros((out_features,))) if use_bias else None

    def _add_bias(self, y: jax.Array) -> jax.Array:
        return y if self.bias is None else y + self.bias[...]


class Conv(_SquareKernel):
    """A k x k convolution with stride 1 or 2 and "SAME" padding, as a matrix product.

    The same function of the same ``[k, k, in, out]`` kernel as ``nnx.Conv(in, out,
    (k, k), strides=stride, padding="SAME")``, as one matrix product: the ``k * k``
    shifted (strided) views of the padded input side by side (im2col, ``k * k * in``
    values per output pixel) times the kernel as a ``[k * k * in, out]`` matrix.
    Written out because XLA's CPU backend runs convolutions, and above all their
    gradients, several times slower inside a loop body (jax-ml/jax#12868) -- and a
    training epoch is a ``lax.scan`` -- while matrix products keep their speed.

    The exception is stride 1 with fewer outputs than inputs (an image-output layer
    such as the DCGAN generator's 7x7 conv to one channel), where im2col would
    materialize ``k * k`` copies of a wide input for a narrow output: there the ``k``
    column shifts side by side times the kernel as ``[k * in, k * out]`` give every
    kernel row's partial sums, and ``k`` row shifts of those are summed. (Summing all
    ``k * k`` shifted slices instead has a gradient that XLA's CPU backend runs an
    order of magnitude slower, and ``lax.conv_general_dilated`` becomes a slow grouped
    convolution under ``vmap``; measured for a DCGAN generator, see BENCHMARKS.md.) A test checks equality with ``nnx.Conv``.

    Args:
      in_features: input channels.
      out_features: output channels.
      stride: 1 or 2.
      kernel_size: the side k of the square kernel (3 by default).
      use_bias: add a bias (False before a BatchNorm, whose shift replaces it).
      rngs: initialization randomness (LeCun normal kernel, zero bias, as ``nnx.Conv``).
    """

    def __init__(self, in_features: int, out_features: int, stride: int = 1, *,
                 kernel_size: int = 3, use_bias: bool = True, rngs: nnx.Rngs):
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2; got {stride!r}.")
        self.stride = stride
        super().__init__(in_features, out_features, kernel_size=kernel_size,
                         use_bias=use_bias, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        n, h, w, c = x.shape
        kernel = self.kernel[...]
        k, k_out = kernel.shape[0], kernel.shape[3]
        s = self.stride
        out_h, out_w = -(-h // s), -(-w // s)
        # "SAME": total padding (out - 1) * s + k - side, the smaller half before.
        pad_h, pad_w = (out_h - 1) * s + k - h, (out_w - 1) * s + k - w
        pads = [(pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)]
        offsets = [(u, v) for u in range(k) for v in range(k)]
        if s == 1 and k_out < c:
            # Row-wise im2col: the k column shifts side by side times [k * in, k * out]
            # (all kernel rows at once), then the k row shifts summed.
            padded = jnp.pad(x, [(0, 0), *pads, (0, 0)])
            columns = jnp.concatenate([padded[:, :, v:v + w] for v in range(k)], axis=-1)
            taps = columns @ kernel.transpose(1, 2, 0, 3).reshape(k * c, k * k_out)
            taps = taps.reshape(n, h + k - 1, w, k, k_out)
            y = sum(taps[:, u:u + h, :, u] for u in range(k))
        else:
            padded = jnp.pad(x, [(0, 0), *pads, (0, 0)])
            patches = jnp.concatenate(
                [padded[:, u:u + s * (out_h - 1) + 1:s, v:v + s * (out_w - 1) + 1:s]
                 for u, v in offsets], axis=-1)  # [n, oh, ow, (u, v, in)]
            y = patches @ kernel.reshape(k * k * c, k_out)
        return self._add_bias(y)


def _transpose_taps(kernel_size: int):
    """For each output phase a (0, 1) of a stride-2 "SAME" transposed convolution, the
    kernel tap that each input offset d (relative to i = o // 2) contributes.

    ``lax.conv_transpose`` with "SAME" padding correlates the kernel with the input
    dilated by 2 and padded by ``pad = k - 1 if k < 3 else ceil(k / 2)`` before:
    ``y[o] = sum_t k[t] xd[o + t - pad]``, ``xd[2 i] = x[i]``. So output 2m + a gets tap
    t from input m + d with d = (a + t - pad) / 2 when that is an integer.

    Returns:
      ``(offsets, table)``: the input offsets d (ascending) and a ``[2, len(offsets)]``
      table of taps, ``kernel_size`` (an appended zero tap) where none.
    """
    k = kernel_size
    pad = k - 1 if k < 3 else -(-k // 2)
    pairs = {(a, (a + t - pad) // 2): t for a in (0, 1) for t in range(k)
             if (a + t - pad) % 2 == 0}
    offsets = sorted({d for _, d in pairs})
    table = [[pairs.get((a, d), k) for d in offsets] for a in (0, 1)]
    return offsets, table


class ConvTranspose2x(_SquareKernel):
    """A k x k transposed convolution with stride 2 and "SAME" padding (doubles h and w).

    The same function of the same ``[k, k, in, out]`` kernel as
    ``nnx.ConvTranspose(in, out, (k, k), strides=2, padding="SAME")`` (Keras'
    ``Conv2DTranspose(out, k, strides=2, padding="same")``), computed as a sub-pixel
    convolution: output pixel (2i + a, 2j + b) only sees the kernel taps of its
    phase (a, b); for k = 3, along each axis,

        y[2i] = k[0] x[i - 1] + k[2] x[i],    y[2i + 1] = k[1] x[i],

    and for k = 4 (DCGAN's) ``y[2i] = k[0] x[i - 1] + k[2] x[i]``, ``y[2i + 1] = k[1] x[i]
    + k[3] x[i + 1]``. So the neighbourhoods of the input offsets the taps reach
    (im2col) times one ``[d * d * in, 4 * out]`` matrix of taps give all four phases,
    and a depth-to-space reshape interleaves them. Written out because XLA's CPU
    backend differentiates ``lax.conv_transpose`` (an input-dilated convolution)
    several times slower than a matrix product, the more so inside a loop body (see
    :class:`Conv`); a test checks equality with ``nnx.ConvTranspose``.

    Args:
      in_features: input channels.
      out_features: output channels.
      kernel_size: the side k of the square kernel (3 by default).
      use_bias: add a bias (False before a BatchNorm, whose shift replaces it).
      rngs: initialization randomness (LeCun normal kernel, zero bias, as ``nnx.Conv``).
    """

    def __call__(self, x: jax.Array) -> jax.Array:
        n, h, w, c = x.shape
        kernel = self.kernel[...]
        k, k_out = kernel.shape[0], kernel.shape[3]
        offsets, table = _transpose_taps(k)
        taps = jnp.asarray(table)
        padded = jnp.pad(kernel, [(0, 1), (0, 1), (0, 0), (0, 0)])  # index k: a zero tap
        phases = padded[taps[:, None, :, None], taps[None, :, None, :]]  # [a, b, u, v, in, out]
        n_off = len(offsets)
        matrix = phases.transpose(2, 3, 4, 0, 1, 5).reshape(n_off * n_off * c, 4 * k_out)
        before, after = -offsets[0], offsets[-1]
        shifted = jnp.pad(x, [(0, 0), (before, after), (before, after), (0, 0)])
        patches = jnp.concatenate([shifted[:, u:u + h, v:v + w] for u in range(n_off)
                                   for v in range(n_off)], axis=-1)  # [n, h, w, (u, v, in)]
        y = (patches @ matrix).reshape(n, h, w, 2, 2, k_out).transpose(0, 1, 3, 2, 4, 5)
        return self._add_bias(y.reshape(n, 2 * h, 2 * w, k_out))
