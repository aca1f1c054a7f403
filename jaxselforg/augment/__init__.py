"""On-device data augmentation: key-driven, per-example, fixed-shape image transforms.

Each transform is ``t(key, images) -> images`` on a batch ``[n, h, w]`` (or
``[n, h, w, c]``) in [0, 1]: deterministic for a key, different for every example,
jit- and vmap-able, so it runs inside the training step with the step's key (and a
resumed run draws the same augmentations). ``Compose`` chains them with per-example
probabilities::

    pipeline = augment.Compose([augment.RandomResizedCrop(scale=(0.3, 1.0)),
                                (augment.HorizontalFlip(), 0.5)])   # Fashion-MNIST only
    views_a, views_b = augment.simclr_views(pipeline, key, images)
"""

from jaxselforg.augment.pipeline import Compose, simclr_views
from jaxselforg.augment.transforms import (
    BrightnessContrast,
    GaussianNoise,
    HorizontalFlip,
    RandomErasing,
    RandomResizedCrop,
    RandomShift,
    crop_box,
    resized_crop,
)

__all__ = [
    "BrightnessContrast",
    "Compose",
    "GaussianNoise",
    "HorizontalFlip",
    "RandomErasing",
    "RandomResizedCrop",
    "RandomShift",
    "crop_box",
    "resized_crop",
    "simclr_views",
]
