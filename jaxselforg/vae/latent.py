"""Moving through a VAE's latent space: encode, decode, sample, traverse, interpolate.

These produce the images of the lecture's assignment (generated examples along the
latent coordinates). Decoded images are the Bernoulli means sigmoid(f(z)) in [0, 1].
"""

from __future__ import annotations

import functools
import statistics

import jax
import numpy as np
from flax import nnx
from jax.typing import ArrayLike

from jaxselforg import _validation
from jaxselforg.vae._batches import map_batches
from jaxselforg.vae.model import VAE

__all__ = ["decode", "encode", "interpolate", "latent_grid", "latent_traversal", "sample"]


def _bucketed(x: jax.Array, batch_size: int) -> tuple[np.ndarray, int]:
    """Rows padded (on the host) to 16 or the next power of two, or to whole batches
    beyond ``batch_size``, so that figures asking for 1, 5 or 11 images share one
    compilation."""
    n = x.shape[0]
    if n > batch_size:
        size = batch_size * -(-n // batch_size)
    else:
        size = min(batch_size, max(16, 1 << (n - 1).bit_length()))
    x = np.asarray(x)
    return np.pad(x, [(0, size - n)] + [(0, 0)] * (x.ndim - 1)), n


@functools.partial(jax.jit, static_argnames=("graphdef", "batch_size"))
def _encode(graphdef, state, images, batch_size):
    return map_batches(nnx.merge(graphdef, state).encode, images, batch_size)


@functools.partial(jax.jit, static_argnames=("graphdef", "batch_size"))
def _decode(graphdef, state, z, batch_size):
    model = nnx.merge(graphdef, state)
    return map_batches(lambda zb: jax.nn.sigmoid(model.decode(zb)), z, batch_size)


def encode(model: VAE, images: ArrayLike, *, batch_size: int = 500) -> tuple[jax.Array, jax.Array]:
    """Q(z | x) of each image: ``(mean, log_variance)``, each ``[n, latent_dim]``.

    Raises:
      ValueError: images of the wrong shape or outside [0, 1].
    """
    images = _validation.images(images, model.image_shape)
    batch_size = _validation.positive_int(batch_size, "batch_size")
    padded, n = _bucketed(images, batch_size)
    graphdef, state = nnx.split(model)
    mean, log_variance = _encode(graphdef, state, padded, batch_size)
    return mean[:n], log_variance[:n]


def decode(model: VAE, z: ArrayLike, *, batch_size: int = 500) -> jax.Array:
    """Decoded images ``[n, h, w]``: the Bernoulli means sigmoid(f(z)) of latents ``[n, d]``.

    Raises:
      ValueError: ``z`` not ``[n, latent_dim]`` or not finite.
    """
    z = _validation.latents(z, model.latent_dim)
    batch_size = _validation.positive_int(batch_size, "batch_size")
    padded, n = _bucketed(z, batch_size)
    graphdef, state = nnx.split(model)
    return _decode(graphdef, state, padded, batch_size)[:n]


def sample(model: VAE, n: int, *, key: jax.Array) -> jax.Array:
    """``n`` generated images ``[n, h, w]``: Bernoulli means sigmoid(f(z)), z ~ P(z) = N(0, I).

    Raises:
      ValueError: ``n < 1`` or ``key`` not a single PRNG key.
    """
    n = _validation.positive_int(n, "n")
    key = _validation.prng_key(key)
    return decode(model, jax.random.normal(key, (n, model.latent_dim)))


# The helpers below do their small latent arithmetic with numpy on the host: the
# figures call them with many sizes, and only encode/decode need compiling.


def latent_traversal(model: VAE, image: ArrayLike, *,
                     offsets: ArrayLike | None = None) -> jax.Array:
    """Moves along each latent coordinate around an image's code, the others fixed.

    Row i decodes z = mu(x) + t e_i for every offset t (default 11 values from -3 to
    +3, i.e. +-3 prior standard deviations).

    Args:
      model: a VAE.
      image: ``[h, w]`` in [0, 1].
      offsets: ``[m]`` displacements along each coordinate.

    Returns:
      ``[latent_dim, m, h, w]`` images.
    """
    offsets = np.linspace(-3.0, 3.0, 11) if offsets is None else np.asarray(
        _validation.vector(offsets, "offsets"))
    mean, _ = encode(model, np.asarray(image)[None])
    d = model.latent_dim
    z = np.asarray(mean[0]) + offsets[None, :, None] * np.eye(d)[:, None, :]  # [d, m, d]
    return decode(model, z.reshape(-1, d).astype(np.float32)).reshape(
        d, offsets.shape[0], *model.image_shape)


def latent_grid(model: VAE, *, n: int = 20,
                quantiles: tuple[float, float] = (0.05, 0.95)) -> jax.Array:
    """The 2-D manifold: decode an ``n x n`` grid of prior quantiles (latent_dim 2 only).

    Coordinates are Phi^{-1}(q) for ``n`` evenly spaced q in ``quantiles`` (Kingma &
    Welling's figure 4). Laid out like a plot: ``z_1`` grows along a row (left to
    right), ``z_2`` shrinks down the rows.

    Returns:
      ``[n, n, h, w]`` images; ``[i, j]`` decodes ``(z_1, z_2) = (v[j], v[n - 1 - i])``.

    Raises:
      ValueError: ``latent_dim != 2`` or quantiles outside (0, 1).
    """
    if model.latent_dim != 2:
        raise ValueError(f"latent_grid needs a 2-d latent space; this model has "
                         f"latent_dim={model.latent_dim} (use latent_traversal).")
    n = _validation.positive_int(n, "n")
    low, high = quantiles
    if not 0.0 < low < high < 1.0:
        raise ValueError(f"quantiles must satisfy 0 < low < high < 1; got {quantiles}.")
    values = np.array([statistics.NormalDist().inv_cdf(q) for q in np.linspace(low, high, n)])
    z1, z2 = np.meshgrid(values, values[::-1])
    z = np.stack([z1.reshape(-1), z2.reshape(-1)], axis=1).astype(np.float32)
    return decode(model, z).reshape(n, n, *model.image_shape)


def interpolate(model: VAE, image_a: ArrayLike, image_b: ArrayLike, *,
                n_steps: int = 10) -> jax.Array:
    """Decodes ``n_steps`` points on the segment from mu(image_a) to mu(image_b).

    Returns:
      ``[n_steps, h, w]``, the first and last decoding the two images' codes.

    Raises:
      ValueError: ``n_steps < 2`` (a segment has two ends), or an image that is not one
        ``[h, w]`` image of the model's size (values as :func:`encode` checks them).
    """
    n_steps = _validation.positive_int(n_steps, "n_steps", minimum=2)
    for name, image in (("image_a", image_a), ("image_b", image_b)):
        if np.shape(image) != tuple(model.image_shape):
            raise ValueError(f"{name} must be one image of shape {tuple(model.image_shape)}; "
                             f"got shape {np.shape(image)}.")
    mean, _ = encode(model, np.stack([np.asarray(image_a), np.asarray(image_b)]))
    mean = np.asarray(mean)
    t = np.linspace(0.0, 1.0, n_steps)[:, None]
    return decode(model, ((1.0 - t) * mean[0] + t * mean[1]).astype(np.float32))
