"""The layering rule of ARCHITECTURE.md, checked on the real import graph: no module imports a
layer above its own. Known debts are listed by name; the test fails on any new backwards import
and on a listed debt that no longer exists (so the list only shrinks)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("benchmarks", "methods", "leaderboard", "figures")

# Layers, lowest first: a module may import its own layer and those below it.
LAYERS = (
    ("base", ("benchmarks.fields", "benchmarks.schema", "benchmarks.fsio", "benchmarks.pins",
              "benchmarks.formulas", "benchmarks.tables",
              "benchmarks.provenance", "benchmarks.registry", "benchmarks.device")),
    ("core", ("benchmarks.spec", "benchmarks.engine", "benchmarks.hessian", "benchmarks.task",
              "benchmarks.grads", "benchmarks.method", "benchmarks.stage", "benchmarks.evaluation",
              "benchmarks.groundtruth", "benchmarks.oracles", "benchmarks.context",
              "benchmarks.metrics",
              "benchmarks.tasks", "benchmarks.runner")),
    ("methods", ("methods",)),
    ("outputs", ("leaderboard", "figures")),
    ("stages", ("benchmarks.stages",)),
    ("papers", ("benchmarks.papers",)),
    ("drivers", ("benchmarks.task_groups", "benchmarks.replicate", "benchmarks.commands",
                 "benchmarks.catalogue", "benchmarks.__main__", "benchmarks.perf",
                 "benchmarks")),
)
# Leaderboard and figures sit above the core only through files: of the benchmark code they
# may import the base layer alone.
OUTPUT_MAY_IMPORT = ("base", "outputs")

KNOWN_DEBTS: set[tuple[str, str]] = set()  # to be removed, not added to
KNOWN_CYCLES: set[frozenset[str]] = set()  # likewise


def layer_of(module: str) -> int:
    best, rank = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), i
    return rank


def imports(path: Path) -> set[str]:
    """Modules a file imports (absolute names; relative ones resolved), at any depth."""
    mod = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    pkg = mod.split(".")[:-1] if not mod.endswith("__init__") else mod.split(".")[:-1]
    out = set()
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for block in ast.walk(tree) if _is_type_checking(block)
                   for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in typing_only:  # annotations only: no runtime dependency
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(pkg[: len(pkg) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in out if m.split(".")[0] in PACKAGES}


def _is_type_checking(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def backwards_imports() -> set[tuple[str, str]]:
    found = set()
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            src = _module(path)
            s = layer_of(src)
            for dst in imports(path):
                d = layer_of(dst)
                if d < 0 or dst == src or dst.startswith(src + "."):
                    continue
                allowed = d <= s
                if LAYERS[s][0] == "outputs":
                    allowed = LAYERS[d][0] in OUTPUT_MAY_IMPORT
                if not allowed:
                    found.add((src, _owner(dst)))
    return found


def _owner(module: str) -> str:
    """An imported name may be a function (``a.b.f``): report the module that exists."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        cand = ROOT.joinpath(*parts[:n])
        if cand.with_suffix(".py").exists() or (cand / "__init__.py").exists():
            return ".".join(parts[:n])
    return module


def test_every_module_has_a_layer():
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            assert layer_of(_module(path)) >= 0, path


def test_no_backwards_import_beyond_the_listed_debts():
    found = backwards_imports()
    assert found - KNOWN_DEBTS == set(), "new backwards imports"
    assert KNOWN_DEBTS - found == set(), "a listed debt is gone: remove it from KNOWN_DEBTS"


def graph() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            src = _module(path)
            out[src] = {_owner(m) for m in imports(path)} - {src}
    return out


def cycles(g: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in g:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.add(frozenset(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_beyond_the_listed_ones():
    """Package ``__init__`` modules are left out: a package importing its own members is not
    a cycle between concepts."""
    g = {k: {m for m in v if not _is_package(m)} for k, v in graph().items()
         if not _is_package(k)}
    found = cycles(g)
    assert found - KNOWN_CYCLES == set(), "new import cycles"
    assert KNOWN_CYCLES - found == set(), "a listed cycle is gone: remove it from KNOWN_CYCLES"


def _is_package(module: str) -> bool:
    return (ROOT.joinpath(*module.split(".")) / "__init__.py").exists()
