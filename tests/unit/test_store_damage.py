"""A damaged store is refused, naming the file, never padded, reused or silently repaired.

Each case imitates what was reproduced against the first wave: a truncated array (numpy's
read-write map used to zero-pad it), another store's done flags or values copied in, NaN bytes,
a deleted file, an unreadable manifest or ``.npy`` header, a record cached from other ground
truth.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from benchmarks.common.fsio import CorruptFileError
from benchmarks.common.spec import SubsetDesign, TaskSpec, TrainSpec
from benchmarks.groundtruth.store import GroundTruthStore, StoreCorruptError
from benchmarks.groundtruth.subsets import build_rows

K, N_TARGETS, OUTPUTS = 4, 3, ("loss", "correct")


def _spec(steps: int = 10, n_fit: int = 2) -> TaskSpec:
    return TaskSpec("toy", {"p": 5}, TrainSpec(steps=steps),
                    SubsetDesign(alpha=0.5, n_fit=n_fit, n_eval=3, n_seeds=2), "tiny")


def _open(spec: TaskSpec, path) -> GroundTruthStore:
    return GroundTruthStore.open(spec, build_rows(spec.design, K, spec.base_key), OUTPUTS,
                                 N_TARGETS, path)


def _filled(spec: TaskSpec, path, offset: float = 0.0) -> GroundTruthStore:
    store = _open(spec, path)
    rng = np.random.default_rng(0)
    for j, r in store.pending():
        store.write(j, r, {"loss": rng.random(N_TARGETS) + offset,
                           "correct": rng.integers(0, 2, N_TARGETS).astype(float)})
    return store


def _truncate(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _nan_bytes(path) -> None:
    arr = np.load(path, mmap_mode="r+")
    arr[1, 0, 0] = np.nan
    arr.flush()


def _flip_value(path) -> None:
    arr = np.load(path, mmap_mode="r+")
    arr[2, 1, 1] += 1e-9
    arr.flush()


def _bad_header(path) -> None:
    data = bytearray(path.read_bytes())
    data[10:40] = b"{'descr': object, 'fortran_o"
    path.write_bytes(bytes(data))


def _bad_done(path) -> None:
    arr = np.load(path, mmap_mode="r+")
    arr[0, 0] = 7
    arr.flush()


DAMAGE = {
    "truncated loss.npy": ("loss.npy", _truncate, "truncated"),
    "truncated done.npy": ("done.npy", _truncate, "truncated|not a valid"),
    "NaN bytes in loss.npy": ("loss.npy", _nan_bytes, "checksums"),
    "one value changed": ("correct.npy", _flip_value, "checksums"),
    "corrupt .npy header": ("loss.npy", _bad_header, "header"),
    "done flag not 0/1": ("done.npy", _bad_done, "0/1"),
    "deleted done.npy": ("done.npy", lambda p: p.unlink(), "missing"),
    "deleted masks.npy": ("masks.npy", lambda p: p.unlink(), "missing"),
    "truncated manifest.json": ("manifest.json", _truncate, "manifest.json"),
    "truncated checks.npy": ("checks.npy", _truncate, "truncated|not a valid"),
    "deleted checks.npy": ("checks.npy", lambda p: p.unlink(), "missing"),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damaged_store_is_refused_naming_the_file(tmp_path, case):
    """Every kind of damage raises a CorruptFileError naming the file; nothing changes."""
    spec, path = _spec(), tmp_path / "s"
    _filled(spec, path)
    name, damage, why = DAMAGE[case]
    damage(path / name)
    before = {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}
    with pytest.raises(CorruptFileError, match=why) as err:
        _open(spec, path)
    assert name in str(err.value) or "checks.npy" in str(err.value)
    assert {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()} == before


def test_other_stores_values_copied_in_are_refused(tmp_path):
    """Another task's array of the same shape fails the checksums (bound to the task key)."""
    a, b = _spec(steps=10), _spec(steps=11)
    _filled(a, tmp_path / "a")
    _filled(b, tmp_path / "b", offset=1.0)
    for name in ("loss.npy", "correct.npy", "checks.npy"):
        shutil.copy(tmp_path / "b" / name, tmp_path / "a" / name)
    with pytest.raises(StoreCorruptError, match="checksums"):
        _open(a, tmp_path / "a")


def test_done_flags_of_a_smaller_store_are_refused(tmp_path):
    """``done.npy`` from a store with fewer rows no longer makes the open report it done."""
    small, big = _spec(n_fit=2), _spec(n_fit=3)
    _filled(small, tmp_path / "small")
    _open(big, tmp_path / "big")
    shutil.copy(tmp_path / "small" / "done.npy", tmp_path / "big" / "done.npy")
    with pytest.raises(StoreCorruptError, match="done.npy"):
        _open(big, tmp_path / "big")


def test_non_finite_values_are_never_marked_done(tmp_path):
    """A diverged model (NaN loss) raises instead of becoming ground truth."""
    store = _open(_spec(), tmp_path / "s")
    with pytest.raises(ValueError, match="non-finite loss"):
        store.write(0, 0, {"loss": np.array([np.nan, 1, 1]), "correct": np.ones(3)})
    assert not store.done[0, 0]


def test_store_without_checksums_is_refused_not_checksummed(tmp_path):
    """A store in the pre-checksum layout (no ``checks.npy``, no manifest ``checksums``) is
    refused: checksumming whatever it holds would bless edited values."""
    spec, path = _spec(), tmp_path / "s"
    _filled(spec, path)
    _flip_value(path / "correct.npy")
    (path / "checks.npy").unlink()
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["checksums"]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreCorruptError, match="manifest.json: a store written before row "):
        _open(spec, path)
    assert not (path / "checks.npy").exists()


def test_fingerprint_changes_with_the_ground_truth(tmp_path):
    """Results carry the store's fingerprint: it moves when any finished row changes."""
    spec, path = _spec(), tmp_path / "s"
    store = _filled(spec, path)
    before = store.fingerprint()
    assert _open(spec, path).fingerprint() == before
    store.done[0, 0] = 0
    store.done.flush()
    assert store.fingerprint() != before


def test_folder_that_is_not_a_store_is_not_written_into(tmp_path):
    """Creating a store refuses a non-empty folder without a manifest (never overwrite)."""
    path = tmp_path / "s"
    path.mkdir()
    (path / "notes.txt").write_text("mine")
    with pytest.raises(StoreCorruptError, match="not a complete ground-truth store"):
        _open(_spec(), path)
    assert (path / "notes.txt").read_text() == "mine"


def test_manifest_missing_keys_is_refused(tmp_path):
    spec, path = _spec(), tmp_path / "s"
    _filled(spec, path)
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["outputs"]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreCorruptError, match="outputs"):
        _open(replace(spec), path)


def test_deleted_checksums_of_a_checksummed_store_are_refused(tmp_path):
    """Only a store written before checksums existed gets them computed; deleting
    ``checks.npy`` of a newer store (to pass edited values) is refused."""
    spec, path = _spec(), tmp_path / "s"
    _filled(spec, path)
    _flip_value(path / "loss.npy")
    (path / "checks.npy").unlink()
    with pytest.raises(StoreCorruptError, match="checks.npy: missing"):
        _open(spec, path)
