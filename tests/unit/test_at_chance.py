"""A cell whose models are at chance says so, and its claims are not meaningful: the rule of
``groundtruth.diagnostics`` (mean held-out accuracy <= chance + 2 standard errors of one
guesser's accuracy on the cell's targets), the join onto results rows, and the claims of such a
cell reading ``not applicable`` / ``not meaningful: models at chance``."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from benchmarks.api.claims import AT_CHANCE, NOT_MEANINGFUL, ClaimRow, Noise, not_meaningful
from benchmarks.api.registry import PAPERS
from benchmarks.groundtruth.diagnostics import (
    at_chance,
    chance_line,
    is_at_chance,
    with_at_chance,
)
from benchmarks.papers.kernelsm import checks
from benchmarks.papers.kernelsm.c5 import LINEAR
from benchmarks.papers.kernelsm.paper import KERNEL, REPO_LINEAR, STRONG_LINEAR

CHANCE = 1 / 11


def _diag(acc: float, chance: float | None = CHANCE, n_targets: int = 24) -> dict:
    row = {"task": "t", "task_key": "t-0", "profile": "tiny", "n_targets": n_targets,
           "mean_acc": acc}
    return row if chance is None else row | {"chance_acc": chance}


def test_the_chance_line_is_two_standard_errors_of_one_guesser():
    assert chance_line(0.5, 100) == pytest.approx(0.5 + 2 * 0.05)
    assert chance_line(CHANCE, 24) == pytest.approx(CHANCE + 2 * math.sqrt(CHANCE * (1 - CHANCE)
                                                                             / 24))


def test_a_diag_at_chance_is_flagged_and_one_above_is_not():
    line = at_chance(_diag(0.0))  # the run: 0 held-out accuracy, chance 0.09
    assert is_at_chance(_diag(0.0)) and is_at_chance(_diag(CHANCE))
    assert line is not None and line.startswith("models at chance: held-out accuracy 0.00 "
                                                "(chance 0.09")
    assert line.endswith("metrics and claims are not meaningful")
    assert is_at_chance(_diag(0.2))  # within 2 SE of chance on 24 targets (line 0.21)
    assert is_at_chance(_diag(0.72)) is False and at_chance(_diag(0.72)) is None
    assert is_at_chance(_diag(0.2, n_targets=1000)) is False  # more targets, a tighter line


def test_no_accuracy_or_no_chance_flags_nothing():
    assert is_at_chance(_diag(0.0, chance=None)) is None and at_chance(_diag(0.0, None)) is None
    assert is_at_chance({"chance_acc": 0.1, "n_targets": 5}) is None  # no accuracy (MT10)
    assert is_at_chance(pd.Series(_diag(math.nan))) is None  # NaN in a groundtruth.csv row


def _row(task_key: str, key: str, metric: str, variant: str, value: float, **extra) -> dict:
    return {"task": task_key.rsplit("-", 1)[0], "task_key": task_key,
            "task_family": "modular-addition", "task_params": "{}", "regime": "scratch",
            "method": key.split("[")[0].split("-")[0], "method_key": key, "metric": metric,
            "variant": variant, "split": "eval", "value": value, "ci_low": math.nan,
            "ci_high": math.nan, "n_targets": 24, "n_labels": 0, "profile": "tiny", **extra}


def _results() -> pd.DataFrame:
    """Two cells with the same C2/C3 rows: ``learns-1`` above chance, ``chance-2`` at it."""
    rows = []
    for cell in ("learns-1", "chance-2"):
        rows += [_row(cell, KERNEL, "lds", "spearman", 0.60),
                 _row(cell, REPO_LINEAR, "lds", "spearman", 0.40),
                 _row(cell, STRONG_LINEAR, "lds", "spearman", 0.45),
                 _row(cell, KERNEL, "residual", "repo", 0.10),
                 _row(cell, REPO_LINEAR, "residual", "repo", 0.90),
                 _row(cell, STRONG_LINEAR, "residual", "repo", 0.80)]
    return pd.DataFrame(rows)


def _groundtruth() -> pd.DataFrame:
    return pd.DataFrame([_diag(0.72) | {"task_key": "learns-1"},
                         _diag(0.0) | {"task_key": "chance-2"}])


def test_the_join_flags_the_rows_of_the_cells_at_chance(tmp_path):
    joined = with_at_chance(_results(), _groundtruth())
    assert joined.groupby("task_key")[AT_CHANCE].all().to_dict() == {"chance-2": True,
                                                                     "learns-1": False}
    path = tmp_path / "groundtruth.csv"
    _groundtruth().to_csv(path, index=False)  # a file, as write_claims would read it
    assert with_at_chance(_results(), path)[AT_CHANCE].tolist() == joined[AT_CHANCE].tolist()
    absent = with_at_chance(_results(), tmp_path / "none.csv")  # no diagnostics: no flag
    assert not absent[AT_CHANCE].any() and len(absent) == len(_results())


def test_a_claim_of_a_cell_at_chance_is_not_applicable_not_meaningful():
    rows = checks.claims(with_at_chance(_results(), _groundtruth()), "tiny", Noise())
    by_cell = {c: [r for r in rows if r.task.startswith(c)] for c in ("learns", "chance")}
    assert by_cell["learns"] and len(by_cell["learns"]) == len(by_cell["chance"])
    assert all(r.outcome == "not applicable" and r.not_applicable == NOT_MEANINGFUL
               and r.as_dict()["note"] == "not meaningful: models at chance"
               for r in by_cell["chance"])
    assert "holds" in {r.outcome for r in by_cell["learns"]}
    assert not any(r.not_applicable for r in by_cell["learns"])
    assert [r.ours for r in by_cell["chance"]] == [r.ours for r in by_cell["learns"]]  # kept
    plain = checks.claims(_results(), "tiny", Noise())  # no join: nothing is marked
    assert not any(NOT_MEANINGFUL in r.not_applicable for r in plain)


def test_an_earlier_reason_is_kept_after_the_mark():
    row = ClaimRow("C4", "t", "1%", "2%", "<= 5%", 4.0, not_applicable="from scratch")
    flagged = pd.DataFrame({AT_CHANCE: [False, True]})
    (out,) = not_meaningful([row], flagged)
    assert out.outcome == "not applicable" and out.not_applicable == (
        f"{NOT_MEANINGFUL}; from scratch")
    assert not_meaningful([row], flagged.iloc[:1]) == [row]


def _ablation(recipe: str, steps: int, trace: float, lds: float) -> list[dict]:
    params = {"train.steps": steps} | ({"train.sharpness": recipe} if recipe != "none" else {})
    key = f"modular-addition-{recipe}{steps}"
    extra = {"task_params": json.dumps(params)}
    return [_row(key, "full-model", "hessian_trace", "hutchinson", trace, **extra),
            _row(key, LINEAR, "lds", "spearman", lds, **extra)]


def test_c5_is_not_meaningful_where_the_longest_trainings_are_at_chance():
    rows = []
    for recipe in ("none", "sam", "nso"):
        rows += _ablation(recipe, 20, 1.0, 0.5) + _ablation(recipe, 40, 5.0, 0.3)
    results = pd.DataFrame(rows)
    gt = pd.DataFrame([_diag(0.72 if steps == 40 else 0.0) | {"task_key": key}
                       for key, steps in ((k, int(k[-2:])) for k in set(results.task_key))])
    learns = [r for r in checks.claims(with_at_chance(results, gt), "tiny", Noise())
              if r.claim.startswith("C5")]
    assert learns and not any(r.not_applicable for r in learns)  # only the short ones at chance
    gt["mean_acc"] = 0.0
    flagged = [r for r in checks.claims(with_at_chance(results, gt), "tiny", Noise())
               if r.claim.startswith("C5")]
    assert [r.claim for r in flagged] == [r.claim for r in learns]
    assert all(r.outcome == "not applicable" and r.not_applicable == NOT_MEANINGFUL
               for r in flagged)


def test_every_paper_marks_a_cell_at_chance():
    """The parameter-weighting paper's C8 too (a results frame without its rows: no check)."""
    results = with_at_chance(_results(), _groundtruth())
    for name in PAPERS.names():
        rows = PAPERS.get(name)().claims(results, "tiny", Noise())
        assert all(r.not_applicable.startswith(NOT_MEANINGFUL) for r in rows
                   if r.task.startswith("chance")), name
