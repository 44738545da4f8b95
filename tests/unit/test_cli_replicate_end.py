"""The end of a ``replicate`` run: the timing summary, then the verdict, one sentence per
claim, every line at most 100 columns (the wide claims table comes before them)."""

from __future__ import annotations

from benchmarks.replicate import ending


def test_the_timing_summary_comes_first_then_the_wrapped_verdict():
    summary = "timings (wall-clock 1.0 min over 2 stages):\n  slowest:\n    " + "x" * 150
    verdict = ["C1 (scores): " + "holds on a cell, " * 20 + "and more.", "C2 (LDS): fails."]
    text = ending(summary, verdict, "tiny")
    lines = text.splitlines()
    assert lines[0].startswith("timings") and max(map(len, lines)) <= 100
    assert text.index("timings") < text.index("verdict (tiny") < text.index("C1 (scores)")
    assert lines[-1].strip() == "C2 (LDS): fails."
    assert " ".join(text.split()).count("holds on a cell,") == 20  # wrapped, nothing lost


def test_no_verdict_and_no_timings_print_nothing():
    assert ending("", [], "tiny") == ""
