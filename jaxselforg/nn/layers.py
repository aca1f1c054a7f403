"""Layers and activations shared by every network of the library.

``Conv3x3`` and ``ConvTranspose2x`` compute the same functions as ``nnx.Conv`` and
``nnx.ConvTranspose`` with 3x3 kernels and "SAME" padding, as matrix products
(see their docstrings for why); ``ACTIVATIONS`` names the nonlinearities a network
can be built with.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import nnx

from jaxselforg import _validation

__all__ = ["ACTIVATIONS", "Conv3x3", "ConvTranspose2x", "activation"]

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


def _conv_params(in_features: int, out_features: int, rngs: nnx.Rngs):
    """A ``[3, 3, in, out]`` kernel and bias initialized as ``nnx.Conv``'s."""
    kernel = nnx.Param(nnx.initializers.lecun_normal()(
        rngs.params(), (3, 3, in_features, out_features)))
    return kernel, nnx.Param(jnp.zeros((out_features,)))


class Conv3x3(nnx.Module):
    """A 3x3 convolution with stride 1 or 2 and "SAME" padding, as a matrix product.

    The same function of the same ``[3, 3, in, out]`` kernel as ``nnx.Conv(in, out,
    (3, 3), strides=stride, padding="SAME")``, as matrix products, in whichever of two
    orders materializes less: the nine shifted (strided) views of the padded input
    side by side (im2col, ``9 * in`` values per output pixel) times the kernel as a
    ``[9 * in, out]`` matrix; or, for stride 1 with fewer outputs than inputs (a
    logits layer), the input times the kernel as ``[in, 9 * out]`` first and the
    nine shifted slices of that summed (``9 * out`` values per pixel). Written out
    because XLA's CPU backend runs convolutions, and above all their gradients,
    several times slower inside a loop body (jax-ml/jax#12868) -- and a training
    epoch is a ``lax.scan`` -- while matrix products keep their speed; a test checks
    equality with ``nnx.Conv``.

    Args:
      in_features: input channels.
      out_features: output channels.
      stride: 1 or 2.
      rngs: initialization randomness (LeCun normal kernel, zero bias, as ``nnx.Conv``).
    """

    def __init__(self, in_features: int, out_features: int, stride: int = 1, *,
                 rngs: nnx.Rngs):
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2; got {stride!r}.")
        self.stride = stride
        self.kernel, self.bias = _conv_params(in_features, out_features, rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        n, h, w, c = x.shape
        kernel = self.kernel[...]
        k_out = kernel.shape[3]
        s = self.stride
        out_h, out_w = -(-h // s), -(-w // s)
        # "SAME": total padding (out - 1) * s + 3 - side, the smaller half before.
        pad_h, pad_w = (out_h - 1) * s + 3 - h, (out_w - 1) * s + 3 - w
        pads = [(pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)]
        if s == 1 and k_out < c:
            taps = x @ kernel.transpose(2, 0, 1, 3).reshape(c, 9 * k_out)
            taps = jnp.pad(taps.reshape(n, h, w, 9, k_out), [(0, 0), *pads, (0, 0), (0, 0)])
            y = sum(taps[:, u:u + h, v:v + w, 3 * u + v] for u in range(3) for v in range(3))
        else:
            padded = jnp.pad(x, [(0, 0), *pads, (0, 0)])
            patches = jnp.concatenate(
                [padded[:, u:u + s * (out_h - 1) + 1:s, v:v + s * (out_w - 1) + 1:s]
                 for u in range(3) for v in range(3)], axis=-1)  # [n, oh, ow, (u, v, in)]
            y = patches @ kernel.reshape(9 * c, k_out)
        return y + self.bias[...]


class ConvTranspose2x(nnx.Module):
    """A 3x3 transposed convolution with stride 2 and "SAME" padding (doubles h and w).

    The same function of the same ``[3, 3, in, out]`` kernel as
    ``nnx.ConvTranspose(in, out, (3, 3), strides=2, padding="SAME")`` (Keras'
    ``Conv2DTranspose(out, 3, strides=2, padding="same")``), computed as a sub-pixel
    convolution: output pixel (2i + a, 2j + b) only sees the kernel taps of its
    phase (a, b), which for k = 3 are, along each axis,

        y[2i] = k[0] x[i - 1] + k[2] x[i],    y[2i + 1] = k[1] x[i].

    So the four 2x2 neighbourhoods x[i - 1 : i + 1, j - 1 : j + 1] (im2col) times one
    ``[4 * in, 4 * out]`` matrix of taps give all four phases, and a depth-to-space
    reshape interleaves them. Written out because XLA's CPU backend differentiates
    ``lax.conv_transpose`` (an input-dilated convolution) several times slower than
    a matrix product, the more so inside a loop body (see :class:`Conv3x3`); a test
    checks equality with ``nnx.ConvTranspose``.

    Args:
      in_features: input channels.
      out_features: output channels.
      rngs: initialization randomness (LeCun normal kernel, zero bias, as ``nnx.Conv``).
    """

    def __init__(self, in_features: int, out_features: int, *, rngs: nnx.Rngs):
        self.kernel, self.bias = _conv_params(in_features, out_features, rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        n, h, w, c = x.shape
        kernel = self.kernel[...]
        k_out = kernel.shape[3]
        # Tap of kernel row/column for phase a and neighbour offset u (0: i - 1, 1: i);
        # index 3 is an appended zero tap.
        taps = jnp.asarray([[0, 2], [3, 1]])
        padded = jnp.pad(kernel, [(0, 1), (0, 1), (0, 0), (0, 0)])
        phases = padded[taps[:, None, :, None], taps[None, :, None, :]]  # [a, b, u, v, in, out]
        matrix = phases.transpose(2, 3, 4, 0, 1, 5).reshape(4 * c, 4 * k_out)
        shifted = jnp.pad(x, [(0, 0), (1, 0), (1, 0), (0, 0)])
        patches = jnp.concatenate([shifted[:, u:u + h, v:v + w] for u in (0, 1) for v in (0, 1)],
                                  axis=-1)  # [n, h, w, (u, v, in)]
        y = (patches @ matrix).reshape(n, h, w, 2, 2, k_out).transpose(0, 1, 3, 2, 4, 5)
        return y.reshape(n, 2 * h, 2 * w, k_out) + self.bias[...]
