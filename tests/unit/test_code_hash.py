"""The code hash that decides when a cached record is recomputed covers the framework and the
methods: it is never the hash of nothing, and editing a method's source changes it."""

from __future__ import annotations

import hashlib
import shutil

from benchmarks.common import provenance

EMPTY = hashlib.sha256().hexdigest()[:16]


def test_the_hash_reads_the_sources():
    assert (provenance.REPO / "benchmarks" / "common" / "provenance.py").exists()
    assert (provenance.REPO / "methods").is_dir()
    provenance.code_hash.cache_clear()
    assert provenance.code_hash() != EMPTY


def test_editing_a_method_changes_the_hash(tmp_path, monkeypatch):
    for sub in ("benchmarks", "methods"):
        shutil.copytree(provenance.REPO / sub, tmp_path / sub,
                        ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(provenance, "REPO", tmp_path)
    provenance.code_hash.cache_clear()
    before = provenance.code_hash()
    method = tmp_path / "methods" / "kernel_sm.py"
    method.write_text(method.read_text() + "\n# edited\n")
    provenance.code_hash.cache_clear()
    try:
        assert provenance.code_hash() != before
    finally:
        provenance.code_hash.cache_clear()
