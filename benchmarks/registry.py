"""One generic registry for methods, tasks and metrics, with discovery.

Adding a file under ``methods/`` (or ``benchmarks/tasks/``, ``benchmarks/metrics/``) is enough:
``discover()`` imports every module of those packages, and their decorators register them.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """An unknown registry name; the message lists the available ones."""

    def __str__(self) -> str:
        return str(self.args[0])


class Registry(Generic[T]):
    """A name -> object mapping that refuses duplicates and explains unknown names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._meta: dict[str, dict] = {}

    def register(self, name: str, **meta) -> Callable[[T], T]:
        """Decorator: register ``obj`` under ``name`` (duplicates raise)."""

        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj
            self._meta[name] = dict(meta)
            if isinstance(obj, type):
                obj.registry_name = name  # type: ignore[attr-defined]
            return obj

        return deco

    def get(self, name: str) -> T:
        """Return the object registered as ``name``; unknown names list what is available."""
        discover()
        if name not in self._items:
            avail = ", ".join(sorted(self._items)) or "(none)"
            raise UnknownNameError(f"unknown {self.kind} {name!r}. Available: {avail}")
        return self._items[name]

    def meta(self, name: str) -> dict:
        self.get(name)
        return self._meta[name]

    def names(self) -> list[str]:
        discover()
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        discover()
        return iter(sorted(self._items.items()))

    def __contains__(self, name: str) -> bool:
        discover()
        return name in self._items


METHODS: Registry = Registry("method")
TASKS: Registry = Registry("task")
METRICS: Registry = Registry("metric")

register_method = METHODS.register
register_task = TASKS.register
register_metric = METRICS.register

_PACKAGES = ("methods", "benchmarks.tasks", "benchmarks.metrics")
_state = {"done": False, "running": False}


class PluginImportError(ImportError):
    """A plug-in module failed to import: the registry would be silently partial."""


def discover() -> None:
    """Import every module of the plug-in packages once, so their decorators run. Discovery
    counts as done only after every plug-in imported; a failing one is an error naming it."""
    if _state["done"] or _state["running"]:
        return
    _state["running"] = True
    try:
        for pkg_name in _PACKAGES:
            pkg = importlib.import_module(pkg_name)
            for info in pkgutil.iter_modules(pkg.__path__):
                if not info.name.startswith("_"):
                    _import_plugin(f"{pkg_name}.{info.name}")
        _state["done"] = True
    finally:
        _state["running"] = False


def _import_plugin(name: str) -> None:
    try:
        importlib.import_module(name)
    except Exception as err:
        raise PluginImportError(f"plug-in {name} failed to import "
                                f"({err.__class__.__name__}: {err})") from err
