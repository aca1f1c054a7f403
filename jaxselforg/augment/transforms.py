"""Per-example image transforms: ``transform(key, images) -> images``, fixed shapes.

Every transform is a frozen dataclass (hashable by value, so a loss that holds one
keeps a rebuilt training step equal to the old one) whose settings are checked when
it is built. Called on a batch ``[n, h, w]`` or ``[n, h, w, c]`` of floats in [0, 1],
it splits ``key`` into one key per image and ``vmap``s the one-image rule, so it runs
inside a jitted step on device, differently for every example and the same for the
same key. Outputs keep the input's shape, dtype and [0, 1] range.

dm-pix does the flip and the contrast; it has no random translation, resized crop or
erasing, which are written here on ``jax.image.scale_and_translate`` and fixed-shape
masks, and its brightness is additive, where torchvision's (SimCLR's colour jitter)
scales the image.
"""

from __future__ import annotations

import dataclasses
import math

import dm_pix
import jax
import jax.numpy as jnp

from jaxselforg import _validation
from jaxselforg.augment import _batch

__all__ = ["BrightnessContrast", "GaussianNoise", "HorizontalFlip", "RandomErasing",
           "RandomResizedCrop", "RandomShift", "crop_box", "resized_crop"]


@dataclasses.dataclass(frozen=True)
class RandomShift:
    """Translates each image by whole pixels, filling with zeros (Hinton's jitter).

    The offsets ``(dy, dx)`` are uniform on ``{-max_shift, ..., max_shift}``^2:
    ``out[i, j] = image[i - dy, j - dx]`` where that pixel exists, else 0.

    Args:
      max_shift: the largest offset in pixels (0: identity).

    References:
      Hinton et al., Improving neural networks by preventing co-adaptation of feature
      detectors, 2012 (inputs jittered by up to 2 pixels).
    """

    max_shift: int = 2

    def __post_init__(self):
        if isinstance(self.max_shift, bool) or not isinstance(self.max_shift, int) \
                or self.max_shift < 0:
            raise ValueError(f"max_shift must be a whole number of pixels >= 0; got "
                             f"{self.max_shift!r}.")

    def __call__(self, key: jax.Array, images) -> jax.Array:
        m = self.max_shift

        def one(key, image):
            h, w, _ = image.shape
            dy, dx = jax.random.randint(key, (2,), -m, m + 1)
            padded = jnp.pad(image, [(m, m), (m, m), (0, 0)])
            return jax.lax.dynamic_slice(padded, (m - dy, m - dx, 0), image.shape)

        return _batch.per_example(one, key, images)


def _positive_interval(value, name: str) -> tuple[float, float]:
    """A ``(min, max)`` pair with ``0 < min <= max`` (an aspect ratio's range)."""
    low, high = _batch.interval(value, name, 0.0, math.inf)
    if low <= 0.0:
        raise ValueError(f"{name} must be positive; got {value}.")
    return low, high


def crop_box(key: jax.Array, height: int, width: int, scale: tuple[float, float],
             ratio: tuple[float, float]) -> jax.Array:
    """A random crop ``[top, left, crop_height, crop_width]`` (floats) as SimCLR's.

    The crop's area is ``s * height * width`` with ``s ~ U(scale)``, its aspect
    ``crop_width / crop_height = r`` with ``ln r ~ U(ln ratio)``; its sides are clipped
    to the image, and its position is uniform over the places where it fits.
    """
    key = _validation.prng_key(key)
    height = _validation.positive_int(height, "height")
    width = _validation.positive_int(width, "width")
    scale = _batch.interval(scale, "scale", 0.0, 1.0)
    ratio = _positive_interval(ratio, "ratio")
    k_area, k_ratio, k_y, k_x = jax.random.split(key, 4)
    area = jax.random.uniform(k_area, (), minval=scale[0], maxval=scale[1]) * height * width
    log_r = jax.random.uniform(k_ratio, (), minval=math.log(ratio[0]),
                               maxval=math.log(ratio[1]))
    r = jnp.exp(log_r)
    crop_w = jnp.clip(jnp.sqrt(area * r), 1.0, width)
    crop_h = jnp.clip(jnp.sqrt(area / r), 1.0, height)
    top = jax.random.uniform(k_y, ()) * (height - crop_h)
    left = jax.random.uniform(k_x, ()) * (width - crop_w)
    return jnp.stack([top, left, crop_h, crop_w])


def resized_crop(image: jax.Array, box: jax.Array) -> jax.Array:
    """The region ``box = [top, left, crop_height, crop_width]`` of ``image [h, w, c]``
    resized (bilinear, half-pixel centres) back to ``[h, w, c]``."""
    h, w, _ = image.shape
    top, left, crop_h, crop_w = box[0], box[1], box[2], box[3]
    scale = jnp.stack([h / crop_h, w / crop_w])
    translation = -jnp.stack([top, left]) * scale
    return jax.image.scale_and_translate(image, image.shape, (0, 1), scale, translation,
                                         method="linear", antialias=True)


@dataclasses.dataclass(frozen=True)
class RandomResizedCrop:
    """SimCLR's crop: a random region (see :func:`crop_box`) resized back to ``h x w``.

    Args:
      scale: range of the crop's area as a fraction of the image's, in (0, 1].
      ratio: range of its aspect ``width / height``.

    References:
      Chen et al., A Simple Framework for Contrastive Learning of Visual
      Representations (SimCLR), ICML 2020; torchvision's RandomResizedCrop.
    """

    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)

    def __post_init__(self):
        scale = _batch.interval(self.scale, "scale", 0.0, 1.0)
        if scale[0] <= 0.0:
            raise ValueError(f"scale must be within (0, 1]; got {self.scale}.")
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "ratio", _positive_interval(self.ratio, "ratio"))

    def __call__(self, key: jax.Array, images) -> jax.Array:
        def one(key, image):
            h, w, _ = image.shape
            box = crop_box(key, h, w, self.scale, self.ratio)
            return jnp.clip(resized_crop(image, box), 0.0, 1.0)

        return _batch.per_example(one, key, images)


@dataclasses.dataclass(frozen=True)
class HorizontalFlip:
    """Mirrors every image left to right (``dm_pix.flip_left_right``); give it a
    probability in :class:`~jaxselforg.augment.Compose`. For Fashion-MNIST only:
    a mirrored digit is another symbol."""

    def __call__(self, key: jax.Array, images) -> jax.Array:
        return _batch.per_example(lambda _, image: dm_pix.flip_left_right(image), key, images)


@dataclasses.dataclass(frozen=True)
class BrightnessContrast:
    """SimCLR's colour jitter without the colour: a random brightness and contrast.

    torchvision's ``ColorJitter(brightness, contrast)`` semantics, in that order: the
    image is scaled by ``b ~ U(1 - brightness, 1 + brightness)`` and clipped to [0, 1],
    then its deviations from its mean are scaled by ``c ~ U(1 - contrast, 1 + contrast)``
    (``dm_pix.adjust_contrast``), and clipped to [0, 1]. On grayscale images this is
    what is left of the colour distortion that Chen et al. found essential: without it
    two crops of one image are matched by their intensity histogram alone.

    Args:
      brightness: the scale's half-range, in [0, 1] (0: no change).
      contrast: the contrast factor's half-range, in [0, 1] (0: no change).

    References:
      Chen et al., SimCLR, ICML 2020, section 3 and appendix A.
    """

    brightness: float = 0.4
    contrast: float = 0.4

    def __post_init__(self):
        for name in ("brightness", "contrast"):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1] (a factor's half-range around 1); "
                                 f"got {value!r}.")

    def __call__(self, key: jax.Array, images) -> jax.Array:
        def one(key, image):
            factors = jax.random.uniform(key, (2,), image.dtype, -1.0, 1.0)
            image = jnp.clip(image * (1.0 + self.brightness * factors[0]), 0.0, 1.0)
            image = dm_pix.adjust_contrast(image, 1.0 + self.contrast * factors[1])
            return jnp.clip(image, 0.0, 1.0)

        return _batch.per_example(one, key, images)


@dataclasses.dataclass(frozen=True)
class GaussianNoise:
    """Adds ``N(0, std^2)`` noise to every pixel, clipped back to [0, 1].

    Args:
      std: the noise's standard deviation (0: identity).
    """

    std: float = 0.1

    def __post_init__(self):
        if not 0.0 <= float(self.std) < math.inf:
            raise ValueError(f"std must be a finite number >= 0; got {self.std!r}.")

    def __call__(self, key: jax.Array, images) -> jax.Array:
        def one(key, image):
            noisy = image + self.std * jax.random.normal(key, image.shape, image.dtype)
            return jnp.clip(noisy, 0.0, 1.0)

        return _batch.per_example(one, key, images)


@dataclasses.dataclass(frozen=True)
class RandomErasing:
    """Sets one random rectangle of every image to ``value`` (random erasing).

    The rectangle's area is ``s * h * w`` with ``s ~ U(scale)``, its aspect
    ``width / height = r`` with ``ln r ~ U(ln ratio)``, clipped to the image and
    placed uniformly where it fits (sides rounded to whole pixels).

    Args:
      scale: range of the erased area as a fraction of the image, in [0, 1]
        (``(0, 0)``: identity).
      ratio: range of the rectangle's aspect.
      value: the fill value in [0, 1].

    References:
      Zhong et al., Random Erasing Data Augmentation, AAAI 2020.
    """

    scale: tuple[float, float] = (0.02, 0.33)
    ratio: tuple[float, float] = (0.3, 3.3)
    value: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "scale", _batch.interval(self.scale, "scale", 0.0, 1.0))
        object.__setattr__(self, "ratio", _positive_interval(self.ratio, "ratio"))
        if not 0.0 <= float(self.value) <= 1.0:
            raise ValueError(f"value must be in [0, 1]; got {self.value!r}.")

    def __call__(self, key: jax.Array, images) -> jax.Array:
        def one(key, image):
            h, w, _ = image.shape
            if self.scale[1] == 0.0:
                return image
            top, left, box_h, box_w = crop_box(key, h, w, self.scale, self.ratio)
            box_h, box_w = jnp.round(box_h), jnp.round(box_w)
            top, left = jnp.floor(top), jnp.floor(left)
            rows = jnp.arange(h)[:, None, None]
            cols = jnp.arange(w)[None, :, None]
            inside = ((rows >= top) & (rows < top + box_h) & (cols >= left)
                      & (cols < left + box_w))
            return jnp.where(inside, jnp.asarray(self.value, image.dtype), image)

        return _batch.per_example(one, key, images)
