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

from benchmarks.api.context import Context
from benchmarks.api.method import Fitted, Method, Need
from benchmarks.api.registry import register_method
from benchmarks.common.spec import param
from benchmarks.oracles.gradex import LOSS_FORMS
from benchmarks.oracles.labels import label_source
from methods._common.taskgrads import needs_retraining_task

RIDGE_GRID = tuple(float(a) for a in np.logspace(-4, 3, 15))
_LABELS = {"ols": "Linear (OLS+intercept)", "ridge": "Linear (ridge CV+intercept)",
           "minnorm": "Linear (repo: min-norm, no intercept)"}


@register_method("linear_surrogate")
@dataclass(frozen=True)
class LinearSurrogate(Method):
    """Datamodels-style regression of F on the K unit indicators."""

    fit_type: str = param("ols", "regression: least squares with intercept, ridge (CV penalty) "
                          "with intercept, or min-norm without intercept", choices=tuple(_LABELS))
    labels: str = param("retrain", "label oracle of the fitting subsets: 'retrain' or e.g. "
                        "'gradex:m=256'")
    max_labels: int = param(0, "use at most this many fitting labels (0 = every label the "
                            "oracle has)", ge=0, extension=True)
    needs = frozenset({Need.FIT_LABELS})

    @property
    def loss_forms(self) -> frozenset[str] | None:
        """GradEx labels need a loss GradEx solves; retrained labels need nothing."""
        return None if self.labels == "retrain" else LOSS_FORMS

    def skip(self, task) -> str | None:
        """GradEx labels need a trained model; retrained labels need only the store."""
        return needs_retraining_task(task) if self.labels != "retrain" else None

    @property
    def display(self) -> str:
        return _LABELS[self.fit_type] + label_source(self.labels, self.max_labels)

    def fit(self, ctx: Context) -> Fitted:
        S = ctx.fit.masks.astype(np.float64)
        Y = ctx.fit.values
        if self.fit_type == "ridge":
            from sklearn.linear_model import RidgeCV  # lazily: a second of start-up

            model = RidgeCV(alphas=RIDGE_GRID, fit_intercept=True).fit(S, Y)
            return Fitted(model.coef_.T.copy(), np.atleast_1d(model.intercept_).copy(),
                          {"alpha": float(model.alpha_)})
        if self.fit_type == "minnorm":
            beta = np.linalg.lstsq(S, Y, rcond=None)[0]
            return Fitted(beta, np.zeros(Y.shape[1]), {})
        coef = np.linalg.lstsq(np.hstack([np.ones((len(S), 1)), S]), Y, rcond=None)[0]
        return Fitted(coef[1:], coef[0], {})
