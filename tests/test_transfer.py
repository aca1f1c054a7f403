"""Transfer learning: encoders cut from every trained network of the library, a new head
on a frozen encoder (bit-identical, BatchNorm statistics included), fine-tuning, seed
sweeps, and the errors for bad input."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxselforg import classify, contrastive, data, evaluation, rbm, train, transfer, vae

SHAPE = (8, 8)


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(64, *SHAPE)).astype(np.float32)
    labels = np.arange(64) % 3
    return images, labels


def _cnn(seed=0):
    return classify.CNN(SHAPE, 3, channels=(2, 4), features=6, rngs=nnx.Rngs(seed))


def _leaves(module):
    return jax.tree.leaves(nnx.state(module))


def test_encoder_of_every_network_gives_its_representation(tiny):
    images = jnp.asarray(tiny[0][:5])
    cnn = _cnn()
    mlp = classify.MLPClassifier(SHAPE, 3, hidden=(7, 5), rngs=nnx.Rngs(1))
    net = contrastive.EmbeddingNet(SHAPE, channels=(2, 4), features=6, head=(4,),
                                   rngs=nnx.Rngs(2))
    model = vae.make_vae("mlp", latent_dim=3, image_shape=SHAPE, hidden=(9,),
                         rngs=nnx.Rngs(3))
    params = rbm.RBMParams(w=jnp.asarray(np.random.default_rng(4).normal(size=(64, 5)),
                                         jnp.float32), a=jnp.zeros(64), b=jnp.ones(5))
    expected = {"conv": cnn.features(images), "mlp": mlp.features(images),
                "embedding": net.features(images), "vae": model.encode(images)[0],
                "rbm": jax.nn.sigmoid(images.reshape(5, -1) @ params.w + params.b)}
    encoders = {"conv": transfer.encoder_of(cnn), "mlp": transfer.encoder_of(mlp),
                "embedding": transfer.encoder_of(net), "vae": transfer.encoder_of(model),
                "rbm": transfer.encoder_of(params, image_shape=SHAPE)}
    for name, encoder in encoders.items():
        features = transfer.encode(encoder, images)
        assert features.shape == (5, encoder.out_features), name
        np.testing.assert_allclose(features, expected[name], rtol=1e-5, atol=1e-6,
                                   err_msg=name)
    assert [e.kind for e in encoders.values()] == ["conv", "mlp", "conv", "vae", "rbm"]


def test_a_frozen_encoder_is_bit_identical_and_fine_tuning_moves_it(tiny):
    images, labels = tiny
    encoder = transfer.encoder_of(_cnn())
    before = [np.asarray(leaf) for leaf in _leaves(encoder)]
    frozen = transfer.train_transfer(images, labels, encoder, key=jax.random.key(0),
                                     n_classes=3, hidden=(5,), epochs=2, batch_size=16,
                                     learning_rate=1e-2, progress=False)
    model = frozen.model
    # Parameters and BatchNorm statistics of the encoder: untouched (eval mode, zero
    # updates); the head trained.
    after = _leaves(model.encoder)
    assert len(after) == len(before)
    assert all(np.array_equal(a, b) for a, b in zip(after, before))
    assert jax.tree.leaves(nnx.state(model.encoder, nnx.BatchStat))  # there are statistics
    assert np.all(np.isfinite(frozen.history["loss"]))
    # The caller's encoder is not modified either.
    assert all(np.array_equal(a, b) for a, b in zip(_leaves(encoder), before))
    tuned = transfer.train_transfer(images, labels, encoder, key=jax.random.key(0),
                                    mode="fine_tune", n_classes=3, hidden=(5,), epochs=2,
                                    batch_size=16, learning_rate=1e-2,
                                    encoder_learning_rate=1e-3, progress=False)
    moved = [not np.array_equal(a, b) for a, b in zip(_leaves(tuned.model.encoder), before)]
    assert all(moved)  # every kernel, bias, BatchNorm scale/bias and statistic
    # The same head initialization and batches: the first loss is the same.
    np.testing.assert_allclose(tuned.history["loss"][0], frozen.history["loss"][0], rtol=0.2)


def test_a_seed_sweep_is_the_single_runs(tiny):
    images, labels = tiny
    encoder = transfer.encoder_of(_cnn())
    keys = jax.random.split(jax.random.key(5), 2)
    sweep = transfer.train_transfer(images, labels, encoder, key=keys, n_classes=3,
                                    epochs=2, batch_size=16, progress=False)
    single = transfer.train_transfer(images, labels, encoder, key=keys[1], n_classes=3,
                                     epochs=2, batch_size=16, progress=False)
    assert sweep.history["loss"].shape == (2, 2)
    np.testing.assert_allclose(sweep.history["loss"][:, 1], single.history["loss"], rtol=1e-5)
    run = sweep.model_of(1)
    np.testing.assert_allclose(classify.predict(run, images), classify.predict(single.model,
                                                                               images),
                               rtol=1e-4, atol=1e-6)


def test_a_transfer_resumes_only_with_its_encoder(tiny, tmp_path):
    images, labels = tiny
    settings = {"key": jax.random.key(2), "mode": "fine_tune", "n_classes": 3, "batch_size": 16,
                "epochs": 2, "checkpoint_dir": tmp_path / "run", "progress": False}
    encoder = transfer.encoder_of(_cnn())
    trained = transfer.train_transfer(images, labels, encoder, keep=1,
                                      tensorboard_dir=tmp_path / "tb", **settings)
    # Every run option of train.fit reaches it (train.RunOptions): one checkpoint kept,
    # TensorBoard events written.
    assert len(list((tmp_path / "run").glob("[0-9]*"))) == 1
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    again = transfer.train_transfer(images, labels, encoder, **settings)  # restored
    for a, b in zip(jax.tree.leaves(again.state), jax.tree.leaves(trained.state)):
        np.testing.assert_array_equal(a, b)
    # The same architecture with other weights (a retrained encoder) is another run: its
    # checkpoints must not be taken for this one's.
    with pytest.raises(train.CheckpointMismatchError, match="encoder_weights"):
        transfer.train_transfer(images, labels, transfer.encoder_of(_cnn(seed=1)), **settings)


def test_features_of_an_mnist_cnn_transfer_to_fashion_mnist():
    x, y = data.load("mnist", "train")
    fx, fy = data.load("fashion_mnist", "train")
    tx, ty = data.load("fashion_mnist", "test")
    x, fx, tx = (data.to_unit_range(a) for a in (x[:1000], fx[:500], tx[:500]))
    y, fy, ty = np.asarray(y[:1000]), np.asarray(fy[:500]), np.asarray(ty[:500])
    cnn = classify.train_classifier(x, y, key=jax.random.key(0), channels=(4, 8),
                                    features=32, epochs=2, progress=False)
    encoder = transfer.encoder_of(cnn)
    probe = evaluation.linear_probe(transfer.encode(encoder, fx), fy,
                                    transfer.encode(encoder, tx), ty, max_iter=100)
    tuned = transfer.train_transfer(fx, fy, encoder, key=jax.random.key(1), mode="fine_tune",
                                    epochs=8, batch_size=50, learning_rate=1e-2,
                                    encoder_learning_rate=1e-3, test_images=tx,
                                    test_labels=ty, progress=False)
    # Chance is 10%: digit features carry over to clothes, and fine-tuning keeps learning.
    assert probe.test_accuracy > 0.5
    assert tuned.history["test_accuracy"][-1] > 0.55
    assert tuned.history["test_accuracy"][-1] > tuned.history["test_accuracy"][0]


def test_bad_input_is_refused(tiny):
    images, labels = tiny
    encoder = transfer.encoder_of(_cnn())
    fit = lambda **kw: transfer.train_transfer(
        *(kw.pop("data", (images, labels))), kw.pop("encoder", encoder),
        key=kw.pop("key", jax.random.key(0)), n_classes=3, epochs=1, batch_size=16,
        progress=False, **kw)
    with pytest.raises(ValueError, match="mode"):
        fit(mode="linear")
    with pytest.raises(TypeError, match=r"train_transfer\(\) got an unexpected keyword "
                                        r"argument 'checkpoint'; .* run options .*'checkpoint_dir'"):
        fit(checkpoint="runs/transfer")
    with pytest.raises(TypeError, match="transfer.Encoder"):
        fit(encoder=_cnn())
    with pytest.raises(ValueError, match="batch_size 128 is larger than the 64"):
        transfer.train_transfer(images, labels, encoder, key=jax.random.key(0), n_classes=3)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        fit(data=(images, labels + 1))
    with pytest.raises(ValueError, match="encoder_learning_rate"):
        fit(mode="fine_tune", encoder_learning_rate=0.0)
    with pytest.raises(ValueError, match="images"):
        fit(data=(images[:, :4], labels))
    with pytest.raises(ValueError, match="64 visible units"):
        transfer.encoder_of(rbm.RBMParams(jnp.zeros((64, 2)), jnp.zeros(64), jnp.zeros(2)))
    with pytest.raises(TypeError, match="No encoder is known"):
        transfer.encoder_of(nnx.Linear(2, 2, rngs=nnx.Rngs(0)))
    with pytest.raises(TypeError, match="encoder_of takes"):
        transfer.encoder_of("cnn.ckpt")
