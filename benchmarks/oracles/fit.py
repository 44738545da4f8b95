"""A method's fit: its ``Context`` (``benchmarks.api.context``) built from the ground-truth
store, the full-set models and its label oracle, and the fit, scores and predictions run on the
configured device and one math thread (the runner, stages and benchmarks call these)."""

from __future__ import annotations

import numpy as np

import benchmarks.common.device as devices
from benchmarks.api.context import Context, seed_key
from benchmarks.api.method import Fitted, Method, Need
from benchmarks.api.task import Task
from benchmarks.common.spec import derive_seed
from benchmarks.groundtruth.fullmodel import StoreFullModels, full_model
from benchmarks.groundtruth.store import GroundTruthStore
from benchmarks.oracles import memo
from benchmarks.oracles.labels import make_oracle


def build_context(task: Task, store: GroundTruthStore, method: Method,
                  output: str | None = None) -> Context:
    """Hand ``method`` what it declared, never evaluation subsets; its labels are the stored
    ``output`` (default: the task's primary F). The cell's shared computations
    (``oracles.memo``) are this task's from here on."""
    memo.enter(task.spec.key)
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
        kwargs["models"] = StoreFullModels(task, store)
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


def fit_on(method: Method, ctx: Context) -> Fitted:
    """``method.fit(ctx)`` on a context built elsewhere (the ``taskattr`` facade's plain arrays
    or a user's own model), on the configured device and one math thread as ``fit_method``."""
    with devices.math_threads(), devices.scope():
        return method.fit(ctx)


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
