"""Optional dependencies: a plain folder of a library's name (the checkout's ``datasets/``
cards) never stands in for the library, and a missing extra is refused in one line naming it."""

from __future__ import annotations

import importlib
import sys

import pytest

from benchmarks.common.extras import FolderGuard, require
from benchmarks.common.spec import MissingExtraError


@pytest.fixture
def guarded(tmp_path, monkeypatch):
    """``tmp_path`` on ``sys.path`` holding a card folder ``cards_only`` (no Python) and a
    package ``real_lib``, both guarded for the extra ``images``."""
    (tmp_path / "cards_only").mkdir()
    (tmp_path / "cards_only" / "card.md").write_text("# a dataset card\n")
    (tmp_path / "real_lib").mkdir()
    (tmp_path / "real_lib" / "__init__.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    guard = FolderGuard({"cards_only": "images", "real_lib": "images"})
    monkeypatch.setattr(sys, "meta_path", [guard, *sys.meta_path])
    for name in ("cards_only", "real_lib"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return tmp_path


def test_a_card_folder_is_not_the_library(guarded):
    with pytest.raises(ModuleNotFoundError, match=r"taskattr\[images\]") as err:
        importlib.import_module("cards_only")
    assert err.value.name == "cards_only" and "\n" not in str(err.value)
    assert importlib.import_module("real_lib").VALUE == 1  # only the folder is refused


def test_a_real_package_of_a_guarded_name_imports(guarded):
    assert importlib.import_module("real_lib").VALUE == 1


def test_require_names_the_extra_in_one_line(guarded):
    with pytest.raises(MissingExtraError) as err:
        require("cards_only", "images", "reading a parquet export")
    text = str(err.value)
    assert "pip install 'taskattr[images]'" in text and "\n" not in text
    assert require("real_lib", "images", "anything").VALUE == 1


def test_hugging_face_datasets_is_the_library_or_absent():
    """With the suite imported, ``datasets`` is Hugging Face's, or refused naming the extra:
    never the checkout's card folder (whose missing attributes failed test_images)."""
    try:
        import datasets
    except ImportError as err:
        assert "taskattr[images]" in str(err) or "datasets" in str(err)
        return
    assert datasets.__file__ is not None and hasattr(datasets, "load_dataset")
