"""docs/quickstart.ipynb runs top to bottom (tiny profile, a cache of its own) in a fresh
kernel, and shows what docs/python.md says it shows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs" / "quickstart.ipynb"


def _text(cell) -> str:
    """A code cell's printed and displayed plain text."""
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def test_the_quickstart_notebook_runs(tmp_path, monkeypatch):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
        "commit the notebook without outputs"
    monkeypatch.setenv("TASKATTR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(  # taskattr from this checkout
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "'0.1.0'" in _text(code[0]) or "0+unknown" in _text(code[0])
    assert "9 53" in _text(code[1]) and "(12, 9) (12, 53) (12, 2, 53)" in _text(code[1])
    assert "kernel_sm" in _text(code[2]) and "LDS" in _text(code[2])
    assert "spearman" in _text(code[4]) and "linear_surrogate" in _text(code[4])
    assert "((200, 10), (10, 10))" in _text(code[5])
    assert (tmp_path / "cache" / "gt").is_dir() and not (tmp_path / "artifacts").exists()
