"""Tests for jaxselforg.distill: the losses against float64 numpy formulas, the T^2-scaled
soft gradient's logit-matching limit, soft-target cross-entropy vs KL, traced settings
under jit/vmap, and bad settings refused."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxselforg import distill


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _reference(student, teacher, labels, temperature, hard_weight, soft_weight):
    """Hinton et al. 2015 in float64 numpy."""
    s, t = np.float64(student), np.float64(teacher)
    hard = -np.mean(_log_softmax(s)[np.arange(len(labels)), labels])
    log_p, log_q = _log_softmax(t / temperature), _log_softmax(s / temperature)
    kl = np.sum(np.exp(log_p) * (log_p - log_q), axis=-1)
    return hard_weight * hard + soft_weight * temperature**2 * np.mean(kl)


@pytest.fixture(scope="module")
def logits():
    rng = np.random.default_rng(0)
    student = rng.normal(size=(6, 10)).astype(np.float32) * 3
    teacher = rng.normal(size=(6, 10)).astype(np.float32) * 3
    labels = rng.integers(0, 10, size=6)
    return student, teacher, labels


@pytest.mark.parametrize(("temperature", "hard_weight", "soft_weight"),
                         [(1.0, 1.0, 0.0), (4.0, 0.1, 0.9), (20.0, 0.0, 1.0), (0.5, 0.3, 2.0)])
def test_distillation_loss_equals_the_papers_formula_in_float64(logits, temperature, hard_weight,
                                                                soft_weight):
    student, teacher, labels = logits
    ours = distill.distillation_loss(student, teacher, labels, temperature=temperature,
                                     hard_weight=hard_weight, soft_weight=soft_weight)
    np.testing.assert_allclose(ours, _reference(student, teacher, labels, temperature,
                                                hard_weight, soft_weight), rtol=2e-6)


def test_teacher_probabilities_that_underflow_give_finite_loss_and_gradient():
    teacher = np.array([[200.0, -200.0, 0.0]], np.float32)  # softmax underflows to 0
    student = np.zeros((1, 3), np.float32)
    value, grad = jax.value_and_grad(lambda s: distill.soft_target_loss(
        s, teacher, temperature=1.0))(student)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(value, np.log(3.0), rtol=1e-5)  # KL(e_0 || uniform)


def _soft_gradient(student, teacher, temperature):
    return jax.grad(lambda s: distill.soft_target_loss(s, teacher, temperature=temperature))(
        student)


def test_scaled_soft_gradient_approaches_logit_matching_as_temperature_grows(logits):
    student, teacher, _ = logits
    n, n_classes = student.shape
    centred_s = student - student.mean(1, keepdims=True)
    centred_t = teacher - teacher.mean(1, keepdims=True)
    # Hinton et al. eq. 2-4: dC/dz_k = T (q_k - p_k) -> (z_k - v_k) / N, per example.
    matching = (centred_s - centred_t) / (n_classes * n)
    errors = []
    for temperature in (1.0, 3.0, 10.0, 30.0, 100.0):
        grad = _soft_gradient(centred_s, centred_t, temperature)
        errors.append(np.max(np.abs(grad - matching)) / np.max(np.abs(matching)))
    assert all(b < a for a, b in itertools.pairwise(errors)), errors
    # The deviation is O(|z| / T): a tenfold T, a (nearly) tenfold smaller error.
    assert errors[0] > 0.3 and errors[-1] < 0.03 and errors[2] / errors[-1] > 7
    # T^2 keeps the gradient's size: without it, it would shrink as 1/T^2.
    large = _soft_gradient(centred_s, centred_t, 100.0)
    assert 0.5 < np.linalg.norm(large) / np.linalg.norm(matching) < 2.0
    # The limit is a statement about zero-mean logits: a shifted teacher changes no
    # probability, so it cannot change the gradient, but it moves (z - v) / N.
    shifted = _soft_gradient(centred_s, centred_t + 5.0, 100.0)
    np.testing.assert_allclose(shifted, large, rtol=1e-4, atol=1e-6)
    naive = (centred_s - centred_t - 5.0) / (n_classes * n)
    assert np.max(np.abs(shifted - naive)) / np.max(np.abs(matching)) > 10 * errors[-1]


def test_soft_target_cross_entropy_and_kl_give_equal_gradients(logits):
    student, teacher, _ = logits
    temperature = 4.0

    def cross_entropy(s):
        targets = jax.nn.softmax(teacher / temperature)
        return temperature**2 * jnp.mean(optax.softmax_cross_entropy(s / temperature, targets))

    np.testing.assert_allclose(jax.grad(cross_entropy)(student),
                               _soft_gradient(student, teacher, temperature),
                               rtol=1e-4, atol=1e-7)
    # The values differ by T^2 times the teacher's entropy, which has no student gradient.
    p = jax.nn.softmax(teacher / temperature)
    entropy = -jnp.mean(jnp.sum(p * jnp.log(p), axis=-1))
    np.testing.assert_allclose(
        cross_entropy(student) - distill.soft_target_loss(student, teacher,
                                                          temperature=temperature),
        temperature**2 * entropy, rtol=1e-4)
    # No gradient flows into the teacher's logits (they are targets).
    teacher_grad = jax.grad(lambda t: distill.soft_target_loss(student, t, temperature=2.0))(
        teacher)
    np.testing.assert_array_equal(teacher_grad, 0.0)


def test_settings_are_traced_under_jit_and_vmap(logits):
    student, teacher, labels = logits
    loss = jax.jit(lambda t, w: distill.distillation_loss(
        student, teacher, labels, temperature=t, hard_weight=1.0 - w, soft_weight=w))
    eager = [distill.distillation_loss(student, teacher, labels, temperature=t,
                                       hard_weight=1.0 - w, soft_weight=w)
             for t, w in ((2.0, 0.5), (8.0, 0.9))]
    np.testing.assert_allclose(loss(2.0, 0.5), eager[0], rtol=1e-6)
    np.testing.assert_allclose(jax.vmap(loss)(jnp.array([2.0, 8.0]), jnp.array([0.5, 0.9])),
                               eager, rtol=1e-6)


def test_hint_loss_equals_fitnets_formula():
    rng = np.random.default_rng(1)
    student, teacher = rng.normal(size=(5, 3)), rng.normal(size=(5, 4))
    weight = rng.normal(size=(3, 4))
    ours = distill.hint_loss(student.astype(np.float32), teacher.astype(np.float32),
                             lambda v: v @ weight.astype(np.float32))
    np.testing.assert_allclose(ours, 0.5 * np.mean(np.sum((student @ weight - teacher) ** 2, 1)),
                               rtol=1e-5)
    grad = jax.grad(lambda t: distill.hint_loss(student, t, lambda v: v @ weight))(
        jnp.asarray(teacher, jnp.float32))
    np.testing.assert_array_equal(grad, 0.0)
    with pytest.raises(ValueError, match=r"maps the student's features to shape \(5, 3\)"):
        distill.hint_loss(student, teacher, lambda v: v)


@pytest.mark.parametrize(("settings", "message"), [
    ({"temperature": 0.0}, "temperature must be > 0; got 0.0"),
    ({"temperature": -2.0}, "temperature must be > 0"),
    ({"temperature": float("nan")}, "temperature contains 1 NaN"),
    ({"hard_weight": -0.1}, "hard_weight must be non-negative"),
    ({"soft_weight": -1.0}, "soft_weight must be non-negative"),
    ({"hard_weight": 0.0, "soft_weight": 0.0}, "both 0"),
    ({"hard_weight": np.array([0.0, 0.5]), "soft_weight": np.array([0.0, 0.5])}, "both 0"),
])
def test_bad_settings_are_refused(logits, settings, message):
    student, teacher, labels = logits
    values = {"temperature": 4.0, "hard_weight": 0.5, "soft_weight": 0.5, **settings}
    with pytest.raises(ValueError, match=message):
        distill.distillation_loss(student, teacher, labels, **values)


def test_mismatched_shapes_are_refused(logits):
    student, teacher, labels = logits
    with pytest.raises(ValueError, match="must both be"):
        distill.soft_target_loss(student, teacher[:, :5], temperature=2.0)
    with pytest.raises(ValueError, match="labels must be"):
        distill.distillation_loss(student, teacher, labels[:3], temperature=2.0,
                                  hard_weight=1.0, soft_weight=1.0)
