"""Tests for jaxselforg.distill: the losses against float64 numpy formulas, the T^2-scaled
soft gradient's logit-matching limit, soft-target cross-entropy vs KL, traced settings
under jit/vmap, bad settings refused; distillation on real MNIST rows with a BatchNorm
teacher held bit for bit, a settings sweep against single runs, soft_weight=0 against
plain classifier training, hints, and bad teachers refused."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from jaxselforg import augment, classify, data, distill, train
from jaxselforg.distill.training import _features_and_logits


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


# ---------------------------------------------------------------------------
# Training. Tiny networks on a few hundred real MNIST images: compile time dominates.

_STUDENT = {"architecture": "mlp", "hidden": (32,), "dropout": 0.1, "batch_size": 64,
            "learning_rate": 3e-3, "progress": False}


@pytest.fixture(scope="module")
def mnist():
    x, y = data.load("mnist", "train")
    xt, yt = data.load("mnist", "test")
    return (data.to_unit_range(x[:384]), np.asarray(y[:384]), data.to_unit_range(xt[:300]),
            np.asarray(yt[:300]))


@pytest.fixture(scope="module")
def teacher(mnist):
    """A small CNN with BatchNorm (running statistics that a train-mode call would move)."""
    x, y, _, _ = mnist
    return classify.train_classifier(x, y, key=jax.random.key(0), architecture="cnn",
                                     channels=(4, 8), features=16, dropout=0.2, epochs=3,
                                     batch_size=64, learning_rate=3e-3, progress=False)


def _assert_trees_equal(a, b):
    jax.tree.map(np.testing.assert_array_equal, a, b)


def _assert_teacher_untouched(result, teacher):
    assert set(result.state.opt_state) == {"student"}  # the teacher is a frozen role
    _assert_trees_equal(result.state.params["teacher"], teacher.state.params["model"])
    _assert_trees_equal(result.state.model_state["teacher"], teacher.state.model_state["model"])


def test_teacher_is_bit_identical_and_the_student_learns_with_hints(mnist, teacher):
    x, y, xt, yt = mnist
    before = nnx.to_pure_dict(nnx.state(teacher.model))
    assert jax.tree.leaves(nnx.to_pure_dict(nnx.state(teacher.model, nnx.BatchStat)))
    result = distill.train_distilled(x, y, teacher, key=jax.random.key(1), epochs=3,
                                     temperature=4.0, hard_weight=0.1, soft_weight=0.9,
                                     hint_weight=0.1, augmentation=augment.RandomShift(1),
                                     test_images=xt, test_labels=yt, **_STUDENT)
    _assert_teacher_untouched(result, teacher)
    _assert_trees_equal(nnx.to_pure_dict(nnx.state(result.teacher)), before)
    history = result.history
    for name in ("loss", "soft_loss", "hint_loss"):
        assert history[name][-1] < history[name][0], name
    # 18 steps of a 32-unit student on a weak teacher: well above chance (0.1), rising.
    assert history["test_accuracy"][-1] > max(0.3, history["test_accuracy"][0])
    assert isinstance(result.model, classify.MLPClassifier)
    assert classify.accuracy(result.model, xt, yt) == pytest.approx(history["test_accuracy"][-1])
    student = train.get_model(result.graphdefs, result.state, "student")
    assert isinstance(student, distill.HintedStudent)
    assert student.regressor.kernel.shape == (32, 16)  # student 32 -> teacher 16 features


def test_a_sweep_over_temperature_and_soft_weight_is_the_single_runs(mnist, teacher):
    x, y, _, _ = mnist
    keys = jax.random.split(jax.random.key(2), 2)
    temperatures, soft_weights = np.array([2.0, 8.0]), np.array([0.5, 0.9])
    sweep = distill.train_distilled(x, y, teacher, key=keys, epochs=1,
                                    temperature=temperatures, soft_weight=soft_weights,
                                    hard_weight=1.0 - soft_weights, **_STUDENT)
    assert sweep.n_runs == 2 and sweep.history["loss"].shape == (1, 2)
    np.testing.assert_allclose(sweep.state.hyperparams["temperature"], temperatures)
    for i in range(2):
        single = distill.train_distilled(x, y, teacher, key=keys[i], epochs=1,
                                         temperature=temperatures[i],
                                         soft_weight=soft_weights[i],
                                         hard_weight=1.0 - soft_weights[i], **_STUDENT)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6),
                     train.select_run(sweep.state.params, i), single.state.params)
    _assert_teacher_untouched(single, teacher)
    assert not np.allclose(sweep.model_of(0).net.layers[0].kernel[...],
                           sweep.model_of(1).net.layers[0].kernel[...])
    with pytest.raises(ValueError, match="Name the run of a sweep"):
        sweep.model  # noqa: B018


def test_soft_weight_zero_is_plain_classifier_training(mnist, teacher):
    x, y, _, _ = mnist
    settings = {k: v for k, v in _STUDENT.items() if k != "architecture"}
    plain = classify.train_classifier(x, y, key=jax.random.key(3), architecture="mlp",
                                      epochs=1, **settings)
    distilled = distill.train_distilled(x, y, teacher, key=jax.random.key(3), epochs=1,
                                        hard_weight=1.0, soft_weight=0.0, **_STUDENT)
    # Same initialization, batches, augmentation and dropout keys, and a zero-weighted soft
    # term adds exact zeros to the gradient: the same bits.
    _assert_trees_equal(distilled.state.params["student"], plain.state.params["model"])
    np.testing.assert_array_equal(distilled.history["hard_loss"], plain.history["loss"])


def test_a_distillation_resumes_exactly_and_only_with_its_teacher(mnist, teacher, tmp_path):
    x, y, _, _ = mnist
    settings = {**_STUDENT, "learning_rate_decay": "constant", "key": jax.random.key(6)}
    straight = distill.train_distilled(x, y, teacher, epochs=2, **settings)
    distill.train_distilled(x, y, teacher, epochs=1, checkpoint_dir=tmp_path, **settings)
    resumed = distill.train_distilled(x, y, teacher, epochs=2, checkpoint_dir=tmp_path,
                                      **settings)
    _assert_trees_equal(resumed.state.params, straight.state.params)
    other = distill.shift_class_bias(teacher.model, 0, 1.0)
    with pytest.raises(train.CheckpointMismatchError):
        distill.train_distilled(x, y, other, epochs=2, checkpoint_dir=tmp_path, **settings)


def _mlp():
    return classify.make_classifier("mlp", rngs=nnx.Rngs(0), hidden=(16, 8), dropout=0.3)


@nnx.jit
def _own_and_one_pass(model, own, images, key):
    return (*_features_and_logits(model, images, key), own(images, train=True, key=key))


@pytest.mark.parametrize("architecture", ["cnn", "mlp"])
def test_one_pass_features_and_logits_are_the_networks_own(teacher, architecture):
    model = nnx.clone(teacher.model) if architecture == "cnn" else _mlp()
    images = jax.random.uniform(jax.random.key(0), (4, 28, 28))
    own = nnx.clone(model)
    features, logits, expected = _own_and_one_pass(model, own, images, jax.random.key(1))
    np.testing.assert_allclose(logits, expected, rtol=1e-6, atol=1e-6)
    assert features.shape == (4, 16 if architecture == "cnn" else 8)
    # One pass: the BatchNorm statistics moved exactly as in the network's own call.
    _assert_trees_equal(nnx.to_pure_dict(nnx.state(model, nnx.BatchStat)),
                        nnx.to_pure_dict(nnx.state(own, nnx.BatchStat)))


@pytest.mark.parametrize(("settings", "error", "message"), [
    ({"n_classes": 5}, ValueError, "teacher has 10 classes but the student n_classes=5"),
    ({"temperature": 0.0}, ValueError, "temperature must be > 0"),
    ({"hard_weight": 0.0, "soft_weight": 0.0}, ValueError, "both 0"),
    ({"soft_weight": np.array([0.5, -0.5])}, ValueError, "soft_weight must be non-negative"),
    ({"hint_weight": -1.0}, ValueError, "hint_weight must be >= 0"),
    ({"architecture": "resnet"}, ValueError, "Unknown architecture 'resnet'"),
])
def test_bad_settings_of_a_distillation_are_refused(mnist, teacher, settings, error, message):
    x, y, _, _ = mnist
    with pytest.raises(error, match=message):
        distill.train_distilled(x, y, teacher, key=jax.random.key(0), **{**_STUDENT, **settings})


def test_bad_teachers_and_data_are_refused(mnist, teacher):
    x, y, _, _ = mnist
    with pytest.raises(TypeError, match="teacher must be a trained classifier"):
        distill.train_distilled(x, y, teacher.state, key=jax.random.key(0), **_STUDENT)
    with pytest.raises(ValueError, match=r"teacher takes images of shape \(28, 28\)"):
        distill.train_distilled(x[:, :16, :16], y, teacher, key=jax.random.key(0), **_STUDENT)
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        distill.train_distilled(x * 255, y, teacher, key=jax.random.key(0), **_STUDENT)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        distill.train_distilled(x, y + 10, teacher, key=jax.random.key(0), **_STUDENT)


# ---------------------------------------------------------------------------
# The transfer-set experiment: a class left out, then the bias correction.


def test_without_class_removes_exactly_that_class(mnist):
    x, y, _, _ = mnist
    images, labels = distill.without_class(x, y, 3)
    assert 3 not in labels and len(labels) == np.sum(y != 3)
    np.testing.assert_array_equal(images, x[y != 3])
    with pytest.raises(ValueError, match="Class 11 does not occur"):
        distill.without_class(x, y, 11)


@nnx.jit
def _logits(model, images):
    return model(images)


@pytest.mark.parametrize("architecture", ["cnn", "mlp"])
def test_shift_class_bias_adds_a_constant_to_one_logit(teacher, architecture):
    model = teacher.model if architecture == "cnn" else _mlp()
    images = jax.random.uniform(jax.random.key(0), (3, 28, 28))
    original = _logits(model, images)
    shifted = distill.shift_class_bias(model, 3, 2.5)
    np.testing.assert_allclose(_logits(shifted, images), original.at[:, 3].add(2.5), rtol=1e-6,
                               atol=1e-6)
    np.testing.assert_array_equal(_logits(model, images), original)  # a copy was shifted
    with pytest.raises(ValueError, match=r"class_index must be in \[0, 10\)"):
        distill.shift_class_bias(model, 10, 1.0)
    with pytest.raises(TypeError, match="takes a classify.CNN or classify.MLPClassifier"):
        distill.shift_class_bias(nnx.Linear(2, 2, rngs=nnx.Rngs(0)), 0, 1.0)


def test_choose_bias_shift_recovers_a_known_prior_shift():
    model = _mlp()
    images = jax.random.uniform(jax.random.key(1), (200, 28, 28))
    # Labels as if class 3's logit were 1.5 higher: a shift of 1.5 predicts them all.
    labels = np.argmax(np.asarray(_logits(model, images)) + 1.5 * np.eye(10)[3], axis=1)
    shifts = np.arange(0.0, 4.01, 0.5)
    best, accuracies = distill.choose_bias_shift(model, images, labels, 3, shifts)
    assert accuracies.shape == shifts.shape and accuracies[shifts == 1.5] == 1.0
    assert accuracies[0] < 1.0 and best <= 1.5 and accuracies.max() == 1.0
    assert classify.accuracy(distill.shift_class_bias(model, 3, best), images, labels) == 1.0


def test_distill_without_class_then_correct_its_bias(mnist, teacher):
    x, y, xt, yt = mnist
    result = distill.distill_without_class(x, y, teacher, left_out=3, key=jax.random.key(5),
                                           validation_images=xt, validation_labels=yt,
                                           epochs=2, temperature=8.0, hard_weight=0.1,
                                           soft_weight=0.9, **_STUDENT)
    assert result.training.state.step == 2 * (np.sum(y != 3) // 64)  # 3s are not in it
    uncorrected = classify.accuracy(result.training.model, xt, yt)
    corrected = classify.accuracy(result.model, xt, yt)
    assert corrected == pytest.approx(float(result.shift_accuracies.max()))
    assert corrected >= uncorrected
    assert result.bias_shift == float(result.shifts[np.argmax(result.shift_accuracies)])
    fixed = distill.distill_without_class(x, y, teacher, left_out=3, key=jax.random.key(5),
                                          bias_shift=3.5, epochs=1, **_STUDENT)
    assert fixed.bias_shift == 3.5 and fixed.shifts is None
    with pytest.raises(ValueError, match="Give bias_shift"):
        distill.distill_without_class(x, y, teacher, left_out=3, key=jax.random.key(0),
                                      **_STUDENT)
