"""Task contract: K units, targets, and an F(s) oracle by retraining (docs/ARCHITECTURE.md, Task).

A task family registers a factory ``make(profile, overrides) -> Task``. ``Task.evaluate`` is the
ground-truth oracle: it trains (or, for inference tasks, runs) one model per (mask, seed) and
returns the target quantities ``{output: (B, n_targets)}``. Tasks that train models subclass
``benchmarks.training.retrain_task.RetrainTask``, the training implementation of this contract.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, is_dataclass, replace
from operator import attrgetter
from typing import ClassVar

import numpy as np

from benchmarks.api.registry import TASKS
from benchmarks.common.schema import FINETUNED_SUFFIX
from benchmarks.common.spec import (
    PROFILES,
    ExecSpec,
    SpecError,
    TaskSpec,
    apply_overrides,
    validate_fields,
)

VARIANT_PREFIXES = ("params.", "train.")


def variant_label(name: str, overrides: dict) -> str:
    """A task's display name: ``name``, plus its ``params.*`` and ``train.*`` overrides
    (``modular-addition[block=7]``); what ``Task.label`` shows and ``timings.csv`` records."""
    variant = {k: v for k, v in overrides.items() if k.startswith(VARIANT_PREFIXES)}
    if not variant:
        return name
    inner = ",".join(f"{k.split('.', 1)[1]}={v}" for k, v in sorted(variant.items()))
    return f"{name}[{inner}]"


class Task(ABC):
    """One benchmark task built from a frozen spec."""

    outputs: tuple[str, ...] = ("loss",)
    primary: str = "loss"
    engine: str = "batched"
    trains: bool = True  # False: the ground truth is fixed data (no models, no training seeds)
    kind: str | None = None  # an import's data kind (decides a paper's recipe); None: built in
    fine_tuned: bool = False  # True: a family that starts from its own W0 outside the engine
    # True: ``evaluate_lengths`` serves cells that differ only in train.steps from one training
    # (``design.shared_lengths``, ``groundtruth/prefix.py``)
    shares_prefixes: bool = False

    def __init__(self, spec: TaskSpec, overrides: dict | None = None) -> None:
        self.spec = spec
        self.overrides = dict(overrides or {})
        lengths = spec.design.shared_lengths
        if lengths and not self.shares_prefixes:
            raise SpecError(f"invalid design.shared_lengths: {spec.name} does not train with "
                            f"train.steps, so its cells cannot share training prefixes")
        if lengths and spec.train.steps not in lengths:
            raise SpecError(f"invalid design.shared_lengths {lengths!r}: must include this "
                            f"cell's train.steps = {spec.train.steps}")

    @property
    def regime(self) -> str:
        """``fine-tuned`` (every model starts from a shared W0) or ``scratch``: the results
        rows' ``regime`` column, from the spec."""
        pretrained = self.spec.train.init == "pretrained"
        return "fine-tuned" if pretrained or self.fine_tuned else "scratch"

    @property
    def K(self) -> int:
        return self.membership.shape[0]

    @property
    @abstractmethod
    def membership(self) -> np.ndarray:
        """``(K, n_train)`` bool: which training examples belong to each unit."""

    @property
    @abstractmethod
    def n_targets(self) -> int: ...

    def fixed_rows(self):
        """The task's own ground-truth rows (``subsets.Rows``) when they are given rather than
        sampled from the design (imported ground truth), else None."""
        return None

    @property
    def seed_key(self) -> str:
        """The content key method seeds derive from: the spec's key (an imported task: its
        content hash, so the name a user chose moves nothing)."""
        return self.spec.key

    @property
    def chance(self) -> float | None:
        """Accuracy of guessing, for tasks with a ``correct`` output (None: not defined)."""
        return None

    @property
    def target_groups(self) -> tuple[np.ndarray, ...] | None:
        """Index arrays of targets also scored as groups (their mean F), or None: the paper's
        image targets are groups of test images (metrics ``spearman_groups``, ``ne_groups``)."""
        return None

    @property
    def flipped(self) -> np.ndarray | None:
        """``(K,)`` bool: units whose labels were corrupted on purpose (methods/METHODS.md §3.7), or
        None for tasks without label noise."""
        return None

    @abstractmethod
    def evaluate(self, masks: np.ndarray, seeds: list[int], engine: str = "batched"
                 ) -> dict[str, np.ndarray]:
        """F for each (mask, seed): ``masks: (B, K)`` -> ``{output: (B, n_targets)}``."""

    def evaluate_lengths(self, masks: np.ndarray, seeds: list[int], engine: str = "batched"
                         ) -> dict[int, dict[str, np.ndarray]]:
        """``evaluate`` of the cell at every length of ``design.shared_lengths`` from one
        training: ``{steps: {output: (B, n_targets)}}`` (tasks declaring ``shares_prefixes``)."""
        raise NotImplementedError(f"{type(self).__name__} does not share training prefixes")

    @property
    def training_engine(self) -> str:
        """The engine ground truth trains with: ``spec.execution.engine``, or the task's own
        measured choice (``engine``) where that says ``auto``."""
        chosen = self.spec.execution.engine
        return self.engine if chosen == "auto" else chosen

    @property
    def label(self) -> str:
        """Display name: the registry name plus the variant's ``params.*`` and ``train.*``
        overrides (design overrides change sizes, not the task)."""
        return variant_label(self.spec.name, self.overrides)

    @property
    def params_json(self) -> str:
        """The variant as JSON: ``params.*`` keys without their prefix, ``train.*`` with it."""
        return json.dumps({k.split(".", 1)[1] if k.startswith("params.") else k: v
                           for k, v in sorted(self.overrides.items())
                           if k.startswith(VARIANT_PREFIXES)})

    def example_weights(self, masks: np.ndarray) -> np.ndarray:
        """Per-example training weights ``(B, n_train)`` of subsets (methods/METHODS.md §0)."""
        M = self.membership.astype(np.float64)
        active = masks.astype(np.float64) @ M
        if self.spec.train.weighting == "examples":
            inc = (active > 0).astype(np.float64)
            return inc / np.maximum(inc.sum(1, keepdims=True), 1.0)
        per_unit = (masks / M.sum(1)) @ M
        return per_unit / np.maximum(masks.sum(1, keepdims=True), 1.0)


@dataclass(frozen=True)
class TaskFactory:
    """Registered entry: builds a Task for a profile and dotted overrides."""

    build: Callable[[str, dict], Task]
    description: str
    trains: bool = True  # False: fixed ground truth (imported), no --batch/--engine


def make_task(name: str, profile: str = "quick", overrides: dict | None = None) -> Task:
    """Build a registered task; an unknown name or profile lists the available ones."""
    factory: TaskFactory = TASKS.get(name)
    if profile not in PROFILES:
        raise SpecError(f"invalid config field profile: {profile!r} is not one of {PROFILES}")
    return factory.build(profile, dict(overrides or {}))


def register_family(name: str, cls: type[Task], make_spec: Callable[[str], TaskSpec],
                    description: str) -> None:
    """Register task ``name``: ``make_spec(profile)`` plus overrides, validated, as ``cls``."""

    def build(profile: str, overrides: dict) -> Task:
        spec = replace(finalize(make_spec(profile), overrides), profile=profile)
        typed = {path: attrgetter(path)(spec) for path in overrides}  # as parsed into the spec
        task = cls(spec, typed)
        if spec.execution.engine == task.engine:  # the task's own choice is "auto": one key
            task = cls(replace(spec, execution=replace(spec.execution, engine="auto")), typed)
        return task

    TASKS.register(name)(TaskFactory(build, description))


@dataclass(frozen=True)
class FineTuning:
    """A family's fine-tuning regime as fractions of its from-scratch recipe: W0 trains for
    ``pretrain`` x the steps at the recipe's own lr; subset models fine-tune from W0 for
    ``steps`` x the steps at ``lr`` x its lr. The defaults were chosen by measurement on quick
    modular addition (``python -m benchmarks.perf.finetune``; datasets/finetuning.md): W0 not
    yet interpolating the held-out targets, subsets still differing, F closest to first order."""

    pretrain: float = 0.15
    steps: float = 0.05
    lr: float = 0.3
    MIN_STEPS: ClassVar[int] = 10

    def spec(self, base: TaskSpec) -> TaskSpec:
        """``base`` (a family's profile spec) in this regime, named ``<family>-ft``."""
        t = base.train
        train = replace(t, init="pretrained", pretrain_steps=self._steps(self.pretrain, t.steps),
                        pretrain_lr=t.lr, steps=self._steps(self.steps, t.steps),
                        lr=self.lr * t.lr)
        return replace(base, name=base.name + FINETUNED_SUFFIX, train=train)

    @staticmethod
    def _steps(fraction: float, steps: int) -> int:
        """At least ``MIN_STEPS`` (TracIn's default checkpoints need five)."""
        return max(FineTuning.MIN_STEPS, round(fraction * steps))


def register_finetuned(name: str, cls: type[Task], make_spec: Callable[[str], TaskSpec],
                       description: str, regime: FineTuning = FineTuning()) -> None:
    """Register ``<name>-ft``: family ``name`` with subset models fine-tuned from a shared W0."""
    register_family(name + FINETUNED_SUFFIX, cls, lambda profile: regime.spec(make_spec(profile)),
                    f"{description}; fine-tuned from a shared pretrained W0")


def parse_overrides(items: list[str] | None) -> dict:
    """``["train.steps=500", "params.overlap=0.5"]`` -> ``{"train.steps": "500", ...}``: values
    stay text until applied, where each is parsed by its field's type."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise SpecError(f"invalid override {item!r}: expected field.path=value")
        key, value = item.split("=", 1)
        if key.strip() in out:
            raise SpecError(f"invalid override {item!r}: {key.strip()} is set twice")
        out[key.strip()] = value.strip()
    return out


def execution_overrides(batch: int | None, engine: str | None,
                        factory: TaskFactory | None = None, existing: dict | None = None) -> dict:
    """``--batch``/``--engine`` as overrides of the task's ``execution`` field (they change the
    stored values, so they are part of the task key); none for a task that trains nothing."""
    out: dict = {}
    if factory is not None and not factory.trains:
        return out
    if any(k.startswith("execution.") for k in existing or {}) and (
            batch != ExecSpec.batch or engine != ExecSpec.engine):
        raise SpecError("invalid override: give --batch/--engine or --set execution.*, not both")
    if batch is not None and batch != ExecSpec.batch:
        out["execution.batch"] = batch
    if engine is not None and engine != ExecSpec.engine:
        out["execution.engine"] = engine
    return out


def finalize(spec: TaskSpec, overrides: dict) -> TaskSpec:
    """Apply overrides to a profile's spec and validate every field."""
    spec = apply_overrides(spec, overrides)
    spec.train.validate()
    validate_fields(spec.execution, "execution")
    if is_dataclass(spec.params):
        validate_fields(spec.params, "params")
    return spec
