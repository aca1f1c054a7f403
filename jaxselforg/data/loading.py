"""Fashion-MNIST and MNIST: fetch, verify, parse, cache.

The canonical gzipped IDX files are fetched through tensorflow-datasets'
``DownloadManager`` with the checksums tfds registers for these datasets: it
downloads, verifies the SHA-256 and caches, and it takes files already present in a
*manual directory* (after checking their checksums) without touching the network.
TensorFlow itself is never imported.

Where the files come from, first match wins:

1. ``data_dir`` passed to :func:`load` (the folder holding the four ``.gz`` files);
2. ``$JAXSELFORG_DATA_DIR/<name>``;
3. ``$JAXSELFORG_CACHE_DIR/<name>`` (default ``~/.cache/jaxselforg/<name>``), filled by
   a download on first use.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import socket
import threading
import urllib.parse
import urllib.request

import numpy as np

from jaxselforg import _validation
from jaxselforg.data._idx import CorruptFileError, read_idx

__all__ = ["CLASS_NAMES", "DATASETS", "SPLITS", "DataUnavailableError", "cache_dir", "load"]

DATASETS = ("fashion_mnist", "mnist")
SPLITS = ("train", "test")
CLASS_NAMES = {
    "fashion_mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    "mnist": tuple(str(digit) for digit in range(10)),
}
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60_000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10_000),
}
_CACHE: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = {}
_CACHE_LOCK = threading.Lock()


class DataUnavailableError(RuntimeError):
    """The dataset files are neither on disk nor downloadable."""


def cache_dir() -> pathlib.Path:
    """The library's cache folder: ``$JAXSELFORG_CACHE_DIR``, default
    ``~/.cache/jaxselforg`` (downloaded datasets, the reference classifier)."""
    default = pathlib.Path.home() / ".cache" / "jaxselforg"
    return pathlib.Path(os.environ.get("JAXSELFORG_CACHE_DIR", default)).expanduser()


def _manual_dir(name: str, data_dir: str | os.PathLike | None) -> tuple[pathlib.Path, bool]:
    """The folder to look in, and whether it is our own download cache."""
    if data_dir is not None:
        return pathlib.Path(data_dir).expanduser(), False
    if os.environ.get("JAXSELFORG_DATA_DIR"):
        return pathlib.Path(os.environ["JAXSELFORG_DATA_DIR"]).expanduser() / name, False
    return cache_dir() / name, True


def _registered_urls(name: str) -> dict[str, object]:
    """tfds' registered ``{url: UrlInfo(size, checksum, filename)}`` for the dataset."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.download import checksums

    registry = pathlib.Path(tfds.__file__).parent / "url_checksums" / f"{name}.txt"
    return checksums.load_url_infos(registry)


def _unavailable(name: str, manual_dir: pathlib.Path, missing: list[str], reason: str):
    return DataUnavailableError(
        f"Cannot get {name}: {', '.join(missing)} not found in {manual_dir} and the "
        f"download failed ({reason}). Fix one of:\n"
        "  1. connect to the internet (the files are downloaded and verified once);\n"
        f"  2. pass data_dir=... to jaxselforg.data.load, a folder holding {', '.join(missing)};\n"
        f"  3. set JAXSELFORG_DATA_DIR to a folder with a '{name}' subfolder holding them."
    )


def _reachable(url: str, timeout: float = 5.0) -> bool:
    """Fast check that the download host answers, so offline machines fail in seconds.

    Behind a proxy we cannot tell; let the real download decide.
    """
    if urllib.request.getproxies():
        return True
    parsed = urllib.parse.urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def _fetch(name: str, filenames: tuple[str, ...], data_dir) -> dict[str, pathlib.Path]:
    """Local, checksum-verified paths of ``filenames`` for dataset ``name``."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.download import download_manager

    manual_dir, is_cache = _manual_dir(name, data_dir)
    url_infos = _registered_urls(name)
    urls = {info.filename: url for url, info in url_infos.items() if info.filename in filenames}
    missing = [f for f in filenames if not (manual_dir / f).exists()]
    if missing and not _reachable(urls[missing[0]]):
        raise _unavailable(name, manual_dir, missing, "the download host is unreachable")

    tfds.disable_progress_bar()
    manager = download_manager.DownloadManager(
        download_dir=cache_dir() / "downloads",
        manual_dir=manual_dir if manual_dir.exists() else None,
        url_infos=url_infos,
        force_checksums_validation=True,
    )
    try:
        paths = manager.download(urls)
    except download_manager.NonMatchingChecksumError as err:
        raise CorruptFileError(
            f"{name}: a file does not match the checksum tensorflow-datasets registers for "
            f"it; it is corrupt or not the published file. Replace it.\n{err}"
        ) from err
    except OSError as err:  # requests' errors are OSErrors too
        raise _unavailable(name, manual_dir, missing, str(err)) from err

    paths = {filename: pathlib.Path(os.fspath(path)) for filename, path in paths.items()}
    if is_cache:
        # Keep a plainly named copy so later calls work offline without tfds' cache.
        manual_dir.mkdir(parents=True, exist_ok=True)
        for filename in missing:
            shutil.copyfile(paths[filename], manual_dir / filename)
    return paths


def load(
    name: str, split: str = "train", *, data_dir: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Loads Fashion-MNIST or MNIST as numpy arrays.

    The parsed arrays are cached in memory (read-only), so a second call costs nothing.

    Args:
      name: ``"fashion_mnist"`` or ``"mnist"``.
      split: ``"train"`` (60,000 images) or ``"test"`` (10,000).
      data_dir: folder holding the four canonical ``.gz`` IDX files; defaults to
        ``$JAXSELFORG_DATA_DIR/<name>``, else a download cache (module docstring).

    Returns:
      ``(images, labels)``: uint8 ``[n, 28, 28]`` and int32 ``[n]`` in 0..9.

    Raises:
      ValueError: unknown ``name`` or ``split``.
      DataUnavailableError: files absent and no download possible.
      CorruptFileError: a file fails its checksum or is not valid IDX.
    """
    _validation.choice(name, DATASETS, "dataset name")
    _validation.choice(split, SPLITS, "split")
    manual_dir, _ = _manual_dir(name, data_dir)
    key = (name, split, str(manual_dir.resolve()))
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]

        image_file, label_file, n = _FILES[split]
        paths = _fetch(name, (image_file, label_file), data_dir)
        images = read_idx(paths[image_file], expected_shape=(n, 28, 28))
        labels = read_idx(paths[label_file], expected_shape=(n,))
        if labels.max() > 9:
            raise CorruptFileError(f"{paths[label_file]}: label {labels.max()} outside 0..9.")
        labels = labels.astype(np.int32)
        images.flags.writeable = False
        labels.flags.writeable = False
        _CACHE[key] = (images, labels)
        return images, labels
