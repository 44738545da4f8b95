"""What decides the bits is recorded, compared and acted on: the store's manifest and every
results row carry it, a finished store from other settings warns, an unfinished one refuses to
mix, and with the math-library pins set the CPU model no longer counts."""

from __future__ import annotations

import json
import os

import pytest

from benchmarks.common import pins
from benchmarks.common.provenance import bit_differences, bit_provenance, bits_id, deciding
from benchmarks.common.spec import SubsetDesign, TaskSpec, TrainSpec
from benchmarks.groundtruth.store import (
    _WARNED,
    BitProvenanceWarning,
    GroundTruthStore,
    StoreMismatchError,
)
from benchmarks.groundtruth.subsets import build_rows

OUTPUTS = ("loss",)


def _spec() -> TaskSpec:
    return TaskSpec("toy", {"p": 5}, TrainSpec(steps=10),
                    SubsetDesign(alpha=0.5, n_fit=2, n_eval=3, n_seeds=1), "tiny")


def _open(path) -> GroundTruthStore:
    spec = _spec()
    return GroundTruthStore.open(spec, build_rows(spec.design, 4, spec.base_key), OUTPUTS, 2,
                                 path)


def _begun_elsewhere(path, finish: bool) -> None:
    """A store whose manifest says it was begun unpinned on an AVX-512 machine."""
    store = _open(path)
    for j, r in store.pending()[: None if finish else 1]:
        store.write(j, r, {"loss": [0.5, 0.25]})
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["bits"] |= {"torch_cpu_capability": "AVX512", "env": {}}
    (path / "manifest.json").write_text(json.dumps(manifest))
    _WARNED.discard(path)


def test_manifest_records_the_bit_provenance(tmp_path):
    _open(tmp_path / "s")
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["bits"] == json.loads(json.dumps(bit_provenance()))
    assert manifest["bits"]["env"] == pins.PINS  # the tests run pinned, like the CLI


def test_a_finished_store_from_other_settings_warns_naming_the_difference(tmp_path):
    _begun_elsewhere(tmp_path / "s", finish=True)
    with pytest.warns(BitProvenanceWarning, match="torch_cpu_capability: 'AVX512' -> 'AVX2'"):
        store = _open(tmp_path / "s")
    store.check_resumable()  # nothing left to train: reading it is allowed


def test_an_unfinished_store_from_other_settings_refuses_to_mix(tmp_path):
    _begun_elsewhere(tmp_path / "s", finish=False)
    store = _open(tmp_path / "s")
    before = (tmp_path / "s" / "loss.npy").read_bytes()
    with pytest.raises(StoreMismatchError, match="mix two machines' arithmetic"):
        store.check_resumable()
    assert (tmp_path / "s" / "loss.npy").read_bytes() == before


def test_pinned_bits_do_not_depend_on_the_cpu_model():
    here = bit_provenance()
    other_cpu = here | {"cpu": "Another CPU model", "isa": ["avx", "avx2", "fma"]}
    assert bit_differences(here, other_cpu) == []
    unpinned = {k: v for k, v in here.items()} | {"env": {}}
    assert "cpu" in deciding(unpinned) and "cpu" not in deciding(here)
    assert bit_differences(unpinned, unpinned | {"cpu": "Another CPU model"}) == [
        f"cpu: {here['cpu']!r} -> 'Another CPU model'"]


def test_bits_id_changes_with_the_ground_truths_bits():
    here = bit_provenance()
    assert bits_id(here) == bits_id(json.loads(json.dumps(here)))
    assert bits_id(here) != bits_id(here | {"torch": "2.0.0"})


def test_a_record_from_before_library_versions_has_no_difference():
    """Stores committed before ``libraries`` existed stay valid: the absent key is no
    difference, it is said as not recorded only beside a real one, and the digest of the
    results rows does not move."""
    here = bit_provenance()
    old = {k: v for k, v in here.items() if k != "libraries"}
    assert "scipy" in here["libraries"]  # a dependency: always installed, always recorded
    assert bit_differences(old, here) == []
    assert bit_differences(old | {"torch": "2.0.0"}, here) == [
        f"torch: '2.0.0' -> {here['torch']!r}", "libraries: not recorded"]
    assert bits_id(old) == bits_id(here)


def test_a_library_at_another_version_is_a_difference_naming_it():
    here = bit_provenance()
    other = here | {"libraries": here["libraries"] | {"scipy": "1.0.0"}}
    assert bit_differences(other, here) == [
        f"libraries.scipy: '1.0.0' -> {here['libraries']['scipy']!r}"]
    lacking = here | {"libraries": {"scipy": here["libraries"]["scipy"]}}
    assert bit_differences(lacking, here) == []  # not installed there: none of its bits


def test_a_store_begun_with_another_library_refuses_to_mix_naming_it(tmp_path):
    _open(tmp_path / "s")
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    manifest["bits"]["libraries"]["scipy"] = "1.0.0"
    (tmp_path / "s" / "manifest.json").write_text(json.dumps(manifest))
    store = _open(tmp_path / "s")
    with pytest.raises(StoreMismatchError, match=r"libraries\.scipy: '1\.0\.0' -> "):
        store.check_resumable()


def test_pins_set_only_what_the_user_left_unset(monkeypatch):
    for name in (*pins.PINS, pins.MARK):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")
    pins.apply()
    assert os.environ["MKL_CBWR"] == "COMPATIBLE"
    assert os.environ["ATEN_CPU_CAPABILITY"] == "avx2"


@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_native_math_opt_out_sets_nothing(monkeypatch, value):
    for name in (*pins.PINS, pins.MARK):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(pins.OPT_OUT, value)
    pins.apply()
    assert not any(name in os.environ for name in pins.PINS)


def test_a_child_asked_for_native_math_drops_the_parents_pins_only(monkeypatch):
    """A parent of the suite set the pins (and inherited them to the child's environment);
    the child opted out: the suite's pins go, a pin the user set stays."""
    for name in (*pins.PINS, pins.MARK):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")  # the user's
    pins.apply()  # the parent
    assert os.environ[pins.MARK] == "ATEN_CPU_CAPABILITY,ONEDNN_MAX_CPU_ISA,OPENBLAS_CORETYPE"
    monkeypatch.setenv(pins.OPT_OUT, "1")
    pins.apply()  # the child
    assert os.environ.get("MKL_CBWR") == "COMPATIBLE"
    assert not any(n in os.environ for n in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA",
                                               "OPENBLAS_CORETYPE", pins.MARK))
