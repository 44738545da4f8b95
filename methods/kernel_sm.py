"""KernelSM: RBF kernel ridge regression on subset masks (METHODS.md §2.7; KernelSM paper).

``gamma``/``lam`` = "cv" selects them by K-fold CV on the fitting subsets only (gamma around the
median heuristic, lambda in 1e-6..1e2); numbers fix them (the repo: gamma = 1/K, lam = 1e-2,
no centring). Unit scores are read off the fitted surrogate g:
``loo`` (R1, default) g(1) - g(1 - e_k); ``main`` (R2) mean g over sampled subsets with s_k = 1
minus with s_k = 0; ``contains`` (R3) mean g over subsets containing k; ``grad`` (R4) dg/ds_k
at s = 1. Predictions for held-out subsets use g directly. ``main`` and ``contains`` sample the
task's subset design; fitted on plain arrays (no task), the design the fitting subsets show
(``fitted_design``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.api.context import Context
from benchmarks.api.method import Fitted, Method, Need
from benchmarks.api.registry import register_method
from benchmarks.common.spec import SubsetDesign, derive_seed, param
from benchmarks.groundtruth.subsets import draw_mask
from benchmarks.oracles.gradex import LOSS_FORMS
from benchmarks.oracles.labels import label_source
from methods._common.krr import (
    GAMMA_FACTORS,
    KRR,
    LAMBDA_GRID,
    cv_select,
    fit_krr,
    median_gamma,
    sq_dists,
)
from methods._common.taskgrads import needs_retraining_task

READOFFS = ("loo", "main", "contains", "grad")


@register_method("kernel_sm")
@dataclass(frozen=True)
class KernelSM(Method):
    """Kernel surrogate model; hyper-parameters by CV unless fixed."""

    additive = False  # a kernel ridge regression on masks

    gamma: float | str = param("cv", "RBF width exp(-gamma ||s - s'||^2): 'cv' (K-fold CV around "
                               "the median heuristic), 'auto' (1/K) or a positive number",
                               choices=("cv", "auto"), gt=0)
    lam: float | str = param("cv", "kernel ridge penalty: 'cv' (K-fold CV over 1e-6..1e2) or a "
                             "positive number", choices=("cv",), gt=0)
    center: bool = param(True, "subtract the mean label before the ridge fit")
    folds: int = param(5, "folds of the cross-validation", ge=2)
    readoff: str = param("loo", "unit scores from the surrogate: loo (R1), main (R2), contains "
                         "(R3) or grad (R4)", choices=READOFFS)
    n_mc: int = param(10_000, "Monte-Carlo subsets of the main and contains read-offs", ge=1)
    labels: str = param("retrain", "label oracle of the fitting subsets: 'retrain' or e.g. "
                        "'gradex:m=256'")
    max_labels: int = param(0, "use at most this many fitting labels (0 = every label the "
                            "oracle has)", ge=0, extension=True)
    needs = frozenset({Need.FIT_LABELS})
    tiny = {"n_mc": 500}

    def __post_init__(self) -> None:
        for name in ("gamma", "lam"):  # 1 and 1.0 are one configuration, with one key
            v = getattr(self, name)
            if isinstance(v, int) and not isinstance(v, bool):
                object.__setattr__(self, name, float(v))

    @property
    def loss_forms(self) -> frozenset[str] | None:
        """GradEx labels need a loss GradEx solves; retrained labels need nothing."""
        return None if self.labels == "retrain" else LOSS_FORMS

    def skip(self, task) -> str | None:
        """GradEx labels need a trained model; retrained labels need only the store."""
        return needs_retraining_task(task) if self.labels != "retrain" else None

    @property
    def display(self) -> str:
        tuned = "CV" if "cv" in (self.gamma, self.lam) else f"γ={self.gamma}, λ={self.lam}"
        suffix = label_source(self.labels, self.max_labels)
        return f"KernelSM ({tuned})" + suffix

    def fit(self, ctx: Context) -> Fitted:
        S, Y = ctx.fit.masks, ctx.fit.values
        K = S.shape[1]
        gamma = 1.0 / K if self.gamma == "auto" else self.gamma
        gammas = [median_gamma(S) * f for f in GAMMA_FACTORS] if gamma == "cv" else [gamma]
        lams = list(LAMBDA_GRID) if self.lam == "cv" else [self.lam]
        cv_err = None
        if len(gammas) * len(lams) > 1:
            gamma, lam, cv_err = cv_select(S, Y, gammas, lams, self.folds, ctx.seed,
                                           self.center)
        else:
            gamma, lam = gammas[0], lams[0]
        krr = fit_krr(S, Y, gamma, lam, center=self.center)
        scores = self._readoff(krr, K, ctx)
        return Fitted(scores, np.zeros(Y.shape[1]),
                      {"krr": krr, "gamma": gamma, "lam": lam, "cv_err": cv_err})

    def predict(self, fitted: Fitted, masks: np.ndarray) -> np.ndarray:
        return fitted.state["krr"].predict(masks)

    def _readoff(self, krr: KRR, K: int, ctx) -> np.ndarray:
        """Unit scores ``(K, n_targets)`` from the fitted surrogate (METHODS.md §2.7, R1-R4)."""
        ones = np.ones((1, K), dtype=bool)
        if self.readoff == "loo":
            return krr.predict(ones) - krr.predict(~np.eye(K, dtype=bool))
        if self.readoff == "grad":
            kvec = np.exp(-krr.gamma * sq_dists(ones, krr.S))[0]
            return -2.0 * krr.gamma * ((1.0 - krr.S) * kvec[:, None]).T @ krr.theta
        design = ctx.task.spec.design if ctx.task is not None else fitted_design(ctx.fit.masks)
        sample = np.stack([draw_mask(design, K, derive_seed(ctx.seed, "mc", u))
                           for u in range(self.n_mc)])
        g = krr.predict(sample)
        inc = sample.astype(np.float64)
        with_k = (inc.T @ g) / np.maximum(inc.sum(0), 1)[:, None]
        if self.readoff == "contains":
            return with_k
        without_k = ((1 - inc).T @ g) / np.maximum((1 - inc).sum(0), 1)[:, None]
        return with_k - without_k


def fitted_design(masks: np.ndarray) -> SubsetDesign:
    """The sampler fitting subsets ``(m, K)`` look drawn from, where no task names one: fixed
    size where every subset has the same size, else Bernoulli at their mean share of units."""
    sizes, K = masks.sum(1), masks.shape[1]
    if (sizes == sizes[0]).all():
        return SubsetDesign(sampler="fixed", alpha=float(sizes[0]) / K)
    return SubsetDesign(sampler="bernoulli", alpha=float(sizes.mean()) / K)
