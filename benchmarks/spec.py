"""Frozen specifications, canonical JSON, content keys and derived seeds.

Every cached artifact is named by a content key ``name-sha256(canonical spec)[:12]``; every random
number is drawn from a seed derived from such a key and a path, never from global randomness.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any

PROFILES = ("tiny", "quick", "paper")


EXTENSION = {"extension": True}  # field metadata: left out of content keys at its default


def extension(default: Any) -> Any:
    """A field added after caches exist: at its default it is left out of content keys, so
    existing task and method keys (and their stored ground truth) stay valid."""
    return field(default=default, metadata=EXTENSION)


def keyed_fields(obj: Any) -> dict[str, Any]:
    """The fields of a dataclass that enter its content key (extensions only off-default)."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)
            if not (f.metadata.get("extension") and getattr(obj, f.name) == f.default)}


def to_plain(obj: Any) -> Any:
    """Dataclasses, tuples and mappings -> JSON-compatible plain data (sorted later)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {k: to_plain(v) for k, v in keyed_fields(obj).items()}
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)
    return obj


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, plain types only."""
    return json.dumps(to_plain(obj), sort_keys=True, separators=(",", ":"))


def content_hash(obj: Any, n: int = 12) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:n]


def content_key(name: str, obj: Any, n: int = 12) -> str:
    """``name-sha256(canonical_json(obj))[:n]``: names cache folders and table rows."""
    return f"{name}-{content_hash(obj, n)}"


def derive_seed(key: str, *path: Any) -> int:
    """A 63-bit seed that depends only on a content key and a path (e.g. "train", row, r)."""
    text = "/".join(map(str, (key, *path)))
    return int(hashlib.sha256(text.encode()).hexdigest()[:16], 16) & (2**63 - 1)


SHARPNESS = ("none", "sam", "nso")


@dataclass(frozen=True)
class TrainSpec:
    """How one subset model is trained (the recipe; METHODS.md §0 for ``weighting``).

    ``sharpness``: the Hessian-regularisation recipe of the ablation (METHODS.md §3.5) on top of
    the base optimizer: ``"sam"`` (gradient at W + rho g/||g||) or ``"nso"`` (noise stability:
    mean gradient at W ± U, U ~ N(0, sigma² I); ``nso_one_sided`` keeps only W + U, as the
    authors' code).

    ``weighting="examples"``: mean loss over the union of the active units' examples (the
    authors' scripts). ``"tasks"``: mean over active units of per-unit mean losses (§0, Eq. 1).
    ``batch_size=0`` means full-batch steps.
    """

    optimizer: str = "adamw"
    lr: float = 1e-2
    weight_decay: float = 1.0
    steps: int = 1000
    batch_size: int = 0
    weighting: str = "examples"
    betas: tuple[float, float] = (0.9, 0.98)
    sharpness: str = extension("none")
    sam_rho: float = extension(0.05)
    nso_sigma: float = extension(0.01)
    nso_one_sided: bool = extension(False)

    def validate(self) -> None:
        _check(self.optimizer in ("adamw", "sgd"), "train.optimizer", "must be adamw or sgd")
        _check(self.sharpness in SHARPNESS, "train.sharpness", f"must be one of {SHARPNESS}")
        _check(self.sam_rho > 0, "train.sam_rho", "must be > 0")
        _check(self.nso_sigma > 0, "train.nso_sigma", "must be > 0")
        _check(self.lr > 0, "train.lr", "must be > 0")
        _check(self.steps >= 1, "train.steps", "must be >= 1")
        _check(self.batch_size >= 0, "train.batch_size", "must be >= 0 (0 = full batch)")
        _check(self.weighting in ("examples", "tasks"), "train.weighting",
               "must be 'examples' or 'tasks'")


@dataclass(frozen=True)
class SubsetDesign:
    """Which subsets get ground truth (METHODS.md §1.1, §2.1).

    ``sampler="fixed"``: exactly round(alpha*K) units, uniform without replacement;
    ``"bernoulli"``: each unit kept with probability alpha. All sampled masks are distinct, so
    fitting and evaluation subsets are disjoint. ``n_seeds`` = R training seeds per subset.
    ``seed_scheme="shared"`` gives seed r the same initialisation on every subset (common random
    numbers, §1.2a); ``"per-row"`` draws a fresh seed per (subset, r).
    """

    sampler: str = "fixed"
    alpha: float = 0.875
    n_fit: int = 96
    n_eval: int = 64
    n_seeds: int = 2
    loo: bool = True
    seed_scheme: str = "shared"

    def validate(self, K: int) -> None:
        _check(self.sampler in ("fixed", "bernoulli"), "design.sampler",
               "must be 'fixed' or 'bernoulli'")
        _check(0.0 < self.alpha < 1.0, "design.alpha", "must be in (0, 1)")
        _check(self.n_fit >= 2, "design.n_fit", "need at least 2 fitting subsets")
        _check(self.n_eval >= 3, "design.n_eval", "need at least 3 evaluation subsets")
        _check(self.n_seeds >= 1, "design.n_seeds", "must be >= 1")
        _check(self.seed_scheme in ("shared", "per-row"), "design.seed_scheme",
               "must be 'shared' or 'per-row'")
        if self.sampler == "fixed":
            size = fixed_size(self.alpha, K)
            _check(0 < size < K, "design.alpha", f"round(alpha*K) = {size} must be in (0, {K})")
            n_max = math.comb(K, size)
            _check(self.n_fit + self.n_eval <= n_max, "design.n_fit+n_eval",
                   f"only C({K},{size}) = {n_max} distinct subsets exist")


def fixed_size(alpha: float, K: int) -> int:
    return int(round(alpha * K))


@dataclass(frozen=True)
class TaskSpec:
    """Everything that determines a task's ground truth; its key names the store."""

    name: str
    params: Any
    train: TrainSpec = field(default_factory=TrainSpec)
    design: SubsetDesign = field(default_factory=SubsetDesign)
    profile: str = "quick"
    recipe_version: int = 1

    @property
    def key(self) -> str:
        return content_key(self.name, self)

    @property
    def base_key(self) -> str:
        """Key of everything but the subset counts: seeds and masks derive from it, so adding
        subsets or seeds leaves existing rows unchanged."""
        design = replace(self.design, n_fit=0, n_eval=0, n_seeds=0, loo=False)
        return content_key(self.name, replace(self, design=design, profile=""))


class SpecError(ValueError):
    """An invalid configuration: names the field and why."""


def _check(ok: bool, field_name: str, why: str) -> None:
    if not ok:
        raise SpecError(f"invalid config field {field_name}: {why}")


def parse_value(text: str) -> Any:
    """Parse a ``--set k=v`` value: JSON if it parses, else the raw string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def apply_overrides(obj: Any, overrides: dict[str, Any]) -> Any:
    """Return a copy of a frozen dataclass tree with dotted-path overrides applied.

    ``{"train.steps": 500, "params.overlap": 0.5}``. Unknown fields raise SpecError listing the
    valid ones.
    """
    for path, value in overrides.items():
        obj = _set_path(obj, path.split("."), value, path)
    return obj


def _set_path(obj: Any, parts: list[str], value: Any, full: str) -> Any:
    if not dataclasses.is_dataclass(obj):
        raise SpecError(f"invalid config field {full}: {type(obj).__name__} has no fields")
    names = [f.name for f in fields(obj)]
    head = parts[0]
    if head not in names:
        raise SpecError(f"invalid config field {full}: {head!r} is not one of {names}")
    if len(parts) == 1:
        current = getattr(obj, head)
        if isinstance(value, bool) and not isinstance(current, bool):
            raise SpecError(f"invalid config field {full}: expected {type(current).__name__}, "
                            f"got {value!r}")
        if isinstance(current, tuple) and isinstance(value, list):
            value = tuple(value)
        elif isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif current is not None and not isinstance(value, type(current)):
            raise SpecError(f"invalid config field {full}: expected {type(current).__name__}, "
                            f"got {value!r}")
        return replace(obj, **{head: value})
    return replace(obj, **{head: _set_path(getattr(obj, head), parts[1:], value, full)})


def spec_diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Human-readable differences between two plain (JSON) spec trees."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += spec_diff(a.get(k, "<missing>"), b.get(k, "<missing>"), f"{prefix}{k}.")
        return out
    return [] if a == b else [f"{prefix.rstrip('.')}: stored {a!r} != requested {b!r}"]
