"""``run --method a,b --method c``: every method's metrics, then paired LDS differences against
the first (a percentile bootstrap over targets); one method prints as before."""

from __future__ import annotations

import re

import pytest

from benchmarks.__main__ import main
from benchmarks.commands import method_names
from benchmarks.common.spec import SpecError

TINY = ["--task", "modular-quad", "--profile", "tiny", "--set", "design.n_fit=8",
        "--set", "design.n_eval=6", "--set", "train.steps=20"]


def test_method_names_split_commas_and_keep_every_flag():
    assert method_names(["a,b", "c", "a"]) == ["a", "b", "c"]
    assert method_names([" kernel_sm "]) == ["kernel_sm"]
    with pytest.raises(SpecError, match="empty name"):
        method_names(["a,,b"])


def _lds(out: str, method: str) -> float:
    """The lds/spearman value of ``method``'s table in ``run`` output."""
    table = out.split(f" x {method}-")[1]
    return float(re.search(r"^\s*lds\s+spearman\s+eval\s+(\S+)", table, re.M).group(1))


def test_several_methods_print_paired_differences_against_the_first(cache, capsys):
    assert main(["run", *TINY, "--method", "linear_surrogate,kernel_sm", "--method", "loo"]) == 0
    out = capsys.readouterr().out
    assert out.count(" x linear_surrogate-") == out.count(" x kernel_sm-") == 1
    assert out.count("lds/spearman:") == 1  # each definition once
    paired = out.split("paired differences against linear_surrogate-")[1]
    rows = [ln.split() for ln in paired.splitlines() if ln.lstrip().startswith(("kernel", "loo"))]
    assert [(r[0].split("-")[0], r[2]) for r in rows] == [
        ("kernel_sm", "spearman"), ("kernel_sm", "spearman_repo"), ("loo", "spearman"),
        ("loo", "spearman_repo")]
    diff, lo, hi = map(float, rows[0][3:6])
    assert diff == pytest.approx(_lds(out, "kernel_sm") - _lds(out, "linear_surrogate"),
                                 abs=1e-5)  # the difference of the means, over the same targets
    assert lo <= diff <= hi
    assert all(len(ln) <= 100 for ln in paired.splitlines()[:2])


def test_one_method_prints_no_paired_table(cache, capsys):
    assert main(["run", *TINY, "--method", "linear_surrogate"]) == 0
    out = capsys.readouterr().out
    body = "".join(ln for ln in out.splitlines(True) if not ln.startswith("WARNING "))
    assert "paired" not in out and body.startswith("modular-quad[steps=20] x linear_surrogate-")


def test_a_method_that_does_not_apply_is_named_among_several(cache, capsys):
    code = main(["run", *TINY, "--set", "design.loo=false", "--method", "kernel_sm,loo"])
    assert code == 2 and "invalid --method loo" in capsys.readouterr().err
