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

from benchmarks.common.fields import SpecError, coerce, field_type, param, validate_fields
from benchmarks.common.schema import PROFILES

__all__ = ["PROFILES", "SpecError", "param", "extension", "validate_fields"]


def extension(default: Any) -> Any:
    """A field added after caches exist: at its default it is left out of content keys, so
    existing task and method keys (and their stored ground truth) stay valid."""
    return param(default, extension=True)


def keyed_fields(obj: Any) -> dict[str, Any]:
    """The fields of a dataclass that enter its content key (extensions only off-default,
    locations never)."""
    return {f.name: getattr(obj, f.name) for f in fields(obj) if not f.metadata.get("location")
            and not (f.metadata.get("extension") and getattr(obj, f.name) == f.default)}


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
INITS = ("scratch", "pretrained")
ENGINES = ("auto", "batched", "loop")
MAX_WORKERS = 64  # --workers above this is a typo, not a machine
EXECUTORS = ("local", "dask", "slurm")  # where ground truth trains (groundtruth/executors)
MAX_BATCH = 4096  # models per engine call
# Upper bounds of the training recipe: generous (well above every shipped profile), so that only
# a typo is refused before hours of training or an out-of-memory crash.
MAX_STEPS = 1_000_000  # optimizer steps per model and W0's (shipped profiles: up to 37,000)
MAX_BATCH_SIZE = 65_536  # examples per minibatch (paper profiles: 512)
MAX_LR = 1e6  # learning rates (profiles: <= 0.05); far larger overflow float32 step sizes


class MissingExtraError(ImportError):
    """An optional dependency (an extra of the package) is not installed: the message names
    the extra to install."""


class ExecutorError(RuntimeError):
    """Ground truth cannot be trained where asked (a missing extra, workers lost more often
    than the retry budget): the message says what to do; rows already written are kept."""


@dataclass(frozen=True)
class TrainSpec:
    """How one subset model is trained (the recipe; methods/METHODS.md §0 for ``weighting``).

    ``sharpness``: the Hessian-regularisation recipe of the ablation (methods/METHODS.md §3.5) on
    top of the base optimizer: ``"sam"`` (gradient at W + rho g/||g||) or ``"nso"`` (noise
    stability: mean gradient at W ± U, U ~ N(0, sigma² I); ``nso_one_sided`` keeps only W + U, as
    the authors' code).

    ``weighting="examples"``: mean loss over the union of the active units' examples (the
    authors' scripts). ``"tasks"``: mean over active units of per-unit mean losses (§0, Eq. 1).
    ``batch_size=0`` means full-batch steps.
    """

    optimizer: str = param("adamw", "optimizer", choices=("adamw", "sgd"))
    lr: float = param(1e-2, "learning rate", gt=0, le=MAX_LR)
    weight_decay: float = param(1.0, "decoupled weight decay (AdamW) or L2 (SGD)", ge=0)
    steps: int = param(1000, "optimizer steps per model", ge=1, le=MAX_STEPS)
    batch_size: int = param(0, "examples per step (0 = full batch)", ge=0,
                            le=MAX_BATCH_SIZE)
    weighting: str = param("examples", "loss weighting: union of examples, or mean over units",
                           choices=("examples", "tasks"))
    betas: tuple[float, float] = param((0.9, 0.98), "AdamW betas (b1, b2)")
    sharpness: str = param("none", "Hessian regulariser of the ablation", choices=SHARPNESS,
                           extension=True)
    sam_rho: float = param(0.05, "SAM radius", gt=0, extension=True)
    nso_sigma: float = param(0.01, "NSO noise scale", gt=0, extension=True)
    nso_one_sided: bool = param(False, "NSO: only W + U (the authors' code)", extension=True)
    init: str = param("scratch", "where subset models start: a fresh initialisation per seed, or "
                      "the task's shared pretrained W0 (then fine-tuned with this recipe)",
                      choices=INITS, extension=True)
    pretrain_steps: int = param(1000, "W0's optimizer steps on the pretraining pool (every "
                                "unit), with init=pretrained", ge=1, le=MAX_STEPS,
                                extension=True)
    pretrain_lr: float = param(1e-2, "W0's learning rate, with init=pretrained", gt=0,
                               le=MAX_LR, extension=True)

    def validate(self) -> None:
        validate_fields(self, "train")
        for i, b in enumerate(self.betas):
            _check(0.0 <= b < 1.0, f"train.betas[{i}]", f"{b!r} must be in [0, 1)")
        if self.init == "scratch":
            for name in ("pretrain_steps", "pretrain_lr"):
                _check(getattr(self, name) == _default(self, name), f"train.{name}",
                       "applies only with train.init=pretrained")

    def pretraining(self) -> TrainSpec:
        """W0's recipe: this one from scratch, with the pretraining steps and learning rate."""
        return replace(self, init="scratch", steps=self.pretrain_steps, lr=self.pretrain_lr,
                       pretrain_steps=_default(self, "pretrain_steps"),
                       pretrain_lr=_default(self, "pretrain_lr"))


@dataclass(frozen=True)
class SubsetDesign:
    """Which subsets get ground truth (methods/METHODS.md §1.1, §2.1).

    ``sampler="fixed"``: exactly round(alpha*K) units, uniform without replacement;
    ``"bernoulli"``: each unit kept with probability alpha. All sampled masks are distinct, so
    fitting and evaluation subsets are disjoint. ``n_seeds`` = R training seeds per subset.
    ``seed_scheme="shared"`` gives seed r the same initialisation on every subset (common random
    numbers, §1.2a); ``"per-row"`` draws a fresh seed per (subset, r).
    """

    sampler: str = param("fixed", "fixed-size subsets or Bernoulli(alpha) per unit",
                         choices=("fixed", "bernoulli"))
    alpha: float = param(0.875, "fraction of units in a subset", gt=0, lt=1)
    n_fit: int = param(96, "fitting subsets (methods see these)", ge=2)
    n_eval: int = param(64, "held-out evaluation subsets (metrics only)", ge=3)
    n_seeds: int = param(2, "training seeds per subset (F is their mean)", ge=1)
    loo: bool = param(True, "also train the full set and every leave-one-out subset")
    seed_scheme: str = param("shared", "seed r shared across subsets, or fresh per subset",
                             choices=("shared", "per-row"))
    shared_lengths: tuple[int, ...] = param(
        (), "train.steps of the sibling cells (this one's among them) that share these subsets "
        "and seeds: they train once, to the longest, the shorter ones read as snapshots of "
        "the same runs", extension=True)

    def validate(self, K: int) -> None:
        validate_fields(self, "design")
        lengths = self.shared_lengths
        _check(list(lengths) == sorted(set(lengths)) and all(s >= 1 for s in lengths),
               "design.shared_lengths", f"{lengths!r} must be strictly increasing step counts")
        if self.sampler == "fixed":
            size = fixed_size(self.alpha, K)
            _check(0 < size < K, "design.alpha", f"round(alpha*K) = {size} must be in (0, {K})")
            n_max = math.comb(K, size)
            _check(self.n_fit + self.n_eval <= n_max, "design.n_fit+n_eval",
                   f"only C({K},{size}) = {n_max} distinct subsets exist")


def fixed_size(alpha: float, K: int) -> int:
    return int(round(alpha * K))


@dataclass(frozen=True)
class ExecSpec:
    """How ground-truth models are grouped into engine calls. Part of the task key: the batched
    engine trains a chunk of ``batch`` models in one computation, and the float results (hence
    the stored values) depend on the chunk size and the engine."""

    engine: str = param("auto", "engine: the task's measured choice, batched or loop",
                        choices=ENGINES)
    batch: int = param(32, "models per engine call (the chunk size)", ge=1, le=MAX_BATCH)


@dataclass(frozen=True)
class TaskSpec:
    """Everything that determines a task's ground truth; its key names the store."""

    name: str
    params: Any
    train: TrainSpec = field(default_factory=TrainSpec)
    design: SubsetDesign = field(default_factory=SubsetDesign)
    profile: str = "quick"
    recipe_version: int = 1
    execution: ExecSpec = param(ExecSpec(), "chunking of ground-truth training", extension=True)

    @property
    def key(self) -> str:
        return content_key(self.name, self)

    @property
    def base_key(self) -> str:
        """Key of everything but the subset counts and the chunking: seeds and masks derive
        from it, so adding subsets or seeds leaves existing rows unchanged. Cells with
        ``design.shared_lengths`` take it at their longest length, so the siblings share
        their subsets and seeds (``groundtruth/prefix.py``)."""
        design = replace(self.design, n_fit=0, n_eval=0, n_seeds=0, loo=False)
        lengths = self.design.shared_lengths
        train = replace(self.train, steps=lengths[-1]) if lengths else self.train
        return content_key(self.name, replace(self, design=design, profile="", train=train,
                                              execution=ExecSpec()))


FIXED_FIELDS = {"name": "the registry name of the task", "profile": "use --profile",
                "recipe_version": "set by the task family's code"}


def _default(obj: Any, name: str) -> Any:
    """The declared default of field ``name`` of a dataclass instance."""
    return next(f.default for f in fields(obj) if f.name == name)


def _check(ok: bool, field_name: str, why: str) -> None:
    if not ok:
        raise SpecError(f"invalid config field {field_name}: {why}")


def apply_overrides(obj: Any, overrides: dict[str, Any]) -> Any:
    """Return a copy of a frozen dataclass tree with dotted-path overrides applied.

    ``{"train.steps": "500", "params.overlap": 0.5}``: text is parsed by the field's type,
    native values are type-checked. Unknown fields raise SpecError listing the valid ones.
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
    if isinstance(obj, TaskSpec) and head in FIXED_FIELDS:
        raise SpecError(f"invalid config field {full}: cannot be overridden "
                        f"({FIXED_FIELDS[head]})")
    if len(parts) == 1:
        return replace(obj, **{head: coerce(field_type(type(obj), head), value, full)})
    return replace(obj, **{head: _set_path(getattr(obj, head), parts[1:], value, full)})


def spec_diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Human-readable differences between two plain (JSON) spec trees."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += spec_diff(a.get(k, "<missing>"), b.get(k, "<missing>"), f"{prefix}{k}.")
        return out
    return [] if a == b else [f"{prefix.rstrip('.')}: stored {a!r} != requested {b!r}"]
