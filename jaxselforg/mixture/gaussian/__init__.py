"""Gaussian mixtures fitted by EM (lecture section 4), numerically as scikit-learn.

p(x) = sum_j w_j N(x; mu_j, Sigma_j), with four covariance types ("full", "tied",
"diag", "spherical"). The family's ideas, one module each:

* :mod:`~jaxselforg.mixture.gaussian.params`: the parameters and their number of
  free parameters;
* :mod:`~jaxselforg.mixture.gaussian.densities`: ln N(x; mu_j, Sigma_j) through the
  Cholesky factor U_j of the precision (Sigma_j^{-1} = U_j U_j^T), the factors, and
  the sampler;
* :mod:`~jaxselforg.mixture.gaussian.m_steps`: the M-step (scikit-learn's
  ``_estimate_gaussian_parameters``, with ``reg_covar``);
* :mod:`~jaxselforg.mixture.gaussian.initialization`: scikit-learn's ``init_params``
  and ``weights_init``/``means_init``/``precisions_init``;
* :mod:`~jaxselforg.mixture.gaussian.family`: the family handed to
  :mod:`jaxselforg.mixture.em` and the fit :func:`gaussian_mixture`.

The fitted-model API (``log_likelihood``, ``predict_proba``, ``predict``, ``bic``,
``aic``, ``sample``) is the one of :mod:`jaxselforg.mixture.em`, for every family.

If a covariance is not positive definite even with ``reg_covar`` (its Cholesky factor
is NaN), the fit stops and :func:`gaussian_mixture` raises a ``ValueError`` naming the
component, on the host, after the compiled fit.

Reference: Bishop, *Pattern Recognition and Machine Learning* (2006), section 9.2.
"""

from jaxselforg.mixture.gaussian import densities, family, initialization, m_steps, params
from jaxselforg.mixture.gaussian.densities import log_density
from jaxselforg.mixture.gaussian.family import FAMILY, gaussian_mixture
from jaxselforg.mixture.gaussian.initialization import INITS
from jaxselforg.mixture.gaussian.m_steps import m_step
from jaxselforg.mixture.gaussian.params import (
    COVARIANCE_TYPES,
    GaussianMixtureParams,
    n_component_parameters,
)

__all__ = [
    "COVARIANCE_TYPES",
    "FAMILY",
    "INITS",
    "GaussianMixtureParams",
    "densities",
    "family",
    "gaussian_mixture",
    "initialization",
    "log_density",
    "m_step",
    "m_steps",
    "n_component_parameters",
    "params",
]
