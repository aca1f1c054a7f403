"""Generative classifiers: one density model per class, class priors and Bayes' rule.

A generative classifier estimates the joint p(x, y) = P(y) p(x | y) and classifies by
Bayes' rule, in log space,

    ln P(y = c | x) = ln P(c) + ln p(x | c) - logsumexp_l [ln P(l) + ln p(x | l)],

where the class-conditional density p(x | c) is a mixture of the library's own families
(:mod:`jaxselforg.mixture`), fitted to the class's examples alone:

* ``n_components=1``: **naive Bayes**. One component per class with independent
  features: Bernoulli pixels, ln p(x | c) = sum_a x_a ln mu_ca + (1 - x_a) ln(1 - mu_ca)
  with mu_ca = (n_ca + alpha) / (n_c + 2 alpha) (``sklearn.naive_bayes.BernoulliNB``),
  or Gaussian features with diagonal covariances sigma_ca^2 = Var_c(x_a) + epsilon,
  epsilon = var_smoothing max_a Var(x_a) (``sklearn.naive_bayes.GaussianNB``). The
  parameters are the family's M-step on the class's rows with responsibility 1: the
  maximum-likelihood (for Bernoulli: add-alpha smoothed) estimate in closed form.
* ``n_components=k > 1``: a k-component mixture per class, fitted by EM
  (:func:`jaxselforg.mixture.bernoulli_mixture`, :func:`~jaxselforg.mixture.gaussian_mixture`),
  p(x | c) = sum_j w_cj F(x; q_cj).
* ``family="vae"``: a variational autoencoder per class (:func:`jaxselforg.vae.train_vae`,
  MLP encoder and Bernoulli decoder on binary pixels), ln p(x | c) estimated by the
  importance-weighted bound with K samples z_k ~ Q_c(z | x) (Burda et al. 2016;
  :func:`jaxselforg.vae.importance_log_likelihood`),
  ln p(x | c) ~ ln (1/K) sum_k P_c(x | z_k) P(z_k) / Q_c(z_k | x). The ten VAEs are
  one vmapped training sweep, each run on its own class's rows.

The priors are the class frequencies, P(c) = n_c / n. All classes are fitted by one
program: the rows of every class are gathered into a fixed-shape ``[C, m, d]`` block
(m the largest class size, padding rows weighted 0) and the per-class fit is vmapped
over the C classes. The smoothing keeps every log density finite (no ln 0).

References:
  Ng & Jordan, On Discriminative vs. Generative Classifiers: A comparison of logistic
  regression and naive Bayes, NIPS 2002.
  Burda, Grosse & Salakhutdinov, Importance Weighted Autoencoders, ICLR 2016.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx, struct
from jax.scipy.special import logsumexp
from jax.typing import ArrayLike

from jaxselforg import _validation, train, vae
from jaxselforg.mixture import bernoulli, em, gaussian

__all__ = [
    "COVARIANCE_TYPES",
    "DEFAULT_SMOOTHING",
    "FAMILIES",
    "GenerativeClassifier",
    "VAEComponents",
    "class_log_likelihood",
    "fit_generative_classifier",
    "log_joint",
    "predict",
    "predict_log_proba",
    "predict_proba",
]

FAMILIES = ("bernoulli", "gaussian", "vae")
# "tied" is left out: with one tied covariance per class it is the same model as "full".
COVARIANCE_TYPES = ("diag", "full", "spherical")
# The scikit-learn defaults: BernoulliNB's alpha, GaussianNB's var_smoothing.
DEFAULT_SMOOTHING = {"bernoulli": 1.0, "gaussian": 1e-9, "vae": 0.0}


@struct.dataclass
class VAEComponents:
    """The per-class VAEs of ``family="vae"``: every array leaf has a leading class axis.

    Attributes:
      graphdef: the VAE structure, shared by the classes (static).
      params: the trained parameters (``nnx.State``), leaves ``[C, ...]``.
      model_state: the non-parameter state (``nnx.State``), leaves ``[C, ...]``.
      key: ``[C, 2]`` key data of the importance samples: the same key for every
        class, so that the classes' estimates share their noise draws.
      n_samples: K of the importance-weighted estimate (static).
      image_shape: ``(h, w)`` the flat rows are reshaped to (static).
    """

    graphdef: nnx.GraphDef = struct.field(pytree_node=False)
    params: Any
    model_state: Any
    key: jax.Array
    n_samples: int = struct.field(pytree_node=False)
    image_shape: tuple[int, int] = struct.field(pytree_node=False)

    @property
    def n_features(self) -> int:
        return self.image_shape[0] * self.image_shape[1]

    def model(self, c: int) -> vae.VAE:
        """The VAE of class ``c``."""
        one = jax.tree.map(lambda leaf: leaf[c], (self.params, self.model_state))
        return train.merge_model(self.graphdef, *one)


class GenerativeClassifier(NamedTuple):
    """A fitted generative classifier: class priors and one mixture per class.

    Attributes:
      log_prior: ``[C]`` ln P(c) = ln(n_c / n).
      class_count: ``[C]`` n_c, the training examples of every class.
      components: the per-class mixtures, parameters of a :mod:`jaxselforg.mixture`
        family (``BernoulliMixtureParams`` or ``GaussianMixtureParams``) whose every
        leaf has a leading class axis: ``weights`` ``[C, k]``, ``means`` ``[C, k, d]``;
        or the per-class VAEs, :class:`VAEComponents`.
      train_log_likelihood: ``[C]`` mean ln p(x | c) of every class's training rows
        (VAE: the ELBO, averaged over the last training epoch).
      n_iter: ``[C]`` EM iterations of every class's fit (0 for naive Bayes, fitted in
        closed form; VAE: optimizer steps).
    """

    log_prior: jax.Array
    class_count: jax.Array
    components: Any
    train_log_likelihood: jax.Array
    n_iter: jax.Array


def _class_rows(labels, n_classes, size):
    """Row indices ``[C, size]`` of every class (stable order) and their mask."""
    n = labels.shape[0]
    order = jnp.argsort(labels, stable=True)
    count = jnp.bincount(labels, length=n_classes)
    start = jnp.cumsum(count) - count
    position = jnp.arange(size)
    mask = position[None, :] < count[:, None]
    index = order[jnp.clip(start[:, None] + position[None, :], 0, n - 1)]
    return jnp.where(mask, index, 0), mask, count


def _mixture_fit(family, x, weights, key, *, n_components, covariance_type, smoothing, tol,
                 max_iter, n_init, init):
    """One class's mixture from the library's fit (traced: it runs under vmap)."""
    if family == "bernoulli":
        return bernoulli.bernoulli_mixture(
            x, n_components, key=key, sample_weight=weights, alpha=smoothing, tol=tol,
            max_iter=max_iter, n_init=n_init, init=init or "random")
    return gaussian.gaussian_mixture(
        x, n_components, key=key, sample_weight=weights, covariance_type=covariance_type,
        reg_covar=smoothing, tol=tol, max_iter=max_iter, n_init=n_init, init=init or "kmeans")


def _settings(family, covariance_type, smoothing, x):
    """The family's M-step settings: Bernoulli's alpha; Gaussian's absolute reg_covar."""
    if family == "bernoulli":
        return {"alpha": smoothing}
    # GaussianNB's epsilon: var_smoothing times the largest feature variance of all rows.
    return {"reg_covar": smoothing * jnp.max(jnp.var(x, axis=0)),
            "covariance_type": covariance_type}


def _class_marginal(params, x):
    """ln p(x_i | c), ``[n]``, for one class: logsumexp_j [ln w_cj + ln F(x_i; q_cj)] for
    a mixture, the importance-weighted estimate for a VAE."""
    if isinstance(params, VAEComponents):
        model = train.merge_model(params.graphdef, params.params, params.model_state)
        images = x.reshape(-1, *params.image_shape)
        return vae.importance_log_likelihood(model, images, key=jax.random.wrap_key_data(
            params.key), n_samples=params.n_samples, chunk_size=min(100, params.n_samples))
    return em.e_step(em.log_component_prob(params, x))[1]


def _fit_vae(x, labels, count, key, *, image_shape, latent_dim, hidden, epochs, batch_size,
             learning_rate, n_samples, class_size):
    """The per-class VAEs as one sweep: run c trains on ``[class_size]`` rows of class c
    (its own rows, repeated in turn up to ``class_size`` when it has fewer)."""
    n_classes = count.shape[0]
    order = np.argsort(labels, kind="stable")
    start = np.cumsum(count) - count
    index = order[start[:, None] + np.arange(class_size)[None, :] % count[:, None]]
    rows = jnp.asarray(x)[jnp.asarray(index)].reshape(n_classes, class_size, *image_shape)
    train_key, sample_key = jax.random.split(key)
    result = vae.train_vae(rows, key=jax.random.split(train_key, n_classes),
                           latent_dim=latent_dim, image_shape=image_shape, hidden=hidden,
                           epochs=epochs, batch_size=min(batch_size, class_size),
                           learning_rate=learning_rate, binarize=False, progress=False,
                           desc="class VAEs")
    state = result.state
    sample_key = jnp.tile(jax.random.key_data(sample_key)[None], (n_classes, 1))
    components = VAEComponents(result.graphdef, state.params[train.SINGLE_ROLE],
                               state.model_state[train.SINGLE_ROLE], sample_key, n_samples,
                               tuple(image_shape))
    log_prior = jnp.log(jnp.asarray(count, jnp.float32) / labels.shape[0])
    train_log_likelihood = -jnp.asarray(result.history["negative_elbo"][-1], jnp.float32)
    return GenerativeClassifier(log_prior, jnp.asarray(count), components,
                                train_log_likelihood, jnp.asarray(state.step))


@functools.partial(jax.jit, static_argnames=("family", "n_classes", "class_size",
                                             "n_components", "covariance_type", "max_iter",
                                             "n_init", "init"))
def _fit(x, labels, key, smoothing, tol, *, family, n_classes, class_size, n_components,
         covariance_type, max_iter, n_init, init):
    index, mask, count = _class_rows(labels, n_classes, class_size)
    rows, weights = x[index], mask.astype(x.dtype)  # [C, m, d], [C, m]
    settings = _settings(family, covariance_type, smoothing, x)
    if n_components == 1:
        m_step = {"bernoulli": bernoulli.m_step, "gaussian": gaussian.m_step}[family]
        ones = jnp.ones((class_size, 1), x.dtype)
        components = jax.vmap(lambda r, w: m_step(r, ones, w, **settings))(rows, weights)
        n_iter = jnp.zeros(n_classes, jnp.int32)
    else:
        smoothing_value = settings["alpha" if family == "bernoulli" else "reg_covar"]
        fits = jax.vmap(lambda r, w, k: _mixture_fit(
            family, r, w, k, n_components=n_components, covariance_type=covariance_type,
            smoothing=smoothing_value, tol=tol, max_iter=max_iter, n_init=n_init, init=init))(
            rows, weights, jax.random.split(key, n_classes))
        components, n_iter = fits.params, fits.n_iter
    marginal = jax.vmap(_class_marginal)(components, rows)  # [C, m]
    train_log_likelihood = jnp.sum(jnp.where(mask, marginal, 0.0), axis=1) / count
    log_prior = jnp.log(count.astype(x.dtype)) - jnp.log(jnp.asarray(labels.shape[0], x.dtype))
    return GenerativeClassifier(log_prior, count, components, train_log_likelihood, n_iter)


def _check_binary(x, name):
    if _validation.is_concrete(x) and not _validation.eager(
            lambda: bool(jnp.all((x == 0) | (x == 1)))):
        raise ValueError(f"{name} must be binary (every value 0 or 1) for the Bernoulli and "
                         "VAE families; "
                         "binarize the pixels first (jaxselforg.data.binarize).")


def fit_generative_classifier(
    x: ArrayLike,
    y: ArrayLike,
    *,
    family: str,
    n_components: int = 1,
    key: jax.Array | None = None,
    smoothing: ArrayLike | None = None,
    covariance_type: str = "diag",
    n_classes: int | None = None,
    class_size: int | None = None,
    tol: ArrayLike = 1e-3,
    max_iter: int = 100,
    n_init: int = 1,
    init: str | None = None,
    latent_dim: int = 16,
    hidden: int | tuple[int, ...] = 256,
    epochs: int = 20,
    batch_size: int = 64,
    learning_rate: ArrayLike = 1e-3,
    n_samples: int = 100,
    image_shape: tuple[int, int] | None = None,
) -> GenerativeClassifier:
    """Fits P(c) and one mixture p(x | c) per class; classify with :func:`predict`.

    P(c) = n_c / n; p(x | c) = sum_j w_cj F(x; q_cj) with F the family's density, fitted
    to the rows of class c alone. With ``n_components=1`` this is naive Bayes in
    closed form (one M-step per class with responsibility 1): Bernoulli pixel
    probabilities mu_ca = (n_ca + alpha) / (n_c + 2 alpha), or Gaussian means and
    variances sigma_ca^2 = Var_c(x_a) + var_smoothing max_a Var(x_a) (the variance of
    all rows, as scikit-learn's ``GaussianNB``). With more components every class's
    mixture is fitted by EM (the library's mixture fit, vmapped over the classes).
    With ``family="vae"`` every class gets a VAE trained on its rows (one vmapped
    sweep of :func:`jaxselforg.vae.train_vae`, Adam on the ELBO), and ln p(x | c) is
    its importance-weighted estimate with K = ``n_samples`` (:func:`predict` then costs
    C x K decoder passes per row).

    Args:
      x: ``[n, d]`` training data; binary (values 0 or 1) for ``family="bernoulli"``.
      y: ``[n]`` integer labels in ``[0, n_classes)``; every class needs at least
        ``n_components`` examples.
      family: ``"bernoulli"`` (binary pixels), ``"gaussian"`` (continuous features) or
        ``"vae"`` (binary pixels; concrete ``x`` and ``y``, not traceable: it trains).
      n_components: k, the components per class (static); 1 is naive Bayes.
      key: PRNG key of the EM initialisations (needed when ``n_components > 1``); class
        c uses ``jax.random.split(key, n_classes)[c]``.
      smoothing: Bernoulli: the add-alpha pseudo-count alpha > 0 (default 1.0, as
        ``BernoulliNB``); Gaussian: ``var_smoothing`` >= 0, the share of the largest
        feature variance added to every variance (default 1e-9, as ``GaussianNB``;
        the mixture's ``reg_covar`` is that absolute amount). Traced.
      covariance_type: Gaussian only: ``"diag"`` (naive Bayes), ``"full"`` (with one
        component: quadratic discriminant analysis) or ``"spherical"`` (static).
      n_classes: C (default ``max(y) + 1``; needed when ``y`` is traced).
      class_size: rows kept per class, the gathered block's m (static; default the
        largest class size, which needs concrete ``y``; under tracing it defaults to
        n). A class with more rows than this loses the extra ones: set it to n / C for
        class-balanced subsets, and to at least the largest class otherwise.
      tol, max_iter, n_init, init: EM's, for ``n_components > 1`` (see the family's
        fit; ``init`` defaults to ``"random"`` for Bernoulli, ``"kmeans"`` for
        Gaussian).
      latent_dim, hidden, epochs, batch_size, learning_rate: ``family="vae"`` only:
        the MLP VAE's latent size and hidden width(s), and its training (epochs over
        ``class_size`` rows per class; the batch is capped at ``class_size``). A
        class with fewer rows than ``class_size`` repeats its own rows to fill it.
      n_samples: ``family="vae"``: K of the importance-weighted ln p(x | c).
      image_shape: ``family="vae"``: ``(h, w)`` with h w = d (default ``(28, 28)`` for
        d = 784, else ``(1, d)``).

    Returns:
      A :class:`GenerativeClassifier`.

    Raises:
      ValueError: x not a finite ``[n, d]`` matrix, non-binary x for Bernoulli, labels
        not integers in ``[0, n_classes)``, a class with fewer than ``n_components``
        examples (in particular none), fewer examples than classes, an unknown family
        or covariance type, negative smoothing (alpha <= 0 for Bernoulli), a missing
        key for EM, or an EM fit that broke down.

    Examples:
      >>> model = fit_generative_classifier(data.binarize(x), y, family="bernoulli")
      >>> accuracy = jnp.mean(predict(model, data.binarize(x_test)) == y_test)
    """
    _validation.choice(family, FAMILIES, "family")
    _validation.choice(covariance_type, COVARIANCE_TYPES, "covariance_type")
    x = _validation.matrix(x, "x")
    n = x.shape[0]
    labels, n_classes = _validation.class_labels(y, "y", size=n, n_classes=n_classes)
    n_components = _validation.positive_int(n_components, "n_components")
    if family in ("bernoulli", "vae"):
        _check_binary(x, "x")
    if n < n_classes:
        raise ValueError(f"The training set has {n} examples, fewer than the {n_classes} "
                         "classes: every class needs at least one.")
    if _validation.is_concrete(labels):
        count = np.bincount(np.asarray(labels), minlength=n_classes)
        if count.min() < n_components:
            short = np.flatnonzero(count < n_components).tolist()
            raise ValueError(f"Class(es) {short} have {count[short].tolist()} training "
                             f"examples; each class needs at least n_components="
                             f"{n_components} (a class with none has no density to fit).")
        largest = int(count.max())
        if class_size is not None and _validation.positive_int(class_size, "class_size") < largest:
            raise ValueError(f"class_size={class_size} is smaller than the largest class "
                             f"({largest} examples).")
        class_size = largest if class_size is None else class_size
    class_size = _validation.positive_int(n if class_size is None else class_size, "class_size")
    smoothing = DEFAULT_SMOOTHING[family] if smoothing is None else smoothing
    if _validation.is_concrete(smoothing):
        value = float(np.asarray(smoothing))
        if family == "bernoulli" and not value > 0:
            raise ValueError(f"smoothing (alpha) must be > 0 for Bernoulli pixels, so that "
                             f"no probability is 0 or 1; got {smoothing}.")
        if family == "gaussian" and not value >= 0:
            raise ValueError(f"smoothing (var_smoothing) must be >= 0; got {smoothing}.")
    if n_components > 1 and key is None:
        raise ValueError("key is needed to initialise EM when n_components > 1.")
    if family == "vae":
        return _fit_vae_checked(x, labels, n_classes, class_size, key, image_shape=image_shape,
                                latent_dim=latent_dim, hidden=hidden, epochs=epochs,
                                batch_size=batch_size, learning_rate=learning_rate,
                                n_samples=n_samples)
    key = jax.random.key(0) if key is None else _validation.prng_key(key)
    model = _fit(x, labels, key, jnp.asarray(smoothing, x.dtype), jnp.asarray(tol, x.dtype),
                 family=family, n_classes=n_classes, class_size=class_size,
                 n_components=n_components, covariance_type=covariance_type,
                 max_iter=_validation.positive_int(max_iter, "max_iter"),
                 n_init=_validation.positive_int(n_init, "n_init"), init=init)
    if _validation.is_concrete(model.train_log_likelihood):
        bad = np.flatnonzero(~np.isfinite(np.asarray(model.train_log_likelihood)))
        if bad.size:
            raise ValueError(f"The density of class(es) {bad.tolist()} broke down (non-finite "
                             "log-likelihood); increase smoothing or use fewer components.")
    return model


def _fit_vae_checked(x, labels, n_classes, class_size, key, *, image_shape, **settings):
    if not (_validation.is_concrete(x) and _validation.is_concrete(labels)):
        raise ValueError("family='vae' trains networks: x and y must be concrete (not traced).")
    if key is None:
        raise ValueError("key is needed to initialise and train the per-class VAEs.")
    d = x.shape[1]
    image_shape = ((28, 28) if d == 784 else (1, d)) if image_shape is None else tuple(
        image_shape)
    if len(image_shape) != 2 or image_shape[0] * image_shape[1] != d:
        raise ValueError(f"image_shape {image_shape} does not hold the {d} features of x.")
    for name in ("latent_dim", "epochs", "batch_size", "n_samples"):
        settings[name] = _validation.positive_int(settings[name], name)
    labels = np.asarray(labels)
    count = np.bincount(labels, minlength=n_classes)
    model = _fit_vae(x, labels, count, _validation.prng_key(key), image_shape=image_shape,
                     class_size=class_size, **settings)
    bad = np.flatnonzero(~np.isfinite(np.asarray(model.train_log_likelihood)))
    if bad.size:
        raise ValueError(f"The VAE of class(es) {bad.tolist()} broke down (non-finite ELBO); "
                         "lower the learning rate.")
    return model


def _checked_data(model, x):
    if isinstance(model.components, VAEComponents):
        x = _validation.matrix(x, "x", features=model.components.n_features)
        _check_binary(x, "x")
        return x
    family, _ = em.family_of(model.components)
    x = _validation.matrix(x, "x", features=model.components.means.shape[-1])
    if family.name == bernoulli.FAMILY.name:
        _check_binary(x, "x")
    return x


@jax.jit
def _log_joint(model, x):
    return model.log_prior + jax.vmap(_class_marginal, in_axes=(0, None), out_axes=1)(
        model.components, x)


def class_log_likelihood(model: GenerativeClassifier, x: ArrayLike) -> jax.Array:
    """ln p(x_i | c) = logsumexp_j [ln w_cj + ln F(x_i; q_cj)] for every class, ``[n, C]``.

    Raises:
      ValueError: ``x`` not a finite ``[n, d]`` matrix with the model's d, or not
        binary for a Bernoulli model.
    """
    x = _checked_data(model, x)
    return _log_joint(model, x) - model.log_prior


def log_joint(model: GenerativeClassifier, x: ArrayLike) -> jax.Array:
    """ln p(x_i, c) = ln P(c) + ln p(x_i | c), ``[n, C]`` (scikit-learn's
    ``_joint_log_likelihood``).

    Raises:
      ValueError: as :func:`class_log_likelihood`.
    """
    return _log_joint(model, _checked_data(model, x))


def predict_log_proba(model: GenerativeClassifier, x: ArrayLike) -> jax.Array:
    """ln P(c | x_i) = ln p(x_i, c) - logsumexp_l ln p(x_i, l), ``[n, C]`` (Bayes' rule).

    Raises:
      ValueError: as :func:`class_log_likelihood`.
    """
    joint = log_joint(model, x)
    # Shifted by the row's maximum first: joint and its logsumexp can be 10^4 nats or
    # more, and their float32 difference would round at that magnitude.
    shifted = joint - jnp.max(joint, axis=1, keepdims=True)
    return shifted - logsumexp(shifted, axis=1, keepdims=True)


def predict_proba(model: GenerativeClassifier, x: ArrayLike) -> jax.Array:
    """P(c | x_i) = exp(ln p(x_i, c) - logsumexp_l ln p(x_i, l)), ``[n, C]``; rows sum to 1.

    Raises:
      ValueError: as :func:`class_log_likelihood`.
    """
    return jnp.exp(predict_log_proba(model, x))


def predict(model: GenerativeClassifier, x: ArrayLike) -> jax.Array:
    """The most probable class argmax_c ln p(x_i, c), ``[n]`` int32.

    Raises:
      ValueError: as :func:`class_log_likelihood`.
    """
    return jnp.argmax(log_joint(model, x), axis=1).astype(jnp.int32)
