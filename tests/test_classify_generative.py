"""jaxselforg.classify.generative: naive Bayes and mixture-per-class classifiers.

References: scikit-learn's BernoulliNB and GaussianNB (float64) on real Fashion-MNIST
rows, and the library's own mixture fits run one class at a time.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.naive_bayes import BernoulliNB, GaussianNB

from jaxselforg import data, mixture, vae
from jaxselforg.classify import generative

N_PER_CLASS = 60


@pytest.fixture(scope="module")
def fashion():
    """A class-balanced training subset (60 per class) and 200 test rows, in [0, 1]."""
    images, labels = data.load("fashion_mnist", "train")
    labels = np.asarray(labels)
    rows = np.concatenate([np.flatnonzero(labels == c)[:N_PER_CLASS] for c in range(10)])
    rows = np.random.default_rng(0).permutation(rows)
    x = np.asarray(data.flatten(data.to_unit_range(images[rows])))
    test_images, test_labels = data.load("fashion_mnist", "test")
    xt = np.asarray(data.flatten(data.to_unit_range(test_images[:200])))
    return {"x": x, "y": labels[rows], "xt": xt, "yt": np.asarray(test_labels[:200]),
            "xb": np.asarray(data.binarize(x)), "xtb": np.asarray(data.binarize(xt))}


def _close_log_probabilities(ours, joint, reference):
    # float32 against float64: the rounding of log p(x, c) (hundreds to 10^5 nats) is
    # what Bayes' rule's subtraction leaves, so the tolerance scales with it per row.
    scale = np.max(np.abs(np.asarray(joint)), axis=1, keepdims=True)
    assert np.all(np.abs(np.asarray(ours) - reference) <= 1e-5 * scale + 1e-5)


def test_bernoulli_naive_bayes_equals_scikit_learn(fashion):
    alpha = 0.5
    model = generative.fit_generative_classifier(fashion["xb"], fashion["y"],
                                                 family="bernoulli", smoothing=alpha)
    reference = BernoulliNB(alpha=alpha, force_alpha=True).fit(fashion["xb"], fashion["y"])
    xt = fashion["xtb"]
    np.testing.assert_allclose(model.log_prior, reference.class_log_prior_, rtol=1e-6)
    np.testing.assert_allclose(model.components.means[:, 0],
                               np.exp(reference.feature_log_prob_), rtol=1e-5)
    joint = generative.log_joint(model, xt)
    np.testing.assert_allclose(joint, reference._joint_log_likelihood(xt), rtol=1e-5)
    _close_log_probabilities(generative.predict_log_proba(model, xt), joint,
                             reference.predict_log_proba(xt))
    np.testing.assert_allclose(generative.predict_proba(model, xt), reference.predict_proba(xt),
                               atol=1e-4)
    np.testing.assert_array_equal(generative.predict(model, xt), reference.predict(xt))


@pytest.mark.parametrize("var_smoothing", [1e-9, 1e-2])
def test_gaussian_naive_bayes_equals_scikit_learn(fashion, var_smoothing):
    model = generative.fit_generative_classifier(fashion["x"], fashion["y"], family="gaussian",
                                                 smoothing=var_smoothing)
    reference = GaussianNB(var_smoothing=var_smoothing).fit(fashion["x"], fashion["y"])
    xt = fashion["xt"]
    np.testing.assert_allclose(model.log_prior, np.log(reference.class_prior_), rtol=1e-6)
    np.testing.assert_allclose(model.components.means[:, 0], reference.theta_, atol=1e-6)
    np.testing.assert_allclose(model.components.covariances[:, 0], reference.var_,
                               rtol=1e-4, atol=1e-10)
    joint = generative.log_joint(model, xt)
    # atol: float32 rounding of a sum of 784 terms of order 10 that cancels to a few nats.
    np.testing.assert_allclose(joint, reference._joint_log_likelihood(xt), rtol=2e-5, atol=1e-3)
    _close_log_probabilities(generative.predict_log_proba(model, xt), joint,
                             reference.predict_log_proba(xt))
    np.testing.assert_array_equal(generative.predict(model, xt), reference.predict(xt))
    probabilities = np.asarray(generative.predict_proba(model, xt))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_one_component_mixtures_fitted_per_class_are_naive_bayes(fashion):
    """The library's EM fit of a 1-component mixture on each class's rows (a Python loop
    over classes) gives naive Bayes' class densities and predictions."""
    x, y, xt = fashion["xb"], fashion["y"], fashion["xtb"]
    model = generative.fit_generative_classifier(x, y, family="bernoulli", smoothing=0.5)
    per_class = [mixture.bernoulli_mixture(x[y == c], 1, key=jax.random.key(c), alpha=0.5)
                 for c in range(10)]
    looped = np.stack([mixture.log_likelihood(fit, xt) for fit in per_class], axis=1)
    np.testing.assert_allclose(generative.class_log_likelihood(model, xt), looped, rtol=1e-5)
    prior = np.log(np.bincount(y) / len(y))
    np.testing.assert_array_equal(generative.predict(model, xt), np.argmax(looped + prior, 1))

    x, xt = fashion["x"], fashion["xt"]
    model = generative.fit_generative_classifier(x, y, family="gaussian", smoothing=1e-2)
    reg_covar = 1e-2 * float(np.max(np.var(x, axis=0)))
    per_class = [mixture.gaussian_mixture(x[y == c], 1, key=jax.random.key(c),
                                          covariance_type="diag", reg_covar=reg_covar)
                 for c in range(10)]
    looped = np.stack([mixture.log_likelihood(fit, xt) for fit in per_class], axis=1)
    np.testing.assert_allclose(generative.class_log_likelihood(model, xt), looped, rtol=1e-5,
                               atol=1e-3)


def test_mixture_per_class_vmapped_equals_a_loop_over_classes(fashion):
    x, y, xt = fashion["xb"], fashion["y"], fashion["xtb"]
    key = jax.random.key(3)
    model = generative.fit_generative_classifier(x, y, family="bernoulli", n_components=3,
                                                 key=key, smoothing=0.1, max_iter=20)
    assert model.components.means.shape == (10, 3, 784)
    keys = jax.random.split(key, 10)
    for c in (0, 7):  # two classes keep the test fast
        fit = mixture.bernoulli_mixture(x[y == c], 3, key=keys[c], alpha=0.1, max_iter=20)
        np.testing.assert_allclose(model.components.means[c], fit.means, atol=1e-4)
        np.testing.assert_allclose(generative.class_log_likelihood(model, xt)[:, c],
                                   mixture.log_likelihood(fit, xt), rtol=1e-4)
        np.testing.assert_allclose(model.train_log_likelihood[c], fit.log_likelihood, rtol=1e-5)
    # More components describe the training classes better than one.
    naive = generative.fit_generative_classifier(x, y, family="bernoulli", smoothing=0.1)
    assert np.all(np.asarray(model.train_log_likelihood) > np.asarray(naive.train_log_likelihood))


def test_fit_vmaps_over_subsets_under_jit(fashion):
    """The learning-curve path: one program fits several class-balanced subsets (traced
    labels, class_size n / C) and equals the eager fits one by one."""
    x, y = fashion["xb"], fashion["y"]
    rows = np.stack([np.sort(np.concatenate([np.flatnonzero(y == c)[s * 20:(s + 1) * 20]
                                             for c in range(10)])) for s in range(2)])

    @jax.jit
    def fit_all(xs, ys):
        return jax.vmap(lambda a, b: generative.fit_generative_classifier(
            a, b, family="bernoulli", n_classes=10, class_size=20).components.means)(xs, ys)

    means = fit_all(x[rows], y[rows])
    for s in range(2):
        eager = generative.fit_generative_classifier(x[rows[s]], y[rows[s]], family="bernoulli")
        np.testing.assert_allclose(means[s], eager.components.means, rtol=1e-6)


def test_bad_input_raises_clear_errors(fashion):
    x, y = fashion["xb"][:100], fashion["y"][:100]
    fit = generative.fit_generative_classifier
    with pytest.raises(ValueError, match=r"must be in \[0, 10\)"):
        fit(x, np.where(y == 9, 10, y), family="bernoulli", n_classes=10)
    with pytest.raises(ValueError, match="non-negative"):
        fit(x, np.where(y == 9, -1, y), family="bernoulli")
    with pytest.raises(ValueError, match=r"Class\(es\) \[3\] have \[0\]"):
        fit(x[y != 3], y[y != 3], family="bernoulli", n_classes=10)
    with pytest.raises(ValueError, match="fewer than the 10 classes"):
        fit(x[:5], np.arange(5), family="bernoulli", n_classes=10)
    with pytest.raises(ValueError, match="must be binary"):
        fit(fashion["x"][:100], y, family="bernoulli")
    with pytest.raises(ValueError, match="at least n_components=50"):
        fit(x, y, family="bernoulli", n_components=50, key=jax.random.key(0))
    with pytest.raises(ValueError, match="key is needed"):
        fit(x, y, family="bernoulli", n_components=2)
    with pytest.raises(ValueError, match="alpha"):
        fit(x, y, family="bernoulli", smoothing=0.0)
    with pytest.raises(ValueError, match="Unknown family"):
        fit(x, y, family="poisson")
    with pytest.raises(ValueError, match="Unknown covariance_type"):
        fit(x, y, family="gaussian", covariance_type="tied")
    with pytest.raises(ValueError, match="NaN"):
        fit(np.where(x > 0, np.nan, x), y, family="gaussian")
    model = fit(x, y, family="bernoulli")
    with pytest.raises(ValueError, match="must be binary"):
        generative.predict(model, fashion["xt"])
    with pytest.raises(ValueError, match="784 were expected"):
        generative.predict_proba(model, fashion["xtb"][:, :100])


def test_smoothing_keeps_every_log_density_finite(fashion):
    """Pixels never on in a class (the image border) get probability alpha / (n_c + 2
    alpha), not 0: a test image lighting one scores finitely."""
    x, y = fashion["xb"], fashion["y"]
    model = generative.fit_generative_classifier(x, y, family="bernoulli", smoothing=1e-3)
    never_on = np.flatnonzero(x[y == 0].sum(axis=0) == 0)
    assert never_on.size > 0
    probe = np.zeros((1, 784), np.float32)
    probe[0, never_on] = 1.0
    assert np.all(np.isfinite(np.asarray(generative.log_joint(model, jnp.asarray(probe)))))
    np.testing.assert_allclose(model.components.means[0, 0, never_on],
                               1e-3 / (N_PER_CLASS + 2e-3), rtol=1e-5)


@pytest.fixture(scope="module")
def class_vaes(fashion):
    """A VAE per class (tiny: 32 hidden units, 4 latent dimensions, 60 steps each)."""
    model = generative.fit_generative_classifier(
        fashion["xb"], fashion["y"], family="vae", key=jax.random.key(0), latent_dim=4,
        hidden=32, epochs=30, batch_size=30, learning_rate=3e-3, n_samples=4)
    return model


def test_vae_per_class_is_a_probabilistic_classifier_that_beats_chance(fashion, class_vaes):
    model, xt, yt = class_vaes, fashion["xtb"], fashion["yt"]
    assert isinstance(model.components, generative.VAEComponents)
    np.testing.assert_array_equal(model.n_iter, 60)  # 30 epochs of 60 // 30 batches
    np.testing.assert_allclose(model.log_prior, np.log(0.1), rtol=1e-6)
    log_p = np.asarray(generative.predict_log_proba(model, xt))
    assert log_p.shape == (200, 10) and np.all(np.isfinite(log_p))
    np.testing.assert_allclose(np.exp(log_p).sum(axis=1), 1.0, rtol=1e-5)
    predicted = np.asarray(generative.predict(model, xt))
    np.testing.assert_array_equal(predicted, np.argmax(log_p, axis=1))
    assert np.mean(predicted == yt) > 0.5  # chance is 0.1
    # ln p(x | c) is class c's VAE's own importance-weighted estimate.
    class_ll = np.asarray(generative.class_log_likelihood(model, xt))
    direct = vae.importance_log_likelihood(model.components.model(7), xt.reshape(-1, 28, 28),
                                           key=jax.random.wrap_key_data(model.components.key[0]),
                                           n_samples=4)
    np.testing.assert_allclose(class_ll[:, 7], direct, rtol=1e-4, atol=1e-3)
    # Each VAE trained on its own class's rows: a class's test images score highest, on
    # average, under their own class's VAE (one shared training set would not do this).
    own = [int(np.argmax(class_ll[yt == c].mean(axis=0)) == c) for c in range(10)]
    assert sum(own) >= 8


def test_vae_per_class_bad_input_raises_clear_errors(fashion, class_vaes):
    x, y = fashion["xb"][:100], fashion["y"][:100]
    fit = functools.partial(generative.fit_generative_classifier, family="vae",
                            key=jax.random.key(0), hidden=8, latent_dim=2, epochs=1)
    with pytest.raises(ValueError, match="must be binary"):
        fit(fashion["x"][:100], y)
    with pytest.raises(ValueError, match=r"Class\(es\) \[3\] have \[0\]"):
        fit(x[y != 3], y[y != 3], n_classes=10)
    with pytest.raises(ValueError, match=r"must be in \[0, 10\)"):
        fit(x, np.where(y == 9, 10, y), n_classes=10)
    with pytest.raises(ValueError, match="fewer than the 10 classes"):
        fit(x[:5], np.arange(5), n_classes=10)
    with pytest.raises(ValueError, match="key is needed"):
        fit(x, y, key=None)
    with pytest.raises(ValueError, match="does not hold the 784 features"):
        fit(x, y, image_shape=(28, 27))
    with pytest.raises(ValueError, match="must be concrete"):
        jax.jit(lambda a: fit(a, y, n_classes=10).log_prior)(x)
    with pytest.raises(ValueError, match="must be binary"):
        generative.predict(class_vaes, fashion["xt"])
    with pytest.raises(ValueError, match="784 were expected"):
        generative.predict_proba(class_vaes, fashion["xtb"][:, :100])
