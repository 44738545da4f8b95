"""Optional dependencies (the package's extras): ``require`` imports one or refuses in one line
that names the extra to install, and ``guard_folders`` keeps a checkout's plain folders from
standing in for a library of the same name.

The repository's ``datasets/`` folder holds dataset cards (Markdown, no ``__init__.py``). With
the checkout on ``sys.path`` (``python -m`` from its root, pytest's ``pythonpath``), ``import
datasets`` finds that folder as an empty namespace package wherever Hugging Face ``datasets`` is
not installed, and the failure surfaces later as a missing attribute. Imported with the suite,
the guard makes such an import fail as if the library were absent, naming the extra. A leaf
module, imported by ``benchmarks/__init__``: it must not import numpy or torch.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importlib.abc alone costs 10 ms of every start-up
    from importlib.machinery import ModuleSpec

FOLDERS = {"datasets": "images"}  # top-level names a checkout folder shadows -> their extra


def install_hint(extra: str) -> str:
    return f"pip install 'taskattr[{extra}]'"


class FolderGuard:
    """A ``sys.meta_path`` finder refusing ``names`` (name -> extra) that resolve to a namespace
    package: a plain folder on ``sys.path``, never the library of that name."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = dict(names)

    def find_spec(self, name: str, path=None, target=None) -> ModuleSpec | None:
        if path is not None or name not in self.names:
            return None
        spec = self._found_by_others(name)
        if spec is not None and spec.origin is None and spec.submodule_search_locations:
            where = ", ".join(dict.fromkeys(spec.submodule_search_locations))
            raise ModuleNotFoundError(
                f"No module named {name!r} (only the folder {where}, which is not the library); "
                f"{install_hint(self.names[name])}", name=name)
        return None  # the import goes on as usual

    def _found_by_others(self, name: str) -> ModuleSpec | None:
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, FolderGuard):
                continue
            spec = getattr(finder, "find_spec", lambda *a: None)(name, None)
            if spec is not None:
                return spec
        return None


def guard_folders(names: dict[str, str] | None = None) -> FolderGuard:
    """Put one ``FolderGuard`` first on ``sys.meta_path`` (once per process)."""
    for finder in sys.meta_path:
        if isinstance(finder, FolderGuard) and names is None:
            return finder
    guard = FolderGuard(FOLDERS if names is None else names)
    sys.meta_path.insert(0, guard)
    return guard


def require(module: str, extra: str, what: str) -> ModuleType:
    """``module`` imported, or ``MissingExtraError`` (one line) naming ``extra``: ``what``
    says what needs it."""
    from benchmarks.common.spec import MissingExtraError

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingExtraError(f"{what} needs {module} ({err.__class__.__name__}); "
                                f"{install_hint(extra)}") from None
