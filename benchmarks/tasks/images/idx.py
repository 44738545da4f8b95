"""Reading the standard IDX files of MNIST and Fashion-MNIST (``.gz`` or decompressed).

An IDX file is a big-endian header (two zero bytes, a type byte, the number of dimensions,
then one 4-byte size per dimension) followed by the array. Each file's checksum is pinned on
its *decompressed* bytes (a repacked ``.gz``, as Debian ships, changes only the wrapper), so
the same pin checks a ``.gz``, a raw file, and the IDX bytes rebuilt from another source.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import zlib
from pathlib import Path

import numpy as np

from benchmarks.common.fsio import CorruptFileError

UBYTE = 0x08
SPLITS = {"train": "train", "test": "t10k"}
PARTS = {"images": "images-idx3-ubyte", "labels": "labels-idx1-ubyte"}


def file_name(split: str, part: str) -> str:
    """``train-images-idx3-ubyte`` etc. (the standard names, without ``.gz``)."""
    return f"{SPLITS[split]}-{PARTS[part]}"


def find(folder: Path, split: str, part: str) -> Path | None:
    """The file of (split, part) in ``folder``, raw or ``.gz``; None when neither exists."""
    name = file_name(split, part)
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_bytes(path: Path) -> bytes:
    """The decompressed bytes of ``path`` (a truncated or damaged ``.gz`` is refused)."""
    try:
        data = path.read_bytes()
        return gzip.decompress(data) if path.suffix == ".gz" else data
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise CorruptFileError(f"{path}: cannot be read ({err.__class__.__name__}: {err}); "
                               f"replace it with a complete copy") from None


def parse(data: bytes, name: str) -> np.ndarray:
    """The uint8 array an IDX byte string holds; a bad header or a size that does not match
    the header is refused naming ``name``."""
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != UBYTE:
        raise CorruptFileError(f"{name}: not an unsigned-byte IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise CorruptFileError(f"{name}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    if len(data) - header != int(np.prod(shape)):
        raise CorruptFileError(f"{name}: holds {len(data) - header} bytes of data, the header "
                               f"says {shape} (truncated or padded file)")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def encode(array: np.ndarray) -> bytes:
    """The IDX bytes of a uint8 array (the inverse of ``parse``)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return (bytes([0, 0, UBYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            + array.tobytes())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verified(data: bytes, want: str | None, name: str) -> np.ndarray:
    """``parse(data)`` after checking its sha256 against ``want`` (None: not pinned)."""
    if want is not None and sha256(data) != want:
        raise CorruptFileError(f"{name}: sha256 {sha256(data)[:16]}... does not match the "
                               f"pinned {want[:16]}... (a corrupt file or another data set)")
    return parse(data, name)
