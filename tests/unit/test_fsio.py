"""``benchmarks.common.fsio``'s writers: files and folders get the permissions of the process
umask (not ``tempfile``'s private 0600/0700), and a failed write names the file it was
writing."""

from __future__ import annotations

import errno
import os
import stat

import numpy as np
import pytest

from benchmarks.common import fsio


@pytest.fixture(params=[0o022, 0o077, 0o002])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_files_get_the_umask_permissions(tmp_path, umask):
    """Was 0600 whatever the umask: a web server or another user's worker could not read it."""
    fsio.atomic_write_text(tmp_path / "a.json", "{}")
    fsio.atomic_save_npy(tmp_path / "sub" / "b.npy", np.zeros(3))
    assert _mode(tmp_path / "a.json") == 0o666 & ~umask
    assert _mode(tmp_path / "sub" / "b.npy") == 0o666 & ~umask
    assert (tmp_path / "a.json").read_text() == "{}"
    assert not list(tmp_path.glob(".*.tmp"))


def test_replacing_a_file_keeps_the_umask_permissions(tmp_path, umask):
    path = tmp_path / "t.csv"
    path.write_text("old")
    os.chmod(path, 0o600)
    fsio.atomic_write_text(path, "new")
    assert path.read_text() == "new" and _mode(path) == 0o666 & ~umask


def test_temporary_and_published_folders_get_the_umask_permissions(tmp_path, umask):
    """Was 0700 (mkdtemp): a published store folder stayed private whatever the umask."""
    target = tmp_path / "store"
    tmp = fsio.make_temp_dir(target)
    assert tmp.name.startswith(f".store.pid{os.getpid()}.") and tmp.name.endswith(".tmp")
    assert _mode(tmp) == 0o777 & ~umask
    (tmp / "marker").write_text("x")
    fsio.publish_dir(tmp, target, "marker")
    assert _mode(target) == 0o777 & ~umask


def _full_disk(real):
    """``os.write`` that fails like a full disk on the writers' temporary files only."""

    def write(fd: int, data) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    return write


def test_a_full_disk_names_the_file_and_leaves_nothing(tmp_path, monkeypatch):
    """ENOSPC from a write carries no file name: the error said only 'No space left on
    device'. Now it names the file being written; the old content and no temporary remain."""
    path = tmp_path / "results.csv"
    path.write_text("kept")
    monkeypatch.setattr(os, "write", _full_disk(os.write))
    with pytest.raises(OSError) as caught:
        fsio.atomic_write_text(path, "new")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(path)
    assert path.read_text() == "kept" and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("make", [
    lambda parent: fsio.atomic_write_text(parent / "sub" / "x.json", "{}"),
    lambda parent: fsio.make_temp_dir(parent / "sub" / "store"),
])
def test_an_unwritable_place_names_the_path(tmp_path, make):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(OSError) as caught:
        make(afile)
    assert str(afile) in str(caught.value.filename)
    assert afile.read_text() == "x"
