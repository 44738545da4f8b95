"""KernelSM's checks as the paper states them (issue 31): C4 not applicable from scratch, C1
judged only where the cell is near-linear (with the LOO noise ceiling shown), C2 by the
abstract's relative LOO gain beside the absolute LDS gap, C3 without the variance filter on
modular cells, C6 against min-norm and random subsets, and ``where`` a failing C2/C3 check
would hold on the cell's label curve (synthetic ``label_curve`` rows)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from benchmarks.api.claims import Noise
from benchmarks.papers.kernelsm import checks
from benchmarks.papers.kernelsm.c23 import c2_c3_rows
from benchmarks.papers.kernelsm.curve import units_of, where_on_curve
from benchmarks.papers.kernelsm.paper import GRADEX, INFLUENCE, KERNEL, REPO_LINEAR, STRONG_LINEAR

LINEARS = (("repo linear", REPO_LINEAR), ("ridge linear", STRONG_LINEAR))


def _row(key: str, metric: str, variant: str, value: float, **extra) -> dict:
    return {"task": "t", "task_family": "modular-addition-ft", "task_params": "{}",
            "regime": "fine-tuned", "method": key.split("[")[0].split("-")[0],
            "method_key": key, "metric": metric, "variant": variant, "split": "eval",
            "value": value, "ci_low": math.nan, "ci_high": math.nan, "n_targets": 10,
            "n_labels": 0, "profile": "quick", **extra}


def _curve(key: str, variant: str, values: dict[int, float]) -> list[dict]:
    return [_row(key, "label_curve", variant, v, split=f"n={n}", n_labels=n)
            for n, v in values.items()]


def _cell(**over) -> pd.DataFrame:
    """One fine-tuned modular cell: LDS, residuals, LOO correlations and the LOO rows."""
    rows = [_row(KERNEL, "lds", "spearman_repo", 0.60), _row(REPO_LINEAR, "lds",
            "spearman_repo", 0.59), _row(STRONG_LINEAR, "lds", "spearman_repo", 0.50),
            _row(KERNEL, "residual", "repo", 0.30), _row(REPO_LINEAR, "residual", "repo", 0.40),
            _row(STRONG_LINEAR, "residual", "repo", 0.90),
            _row(KERNEL, "residual", "ne", 0.20), _row(REPO_LINEAR, "residual", "ne", 0.30),
            _row(STRONG_LINEAR, "residual", "ne", over.get("ridge_ne", 0.30)),
            _row(KERNEL, "loo_corr", "pearson_pooled", 0.75),
            _row(REPO_LINEAR, "loo_corr", "pearson_pooled", 0.50),
            _row(STRONG_LINEAR, "loo_corr", "pearson_pooled", 0.95),
            _row(INFLUENCE, "loo_corr", "pearson_pooled", 0.40),
            _row("loo-8395467c", "lds", "spearman", 0.7, n_labels=17)]
    return pd.DataFrame(rows + over.get("extra", []))


def test_c2_reads_the_abstracts_relative_loo_gain_beside_the_absolute_gap():
    rows = c2_c3_rows(_cell(), "t", "modular", KERNEL, LINEARS, Noise())
    loo = {r.task: r for r in rows if r.claim.startswith("C2 LOO")}
    assert loo["t vs repo linear"].outcome == "holds"  # 0.75 / 0.50 = +50%
    assert loo["t vs repo linear"].margin == pytest.approx(0.25)
    assert loo["t vs ridge linear"].outcome == "fails"  # below the ridge surrogate
    assert loo["t vs repo linear"].source == "paper text"
    lds = next(r for r in rows if r.claim.startswith("C2 LDS") and "ridge" in r.task)
    assert "0.600 vs 0.500 (+20.0%)" in lds.ours and lds.outcome == "holds"


def test_c3_adds_the_unfiltered_ne_on_modular_cells_only():
    rows = c2_c3_rows(_cell(), "t", "modular", KERNEL, LINEARS, Noise())
    c3 = {r.task: r for r in rows if r.claim.startswith("C3")}
    assert set(c3) == {"t vs repo linear", "t vs ridge linear",
                       "t vs repo linear (NE, no variance filter)",
                       "t vs ridge linear (NE, no variance filter)"}
    assert c3["t vs repo linear (NE, no variance filter)"].ours == "0.200/0.300 = 0.67"
    icl = c2_c3_rows(_cell(), "t", "icl", KERNEL, LINEARS, Noise())
    assert not any("no variance filter" in r.task for r in icl)


def test_where_names_the_smallest_n_on_the_label_curve():
    curve = (_curve(KERNEL, "lds", {32: 0.50, 64: 0.58, 96: 0.60})
             + _curve(REPO_LINEAR, "lds", {32: 0.50, 64: 0.57, 96: 0.55})
             + _curve(KERNEL, "ne", {32: 0.9, 64: 0.8}) + _curve(REPO_LINEAR, "ne", {32: 1, 64: 1}))
    rows = c2_c3_rows(_cell(extra=curve), "t", "modular", KERNEL, LINEARS, Noise())
    c2 = next(r for r in rows if r.claim.startswith("C2 LDS") and "repo" in r.task)
    assert c2.outcome == "fails" and c2.where == "holds from n=96 (6.0K)"  # K = 17 - 1
    c3 = next(r for r in rows if r.claim.startswith("C3") and r.task == "t vs repo linear")
    assert c3.outcome == "fails" and c3.where == "holds nowhere measured (n ≤ 64)"
    ridge = next(r for r in rows if r.claim.startswith("C2 LDS") and "ridge" in r.task)
    assert ridge.outcome == "holds" and ridge.where == ""  # a holding check names no where
    ridge_ne = next(r for r in rows if r.task == "t vs ridge linear (NE, no variance filter)")
    assert ridge_ne.outcome == "fails" and ridge_ne.where == "no curve"  # no ridge curve


def test_where_says_when_the_rule_breaks_again_further_on():
    g = pd.DataFrame(_curve(KERNEL, "lds", {16: 0.5, 32: 0.6, 64: 0.5})
                     + _curve(STRONG_LINEAR, "lds", {16: 0.5, 32: 0.5, 64: 0.5}))
    text = where_on_curve(g, KERNEL, STRONG_LINEAR, "lds", lambda a, b: a - b > 0.02)
    assert text == "first holds at n=32, not at every larger n"
    assert units_of(g) is None  # no LOO rows: n is not shown in units of K


def test_c1_is_judged_only_where_near_linear_and_shows_the_loo_ceiling():
    ceiling = [_row(STRONG_LINEAR, "loo_ceiling", "split_half", 0.81),
               _row(STRONG_LINEAR, "if_agreement", "pearson_pooled", 0.3)]
    near = checks.claims(_cell(extra=ceiling), "quick", Noise())
    c1 = [r for r in near if r.claim.startswith("C1")]
    assert {r.outcome for r in c1} == {"holds", "fails"}
    assert "(LOO split-half ρ 0.81, ceiling √ρ 0.90)" in c1[0].ours
    far = [r for r in checks.claims(_cell(ridge_ne=0.8), "quick", Noise())
           if r.claim.startswith("C1")]
    assert {r.outcome for r in far} == {"not applicable"}
    assert far[0].not_applicable.startswith("not near-linear: ridge linear NE 0.80")
    assert "LOO ceiling missing" in far[0].ours and far[0].as_dict()["note"]


def test_c4_is_not_applicable_from_scratch_and_keeps_its_numbers():
    gradex = [_row(GRADEX, "relerr", "est", 40.0)]
    ft = [r for r in checks.claims(_cell(extra=gradex), "quick", Noise())
          if r.claim.startswith("C4")]
    scratch = _cell(extra=gradex).assign(regime="scratch")
    sc = [r for r in checks.claims(scratch, "quick", Noise()) if r.claim.startswith("C4")]
    assert ft[0].outcome == "fails" and sc[0].outcome == "not applicable"
    assert sc[0].ours == ft[0].ours == "RE_est 40.00%" and sc[0].margin == ft[0].margin


def test_c6_compares_with_min_norm_and_random_subsets_by_its_stated_formula():
    sel = [_row(k, "selection", "loss@k", v) for k, v in (
        (KERNEL, 0.6), (STRONG_LINEAR, 0.62), (REPO_LINEAR, 1.0), ("random-k", 0.5))]
    rows = {r.task: r for r in checks.claims(_cell(extra=sel), "quick", Noise())
            if r.claim.startswith("C6")}
    assert set(rows) == {"t vs ridge linear", "t vs repo linear", "t vs IF", "t vs random k"}
    assert rows["t vs IF"].outcome == "missing"  # IF ran on the cell, its selection did not
    assert rows["t vs repo linear"].margin == pytest.approx(0.4 - 0.2)
    assert rows["t vs random k"].outcome == "fails"
    assert "(base - KernelSM)/base" in rows["t vs ridge linear"].tolerance
