"""What is registered, in words: ``list`` (one line per entry) and ``describe NAME`` (every field
of a method, task or stage with its type, default, rule and help; a metric's variants; a paper's
cells; a profile: what it is for, its cells, measured time and the extras its tasks import)."""

from __future__ import annotations

import ast
import contextlib
import csv
import functools
import importlib.util
import inspect
import json
import re
import textwrap
from pathlib import Path

from benchmarks.api.registry import METHODS, METRICS, PAPERS, STAGES, TASKS, UnknownNameError
from benchmarks.common.cache import cache_root
from benchmarks.common.fields import describe
from benchmarks.common.fsio import atomic_write_text
from benchmarks.common.provenance import code_hash
from benchmarks.common.schema import PROFILES

CATALOGUE = "catalogue"  # <cache>/catalogue/<code hash>.json: the ``list`` entries of that code
KINDS = ("methods", "tasks", "metrics", "stages", "papers")
WIDTH = 100  # columns of the wrapped lines
ROOT = Path(__file__).resolve().parents[1]  # the checkout: pyproject.toml, leaderboard/
TIMINGS = ROOT / "leaderboard" / "timings.csv"
TASK_CODE = "benchmarks.tasks"  # a task's code: the modules of this package its module imports

# docs/running/profiles.md, in one line each
PROFILE_PURPOSE = {
    "tiny": "seconds per cell; the tests' smoke profile, whose models must still learn "
            "(held-out accuracy beside chance in groundtruth.csv)",
    "quick": "the README's main job, sized for a 2-core machine with no GPU; every number in "
             "the README comes from it",
    "paper": "the published scale (K, subsets, model sizes and training lengths of the "
             "papers): hours to days, for a GPU or a cluster",
}


def _first_line(obj: object) -> str:
    """The docstring's first sentence (its first paragraph up to the first full stop)."""
    paragraph = (inspect.getdoc(obj) or "").strip().split("\n\n")[0]
    text = " ".join(paragraph.split())
    end = text.find(". ")
    return text[: end + 1] if end >= 0 else text


def catalogue(kind: str | None = None, cached: bool = False) -> dict[str, dict[str, str]]:
    """``{kind: {name: one-line summary}}`` for every kind (or only ``kind``); the stages and
    papers are imported only when listed. ``cached`` (the ``list`` command) reads the entries
    from ``<cache>/catalogue/<code hash>.json`` when this code wrote one, else builds and saves
    them: they are a function of the code alone (plug-ins are discovered in the suite's own
    packages), and reading them spares the 1.4 s of importing torch that building takes. An
    in-process caller (``cached=False``) also sees entries registered at run time."""
    kinds = [k for k in KINDS if kind in (None, k)]
    if not cached:
        return _built(kinds)
    path = cache_root() / CATALOGUE / f"{code_hash()}.json"
    entries = _read_cached(path)
    if entries is None:
        entries = _built(list(KINDS))
        with contextlib.suppress(OSError):  # a read-only cache only costs the next call time
            atomic_write_text(path, json.dumps(entries, indent=1))
    return {k: entries[k] for k in kinds}


def _read_cached(path: Path) -> dict[str, dict[str, str]] | None:
    """The saved catalogue, or None when absent or not one (then it is rebuilt over)."""
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(entries, dict) and all(isinstance(entries.get(k), dict) for k in KINDS)
    return entries if ok else None


def _built(kinds: list[str]) -> dict[str, dict[str, str]]:
    """The entries of ``kinds``, from the registries (importing their plug-ins)."""
    build = {"methods": lambda: {n: _first_line(cls) for n, cls in METHODS.items()},
             "tasks": lambda: {n: f.description for n, f in TASKS.items()},
             "metrics": lambda: {n: _first_line(fn) for n, fn in METRICS.items()},
             "stages": lambda: {n: _first_line(cls) for n, cls in STAGES.items()},
             "papers": lambda: {n: cls.title or _first_line(cls) for n, cls in PAPERS.items()}}
    return {k: build[k]() for k in kinds}


def describe_entry(name: str, profile: str = "quick") -> str:
    """The description of every registered entry called ``name`` (methods, tasks, metrics,
    stages, papers) or of the profile ``name``; an unknown name suggests the closest."""
    if name in PROFILES:
        return describe_profile(name)
    found = [(reg, show) for reg, show in ((METHODS, _method), (TASKS, _task), (METRICS, _metric),
                                           (STAGES, _stage), (PAPERS, _paper)) if name in reg]
    if not found:
        names = [*PROFILES, *(n for reg in (METHODS, TASKS, METRICS, STAGES, PAPERS)
                              for n in reg.names())]
        raise UnknownNameError.of("method, task, metric, stage, paper or profile", name, names)
    return "\n\n".join(show(name, profile) for _, show in found)


def _table(rows: list[dict]) -> str:
    """Rows of ``fields.describe`` as aligned text, help last."""
    if not rows:
        return "  (no fields)"
    cols = ("field", "type", "default", "rule")
    cells = [[str(r[c]) if c != "default" else repr(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(cols)]
    lines = ["  " + "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)) + "  help"]
    for row, cell in zip(rows, cells, strict=True):
        lines.append("  " + "  ".join(x.ljust(w) for x, w in zip(cell, widths, strict=True))
                     + "  " + row["help"])
    return "\n".join(lines)


def _method(name: str, profile: str) -> str:
    cls = METHODS.get(name)
    needs = ", ".join(sorted(n.value for n in cls.needs)) or "nothing"
    head = f"method {name}: {_first_line(cls)}\n  needs: {needs}\n"
    return head + _table(describe(cls))


def _task(name: str, profile: str) -> str:
    from benchmarks.api.task import make_task

    task = make_task(name, profile)
    spec = task.spec
    head = (f"task {name} ({profile} profile): {TASKS.get(name).description}\n"
            f"  K = {task.K} units, {task.n_targets} targets, outputs {list(task.outputs)}; "
            f"set a field with --set FIELD=VALUE\n")
    rows = describe(type(spec), spec)
    return head + _table([r for r in rows if r["field"] not in ("name", "profile",
                                                                "recipe_version")])


def _metric(name: str, profile: str) -> str:
    meta = METRICS.meta(name)
    lines = [f"metric {name}: {_first_line(METRICS.get(name))}",
             f"  {'higher' if meta['higher_is_better'] else 'lower'} is better"
             + ("; needs leave-one-out ground truth" if meta.get("needs_loo") else "")]
    for key, value in meta.get("params", {}).items():
        lines.append(f"  parameter {key} = {value!r}")
    for variant, text in meta.get("definitions", {}).items():
        try:
            text = text.format(**meta.get("params", {}))
        except (KeyError, IndexError, ValueError):
            pass
        lines.append(f"  variant {variant}: {text}")
    return "\n".join(lines)


def _stage(name: str, profile: str) -> str:
    """A stage's purpose, the leaderboard columns it writes and its fields (a paper's cell
    sets them)."""
    cls = STAGES.get(name)
    columns = STAGES.meta(name).get("columns", {})
    head = f"stage {name}: {_first_line(cls)}\n"
    if columns:
        head += _wrap("leaderboard columns: " + ", ".join("/".join(c) for c in columns)) + "\n"
    return head + _table(describe(cls))


def _paper(name: str, profile: str) -> str:
    """A paper's title and, per profile, the cells ``replicate`` runs and their stages."""
    paper = PAPERS.get(name)()
    lines = [f"paper {name}: {paper.title or _first_line(type(paper))}"]
    for prof in PROFILES:
        cells = paper.cells(prof)
        tasks = list(dict.fromkeys(c.task for c in cells))
        stages = list(dict.fromkeys(s.registry_name for c in cells for s in c.stages))
        lines.append(_wrap(f"{prof}: {len(cells)} cells on {len(tasks)} tasks: "
                           f"{', '.join(tasks)}; stages: {', '.join(stages) or 'none'}"))
    lines.append(f"  run it: python -m benchmarks replicate --paper {name} --profile PROFILE")
    return "\n".join(lines)


def _wrap(text: str) -> str:
    """``text`` indented by two and wrapped to ``WIDTH`` columns."""
    return textwrap.fill(text, WIDTH, initial_indent="  ", subsequent_indent="    ",
                         break_on_hyphens=False)


def describe_profile(profile: str) -> str:
    """What ``profile`` is for, the cells every paper runs at it, its time as measured in
    ``leaderboard/timings.csv`` and the extras its tasks' code imports."""
    from benchmarks.api.paper import merge

    cells = merge([c for _, cls in PAPERS.items() for c in cls().cells(profile)])
    tasks = list(dict.fromkeys(c.task for c in cells))
    extras = task_extras(tasks, profile)
    needs = "; ".join(f"{extra} (pip install -e '.[{extra}]'): {', '.join(names)}"
                      for extra, names in extras.items()) or "none"
    return "\n".join([
        textwrap.fill(f"profile {profile}: {PROFILE_PURPOSE[profile]}", WIDTH,
                      subsequent_indent="    "),
        _wrap(f"replicate runs {len(cells)} cells on {len(tasks)} tasks: {', '.join(tasks)}"),
        _wrap(f"time: {measured_time(profile)}"),
        _wrap(f"extras its tasks import: {needs}"),
        f"  run it: python -m benchmarks replicate --profile {profile}"])


def measured_time(profile: str, path: Path = TIMINGS) -> str:
    """The sum of ``wall_s`` of ``profile``'s cold rows of ``timings.csv`` (every cell's
    latest run that trained its ground truth), or where to look when it has none."""
    try:
        with open(path, newline="") as fh:
            walls = [float(r["wall_s"]) for r in csv.DictReader(fh)
                     if r.get("profile") == profile and r.get("wall_s")
                     and r.get("cache", "cold") == "cold"]
    except (OSError, KeyError, ValueError):
        walls = []
    if not walls:
        return f"not measured on this checkout (no {profile} rows in leaderboard/timings.csv)"
    total = sum(walls)
    return (f"{total / 3600:.2f} h wall-clock ({total / 60:.0f} min), the sum of the "
            f"{len(walls)} cold {profile} rows of leaderboard/timings.csv (each cell's latest "
            f"cold run, on the machine that ran it)")


def extra_of_module() -> dict[str, str]:
    """Importable module name -> the extra of this package's metadata (``pyproject.toml``,
    as installed) that installs it: a requirement's name, and the extras in its brackets
    (``dask[distributed]`` -> ``distributed``); empty where the package is not installed."""
    from importlib import metadata  # 20 ms: only on an error or for ``profiles``

    dists = metadata.packages_distributions().get(__name__.split(".")[0], [])
    out: dict[str, str] = {}
    for req in (metadata.requires(dists[0]) or []) if dists else []:
        extra = re.search(r"extra\s*==\s*[\"']([^\"']+)", req)
        name, _, brackets = re.match(r"\s*([\w.\-]+)(\[([^\]]*)\])?", req).groups()
        for module in (name, *(brackets or "").split(",")) if extra else ():
            if module.strip():
                out.setdefault(module.strip().lower().replace("-", "_"), extra.group(1))
    return out


def missing_extra(err: BaseException | None) -> tuple[str, str] | None:
    """(module, extra) of the first import in ``err``'s chain (causes and contexts) that failed
    for a module an extra installs (``extra_of_module``)."""
    names, seen = [], set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, ImportError) and err.name:
            names.append(err.name.split(".")[0])
        err = err.__cause__ or err.__context__
    extra_of = extra_of_module() if names else {}
    return next(((n, extra_of[n]) for n in names if n in extra_of), None)


def task_extras(tasks: list[str], profile: str) -> dict[str, list[str]]:
    """Extra -> the ``tasks`` whose code (their module and the modules of ``TASK_CODE`` it
    imports, at any depth, lazily or not) imports a module that extra installs."""
    from benchmarks.api.task import make_task

    extra_of = extra_of_module()
    out: dict[str, list[str]] = {}
    for name in tasks:
        modules = _imports_from(type(make_task(name, profile)).__module__)
        for extra in sorted({extra_of[m] for m in modules if m in extra_of}):
            out.setdefault(extra, []).append(name)
    return out


@functools.cache
def _imports_from(module: str) -> frozenset[str]:
    """Top-level names of the third-party modules ``module`` imports through ``TASK_CODE``."""
    seen, todo, third = set(), [module], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if not name.startswith(TASK_CODE):
            third.add(name.split(".")[0])
            continue
        try:  # imports the parent packages: plug-ins, already imported by the registry
            spec = importlib.util.find_spec(name)
        except ImportError:  # ``a.b`` of ``from a import b`` where b is not a module
            continue
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            todo += _imports(name, Path(spec.origin), spec.submodule_search_locations is not None)
    return frozenset(third)


def _is_require(node: ast.AST) -> bool:
    """A call ``require("module", ...)`` (``common.extras.require``: an import by name)."""
    if not isinstance(node, ast.Call) or not node.args:
        return False
    func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    first = node.args[0]
    return func == "require" and isinstance(first, ast.Constant) and isinstance(first.value, str)


def _imports(module: str, path: Path, is_package: bool) -> list[str]:
    """Every module a source file imports (relative ones resolved; ``from a import b`` gives
    ``a`` and ``a.b``, which may be a module), ``extras.require("a", ...)`` calls included."""
    package = module if is_package else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if _is_require(node):
            out.append(node.args[0].value)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) \
                if node.level else node.module
            out += [base, *(f"{base}.{a.name}" for a in node.names)]
    return out
