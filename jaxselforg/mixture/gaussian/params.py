"""What a Gaussian mixture is: its parameters, a fit's result, and their count."""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


@functools.partial(jax.tree_util.register_dataclass,
                   data_fields=["weights", "means", "covariances", "precisions_cholesky"],
                   meta_fields=["covariance_type"])
@dataclasses.dataclass(frozen=True)
class GaussianMixtureParams:
    """The parameters of a Gaussian mixture (a pytree; ``covariance_type`` is static).

    Shapes follow scikit-learn's ``GaussianMixture`` attributes.

    Attributes:
      weights: ``[k]`` mixing weights w_j (sum to 1).
      means: ``[k, d]`` component means mu_j.
      covariances: ``[k, d, d]`` ("full"), ``[d, d]`` ("tied"), ``[k, d]`` ("diag") or
        ``[k]`` ("spherical").
      precisions_cholesky: U with Sigma^{-1} = U U^T (upper triangular for "full" and
        "tied", 1 / sqrt(variance) for "diag" and "spherical"); shaped as
        ``covariances``.
      covariance_type: one of ``COVARIANCE_TYPES``.
    """

    weights: jax.Array
    means: jax.Array
    covariances: jax.Array
    precisions_cholesky: jax.Array
    covariance_type: str


class GaussianMixtureResult(NamedTuple):
    """A fitted Gaussian mixture.

    ``result.weights``, ``.means``, ``.covariances``, ``.precisions_cholesky`` and
    ``.covariance_type`` read through to ``result.params``.

    Attributes:
      params: the fitted ``GaussianMixtureParams``.
      n_iter: EM iterations made by the best restart.
      converged: whether its last iteration gained less than ``tol``.
      log_likelihood: mean per-sample log-likelihood of the fitted parameters
        (scikit-learn's ``score(X)``).
      lower_bound: mean log-likelihood at the last E-step (scikit-learn's
        ``lower_bound_``).
      history: ``[max_iter]`` mean log-likelihood at each E-step, NaN after the end.
      restart_log_likelihood: ``[n_init]`` final mean log-likelihood of every restart.
      collapsed: ``[k]`` whether a component's covariance broke down (non-finite
        Cholesky factor). Always all False in a result returned eagerly (a collapse
        raises); check it yourself when tracing the fit inside jit or vmap.
    """

    params: GaussianMixtureParams
    n_iter: jax.Array
    converged: jax.Array
    log_likelihood: jax.Array
    lower_bound: jax.Array
    history: jax.Array
    restart_log_likelihood: jax.Array
    collapsed: jax.Array

    @property
    def weights(self) -> jax.Array:
        return self.params.weights

    @property
    def means(self) -> jax.Array:
        return self.params.means

    @property
    def covariances(self) -> jax.Array:
        return self.params.covariances

    @property
    def precisions_cholesky(self) -> jax.Array:
        return self.params.precisions_cholesky

    @property
    def covariance_type(self) -> str:
        return self.params.covariance_type


def n_component_parameters(params: GaussianMixtureParams) -> int:
    """The components' free parameters: k d means plus the covariances' free entries.

    Covariances: k d (d + 1) / 2 ("full"), d (d + 1) / 2 ("tied"), k d ("diag") or k
    ("spherical"); the k - 1 free weights are not counted here (scikit-learn's
    ``_n_parameters`` is this plus k - 1).

    Args:
      params: the mixture's parameters.

    Returns:
      The count, a Python int.
    """
    k, d = params.means.shape
    covariance = {"full": k * d * (d + 1) // 2, "tied": d * (d + 1) // 2, "diag": k * d,
                  "spherical": k}[params.covariance_type]
    return covariance + k * d
