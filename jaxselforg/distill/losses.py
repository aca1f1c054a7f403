"""Distillation losses: Hinton's soft targets and FitNets' hints.

Knowledge distillation (Hinton, Vinyals & Dean 2015) trains a student on the
teacher's class probabilities softened by a temperature T,
``p^T = softmax(z_t / T)``, beside the true labels. The soft term's gradient scales as
1/T^2, so it is multiplied by T^2 to keep the two terms' balance when T changes. Both
weights are named for what they weigh (``hard_weight``, ``soft_weight``): libraries
disagree on which of them is "alpha".

A hint (Romero et al. 2015, FitNets) asks a regressor of a student layer to predict a
teacher layer.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from jaxselforg import _validation

__all__ = ["check_weights", "distillation_loss", "hint_loss", "soft_target_loss"]


def check_weights(temperature: ArrayLike, hard_weight: ArrayLike,
                  soft_weight: ArrayLike) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Raises for a temperature <= 0, a negative or non-finite weight, or both weights
    zero (in any run of a sweep) -- on concrete values; returns ``(temperature,
    hard_weight, soft_weight)``, traced ones NaN where out of range.

    Args:
      temperature: T, a scalar or ``[n_runs]``.
      hard_weight: w_hard, a scalar or ``[n_runs]``.
      soft_weight: w_soft, a scalar or ``[n_runs]``.

    Raises:
      ValueError: naming the offending setting.
    """
    temperature = _validation.as_float_array(temperature, "temperature")
    _validation.check_finite(temperature, "temperature")
    if _validation.is_concrete(temperature) and _validation.eager(
            lambda: bool(jnp.any(temperature <= 0))):
        raise ValueError(f"temperature must be > 0; got "
                         f"{float(_validation.eager(temperature.min))}.")
    weights = {}
    for name, value in (("hard_weight", hard_weight), ("soft_weight", soft_weight)):
        weights[name] = _validation.as_float_array(value, name)
        _validation.check_finite(weights[name], name)
        _validation.check_nonnegative(weights[name], name)
    hard, soft = weights["hard_weight"], weights["soft_weight"]
    if _validation.is_concrete(hard) and _validation.is_concrete(soft) and _validation.eager(
            lambda: bool(jnp.any((hard == 0) & (soft == 0)))):
        raise ValueError("hard_weight and soft_weight are both 0: the loss would be 0 and "
                         "nothing would be learned; give at least one a positive weight.")
    # Checked above when concrete; traced, a bad value comes back NaN.
    return (_validation.hyperparameter(temperature, "temperature", strict=True),
            _validation.hyperparameter(hard, "hard_weight"),
            _validation.hyperparameter(soft, "soft_weight"))


def soft_target_loss(student_logits: ArrayLike, teacher_logits: ArrayLike, *,
                     temperature: ArrayLike) -> jax.Array:
    """Hinton's soft-target term, T^2-scaled: the teacher's softened probabilities as
    the student's targets.

    ``T^2 mean_i KL(p_i^T || q_i^T)``, ``p^T = softmax(z_t / T)``,
    ``q^T = softmax(z_s / T)``, ``KL(p || q) = sum_k p_k (ln p_k - ln q_k)``
    (``optax.losses.kl_divergence_with_log_targets`` on log-softmaxes, so a teacher
    probability that underflows to 0 contributes 0, not NaN). Its gradient in a
    student logit is ``T (q_k^T - p_k^T) / n`` per example, which for zero-mean logits
    and large T tends to ``(z_s - z_t)_k / (N n)`` (N classes): logit matching. The
    teacher's logits are targets; no gradient flows into them.

    Args:
      student_logits: ``[n, N]`` z_s.
      teacher_logits: ``[n, N]`` z_t.
      temperature: T > 0 (traced: the loss is NaN for a bad one).

    Returns:
      The scalar loss.

    References:
      Hinton, Vinyals & Dean, Distilling the Knowledge in a Neural Network, 2015, sec. 2.
    """
    student_logits = _validation.as_float_array(student_logits, "student_logits")
    teacher_logits = jax.lax.stop_gradient(
        _validation.as_float_array(teacher_logits, "teacher_logits"))
    if student_logits.shape != teacher_logits.shape or student_logits.ndim != 2:
        raise ValueError(f"student and teacher logits must both be [n, n_classes]; got "
                         f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}.")
    _validation.check_finite(student_logits, "student_logits")
    _validation.check_finite(teacher_logits, "teacher_logits")
    temperature = jnp.asarray(_validation.hyperparameter(temperature, "temperature",
                                                         strict=True), student_logits.dtype)
    log_q = jax.nn.log_softmax(student_logits / temperature, axis=-1)
    log_p = jax.nn.log_softmax(teacher_logits / temperature, axis=-1)
    kl = optax.losses.kl_divergence_with_log_targets(log_q, log_p)
    return temperature**2 * jnp.mean(kl)


def distillation_loss(student_logits: ArrayLike, teacher_logits: ArrayLike,
                      labels: ArrayLike, *, temperature: ArrayLike, hard_weight: ArrayLike,
                      soft_weight: ArrayLike) -> jax.Array:
    """Knowledge distillation's loss (Hinton, Vinyals & Dean 2015).

    ``L = w_hard mean_i CE(y_i, softmax(z_s,i)) + w_soft T^2 mean_i KL(softmax(z_t,i / T)
    || softmax(z_s,i / T))``, with ``CE(y, q) = -ln q_y`` at temperature 1 and the soft
    term of :func:`soft_target_loss`. The T^2 factor keeps the soft term's gradient
    independent of T (it scales as 1/T^2 otherwise). Concrete settings are checked
    (:func:`check_weights`); traced ones (a sweep inside a compiled step) make the loss
    NaN when out of range.

    Args:
      student_logits: ``[n, N]`` z_s.
      teacher_logits: ``[n, N]`` z_t (targets: no gradient flows into them).
      labels: ``[n]`` integer classes y in ``[0, N)``.
      temperature: T > 0.
      hard_weight: w_hard >= 0, the weight of the true labels' cross-entropy.
      soft_weight: w_soft >= 0, the weight of the T^2-scaled soft-target term.

    Returns:
      The scalar loss.

    Raises:
      ValueError: mismatched shapes; labels outside ``[0, N)``; (concrete) T <= 0, a
        negative weight, or both weights 0, NaN/Inf logits.

    Examples:
      >>> loss = distill.distillation_loss(student(x, train=True, key=k), teacher(x), y,
      ...                                  temperature=4.0, hard_weight=0.1, soft_weight=0.9)
    """
    temperature, hard_weight, soft_weight = check_weights(temperature, hard_weight, soft_weight)
    student_logits = _validation.as_float_array(student_logits, "student_logits")
    labels = _validation.asarray(labels)
    if labels.shape != student_logits.shape[:1] or student_logits.ndim != 2:
        raise ValueError(f"labels must be [n] for logits {tuple(student_logits.shape)}; got "
                         f"shape {tuple(labels.shape)}.")
    labels, n_classes = _validation.class_labels(labels, "labels",
                                                 n_classes=student_logits.shape[1])
    hard, soft = _terms(student_logits, teacher_logits, labels, temperature)
    # A traced label outside [0, N) would index past the logits: the loss reports it.
    return _validation.nan_unless(_validation.in_range(labels, n_classes),
                                  hard_weight * hard + soft_weight * soft)


def _terms(student_logits, teacher_logits, labels, temperature):
    """``(mean_i CE(y_i, softmax(z_s,i)), soft_target_loss)``: the two terms that
    :func:`distillation_loss` weighs (the training objective logs both)."""
    hard = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(student_logits, labels))
    return hard, soft_target_loss(student_logits, teacher_logits, temperature=temperature)


def hint_loss(student_features: ArrayLike, teacher_features: ArrayLike,
              regressor: Callable[[jax.Array], jax.Array]) -> jax.Array:
    """FitNets' hint loss: a regressor of the student's guided layer predicts the
    teacher's hint layer.

    ``L_HT = mean_i 1/2 ||u_i - r(v_i)||^2`` with u the teacher's hint features, v the
    student's guided features and r the regressor (Romero et al. 2015, eq. 3; a linear
    layer for dense features). The teacher's features are targets (no gradient).

    Args:
      student_features: ``[n, d_s]`` v.
      teacher_features: ``[n, d_t]`` u.
      regressor: r, ``[n, d_s] -> [n, d_t]`` (trained with the student).

    Returns:
      The scalar loss.

    References:
      Romero et al., FitNets: Hints for Thin Deep Nets, ICLR 2015.
    """
    teacher_features = jax.lax.stop_gradient(jnp.asarray(teacher_features))
    predicted = regressor(jnp.asarray(student_features))
    if predicted.shape != teacher_features.shape:
        raise ValueError(f"The regressor maps the student's features to shape "
                         f"{tuple(predicted.shape)}; the teacher's are "
                         f"{tuple(teacher_features.shape)}.")
    return 0.5 * jnp.mean(jnp.sum((predicted - teacher_features) ** 2, axis=-1))
