"""Methods and metrics on plain arrays: ``fit`` a surrogate method on one's own subsets and
labels (the ``Context`` a registered task would build, without a task), and score predictions
with the suite's metric functions (``lds``, ``residual``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.api.context import Context, LabelSet
from benchmarks.api.evaluation import Evaluation, MetricValue
from benchmarks.api.method import Fitted, Method, Need, make_method
from benchmarks.common.spec import SpecError
from benchmarks.metrics.lds import lds as lds_metric
from benchmarks.metrics.residual import residual as residual_metric
from benchmarks.oracles.fit import fit_on, method_predict, method_scores

PLAIN = frozenset({Need.FIT_LABELS, Need.FIT_MASKS})  # what (masks, F) can give a method
WHERE = {Need.MODEL: "a trained model (taskattr.attribute runs gradient methods on your own)",
         Need.LOO: "retrained leave-one-out F (taskattr.evaluate on a registered task)"}


@dataclass(frozen=True)
class Attribution:
    """A fitted method: ``scores (K, n_targets)`` (a score > 0: including the unit raises the
    target loss), ``predict(masks)`` its F for subsets ``(m, K)`` (additive methods:
    ``masks @ scores + intercept``), ``fitted`` the method's own state."""

    method: Method
    fitted: Fitted
    scores: np.ndarray

    def predict(self, masks: np.ndarray) -> np.ndarray:
        """Predicted F ``(m, n_targets)`` of subsets ``masks (m, K)``."""
        return method_predict(self.method, self.fitted, as_masks(masks, self.scores.shape[0]))

    @property
    def self_influence(self) -> np.ndarray | None:
        """``(K,)`` each unit's score on its own training loss, for methods that have one."""
        return self.fitted.self_influence


def fit(method: str, masks: np.ndarray, F: np.ndarray, *, seed: int = 0,
        **params) -> Attribution:
    """Fit a surrogate ``method`` (``kernel_sm``, ``linear_surrogate``, ...) on subsets
    ``masks (m, K)`` with labels ``F (m, n_targets)`` (one target: ``(m,)``); ``params`` are the
    method's fields (``taskattr describe``), ``seed`` its randomness (CV folds, Monte Carlo).

    >>> att = taskattr.fit("kernel_sm", gt.masks, gt.F, readoff="main")
    >>> att.scores.shape, taskattr.lds(att.predict(gt.eval_masks), gt.eval_F)
    """
    built = make_method(method, params)
    missing = built.needs - PLAIN
    if missing or Need.FIT_LABELS in built.needs and built.labels != "retrain":
        what = [WHERE.get(n, n.value) for n in sorted(missing, key=lambda n: n.value)] or [
            f"a trained model for its labels={built.labels!r} oracle"]
        raise SpecError(f"{method} cannot be fitted on (masks, F) alone: it needs "
                        f"{'; '.join(what)}")
    S = as_masks(masks)
    Y = as_values(F, len(S))
    ctx = Context(task=None, seed=seed, fit=LabelSet(S, Y, cost_retrainings=float(len(S))),
                  fit_masks=S if Need.FIT_MASKS in built.needs else None)
    fitted = fit_on(built, ctx)
    return Attribution(built, fitted, method_scores(built, fitted))


def lds(pred: np.ndarray, F: np.ndarray, variant: str = "spearman") -> float:
    """Linear datamodeling score: the mean over targets of the Spearman correlation, across
    subsets, between predictions and true F (both ``(m, n_targets)`` or ``(m,)``); targets
    with constant F are dropped. ``variant="spearman_repo"``: the KernelSM authors' form (only
    targets with held-out variance >= 0.1).

    >>> taskattr.lds(att.predict(gt.eval_masks), gt.eval_F)
    """
    return _value(lds_metric(_evaluation(pred, F)), "lds", variant)


def residual(pred: np.ndarray, F: np.ndarray, variant: str = "ne") -> float:
    """Normalised squared error of predictions: per target ``sum (pred - F)^2 / sum (F -
    mean F)^2`` over subsets, mean over non-constant targets (predicting the mean scores 1);
    ``variant="repo"``: the KernelSM authors' form (MSE / variance, filtered targets).

    >>> taskattr.residual(att.predict(gt.eval_masks), gt.eval_F)
    """
    return _value(residual_metric(_evaluation(pred, F)), "residual", variant)


def _evaluation(pred: np.ndarray, F: np.ndarray) -> Evaluation:
    """What a metric reads, from predictions and truth alone (no scores, no LOO)."""
    truth = as_values(F)
    guess = as_values(pred, len(truth))
    if guess.shape != truth.shape:
        raise ValueError(f"pred {guess.shape} and F {truth.shape} differ in shape")
    m, n_t = truth.shape
    return Evaluation(np.zeros((m, 0), dtype=bool), truth, guess, np.zeros((0, n_t)),
                      loo_delta=None, seed_key="taskattr")


def _value(values: list[MetricValue], metric: str, variant: str) -> float:
    found = {v.variant: v.value for v in values}
    if variant not in found:
        raise SpecError(f"invalid variant {variant!r} of {metric}: one of {sorted(found)}")
    return found[variant]


def as_masks(masks: np.ndarray, K: int | None = None) -> np.ndarray:
    """``(m, K)`` bool from bools or 0/1 numbers; anything else is refused."""
    arr = np.asarray(masks)
    if arr.ndim != 2 or not np.isin(arr, (0, 1)).all():
        raise ValueError(f"masks must be an (m, K) array of 0/1 or bool, got shape {arr.shape}")
    if K is not None and arr.shape[1] != K:
        raise ValueError(f"masks have {arr.shape[1]} units, the fit has K={K}")
    return arr.astype(bool)


def as_values(F: np.ndarray, m: int | None = None) -> np.ndarray:
    """``(m, n_targets)`` float64 (a vector is one target); non-finite values are refused."""
    arr = np.asarray(F, dtype=np.float64)
    arr = arr[:, None] if arr.ndim == 1 else arr
    if arr.ndim != 2 or (m is not None and len(arr) != m):
        raise ValueError(f"F must be (m{'' if m is None else f'={m}'}, n_targets), "
                         f"got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"F holds {int((~np.isfinite(arr)).sum())} non-finite values")
    return arr
