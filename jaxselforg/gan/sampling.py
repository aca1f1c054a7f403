"""Images from a trained generator: samples, class rows, latent interpolation, code traversals.

Every function runs the generator in eval mode (BatchNorm's running averages) and
returns images ``[..., h, w]`` in (0, 1).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import nnx
from jax.typing import ArrayLike

from jaxselforg import _rows, _validation
from jaxselforg.gan.model import Generator
from jaxselforg.gan.objective import InfoCodes

__all__ = ["class_rows", "code_traversal", "generate", "interpolate", "sample"]


@functools.partial(jax.jit, static_argnames=("graphdef",))
def _generate(graphdef, state, z, code):
    generator = nnx.merge(graphdef, state)
    if code is None:
        return _rows.map_rows(lambda zb: generator(zb), z, block_rows=500)
    return _rows.map_rows(lambda zb, cb: generator(zb, cb), z, code, block_rows=500)


def generate(generator: Generator, z: ArrayLike, code: ArrayLike | None = None) -> jax.Array:
    """``G(z)`` (``G([z, code])`` for a conditional generator or an InfoGAN): ``[n, h, w]``.

    Raises:
      ValueError: ``z`` not ``[n, latent_dim]`` or not finite; a code missing, of the
        wrong shape, or given to an unconditional generator.
    """
    z = _validation.latents(z, generator.latent_dim)
    if generator.code_dim:
        if code is None:
            raise ValueError(f"This generator is conditional: it needs a code [n, "
                             f"{generator.code_dim}] (one-hot labels or InfoGAN codes).")
        code = _validation.latents(code, generator.code_dim, "code")
        if code.shape[0] != z.shape[0]:
            raise ValueError(f"code has {code.shape[0]} rows for {z.shape[0]} latent codes.")
    elif code is not None:
        raise ValueError("This generator is unconditional (code_dim=0); got a code.")
    graphdef, state = nnx.split(generator)
    return _generate(graphdef, state, z, code)


def _condition(generator: Generator, n: int, labels, codes, key):
    if labels is not None and codes is not None:
        raise ValueError("Pass labels (a conditional GAN) or codes (an InfoGAN), not both.")
    if labels is not None:
        labels, _ = _validation.class_labels(labels, "labels", size=n,
                                             n_classes=generator.code_dim)
        return jax.nn.one_hot(labels, generator.code_dim)
    if isinstance(codes, InfoCodes):
        if codes.size != generator.code_dim:
            raise ValueError(f"The InfoGAN codes have size {codes.size}; the generator reads "
                             f"{generator.code_dim}.")
        return codes.sample(key, n)
    return codes


def sample(generator: Generator, n: int, *, key: jax.Array, labels: ArrayLike | None = None,
           codes: InfoCodes | ArrayLike | None = None) -> jax.Array:
    """``n`` generated images ``[n, h, w]``: ``G(z)`` with z ~ N(0, I).

    Args:
      generator: a trained :class:`Generator`.
      n: number of images.
      key: PRNG key.
      labels: ``[n]`` classes, for a conditional generator.
      codes: for an InfoGAN generator, its :class:`InfoCodes` (codes drawn from their
        prior) or given codes ``[n, code_dim]``.

    Raises:
      ValueError: ``n < 1``, a bad key, labels out of range or missing for a
        conditional generator.
    """
    n = _validation.positive_int(n, "n")
    key = _validation.prng_key(key)
    z_key, c_key = jax.random.split(key)
    code = _condition(generator, n, labels, codes, c_key)
    return generate(generator, jax.random.normal(z_key, (n, generator.latent_dim)), code)


def class_rows(generator: Generator, n_per_class: int, *, key: jax.Array) -> jax.Array:
    """A conditional generator's samples, one row per class: ``[n_classes, n_per_class, h, w]``.

    Column j uses the same z in every row, so a column shows one "style" in every class.
    """
    n_classes = generator.code_dim
    if not n_classes:
        raise ValueError("class_rows needs a conditional generator (code_dim = n_classes).")
    n_per_class = _validation.positive_int(n_per_class, "n_per_class")
    z = jax.random.normal(_validation.prng_key(key), (n_per_class, generator.latent_dim))
    labels = jnp.repeat(jnp.arange(n_classes), n_per_class)
    images = generate(generator, jnp.tile(z, (n_classes, 1)), jax.nn.one_hot(labels, n_classes))
    return images.reshape(n_classes, n_per_class, *generator.image_shape)


def interpolate(generator: Generator, z_a: ArrayLike, z_b: ArrayLike, *, steps: int = 10,
                code: ArrayLike | None = None) -> jax.Array:
    """Images along the straight line from ``z_a`` to ``z_b`` (``[latent_dim]`` each):
    ``[steps, h, w]``, ``G((1 - t) z_a + t z_b)`` for t evenly spaced in [0, 1].

    Args:
      code: ``[code_dim]`` condition held fixed along the line (conditional generators).
    """
    steps = _validation.positive_int(steps, "steps")
    z_a = _validation.latents(jnp.reshape(jnp.asarray(z_a), (1, -1)), generator.latent_dim,
                              "z_a")
    z_b = _validation.latents(jnp.reshape(jnp.asarray(z_b), (1, -1)), generator.latent_dim,
                              "z_b")
    t = jnp.linspace(0.0, 1.0, steps)[:, None]
    codes = None if code is None else jnp.tile(jnp.reshape(jnp.asarray(code), (1, -1)),
                                               (steps, 1))
    return generate(generator, (1.0 - t) * z_a + t * z_b, codes)


def code_traversal(generator: Generator, codes: InfoCodes, *, key: jax.Array,
                   continuous_index: int | None = None,
                   values: ArrayLike | None = None) -> jax.Array:
    """InfoGAN's traversal figure: ``[n_categories, len(values), h, w]``.

    One z for the whole grid (drawn from ``key``); row r sets the categorical code to r.
    With ``continuous_index`` i, column j sets continuous code i to ``values[j]`` (default
    9 values from -2 to 2, beyond the training range U(-1, 1)) and the others to 0;
    without it, the columns are 8 different z with the continuous codes at 0 (what
    the categorical code alone controls).
    """
    if codes.size != generator.code_dim:
        raise ValueError(f"The InfoGAN codes have size {codes.size}; the generator reads "
                         f"{generator.code_dim}.")
    key = _validation.prng_key(key)
    k, m = codes.n_categories, codes.n_continuous
    if continuous_index is None:
        n_cols = 8
        z = jax.random.normal(key, (n_cols, generator.latent_dim))
        continuous = jnp.zeros((k * n_cols, m))
    else:
        if not 0 <= continuous_index < m:
            raise ValueError(f"continuous_index must be in [0, {m}); got {continuous_index}.")
        values = jnp.linspace(-2.0, 2.0, 9) if values is None else jnp.asarray(values,
                                                                                jnp.float32)
        n_cols = values.shape[0]
        z = jnp.tile(jax.random.normal(key, (1, generator.latent_dim)), (n_cols, 1))
        continuous = jnp.zeros((k * n_cols, m)).at[:, continuous_index].set(
            jnp.tile(values, k))
    categories = jnp.repeat(jnp.arange(k), n_cols)
    images = generate(generator, jnp.tile(z, (k, 1)), codes.code(categories, continuous))
    return images.reshape(k, n_cols, *generator.image_shape)
