"""The linear probe: how linearly separable a model's features are.

A multinomial logistic regression with an L2 penalty, fitted to frozen features by
L-BFGS (``optax.lbfgs``, full batch, inside one ``lax.while_loop``):

    min_{W, b}  sum_i -ln softmax(W^T f_i + b)_{y_i} + ||W||^2 / (2 C),

scikit-learn's ``LogisticRegression(C=C)`` objective (the bias is not penalized), here
divided by n for conditioning: the mean cross-entropy (``optax`` losses) plus
``||W||^2 / (2 C n)``. The probe's test accuracy is the standard yardstick of
unsupervised and self-supervised representations (RBM hidden units, VAE codes,
SimCLR embeddings).

References:
  Chen, Kornblith, Norouzi & Hinton, A Simple Framework for Contrastive Learning of
  Visual Representations (SimCLR), ICML 2020 (the linear evaluation protocol).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
import optax.tree_utils as otu
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _validation

__all__ = ["LinearProbe", "ProbeChoice", "ProbeResult", "choose_probe_c", "fit_linear_probe",
           "linear_probe", "probe_predict_proba"]


class LinearProbe(NamedTuple):
    """A fitted probe.

    Attributes:
      weights: ``[d, n_classes]`` W.
      bias: ``[n_classes]`` b.
      mean: ``[d]`` feature means subtracted before W (zeros unless standardized).
      scale: ``[d]`` feature scales divided by before W (ones unless standardized).
      train_accuracy: accuracy on the training features.
      n_iter: L-BFGS iterations run.
      converged: the gradient norm of the objective fell below ``tol``.
    """

    weights: jax.Array
    bias: jax.Array
    mean: jax.Array
    scale: jax.Array
    train_accuracy: jax.Array
    n_iter: jax.Array
    converged: jax.Array


def _logits(probe: LinearProbe, features: jax.Array) -> jax.Array:
    return ((features - probe.mean) / probe.scale) @ probe.weights + probe.bias


def _accuracy(probe: LinearProbe, features: jax.Array, labels: jax.Array) -> jax.Array:
    return jnp.mean(jnp.argmax(_logits(probe, features), axis=1) == labels)


@functools.partial(jax.jit, static_argnames=("n_classes", "max_iter", "standardize"))
def _fit(features, labels, c, tol, *, n_classes, max_iter, standardize):
    if standardize:
        mean = jnp.mean(features, axis=0)
        scale = jnp.where(jnp.std(features, axis=0) > 0, jnp.std(features, axis=0), 1.0)
    else:
        mean = jnp.zeros(features.shape[1], features.dtype)
        scale = jnp.ones(features.shape[1], features.dtype)
    x = (features - mean) / scale
    c = jnp.where(c > 0, c, jnp.nan)  # a traced C <= 0 gives NaN weights, not a fit
    onehot = jax.nn.one_hot(labels, n_classes, dtype=x.dtype)

    def objective(params):
        logits = x @ params["weights"] + params["bias"]
        penalty = jnp.sum(params["weights"] ** 2) / (2.0 * c * x.shape[0])
        return jnp.mean(optax.softmax_cross_entropy(logits, onehot)) + penalty

    solver = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(objective)
    params = {"weights": jnp.zeros((x.shape[1], n_classes), x.dtype),
              "bias": jnp.zeros((n_classes,), x.dtype)}

    def gradient_norm(state):
        return otu.tree_norm(otu.tree_get(state, "grad"))

    def cond(carry):
        _, state = carry
        count = otu.tree_get(state, "count")
        return (count == 0) | ((count < max_iter) & (gradient_norm(state) >= tol))

    def body(carry):
        params, state = carry
        value, grad = value_and_grad(params, state=state)
        updates, state = solver.update(grad, state, params, value=value, grad=grad,
                                       value_fn=objective)
        return optax.apply_updates(params, updates), state

    params, state = lax.while_loop(cond, body, (params, solver.init(params)))
    probe = LinearProbe(params["weights"], params["bias"], mean, scale, jnp.zeros(()),
                        otu.tree_get(state, "count"), gradient_norm(state) < tol)
    accuracy = _accuracy(probe, features, labels)
    return probe._replace(train_accuracy=accuracy)


def _checked(features, labels, name):
    features = _validation.matrix(features, f"{name}_features")
    labels = _validation.labels(labels, f"{name}_labels", size=features.shape[0])
    return features, labels


def fit_linear_probe(features: ArrayLike, labels: ArrayLike, *, n_classes: int | None = None,
                     C: ArrayLike = 1.0, tol: ArrayLike = 1e-5, max_iter: int = 500,
                     standardize: bool = True) -> LinearProbe:
    """Fits the L2-penalized multinomial logistic regression by L-BFGS (``optax.lbfgs``).

    Minimizes mean_i -ln softmax(W^T f_i + b)_{y_i} + ||W||^2 / (2 C n), scikit-learn's
    ``LogisticRegression(C=C)`` objective divided by n (the bias is not penalized).

    Args:
      features: ``[n, d]`` frozen features.
      labels: ``[n]`` integer classes in ``[0, n_classes)``.
      n_classes: the number of classes (default: ``max(labels) + 1``).
      C: inverse penalty strength, as scikit-learn's (traced).
      tol: stop when the gradient norm of the (per-example) objective is below this.
      max_iter: L-BFGS iteration cap.
      standardize: subtract the features' means and divide by their standard
        deviations first (the linear evaluation protocol; stored in the probe and
        applied to later features). False fits the raw features.

    Returns:
      A :class:`LinearProbe`.

    Raises:
      ValueError: features not a finite ``[n, d]`` matrix, labels not ``[n]``
        non-negative integers, a label >= ``n_classes``, ``C <= 0``, ``tol < 0``.

    Examples:
      >>> probe = evaluation.fit_linear_probe(train_features, train_labels)
      >>> accuracy = jnp.mean(evaluation.probe_predict_proba(probe, test_features)
      ...                     .argmax(1) == test_labels)
    """
    features = _validation.matrix(features, "train_features")
    labels, n_classes = _validation.class_labels(labels, "train_labels",
                                                 size=features.shape[0], n_classes=n_classes)
    C = _validation.hyperparameter(C, "C", strict=True, reason="the inverse of the L2 strength")
    tol = _validation.hyperparameter(tol, "tol", reason="a gradient norm")
    max_iter = _validation.positive_int(max_iter, "max_iter")
    probe = _fit(features, labels, jnp.asarray(C, features.dtype),
                 jnp.asarray(tol, features.dtype), n_classes=n_classes, max_iter=max_iter,
                 standardize=bool(standardize))
    # Traced labels outside [0, n_classes) and a bad tol (a comparison) are reported here.
    valid = _validation.in_range(labels, n_classes) & jnp.isfinite(tol)
    return _validation.nan_unless(valid, probe)


class ProbeChoice(NamedTuple):
    """Attributes: ``C``, the candidate of the best validation accuracy (on a tie the
    smallest, the strongest penalty); the ``candidates`` (ascending) and their
    ``validation_accuracy``."""

    C: float
    candidates: tuple[float, ...]
    validation_accuracy: tuple[float, ...]


def choose_probe_c(features: ArrayLike, labels: ArrayLike,
                   candidates: Sequence[float] = (0.01, 0.1, 1.0), *,
                   n_validation: int | None = None, n_classes: int | None = None,
                   tol: ArrayLike = 1e-5, max_iter: int = 500,
                   standardize: bool = True) -> ProbeChoice:
    """The linear evaluation protocol's penalty, chosen on held-out training features.

    One probe per candidate C is fitted to all but the last ``n_validation`` training
    rows (the candidates as one vmapped program) and scored on those rows; the test set
    is not looked at. Eager: the choice is made on the host. Refit on every training
    row with the chosen C (``linear_probe(..., C=choice.C)``). SimCLR's protocol tunes
    this penalty on a validation split; with C = 1 wide features (SimCLR's 3,136
    convolution outputs) are barely penalized and the probe overfits.

    Args:
      features, labels: ``[n, d]`` training features and ``[n]`` classes, in an order
        not sorted by class (the last rows are the validation split).
      candidates: the values of C (each > 0).
      n_validation: rows held out (default ``n // 6``: 10,000 of 60,000).
      n_classes, tol, max_iter, standardize: as :func:`fit_linear_probe`.

    Returns:
      A :class:`ProbeChoice`.

    Raises:
      ValueError: as :func:`fit_linear_probe`; no candidates or one <= 0;
        ``n_validation`` outside [1, n - 1].
    """
    features = _validation.matrix(features, "train_features")
    labels, n_classes = _validation.class_labels(labels, "train_labels",
                                                 size=features.shape[0], n_classes=n_classes)
    if len(candidates) == 0:
        raise ValueError("candidates must hold at least one value of C; got none.")
    cs = sorted(float(_validation.hyperparameter(c, "C", strict=True,
                                                 reason="the inverse of the L2 strength"))
                for c in candidates)
    n = features.shape[0]
    n_validation = max(1, n // 6) if n_validation is None else \
        _validation.positive_int(n_validation, "n_validation")
    if n_validation >= n:
        raise ValueError(f"n_validation must leave training rows: at most {n - 1} of the {n} "
                         f"rows; got {n_validation}.")
    tol = _validation.hyperparameter(tol, "tol", reason="a gradient norm")
    max_iter = _validation.positive_int(max_iter, "max_iter")
    fit_x, fit_y = features[:-n_validation], labels[:-n_validation]
    val_x, val_y = features[-n_validation:], labels[-n_validation:]
    fit = functools.partial(_fit, fit_x, fit_y, tol=jnp.asarray(tol, features.dtype),
                            n_classes=n_classes, max_iter=max_iter,
                            standardize=bool(standardize))
    probes = jax.vmap(lambda c: fit(c=c))(jnp.asarray(cs, features.dtype))
    accuracy = jax.vmap(lambda probe: _accuracy(probe, val_x, val_y))(probes)
    scores = tuple(float(a) for a in accuracy)
    return ProbeChoice(cs[scores.index(max(scores))], tuple(cs), scores)


def probe_predict_proba(probe: LinearProbe, features: ArrayLike) -> jax.Array:
    """Class probabilities ``[m, n_classes]`` = softmax(W^T (f - mean) / scale + b)."""
    features = _validation.matrix(features, "features", features=probe.weights.shape[0])
    return jax.nn.softmax(_logits(probe, features), axis=-1)


class ProbeResult(NamedTuple):
    """Attributes: ``test_accuracy`` and the fitted ``probe`` (:class:`LinearProbe`)."""

    test_accuracy: float
    probe: LinearProbe


def linear_probe(train_features: ArrayLike, train_labels: ArrayLike, test_features: ArrayLike,
                 test_labels: ArrayLike, **settings) -> ProbeResult:
    """The linear evaluation protocol: fit a probe on the training features, score it on
    the test features.

    Args:
      train_features, train_labels: ``[n, d]``, ``[n]``.
      test_features, test_labels: ``[m, d]``, ``[m]``.
      **settings: :func:`fit_linear_probe`'s (``C``, ``standardize``, ...).

    Returns:
      A :class:`ProbeResult` (test accuracy in [0, 1]).
    """
    probe = fit_linear_probe(train_features, train_labels, **settings)
    test_features, test_labels = _checked(test_features, test_labels, "test")
    if test_features.shape[1] != probe.weights.shape[0]:
        raise ValueError(f"test_features must have {probe.weights.shape[0]} features as the "
                         f"training ones; got {test_features.shape[1]}.")
    return ProbeResult(float(_accuracy(probe, test_features, test_labels)), probe)
