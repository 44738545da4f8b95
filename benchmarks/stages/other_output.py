"""Attribution of another stored output: the retrained-label methods refitted on it.

A task may store outputs beside its primary F (MT10: each task's real rollout ``return``
beside the imitation loss). Methods that read only retrained labels (LOO, the linear
surrogates, KernelSM on retrained labels) can be fitted to any of them from the same ground
truth, with no new training. This stage does that for ``output`` and writes the LDS and
residual rows as variants ``<variant>@<output>`` (``lds/spearman@return``: the same Spearman
on that label), so no reader of the primary's rows can mistake them and ``results.csv``
carries both labels.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.api.context import seed_key
from benchmarks.api.evaluation import Evaluation, MetricValue
from benchmarks.api.method import Need, make_method
from benchmarks.api.registry import METRICS, register_stage
from benchmarks.api.stage import CellInputs, Methods, Stage, StageOutput
from benchmarks.oracles.fit import fit_method, method_predict, method_scores
from benchmarks.runner import MethodIdentity, result_rows

RETRAINED_ONLY = frozenset({Need.FIT_LABELS, Need.LOO})  # what the stored labels can feed
METRICS_READ = ("lds", "residual")


@register_stage("other_output")
@dataclass(frozen=True)
class OtherOutput(Stage):
    """Refit the retrained-label ``methods`` on the stored ``output``: LDS and residual rows
    (variants suffixed ``@output``)."""

    output: str
    methods: Methods

    def run(self, cell: CellInputs) -> StageOutput:
        task, store = cell.task, cell.store
        if self.output not in task.outputs:
            raise ValueError(f"stage other_output: {task.spec.name} stores {task.outputs}, "
                             f"not {self.output!r}")
        masks = store.rows.masks[store.rows.index("eval")]
        truth = store.mean(self.output, "eval")
        rows: list[dict] = []
        for name, params in self.methods:
            method = make_method(name, params)
            if not method.needs <= RETRAINED_ONLY or method.labels not in ("none", "retrain") \
                    or method.applies(task):
                continue
            fitted = fit_method(task, store, method, self.output)[1]
            ev = Evaluation(masks, truth, method_predict(method, fitted, masks),
                            method_scores(method, fitted),
                            None, f"{seed_key(task)}/{method.key}/{self.output}")
            for metric in METRICS_READ:
                values = [MetricValue(f"{v.variant}@{self.output}", v.split, v.value, v.ci_low,
                                      v.ci_high, v.n_targets, v.n_dropped)
                          for v in METRICS.get(metric)(ev)]
                rows += result_rows(task, MethodIdentity.of(method), metric, values,
                                    METRICS.meta(metric)["higher_is_better"], 0.0, 0, store.bits)
        return StageOutput(rows)
