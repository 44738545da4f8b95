"""Atomic files and folders, locks, and safe ``.npy`` opening: the one owner of how the suite
writes anything that another process (or a killed run) may read.

Every shared file is written to a temporary sibling and renamed into place, so a reader sees the
old or the new content, never half of it; read-modify-write tables hold an exclusive lock. Files
and folders get the permissions the process umask gives (as ``open`` and ``mkdir`` would), not
``tempfile``'s private 0600/0700, so a web server or another user's worker can read what the
umask lets them; a failed write names the file it was writing.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np

T = TypeVar("T")


class CorruptFileError(RuntimeError):
    """A file on disk is damaged, truncated or not what its manifest says; never repaired
    silently."""


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename; any OSError
    (a full disk, no permission) is raised naming ``path``."""
    path, tmp = Path(path), None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp, fd = _fresh(path.parent, f".{path.name}.", lambda p: os.open(p, _NEW_FILE, 0o666))
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        if isinstance(err, OSError):
            raise _naming(err, path) from err
        raise


def _write_all(fd: int, data: bytes) -> None:
    """All of ``data`` to ``fd`` (``os.write`` may write less than it was given)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fresh(parent: Path, prefix: str, create: Callable[[str], T]) -> tuple[Path, T]:
    """``parent/<prefix><random>.tmp`` and what ``create(path)`` returned; ``create`` refuses an
    existing name and asks for mode 0666/0777, so the umask alone decides the permissions."""
    for _ in range(100):
        tmp = parent / f"{prefix}{secrets.token_hex(6)}.tmp"
        try:
            return tmp, create(str(tmp))
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(parent))


def _naming(err: OSError, path: Path) -> OSError:
    """``err`` as the same kind of OSError, naming ``path`` (ENOSPC from a write names none)."""
    return OSError(err.errno, err.strerror or str(err), str(path)) if err.errno else \
        OSError(f"{path}: {err}")


def reserve_blocks(path: Path) -> None:
    """Allocate a file's disk blocks now: a write through a memory map into a sparse file on a
    full disk kills the process (SIGBUS, no message); here a full disk is an OSError naming the
    file. A file system without ``posix_fallocate`` is left as it is."""
    with open(path, "r+b") as fh:
        try:
            os.posix_fallocate(fh.fileno(), 0, os.fstat(fh.fileno()).st_size)
        except OSError as err:
            if err.errno in (errno.EOPNOTSUPP, errno.EINVAL):
                return
            raise _naming(err, path) from None


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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(path)
        return _fresh(path.parent, f".{path.name}.pid{os.getpid()}.",
                      lambda p: os.mkdir(p, 0o777))[0]
    except OSError as err:
        raise _naming(err, path) from None


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
