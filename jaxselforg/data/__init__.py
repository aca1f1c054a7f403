"""Datasets (Fashion-MNIST, MNIST, synthetic), preprocessing and on-device batching."""

from jaxselforg.data._idx import CorruptFileError, read_idx
from jaxselforg.data.batching import (
    epoch_batches,
    epoch_indices,
    scan_batches,
    sequential_batches,
)
from jaxselforg.data.loading import (
    CLASS_NAMES,
    DATASETS,
    SPLITS,
    DataUnavailableError,
    cache_dir,
    load,
)
from jaxselforg.data.preprocess import (
    PCA,
    binarize,
    dynamic_binarize,
    flatten,
    pca,
    pca_project,
    standardize,
    to_unit_range,
)
from jaxselforg.data.synthetic import blobs, ring, uniform_disc, uniform_square

__all__ = [
    "CLASS_NAMES",
    "DATASETS",
    "PCA",
    "SPLITS",
    "CorruptFileError",
    "DataUnavailableError",
    "binarize",
    "blobs",
    "cache_dir",
    "dynamic_binarize",
    "epoch_batches",
    "epoch_indices",
    "flatten",
    "load",
    "pca",
    "pca_project",
    "read_idx",
    "ring",
    "scan_batches",
    "sequential_batches",
    "standardize",
    "to_unit_range",
    "uniform_disc",
    "uniform_square",
]
