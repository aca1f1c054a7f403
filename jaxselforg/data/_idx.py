"""Reader for the IDX format of the MNIST family (http://yann.lecun.com/exdb/mnist/).

An IDX file is: two zero bytes, a type byte (0x08 = unsigned byte), a byte with the
number of dimensions, one big-endian int32 per dimension, then the values in C order.
The MNIST files are gzipped. Anything that does not fit raises ``CorruptFileError``
naming the file, never returns garbage.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib

import numpy as np

_UBYTE = 0x08


class CorruptFileError(ValueError):
    """A data file is corrupt, truncated, fails its checksum or is not valid IDX."""


def read_idx(path: str | os.PathLike, *, expected_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Reads an unsigned-byte IDX file (gzipped or not) into a uint8 array.

    Args:
      path: the file.
      expected_shape: if given, the dimensions the header must declare.

    Returns:
      uint8 array with the shape declared in the header.

    Raises:
      CorruptFileError: bad gzip stream, bad magic number, wrong type or dimensions,
        or a payload shorter or longer than the header declares.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise CorruptFileError(f"{path}: cannot decompress ({err}); the file is corrupt "
                             "or truncated. Delete it and fetch it again.") from err

    if len(raw) < 4:
        raise CorruptFileError(f"{path}: {len(raw)} bytes is too short for an IDX header.")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or ndim == 0:
        raise CorruptFileError(
            f"{path}: bad IDX magic number 0x{raw[:4].hex()} (expected 0x000008NN with "
            "NN the number of dimensions)."
        )
    if dtype_code != _UBYTE:
        raise CorruptFileError(
            f"{path}: IDX type code 0x{dtype_code:02x}; only unsigned bytes (0x08) are "
            "supported."
        )
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise CorruptFileError(f"{path}: header declares {ndim} dimensions but is truncated.")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    if expected_shape is not None and tuple(shape) != tuple(expected_shape):
        raise CorruptFileError(f"{path}: header declares shape {shape}; expected {expected_shape}.")
    n_values = int(np.prod(shape))
    payload = len(raw) - header_size
    if payload != n_values:
        raise CorruptFileError(
            f"{path}: header declares shape {shape} ({n_values} values) but the file "
            f"holds {payload}; it is truncated or corrupt."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)
