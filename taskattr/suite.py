"""The suite's registered tasks from Python: ``evaluate`` runs methods on a task as the ``run``
command does (ground truth trained or read from the cache, then ``runner.run_cell``);
``ground_truth`` hands a task's subsets and retrained F back as arrays; ``register_task`` adds
a task family of one's own."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmarks.api.method import Method, make_method
from benchmarks.api.task import Task, make_task, register_family
from benchmarks.common.spec import SpecError, TaskSpec
from benchmarks.groundtruth.executors import Executor
from benchmarks.groundtruth.fill import open_store
from benchmarks.runner import run_cell
from benchmarks.task_groups import expand

MethodsArg = str | Sequence[str | tuple[str, Mapping]]


def evaluate(task: str, methods: MethodsArg, profile: str = "quick",
             params: Mapping | None = None, overrides: Mapping | None = None,
             workers: int = 1) -> pd.DataFrame:
    """Every registered metric of ``methods`` on ``task``: one row per metric value, with its
    bootstrap CI (``ci_low``, ``ci_high``) and the columns of ``results.csv``. ``task`` is any
    name ``run --task`` takes, an imported group (``import-gt`` of the authors' ICL layout,
    ``NAME`` for ``NAME-split0..``) included: the rows of every member re-split, each under its
    own ``task``; ``benchmarks.common.groups.aggregate(df)`` gives the mean ± sd over the
    splits that ``run`` prints.

    ``methods``: a name, or a list of names and ``(name, params)`` pairs. ``params``: the
    fields of a single method, or ``{name: fields}`` for a list. ``overrides``: dotted task
    fields (``--set``). Ground truth is trained where the cache (``$TASKATTR_CACHE``, default
    ``./artifacts``) lacks it, on ``workers`` processes; cells already computed are read back.

    >>> df = taskattr.evaluate("modular-addition", ["kernel_sm", "linear_surrogate"],
    ...                        profile="tiny")
    >>> df[df.metric == "lds"][["method", "variant", "value", "ci_low", "ci_high"]]
    """
    chosen = _methods(methods, params)
    tasks = [make_task(name, profile, dict(overrides or {})) for name in expand([task])]
    for built in tasks:  # refused before ground truth is trained (or a store made)
        for method in chosen:
            reason = method.applies(built)
            if reason:
                raise SpecError(f"invalid method {method.registry_name} for task "
                                f"{built.label}: {reason}")
    rows = []
    for built in tasks:
        Executor(workers=workers).fill(built)
        store = open_store(built)
        rows += [row for m in chosen for row in run_cell(built, store, m)["rows"]]
    return pd.DataFrame(rows)


def _methods(methods: MethodsArg, params: Mapping | None) -> list[Method]:
    """``methods`` and ``params`` as built methods (unknown names and fields are refused)."""
    if isinstance(methods, str):
        return [make_method(methods, dict(params or {}))]
    per_name = dict(params or {})
    unknown = set(per_name) - {m if isinstance(m, str) else m[0] for m in methods}
    if unknown:
        raise SpecError(f"invalid params: {sorted(unknown)} name no method of {list(methods)}; "
                        f"with a list of methods, params maps a method's name to its fields")
    return [make_method(m, dict(per_name.get(m, {}))) if isinstance(m, str)
            else make_method(m[0], dict(m[1])) for m in methods]


@dataclass(frozen=True)
class GroundTruth:
    """A task's retrained ground truth as arrays. ``masks (m, K)`` bool and ``F (m, n_targets)``
    (the mean over training seeds; ``F_seeds (m, R, n_targets)`` each seed) of the fitting
    subsets, the only rows a method may see; ``eval_*`` the held-out subsets metrics score on;
    ``full (n_targets,)`` = F(1) and ``loo (K, n_targets)`` = F(1 - e_k) where the design has
    leave-one-out rows, else None."""

    task: str
    task_key: str
    output: str
    masks: np.ndarray
    F: np.ndarray
    F_seeds: np.ndarray
    eval_masks: np.ndarray
    eval_F: np.ndarray
    eval_F_seeds: np.ndarray
    full: np.ndarray | None = None
    loo: np.ndarray | None = None

    @property
    def K(self) -> int:
        return self.masks.shape[1]

    @property
    def n_targets(self) -> int:
        return self.F.shape[1]

    @property
    def loo_delta(self) -> np.ndarray | None:
        """``(K, n_targets)`` = F(1) - F(1 - e_k): the retrained leave-one-out effects."""
        return None if self.loo is None else self.full[None, :] - self.loo


def ground_truth(task: str, profile: str = "quick", overrides: Mapping | None = None,
                 output: str | None = None, workers: int = 1) -> GroundTruth:
    """The ground truth of ``task`` at ``profile`` (trained first where the cache lacks it),
    for ``output`` (default: the task's primary, the loss).

    >>> gt = taskattr.ground_truth("modular-addition", profile="tiny")
    >>> gt.masks.shape, gt.F.shape, gt.eval_F.shape, gt.loo_delta.shape
    """
    built = make_task(task, profile, dict(overrides or {}))
    output = output or built.primary
    if output not in built.outputs:
        raise SpecError(f"invalid output {output!r}: {task} stores {list(built.outputs)}")
    Executor(workers=workers).fill(built)
    store = open_store(built)
    rows, values = store.rows, store.array(output)

    def role(name: str) -> tuple[np.ndarray, np.ndarray]:
        idx = rows.index(name)
        return rows.masks[idx].copy(), values[idx].copy()

    (masks, f_seeds), (eval_masks, e_seeds) = role("fit"), role("eval")
    has_loo = len(rows.index("loo")) > 0
    return GroundTruth(built.label, built.spec.key, output, masks, f_seeds.mean(1), f_seeds,
                       eval_masks, e_seeds.mean(1), e_seeds,
                       store.mean(output, "full")[0] if has_loo else None,
                       store.mean(output, "loo") if has_loo else None)


def register_task(name: str, cls: type[Task], make_spec: Callable[[str], TaskSpec],
                  description: str) -> None:
    """Register task family ``name``: ``make_spec(profile)`` builds its spec, ``cls`` (a
    ``benchmarks.api.task.Task``) the task; every function here and every command then
    accepts it (``docs/extending/task.md`` walks through one).

    >>> taskattr.register_task("additive-toy", AdditiveToy, spec, "a known additive F")
    >>> taskattr.ground_truth("additive-toy", profile="tiny").F.shape
    """
    register_family(name, cls, make_spec, description)
