"""Evaluating a VAE on held-out images: -ELBO, importance-weighted ln P(x), reconstruction.

The importance-weighted estimate with K samples z_k ~ Q(z | x),

    ln P(x) ~ L_K(x) = ln (1/K) sum_k P(x | z_k) P(z_k) / Q(z_k | x),

is a lower bound whose expectation rises with K towards ln P(x) (L_1 is the ELBO);
K = 5000 is the literature's setting for reported test log-likelihoods. The K
samples are processed in chunks (a running ``logaddexp``), so memory grows with the
chunk size, not with K; sample k of a batch is drawn from ``fold_in(key, k)``, so
the result does not depend on the chunk size.

References:
  Burda, Grosse & Salakhutdinov, Importance Weighted Autoencoders, ICLR 2016.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _validation
from jaxselforg.vae._batches import map_batches
from jaxselforg.vae.model import VAE
from jaxselforg.vae.objective import (
    VAELoss,
    bernoulli_log_likelihood,
    gaussian_log_density,
    vae_loss,
)

__all__ = [
    "LatentUsage",
    "VAEEvaluation",
    "elbo_terms",
    "evaluate",
    "importance_log_likelihood",
    "latent_usage",
    "reconstruction_error",
]


class VAEEvaluation(NamedTuple):
    """Mean test-set numbers, in nats per image unless noted.

    Attributes:
      negative_elbo: mean -ELBO (reconstruction + kl), one sample of z per image.
      reconstruction: mean -ln P(x | z), z ~ Q(z | x).
      kl: mean KL(Q(z | x) || P(z)).
      log_likelihood: mean importance-weighted ln P(x) with ``n_samples`` samples
        (NaN when not computed).
      reconstruction_mse: mean squared error per pixel between x and the decoded
        mean, sigmoid(f(mu(x))) (unitless, in [0, 1]).
      n_samples: the K of ``log_likelihood`` (0 when not computed).
    """

    negative_elbo: jax.Array
    reconstruction: jax.Array
    kl: jax.Array
    log_likelihood: jax.Array
    reconstruction_mse: jax.Array
    n_samples: int


@functools.partial(jax.jit, static_argnames=("graphdef", "batch_size"))
def _elbo_terms(graphdef, state, images, key, batch_size):
    model = nnx.merge(graphdef, state)
    return map_batches(lambda x, k: vae_loss(model, x, k), images, batch_size, key)


def elbo_terms(model: VAE, images: ArrayLike, *, key: jax.Array, batch_size: int = 500) -> VAELoss:
    """Per-image -ELBO terms (beta = 1), one reparameterized sample of z per image.

    Args:
      model: a VAE.
      images: ``[n, h, w]`` in [0, 1]; binary for likelihood numbers.
      key: PRNG key.
      batch_size: images per compiled batch (memory only).

    Returns:
      :class:`~jaxselforg.vae.VAELoss` of ``[n]`` arrays; ``loss`` is -ELBO.

    Raises:
      ValueError: images of the wrong shape or outside [0, 1].
    """
    key = _validation.prng_key(key)
    images = _validation.images(images, model.image_shape)
    batch_size = _validation.positive_int(batch_size, "batch_size")
    graphdef, state = nnx.split(model)
    return _elbo_terms(graphdef, state, images, key, batch_size)


def _log_weights_sum(model, x, key, n_samples, chunk_size):
    """ln sum_k w_k over the K samples for a batch ``x`` ``[b, h, w]``: ``[b]``.

    K (``n_samples``) may be traced: the loop runs ceil(K / chunk_size) chunks and
    masks the samples past K, so every K shares one compiled program per chunk size.
    """
    mean, log_variance = model.encode(x)
    std = jnp.exp(0.5 * log_variance)

    def chunk(c, total):
        index = c * chunk_size + jnp.arange(chunk_size)
        eps = jax.vmap(lambda i: jax.random.normal(jax.random.fold_in(key, i), mean.shape))(index)
        z = mean + std * eps  # [C, b, d]
        logits = model.decode(z.reshape(-1, mean.shape[-1])).reshape(*z.shape[:2], *x.shape[1:])
        log_q = -0.5 * jnp.sum(jnp.log(2 * jnp.pi) + log_variance + eps**2, axis=-1)
        log_prior = gaussian_log_density(z, jnp.zeros(()), jnp.zeros(()))
        log_w = bernoulli_log_likelihood(logits, x) + log_prior - log_q
        log_w = jnp.where((index < n_samples)[:, None], log_w, -jnp.inf)
        return jnp.logaddexp(total, jax.nn.logsumexp(log_w, axis=0))

    n_chunks = (n_samples + chunk_size - 1) // chunk_size
    return lax.fori_loop(0, n_chunks, chunk, jnp.full(x.shape[:1], -jnp.inf))


@functools.partial(jax.jit, static_argnames=("graphdef", "chunk_size", "batch_size"))
def _importance(graphdef, state, images, key, n_samples, chunk_size, batch_size):
    model = nnx.merge(graphdef, state)
    fn = lambda m, x, k: _log_weights_sum(m, x, k, n_samples, chunk_size)
    return map_batches(lambda x, k: fn(model, x, k), images, batch_size, key) - jnp.log(n_samples)


def importance_log_likelihood(model: VAE, images: ArrayLike, *, key: jax.Array,
                              n_samples: int = 5000, chunk_size: int = 100,
                              batch_size: int = 100) -> jax.Array:
    """Importance-weighted estimate of ln P(x) per image.

    L_K(x) = ln (1/K) sum_k P(x | z_k) P(z_k) / Q(z_k | x), z_k ~ Q(z | x): a lower
    bound on ln P(x) whose expectation rises with K (L_1 is the ELBO). Sample k of an
    image batch is drawn from ``fold_in(key, k)``, so the result does not depend on
    ``chunk_size``.

    Args:
      model: a VAE.
      images: ``[n, h, w]`` binary images (in [0, 1]).
      key: PRNG key.
      n_samples: K, samples of z per image (traced: any K reuses the compiled
        program of its chunk size).
      chunk_size: samples decoded at once; memory is about
        ``batch_size * chunk_size * h * w`` floats. K need not be a multiple (the
        last chunk is masked), but a chunk larger than K wastes work.
      batch_size: images per compiled batch.

    Returns:
      ``[n]`` estimates of ln P(x) in nats (lower bounds in expectation).

    Raises:
      ValueError: bad images (shape, range), grey (non-binary) images, or
        non-positive counts.
    """
    key = _validation.prng_key(key)
    images = _validation.images(images, model.image_shape)
    # The decoder is a product of Bernoullis: ln P(x) of grey levels is no likelihood.
    images = _validation.binary(images, "images", "importance_log_likelihood")
    n_samples = _validation.positive_int(n_samples, "n_samples")
    chunk_size = _validation.positive_int(chunk_size, "chunk_size")
    batch_size = _validation.positive_int(batch_size, "batch_size")
    graphdef, state = nnx.split(model)
    return _importance(graphdef, state, images, key, jnp.asarray(n_samples, jnp.int32),
                       chunk_size, batch_size)


@functools.partial(jax.jit, static_argnames=("graphdef", "batch_size"))
def _reconstruction_error(graphdef, state, images, batch_size):
    model = nnx.merge(graphdef, state)

    def fn(m, x, _):
        mean, _ = m.encode(x)
        return jnp.mean((jax.nn.sigmoid(m.decode(mean)) - x) ** 2, axis=(-2, -1))

    return map_batches(lambda x: fn(model, x, None), images, batch_size)


def reconstruction_error(model: VAE, images: ArrayLike, *, batch_size: int = 500) -> jax.Array:
    """Per-image mean squared error ``[n]`` between x and sigmoid(f(mu(x))) (no sampling).

    Raises:
      ValueError: images of the wrong shape or outside [0, 1].
    """
    images = _validation.images(images, model.image_shape)
    batch_size = _validation.positive_int(batch_size, "batch_size")
    graphdef, state = nnx.split(model)
    return _reconstruction_error(graphdef, state, images, batch_size)


def evaluate(model: VAE, images: ArrayLike, *, key: jax.Array, n_samples: int = 0,
             chunk_size: int = 100, batch_size: int = 100) -> VAEEvaluation:
    """The test-set table row: -ELBO, its two terms, IW ln P(x) and reconstruction MSE.

    Args:
      model: a VAE.
      images: ``[n, h, w]`` test images; binarize them (``data.dynamic_binarize``
        with a fixed key) for likelihood numbers.
      key: PRNG key.
      n_samples: K for :func:`importance_log_likelihood`; 0 skips it (NaN).
      chunk_size: see :func:`importance_log_likelihood`.
      batch_size: images per compiled batch.

    Returns:
      A :class:`VAEEvaluation` of means over the images.
    """
    key = _validation.prng_key(key)
    images = _validation.images(images, model.image_shape)
    elbo_key, iw_key = jax.random.split(key)
    terms = elbo_terms(model, images, key=elbo_key, batch_size=batch_size)
    if n_samples:
        log_likelihood = jnp.mean(importance_log_likelihood(
            model, images, key=iw_key, n_samples=n_samples, chunk_size=chunk_size,
            batch_size=batch_size))
    else:
        log_likelihood = jnp.asarray(jnp.nan)
    return VAEEvaluation(
        negative_elbo=jnp.mean(terms.loss),
        reconstruction=jnp.mean(terms.reconstruction),
        kl=jnp.mean(terms.kl),
        log_likelihood=log_likelihood,
        reconstruction_mse=jnp.mean(reconstruction_error(model, images, batch_size=batch_size)),
        n_samples=int(n_samples),
    )


class LatentUsage(NamedTuple):
    """How a VAE uses each latent coordinate on a set of images.

    Attributes:
      kl_per_dimension: ``[latent_dim]`` mean over the images of the coordinate's KL
        term 1/2 (mu_u^2 + sigma_u^2 - 1 - ln sigma_u^2), in nats; they sum to the
        mean KL.
      activity: ``[latent_dim]`` Cov_x(E_{Q(z|x)}[z_u]) = Var_x(mu_u(x)), Burda et al.'s
        activity statistic.
      active: ``[latent_dim]`` bool, ``activity > threshold``.
      n_active: the number of active units.
    """

    kl_per_dimension: jax.Array
    activity: jax.Array
    active: jax.Array
    n_active: int


def latent_usage(model: VAE, images: ArrayLike, *, threshold: float = 0.01,
                 batch_size: int = 500) -> LatentUsage:
    """Per-coordinate KL and active units of the encoder on ``images``.

    A unit u is active when A_u = Var_x(mu_u(x)) > ``threshold`` (0.01 in Burda,
    Grosse & Salakhutdinov, 2016): inactive units have posteriors that do not depend
    on x, i.e. collapsed onto the prior (KL near 0).

    Args:
      model: a VAE.
      images: ``[n, h, w]`` in [0, 1].
      threshold: activity above which a unit counts as active.
      batch_size: images per compiled batch.

    Returns:
      A :class:`LatentUsage`.

    Raises:
      ValueError: bad images or ``threshold < 0``.
    """
    images = _validation.images(images, model.image_shape)
    batch_size = _validation.positive_int(batch_size, "batch_size")
    if not threshold >= 0:
        raise ValueError(f"threshold must be >= 0; got {threshold!r}.")
    graphdef, state = nnx.split(model)
    kl, activity = _latent_usage(graphdef, state, images, batch_size)
    active = activity > threshold
    return LatentUsage(kl, activity, active, int(jnp.sum(active)))


@functools.partial(jax.jit, static_argnames=("graphdef", "batch_size"))
def _latent_usage(graphdef, state, images, batch_size):
    model = nnx.merge(graphdef, state)
    mean, log_variance = map_batches(model.encode, images, batch_size)
    kl = 0.5 * (mean**2 + jnp.exp(log_variance) - 1.0 - log_variance)
    return jnp.mean(kl, axis=0), jnp.var(mean, axis=0)
