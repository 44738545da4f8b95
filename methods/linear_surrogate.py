"""Linear surrogate / datamodels on subset masks (METHODS.md §2.6).

``fit="ols"``: least squares with an intercept (min-norm, since with fixed-size subsets the
intercept is collinear with sum(s)); ``"ridge"``: ridge with an unpenalised intercept, penalty by
efficient leave-one-out CV on the fitting subsets (scikit-learn RidgeCV); ``"minnorm"``: the
KernelSM repository's variant, min-norm least squares with no intercept (``torch.linalg.lstsq``
gelss there, SVD lstsq here). Scores are the coefficients ``a_k = beta_k``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import RidgeCV

from benchmarks.method import Fitted, Method, Need
from benchmarks.oracle import label_source
from benchmarks.registry import register_method
from benchmarks.spec import SpecError, extension
from methods._common.taskgrads import needs_retraining_task

RIDGE_GRID = tuple(float(a) for a in np.logspace(-4, 3, 15))
_LABELS = {"ols": "Linear (OLS+intercept)", "ridge": "Linear (ridge CV+intercept)",
           "minnorm": "Linear (repo: min-norm, no intercept)"}


@register_method("linear_surrogate")
@dataclass(frozen=True)
class LinearSurrogate(Method):
    """Datamodels-style regression of F on the K unit indicators."""

    fit_type: str = "ols"
    labels: str = "retrain"
    max_labels: int = extension(0)
    needs = frozenset({Need.FIT_LABELS})

    def skip(self, task) -> str | None:
        """GradEx labels need a trained model; retrained labels need only the store."""
        return needs_retraining_task(task) if self.labels != "retrain" else None

    def validate(self) -> None:
        if not isinstance(self.max_labels, int) or self.max_labels < 0:
            raise SpecError("invalid config field linear_surrogate.max_labels: an integer >= 0 "
                            "(0 = every label the oracle has)")
        if self.fit_type not in _LABELS:
            raise SpecError(f"invalid config field linear_surrogate.fit_type: "
                            f"{self.fit_type!r} not in {sorted(_LABELS)}")

    @property
    def display(self) -> str:
        return _LABELS[self.fit_type] + label_source(self.labels, self.max_labels)

    def fit(self, ctx) -> Fitted:
        S = ctx.fit.masks.astype(np.float64)
        Y = ctx.fit.values
        if self.fit_type == "ridge":
            model = RidgeCV(alphas=RIDGE_GRID, fit_intercept=True).fit(S, Y)
            return Fitted(model.coef_.T.copy(), np.atleast_1d(model.intercept_).copy(),
                          {"alpha": float(model.alpha_)})
        if self.fit_type == "minnorm":
            beta = np.linalg.lstsq(S, Y, rcond=None)[0]
            return Fitted(beta, np.zeros(Y.shape[1]), {})
        coef = np.linalg.lstsq(np.hstack([np.ones((len(S), 1)), S]), Y, rcond=None)[0]
        return Fitted(coef[1:], coef[0], {})
