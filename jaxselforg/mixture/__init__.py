"""Mixtures fitted by EM (lecture section 4): Gaussian and Bernoulli.

``gaussian_mixture`` follows ``sklearn.mixture.GaussianMixture`` (four covariance
types, the same M-step, ``reg_covar`` and initialisations); ``bernoulli_mixture`` fits
binary images with smoothed pixel probabilities. Both run the generic driver of
:mod:`jaxselforg.mixture.em` (pure ``e_step``/``step``, a jit-compiled
``lax.while_loop``, restarts as one ``vmap``), and both run data-parallel unchanged on
a row-sharded ``x`` with ``sample_weight`` 0 on the padding rows.

The functions below take a fitted result (or its ``params``) of either family::

    result = mixture.gaussian_mixture(x, 10, key=key, covariance_type="diag")
    mixture.log_likelihood(result, x)     # [n], scikit-learn's score_samples
    mixture.predict(result, x)            # [n] most probable component
    mixture.bic(result, x)
"""

from __future__ import annotations

import jax
from jax.typing import ArrayLike

from jaxselforg.mixture import bernoulli, em, gaussian
from jaxselforg.mixture.bernoulli import (
    BernoulliMixtureParams,
    BernoulliMixtureResult,
    bernoulli_mixture,
)
from jaxselforg.mixture.em import EMResult, EMState, e_step, lower_bound
from jaxselforg.mixture.gaussian import (
    COVARIANCE_TYPES,
    GaussianMixtureParams,
    GaussianMixtureResult,
    gaussian_mixture,
)

__all__ = [
    "COVARIANCE_TYPES",
    "BernoulliMixtureParams",
    "BernoulliMixtureResult",
    "EMResult",
    "EMState",
    "GaussianMixtureParams",
    "GaussianMixtureResult",
    "aic",
    "bernoulli",
    "bernoulli_mixture",
    "bic",
    "e_step",
    "em",
    "gaussian",
    "gaussian_mixture",
    "log_likelihood",
    "lower_bound",
    "n_parameters",
    "predict",
    "predict_proba",
    "sample",
]


def _family(model):
    params = getattr(model, "params", model)
    if isinstance(params, GaussianMixtureParams):
        return gaussian
    if isinstance(params, BernoulliMixtureParams):
        return bernoulli
    raise ValueError("Expected a fitted Gaussian or Bernoulli mixture (result or params); "
                     f"got {type(model).__name__}.")


def log_likelihood(model, x: ArrayLike) -> jax.Array:
    """Per-sample log-likelihood ln p(x_i), ``[n]``."""
    return _family(model).log_likelihood(model, x)


def predict_proba(model, x: ArrayLike) -> jax.Array:
    """Responsibilities P(j | x_i), ``[n, k]``."""
    return _family(model).predict_proba(model, x)


def predict(model, x: ArrayLike) -> jax.Array:
    """Most probable component of every point, ``[n]``."""
    return _family(model).predict(model, x)


def sample(model, n: int, *, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``n`` draws from the mixture: ``(x [n, d], labels [n])``."""
    return _family(model).sample(model, n, key=key)


def n_parameters(model) -> int:
    """Number of free parameters (for BIC/AIC)."""
    return _family(model).n_parameters(model)


def bic(model, x: ArrayLike) -> jax.Array:
    """Bayesian information criterion -2 ln P(X) + p ln n."""
    return _family(model).bic(model, x)


def aic(model, x: ArrayLike) -> jax.Array:
    """Akaike information criterion -2 ln P(X) + 2 p."""
    return _family(model).aic(model, x)
