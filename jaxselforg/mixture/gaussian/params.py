"""What a Gaussian mixture is: its parameters and their count."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

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

    @property
    def collapsed(self) -> jax.Array:
        """``[k]`` whether a component's covariance broke down (a non-finite Cholesky
        factor; "tied": all components or none), ``[..., k]`` for a sweep's stacked
        parameters. Never True in the result of an eager
        :func:`~jaxselforg.mixture.gaussian_mixture` (a collapse raises); check it
        yourself when the fit is traced inside jit or vmap."""
        # Leading axes (the runs of a vmapped fit) are kept: weights are [..., k].
        finite = jnp.isfinite(self.precisions_cholesky)
        if self.covariance_type == "tied":  # [..., d, d]: one factor for every component
            healthy = jnp.all(finite, axis=(-2, -1))[..., None]
        else:  # [..., k, ...]
            healthy = jnp.all(finite.reshape(*self.weights.shape, -1), axis=-1)
        return jnp.broadcast_to(~healthy, self.weights.shape)


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
