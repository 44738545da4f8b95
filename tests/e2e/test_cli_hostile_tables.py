"""Hostile tables at the command line: ``leaderboard`` and ``figures`` on a damaged
``results.csv`` or ``timings.csv`` exit 2 with one line naming the file, write nothing and
leave every output as it was; cached figures are checked against the PNG digest recorded when
they were drawn; text from the CSVs cannot inject Markdown into ``LEADERBOARD.md``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import figures
from benchmarks.__main__ import main
from benchmarks.common.schema import PREDICTIONS, RESULT_COLUMNS, RESULTS, TIMINGS
from benchmarks.common.tables import manifest_path, write_table
from leaderboard import build, scorecard, wallclock

METHODS = (("kernel_sm", "KernelSM (CV)", 0.464), ("loo", "LOO (retrain)", 0.120))


def _results() -> pd.DataFrame:
    """LDS and residual rows of two methods on one task, every results column filled."""
    rows = []
    for name, label, lds in METHODS:
        for metric, variant, value in (("lds", "spearman", lds), ("residual", "ne", 0.5)):
            row = dict.fromkeys(RESULT_COLUMNS, "")
            row.update(task="modular-addition", task_key="modular-addition-abc",
                       task_family="modular-addition", task_params="{}", regime="scratch",
                       method=name,
                       method_key=f"{name}-1234", method_label=label, labels="retrain",
                       metric=metric, variant=variant, split="eval", value=value,
                       ci_low=value - 0.05, ci_high=value + 0.05, n_targets=10, n_dropped=0,
                       higher_is_better=metric == "lds", profile="quick", cost_s=1.5,
                       n_labels=64, git_sha="abcdef1234", bits="b1",
                       created="2026-01-01T00:00:00+00:00")
            rows.append(row)
    return pd.DataFrame(rows)


def _predictions() -> pd.DataFrame:
    """Predicted vs true F of one method on 12 subsets and 2 targets."""
    return pd.DataFrame([{"task": "modular-addition", "task_key": "modular-addition-abc",
                          "method": "kernel_sm", "method_key": "kernel_sm-1234",
                          "method_label": "KernelSM (CV)", "subset": j, "target": t,
                          "predicted": 0.1 * j + t, "true": 0.1 * j + t + 0.01 * (j % 3)}
                         for j in range(12) for t in range(2)])


def _timings() -> pd.DataFrame:
    return pd.DataFrame([{"task": "modular-addition", "stage": stage, "kind": stage,
                          "wall_s": 60.0, "cpu_s": 60.0, "models": 8, "gflop": 1.0,
                          "measured": "2026-01-01", "profile": "quick", "cache": "cold"}
                         for stage in ("ground truth", "method KernelSM (CV)")])


@pytest.fixture
def board(tmp_path, monkeypatch) -> Path:
    """A leaderboard folder the CLI renders (tables written by the suite's writer), its
    figures folder and a README of its own; the CLI commands have run on it once."""
    monkeypatch.setattr(build, "LEADERBOARD_DIR", tmp_path)
    monkeypatch.setattr(figures, "PACKAGE_DIR", tmp_path / "figures")
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{wallclock.BEGIN}\n{wallclock.END}\n"
                      f"{wallclock.BUDGET_BEGIN}\n{wallclock.BUDGET_END}\n"
                      f"{scorecard.SCORE_BEGIN}\n{scorecard.SCORE_END}\n")
    monkeypatch.setattr(wallclock, "README", readme)
    monkeypatch.setattr(wallclock, "FRONT", readme)
    monkeypatch.setattr(scorecard, "README", readme)  # never the repository's README
    write_table(tmp_path / "results.csv", _results(), RESULTS.key)
    write_table(tmp_path / "timings.csv", _timings(), TIMINGS.key)
    write_table(tmp_path / "predictions.csv", _predictions(), PREDICTIONS.key)
    assert main(["leaderboard"]) == 0 and main(["figures"]) == 0
    return tmp_path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


def _refused(board: Path, command: str, capsys, names: str) -> str:
    """Run ``command``: exit 2, one line naming ``names``, no traceback, nothing changed."""
    capsys.readouterr()
    before = _snapshot(board)
    code = main([command])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error: ") and names in err
    assert _snapshot(board) == before
    return err


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


@pytest.mark.parametrize("command", ["leaderboard", "figures"])
def test_an_extra_field_per_row_of_results_is_refused(board, capsys, command):
    path = board / "results.csv"
    lines = _lines(path)
    path.write_text(lines[0] + "".join(ln.rstrip("\n") + ",x\n" for ln in lines[1:]))
    assert len(pd.read_csv(path).index.unique()) == 1  # read shifted: the task as the index
    n = len(RESULT_COLUMNS)
    err = _refused(board, command, capsys, f"{path}: line 2 has {n + 1} fields")
    assert f"header {n}" in err


def test_an_extra_field_per_row_of_timings_is_refused(board, capsys):
    path = board / "timings.csv"
    lines = _lines(path)
    path.write_text(lines[0] + "".join(ln.rstrip("\n") + ",x\n" for ln in lines[1:]))
    n = len(lines[0].rstrip("\n").split(","))
    _refused(board, "leaderboard", capsys, f"{path}: line 2 has {n + 1} fields")


def test_conflicting_duplicate_rows_are_refused_naming_both(board, capsys):
    """A merge of two versions: the bogus 0.999 never reaches the page in place of 0.464."""
    path = board / "results.csv"
    lines = _lines(path)
    path.write_text("".join(lines) + lines[1].replace("0.464", "0.999"))
    manifest_path(path).unlink()  # with it, the digest would refuse the file as well
    err = _refused(board, "leaderboard", capsys, f"{path}: lines 2 and 6 share the key")
    assert "method_key=kernel_sm-1234" in err and "metric=lds" in err


def test_identical_duplicate_rows_are_collapsed(board, capsys):
    path = board / "results.csv"
    lines = _lines(path)
    path.write_text("".join(lines) + lines[1])
    manifest_path(path).unlink()
    capsys.readouterr()
    assert main(["leaderboard"]) == 0
    assert (board / "LEADERBOARD.md").read_text().count("KernelSM (CV)") == 1
    assert capsys.readouterr().err.count("no results.csv.manifest.json") == 1


@pytest.mark.parametrize("command", ["leaderboard", "figures"])
def test_results_cut_at_a_line_break_are_refused(board, capsys, command):
    path = board / "results.csv"
    path.write_text("".join(_lines(path)[:-2]))
    assert len(pd.read_csv(path)) == 2  # a plain read loses two rows silently
    _refused(board, command, capsys, f"{path}: 2 rows, its results.csv.manifest.json "
                                     f"records 4")


@pytest.mark.parametrize("command", ["leaderboard", "figures"])
def test_results_cut_mid_row_are_refused(board, capsys, command):
    path = board / "results.csv"
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    _refused(board, command, capsys, f"{path}: ends mid-row")


def test_a_row_missing_a_field_is_refused(board, capsys):
    path = board / "results.csv"
    lines = _lines(path)
    lines[2] = lines[2].rsplit(",", 1)[0] + "\n"
    path.write_text("".join(lines))
    _refused(board, "leaderboard", capsys, f"{path}: line 3 has {len(RESULT_COLUMNS) - 1} fields")


def test_an_edited_value_is_refused_by_the_digest(board, capsys):
    path = board / "results.csv"
    path.write_text(path.read_text().replace("0.464", "0.999"))
    _refused(board, "leaderboard", capsys, f"{path}: differs from the digest")


def test_a_hand_made_results_table_is_rendered_with_a_warning(board, capsys):
    manifest_path(board / "results.csv").unlink()
    capsys.readouterr()
    assert main(["leaderboard"]) == 0
    warnings = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and "results.csv" in warnings[0]


@pytest.mark.parametrize("damage", ["truncate", "swap"])
def test_a_damaged_cached_png_is_drawn_again(board, capsys, damage):
    """The figure's inputs are unchanged, but its PNG is not the one drawn: drawn again."""
    out = board / "figures"
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) >= 2
    good = {p.name: p.read_bytes() for p in pngs}
    if damage == "truncate":
        pngs[0].write_bytes(good[pngs[0].name][:100])
    else:
        pngs[0].write_bytes(good[pngs[1].name])
    assert main(["figures"]) == 0
    assert {p.name: p.read_bytes() for p in pngs} == good


def test_csv_text_cannot_inject_markdown(board):
    hostile = _results().assign(
        task="t <script>x</script> ## h", method_label="[a](http://x) **b**",
        method_key=lambda d: d.method + "`|k")
    write_table(board / "results.csv", hostile, RESULTS.key)
    assert main(["leaderboard"]) == 0
    md = (board / "LEADERBOARD.md").read_text()
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "## t &lt;script&gt;x&lt;/script&gt; \\#\\# h · quick" in md
    assert "[a\\](http://x) \\*\\*b\\*\\*" in md and "[a](http" not in md
    assert "| ``kernel_sm`\\|k`` |" in md  # the key's code span holds its backtick and pipe
