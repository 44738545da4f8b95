"""Declared config fields: one parser and one validator for every spec, parameter and method.

A field declares its rule beside it, ``lr: float = param(1e-2, "step size", gt=0)``; a value
from the command line is parsed by the field's type (``"False"`` is a bool only for a bool
field, ``"Infinity"`` never passes a finite check), and every dataclass tree is validated by
``validate_fields`` alone. ``describe`` lists the fields for ``python -m benchmarks describe``.
"""

from __future__ import annotations

import json
import math
import re
import types
import typing
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass
from functools import cache
from typing import Any


class SpecError(ValueError):
    """An invalid configuration: names the field and why."""


@dataclass(frozen=True)
class Rule:
    """What a field accepts beyond its type: numeric bounds, string choices, finiteness."""

    help: str = ""
    choices: tuple | None = None
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    finite: bool = True

    def problems(self, value: Any) -> str | None:
        """Why ``value`` breaks the rule, or None."""
        if isinstance(value, str):
            if self.choices is not None and value not in self.choices:
                return f"{value!r} is not one of {list(self.choices)}"
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if isinstance(value, float) and self.finite and not math.isfinite(value):
            return f"{value!r} is not a finite number"
        for bound, ok, word in ((self.gt, lambda b: value > b, ">"),
                                (self.ge, lambda b: value >= b, ">="),
                                (self.lt, lambda b: value < b, "<"),
                                (self.le, lambda b: value <= b, "<=")):
            if bound is not None and not ok(bound):
                return f"{value!r} must be {word} {_bound(bound)}"
        return None

    def summary(self) -> str:
        """The rule in a few words (for ``describe``)."""
        parts = [f"{w} {_bound(b)}" for b, w in ((self.gt, ">"), (self.ge, ">="),
                                                  (self.lt, "<"), (self.le, "<=")) if b is not None]
        if self.choices is not None:
            parts.append("one of " + "|".join(map(str, self.choices)))
        return ", ".join(parts)


def _bound(b: float) -> str:
    """A bound as written: an integer in full (``1000000``), a float compactly (``1e+06``)."""
    return str(b) if isinstance(b, int) else f"{b:g}"


def param(default: Any = MISSING, help: str = "", *, choices: tuple | None = None,
          gt: float | None = None, ge: float | None = None, lt: float | None = None,
          le: float | None = None, finite: bool = True, extension: bool = False,
          location: bool = False, default_factory: Any = MISSING) -> Any:
    """A dataclass field with its rule. ``extension=True``: a field added after caches exist,
    left out of content keys at its default (existing keys and stores stay valid).
    ``location=True``: where something is (a data folder), never what it is: left out of
    every content key (the data's own checksums pin what it is)."""
    rule = Rule(help, tuple(choices) if choices is not None else None, gt, ge, lt, le, finite)
    meta = {"rule": rule, **({"extension": True} if extension else {}),
            **({"location": True} if location else {})}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


def rule_of(f: Field) -> Rule:
    return f.metadata.get("rule", Rule())


@cache
def hints(cls: type) -> dict[str, Any]:
    """Resolved field types of a dataclass (annotations are strings under PEP 563)."""
    return typing.get_type_hints(cls)


def field_type(cls: type, name: str) -> Any:
    return hints(cls)[name]


def type_name(tp: Any) -> str:
    """A type as written in the source: ``float | str``, ``tuple[float, float]``."""
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    return str(tp).replace("typing.", "")


_INT = re.compile(r"[+-]?\d+")


def coerce(tp: Any, value: Any, path: str) -> Any:
    """``value`` as type ``tp``: text is parsed by the type, native values are checked."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(tp, args, value, path)
    if tp is Any:
        return value
    if is_dataclass(tp):
        return _coerce_dataclass(tp, value, path)
    if isinstance(value, str) and tp is not str:
        value = _parse_text(tp, origin, value, path)
    return _check_native(tp, origin, args, value, path)


def _coerce_union(tp: Any, args: tuple, value: Any, path: str) -> Any:
    """Members in a fixed order: None, bool, numbers, then str (so "cv" stays a string)."""
    order = sorted(args, key=lambda a: (a is not type(None), a is not bool, a is str))
    for member in order:
        try:
            return coerce(member, value, path)
        except SpecError:
            continue
    raise SpecError(f"invalid config field {path}: expected {type_name(tp)}, got {value!r}")


def _parse_text(tp: Any, origin: Any, text: str, path: str) -> Any:
    """Command-line text -> a native value of ``tp`` (no guessing across types)."""
    s = text.strip()
    if tp is type(None):
        if s.lower() in ("none", "null"):
            return None
    elif tp is bool:
        if s.lower() in ("true", "false"):
            return s.lower() == "true"
    elif tp is int:
        if _INT.fullmatch(s):
            return int(s)
    elif tp is float:
        try:
            return float(s)
        except ValueError:
            pass
    elif origin in (tuple, list, dict) or tp in (tuple, list, dict):
        try:
            return json.loads(s)
        except json.JSONDecodeError:
            pass
    raise SpecError(f"invalid config field {path}: expected {type_name(tp)}, got {text!r}")


def _check_native(tp: Any, origin: Any, args: tuple, value: Any, path: str) -> Any:
    bad = SpecError(f"invalid config field {path}: expected {type_name(tp)}, got {value!r}")
    if tp is type(None):
        if value is None:
            return None
        raise bad
    if tp is bool or tp is str:
        if isinstance(value, tp):
            return value
        raise bad
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad
    if (origin or tp) is tuple:
        return _coerce_tuple(tp, args, value, path, bad)
    if (origin or tp) is dict:
        if isinstance(value, dict):
            return value
        raise bad
    raise SpecError(f"invalid config field {path}: unsupported field type {type_name(tp)}")


def _coerce_tuple(tp: Any, args: tuple, value: Any, path: str, bad: SpecError) -> tuple:
    if not isinstance(value, (list, tuple)):
        raise bad
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(coerce(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
    if args and len(args) != len(value):
        raise SpecError(f"invalid config field {path}: expected {len(args)} values "
                        f"({type_name(tp)}), got {len(value)}: {list(value)!r}")
    pairs = enumerate(zip(args, value, strict=True))
    return tuple(coerce(a, v, f"{path}[{i}]") for i, (a, v) in pairs)


def _coerce_dataclass(cls: type, value: Any, path: str) -> Any:
    if isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise SpecError(f"invalid config field {path}: expected {cls.__name__} fields as a "
                        f"mapping, got {value!r}")
    names = [f.name for f in fields(cls)]
    unknown = sorted(set(value) - set(names))
    if unknown:
        raise SpecError(f"invalid config field {path}.{unknown[0]}: not one of {names}")
    return cls(**{k: coerce(field_type(cls, k), v, f"{path}.{k}") for k, v in value.items()})


def validate_fields(obj: Any, prefix: str) -> None:
    """Check every field of a dataclass tree against its type and rule (first problem raises,
    naming the dotted field)."""
    for f in fields(obj):
        value, path = getattr(obj, f.name), f"{prefix}.{f.name}"
        coerce(field_type(type(obj), f.name), value, path)
        why = rule_of(f).problems(value)
        if why:
            raise SpecError(f"invalid config field {path}: {why}")
        if is_dataclass(value) and not isinstance(value, type):
            validate_fields(value, path)


def describe(cls: type, current: Any = None, prefix: str = "") -> list[dict]:
    """One row per field (nested dataclasses flattened): name, type, default, rule, help."""
    rows = []
    for f in fields(cls):
        value = getattr(current, f.name) if current is not None else _default(f)
        name = f"{prefix}{f.name}"
        if is_dataclass(value) and not isinstance(value, type):
            rows += describe(type(value), value, f"{name}.")
            continue
        rule = rule_of(f)
        rows.append({"field": name, "type": type_name(field_type(cls, f.name)),
                     "default": value, "rule": rule.summary(), "help": rule.help})
    return rows


def _default(f: Field) -> Any:
    if f.default is not MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not MISSING else "(required)"
