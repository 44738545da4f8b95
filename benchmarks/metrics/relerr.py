"""First-order approximation relative error (methods/METHODS.md §3.4), in %.

``est``: ``mean over (evaluation subset, target) of (|F - F̂| / (max(|F|, |F̂|) + 1e-8))²``
x 100, between the method's predictions F̂ and the retrained F. Generic for any method that
predicts F; for ``gradex`` it is RE_est, the benchmarks/papers/kernelsm/REPLICATION.md C4 number.
Reported as the mean over targets of per-target means (equal to the mean over all pairs) with a
bootstrap CI.
``lin``: the Taylor error RE_lin, emitted only when the method's fitted state has ``re_lin``
(GradEx measures it on fine-tuned fitting subsets; see methods/gradex.py).
"""

from __future__ import annotations

from benchmarks.api.evaluation import Evaluation, MetricValue, summarise
from benchmarks.api.registry import register_metric
from benchmarks.common.device import on_math_threads
from benchmarks.common.formulas import relative_error
from benchmarks.common.schema import BoardColumn

DEFINITIONS = {
    "est": "percent: 100 x mean over held-out (subset, target) of "
           "(|F - pred| / (max(|F|, |pred|) + 1e-8))^2",
    "lin": "percent: the same error between the linearised and fine-tuned models on fitting "
           "subsets (RE_lin, GradEx only)",
}


@register_metric("relerr", higher_is_better=False, definitions=DEFINITIONS,
                 columns={"est": BoardColumn("RelErr %", 70, overview=True)})
@on_math_threads
def relerr(ev: Evaluation) -> list[MetricValue]:
    """RE_est over evaluation subsets, plus RE_lin from the method's state if it has one."""
    per_target = 100.0 * relative_error(ev.eval_F, ev.predictions).mean(0)
    rows = [summarise(per_target, "est", "eval", ev.seed_key, 0)]
    re_lin = (ev.method_state or {}).get("re_lin")
    if re_lin is not None:
        rows.append(MetricValue("lin", "fit", float(re_lin)))
    return rows
