"""scikit-learn estimators over the classical half: k-means, mixtures, SOM, RBM.

Thin classes over the functional API, for Pipelines, ``GridSearchCV`` and
``random_state``; every fit is one call of the library's jit-compiled function, so
the algorithms (and their tests) live in :mod:`jaxselforg.cluster`,
:mod:`jaxselforg.mixture`, :mod:`jaxselforg.som` and :mod:`jaxselforg.rbm`::

    from jaxselforg.sklearn import KMeans, GaussianMixture, SelfOrganizingMap
    KMeans(10, random_state=0).fit(x).cluster_centers_

scikit-learn is an optional dependency (``pip install jaxselforg[reference]``): this
module imports it, ``import jaxselforg`` does not.

Conventions shared by every estimator here:

* Input is validated by ``sklearn.utils.validation.validate_data`` (NaN/Inf, 1-D,
  empty, wrong ``n_features_in_``: scikit-learn's own errors); sparse input is refused.
* Computation is in float32, JAX's default: float64 input is accepted and cast, and
  outputs are float32 (``__sklearn_tags__`` says so).
* ``random_state`` (``None``, an int, a ``np.random.RandomState`` or a
  ``np.random.Generator``) becomes a JAX key by :func:`jax_key`; an int ``s`` gives
  ``jax.random.key(s)``, so ``KMeans(random_state=s)`` equals
  ``cluster.kmeans(..., key=jax.random.key(s))``.
* Fitted attributes are numpy arrays (they pickle without JAX); compiled programs are
  cached on shapes and static settings, so a second ``fit`` on the same shapes (a
  ``GridSearchCV`` over a traced hyperparameter such as the SOM's ``sigma``) does not
  recompile.
"""

from __future__ import annotations

import numbers

import jax
import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    DensityMixin,
    TransformerMixin,
)
from sklearn.preprocessing import binarize
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from jaxselforg import cluster, criteria, mixture, rbm, som

__all__ = [
    "BernoulliMixture",
    "BernoulliRBM",
    "GaussianMixture",
    "KMeans",
    "SelfOrganizingMap",
    "jax_key",
]


def _numpy_random_state(random_state) -> np.random.RandomState:
    """scikit-learn's ``check_random_state``, also taking a ``np.random.Generator``."""
    if isinstance(random_state, np.random.Generator):
        return np.random.RandomState(int(random_state.integers(2**31 - 1)))
    try:
        return check_random_state(random_state)
    except ValueError:
        raise ValueError(
            "random_state must be None, an int, a np.random.RandomState or a "
            f"np.random.Generator; got {random_state!r}."
        ) from None


def jax_key(random_state) -> jax.Array:
    """The JAX key of a scikit-learn ``random_state``.

    An int ``s`` gives ``jax.random.key(s)``; a ``np.random.Generator`` or
    ``RandomState`` (``None``: numpy's global one, as ``check_random_state``) gives the
    key of one 31-bit integer drawn from it (so it advances, as scikit-learn's do).

    Args:
      random_state: ``None``, a non-negative int, ``np.random.RandomState`` or
        ``np.random.Generator``.

    Returns:
      A typed PRNG key.

    Raises:
      ValueError: anything else, or a negative int.
    """
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative int; got {random_state}.")
        return jax.random.key(int(random_state))
    return jax.random.key(int(_numpy_random_state(random_state).randint(2**31 - 1)))


def _float32_tags(tags, *, transformer: bool = False):
    # Every computation runs in float32 (JAX's default precision on accelerators), so
    # float64 input is cast and results are float32: the dtype a transformer preserves
    # is float32 only.
    if transformer and tags.transformer_tags is not None:
        tags.transformer_tags.preserves_dtype = ["float32"]
    tags.input_tags.sparse = False
    return tags


def _checked(estimator, x, *, reset: bool, min_samples: int = 1) -> np.ndarray:
    """scikit-learn's validation (its errors), then float32 for the compiled programs."""
    return validate_data(
        estimator,
        x,
        reset=reset,
        accept_sparse=False,
        dtype=[np.float32, np.float64],
        ensure_min_samples=min_samples,
    ).astype(np.float32, copy=False)


def _enough_samples(n: int, k: int, what: str) -> None:
    if n < k:
        raise ValueError(f"n_samples={n} should be >= {what}={k}.")


def _sample_weight(sample_weight, n: int):
    """scikit-learn's forms of ``sample_weight``: None, a scalar (every row alike) or a
    sequence of ``n`` weights, as a float32 array; the library checks the values."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=np.float32)
    return np.full(n, weights, np.float32) if weights.ndim == 0 else weights


# ---------------------------------------------------------------------------
# k-means


class KMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """k-means over :func:`jaxselforg.cluster.kmeans` (Lloyd's algorithm, or its fit
    with Elkan's or Hamerly's bounds).

    Args:
      n_clusters: k.
      init: ``"k-means++"``, ``"random"``, ``"random-partition"`` (the lecture's:
        random clusters, centres their means) or a ``[k, d]`` array of centres.
      n_init: restarts (one vmapped program), or ``"auto"``: 1 for ``"k-means++"``
        and an array, 10 otherwise (scikit-learn's rule).
      max_iter: cap on centre updates.
      tol: absolute, in data units: stop when no centre moves farther (scikit-learn
        scales its ``tol`` by the data's variance instead).
      metric: the assignment metric (``jaxselforg.distances.METRICS``).
      random_state: see :func:`jax_key`.
      algorithm: ``"auto"``, ``"lloyd"``, ``"elkan"`` or ``"hamerly"``
        (``cluster.kmeans``: the bounded fits are Lloyd's, with fewer distances).

    Attributes:
      cluster_centers_: ``[k, d]``. labels_: ``[n]``. inertia_: sum of squared
      distances to the nearest centre. n_iter_: updates made.
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        metric="euclidean",
        random_state=None,
        algorithm="auto",
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.metric = metric
        self.random_state = random_state
        self.algorithm = algorithm

    def __sklearn_tags__(self):
        return _float32_tags(super().__sklearn_tags__(), transformer=True)

    def _n_init(self):
        if self.n_init != "auto":
            return self.n_init
        return 1 if not isinstance(self.init, str) or self.init == "k-means++" else 10

    def fit(self, X, y=None, sample_weight=None):
        """Clusters ``X`` ``[n, d]`` (rows weighted by ``sample_weight`` ``[n]``, or a
        scalar; None: ones); returns self."""
        x = _checked(self, X, reset=True)
        _enough_samples(x.shape[0], self.n_clusters, "n_clusters")
        sample_weight = _sample_weight(sample_weight, x.shape[0])
        init = self.init if isinstance(self.init, str) else np.asarray(self.init, np.float32)
        result = cluster.kmeans(
            x,
            self.n_clusters,
            key=jax_key(self.random_state),
            init=init,
            n_init=self._n_init(),
            tol=self.tol,
            max_iter=self.max_iter,
            metric=self.metric,
            sample_weight=sample_weight,
            algorithm=self.algorithm,
        )
        self.cluster_centers_ = np.asarray(result.centers)
        self.labels_ = np.asarray(result.labels)
        self.inertia_ = float(result.inertia)
        self.n_iter_ = int(result.n_iter)
        self._n_features_out = self.n_clusters
        return self

    def predict(self, X):
        """Index ``[n]`` of each point's nearest centre."""
        check_is_fitted(self)
        x = _checked(self, X, reset=False)
        return np.asarray(cluster.predict(x, self.cluster_centers_, self.metric))

    def transform(self, X):
        """Distances ``[n, k]`` from every point to every centre."""
        check_is_fitted(self)
        x = _checked(self, X, reset=False)
        return np.asarray(cluster.transform(x, self.cluster_centers_, self.metric))

    def score(self, X, y=None, sample_weight=None):
        """Minus the (weighted) inertia of ``X`` on the fitted centres (higher is better)."""
        check_is_fitted(self)
        x = _checked(self, X, reset=False)
        return -float(criteria.inertia(x, self.cluster_centers_,
                                       sample_weight=_sample_weight(sample_weight, x.shape[0])))


# ---------------------------------------------------------------------------
# Mixtures


class _Mixture(DensityMixin, BaseEstimator):
    """The fitted-model API of :mod:`jaxselforg.mixture`, once for both families."""

    def _params(self):
        raise NotImplementedError

    def _data(self, X, *, reset: bool):
        return _checked(self, X, reset=reset, min_samples=2 if reset else 1)

    def _store(self, result):
        self.weights_ = np.asarray(result.weights)
        self.means_ = np.asarray(result.means)
        self.converged_ = bool(result.converged)
        self.n_iter_ = int(result.n_iter)
        self.lower_bound_ = float(result.lower_bound)

    def _fitted(self, X):
        check_is_fitted(self)
        return self._params(), self._data(X, reset=False)

    def fit_predict(self, X, y=None):
        """Fits, then the most probable component of every row of ``X``."""
        return self.fit(X).predict(X)

    def predict(self, X):
        """The most probable component ``[n]`` of every row."""
        return np.asarray(mixture.predict(*self._fitted(X)))

    def predict_proba(self, X):
        """Responsibilities ``[n, k]``, P(j | x_i)."""
        return np.asarray(mixture.predict_proba(*self._fitted(X)))

    def score_samples(self, X):
        """ln p(x_i) ``[n]``."""
        return np.asarray(mixture.log_likelihood(*self._fitted(X)))

    def score(self, X, y=None):
        """Mean ln p(x_i) over the rows of ``X``."""
        return float(np.mean(self.score_samples(X)))

    def bic(self, X):
        """-2 ln P(X) + p ln n (lower is better)."""
        return float(mixture.bic(*self._fitted(X)))

    def aic(self, X):
        """-2 ln P(X) + 2 p (lower is better)."""
        return float(mixture.aic(*self._fitted(X)))

    def sample(self, n_samples=1):
        """``(X [n_samples, d], y [n_samples])``: draws and their components.

        The key comes from ``random_state`` (:func:`jax_key`); the draws are in random
        order (scikit-learn sorts them by component).
        """
        check_is_fitted(self)
        x, labels = mixture.sample(self._params(), n_samples, key=jax_key(self.random_state))
        return np.asarray(x), np.asarray(labels)


def _precisions(cholesky: np.ndarray, covariance_type: str) -> np.ndarray:
    """The precision matrices from their Cholesky factors L (``P = L L^T``), shaped as
    scikit-learn's ``precisions_``: ``[k, d, d]`` full, ``[d, d]`` tied, and the
    squares of the (diagonal, scalar) factors for ``"diag"`` and ``"spherical"``."""
    if covariance_type == "full":
        return cholesky @ np.swapaxes(cholesky, -1, -2)
    if covariance_type == "tied":
        return cholesky @ cholesky.T
    return cholesky**2


class GaussianMixture(_Mixture):
    """A Gaussian mixture fitted by EM, over :func:`jaxselforg.mixture.gaussian_mixture`.

    Parameters as ``sklearn.mixture.GaussianMixture``: ``n_components``,
    ``covariance_type`` (``"full"``, ``"tied"``, ``"diag"``, ``"spherical"``), ``tol``,
    ``reg_covar``, ``max_iter``, ``n_init``, ``init_params`` (``"kmeans"``,
    ``"k-means++"``, ``"random"``, ``"random_from_data"``), ``weights_init``,
    ``means_init``, ``precisions_init`` and ``random_state`` (:func:`jax_key`).

    Attributes:
      weights_ ``[k]``, means_ ``[k, d]``, covariances_, precisions_ and
      precisions_cholesky_ (shaped by ``covariance_type`` as scikit-learn's), converged_,
      n_iter_, lower_bound_.
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state

    def __sklearn_tags__(self):
        return _float32_tags(super().__sklearn_tags__())

    def fit(self, X, y=None):
        """Fits the mixture to ``X`` ``[n, d]``; returns self."""
        x = self._data(X, reset=True)
        _enough_samples(x.shape[0], self.n_components, "n_components")
        result = mixture.gaussian_mixture(
            x,
            self.n_components,
            key=jax_key(self.random_state),
            covariance_type=self.covariance_type,
            tol=self.tol,
            max_iter=self.max_iter,
            reg_covar=self.reg_covar,
            init=self.init_params,
            n_init=self.n_init,
            weights_init=self.weights_init,
            means_init=self.means_init,
            precisions_init=self.precisions_init,
        )
        self._store(result)
        self.covariances_ = np.asarray(result.covariances)
        self.precisions_cholesky_ = np.asarray(result.precisions_cholesky)
        self.precisions_ = _precisions(self.precisions_cholesky_, self.covariance_type)
        return self

    def _params(self):
        return mixture.GaussianMixtureParams(
            weights=self.weights_,
            means=self.means_,
            covariances=self.covariances_,
            precisions_cholesky=self.precisions_cholesky_,
            covariance_type=self.covariance_type,
        )


class BernoulliMixture(_Mixture):
    """A mixture of independent Bernoulli pixels, over :func:`mixture.bernoulli_mixture`.

    Args:
      n_components: k.
      binarize: threshold turning ``X`` into {0, 1} (``X > binarize``, as
        ``BernoulliNB``), 0.5 for images in [0, 1]; ``None`` uses ``X`` as it is
        (values must lie in [0, 1]; fractional values act as soft counts).
      tol, max_iter, n_init: EM's stopping rule and restarts.
      alpha: smoothing pseudo-count of the pixel probabilities.
      init_params: ``"random"`` or ``"kmeans"``.
      random_state: see :func:`jax_key`.

    Attributes:
      weights_ ``[k]``, means_ ``[k, d]`` (pixel probabilities), converged_, n_iter_,
      lower_bound_.
    """

    def __init__(
        self,
        n_components=1,
        *,
        binarize=0.5,
        tol=1e-3,
        max_iter=100,
        alpha=1e-2,
        n_init=1,
        init_params="random",
        random_state=None,
    ):
        self.n_components = n_components
        self.binarize = binarize
        self.tol = tol
        self.max_iter = max_iter
        self.alpha = alpha
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state

    def __sklearn_tags__(self):
        return _float32_tags(super().__sklearn_tags__())

    def _data(self, X, *, reset: bool):
        # scikit-learn's threshold (BernoulliNB's rule, any real X): data.binarize takes
        # only images in [0, 1].
        x = super()._data(X, reset=reset)
        return x if self.binarize is None else binarize(x, threshold=self.binarize)

    def fit(self, X, y=None):
        """Fits the mixture to ``X`` ``[n, d]``; returns self."""
        x = self._data(X, reset=True)
        _enough_samples(x.shape[0], self.n_components, "n_components")
        result = mixture.bernoulli_mixture(
            x,
            self.n_components,
            key=jax_key(self.random_state),
            tol=self.tol,
            max_iter=self.max_iter,
            alpha=self.alpha,
            init=self.init_params,
            n_init=self.n_init,
        )
        self._store(result)
        return self

    def _params(self):
        return mixture.BernoulliMixtureParams(weights=self.weights_, means=self.means_)


# ---------------------------------------------------------------------------
# Self-organizing map


class SelfOrganizingMap(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """A Kohonen map over :func:`jaxselforg.som.train`.

    The parameters are :func:`som.train`'s (``grid`` = ``(rows, cols)``, ``mode``,
    ``epochs``, ``topology``, ``toroidal``, ``neighborhood``, ``sigma``,
    ``sigma_final``, ``learning_rate``, ``learning_rate_final``, ``sigma_schedule``,
    ``learning_rate_schedule``, ``init``, ``metric``, ``shuffle``) plus
    ``random_state`` (:func:`jax_key`). ``sigma`` and ``learning_rate`` are traced: a
    ``GridSearchCV`` over them reuses one compiled program.

    Attributes:
      weights_: ``[rows, cols, d]`` prototypes. quantization_error_: of the training
      data on the fitted map.
    """

    def __init__(
        self,
        grid=(10, 10),
        *,
        mode="batch",
        epochs=20,
        topology="rectangular",
        toroidal=False,
        neighborhood="gaussian",
        sigma=None,
        sigma_final=None,
        learning_rate=None,
        learning_rate_final=None,
        sigma_schedule="exponential",
        learning_rate_schedule="exponential",
        init="pca",
        metric="euclidean",
        shuffle=True,
        random_state=None,
    ):
        self.grid = grid
        self.mode = mode
        self.epochs = epochs
        self.topology = topology
        self.toroidal = toroidal
        self.neighborhood = neighborhood
        self.sigma = sigma
        self.sigma_final = sigma_final
        self.learning_rate = learning_rate
        self.learning_rate_final = learning_rate_final
        self.sigma_schedule = sigma_schedule
        self.learning_rate_schedule = learning_rate_schedule
        self.init = init
        self.metric = metric
        self.shuffle = shuffle
        self.random_state = random_state

    def __sklearn_tags__(self):
        return _float32_tags(super().__sklearn_tags__(), transformer=True)

    def fit(self, X, y=None, *, order=None):
        """Trains the map on ``X`` ``[n, d]``; returns self.

        Args:
          X: the data.
          y: ignored.
          order: online mode: the sample indices of every update (``som.train``'s
            ``order``, e.g. MiniSom's sequence to replay it).
        """
        x = _checked(self, X, reset=True, min_samples=2)
        init = self.init if isinstance(self.init, str) else np.asarray(self.init, np.float32)
        result = som.train(
            x,
            self.grid,
            key=jax_key(self.random_state),
            mode=self.mode,
            epochs=self.epochs,
            topology=self.topology,
            toroidal=self.toroidal,
            neighborhood=self.neighborhood,
            sigma=self.sigma,
            sigma_final=self.sigma_final,
            learning_rate=self.learning_rate,
            learning_rate_final=self.learning_rate_final,
            sigma_schedule=self.sigma_schedule,
            learning_rate_schedule=self.learning_rate_schedule,
            init=init,
            metric=self.metric,
            shuffle=self.shuffle,
            order=order,
        )
        self.weights_ = np.asarray(result.weights)
        self._n_features_out = self.weights_.shape[0] * self.weights_.shape[1]
        return self

    def _fitted(self, X):
        check_is_fitted(self)
        return _checked(self, X, reset=False)

    def predict(self, X):
        """The winning unit ``[n]`` of every row (flat index ``r * cols + c``)."""
        x = self._fitted(X)
        return np.asarray(som.winners(self.weights_, x, metric=self.metric))

    def transform(self, X):
        """Distances ``[n, rows * cols]`` from every row to every unit (row-major)."""
        x = self._fitted(X)
        return np.asarray(cluster.transform(x, som.measures.flat(self.weights_), self.metric))

    def quantization_error(self, X):
        """Mean distance of the rows of ``X`` to their winning units."""
        return float(som.quantization_error(self._fitted(X), self.weights_, self.metric))

    def topographic_error(self, X):
        """Share of rows whose two best units are not grid neighbours."""
        x = self._fitted(X)
        return float(
            som.topographic_error(
                self.weights_, x, topology=self.topology, toroidal=self.toroidal, metric=self.metric
            )
        )

    def score(self, X, y=None):
        """Minus the quantization error (higher is better, for ``GridSearchCV``)."""
        return -self.quantization_error(X)


# ---------------------------------------------------------------------------
# Restricted Boltzmann machine


class BernoulliRBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """A Bernoulli RBM trained by CD-k / PCD-k, over :func:`jaxselforg.rbm.fit`.

    The defaults are ``sklearn.neural_network.BernoulliRBM``'s: PCD-1, 256 hidden units,
    batches of 10, learning rate 0.1 (on the batch-mean gradient), 10 epochs, no
    momentum nor weight decay.

    Args:
      n_components: hidden units.
      learning_rate: eta, constant.
      batch_size: rows per update (at most the number of rows).
      n_iter: epochs.
      k: Gibbs steps per update.
      persistent: PCD (scikit-learn's) rather than CD.
      momentum: mu, constant.
      weight_decay: L2 coefficient on W.
      binarize: threshold turning ``X`` into {0, 1} (``X > binarize``), 0.5 for
        images in [0, 1]; ``None`` uses ``X`` as it is (values must lie in [0, 1];
        then :meth:`score_samples` and :meth:`log_likelihood` need binary rows).
      random_state: see :func:`jax_key`.

    Attributes:
      components_ ``[n_components, d]`` (W^T), intercept_hidden_ ``[n_components]``,
      intercept_visible_ ``[d]``, as scikit-learn's.
    """

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=0.1,
        batch_size=10,
        n_iter=10,
        k=1,
        persistent=True,
        momentum=0.0,
        weight_decay=0.0,
        binarize=0.5,
        random_state=None,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.k = k
        self.persistent = persistent
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.binarize = binarize
        self.random_state = random_state

    def __sklearn_tags__(self):
        return _float32_tags(super().__sklearn_tags__(), transformer=True)

    def _data(self, X, *, reset: bool):
        x = _checked(self, X, reset=reset)
        return x if self.binarize is None else binarize(x, threshold=self.binarize)

    def _fit_arguments(self, n):
        """``rbm.fit``'s keyword arguments for this estimator on ``n`` rows."""
        return {
            "k": self.k,
            "persistent": self.persistent,
            "epochs": self.n_iter,
            "batch_size": min(self.batch_size, n),
            "learning_rate": self.learning_rate,
            "final_learning_rate": self.learning_rate,
            "schedule": "constant",
            "momentum": self.momentum,
            "final_momentum": self.momentum,
            "weight_decay": self.weight_decay,
        }

    def fit(self, X, y=None):
        """Trains the RBM on ``X`` ``[n, d]``; returns self."""
        x = self._data(X, reset=True)
        self.random_state_ = _numpy_random_state(self.random_state)
        fitted = rbm.fit(
            x, self.n_components, key=jax_key(self.random_state), **self._fit_arguments(x.shape[0])
        )
        self.components_ = np.asarray(fitted.params.w).T
        self.intercept_hidden_ = np.asarray(fitted.params.b)
        self.intercept_visible_ = np.asarray(fitted.params.a)
        self._n_features_out = self.n_components
        return self

    def _params(self):
        check_is_fitted(self)
        return rbm.RBMParams(
            w=self.components_.T, a=self.intercept_visible_, b=self.intercept_hidden_
        )

    def transform(self, X):
        """Hidden probabilities P(h_j = 1 | v) ``[n, n_components]``."""
        params = self._params()
        return np.asarray(rbm.hidden_given_visible(params, self._data(X, reset=False)))

    def score_samples(self, X):
        """scikit-learn's pseudo-log-likelihood: D ln sigmoid(F(v~) - F(v)) per row.

        v~ is v with one bit flipped per row, drawn by
        ``check_random_state(random_state).randint(0, D, n)`` as scikit-learn does
        (deterministic for an int ``random_state``; a Generator seeds a RandomState).
        """
        params = self._params()
        v = self._data(X, reset=False)
        index = _numpy_random_state(self.random_state).randint(0, v.shape[1], v.shape[0])
        return np.asarray(rbm.pseudo_log_likelihood_one_bit(params, v, index=index))

    def gibbs(self, v):
        """One Gibbs step v -> h -> v from every row of ``v``; the new visible states."""
        params = self._params()
        v = self._data(v, reset=False)
        key = jax.random.key(int(self.random_state_.randint(2**31 - 1)))
        return np.asarray(rbm.gibbs_chain(params, v, key=key, n_steps=1).states)

    def log_likelihood(self, X, *, method="exact", n_chains=100, n_betas=10_000):
        """ln p(v) = -F(v) - ln Z per row ``[n]``, in nats.

        Args:
          X: ``[n, d]`` rows (binary after ``binarize``).
          method: ``"exact"`` (enumerates the smaller layer, at most 24 units) or
            ``"ais"`` (annealed importance sampling, keyed by ``random_state``).
          n_chains, n_betas: AIS's chains and temperatures.
        """
        params = self._params()
        v = self._data(X, reset=False)
        if method == "exact":
            log_z = rbm.log_partition_exact(params)
        elif method == "ais":
            log_z, _ = rbm.log_partition_ais(
                params, key=jax_key(self.random_state), data=v, n_chains=n_chains, n_betas=n_betas
            )
        else:
            raise ValueError(f"method must be 'exact' or 'ais'; got {method!r}.")
        return np.asarray(rbm.log_likelihood(params, v, log_z=log_z))
