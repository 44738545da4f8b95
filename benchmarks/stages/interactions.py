"""Interaction map: how much of F is seed noise, additive, pairwise, and does KernelSM's lead
over the ridge linear surrogate follow the interactions?

On every cell (built-in or imported ground truth), from the store's own labels, in memory:

* **noise share** ``nu``: the share of the across-subset variance of the stored F (the seed
  average every method is fitted to and scored on) that is seed noise. Over the design's
  subsets (fitting and held-out rows), the measurements ``y_jr`` (row j, seed r) are read as
  ``f_g(j) + c_r + e_jr``: the subset's F, an offset of seed r shared by every subset (the
  suite's shared seeds: it moves no subset against another) and noise. Every row has all R
  seeds, so the fit is closed-form and the noise variance of one measurement is
  ``s2_t = sum_jr (y_jr,t - mean_g(j),t - (mean_.r,t - mean_..,t))^2 / (mR - G - (R - 1))``
  (G distinct subsets; rows repeating a subset, as imports may hold, are measured together).
  A row's F is the mean of R seeds, so ``nu = sum_t (s2_t / R) / sum_t Var_j(F_j,t)`` (Bessel):
  pooled over targets, each weighted by its variance, so that a near-constant target cannot
  dominate a share of F's variation; NaN when no subset was measured twice.
* **held-out R^2** on the store's evaluation subsets, pooled over targets (``1 - sum_t SS_res
  / sum_t SS_tot``: the share of held-out variation explained, each target weighted by its
  variance, as the noise share is; a per-target mean let near-constant targets of digits reach
  R^2 = -27 and swamp it), of three surrogates
  fitted on n fitting rows: *additive*, the suite's ridge linear surrogate (RidgeCV on masks);
  *pairwise*, RidgeCV on masks plus every product ``s_i s_j`` (i < j), the product columns
  scaled by ``c`` (a penalty ``1/c^2`` times the main effects'; ``c = 0`` is the additive fit)
  with c and the penalty chosen by leave-one-out CV on the fitting rows; *kernel*, the suite's
  KernelSM (``kernel_sm`` defaults, CV on the fitting rows). Penalties never see held-out rows.
* **interaction share**, fixed before any number was seen: ``(R2_pairwise - R2_additive) /
  (1 - nu)``, the share of the explainable (non-noise) held-out variance that pairwise terms
  capture beyond the additive fit; ``nu`` read as 0 where unknown (then a share of all
  held-out variance), NaN where ``1 - nu < 0.1`` (too noisy to tell). The pairwise model, not
  KernelSM, defines it, so the x-axis of the figure is not the y-axis's own fit.
* **LDS gap**: KernelSM's LDS minus the ridge surrogate's (the suite's ``lds``/``spearman``).

Each at n = ``per_unit`` x K fitting rows (a random draw seeded by ``derive_seed(task.seed_key,
"interactions", n)``) and at every fitting row; at every row the gap is the cell's own result
rows where the cell ran both methods (the same fit), else computed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.api.method import make_method
from benchmarks.api.registry import register_stage
from benchmarks.api.stage import CellInputs, Stage, StageOutput, Table
from benchmarks.api.task import Task
from benchmarks.common.spec import derive_seed
from benchmarks.common.tables import read_table
from benchmarks.stages.resplits import file_lds, fit_predict, lds_spearman
from methods.linear_surrogate import RIDGE_GRID

CSV = "interactions.csv"
COLUMNS = ("task", "task_key", "profile", "regime", "K", "n", "noise_share", "r2_additive",
           "r2_pairwise", "r2_kernel", "interaction_share", "lds_gap")
KERNEL = ("kernel_sm", {})
RIDGE = ("linear_surrogate", {"fit_type": "ridge"})
MIN_EXPLAINABLE = 0.1  # 1 - noise share below this: no interaction share


def noise_share(values: np.ndarray, masks: np.ndarray) -> float:
    """Seed-noise share of the across-subset variance of seed-averaged F (module docstring):
    ``values (m, R, n_targets)`` of subsets ``masks (m, K)``."""
    m, R, T = values.shape
    group = np.unique(masks, axis=0, return_inverse=True)[1].ravel()  # (m,): each row's subset
    G = int(group.max()) + 1
    dof = m * R - G - (R - 1)
    if dof <= 0:
        return float("nan")
    row_mean = values.mean(1)  # (m, T)
    sums = np.zeros((G, T))
    np.add.at(sums, group, row_mean)
    subset_mean = sums / np.bincount(group, minlength=G)[:, None]  # (G, T)
    seed_effect = values.mean(0) - values.mean((0, 1))  # (R, T): shared across subsets
    resid = values - subset_mean[group][:, None] - seed_effect[None]  # (m, R, T)
    noise = (resid**2).sum((0, 1)) / dof  # (T,): one measurement's noise variance
    total = row_mean.var(0, ddof=1)  # (T,)
    keep = total > 0
    return float(noise[keep].sum() / R / total[keep].sum()) if keep.any() else float("nan")


def heldout_r2(predictions: np.ndarray, truth: np.ndarray) -> float:
    """Pooled ``1 - sum_t SS_res / sum_t SS_tot`` over targets (``(m_e, n_targets)`` arrays);
    NaN where the held-out truth is constant."""
    ss_tot = ((truth - truth.mean(0)) ** 2).sum()
    ss_res = ((truth - predictions) ** 2).sum()
    return float(1.0 - ss_res / ss_tot) if ss_tot > 0 else float("nan")


def pair_products(masks: np.ndarray) -> np.ndarray:
    """``(n, K) -> (n, K (K - 1) / 2)``: ``s_i s_j`` for every i < j."""
    i, j = np.triu_indices(masks.shape[1], k=1)
    S = masks.astype(np.float64)
    return S[:, i] * S[:, j]


def pair_gram(A: np.ndarray, B: np.ndarray, c: float) -> np.ndarray:
    """Inner products ``(len(A), len(B))`` of the pairwise design ``[s, c * pair_products(s)]``
    without forming it: for 0/1 masks ``sum_{i<j} s_i s_j t_i t_j = ((s.t)^2 - s.t) / 2``."""
    dot = A.astype(np.float64) @ B.astype(np.float64).T
    return dot + c * c * (dot * dot - dot) / 2.0


def _centred(G: np.ndarray, G_eval: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Gram matrices of features centred on the fitting rows' mean (the unpenalised
    intercept): ``G (n, n)`` fit x fit, ``G_eval (m_e, n)`` eval x fit."""
    col = G.mean(0)  # (n,): <mean feature, row j>
    G_c = G - col[None] - col[:, None] + col.mean()
    return G_c, G_eval - G_eval.mean(1, keepdims=True) - col[None] + col.mean()


def ridge_loo(G: np.ndarray, Y: np.ndarray, alphas: tuple[float, ...]) -> tuple[float, float]:
    """(mean squared leave-one-out error over rows and targets, its penalty) of ridge with an
    unpenalised intercept on a centred Gram matrix ``G (n, n)``, ``Y (n, n_targets)`` (the
    closed form RidgeCV uses: residual ``/ (1 - h_ii)``)."""
    w, V = np.linalg.eigh(G)
    w = np.maximum(w, 0.0)
    proj = V.T @ (Y - Y.mean(0))  # (n, n_targets)
    best = (np.inf, alphas[0])
    for a in alphas:
        resid = a * (V @ (proj / (w + a)[:, None]))  # Y_c - H_c Y_c
        h = (V * V) @ (w / (w + a)) + 1.0 / len(Y)  # (n,): the hat matrix's diagonal
        best = min(best, (float(np.mean((resid / (1.0 - h)[:, None]) ** 2)), a))
    return best


def pairwise_predict(S: np.ndarray, Y: np.ndarray, S_eval: np.ndarray,
                     scales: tuple[float, ...]) -> np.ndarray:
    """Ridge on masks plus ``c``-scaled pairwise products, ``c`` and the penalty by
    leave-one-out CV on ``S (n, K)``, ``Y (n, n_targets)`` (in its dual form: n x n Gram
    matrices, never the K^2 / 2 columns); predictions ``(m_e, n_targets)``."""
    def gram(c: float) -> tuple[np.ndarray, np.ndarray]:
        return _centred(pair_gram(S, S, c), pair_gram(S_eval, S, c))

    _, alpha, c = min((*ridge_loo(gram(c)[0], Y, RIDGE_GRID), c) for c in scales)
    G_c, G_eval = gram(c)
    beta = np.linalg.solve(G_c + alpha * np.eye(len(S)), Y - Y.mean(0))  # (n, n_targets)
    return Y.mean(0) + G_eval @ beta


def fit_sizes(K: int, n_fit: int, per_unit: int) -> list[int]:
    """The fitting-row counts measured: ``per_unit * K`` (when below every row) and all."""
    return sorted({min(per_unit * K, n_fit), n_fit})


def draw(task: Task, n_fit: int, n: int) -> np.ndarray:
    """Positions of ``n`` of the ``n_fit`` fitting rows at random (all, in order, when n
    covers them)."""
    if n >= n_fit:
        return np.arange(n_fit)
    rng = np.random.default_rng(derive_seed(task.seed_key, "interactions", n))
    return np.sort(rng.choice(n_fit, size=n, replace=False))


def record_gap(records: tuple[dict, ...]) -> float | None:
    """KernelSM's minus the ridge surrogate's LDS from the cell's records (None: the cell did
    not run both)."""
    by_key = {r.get("method_key"): file_lds(r) for r in records}
    kernel, ridge = (by_key.get(make_method(*m).key) for m in (KERNEL, RIDGE))
    return None if kernel is None or ridge is None else kernel - ridge


def measure(task: Task, S: np.ndarray, Y: np.ndarray, S_eval: np.ndarray, truth: np.ndarray,
            scales: tuple[float, ...]) -> dict:
    """Held-out R^2 of the three surrogates fitted on ``S (n, K)``, ``Y (n, n_targets)``, and
    the LDS gap, on ``S_eval (m_e, K)`` against ``truth (m_e, n_targets)``."""
    pred = {name: fit_predict(task, make_method(*m), S, Y, S_eval)
            for name, m in (("additive", RIDGE), ("kernel", KERNEL))}
    pred["pairwise"] = pairwise_predict(S, Y, S_eval, scales)
    out = {f"r2_{k}": heldout_r2(p, truth) for k, p in pred.items()}
    out["lds_gap"] = lds_spearman(pred["kernel"], truth) - lds_spearman(pred["additive"], truth)
    return out


def interaction_share(r2_additive: float, r2_pairwise: float, noise: float) -> float:
    """``(R2_pairwise - R2_additive) / (1 - noise)`` (module docstring)."""
    explainable = 1.0 - (0.0 if np.isnan(noise) else noise)
    return (r2_pairwise - r2_additive) / explainable if explainable >= MIN_EXPLAINABLE \
        else float("nan")


@register_stage("interactions")
@dataclass(frozen=True)
class Interactions(Stage):
    """Noise share, held-out R^2 of additive / pairwise / kernel surrogates, interaction share
    and KernelSM's LDS lead over ridge, at ``per_unit`` x K fitting rows and at all of them
    (module docstring); ``scales``: the pairwise product columns' scales tried by CV."""

    per_unit: int = 2
    scales: tuple[float, ...] = (0.0, 0.1, 0.3, 1.0, 3.0)

    def run(self, cell: CellInputs) -> StageOutput:
        task, store = cell.task, cell.store
        fit_idx, eval_idx = store.rows.index("fit"), store.rows.index("eval")
        rows = np.concatenate([fit_idx, eval_idx])  # the design's subsets
        noise = noise_share(store.array(task.primary)[rows], store.rows.masks[rows])
        S, Y = store.rows.masks[fit_idx], store.mean(task.primary, "fit")  # (n_fit, K), (n_fit, T)
        S_eval, truth = store.rows.masks[eval_idx], store.mean(task.primary, "eval")
        ident = {"task": task.label, "task_key": task.spec.key, "profile": task.spec.profile,
                 "regime": task.regime if task.trains else "imported", "K": task.K}
        out = []
        for n in fit_sizes(task.K, len(fit_idx), self.per_unit):
            pos = draw(task, len(fit_idx), n)
            m = measure(task, S[pos], Y[pos], S_eval, truth, self.scales)
            gap = record_gap(cell.records) if n == len(fit_idx) else None
            share = interaction_share(m["r2_additive"], m["r2_pairwise"], noise)
            out.append({**ident, "n": n, "noise_share": noise, **m, "interaction_share": share,
                        "lds_gap": m["lds_gap"] if gap is None else gap})
        frame = pd.DataFrame(out)[list(COLUMNS)]
        return StageOutput(tables=[Table(CSV, frame, ("task_key", "profile", "n"))])

    def report(self, out_dir: Path) -> str:
        if not (out_dir / CSV).exists():
            return ""
        table = read_table(out_dir / CSV)
        cols = ["task", "profile", "n", "noise_share", "r2_additive", "r2_pairwise", "r2_kernel",
                "interaction_share", "lds_gap"]
        with pd.option_context("display.width", 200):
            return ("interaction map (held-out R^2 mean over targets; share of explainable "
                    "variance)\n" + table[cols].to_string(index=False, float_format="%.3g"))
