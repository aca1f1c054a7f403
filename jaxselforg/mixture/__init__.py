"""Mixtures fitted by EM (lecture section 4): Gaussian and Bernoulli.

``gaussian_mixture`` follows ``sklearn.mixture.GaussianMixture`` (four covariance
types, the same M-step, ``reg_covar`` and initialisations); ``bernoulli_mixture`` fits
binary images with smoothed pixel probabilities. Each family is an
:class:`~jaxselforg.mixture.em.Family` (its log density, M-step, parameter count and
sampler) run by the one driver of :mod:`jaxselforg.mixture.em` (pure
``e_step``/``step``, a jit-compiled ``lax.while_loop``, restarts as one ``vmap``); both
run data-parallel unchanged on a row-sharded ``x`` with ``sample_weight`` 0 on the
padding rows.

The fitted-model API, written once in :mod:`~jaxselforg.mixture.em`, takes a fitted
result (or its ``params``) of either family::

    result = mixture.gaussian_mixture(x, 10, key=key, covariance_type="diag")
    mixture.log_likelihood(result, x)     # [n], scikit-learn's score_samples
    mixture.predict_proba(result, x)      # [n, k] responsibilities
    mixture.predict(result, x)            # [n] most probable component
    mixture.bic(result, x), mixture.aic(result, x)
    mixture.sample(result, 100, key=key)  # (x [100, d], labels [100])
"""

from __future__ import annotations

from jaxselforg.mixture import bernoulli, em, gaussian
from jaxselforg.mixture.bernoulli import (
    BernoulliMixtureParams,
    bernoulli_mixture,
)
from jaxselforg.mixture.em import (
    EMResult,
    EMState,
    Family,
    aic,
    bic,
    e_step,
    log_component_prob,
    log_likelihood,
    lower_bound,
    n_parameters,
    predict,
    predict_proba,
    sample,
)
from jaxselforg.mixture.gaussian import (
    COVARIANCE_TYPES,
    GaussianMixtureParams,
    gaussian_mixture,
)

__all__ = [
    "COVARIANCE_TYPES",
    "BernoulliMixtureParams",
    "EMResult",
    "EMState",
    "Family",
    "GaussianMixtureParams",
    "aic",
    "bernoulli",
    "bernoulli_mixture",
    "bic",
    "e_step",
    "em",
    "gaussian",
    "gaussian_mixture",
    "log_component_prob",
    "log_likelihood",
    "lower_bound",
    "n_parameters",
    "predict",
    "predict_proba",
    "sample",
]
