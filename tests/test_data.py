"""Tests for ``jaxselforg.data``: loading, IDX parsing, synthetic sets, preprocessing, batching.

Real Fashion-MNIST / MNIST come from ``$JAXSELFORG_DATA_DIR`` (see ``conftest.py``).
No test touches the network: the offline paths are exercised by monkeypatching the
reachability probe and tfds' ``DownloadManager.download``.
"""

from __future__ import annotations

import functools
import gzip
import os
import pathlib
import shutil
import struct
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA as SkPCA
from sklearn.preprocessing import StandardScaler
from tensorflow_datasets.core.download import download_manager

from jaxselforg import data
from jaxselforg.data import loading

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


@pytest.fixture(autouse=True)
def _private_download_cache(tmp_path, monkeypatch):
    """Keep tfds' download folder out of the user's home during tests."""
    monkeypatch.setenv("JAXSELFORG_CACHE_DIR", str(tmp_path / "download-cache"))


def _data_root() -> pathlib.Path:
    root = os.environ.get("JAXSELFORG_DATA_DIR")
    assert root, "JAXSELFORG_DATA_DIR must point at the folder with fashion_mnist/ and mnist/"
    assert pathlib.Path(root, "fashion_mnist").is_dir(), root
    return pathlib.Path(root)


def _copy_files(name: str, filenames, destination: pathlib.Path) -> pathlib.Path:
    destination.mkdir(parents=True, exist_ok=True)
    for filename in filenames:
        # copyfile, not copy: the shared originals are read-only and the copies must not be.
        shutil.copyfile(_data_root() / name / filename, destination / filename)
    return destination


def _fashion_rows(n: int) -> np.ndarray:
    """The first ``n`` Fashion-MNIST training images, flattened, in [0, 1] (float32)."""
    images, _ = data.load("fashion_mnist", "train")
    return np.asarray(data.flatten(data.to_unit_range(images[:n])))


# --------------------------------------------------------------------------------------
# load: real data
# --------------------------------------------------------------------------------------

FIRST_LABELS = {
    ("fashion_mnist", "train"): [9, 0, 0, 3, 0, 2, 7, 2, 5, 5],
    ("fashion_mnist", "test"): [9, 2, 1, 1, 6, 1, 4, 6, 5, 7],
    ("mnist", "train"): [5, 0, 4, 1, 9, 2, 1, 3, 1, 4],
    ("mnist", "test"): [7, 2, 1, 0, 4, 1, 4, 9, 5, 9],
}
# Fashion-MNIST is exactly balanced; MNIST is not (published per-digit counts).
CLASS_COUNTS = {
    ("fashion_mnist", "train"): [6000] * 10,
    ("fashion_mnist", "test"): [1000] * 10,
    ("mnist", "train"): [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    ("mnist", "test"): [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
}


@pytest.mark.parametrize("name", data.DATASETS)
@pytest.mark.parametrize("split", data.SPLITS)
def test_load_shapes_labels_and_class_balance(name, split):
    images, labels = data.load(name, split)
    n = 60_000 if split == "train" else 10_000
    assert images.shape == (n, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (n,) and labels.dtype == np.int32
    assert labels.min() == 0 and labels.max() == 9
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), CLASS_COUNTS[(name, split)])
    np.testing.assert_array_equal(labels[:10], FIRST_LABELS[(name, split)])
    # The pixels use the full byte range (a garbled payload would rarely keep this).
    assert images.min() == 0 and images.max() == 255


@pytest.mark.parametrize(
    "name, mean, std", [("fashion_mnist", 0.2860, 0.3530), ("mnist", 0.1307, 0.3081)]
)
def test_load_training_pixel_statistics_match_published_values(name, mean, std):
    images, _ = data.load(name, "train")
    counts = np.bincount(images.ravel(), minlength=256)  # exact pixel histogram
    values = np.arange(256) / 255.0
    pixel_mean = np.sum(counts * values) / counts.sum()
    pixel_std = np.sqrt(np.sum(counts * (values - pixel_mean) ** 2) / counts.sum())
    assert pixel_mean == pytest.approx(mean, abs=5e-4)
    assert pixel_std == pytest.approx(std, abs=5e-4)


@pytest.mark.parametrize("name", data.DATASETS)
@pytest.mark.parametrize("split", data.SPLITS)
def test_load_is_cached_and_read_only(name, split):
    first = data.load(name, split)
    second = data.load(name, split)
    assert second[0] is first[0] and second[1] is first[1]
    for array in first:
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[0] = 1


def test_class_names_have_ten_entries_per_dataset():
    assert set(data.CLASS_NAMES) == set(data.DATASETS)
    for names in data.CLASS_NAMES.values():
        assert len(names) == 10 and len(set(names)) == 10
    assert data.CLASS_NAMES["fashion_mnist"][9] == "Ankle boot"


def test_load_with_explicit_data_dir(tmp_path, monkeypatch):
    root = _data_root()
    folder = _copy_files("mnist", FILES["test"], tmp_path / "my_mnist")
    # The explicit argument must win over the environment; the environment points
    # nowhere and the network is "down", so ignoring data_dir would fail.
    monkeypatch.setenv("JAXSELFORG_DATA_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setattr(loading, "_reachable", lambda url, timeout=5.0: False)

    images, labels = data.load("mnist", "test", data_dir=folder)

    monkeypatch.setenv("JAXSELFORG_DATA_DIR", str(root))
    reference_images, reference_labels = data.load("mnist", "test")
    assert images is not reference_images  # really read from the copy, not the cache
    np.testing.assert_array_equal(images, reference_images)
    np.testing.assert_array_equal(labels, reference_labels)
    # A str naming the same folder hits the same cache entry.
    again = data.load("mnist", "test", data_dir=str(folder))
    assert again[0] is images and again[1] is labels


# --------------------------------------------------------------------------------------
# load: corrupt files, offline, bad names
# --------------------------------------------------------------------------------------


def test_load_rejects_file_failing_its_checksum(tmp_path):
    folder = _copy_files("fashion_mnist", FILES["train"] + FILES["test"], tmp_path / "fm")
    label_file = folder / FILES["train"][1]
    raw = bytearray(label_file.read_bytes())
    middle = len(raw) // 2
    for i in range(middle, middle + 4):
        raw[i] ^= 0xFF
    label_file.write_bytes(bytes(raw))

    with pytest.raises(data.CorruptFileError) as info:
        data.load("fashion_mnist", "train", data_dir=folder)
    message = str(info.value)
    assert "checksum" in message
    assert FILES["train"][1] in message
    # The untouched split in the same folder still loads.
    images, labels = data.load("fashion_mnist", "test", data_dir=folder)
    assert images.shape == (10_000, 28, 28) and labels[:3].tolist() == [9, 2, 1]


def _unavailable_message(tmp_path, name, split):
    """The DataUnavailableError message of loading ``name`` from an empty folder; it
    must name both fixes (internet access, a data_dir / JAXSELFORG_DATA_DIR)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(data.DataUnavailableError) as info:
        data.load(name, split, data_dir=empty)
    message = str(info.value)
    assert "internet" in message and "data_dir" in message and "JAXSELFORG_DATA_DIR" in message
    return message, empty


def test_load_offline_without_files_explains_the_fixes(tmp_path, monkeypatch):
    probed = []

    def unreachable(url, timeout=5.0):
        probed.append(url)
        return False

    def must_not_download(self, *args, **kwargs):
        raise AssertionError("download attempted although the host is unreachable")

    monkeypatch.setattr(loading, "_reachable", unreachable)
    monkeypatch.setattr(download_manager.DownloadManager, "download", must_not_download)

    message, empty = _unavailable_message(tmp_path, "fashion_mnist", "train")
    assert all(filename in message for filename in FILES["train"])
    assert str(empty) in message
    assert len(probed) == 1 and probed[0].startswith("http")


def test_load_download_connection_error_becomes_data_unavailable(tmp_path, monkeypatch):
    attempts = []

    def refuse(self, *args, **kwargs):
        attempts.append(args)
        raise requests.ConnectionError("connection refused (simulated)")

    monkeypatch.setattr(loading, "_reachable", lambda url, timeout=5.0: True)
    monkeypatch.setattr(download_manager.DownloadManager, "download", refuse)

    message, _ = _unavailable_message(tmp_path, "mnist", "test")
    assert "connection refused (simulated)" in message
    assert len(attempts) == 1


@pytest.mark.parametrize(
    "name, split, rejected, accepted",
    [
        ("cifar10", "train", "cifar10", ["'fashion_mnist'", "'mnist'"]),
        ("Fashion_MNIST", "train", "Fashion_MNIST", ["'fashion_mnist'", "'mnist'"]),
        ("mnist", "validation", "validation", ["'train'", "'test'"]),
    ],
)
def test_load_rejects_unknown_name_or_split(name, split, rejected, accepted):
    with pytest.raises(ValueError) as info:
        data.load(name, split)
    message = str(info.value)
    assert repr(rejected) in message
    assert all(value in message for value in accepted)


# --------------------------------------------------------------------------------------
# read_idx
# --------------------------------------------------------------------------------------


def _idx_bytes(array: np.ndarray, *, type_code: int = 0x08) -> bytes:
    header = struct.pack(">HBB", 0, type_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _write(path: pathlib.Path, raw: bytes, *, gzipped: bool) -> pathlib.Path:
    path.write_bytes(gzip.compress(raw) if gzipped else raw)
    return path


_VALID = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
_GZ_VALID = gzip.compress(_idx_bytes(_VALID))


@pytest.mark.parametrize(
    "raw, gzipped, expected_shape, problem",
    [
        pytest.param(b"\x00\x01\x08\x03" + _idx_bytes(_VALID)[4:], True, None,
                     "magic number", id="bad-magic"),
        pytest.param(b"\x00\x00\x08\x00", True, None, "magic number", id="zero-dims"),
        pytest.param(_idx_bytes(_VALID, type_code=0x0D), True, None, "type code 0x0d",
                     id="float-type-code"),
        pytest.param(_idx_bytes(_VALID)[:-1], True, None, "holds 23", id="truncated-payload"),
        pytest.param(_idx_bytes(_VALID) + b"\x00\x07", False, None, "holds 26",
                     id="extra-bytes"),
        pytest.param(_idx_bytes(_VALID)[:10], False, None, "truncated", id="truncated-header"),
        pytest.param(b"\x00\x00", False, None, "too short", id="too-short"),
        pytest.param(_idx_bytes(_VALID), True, (3, 2, 4), "expected (3, 2, 4)",
                     id="shape-mismatch"),
    ],
)
def test_read_idx_rejects_invalid_files(tmp_path, raw, gzipped, expected_shape, problem):
    path = _write(tmp_path / "bad-idx.gz", raw, gzipped=gzipped)
    with pytest.raises(data.CorruptFileError) as info:
        data.read_idx(path, expected_shape=expected_shape)
    message = str(info.value)
    assert str(path) in message
    assert problem in message


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param(_GZ_VALID[: len(_GZ_VALID) // 2], id="truncated-gzip"),
        pytest.param(_GZ_VALID[:-8] + bytes(b ^ 0xFF for b in _GZ_VALID[-8:-4])
                     + _GZ_VALID[-4:], id="bad-gzip-crc"),
    ],
)
def test_read_idx_rejects_broken_gzip_stream(tmp_path, stream):
    path = tmp_path / "broken.gz"
    path.write_bytes(stream)
    with pytest.raises(data.CorruptFileError) as info:
        data.read_idx(path)
    assert str(path) in str(info.value) and "decompress" in str(info.value)


def test_corrupt_file_error_is_a_value_error():
    assert issubclass(data.CorruptFileError, ValueError)


@pytest.mark.parametrize("gzipped", [True, False])
def test_read_idx_round_trips_hand_made_file(tmp_path, gzipped):
    path = _write(tmp_path / "ok.idx", _idx_bytes(_VALID), gzipped=gzipped)
    out = data.read_idx(path, expected_shape=(2, 3, 4))
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, _VALID)
    np.testing.assert_array_equal(data.read_idx(str(path)), _VALID)  # str path, no shape


@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    seed=st.integers(0, 2**32 - 1),
    gzipped=st.booleans(),
)
def test_read_idx_round_trips_any_shape(shape, seed, gzipped):
    array = np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)
    with tempfile.TemporaryDirectory() as folder:
        path = _write(pathlib.Path(folder) / "x.idx", _idx_bytes(array), gzipped=gzipped)
        out = data.read_idx(path, expected_shape=tuple(shape))
    assert out.shape == tuple(shape)
    np.testing.assert_array_equal(out, array)


# --------------------------------------------------------------------------------------
# Synthetic point sets
# --------------------------------------------------------------------------------------

KEY = jax.random.key(0)
OTHER_KEY = jax.random.key(1)
N_LARGE = 20_000


def test_blobs_given_centres_balanced_and_centred():
    centres = np.array([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]], np.float32)
    std = 0.5
    x, labels = data.blobs(KEY, 3000, centres, std=std)
    assert x.shape == (3000, 2) and x.dtype == jnp.float32
    assert labels.shape == (3000,) and labels.dtype == jnp.int32
    np.testing.assert_array_equal(labels, np.arange(3000) % 3)
    np.testing.assert_array_equal(np.bincount(np.asarray(labels)), [1000, 1000, 1000])
    x = np.asarray(x)
    for k, centre in enumerate(centres):
        members = x[np.asarray(labels) == k]
        # Empirical mean within 4 standard errors, spread close to std.
        np.testing.assert_allclose(members.mean(0), centre, atol=4 * std / np.sqrt(1000))
        np.testing.assert_allclose(members.std(0), std, rtol=0.1)


def test_blobs_random_centres_inside_box():
    x, labels = data.blobs(KEY, 400, 4, dim=3, std=0.1, box=(-2.0, 2.0))
    assert x.shape == (400, 3) and labels.shape == (400,)
    np.testing.assert_array_equal(np.bincount(np.asarray(labels)), [100] * 4)
    x, labels = np.asarray(x), np.asarray(labels)
    means = np.stack([x[labels == k].mean(0) for k in range(4)])
    margin = 4 * 0.1 / np.sqrt(100)
    assert np.all(means > -2.0 - margin) and np.all(means < 2.0 + margin)
    # Distinct centres: the four blob means are not all the same point.
    assert np.ptp(means, axis=0).max() > 0.5


def test_uniform_square_bounds_and_uniformity():
    low, high = -2.0, 3.0
    x = np.asarray(data.uniform_square(KEY, N_LARGE, low=low, high=high))
    assert x.shape == (N_LARGE, 2) and x.dtype == np.float32
    assert x.min() >= low and x.max() <= high
    mid = (low + high) / 2
    for below_x in (True, False):
        for below_y in (True, False):
            share = np.mean(((x[:, 0] < mid) == below_x) & ((x[:, 1] < mid) == below_y))
            assert share == pytest.approx(0.25, abs=0.02)
    quarter = low + (high - low) / 4
    assert np.mean(x < quarter) == pytest.approx(0.25, abs=0.02)


def test_uniform_disc_bounds_and_uniform_in_area():
    radius = 2.0
    x = np.asarray(data.uniform_disc(KEY, N_LARGE, radius=radius))
    assert x.shape == (N_LARGE, 2) and x.dtype == np.float32
    r = np.linalg.norm(x.astype(np.float64), axis=1)
    assert r.max() <= radius * (1 + 1e-6)
    assert r.max() > radius * 0.99  # fills the disc
    # Half the area lies within radius / sqrt(2); a sampler uniform in r gives ~0.71.
    assert np.mean(r < radius / np.sqrt(2)) == pytest.approx(0.5, abs=0.03)
    angle = np.arctan2(x[:, 1], x[:, 0])
    for quadrant in range(4):
        lo = -np.pi + quadrant * np.pi / 2
        assert np.mean((angle >= lo) & (angle < lo + np.pi / 2)) == pytest.approx(0.25, abs=0.02)


def test_ring_bounds_and_uniform_in_area():
    inner, outer = 1.0, 3.0
    x = np.asarray(data.ring(KEY, N_LARGE, inner=inner, outer=outer))
    assert x.shape == (N_LARGE, 2) and x.dtype == np.float32
    r = np.linalg.norm(x.astype(np.float64), axis=1)
    assert r.min() >= inner * (1 - 1e-6) and r.max() <= outer * (1 + 1e-6)
    assert r.min() < inner + 0.01 and r.max() > outer - 0.01  # fills the annulus
    median_radius = np.sqrt((inner**2 + outer**2) / 2)
    assert np.mean(r < median_radius) == pytest.approx(0.5, abs=0.03)
    assert np.abs(x.mean(0)).max() < 0.05


GENERATORS = {
    "blobs": lambda key: data.blobs(key, 50, 3)[0],
    "uniform_square": lambda key: data.uniform_square(key, 50),
    "uniform_disc": lambda key: data.uniform_disc(key, 50),
    "ring": lambda key: data.ring(key, 50),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_synthetic_deterministic_per_key_and_jit_equals_eager(name):
    generate = GENERATORS[name]
    first = np.asarray(generate(KEY))
    np.testing.assert_array_equal(first, np.asarray(generate(KEY)))
    assert not np.allclose(first, np.asarray(generate(OTHER_KEY)))
    np.testing.assert_allclose(np.asarray(jax.jit(generate)(KEY)), first, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: data.blobs(KEY, 0), id="blobs-n0"),
        pytest.param(lambda: data.blobs(KEY, 10, 0), id="blobs-0-centres"),
        pytest.param(lambda: data.uniform_square(KEY, 0), id="square-n0"),
        pytest.param(lambda: data.uniform_disc(KEY, 0), id="disc-n0"),
        pytest.param(lambda: data.uniform_disc(KEY, 10, radius=0.0), id="disc-radius0"),
        pytest.param(lambda: data.uniform_disc(KEY, 10, radius=-1.0), id="disc-radius-neg"),
        pytest.param(lambda: data.ring(KEY, 0), id="ring-n0"),
        pytest.param(lambda: data.ring(KEY, 10, inner=1.0, outer=1.0), id="ring-inner-eq"),
        pytest.param(lambda: data.ring(KEY, 10, inner=2.0, outer=1.0), id="ring-inner-gt"),
        pytest.param(lambda: data.ring(KEY, 10, inner=-0.5, outer=1.0), id="ring-inner-neg"),
        pytest.param(lambda: data.uniform_square(KEY, 2.5), id="square-n-float"),
        pytest.param(lambda: data.uniform_square(KEY, 5, low=1.0, high=0.0), id="square-low>high"),
    ],
)
def test_synthetic_rejects_bad_arguments(call):
    with pytest.raises(ValueError):
        call()


# --------------------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------------------


def test_to_unit_range_scales_bytes():
    pixels = np.array([[0, 1, 128, 255]], np.uint8)
    out = data.to_unit_range(pixels)
    assert out.dtype == jnp.float32
    np.testing.assert_array_equal(out, pixels.astype(np.float32) / np.float32(255))
    assert float(out[0, 0]) == 0.0 and float(out[0, 3]) == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint16])
def test_to_unit_range_rejects_non_bytes(dtype):
    with pytest.raises(ValueError, match="uint8"):
        data.to_unit_range(np.zeros((2, 2), dtype))


def test_flatten_keeps_row_order():
    images = np.arange(2 * 3 * 4 * 2).reshape(2, 3, 4, 2)
    out = data.flatten(images)
    assert out.shape == (2, 24)
    np.testing.assert_array_equal(out, images.reshape(2, -1))
    with pytest.raises(ValueError):
        data.flatten(np.arange(5))


def test_standardize_matches_sklearn_on_fashion_mnist():
    x = _fashion_rows(500)
    z, mean, std = data.standardize(x)
    scaler = StandardScaler().fit(x.astype(np.float64))
    np.testing.assert_allclose(mean, scaler.mean_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(std, np.sqrt(scaler.var_), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(z, scaler.transform(x.astype(np.float64)), rtol=1e-3, atol=1e-4)
    constant = x.min(0) == x.max(0)
    assert constant.sum() > 0  # the corner pixels of the first 500 images
    assert np.all(np.asarray(z)[:, constant] == 0.0)
    assert np.all(np.isfinite(np.asarray(z)))


def test_standardize_applies_training_statistics_to_test_data():
    train = _fashion_rows(500)
    test_images, _ = data.load("fashion_mnist", "test")
    test = np.asarray(data.flatten(data.to_unit_range(test_images[:100])))
    _, mean, std = data.standardize(train)
    z_test, mean_out, std_out = data.standardize(test, mean, std)
    np.testing.assert_array_equal(mean_out, mean)
    np.testing.assert_array_equal(std_out, std)
    scaler = StandardScaler().fit(train.astype(np.float64))
    np.testing.assert_allclose(z_test, scaler.transform(test.astype(np.float64)),
                               rtol=1e-3, atol=1e-3)
    # Not the test set's own statistics.
    z_own, _, _ = data.standardize(test)
    assert not np.allclose(z_test, z_own, atol=1e-2)


def test_standardize_constant_column_exact_value_and_jit():
    x = np.stack([np.full(8, 0.5, np.float32), np.arange(8, dtype=np.float32)], axis=1)
    z, _, std = data.standardize(x)
    assert float(std[0]) == 0.0
    np.testing.assert_array_equal(np.asarray(z)[:, 0], 0.0)
    np.testing.assert_allclose(np.asarray(z)[:, 1].std(), 1.0, rtol=1e-6)
    z_jit, _, _ = jax.jit(data.standardize)(x)
    np.testing.assert_allclose(z_jit, z, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError):
        data.standardize(x, mean=np.zeros(3))


def test_standardize_constant_nonzero_column_is_zero_like_sklearn():
    # float32 rounding makes the computed std of a constant 0.1 column ~1e-8, not 0.
    x = np.stack([np.full(500, 0.1, np.float32), np.linspace(0, 1, 500, dtype=np.float32)], 1)
    z, _, _ = data.standardize(x)
    np.testing.assert_array_equal(np.asarray(z)[:, 0], 0.0)
    np.testing.assert_allclose(z, StandardScaler().fit_transform(x), atol=1e-5)


def test_blobs_accepts_numpy_integer_count():
    x, labels = data.blobs(KEY, 30, np.int64(3))
    assert x.shape == (30, 2) and set(np.asarray(labels).tolist()) == {0, 1, 2}


def test_read_idx_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        data.read_idx(tmp_path / "absent.gz")


def test_binarize_is_strictly_greater_than_threshold():
    x = np.array([0.0, 0.49, 0.5, 0.51, 1.0], np.float32)
    out = data.binarize(x)
    assert out.dtype == jnp.float32
    np.testing.assert_array_equal(out, [0.0, 0.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(data.binarize(x, threshold=0.0), [0.0, 1.0, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(data.binarize(x, threshold=1.0), [0.0] * 5)
    np.testing.assert_array_equal(jax.jit(data.binarize)(x, 0.49), [0.0, 0.0, 1.0, 1.0, 1.0])


def test_dynamic_binarize_values_mean_and_resampling():
    p = 0.3
    x = jnp.full((100_000,), p, jnp.float32)
    first = np.asarray(data.dynamic_binarize(KEY, x))
    assert first.dtype == np.float32
    assert set(np.unique(first).tolist()) == {0.0, 1.0}
    assert first.mean() == pytest.approx(p, abs=0.006)  # > 4 standard errors
    np.testing.assert_array_equal(first, np.asarray(data.dynamic_binarize(KEY, x)))
    other = np.asarray(data.dynamic_binarize(OTHER_KEY, x))
    assert np.mean(first != other) > 0.3  # about 2 p (1 - p) = 0.42 of the entries differ
    # Probabilities 0 and 1 are deterministic.
    edges = np.asarray(data.dynamic_binarize(KEY, jnp.array([0.0, 1.0, 0.0, 1.0])))
    np.testing.assert_array_equal(edges, [0.0, 1.0, 0.0, 1.0])


@pytest.mark.parametrize("bad", [[-0.1, 0.5], [0.5, 1.1], [0.0, 255.0]])
def test_dynamic_binarize_rejects_values_outside_unit_interval(bad):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        data.dynamic_binarize(KEY, np.array(bad, np.float32))


def test_pca_matches_sklearn_on_fashion_mnist():
    x = _fashion_rows(1000)
    k = 10
    fitted = data.pca(x, k)
    reference = SkPCA(n_components=k, svd_solver="full").fit(x.astype(np.float64))

    np.testing.assert_allclose(fitted.mean, reference.mean_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fitted.explained_variance, reference.explained_variance_,
                               rtol=1e-3)
    np.testing.assert_allclose(fitted.explained_variance_ratio,
                               reference.explained_variance_ratio_, rtol=1e-3)
    components = np.asarray(fitted.components)
    assert components.shape == (k, 784)
    signs = np.sign(np.sum(components * reference.components_, axis=1))
    assert np.all(signs != 0)
    np.testing.assert_allclose(components, signs[:, None] * reference.components_, atol=1e-3)
    # Documented sign convention: each axis' largest-magnitude entry is positive.
    rows = np.arange(k)
    assert np.all(components[rows, np.abs(components).argmax(1)] > 0)

    projected = np.asarray(data.pca_project(x, fitted))
    expected = reference.transform(x.astype(np.float64)) * signs
    assert projected.shape == (1000, k)
    np.testing.assert_allclose(projected, expected, atol=1e-3 * np.abs(expected).max())


def test_pca_project_jit_equals_eager():
    x = _fashion_rows(50)
    fitted = data.pca(x, 3)
    eager = data.pca_project(x, fitted)
    np.testing.assert_allclose(jax.jit(data.pca_project)(x, fitted), eager, rtol=1e-5,
                               atol=1e-5)
    with pytest.raises(ValueError):
        data.pca_project(x[:, :100], fitted)


@pytest.mark.parametrize("n_components", [0, 6, 785])
def test_pca_rejects_bad_n_components(n_components):
    x = _fashion_rows(5)
    with pytest.raises(ValueError):
        data.pca(x, n_components)


# --------------------------------------------------------------------------------------
# Batching
# --------------------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnums=(1, 2))
def _jit_epoch_indices(key, n, batch_size):
    return data.epoch_indices(key, n, batch_size)


def test_epoch_indices_inside_jit_is_a_truncated_permutation(compilations):
    n, batch_size = 103, 10
    index = np.asarray(_jit_epoch_indices(KEY, n, batch_size))
    assert index.shape == (n // batch_size, batch_size) and index.dtype == np.int32
    assert index.min() >= 0 and index.max() < n
    assert len(np.unique(index)) == n - n % batch_size  # every index at most once
    with compilations() as compiled:
        other = np.asarray(_jit_epoch_indices(OTHER_KEY, n, batch_size))
    assert compiled == []  # a new key does not recompile
    assert not np.array_equal(index, other)
    np.testing.assert_array_equal(np.asarray(data.epoch_indices(KEY, n, batch_size)), index)


def test_epoch_batches_keeps_pytree_pairs_aligned():
    n, batch_size = 23, 4
    labels = np.arange(n, dtype=np.int32)
    x = np.stack([labels, 2 * labels, 3 * labels], axis=1)
    batches = jax.jit(data.epoch_batches, static_argnums=2)(KEY, {"x": x, "y": labels},
                                                           batch_size)
    bx, by = np.asarray(batches["x"]), np.asarray(batches["y"])
    assert bx.shape == (n // batch_size, batch_size, 3)
    assert by.shape == (n // batch_size, batch_size)
    np.testing.assert_array_equal(bx, x[by])
    assert len(np.unique(by)) == by.size
    assert not np.array_equal(by.ravel(), np.sort(by.ravel()))  # actually shuffled


def test_epoch_as_scan_sums_the_kept_examples():
    n, batch_size = 37, 5
    x = np.arange(1, n + 1, dtype=np.int32) ** 2
    ids = np.arange(n, dtype=np.int32)

    @jax.jit
    def epoch(key):
        def step(total, batch):
            xb, ib = batch
            return total + jnp.sum(xb), ib

        return jax.lax.scan(step, jnp.int32(0), data.epoch_batches(key, (x, ids), batch_size))

    total, seen = epoch(KEY)
    seen = np.asarray(seen).ravel()
    assert seen.size == n - n % batch_size and len(np.unique(seen)) == seen.size
    dropped = np.setdiff1d(ids, seen)
    assert int(total) == int(x[seen].sum()) == int(x.sum() - x[dropped].sum())


def _driver_step(carry, batch, index):
    """A step whose result depends on the batch order and on the index argument."""
    xb, ib = batch
    return carry * 3 + jnp.sum(xb) + index, (ib, index)


@jax.jit
def _jit_scan_batches(key, x, ids):
    return data.scan_batches(_driver_step, jnp.int32(0), (x, ids), key=key, batch_size=5)


def test_scan_batches_is_the_python_loop_over_the_epoch_indices(compilations):
    n, batch_size = 37, 5
    x = np.arange(1, n + 1, dtype=np.int32) % 7
    ids = np.arange(n, dtype=np.int32)
    carry, (seen, index) = _jit_scan_batches(KEY, x, ids)
    seen, index = np.asarray(seen), np.asarray(index)
    rows = np.asarray(data.epoch_indices(KEY, n, batch_size))
    # The batches are the epoch's permutation, its remainder of n % batch_size dropped.
    np.testing.assert_array_equal(seen, rows)
    assert seen.shape == (n // batch_size, batch_size) and len(np.unique(seen)) == seen.size
    assert seen.min() >= 0 and seen.max() < n
    np.testing.assert_array_equal(index, np.arange(n // batch_size))
    assert index.dtype == np.int32
    # Eager Python loop over the same batches, with the step's own index.
    expected = jnp.int32(0)
    for i, batch_rows in enumerate(rows):
        expected, _ = _driver_step(expected, (x[batch_rows], ids[batch_rows]), i)
    assert int(carry) == int(expected)
    # A new key: a new order (and carry), the same program.
    with compilations() as compiled:
        other, (other_seen, _) = _jit_scan_batches(OTHER_KEY, x, ids)
    assert compiled == []
    assert not np.array_equal(np.asarray(other_seen), seen) and int(other) != int(carry)


def test_scan_batches_rejects_bad_data_and_batch_size():
    step = lambda carry, batch, index: (carry, None)  # noqa: E731
    with pytest.raises(ValueError, match="first"):
        data.scan_batches(step, 0, (np.zeros((10, 2)), np.zeros(9)), key=KEY, batch_size=2)
    with pytest.raises(ValueError, match="must be <= the number of examples 10"):
        data.scan_batches(step, 0, np.zeros((10, 2)), key=KEY, batch_size=11)
    with pytest.raises(ValueError, match="batch_size"):
        data.scan_batches(step, 0, np.zeros((10, 2)), key=KEY, batch_size=0)


@pytest.mark.parametrize("n, batch_size", [(7, 3), (6, 3), (2, 5)])
def test_sequential_batches_pad_and_mask(n, batch_size):
    x = np.arange(1, 2 * n + 1, dtype=np.float32).reshape(n, 2)
    y = np.arange(1, n + 1, dtype=np.int32)
    (bx, by), mask = data.sequential_batches((x, y), batch_size)
    n_batches = -(-n // batch_size)
    assert bx.shape == (n_batches, batch_size, 2) and by.shape == (n_batches, batch_size)
    assert mask.shape == (n_batches, batch_size) and mask.dtype == jnp.bool_
    mask = np.asarray(mask)
    assert mask.sum() == n
    np.testing.assert_array_equal(mask.ravel(), np.arange(n_batches * batch_size) < n)
    np.testing.assert_array_equal(np.asarray(bx).reshape(-1, 2)[:n], x)  # in order
    np.testing.assert_array_equal(np.asarray(by)[mask], y)
    assert np.all(np.asarray(bx)[~mask] == 0) and np.all(np.asarray(by)[~mask] == 0)


def test_batching_rejects_mismatched_leading_dims():
    x, y = np.zeros((10, 2), np.float32), np.zeros(9, np.int32)
    with pytest.raises(ValueError, match="first"):
        data.epoch_batches(KEY, (x, y), 2)
    with pytest.raises(ValueError, match="first"):
        data.sequential_batches((x, y), 2)


@pytest.mark.parametrize("batch_size", [0, 11, 2.0])
def test_epoch_batching_rejects_bad_batch_size(batch_size):
    with pytest.raises(ValueError):
        data.epoch_indices(KEY, 10, batch_size)
    with pytest.raises(ValueError):
        data.epoch_batches(KEY, np.zeros((10, 2)), batch_size)


def test_binarize_refuses_nan_pixels_a_nan_threshold_and_uint8_pixels():
    images = np.full((2, 4, 4), 0.25, np.float32)
    images[0, 1, 1] = 0.75
    np.testing.assert_array_equal(data.binarize(images), images > 0.5)
    with_nan = images.copy()
    with_nan[1, 2, 2] = np.nan
    with pytest.raises(ValueError, match=r"binarize expects x in \[0, 1\]; got values in \[nan"):
        data.binarize(with_nan)
    with pytest.raises(ValueError, match="threshold contains 1 NaN"):
        data.binarize(images, threshold=np.nan)
    with pytest.raises(ValueError, match=r"got values in \[0.0, 255.0\].*uint8.*to_unit_range"):
        data.binarize(np.array([[0, 255]], np.uint8))
    with pytest.raises(ValueError, match=r"dynamic_binarize expects x in \[0, 1\]"):
        data.dynamic_binarize(jax.random.key(0), np.array([[0, 255]], np.uint8))


def test_pca_of_constant_data_is_a_clear_error_not_nan_ratios():
    with pytest.raises(ValueError, match="all 20 rows of x are equal"):
        data.pca(np.ones((20, 5), np.float32), 2)


@pytest.mark.parametrize("std", [-1.0, np.nan, np.inf])
def test_blobs_refuses_a_negative_or_non_finite_std(std):
    with pytest.raises(ValueError, match="std"):
        data.blobs(jax.random.key(0), 30, 3, std=std)
    assert np.all(np.isfinite(data.blobs(jax.random.key(0), 30, 3, std=0.0)[0]))
