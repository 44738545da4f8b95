"""docs/python.md runs as written: its session is a doctest (tiny profile, its own cache), so
every output it shows is what the code gives."""

from __future__ import annotations

import doctest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_python_page_is_a_passing_doctest(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKATTR_CACHE", str(tmp_path))
    monkeypatch.setenv("TQDM_DISABLE", "1")
    result = doctest.testfile(str(ROOT / "docs" / "python.md"), module_relative=False,
                              optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted >= 20 and result.failed == 0, result
