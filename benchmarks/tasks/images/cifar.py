"""Reading CIFAR-10 in its official layouts: the python pickle batches
(``cifar-10-batches-py/``), the binary batches (``cifar-10-batches-bin/``), or either
``.tar.gz`` archive read in place (nothing is extracted).

Checksums: the authors' md5 of each python batch and of each archive (the values every
loader of the field pins); binary batches, which have no published per-file md5, are checked
by their exact size (10,000 records of 1 label byte + 3,072 pixel bytes). Pickles are read
with an unpickler that admits only numpy arrays and plain containers.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.common.fsio import CorruptFileError

PY_DIR, BIN_DIR = "cifar-10-batches-py", "cifar-10-batches-bin"
PY_MD5 = {"data_batch_1": "c99cafc152244af753f735de768cd75f",
          "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
          "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
          "data_batch_4": "634d18415352ddfa80567beed471001a",
          "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
          "test_batch": "40351d587109b95175f43aff81a1287e"}
ARCHIVE_MD5 = {"cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a",
               "cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530"}
TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
TEST = ["test_batch"]
PIXELS = 3 * 32 * 32
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class _ArraysOnly(pickle.Unpickler):
    """Admits numpy's array reconstruction and nothing else that could run code."""

    ALLOWED = {(m, n) for m in ("numpy.core.multiarray", "numpy._core.multiarray")
               for n in ("_reconstruct", "scalar")} | {
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        return super().find_class(module, name)


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def parse_python_batch(data: bytes, name: str, pinned: str | None) -> tuple[np.ndarray, np.ndarray]:
    """``(images (n, 3, 32, 32) uint8, labels (n,) int64)`` of one pickle batch."""
    if pinned is not None and md5(data) != pinned:
        raise CorruptFileError(f"{name}: md5 {md5(data)} does not match the pinned {pinned}")
    try:
        batch = _ArraysOnly(io.BytesIO(data), encoding="bytes").load()
        images = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as err:
        raise CorruptFileError(f"{name}: not a CIFAR-10 python batch (a dict with b'data' "
                               f"(n, 3072) and b'labels'): {err}") from None
    if images.ndim != 2 or images.shape[1] != PIXELS or len(labels) != len(images):
        raise CorruptFileError(f"{name}: data must be (n, {PIXELS}) with n labels, got "
                               f"{images.shape} and {len(labels)} labels")
    return _checked(images.reshape(-1, 3, 32, 32), labels, name)


def parse_binary_batch(data: bytes, name: str, n_records: int | None = 10_000
                       ) -> tuple[np.ndarray, np.ndarray]:
    """One binary batch: records of 1 label byte + 3,072 pixel bytes."""
    record = 1 + PIXELS
    if len(data) % record or (n_records is not None and len(data) != n_records * record):
        raise CorruptFileError(f"{name}: {len(data)} bytes is not "
                               f"{n_records or 'n'} records of {record} bytes")
    rows = np.frombuffer(data, dtype=np.uint8).reshape(-1, record)
    return _checked(rows[:, 1:].reshape(-1, 3, 32, 32), rows[:, 0].astype(np.int64), name)


def _checked(images: np.ndarray, labels: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise CorruptFileError(f"{name}: labels must be 0..9, got {labels.min()}..{labels.max()}")
    return images, labels


def _batches(read: Callable[[str], bytes | None], python: bool, strict: bool) -> Arrays:
    """Train and test arrays from a reader of member names (None: missing)."""
    out = []
    for names in (TRAIN, TEST):
        parts = []
        for n in names:
            member = n if python else f"{n}.bin"
            data = read(member)
            if data is None:
                raise CorruptFileError(f"CIFAR-10: {member} is missing")
            parts.append(parse_python_batch(data, member, PY_MD5[n] if strict else None)
                         if python else parse_binary_batch(data, member,
                                                           10_000 if strict else None))
        out += [np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])]
    return out[0], out[1], out[2], out[3]


def read_folder(folder: Path, strict: bool = True) -> Arrays:
    """CIFAR-10 from ``folder`` holding ``cifar-10-batches-py/``, ``cifar-10-batches-bin/`` or
    one of the archives (``strict=False``: no pins, any batch size; for test fixtures)."""
    for layout, python in ((PY_DIR, True), (BIN_DIR, False)):
        if (folder / layout).is_dir():
            def read(name: str, base: Path = folder / layout) -> bytes | None:
                path = base / name
                return path.read_bytes() if path.is_file() else None
            return _batches(read, python, strict)
    for archive in ARCHIVE_MD5:
        if (folder / archive).is_file():
            return read_archive(folder / archive, strict)
    raise FileNotFoundError(f"{folder}: no {PY_DIR}/, {BIN_DIR}/ or "
                            f"{' / '.join(ARCHIVE_MD5)}")


def read_archive(path: Path, strict: bool = True) -> Arrays:
    """CIFAR-10 from an official ``.tar.gz``, read member by member in place."""
    data = path.read_bytes()
    pinned = ARCHIVE_MD5.get(path.name)
    if strict and pinned is not None and md5(data) != pinned:
        raise CorruptFileError(f"{path}: md5 {md5(data)} does not match the pinned {pinned}")
    try:
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")
    except (tarfile.TarError, EOFError, OSError) as err:
        raise CorruptFileError(f"{path}: not a readable .tar.gz ({err})") from None
    with tar:
        members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
        python = any(n in members for n in PY_MD5)

        def read(name: str) -> bytes | None:
            m = members.get(name)
            f = tar.extractfile(m) if m is not None else None
            return f.read() if f is not None else None

        return _batches(read, python, strict)
