"""One generic registry for methods, tasks, metrics, stages and papers, with discovery.

Adding a file under ``methods/`` (or ``benchmarks/tasks/``, ``benchmarks/metrics/``,
``benchmarks/stages/``, ``benchmarks/papers/``) is enough: discovery imports every module of
those packages, and their decorators register them. Methods, tasks and metrics are discovered
together; stages and papers (used by ``replicate`` only) each on first use of their registry.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """An unknown registry name; the message suggests the closest and lists the available
    ones."""

    def __str__(self) -> str:
        return str(self.args[0])

    @classmethod
    def of(cls, kind: str, name: str, available: list[str]) -> UnknownNameError:
        """``unknown KIND 'name'. Did you mean 'x'? Available: ...`` (no suggestion where
        nothing is close)."""
        close = difflib.get_close_matches(name, available, n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        avail = ", ".join(sorted(available)) or "(none)"
        return cls(f"unknown {kind} {name!r}.{hint} Available: {avail}")


class Registry(Generic[T]):
    """A name -> object mapping that refuses duplicates and explains unknown names."""

    def __init__(self, kind: str, packages: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.packages = packages  # discovered on first use, beside the shared plug-ins
        self._items: dict[str, T] = {}
        self._meta: dict[str, dict] = {}
        self._state = {"done": False, "running": False}

    def _discover(self) -> None:
        discover()
        if self.packages:
            _discover(self.packages, self._state)

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
        self._discover()
        if name not in self._items:
            raise UnknownNameError.of(self.kind, name, list(self._items))
        return self._items[name]

    def meta(self, name: str) -> dict:
        self.get(name)
        return self._meta[name]

    def names(self) -> list[str]:
        self._discover()
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        self._discover()
        return iter(sorted(self._items.items()))

    def __contains__(self, name: str) -> bool:
        self._discover()
        return name in self._items


METHODS: Registry = Registry("method")
TASKS: Registry = Registry("task")
METRICS: Registry = Registry("metric")
STAGES: Registry = Registry("stage", ("benchmarks.stages",))
PAPERS: Registry = Registry("paper", ("benchmarks.papers",))

register_method = METHODS.register
register_task = TASKS.register
register_metric = METRICS.register
register_stage = STAGES.register
register_paper = PAPERS.register

_PACKAGES = ("methods", "benchmarks.tasks", "benchmarks.metrics")
_state = {"done": False, "running": False}


class PluginImportError(ImportError):
    """A plug-in module failed to import: the registry would be silently partial."""


def discover() -> None:
    """Import every module of the plug-in packages once, so their decorators run. Discovery
    counts as done only after every plug-in imported; a failing one is an error naming it."""
    _discover(_PACKAGES, _state)


def _discover(packages: tuple[str, ...], state: dict) -> None:
    if state["done"] or state["running"]:
        return
    state["running"] = True
    try:
        for pkg_name in packages:
            pkg = importlib.import_module(pkg_name)
            for info in pkgutil.iter_modules(pkg.__path__):
                if not info.name.startswith("_"):
                    _import_plugin(f"{pkg_name}.{info.name}")
        state["done"] = True
    finally:
        state["running"] = False


def _import_plugin(name: str) -> None:
    try:
        importlib.import_module(name)
    except Exception as err:
        raise PluginImportError(f"plug-in {name} failed to import "
                                f"({err.__class__.__name__}: {err})") from err
