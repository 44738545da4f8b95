"""The claims' fifth outcome (not applicable, with its reason), the columns added to
``claims.csv`` (source, where, note; an older file still reads), and the verdict in words
generated from a claims table, whatever paper made it."""

from __future__ import annotations

import math

import pandas as pd

from benchmarks.api.claims import ClaimRow
from leaderboard import claims, verdict


def _check(claim: str, task: str, regime: str, outcome: str, where: str = "",
           note: str = "") -> dict:
    return {"claim": claim, "task": task, "regime": regime, "ours": "o", "paper": "p",
            "source": "unverified", "tolerance": "t", "margin": 0.1, "noise": math.nan,
            "outcome": outcome, "where": where, "note": note}


TABLE = pd.DataFrame([
    _check("C2 LDS KernelSM > linear", "a-ft vs ridge", "fine-tuned", "holds"),
    _check("C2 LDS KernelSM > linear", "b-ft vs ridge", "fine-tuned", "within noise",
           "holds from n=96 (6.0K)"),
    _check("C2 LDS KernelSM > linear", "a vs ridge", "scratch", "fails",
           "holds nowhere measured (n ≤ 320)"),
    _check("C2 LOO corr KernelSM +25% over linear", "b vs ridge", "scratch", "fails",
           "no curve"),
    _check("C4 first-order F(s) error", "a: GradEx", "scratch", "not applicable",
           note="from scratch: the paper's estimate is of pretrained models"),
    _check("C4 first-order F(s) error", "a-ft: GradEx", "fine-tuned", "fails"),
    _check("C8 learned group weights raise LDS", "a: TracIn", "scratch", "missing"),
    _check("C10 something else", "a", "", "holds"),
])


def test_not_applicable_outranks_every_other_outcome_and_keeps_its_reason():
    row = ClaimRow("C4", "t", "RE 40%", "2.4%", "<= 5%", -35.0, 1.0, "scratch",
                   source="paper text", not_applicable="from scratch")
    assert row.outcome == "not applicable"
    out = row.as_dict()
    assert list(out) == list(claims.COLUMNS)
    assert (out["note"], out["source"], out["margin"], out["where"]) == (
        "from scratch", "paper text", -35.0, "")
    assert ClaimRow("C", "t", "o", "p", "tol", math.nan, not_applicable="x").outcome \
        == "not applicable"
    assert ClaimRow("C", "t", "o", "p", "tol", math.nan).source == "unverified"


def test_a_claims_file_without_the_new_columns_reads_and_is_rewritten_in_them(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text("claim,task,regime,ours,paper,tolerance,margin,noise,outcome,profile\n"
                    "C1 x,t,scratch,o,p,tol,0.1,,holds,tiny\n")
    df = claims.read(path)
    assert list(df.source) == ["unverified"] and df["where"].eq("").all()
    old_style = pd.DataFrame([{k: v for k, v in _check("C2 y", "u", "scratch", "fails").items()
                               if k not in ("source", "where", "note")}])
    claims.write(old_style, "quick", path)
    back = pd.read_csv(path)
    assert list(back.columns) == [*claims.COLUMNS, "profile"]
    assert list(back.profile) == ["tiny", "quick"]


def test_markdown_counts_not_applicable_checks_only_where_there_are_some():
    text = claims.markdown(TABLE.assign(profile="quick"))
    assert "### quick: 2 hold, 1 within noise, 3 fail, 1 missing, 1 not applicable " \
           "(of 8 checks)" in text
    heading = next(ln for ln in claims.markdown(TABLE.iloc[:2].assign(profile="q"))
                   .splitlines() if ln.startswith("### q"))
    assert heading == "### q: 1 hold, 1 within noise, 0 fail, 0 missing (of 2 checks)"


def test_the_verdict_says_per_claim_what_holds_where_what_fails_and_what_does_not_apply():
    lines = verdict.verdict(TABLE)
    assert [ln.split(" ")[0] for ln in lines] == ["C2", "C4", "C8", "C10"]
    c2, c4, c8, _ = lines
    assert c2.startswith("C2 (LDS KernelSM > linear / LOO corr KernelSM +25% over linear): "
                         "1 of 4 checks hold, 1 within noise, 2 fail;")
    assert "holds on a-ft vs ridge (fine-tuned)" in c2
    assert "fails on every check from scratch (2)" in c2
    assert ("b-ft vs ridge holds from n=96 (6.0K), 1 hold nowhere measured, 1 have no label "
            "curve") in c2
    assert "fails on every fine-tuned check (1)" in c4
    assert "not applicable on 1 (from scratch ×1)" in c4
    assert c8 == "C8 (learned group weights raise LDS): 0 of 1 checks hold, 1 missing."
    assert verdict.verdict(TABLE.iloc[:0]) == []


def test_verdict_md_is_written_per_profile_from_the_claims_file(tmp_path):
    claims.write(TABLE, "quick", tmp_path / "claims.csv")
    claims.write(TABLE.iloc[:1], "tiny", tmp_path / "claims.csv")
    out = claims.write_verdict(tmp_path / "claims.csv", tmp_path / "verdict.md")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("## Verdict") and "### quick" in text and "### tiny" in text
    assert "* C2 (LDS KernelSM &gt; linear" in text  # escaped as the pages escape claims
    assert claims.write_verdict(tmp_path / "absent.csv", tmp_path / "v.md") is None
