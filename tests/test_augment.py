"""Tests for jaxselforg.augment: per-example, key-driven, fixed-shape transforms."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxselforg import augment

IMAGES = jnp.asarray(np.random.default_rng(0).random((6, 12, 10)), jnp.float32)
KEY = jax.random.key(3)
TRANSFORMS = [augment.RandomShift(2), augment.RandomResizedCrop((0.3, 1.0)),
              augment.GaussianNoise(0.1), augment.RandomErasing(),
              augment.BrightnessContrast(0.4, 0.4),
              augment.Compose([augment.RandomResizedCrop((0.3, 1.0)),
                               (augment.HorizontalFlip(), 0.5)])]


@pytest.mark.parametrize("transform", TRANSFORMS, ids=lambda t: type(t).__name__)
def test_deterministic_per_example_fixed_shape_and_jit_equals_eager(transform):
    out = transform(KEY, IMAGES)
    assert out.shape == IMAGES.shape and out.dtype == IMAGES.dtype
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    np.testing.assert_array_equal(out, transform(KEY, IMAGES))
    np.testing.assert_allclose(jax.jit(transform)(KEY, IMAGES), out, rtol=1e-6, atol=1e-6)
    # The same image twice in a batch is augmented differently.
    same = jnp.stack([IMAGES[0], IMAGES[0]])
    twice = transform(KEY, same)
    assert not np.array_equal(twice[0], twice[1])
    assert not np.array_equal(transform(jax.random.key(4), IMAGES), out)


def test_identity_at_zero_strength():
    for transform in (augment.RandomShift(0), augment.RandomResizedCrop((1.0, 1.0), (10 / 12, 10 / 12)),
                      augment.GaussianNoise(0.0), augment.RandomErasing((0.0, 0.0)),
                      augment.BrightnessContrast(0.0, 0.0),
                      augment.Compose([(augment.HorizontalFlip(), 0.0)])):
        np.testing.assert_allclose(transform(KEY, IMAGES), IMAGES, atol=1e-6)


def test_shift_is_a_zero_filled_translation_of_at_most_max_shift():
    out = np.asarray(augment.RandomShift(2)(KEY, IMAGES))
    padded = np.pad(np.asarray(IMAGES), [(0, 0), (2, 2), (2, 2)])
    h, w = IMAGES.shape[1:]
    for image, result in zip(padded, out):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if np.array_equal(image[2 - dy:2 - dy + h, 2 - dx:2 - dx + w], result)]
        assert len(matches) == 1


def test_flip_mirrors_and_keeps_channels():
    rgb = jnp.stack([IMAGES, 1 - IMAGES], axis=-1)
    np.testing.assert_array_equal(augment.HorizontalFlip()(KEY, rgb), rgb[:, :, ::-1])


def test_resized_crop_of_an_aligned_box_equals_resizing_the_slice():
    image = IMAGES[0][..., None]
    box = jnp.asarray([2.0, 4.0, 6.0, 5.0])  # top, left, height, width
    expected = jax.image.resize(image[2:8, 4:9], image.shape, "linear")
    # Away from the border (where resizing the slice alone renormalises its filter
    # instead of reading the neighbours) the two agree.
    np.testing.assert_allclose(augment.resized_crop(image, box)[2:-2, 2:-2],
                               expected[2:-2, 2:-2], atol=1e-5)


def test_brightness_contrast_is_torchvision_color_jitter_on_grayscale():
    # torchvision's adjust_brightness (scale, clamp) then adjust_contrast (blend with
    # the image's mean, clamp), in numpy: some pair of factors in the stated ranges (a
    # grid of step 0.0025) reproduces every output.
    out = np.asarray(augment.BrightnessContrast(0.4, 0.3)(KEY, IMAGES), np.float64)
    b = np.linspace(0.6, 1.4, 321)[:, None, None, None]
    c = np.linspace(0.7, 1.3, 241)[None, :, None, None]
    for image, result in zip(np.asarray(IMAGES, np.float64), out):
        bright = np.clip(image * b, 0, 1)
        mean = bright.mean(axis=(2, 3), keepdims=True)
        candidates = np.clip(c * (bright - mean) + mean, 0, 1)
        assert np.abs(candidates - result).max(axis=(2, 3)).min() < 2e-3
        assert not np.allclose(result, image, atol=1e-2)


def test_erasing_changes_one_rectangle_only():
    out = np.asarray(augment.RandomErasing(value=0.5)(KEY, IMAGES))
    for image, result in zip(np.asarray(IMAGES), out):
        rows, cols = np.nonzero(np.abs(result - image) > 0)
        assert rows.size > 0
        box = result[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
        np.testing.assert_array_equal(box, 0.5)


def test_bad_settings_and_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="max_shift must be a whole number"):
        augment.RandomShift(-1)
    with pytest.raises(ValueError, match=r"scale must satisfy 0.0 <= min <= max <= 1.0"):
        augment.RandomResizedCrop((0.5, 1.5))
    with pytest.raises(ValueError, match="std must be a finite number"):
        augment.GaussianNoise(-0.1)
    with pytest.raises(ValueError, match=r"brightness must be in \[0, 1\]"):
        augment.BrightnessContrast(brightness=1.5)
    with pytest.raises(ValueError, match=r"contrast must be in \[0, 1\]"):
        augment.BrightnessContrast(contrast=-0.1)
    with pytest.raises(ValueError, match="probability"):
        augment.Compose([(augment.HorizontalFlip(), 1.5)])
    with pytest.raises(ValueError, match=r"\[n, h, w\] or \[n, h, w, c\]"):
        augment.RandomShift(1)(KEY, IMAGES[0])
    with pytest.raises(ValueError, match=r"jax.random.key\(0\)"):
        augment.RandomShift(1)(0, IMAGES)
