"""A battery of bad and degenerate inputs across the public API, eager and under jit.

Every case is data: a name, a call, its arguments and what is expected. The policy
(``jaxselforg._validation``): a concrete bad value raises a ``ValueError`` that says what
was wrong and what is accepted; under ``jit`` (every argument traced) the call raises the
same error where the problem is in a shape or a static setting, and otherwise its float
result carries the failure (NaN; beyond float32's range, inf), never a finite, plausible
number. A degenerate but valid input (an extreme magnitude, float16, a constant feature,
duplicate points) gives the correct result, and the same one under ``jit``.

Calls that return only integers (labels, winners, counts) cannot carry NaN: under jit,
a result decided by a bad value is -1 (``_validation.minus_one_unless``), an index no
valid result has (``sentinel`` cases).
Host-side drivers (the ``train_*`` functions, mini-batch k-means on the host, the
scikit-learn estimators) are tested eagerly: they are not jit-able as a whole.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.spatial.distance
from flax import nnx

from jaxselforg import (
    augment,
    cluster,
    contrastive,
    criteria,
    data,
    distances,
    distill,
    evaluation,
    gan,
    mixture,
    rbm,
    schedules,
    sklearn,
    som,
    train,
    vae,
)

KEY = jax.random.key(0)
# Six points in two groups, deliberately without symmetry (a symmetric set makes PCA's
# axes, and so a map's orientation, a tie).
X = np.array([[0.0, 0.0], [1.0, 0.2], [0.1, 1.0], [5.0, 5.3], [6.0, 5.0], [5.2, 6.0]],
             np.float32)
NAN_X = X.copy()
NAN_X[0, 0] = np.nan
INF_X = X.copy()
INF_X[1, 1] = np.inf
LABELS = np.array([0, 0, 0, 1, 1, 1], np.int32)
BINARY = (np.arange(48).reshape(8, 6) % 3 == 0).astype(np.float32)
IMAGES = (np.arange(4 * 8 * 8).reshape(4, 8, 8) % 7 / 7.0).astype(np.float32)
SW = np.ones(6, np.float32)


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad or degenerate input.

    Attributes:
      name: what is wrong.
      call: ``call(*args)``; under jit every argument is traced.
      args: the arguments, the bad one among them.
      match: the eager call must raise ``ValueError`` matching this (its substance);
        None: it returns, and ``check(result)`` must hold.
      check: the correctness of an eager result (``match`` None).
      jit: also run ``jax.jit(call)(*args)``.
      carrier: picks, from the jitted result, the floats that must be non-finite.
      jit_match: under jit the call must raise this instead (a traced value the call
        needs concrete).
      sentinel: the jitted result is integers only, and every one must be -1.
    """

    name: str
    call: Callable[..., Any]
    args: tuple
    match: str | None
    check: Callable[[Any], bool] | None = None
    jit: bool = True
    carrier: Callable[[Any], Any] = lambda out: out
    jit_match: str | None = None
    sentinel: bool = False


def _close(expected, rtol=1e-5, atol=0.0):
    return lambda out: np.allclose(np.asarray(out, np.float64), expected, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------
# The calls, module-level so that cases with the same call share one compiled program.


def _pairwise(x, y):
    return distances.pairwise(x, y)


def _minkowski(p):
    return distances.pairwise(X, X[:2], "minkowski", p=p)


def _weighted(w):
    return distances.pairwise(X, X[:2], w=w)


def _nearest_bias(bias):
    return distances.nearest(X, X[:3], bias=bias)[1]


def _inertia(labels, sample_weight):
    return criteria.inertia(X, X[[0, 3]], labels, sample_weight=sample_weight)


def _ari(labels_pred):
    return criteria.adjusted_rand_index(LABELS, labels_pred)


def _ari_declared(labels_pred):
    return criteria.adjusted_rand_index(LABELS, labels_pred, 2, 2)


def _nmi_declared(labels_true, labels_pred):
    return criteria.normalized_mutual_info(labels_true, labels_pred, 2, 2)


def _kmeans(x, tol, sample_weight):
    return cluster.kmeans(x, 2, key=KEY, tol=tol, max_iter=10,
                          sample_weight=sample_weight).centers


def _kmeans_key(key):
    return cluster.kmeans(X, 2, key=key, max_iter=10).centers


def _minkowski_sweep(p):
    return jax.vmap(_minkowski)(p)


def _kmeans_weighted(w):
    return cluster.kmeans(X, 2, key=KEY, max_iter=10, w=w).centers


def _wta(x, learning_rate, conscience):
    return cluster.competitive_learning(x, 2, key=KEY, epochs=1, learning_rate=learning_rate,
                                        conscience=conscience).prototypes


def _gmm(x, reg_covar, tol, sample_weight, weights_init, precisions_init):
    return mixture.gaussian_mixture(x, 2, key=KEY, covariance_type="diag", max_iter=5,
                                    reg_covar=reg_covar, tol=tol, sample_weight=sample_weight,
                                    weights_init=weights_init,
                                    precisions_init=precisions_init).log_likelihood


def _bmm(x, alpha, means_init):
    return mixture.bernoulli_mixture(x, 2, key=KEY, max_iter=5, alpha=alpha,
                                     means_init=means_init).log_likelihood


def _gmm_args(x=X, reg_covar=1e-6, tol=1e-3, sample_weight=SW, weights_init=(0.5, 0.5),
              precisions_init=((1.0, 1.0), (1.0, 1.0))):
    """Every argument of ``_gmm`` (one compiled program for all its cases)."""
    return (x, reg_covar, tol, sample_weight, np.asarray(weights_init, np.float32),
            np.asarray(precisions_init, np.float32))


def _log_likelihood(x):
    return mixture.log_likelihood(_GMM, x)


def _som(x, sigma, sigma_final, learning_rate, sample_weight):
    return som.train(x, (2, 2), key=KEY, mode="online", epochs=2, sigma=sigma,
                     sigma_final=sigma_final, learning_rate=learning_rate,
                     sample_weight=sample_weight).weights


def _som_order(order):
    return som.train(X, (2, 2), key=KEY, mode="online", epochs=1, order=order).weights


def _som_sweep(sigma):
    return som.sweep(X, (2, 2), key=KEY, sigma=sigma, epochs=1).quantization_error


def _topographic_error(x):
    return som.topographic_error(_MAP, x)


def _distortion(sigma):
    return som.distortion(_MAP, X, sigma=sigma)


def _rbm_fit(x, learning_rate, momentum, sparsity_target):
    return rbm.fit(x, 3, key=KEY, epochs=1, batch_size=4, monitor_size=4,
                   learning_rate=learning_rate, momentum=momentum,
                   sparsity_target=sparsity_target, sparsity_cost=0.1).params.w


def _grey(rows):
    bad = BINARY.copy()
    bad[rows, 0] = 3.0
    return bad


def _sgd_linear_probe(features, labels, C, tol):
    probe = evaluation.fit_linear_probe(features, labels, n_classes=2, C=C, tol=tol,
                                        max_iter=5)
    return probe.weights


def _vae_loss(images, beta):
    return vae.vae_loss(_VAE, images, KEY, beta=beta).loss


def _distillation(labels, temperature, hard_weight):
    student = jnp.asarray(X[:4, :1] * np.ones((1, 3), np.float32))
    teacher = jnp.asarray(X[:4, 1:] * np.ones((1, 3), np.float32))
    return distill.distillation_loss(student, teacher, labels, temperature=temperature,
                                     hard_weight=hard_weight, soft_weight=0.5)


def _strict_error(call):
    """``call`` raised eagerly; a helper for host-side calls that take no argument."""
    return lambda _: call()


# Fitted models the cases use (computed eagerly, once), and the expected values of the
# correct cases: scipy's distances, and each fit on the plain float32 data.
_CDIST = scipy.spatial.distance.cdist(X.astype(np.float64), X[:2].astype(np.float64))
# Euclidean distances come from |x|^2 + |y|^2 - 2<x, y> (on centred data): near 0 its
# float32 cancellation leaves up to sqrt(4 eps) times the data's norm (identical rows:
# 0 at XLA's quick compile, 2e-4 of the scale at its default optimization, which rounds
# the fused terms differently). In units of the data's scale:
_CDIST_ATOL = np.sqrt(4 * np.finfo(np.float32).eps) * np.linalg.norm(X - X[:2].mean(0), axis=1).max()
_CENTERS = np.asarray(_kmeans(X, 1e-4, SW), np.float64)
_SOM_WEIGHTS = np.asarray(_som(X, 1.0, 0.5, 0.5, SW), np.float64)
_MAP = _SOM_WEIGHTS.astype(np.float32)
_GMM = mixture.gaussian_mixture(*_gmm_args()[:1], 2, key=KEY, covariance_type="diag",
                                max_iter=5, weights_init=_gmm_args()[4],
                                precisions_init=_gmm_args()[5])
_GMM_LL = float(_GMM.log_likelihood)
_PCA = data.pca(X, 2)
_RBM = rbm.init_params(KEY, 6, 3)
_SGD = optax.sgd(0.1)
_VAE = vae.make_vae("mlp", latent_dim=2, image_shape=(8, 8), hidden=(4,), rngs=nnx.Rngs(0))

# ---------------------------------------------------------------------------
# The battery.

CASES = [
    # distances
    Case("pairwise: NaN in x", _pairwise, (NAN_X, X[:2]), "x contains 1 NaN or Inf"),
    Case("pairwise: Inf in x", _pairwise, (INF_X, X[:2]), "x contains 1 NaN or Inf"),
    Case("pairwise: data at 1e30", _pairwise, (X * 1e30, X[:2] * 1e30), None,
         _close(_CDIST * 1e30, atol=_CDIST_ATOL * 1e30)),
    Case("pairwise: data at 1e-30", _pairwise, (X * 1e-30, X[:2] * 1e-30), None,
         _close(_CDIST * 1e-30, atol=_CDIST_ATOL * 1e-30)),
    Case("pairwise: float16 data", _pairwise, (X.astype(np.float16), X[:2].astype(np.float16)),
         None, _close(_CDIST, rtol=2e-3, atol=2e-3)),
    Case("pairwise: int32 data", _pairwise, (np.round(X).astype(np.int32),) * 2, None,
         _close(scipy.spatial.distance.cdist(np.round(X), np.round(X)))),
    Case("pairwise: x of rank 1", _pairwise, (X[0], X[:2]), r"x must have shape \[n, d\]"),
    Case("pairwise: x of rank 3", _pairwise, (X[None], X[:2]), r"x must have shape \[n, d\]"),
    Case("pairwise: empty x", _pairwise, (X[:0], X[:2]), "x must not be empty"),
    Case("pairwise: features differ", _pairwise, (X, np.ones((2, 3), np.float32)),
         "same number of features"),
    Case("pairwise: unknown metric", lambda x: distances.pairwise(x, x, "euclid"), (X,),
         "Unknown metric 'euclid'; accepted: 'euclidean'"),
    Case("pairwise: metric None", lambda x: distances.pairwise(x, x, None), (X,),
         "metric must be a string"),
    Case("minkowski: p = 0", _minkowski, (0.0,), "p must be > 0"),
    Case("minkowski: p = -1", _minkowski, (-1.0,), "p must be > 0"),
    Case("minkowski: p = NaN", _minkowski, (np.nan,), "p must be > 0"),
    Case("weights: negative", _weighted, (np.array([1.0, -1.0], np.float32),),
         "w must be non-negative"),
    Case("weights: NaN", _weighted, (np.array([1.0, np.nan], np.float32),),
         "w contains 1 NaN"),
    Case("weights: wrong length", _weighted, (np.ones(3, np.float32),),
         "w must have length 2; got 3"),
    Case("nearest: NaN bias", _nearest_bias, (np.array([0.0, np.nan, 0.0], np.float32),),
         "bias contains 1 NaN"),
    Case("nearest: runner-up of one candidate",
         lambda x: distances.nearest(x, x[:1], runner_up=True), (X,),
         "runner_up needs at least 2 candidates"),
    Case("nearest: block_size 0", lambda x: distances.nearest(x, x, block_size=0), (X,),
         "block_size must be a positive integer"),
    Case("k_nearest: k = 0", lambda x: distances.k_nearest(x, x, 0), (X,),
         "k must be a positive integer; got 0"),
    Case("k_nearest: k > m", lambda x: distances.k_nearest(x, x[:2], 3), (X,),
         "k = 3 exceeds the 2 reference rows"),
    Case("k_nearest: k = 1.5", lambda x: distances.k_nearest(x, x, 1.5), (X,),
         "k must be a positive integer; got 1.5"),
    Case("cosine: zero vectors", lambda x: distances.pairwise(x, x, "cosine"),
         (np.zeros((2, 2), np.float32),), None, _close(np.ones((2, 2)))),
    Case("distance: lengths differ", lambda a, b: distances.distance(a, b),
         (X[0], np.ones(3, np.float32)), "same number of features"),
    # criteria
    Case("inertia: label out of range", _inertia, (LABELS * 5, SW), "only 2 prototypes"),
    Case("inertia: negative label", _inertia, (LABELS - 1, SW),
         "labels must be non-negative"),
    Case("inertia: negative sample weights", _inertia, (LABELS, -SW),
         "sample_weight must be non-negative"),
    Case("inertia: zero sample weights", _inertia, (LABELS, 0 * SW), "positive sum"),
    Case("inertia: NaN sample weight", _inertia, (LABELS, SW * np.nan),
         "sample_weight contains 6 NaN"),
    Case("inertia: sample weights of the wrong length", _inertia, (LABELS, SW[:5]),
         "sample_weight must have length 6"),
    Case("quantization error: 4-D prototypes",
         lambda p: criteria.quantization_error(X, p), (np.zeros((1, 2, 2, 2), np.float32),),
         r"prototypes must be a non-empty \[k, d\]"),
    Case("compactness: fractional labels", lambda l: criteria.compactness(X, X[:2], l),
         (LABELS + 0.5,), "integer labels"),
    Case("ARI: lengths differ", _ari, (LABELS[:5],), "labels_pred must have 6 entries"),
    Case("ARI: negative label", _ari, (LABELS - 1,), "non-negative",
         jit_match="labels_pred are traced: give their number of values"),
    Case("ARI: more labels than declared", _ari_declared, (LABELS * 2,),
         "labels_pred reach 2 but only 2 values were declared"),
    Case("NMI: two single-cluster labelings", _nmi_declared, (0 * LABELS, 0 * LABELS), None,
         _close(1.0)),
    Case("clustering accuracy: lengths differ",
         lambda l: criteria.clustering_accuracy(LABELS, l), (LABELS[:5],),
         "labels_pred must have 6 entries", jit=False),
    Case("separation: one prototype", lambda p: criteria.separation(p), (X[:1],), None,
         _close(0.0)),
    # cluster
    Case("kmeans: NaN data", _kmeans, (NAN_X, 1e-4, SW), "x contains 1 NaN"),
    Case("kmeans: Inf data", _kmeans, (INF_X, 1e-4, SW), "x contains 1 NaN or Inf"),
    Case("kmeans: data at 1e15", _kmeans, (X * 1e15, 1e-4, SW), None, _close(_CENTERS * 1e15)),
    Case("kmeans: data at 1e-30", _kmeans, (X * 1e-30, 1e-34, SW), None,
         _close(_CENTERS * 1e-30)),
    Case("kmeans: float16 data", _kmeans, (X.astype(np.float16), 1e-4, SW), None,
         _close(_CENTERS, atol=5e-3)),
    Case("kmeans: duplicate points", _kmeans, (np.ones((6, 2), np.float32), 1e-4, SW), None,
         _close(np.ones((2, 2)))),
    Case("kmeans: negative tol", _kmeans, (X, -1.0, SW), "tol must be >= 0"),
    Case("kmeans: NaN tol", _kmeans, (X, np.nan, SW), "tol contains 1 NaN"),
    Case("kmeans: negative sample weights", _kmeans, (X, 1e-4, -SW),
         "sample_weight must be non-negative"),
    Case("kmeans: zero sample weights", _kmeans, (X, 1e-4, 0 * SW), "positive sum"),
    Case("kmeans: k > n", lambda x: cluster.kmeans(x, 7, key=KEY), (X,),
         "k must be <= the number of points 6; got k=7"),
    Case("kmeans: k = 0", lambda x: cluster.kmeans(x, 0, key=KEY), (X,),
         "k must be a positive integer; got 0"),
    Case("kmeans: unknown init", lambda x: cluster.kmeans(x, 2, key=KEY, init="kmeans++"),
         (X,), "Unknown init 'kmeans\\+\\+'; accepted: 'k-means\\+\\+'"),
    Case("kmeans: init array of the wrong shape",
         lambda c: cluster.kmeans(X, 2, key=KEY, init=c), (np.ones((3, 2), np.float32),),
         r"init array must have shape \(k, d\) = \(2, 2\)"),
    Case("kmeans: unknown update", lambda x: cluster.kmeans(x, 2, key=KEY, update="avg"),
         (X,), "Unknown update 'avg'"),
    Case("kmeans: negative feature weights", _kmeans_weighted,
         (np.array([1.0, -1.0], np.float32),), "w must be non-negative"),
    Case("kmeans: max_iter 0", lambda x: cluster.kmeans(x, 2, key=KEY, max_iter=0), (X,),
         "max_iter must be a positive integer"),
    Case("kmeans: int seed as key", _kmeans_key, (0,), "PRNG key"),
    Case("kmeans: float array as key", _kmeans_key, (np.zeros(2, np.float32),), "PRNG key"),
    Case("kmeans: a batch of keys", _kmeans_key, (jax.random.split(KEY, 2),),
         "single PRNG key"),
    Case("minkowski: p swept over a good and a bad value (vmap)", _minkowski_sweep,
         (np.array([3.0, -1.0], np.float32),), None,
         lambda out: (np.allclose(out[0], scipy.spatial.distance.cdist(X, X[:2], "minkowski",
                                                                       p=3.0), rtol=1e-5)
                      and np.all(np.isnan(out[1])))),
    Case("kmeans predict: NaN data", lambda x: cluster.predict(x, X[:2]), (NAN_X,),
         "x contains 1 NaN", sentinel=True),  # integer labels only: see the module docstring
    Case("nearest: NaN data (index -1 beside the NaN distance)",
         lambda x: distances.nearest(x, X[:2]), (NAN_X,), "x contains 1 NaN",
         carrier=lambda out: out[0], sentinel=True),
    Case("k_nearest: NaN candidates", lambda y: distances.k_nearest(X, y, 2)[0], (NAN_X,),
         "y contains 1 NaN", sentinel=True),
    Case("kmeans transform: NaN data", lambda x: cluster.transform(x, X[:2]), (NAN_X,),
         "x contains 1 NaN"),
    Case("mini-batch k-means: init_size < k",
         lambda x: cluster.minibatch_kmeans(x, 2, key=KEY, batch_size=3, init_size=1), (X,),
         "init_size must be an integer >= 2", jit=False),
    Case("mini-batch k-means: batch_size > n",
         lambda x: cluster.minibatch_kmeans(x, 2, key=KEY, batch_size=7), (X,),
         "batch_size must be <= the number of points 6", jit=False),
    Case("mini-batch k-means: negative tol",
         lambda x: cluster.minibatch_kmeans(x, 2, key=KEY, batch_size=3, tol=-1.0), (X,),
         "tol must be >= 0", jit=False),
    Case("WTA: NaN data", _wta, (NAN_X, 0.1, 0.0), "x contains 1 NaN"),
    Case("WTA: negative learning rate", _wta, (X, -0.1, 0.0), "learning_rate must be > 0"),
    Case("WTA: NaN learning rate", _wta, (X, np.nan, 0.0), "learning_rate contains 1 NaN"),
    Case("WTA: negative conscience", _wta, (X, 0.1, -1.0), "conscience must be >= 0"),
    Case("WTA: unknown schedule",
         lambda x: cluster.competitive_learning(x, 2, key=KEY, schedule="expo"), (X,),
         "Unknown schedule 'expo'; accepted: 'exponential'"),
    Case("WTA: batch_size 0",
         lambda x: cluster.competitive_learning(x, 2, key=KEY, batch_size=0), (X,),
         "batch_size must be a positive integer"),
    # mixture
    Case("GMM: NaN data", _gmm, _gmm_args(NAN_X), "x contains 1 NaN"),
    Case("GMM: float16 data", _gmm, _gmm_args(X.astype(np.float16)), None,
         _close(_GMM_LL, atol=2e-2), jit=False),  # fitted in float32: the float32 program
    Case("GMM: data at 1e30 (covariances beyond float32)", _gmm, _gmm_args(X * 1e30),
         "broke down|collapsed"),
    Case("GMM: negative reg_covar", _gmm, _gmm_args(reg_covar=-1.0), "reg_covar must be >= 0"),
    Case("GMM: negative tol", _gmm, _gmm_args(tol=-1.0), "tol must be >= 0"),
    Case("GMM: negative sample weights", _gmm, _gmm_args(sample_weight=-SW),
         "sample_weight must be non-negative"),
    Case("GMM: duplicate points and reg_covar 0", _gmm,
         _gmm_args(np.ones((6, 2), np.float32), reg_covar=0.0), "collapsed"),
    Case("GMM: weights_init not summing to 1", _gmm, _gmm_args(weights_init=(0.9, 0.9)),
         "weights_init must lie in .0, 1. and sum to 1"),
    Case("GMM: precisions_init not positive", _gmm,
         _gmm_args(precisions_init=((1.0, -1.0), (1.0, 1.0))), "precisions_init must be positive"),
    Case("GMM: unknown covariance_type",
         lambda x: mixture.gaussian_mixture(x, 2, key=KEY, covariance_type="ful"), (X,),
         "Unknown covariance_type 'ful'; accepted: 'full'"),
    Case("GMM: k > n", lambda x: mixture.gaussian_mixture(x, 7, key=KEY), (X,),
         "k must be <= the number of points 6"),
    Case("GMM: int seed as key", lambda x: mixture.gaussian_mixture(x, 2, key=0), (X,),
         r"jax\.random\.key\(0\)"),
    Case("GMM: means_init of the wrong shape",
         lambda m: mixture.gaussian_mixture(X, 2, key=KEY, means_init=m),
         (np.ones((3, 2), np.float32),), r"means_init must have shape \(k, d\) = \(2, 2\)"),
    Case("Bernoulli mixture: data outside [0, 1]", _bmm, (BINARY * 3, 0.01, None),
         r"x must lie in \[0, 1\]"),
    Case("Bernoulli mixture: alpha 0", _bmm, (BINARY, 0.0, None), "alpha must be > 0"),
    Case("Bernoulli mixture: means_init above 1", _bmm,
         (BINARY, 0.01, np.full((2, 6), 1.5, np.float32)), r"means_init must lie in \[0, 1\]"),
    Case("Bernoulli mixture: unknown init",
         lambda x: mixture.bernoulli_mixture(x, 2, key=KEY, init="kmeans++"), (BINARY,),
         "Unknown init 'kmeans\\+\\+'"),
    Case("mixture log-likelihood: NaN row", _log_likelihood, (NAN_X,), "x contains 1 NaN",
         carrier=lambda out: out[0]),
    Case("mixture log-likelihood: wrong width", _log_likelihood, (np.ones((2, 3), np.float32),),
         "x has 3 features but 2 were expected"),
    Case("mixture API: not a fitted model", lambda x: mixture.log_likelihood({"w": 1}, x),
         (X,), "Expected a fitted"),
    Case("mixture sample: n = 0", lambda k: mixture.sample(_GMM, 0, key=k), (KEY,),
         "n must be a positive integer"),
    Case("mixture e-step: a row of zero probability", lambda lj: mixture.e_step(lj)[0],
         (np.array([[0.0, -1.0], [-np.inf, -np.inf]], np.float32),),
         "a row of -inf has no responsibilities", carrier=lambda out: out[1]),
    Case("mixture lower_bound: negative sample weights",
         lambda s: mixture.lower_bound(jnp.zeros((2, 2)), jnp.full((2, 2), 0.5), s),
         (-np.ones(2, np.float32),), "sample_weight must be non-negative"),
    # som
    Case("SOM: NaN data", _som, (NAN_X, 1.0, 0.5, 0.5, SW), "x contains 1 NaN"),
    Case("SOM: data at 1e30", _som, (X * 1e30, 1.0, 0.5, 0.5, SW), None,
         _close(_SOM_WEIGHTS * 1e30, rtol=1e-4)),
    Case("SOM: data at 1e-30", _som, (X * 1e-30, 1.0, 0.5, 0.5, SW), None,
         _close(_SOM_WEIGHTS * 1e-30, rtol=1e-4)),
    Case("SOM: float16 data", _som, (X.astype(np.float16), 1.0, 0.5, 0.5, SW), None,
         _close(_SOM_WEIGHTS, atol=2e-2)),
    Case("SOM: sigma 0", _som, (X, 0.0, 0.5, 0.5, SW), "sigma must be > 0"),
    Case("SOM: negative sigma", _som, (X, -1.0, 0.5, 0.5, SW), "sigma must be > 0"),
    Case("SOM: NaN sigma_final", _som, (X, 1.0, np.nan, 0.5, SW), "sigma_final contains 1 NaN"),
    Case("SOM: negative learning rate", _som, (X, 1.0, 0.5, -0.5, SW),
         "learning_rate must be > 0"),
    Case("SOM: zero sample weights", _som, (X, 1.0, 0.5, 0.5, 0 * SW), "positive sum"),
    Case("SOM: order past the data", _som_order, (np.array([0, 1, 9], np.int32),),
         r"order's sample indices must lie in \[0, 6\)"),
    Case("SOM: sigma swept over a good and a bad value", _som_sweep,
         (np.array([1.0, -1.0], np.float32),), "sigma must be > 0",
         carrier=lambda out: out[1]),
    Case("SOM: grid side 0", lambda x: som.train(x, (0, 2), key=KEY), (X,),
         "every grid side must be a positive integer"),
    Case("SOM: unknown topology", lambda x: som.train(x, (2, 2), key=KEY, topology="hex"),
         (X,), "Unknown topology 'hex'; accepted: 'rectangular'"),
    Case("SOM: unknown neighbourhood",
         lambda x: som.train(x, (2, 2), key=KEY, neighborhood="gauss"), (X,),
         "Unknown neighborhood 'gauss'"),
    Case("SOM: int seed as key", lambda x: som.train(x, (2, 2), key=0), (X,), "PRNG key"),
    Case("SOM winners: weights of rank 2", lambda w: som.winners(w, X),
         (np.zeros((4, 2), np.float32),), r"weights must have shape \[rows, cols, d\]"),
    Case("SOM topographic error: NaN data", _topographic_error, (NAN_X,), "x contains 1 NaN"),
    Case("SOM topographic error: one unit",
         lambda w: som.topographic_error(w, X), (np.zeros((1, 1, 2), np.float32),),
         "at least 2 units"),
    Case("SOM distortion: negative sigma", _distortion, (-1.0,), "sigma must be > 0"),
    Case("SOM neighbourhood: sigma 0",
         lambda s: som.neighborhood(jnp.arange(3.0), s), (0.0,), "sigma must be > 0"),
    Case("SOM u-matrix: unknown reduction", lambda w: som.u_matrix(w, reduce="avg"),
         (np.zeros((2, 2, 2), np.float32),), "Unknown reduce 'avg'"),
    Case("SOM winners: NaN data", lambda x: som.winners(_MAP, x), (NAN_X,),
         "x contains 1 NaN", sentinel=True),
    Case("SOM hit map: NaN data", lambda x: som.hit_map(_MAP, x), (NAN_X,),
         "x contains 1 NaN", sentinel=True),  # integer counts
    Case("SOM class counts: label out of range",
         lambda l: som.class_counts(_MAP, X, l, n_classes=2), (LABELS * 5,),
         r"labels reach 5 but n_classes is 2", sentinel=True),  # integer counts
    # schedules
    Case("schedule: unknown kind", lambda v: schedules.schedule("expo", v, 0.1, total=10)(3),
         (1.0,), "Unknown schedule 'expo'; accepted: 'exponential'"),
    Case("schedule: exponential to 0",
         lambda v: schedules.exponential(1.0, v, total=10)(5), (0.0,), "same sign"),
    Case("schedule: exponential with tau 0",
         lambda v: schedules.exponential(1.0, tau=v)(5), (0.0,), "tau must be > 0"),
    Case("schedule: inverse time from 0",
         lambda v: schedules.inverse_time(v, 0.1, total=10)(5), (0.0,), "same sign"),
    Case("schedule: total 0", lambda v: schedules.linear(v, 0.1, total=0)(0), (1.0,),
         "total must be a positive integer"),
    Case("schedule: boundaries not sorted",
         lambda v: schedules.piecewise_constant([v, 0.5, 0.1], [5, 2])(3), (1.0,),
         "non-decreasing"),
    Case("schedule: a count before 0", lambda t: schedules.linear(1.0, 0.1, total=10)(t),
         (-3,), None, _close(1.0)),
    # rbm
    Case("RBM init: int seed as key", lambda k: rbm.init_params(k, 6, 3).w, (0,), "PRNG key"),
    Case("RBM init: negative scale", lambda s: rbm.init_params(KEY, 6, 3, scale=s).w, (-1.0,),
         "scale must be >= 0"),
    Case("RBM init: Bernoulli data above 1",
         lambda d: rbm.init_params(KEY, 6, 3, data=d).a, (_grey([0]),),
         r"data must lie in \[0, 1\]", carrier=lambda out: out[0]),
    Case("RBM free energy: data above 1", lambda v: rbm.free_energy(_RBM, v),
         (_grey([0]),), r"v must lie in \[0, 1\]", carrier=lambda out: out[0]),
    Case("RBM free energy: wrong width", lambda v: rbm.free_energy(_RBM, v),
         (BINARY[:, :4],), "v has 4 features but 6 were expected"),
    Case("RBM CD gradient: k = 0",
         lambda v: rbm.cd_gradient(_RBM, v, key=KEY, k=0), (BINARY,),
         "k must be a positive integer"),
    Case("RBM fit: negative learning rate", _rbm_fit, (BINARY, -0.1, 0.5, 0.1),
         "learning_rate must be > 0"),
    Case("RBM fit: momentum 1.5", _rbm_fit, (BINARY, 0.1, 1.5, 0.1), "momentum must be >= 0"),
    Case("RBM fit: sparsity target 0", _rbm_fit, (BINARY, 0.1, 0.5, 0.0),
         "sparsity_target must be > 0"),
    Case("RBM fit: data above 1", _rbm_fit, (_grey([0]), 0.1, 0.5, 0.1),
         r"x must lie in \[0, 1\]"),
    Case("RBM fit: batch_size > n",
         lambda x: rbm.fit(x, 3, key=KEY, epochs=1, batch_size=9), (BINARY,),
         "batch_size must be <= the number of examples 8"),
    Case("RBM fit: unknown visible units",
         lambda x: rbm.fit(x, 3, key=KEY, visible="binary"), (BINARY,),
         "Unknown visible 'binary'"),
    Case("RBM salt and pepper: rate 1.5", lambda r: rbm.salt_and_pepper(KEY, BINARY, r),
         (1.5,), "rate must be >= 0"),
    Case("RBM one-bit PLL: index past the units",
         lambda i: rbm.pseudo_log_likelihood_one_bit(_RBM, BINARY, index=i),
         (np.full(8, 9, np.int32),), r"index entries must be in \[0, 6\)"),
    Case("RBM exact log Z: too many units",
         lambda k: rbm.log_partition_exact(rbm.init_params(k, 30, 30)), (KEY,),
         "log_partition_ais"),
    Case("RBM Gibbs chain: snapshots that do not divide the steps",
         lambda v: rbm.gibbs_chain(_RBM, v, key=KEY, n_steps=2, n_snapshots=5).states,
         (BINARY,), "multiple of n_snapshots"),
    Case("RBM optimizer: negative learning rate", lambda v: rbm.optimizer(v), (-1.0,),
         "learning_rate must be > 0", jit=False),
    # data
    Case("binarize: uint8-range pixels", lambda x: data.binarize(x), (IMAGES * 255,),
         r"binarize expects x in \[0, 1\]", carrier=lambda out: np.asarray(out)[IMAGES > 0]),
    Case("binarize: NaN threshold", lambda t: data.binarize(IMAGES, t), (np.nan,),
         "threshold contains 1 NaN"),
    Case("dynamic binarize: int seed as key", lambda k: data.dynamic_binarize(k, IMAGES), (0,),
         "PRNG key"),
    Case("to_unit_range: float pixels", lambda x: data.to_unit_range(x), (IMAGES,),
         "expects uint8 pixels"),
    Case("standardize: negative std",
         lambda s: data.standardize(X, np.zeros(2, np.float32), s)[0],
         (-np.ones(2, np.float32),), "std must be >= 0"),
    Case("standardize: constant feature",
         lambda x: data.standardize(x)[0][:, 1], (np.stack([X[:, 0], np.full(6, 3.0)], 1),),
         None, _close(np.zeros(6))),
    Case("PCA: more components than features", lambda x: data.pca(x, 3), (X,),
         r"n_components must be <= min\(n, d\) = 2"),
    Case("PCA: constant data", lambda x: data.pca(x, 1), (np.ones((4, 2), np.float32),),
         "needs data that vary", carrier=lambda out: out.explained_variance_ratio),
    Case("PCA: data at 1e30", lambda x: data.pca(x, 2).explained_variance_ratio, (X * 1e30,),
         None, _close(np.asarray(_PCA.explained_variance_ratio), rtol=1e-4)),
    Case("PCA: data at 1e-30", lambda x: data.pca(x, 2).components, (X * 1e-30,), None,
         _close(np.asarray(_PCA.components), rtol=1e-4, atol=1e-6)),
    Case("PCA: float16 data", lambda x: data.pca(x, 2).components, (X.astype(np.float16),),
         None, _close(np.asarray(_PCA.components), atol=1e-2)),
    Case("blobs: negative std", lambda s: data.blobs(KEY, 6, std=s)[0], (-1.0,),
         "std must be >= 0"),
    Case("blobs: reversed box", lambda k: data.blobs(k, 6, box=(10.0, -10.0))[0], (KEY,),
         "box must be .low, high. with low < high"),
    Case("blobs: int seed as key", lambda k: data.blobs(k, 6)[0], (0,), "PRNG key"),
    Case("epoch indices: batch_size > n", lambda k: data.epoch_indices(k, 4, 5), (KEY,),
         "batch_size must be <= the number of examples 4"),
    Case("load: unknown dataset", _strict_error(lambda: data.load("cifar")), (None,),
         "Unknown dataset name 'cifar'; accepted: 'fashion_mnist'", jit=False),
    Case("read_idx: not an IDX file", _strict_error(lambda: data.read_idx(__file__)), (None,),
         "IDX", jit=False),
    # augment
    Case("random shift: negative", lambda x: augment.RandomShift(-2)(KEY, x), (IMAGES,),
         "max_shift must be a whole number"),
    Case("Gaussian noise: pixels above 1", lambda x: augment.GaussianNoise(0.1)(KEY, x),
         (IMAGES + 2,), r"augmentation expects images in \[0, 1\]"),
    Case("random shift: int seed as key", lambda k: augment.RandomShift(1)(k, IMAGES), (0,),
         "PRNG key"),
    Case("random shift: one image without a batch axis",
         lambda x: augment.RandomShift(1)(KEY, x), (IMAGES[0],),
         r"images must be a batch \[n, h, w\]"),
    Case("random resized crop: reversed scale",
         lambda x: augment.RandomResizedCrop(scale=(0.9, 0.1))(KEY, x), (IMAGES,),
         "scale must satisfy 0.0 <= min <= max <= 1.0"),
    Case("Gaussian noise: negative std", lambda x: augment.GaussianNoise(-0.1)(KEY, x),
         (IMAGES,), "std must be a finite number >= 0"),
    Case("crop box: reversed scale",
         lambda k: augment.crop_box(k, 8, 8, (0.9, 0.1), (0.75, 1.33)), (KEY,),
         "scale must satisfy 0.0 <= min <= max <= 1.0"),
    Case("crop box: height 0", lambda k: augment.crop_box(k, 0, 8, (0.1, 0.9), (0.75, 1.33)),
         (KEY,), "height must be a positive integer"),
    Case("compose: not a transform", lambda x: augment.Compose([3])(KEY, x), (IMAGES,),
         "Compose takes transforms"),
    # vae
    Case("VAE loss: negative beta", _vae_loss, (IMAGES, -1.0), "beta must be >= 0"),
    Case("VAE loss: pixels above 1", _vae_loss, (IMAGES * 3, 1.0),
         r"images must hold values in \[0, 1\]"),
    Case("VAE loss: int seed as key", lambda k: vae.vae_loss(_VAE, IMAGES, k).loss,
         (0,), "PRNG key"),
    Case("Gaussian KL: shapes differ", lambda m, v: vae.gaussian_kl(m, v),
         (np.zeros((2, 2), np.float32), np.zeros((2, 3), np.float32)),
         "mean and log_variance must have one shape"),
    Case("Gaussian KL: NaN log-variance", lambda v: vae.gaussian_kl(np.zeros((2, 2)), v),
         (np.full((2, 2), np.nan, np.float32),), "log_variance contains 4 NaN"),
    Case("Bernoulli log-likelihood: targets above 1",
         lambda x: vae.bernoulli_log_likelihood(jnp.zeros((4, 8, 8)), x), (IMAGES * 3,),
         r"expects images in \[0, 1\]"),
    Case("reparameterize: int seed as key",
         lambda k: vae.reparameterize(k, jnp.zeros((2, 2)), jnp.zeros((2, 2))), (0,),
         "PRNG key"),
    Case("VAE sample: n = 0", lambda k: vae.sample(_VAE, 0, key=k), (KEY,),
         "n must be a positive integer", jit=False),
    Case("make_vae: unknown architecture",
         _strict_error(lambda: vae.make_vae("cnn", latent_dim=2, image_shape=(8, 8),
                                            rngs=nnx.Rngs(0))), (None,),
         "Unknown architecture 'cnn'; accepted: 'mlp', 'conv'", jit=False),
    Case("train_vae: negative learning rate",
         lambda x: vae.train_vae(x, key=KEY, latent_dim=2, image_shape=(8, 8), epochs=1,
                                 batch_size=2, learning_rate=-1.0, progress=False),
         (IMAGES,), "learning_rate must be > 0", jit=False),
    Case("train_vae: images of another size",
         lambda x: vae.train_vae(x, key=KEY, latent_dim=2, image_shape=(8, 8), epochs=1,
                                 batch_size=2, progress=False), (IMAGES[:, :4],),
         r"images must have shape \[n, 8, 8\]", jit=False),
    Case("interpolate: one step",
         lambda x: vae.interpolate(_VAE, x[0], x[1], n_steps=1), (IMAGES,),
         "n_steps must be an integer >= 2", jit=False),
    # gan
    Case("GAN loss: unknown loss", lambda r: gan.discriminator_loss(r, r, "hinge"),
         (np.ones(2, np.float32),), "Unknown loss 'hinge'; accepted: 'minimax'"),
    Case("GAN loss: NaN logits", lambda r: gan.discriminator_loss(r, np.zeros(2)),
         (np.array([1.0, np.nan], np.float32),), "real_logits contains 1 NaN"),
    Case("GAN info loss: codes of another size",
         lambda c: gan.info_loss(gan.InfoCodes(2, 1), c, jnp.zeros((2, 3))),
         (np.zeros((2, 5), np.float32),), r"c and q must both be \[n, 3\]"),
    Case("GAN sample: a batch of keys",
         lambda k: gan.sample(gan.Generator("mlp", latent_dim=2, image_shape=(8, 8), widths=(4,),
                                            rngs=nnx.Rngs(0)), 2, key=k),
         (jax.random.split(KEY, 2),), "single PRNG key", jit=False),
    Case("train_gan: negative learning rate",
         lambda x: gan.train_gan(x, key=KEY, architecture="mlp", epochs=1, batch_size=2,
                                 learning_rate=-1.0, progress=False), (IMAGES,),
         "learning_rate must be > 0", jit=False),
    Case("train_gan: b1 1.5",
         lambda x: gan.train_gan(x, key=KEY, architecture="mlp", epochs=1, batch_size=2,
                                 b1=1.5, progress=False), (IMAGES,),
         "b1 must be >= 0.0 and < 1.0", jit=False),
    Case("train_gan: labels out of range",
         lambda x: gan.train_gan(x, np.array([0, 1, 5, 1]), key=KEY, architecture="mlp",
                                 conditional=True, n_classes=2, epochs=1, batch_size=2,
                                 progress=False), (IMAGES,),
         r"labels must be in \[0, 2\)", jit=False),
    # contrastive
    Case("NT-Xent: temperature 0", lambda t: contrastive.ntxent(X, X + 0.1, t), (0.0,),
         "temperature must be a finite number > 0"),
    Case("NT-Xent: one example", lambda z: contrastive.ntxent(z, z), (X[:1],),
         "needs N >= 2 examples"),
    Case("NT-Xent: NaN embeddings", lambda z: contrastive.ntxent(z, X), (NAN_X,),
         "z_a contains 1 NaN"),
    Case("contrastive loss: flags that are not 0/1",
         lambda s: contrastive.contrastive_loss(X, X + 0.1, s),
         (np.array([2, 0, 1, 0, 1, 0], np.int32),), "similar must be binary"),
    Case("triplet loss: unknown miner",
         lambda z: contrastive.triplet_loss(z, LABELS, miner="hard"), (X,),
         "Unknown miner 'hard'; accepted: 'semi_hard'"),
    Case("uniformity: one embedding", lambda z: contrastive.uniformity(z), (X[:1],),
         "needs n >= 2 embeddings"),
    Case("uniformity: negative t", lambda t: contrastive.uniformity(X, t), (-2.0,),
         "t must be > 0"),
    Case("alignment: shapes differ", lambda z: contrastive.alignment(X, z), (X[:2],),
         "z_a and z_b must have the same shape"),
    Case("class rows: negative label", lambda l: contrastive.class_rows(IMAGES, l, key=KEY),
         (np.array([0, 1, -1, 1]),), "labels must be non-negative", jit=False),
    Case("train_simclr: negative temperature",
         lambda x: contrastive.train_simclr(x, key=KEY, temperature=-0.5, epochs=1,
                                            batch_size=2, progress=False), (IMAGES,),
         "temperature must be > 0", jit=False),
    # evaluation
    Case("k-NN: k > n", lambda f: evaluation.knn_predict(f, LABELS, f, k=7), (X,),
         "k = 7 exceeds the 6 reference rows"),
    Case("k-NN: label out of range",
         lambda l: evaluation.knn_predict(X, l, X, n_classes=2), (LABELS * 5,),
         r"train_labels must be in \[0, 2\)", sentinel=True),  # integer predictions
    Case("k-NN: NaN test features",
         lambda f: evaluation.knn_predict(X, LABELS, f, k=3, n_classes=2), (NAN_X,),
         "x contains 1 NaN", sentinel=True),
    Case("linear probe: C = 0", _sgd_linear_probe, (X, LABELS, 0.0, 1e-5), "C must be > 0"),
    Case("linear probe: negative tol", _sgd_linear_probe, (X, LABELS, 1.0, -1.0),
         "tol must be >= 0"),
    Case("linear probe: label out of range", _sgd_linear_probe, (X, LABELS * 3, 1.0, 1e-5),
         r"train_labels must be in \[0, 2\)"),
    Case("reference classifier: unknown dataset",
         _strict_error(lambda: evaluation.feature_extractor("cifar")), (None,),
         "Unknown dataset 'cifar'; accepted: 'fashion_mnist'", jit=False),
    Case("Fréchet distance: one row", lambda f: evaluation.frechet_distance(f, X), (X[:1],),
         "needs at least 2 rows"),
    Case("Fréchet distance: NaN features", lambda f: evaluation.frechet_distance(X, f),
         (NAN_X,), "features_b contains 1 NaN"),
    Case("Gaussian statistics: one row", lambda f: evaluation.gaussian_statistics(f)[1],
         (X[:1],), "needs at least 2 rows"),
    Case("class histogram: label out of range",
         lambda p: evaluation.class_histogram(p, 2).entropy, (LABELS * 5,),
         r"predicted must be in \[0, 2\)"),
    Case("classifier score: rows not summing to 1", lambda p: evaluation.classifier_score(p),
         (np.full((3, 2), 0.2, np.float32),), "rows of class probabilities"),
    Case("precision/recall: NaN features",
         lambda f: evaluation.precision_recall(X, f, k=2).precision, (NAN_X,),
         "generated_features contains 1 NaN"),
    Case("precision/recall: k >= n", lambda f: evaluation.precision_recall(f, f, k=6), (X,),
         "k = 6 needs more than k rows"),
    # distill
    Case("distillation: negative temperature", _distillation,
         (LABELS[:4] % 3, -1.0, 0.5), "temperature must be > 0"),
    Case("distillation: negative hard weight", _distillation,
         (LABELS[:4] % 3, 2.0, -1.0), "hard_weight must be non-negative"),
    Case("distillation: label out of range", _distillation,
         (np.array([0, 1, 7, 0], np.int32), 2.0, 0.5), r"labels must be in \[0, 3\)"),
    Case("distillation: negative label", _distillation,
         (np.array([0, -1, 2, 0], np.int32), 2.0, 0.5), "labels must be non-negative"),
    Case("distillation: temperature swept over a good and a bad value (vmap)",
         lambda t: jax.vmap(lambda ti: _distillation(LABELS[:4] % 3, ti, 0.5))(t),
         (np.array([2.0, -1.0], np.float32),), None,
         lambda out: np.isfinite(out[0]) and np.isnan(out[1])),
    Case("soft targets: temperature 0",
         lambda t: distill.soft_target_loss(X, X + 1.0, temperature=t), (0.0,),
         "temperature must be > 0"),
    Case("hint loss: the regressor's width is not the teacher's",
         lambda s: distill.hint_loss(s, X, lambda v: v[:, :1]), (X,),
         "maps the student's features to shape"),
    Case("distillation weights: both 0",
         _strict_error(lambda: distill.check_weights(2.0, 0.0, 0.0)), (None,), "both 0",
         jit=False),
    # train
    Case("cosine-decay Adam: negative learning rate",
         lambda v: train.cosine_decay_adam(v, 10), (-1.0,), "learning_rate must be > 0",
         jit=False),
    Case("init_states: an int as the run keys",
         _strict_error(lambda: train.init_states(
             {"model": lambda rngs: nnx.Linear(2, 1, rngs=rngs)}, {"model": _SGD}, 3)),
         (None,), "keys must be a PRNG key", jit=False),
    Case("decay steps: 0 epochs", _strict_error(lambda: train.decay_steps("cosine", 0, 10)),
         (None,), "epochs must be a positive integer", jit=False),
    Case("select_run: past the runs", lambda t: train.select_run({"a": t}, 5),
         (np.ones((2, 3), np.float32),), r"run index i must be in \[0, n_runs\) = \[0, 2\)"),
    # scikit-learn estimators
    Case("sklearn KMeans: more clusters than points",
         lambda x: sklearn.KMeans(7).fit(x), (X,), "n_samples=6 should be >= n_clusters=7",
         jit=False),
    Case("sklearn KMeans: NaN data", lambda x: sklearn.KMeans(2).fit(x), (NAN_X,),
         "Input X contains NaN", jit=False),
    Case("sklearn GaussianMixture: negative reg_covar",
         lambda x: sklearn.GaussianMixture(2, reg_covar=-1.0).fit(x), (X,),
         "reg_covar must be >= 0", jit=False),
    Case("sklearn SelfOrganizingMap: negative sigma",
         lambda x: sklearn.SelfOrganizingMap((2, 2), sigma=-1.0, epochs=1).fit(x), (X,),
         "sigma must be > 0", jit=False),
    Case("sklearn BernoulliRBM: negative learning rate",
         lambda x: sklearn.BernoulliRBM(2, learning_rate=-1.0, n_iter=1, batch_size=4).fit(x),
         (BINARY,),
         "learning_rate must be > 0", jit=False),
    Case("sklearn: random_state a string", _strict_error(lambda: sklearn.jax_key("abc")),
         (None,), "random_state must be None, an int", jit=False),
]

_NAMES = [case.name for case in CASES]
assert len(set(_NAMES)) == len(_NAMES), "case names must be unique"


def _floats(tree) -> list[np.ndarray]:
    return [np.asarray(leaf) for leaf in jax.tree.leaves(tree)
            if jnp.issubdtype(jnp.result_type(leaf), jnp.inexact)]


@functools.cache
def _compiled(call):
    return jax.jit(call)


@pytest.mark.parametrize("case", CASES, ids=_NAMES)
def test_eager_call_raises_a_clear_error_or_is_correct(case):
    if case.match is not None:
        with pytest.raises(ValueError, match=case.match):
            jax.block_until_ready(case.call(*case.args))
    else:
        assert case.check(jax.block_until_ready(case.call(*case.args)))


@pytest.mark.parametrize("case", [case for case in CASES if case.jit],
                         ids=[case.name for case in CASES if case.jit])
def test_jitted_call_raises_or_carries_the_failure_and_agrees_with_eager(case):
    compiled = _compiled(case.call)
    expected_error = case.jit_match or (case.match if case.match is not None else None)
    try:
        out = jax.block_until_ready(compiled(*case.args))
    except ValueError as err:
        assert expected_error is not None and re.search(expected_error, str(err)), err
        return
    assert case.jit_match is None, "expected a clear error under jit"
    if case.match is None:  # a correct result: the same as the eager call's
        eager = case.call(*case.args)
        for a, b in zip(_floats(out), _floats(eager), strict=True):
            scale = np.max(np.abs(b), where=np.isfinite(b), initial=0.0)
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6 * scale)
        assert case.check(out)
        return
    if case.sentinel:  # integers only: every one decided by the bad value is -1
        leaves = [np.asarray(leaf) for leaf in jax.tree.leaves(case.carrier(out))]
        assert leaves and all(np.issubdtype(leaf.dtype, np.integer) for leaf in leaves)
        for leaf in leaves:
            assert np.all(leaf == -1), f"a plausible integer result: {leaf}"
        return
    carried = _floats(case.carrier(out))
    assert carried, "the result has no float to carry the failure"
    for value in carried:
        assert not np.any(np.isfinite(value)), f"a finite, plausible result: {value}"
