"""Ground-truth store: create, reopen, refuse mismatches, write/done/pending."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from benchmarks.common.cache import cache_root
from benchmarks.common.spec import SubsetDesign, TaskSpec, TrainSpec
from benchmarks.groundtruth.store import GroundTruthStore, StoreMismatchError
from benchmarks.groundtruth.subsets import build_rows

K = 4
N_TARGETS = 3
OUTPUTS = ("loss", "correct")


def _spec(**train) -> TaskSpec:
    return TaskSpec("toy", {"p": 5}, TrainSpec(**{"steps": 10, **train}),
                    SubsetDesign(alpha=0.5, n_fit=3, n_eval=3, n_seeds=2), "tiny")


def _open(spec: TaskSpec, path=None) -> GroundTruthStore:
    rows = build_rows(spec.design, K, spec.base_key)
    return GroundTruthStore.open(spec, rows, OUTPUTS, N_TARGETS, path)


def test_cache_root_reads_env_at_call_time(cache, monkeypatch):
    assert cache_root() == cache
    monkeypatch.setenv("TASKATTR_CACHE", str(cache / "other"))
    assert cache_root() == cache / "other"


def test_open_creates_layout(cache):
    """A fresh store has manifest, masks, one array per output and done flags, all zero."""
    spec = _spec()
    store = _open(spec)
    path = cache / "gt" / spec.key
    assert store.path == path
    for name in ("manifest.json", "masks.npy", "loss.npy", "correct.npy", "done.npy"):
        assert (path / name).exists(), name
    m = 1 + K + 3 + 3
    assert store.done.shape == (m, 2) and not store.done.any()
    assert store.array("loss").shape == (m, 2, N_TARGETS)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["task_key"] == spec.key and manifest["outputs"] == list(OUTPUTS)
    assert manifest["row_names"][0] == "full" and manifest["n_targets"] == N_TARGETS
    np.testing.assert_array_equal(np.load(path / "masks.npy"), store.rows.masks)
    assert not store.complete
    # no temporary folders left beside the store
    assert [p.name for p in path.parent.iterdir()] == [spec.key]


def test_reopen_same_spec_keeps_data(tmp_path):
    """Reopening with an equal spec works and sees earlier writes."""
    spec = _spec()
    store = _open(spec, tmp_path / "s")
    store.write(2, 1, {"loss": np.array([1.0, 2.0, 3.0]), "correct": np.array([1.0, 0.0, 1.0])})
    again = _open(_spec(), tmp_path / "s")
    np.testing.assert_array_equal(again.array("loss")[2, 1], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(again.array("correct")[2, 1], [1.0, 0.0, 1.0])
    assert again.done[2, 1] == 1 and int(again.done.sum()) == 1


def test_different_spec_at_same_path_is_refused_with_diff(tmp_path):
    """A store written for another spec raises StoreMismatchError naming the changed field."""
    _open(_spec(), tmp_path / "s")
    with pytest.raises(StoreMismatchError) as err:
        _open(_spec(steps=11), tmp_path / "s")
    msg = str(err.value)
    assert "train.steps: stored 10 != requested 11" in msg
    assert "refusing to reuse or overwrite" in msg
    # the original store is untouched
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["spec"]["train"]["steps"] == 10


def test_row_table_mismatch_is_refused(tmp_path):
    """Same spec but another row table (e.g. changed design code) is refused."""
    spec = _spec()
    _open(spec, tmp_path / "s")
    rows = build_rows(spec.design, K, spec.base_key)
    rows = replace(rows, names=rows.names[:-1] + ("fit/renamed",))
    with pytest.raises(StoreMismatchError, match="row table differs"):
        GroundTruthStore.open(spec, rows, OUTPUTS, N_TARGETS, tmp_path / "s")


def test_pending_write_done_semantics(tmp_path):
    """pending() lists undone (row, seed) pairs row-major; write() marks exactly one done."""
    store = _open(_spec(), tmp_path / "s")
    m = len(store.rows)
    assert store.pending() == [(j, r) for j in range(m) for r in range(2)]
    store.write(0, 1, {"loss": np.full(3, 0.5), "correct": np.ones(3)})
    pending = store.pending()
    assert (0, 1) not in pending and (0, 0) in pending and len(pending) == 2 * m - 1
    assert store.done[0, 1] == 1 and store.done[0, 0] == 0
    for j, r in pending:
        store.write(j, r, {"loss": np.full(3, float(j + r)), "correct": np.zeros(3)})
    assert store.pending() == [] and store.complete


def test_write_requires_every_output(tmp_path):
    """A write missing an output fails before marking the row done."""
    store = _open(_spec(), tmp_path / "s")
    with pytest.raises(KeyError):
        store.write(1, 0, {"loss": np.zeros(3)})
    assert store.done[1, 0] == 0


def test_mean_raises_until_role_finished_then_averages(tmp_path):
    """mean(name, role) needs every row of the role done; then it averages over seeds."""
    store = _open(_spec(), tmp_path / "s")
    idx = store.rows.index("eval")
    with pytest.raises(RuntimeError, match=r"6 eval models .* not trained yet"):
        store.mean("loss", "eval")
    for j in idx:
        store.write(j, 0, {"loss": np.array([1.0, 2.0, 3.0]) * j, "correct": np.zeros(3)})
    with pytest.raises(RuntimeError, match="3 eval models"):
        store.mean("loss", "eval")
    for j in idx:
        store.write(j, 1, {"loss": np.array([3.0, 2.0, 1.0]) * j, "correct": np.zeros(3)})
    mean = store.mean("loss", "eval")
    np.testing.assert_array_equal(mean, 2.0 * idx[:, None] * np.ones((1, 3)))
    with pytest.raises(RuntimeError, match="fit"):
        store.mean("loss", "fit")
