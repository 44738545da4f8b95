"""Atomic files and folders, locks, and safe ``.npy`` opening: the one owner of how the suite
writes anything that another process (or a killed run) may read.

Every shared file is written to a temporary sibling and renamed into place, so a reader sees the
old or the new content, never half of it; read-modify-write tables hold an exclusive lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np


class CorruptFileError(RuntimeError):
    """A file on disk is damaged, truncated or not what its manifest says; never repaired
    silently."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    """``np.save`` through ``atomic_write_bytes``."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    atomic_write_bytes(path, buffer.getvalue())


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``<path>.lock`` for a read-modify-write of ``path``."""
    lock = Path(f"{path}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def make_temp_dir(path: Path) -> Path:
    """A fresh temporary sibling folder of ``path`` (``.NAME.pid<PID>.*.tmp``) for
    ``publish_dir``; temporary folders of killed runs are removed first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(path)
    return Path(tempfile.mkdtemp(prefix=f".{path.name}.pid{os.getpid()}.", suffix=".tmp",
                                 dir=path.parent))


def clean_stale_temps(path: Path) -> None:
    """Remove temporary sibling folders of ``path`` whose creating process no longer runs."""
    for tmp in path.parent.glob(f".{path.name}.pid*.tmp"):
        pid = tmp.name[len(path.name) + 5:].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def publish_dir(tmp: Path, path: Path, marker: str) -> None:
    """Rename a fully written temporary folder to ``path``; if a concurrent writer got there
    first (its ``marker`` file exists), drop this copy, else re-raise."""
    try:
        os.rename(tmp, path)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (path / marker).exists():
            raise


def open_npy(path: Path, shape: tuple[int, ...], dtype: np.dtype, mode: str = "r+"
             ) -> np.memmap:
    """Memory-map a ``.npy`` file after checking its header and size against what the caller
    expects; a missing, truncated, padded or mistyped file raises ``CorruptFileError`` (numpy's
    read-write map would silently zero-pad a short file)."""
    path = Path(path)
    if not path.exists():
        raise CorruptFileError(f"{path}: missing")
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            reader = {(1, 0): np.lib.format.read_array_header_1_0,
                      (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if reader is None:
                raise ValueError(f"unsupported .npy version {version}")
            got_shape, fortran, got_dtype = reader(fh)
            offset = fh.tell()
    except (ValueError, OSError, SyntaxError, EOFError) as err:
        raise CorruptFileError(f"{path}: not a valid .npy file ({err.__class__.__name__}: "
                               f"the header cannot be read)") from None
    want = np.dtype(dtype)
    if tuple(got_shape) != tuple(shape) or got_dtype != want or fortran:
        raise CorruptFileError(f"{path}: holds {got_dtype} {tuple(got_shape)}, expected {want} "
                               f"{tuple(shape)}")
    size, need = path.stat().st_size, offset + int(np.prod(shape)) * want.itemsize
    if size != need:
        raise CorruptFileError(f"{path}: {size} bytes on disk, expected {need} "
                               f"({'truncated' if size < need else 'trailing data'})")
    return np.lib.format.open_memmap(path, mode=mode)
