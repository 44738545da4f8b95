"""What a method sees: exactly the inputs its ``needs`` declare (ARCHITECTURE.md, Method)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import benchmarks.common.device as devices
from benchmarks.api.method import Fitted, Method, Need
from benchmarks.api.task import Task
from benchmarks.common.spec import derive_seed
from benchmarks.groundtruth.fullmodel import (
    TrainedModel,
    full_model,
    full_model_checkpoints,
    linearisation_point,
)
from benchmarks.groundtruth.store import GroundTruthStore
from benchmarks.oracles.labels import LabelSet, make_oracle


@dataclass(frozen=True)
class FullModels:
    """Full-set models beyond ``Context.model``: other training seeds and checkpoints along a
    run, trained once and cached beside the ground truth. A method gets these, never the store
    (whose evaluation rows it must not see)."""

    task: Task
    _store: GroundTruthStore = field(repr=False)

    def seed(self, r: int) -> TrainedModel:
        """The full-set model of training seed ``r`` (``r = 0`` is ``Context.model``)."""
        return full_model(self.task, self._store, r)

    def checkpoints(self, r: int, n: int) -> tuple[list[TrainedModel], list[float]]:
        """Seed ``r``'s model after each of ``n`` checkpoint steps, and each interval's
        learning rate (``fullmodel.full_model_checkpoints``)."""
        return full_model_checkpoints(self.task, self._store, r, n)

    def linearisation_point(self) -> TrainedModel:
        """W0 in the fine-tuning regime (where subset models start), else ``Context.model``."""
        return linearisation_point(self.task, self._store)


@dataclass(frozen=True)
class Context:
    """Inputs of ``Method.fit``. Fields a method did not declare are None.

    ``fit``: fitting subsets and labels; ``full: (n_targets,)`` = F(1);
    ``loo: (K, n_targets)`` = F(1 - e_k); ``model``: the full-set model and ``models`` the
    others (seeds, checkpoints); ``fit_masks: (m, K)``: the fitting subsets without labels;
    ``seed`` derived from the task's seed key (``seed_key``) and the method key.
    """

    task: Task
    seed: int
    fit: LabelSet | None = None
    full: np.ndarray | None = None
    loo: np.ndarray | None = None
    model: TrainedModel | None = None
    models: FullModels | None = None
    fit_masks: np.ndarray | None = None


def seed_key(task: Task) -> str:
    """The content key a task's method seeds derive from: ``task.seed_key`` where the task has
    one (imported ground truth: its content hash, so the name a user chose moves nothing),
    else ``spec.key`` (built-in tasks, whose spec is their content)."""
    return task.seed_key


def build_context(task: Task, store: GroundTruthStore, method: Method,
                  output: str | None = None) -> Context:
    """Hand ``method`` what it declared, never evaluation subsets; its labels are the stored
    ``output`` (default: the task's primary F)."""
    seed = derive_seed(seed_key(task), method.key)
    output = output or task.primary
    kwargs: dict = {}
    if Need.FIT_LABELS in method.needs:
        labels_set = make_oracle(method.labels, task, store, output).fit_set()
        kwargs["fit"] = labels_set.head(method.max_labels)
    if Need.LOO in method.needs:
        kwargs["full"] = store.mean(output, "full")[0]
        kwargs["loo"] = store.mean(output, "loo")
    if Need.MODEL in method.needs:
        kwargs["model"] = full_model(task, store)
        kwargs["models"] = FullModels(task, store)
    if Need.FIT_MASKS in method.needs:
        kwargs["fit_masks"] = store.rows.masks[store.rows.index("fit")]
    return Context(task=task, seed=seed, **kwargs)


def fit_method(task: Task, store: GroundTruthStore, method: Method,
               output: str | None = None) -> tuple[Context, Fitted]:
    """``build_context`` and ``method.fit`` on the configured device (benchmarks/common/device.py):
    the models a method reads are placed there, and so are the tensors it creates. Both run on
    one math thread (``device.math_threads``: torch and every BLAS), so a fit's bits do not
    depend on the process's thread count; ``method_scores``/``method_predict`` do the same for
    what is read from the fit (the runner calls them)."""
    with devices.math_threads(), devices.scope():
        ctx = build_context(task, store, method, output)
        return ctx, method.fit(ctx)


def method_scores(method: Method, fitted: Fitted) -> np.ndarray:
    """``method.scores(fitted)`` on one math thread (some methods compute them: KernelSM's
    are predictions of the KRR, an OpenBLAS product)."""
    with devices.math_threads():
        return method.scores(fitted)


def method_predict(method: Method, fitted: Fitted, masks: np.ndarray) -> np.ndarray:
    """``method.predict(fitted, masks)`` on one math thread: the additive default is a numpy
    ``masks @ scores`` whose OpenBLAS gemm splits its sums by the thread count (predictions 1
    and 2 threads apart differed by up to 5e-14 on quick digits-logreg)."""
    with devices.math_threads():
        return method.predict(fitted, masks)
