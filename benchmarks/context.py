"""What a method sees: exactly the inputs its ``needs`` declare (ARCHITECTURE.md, Method)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.groundtruth.fullmodel import TrainedModel, full_model
from benchmarks.groundtruth.store import GroundTruthStore
from benchmarks.method import Method, Need
from benchmarks.oracles.labels import LabelSet, make_oracle
from benchmarks.spec import derive_seed
from benchmarks.task import Task


@dataclass(frozen=True)
class Context:
    """Inputs of ``Method.fit``. Fields a method did not declare are None.

    ``fit``: fitting subsets and labels; ``full: (n_targets,)`` = F(1);
    ``loo: (K, n_targets)`` = F(1 - e_k); ``model``: the full-set model; ``seed`` derived from
    the task's seed key (``seed_key``) and the method key.
    """

    task: Task
    seed: int
    fit: LabelSet | None = None
    full: np.ndarray | None = None
    loo: np.ndarray | None = None
    model: TrainedModel | None = None
    store: GroundTruthStore | None = None


def seed_key(task: Task) -> str:
    """The content key a task's method seeds derive from: ``task.seed_key`` where the task has
    one (imported ground truth: its content hash, so the name a user chose moves nothing),
    else ``spec.key`` (built-in tasks, whose spec is their content)."""
    return getattr(task, "seed_key", None) or task.spec.key


def build_context(task: Task, store: GroundTruthStore, method: Method) -> Context:
    """Hand ``method`` what it declared, never evaluation subsets."""
    seed = derive_seed(seed_key(task), method.key)
    kwargs: dict = {}
    if Need.FIT_LABELS in method.needs:
        labels = getattr(method, "labels", "retrain")
        labels_set = make_oracle(labels, task, store, task.primary).fit_set()
        kwargs["fit"] = labels_set.head(getattr(method, "max_labels", 0))
    if Need.LOO in method.needs:
        kwargs["full"] = store.mean(task.primary, "full")[0]
        kwargs["loo"] = store.mean(task.primary, "loo")
    if Need.MODEL in method.needs:
        kwargs["model"] = full_model(task, store)
        kwargs["store"] = store
    return Context(task=task, seed=seed, **kwargs)
