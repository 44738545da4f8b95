"""A method's fit, its scores and predictions, and every metric are bit-identical whatever the
process's thread counts (torch intra-op threads, numpy's and scipy's OpenBLAS threads): they run
on one math thread (``device.math_threads``), as ground truth and every stored model do
(tests/exact/test_threads.py). Without it, 2 threads moved quick-profile scores by up to 1e-9
and metric values by up to 5e-5 (through GradEx labels), and CG's scores here by 1e-3.

Each check runs the runner's path (``fit_method``, ``method_scores``, ``method_predict``, the
registered metrics) once on 1 torch and 1 BLAS thread and once on 2 of each, in one process,
and compares the bits: float64 scores and predictions with ``np.array_equal``, metric rows
value, CI and counts included.
"""

from __future__ import annotations

import contextlib
import shutil

import numpy as np
import pytest
import scipy.linalg  # noqa: F401  scipy's OpenBLAS loaded, so process_threads reaches it too
import torch
from threadpoolctl import threadpool_info, threadpool_limits

import benchmarks.common.device as devices
import benchmarks.oracles.fit as fit
from benchmarks.api.context import Context, LabelSet, seed_key
from benchmarks.api.evaluation import Evaluation
from benchmarks.api.method import make_method
from benchmarks.api.registry import METRICS
from benchmarks.oracles import memo
from benchmarks.oracles.fit import fit_method, method_predict, method_scores

# gradient methods of every family (exact, CG, EK-FAC, dual IF; TRAK, TracIn, Grad-Dot, GradEx,
# the parameter weighting) and the surrogates, among them those fitted on GradEx labels (whose
# oracle computes them inside the fit): on tiny modular addition each of the gradient methods
# changed with the thread count before the fix
GRADIENT = (("influence", {}), ("influence", {"solver": "cg"}), ("influence", {"solver": "ekfac"}),
            ("influence_dual", {}), ("trak", {}), ("tracin", {}), ("grad_dot", {}),
            ("gradex", {}), ("kernel_sm", {"labels": "gradex"}),
            ("linear_surrogate", {"fit_type": "ridge", "labels": "gradex"}),
            ("param_weighted", {"base": "influence"}))
# the label-only surrogates: their numpy/scipy solves split over OpenBLAS threads once the label
# set is large enough (the quick digits cell, 3,000 subsets x 500 units, moved by 1e-12)
SURROGATES = (("linear_surrogate", {}), ("linear_surrogate", {"fit_type": "ridge"}),
              ("linear_surrogate", {"fit_type": "minnorm"}), ("kernel_sm", {}),
              ("kernel_sm", {"gamma": "auto", "lam": 0.01, "center": False}))
THREADS = ((1, 1), (2, 2))  # (torch threads, BLAS threads) of the process


@contextlib.contextmanager
def process_threads(torch_n: int, blas_n: int):
    """The process's counts, as a user's shell sets them (restored afterwards)."""
    before = torch.get_num_threads()
    torch.set_num_threads(torch_n)
    try:
        with threadpool_limits(limits=blas_n, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)


def _cell(task, store, method, eval_masks, eval_F, loo_delta, flipped=None, groups=None):
    """What ``runner.run_cell`` computes for one cell, as arrays and metric rows."""
    shutil.rmtree(store.path / "gradex", ignore_errors=True)  # labels made in this fit
    memo.release()  # and the gradients, curvature and features (oracles.memo)
    _, fitted = fit_method(task, store, method)
    scores = method_scores(method, fitted)
    pred = method_predict(method, fitted, eval_masks)
    ev = Evaluation(eval_masks, eval_F, pred, scores, loo_delta, f"{seed_key(task)}/{method.key}",
                    fitted.self_influence, flipped, method_state=fitted.state,
                    target_groups=groups)
    rows = {name: [(v.variant, v.split, v.value, v.ci_low, v.ci_high, v.n_targets, v.n_dropped)
                   for v in fn(ev)]
            for name, fn in METRICS.items() if not (name == "loo_corr" and loo_delta is None)}
    return scores, pred, rows


def _assert_same(a, b, what):
    (sa, pa, ra), (sb, pb, rb) = a, b
    assert sa.dtype == np.float64 and pa.dtype == np.float64, what
    assert np.array_equal(sa, sb), f"{what}: scores differ by {np.abs(sa - sb).max():.1e}"
    assert np.array_equal(pa, pb), f"{what}: predictions differ by {np.abs(pa - pb).max():.1e}"
    assert ra.keys() == rb.keys(), what
    for name in ra:
        assert _same_rows(ra[name], rb[name]), f"{what}: {name} rows differ: {ra[name]} {rb[name]}"


def _same_rows(a, b) -> bool:
    """Row by row: names equal, numbers bit-equal (NaN equal to NaN: a pooled row has no CI)."""
    return len(a) == len(b) and all(
        x[:2] == y[:2]
        and np.array_equal(np.array(x[2:], float), np.array(y[2:], float), equal_nan=True)
        for x, y in zip(a, b, strict=True))


def test_two_blas_threads_are_reachable():
    """The BLAS comparison means something only if the limit can raise BLAS to 2 threads."""
    with process_threads(2, 2):
        assert {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"} \
            == {2}
        with devices.math_threads():
            assert torch.get_num_threads() == 1
            assert {lib["num_threads"] for lib in threadpool_info()} == {1}
        assert torch.get_num_threads() == 2  # restored
        assert {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"} \
            == {2}


@pytest.mark.parametrize("name,params", GRADIENT, ids=lambda x: str(x))
def test_gradient_method_bits_do_not_depend_on_threads(tiny_addition, name, params):
    task, store = tiny_addition
    method = make_method(name, params)
    eval_masks = store.rows.masks[store.rows.index("eval")]
    eval_F = store.mean(task.primary, "eval")
    loo = store.mean(task.primary, "full") - store.mean(task.primary, "loo")
    out = []
    for t, b in THREADS:
        with process_threads(t, b):
            out.append(_cell(task, store, method, eval_masks, eval_F, loo))
    _assert_same(*out, method.key)


@pytest.fixture
def many_labels(tiny_addition, monkeypatch):
    """The tiny task's context, with a float64 label set large enough for OpenBLAS to split its
    products over threads (600 subsets of 400 units, 60 targets), and evaluation truth for it."""
    task, store = tiny_addition
    rng = np.random.default_rng(0)
    K, m, m_eval, T = 400, 600, 200, 60
    coef = rng.normal(size=(K, T)) / np.sqrt(K)
    masks = rng.random((m + m_eval, K)) < 0.5
    F = masks @ coef + 0.3 * np.sin(masks[:, :T] * 3.0) + 0.05 * rng.normal(size=(m + m_eval, T))

    def build(task_, store_, method, output=None):
        return Context(task=task_, seed=7, fit=LabelSet(masks[:m], F[:m], float(m)))

    monkeypatch.setattr(fit, "build_context", build)
    return task, store, masks[m:], F[m:], rng.normal(size=(K, T))


@pytest.mark.parametrize("name,params", SURROGATES, ids=lambda x: str(x))
def test_surrogate_bits_do_not_depend_on_blas_threads(many_labels, name, params):
    task, store, eval_masks, eval_F, loo = many_labels
    method = make_method(name, params)
    out = []
    for t, b in THREADS:
        with process_threads(t, b):
            out.append(_cell(task, store, method, eval_masks, eval_F, loo))
    _assert_same(*out, method.key)


def test_metrics_do_not_depend_on_blas_threads():
    """The pooled LOO Pearson over 50,000 (unit, target) pairs is a BLAS dot product that
    2 OpenBLAS threads sum in another order (measured: 2e-18 apart before the fix)."""
    rng = np.random.default_rng(1)
    K, T, m = 500, 100, 200
    ev = Evaluation(rng.random((m, K)) < 0.5, rng.normal(size=(m, T)), rng.normal(size=(m, T)),
                    rng.normal(size=(K, T)), rng.normal(size=(K, T)), "threads",
                    self_influence=-rng.random(K), flipped=np.arange(K) < 50,
                    method_state={"re_lin": 1.0}, target_groups=(np.arange(50), np.arange(50, T)))
    out = []
    for t, b in THREADS:
        with process_threads(t, b):
            out.append({name: [(v.variant, v.split, v.value, v.ci_low, v.ci_high) for v in fn(ev)]
                        for name, fn in METRICS.items()})
    for name in out[0]:
        assert _same_rows(out[0][name], out[1][name]), name


# LDS rows computed before the vectorised Spearman (commit 360c67b: scipy's ``spearmanr`` per
# target) differ from today's in the last bits: the committed quick rows of digits-logreg,
# modular-addition-ft and fmnist-class-ft predate it, and a fresh single-threaded run reproduces
# every other metric row exactly but 63 LDS rows only to 3.3e-16. The rounding of the two
# forms, not a thread or an ordering: per target within 2 ulp of 1, a mean within this bound.
LDS_OLD_FORM_TOL = 1e-15


def test_lds_agrees_with_the_per_target_scipy_form_to_the_stated_tolerance():
    from scipy.stats import spearmanr

    from benchmarks.metrics.lds import per_target_spearman

    rng = np.random.default_rng(3)
    for m, T in ((100, 100), (64, 192), (50, 200)):  # the three quick cells' eval shapes
        true = rng.normal(size=(m, T))
        true[:, ::7] = np.round(true[:, ::7] * 2)  # ties, as in accuracy-like targets
        pred = 0.5 * true + rng.normal(size=(m, T))
        new = per_target_spearman(pred, true)
        old = np.array([spearmanr(pred[:, t], true[:, t]).statistic for t in range(T)])
        assert np.abs(new - old).max() <= 2 * np.finfo(float).eps
        assert abs(new.mean() - old.mean()) <= LDS_OLD_FORM_TOL
