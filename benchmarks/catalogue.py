"""What is registered, in words: ``list`` (one line per entry) and ``describe NAME`` (every field
of a method or task with its type, default, rule and help; a metric's variants)."""

from __future__ import annotations

import inspect

from benchmarks.api.registry import METHODS, METRICS, PAPERS, STAGES, TASKS, UnknownNameError
from benchmarks.common.fields import describe


def _first_line(obj: object) -> str:
    """The docstring's first sentence (its first paragraph up to the first full stop)."""
    paragraph = (inspect.getdoc(obj) or "").strip().split("\n\n")[0]
    text = " ".join(paragraph.split())
    end = text.find(". ")
    return text[: end + 1] if end >= 0 else text


KINDS = ("methods", "tasks", "metrics", "stages", "papers")


def catalogue(kind: str | None = None) -> dict[str, dict[str, str]]:
    """``{kind: {name: one-line summary}}`` for every kind (or only ``kind``); the stages and
    papers are imported only when listed."""
    build = {"methods": lambda: {n: _first_line(cls) for n, cls in METHODS.items()},
             "tasks": lambda: {n: f.description for n, f in TASKS.items()},
             "metrics": lambda: {n: _first_line(fn) for n, fn in METRICS.items()},
             "stages": lambda: {n: _first_line(cls) for n, cls in STAGES.items()},
             "papers": lambda: {n: cls.title or _first_line(cls) for n, cls in PAPERS.items()}}
    return {k: build[k]() for k in KINDS if kind in (None, k)}


def describe_entry(name: str, profile: str = "quick") -> str:
    """The description of every registered entry called ``name`` (methods, tasks, metrics)."""
    parts = []
    if name in METHODS:
        parts.append(_method(name))
    if name in TASKS:
        parts.append(_task(name, profile))
    if name in METRICS:
        parts.append(_metric(name))
    if not parts:
        avail = ", ".join(METHODS.names() + TASKS.names() + METRICS.names())
        raise UnknownNameError(f"unknown method, task or metric {name!r}. Available: {avail}")
    return "\n\n".join(parts)


def _table(rows: list[dict]) -> str:
    """Rows of ``fields.describe`` as aligned text, help last."""
    cols = ("field", "type", "default", "rule")
    cells = [[str(r[c]) if c != "default" else repr(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(cols)]
    lines = ["  " + "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)) + "  help"]
    for row, cell in zip(rows, cells, strict=True):
        lines.append("  " + "  ".join(x.ljust(w) for x, w in zip(cell, widths, strict=True))
                     + "  " + row["help"])
    return "\n".join(lines)


def _method(name: str) -> str:
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


def _metric(name: str) -> str:
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
