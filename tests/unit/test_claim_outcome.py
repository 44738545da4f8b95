"""The claims' outcome rule: holds only beyond the noise, fails only beyond it the other way,
and ``within noise`` between; the noise is the larger of a row's CI half-width and the measured
spread of its metric, read from ``bench.json``."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from benchmarks.api.claims import ClaimRow, Noise, ratio_noise
from leaderboard import claims


def _claim(margin: float, noise: float = math.nan) -> ClaimRow:
    return ClaimRow("C", "t", "ours", "paper", "tol", margin, noise)


@pytest.mark.parametrize(("margin", "noise", "outcome"), [
    (0.03, 0.01, "holds"), (0.01, 0.01, "within noise"), (-0.005, 0.01, "within noise"),
    (-0.02, 0.01, "fails"), (0.001, math.nan, "holds"), (-0.001, math.nan, "fails"),
    (math.nan, 0.01, "missing"),
])
def test_outcome(margin, noise, outcome):
    assert _claim(margin, noise).outcome == outcome
    assert list(_claim(margin, noise).as_dict()) == list(claims.COLUMNS)


def _row(metric: str, variant: str, lo: float, hi: float) -> pd.Series:
    return pd.Series({"metric": metric, "variant": variant, "value": (lo + hi) / 2,
                      "ci_low": lo, "ci_high": hi})


def test_noise_is_the_larger_of_ci_and_measured_spread(tmp_path):
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"reproducibility": {"spread_native": {
        "kernel_sm lds/spearman/eval": 0.012, "linear_surrogate lds/spearman/eval": 0.02,
        "kernel_sm residual/repo/eval": 0.001}}}))
    noise = Noise.measured(bench)
    assert noise.spread == {"lds/spearman": 0.02, "residual/repo": 0.001}
    assert noise.of(_row("lds", "spearman", 0.5, 0.52)) == pytest.approx(0.02)
    assert noise.of(_row("residual", "repo", 0.5, 0.6)) == pytest.approx(0.05)
    assert math.isnan(noise.of(_row("selection", "loss@k", math.nan, math.nan)))
    assert noise.of(None, _row("lds", "spearman", 0.0, 0.1)) == pytest.approx(0.05)
    assert Noise.measured(tmp_path / "absent.json").spread == {}


def test_ratio_noise_is_first_order():
    assert ratio_noise(0.5, 1.0, 0.1, 2.0, 0.2) == pytest.approx(0.5 * (0.1 + 0.1))
    assert math.isnan(ratio_noise(0.5, 1.0, math.nan, 2.0, 0.2))


def test_claims_written_before_outcomes_are_read_as_holds_or_fails(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text("claim,task,ours,paper,tolerance,holds,profile\n"
                    "C,t,o,p,tol,True,quick\nC,u,o,p,tol,False,quick\n")
    df = claims.read(path)
    assert list(df.outcome) == ["holds", "fails"] and df.margin.isna().all()


def test_rewriting_claims_written_before_outcomes_keeps_only_todays_columns(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text("claim,task,ours,paper,tolerance,holds,profile\nC,t,o,p,tol,True,tiny\n"
                    "C,t,o,p,tol,False,quick\n")
    new = pd.DataFrame([_claim(0.5, 0.1).as_dict()])
    claims.write(new, "quick", path)
    df = pd.read_csv(path)
    assert list(df.columns) == [*claims.COLUMNS, "profile"]
    assert list(zip(df.profile, df.outcome, strict=True)) == [("tiny", "holds"),
                                                             ("quick", "holds")]
