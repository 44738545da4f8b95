"""The README is an entry point: at most 150 lines, and its scorecard and headline leaderboard
are generated from the committed ``leaderboard/claims.csv`` and ``results.csv``, never copied
by hand (``leaderboard/scorecard.py``)."""

from pathlib import Path

import pandas as pd

from leaderboard import claims, scorecard, verdict

ROOT = Path(__file__).resolve().parents[2]
BOARD = ROOT / "leaderboard"


def _block(text: str, begin: str, end: str) -> str:
    return text.split(begin, 1)[1].split(end, 1)[0]


def test_the_committed_readme_carries_the_generated_tables(tmp_path):
    copy = tmp_path / "README.md"
    copy.write_text((ROOT / "README.md").read_text())
    df = claims.read(BOARD / "claims.csv")
    changed = scorecard.update_readme(df, pd.read_csv(BOARD / "results.csv"), copy)
    assert not changed, "README tables are stale: run `python -m benchmarks leaderboard`"
    text = copy.read_text()
    ids = {verdict.claim_id(c) for c in df[df.profile == "quick"]["claim"]}
    rows = _block(text, scorecard.SCORE_BEGIN, scorecard.SCORE_END).count("\n| **C")
    assert rows == len(ids) >= 5  # one row per claim
    board = _block(text, scorecard.BOARD_BEGIN, scorecard.BOARD_END)
    assert board.count("\n| ") == len(scorecard.HEADLINE) + 1  # header and one row each


def test_the_readme_is_short():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150


def _lds(stem: str, value: float, lo: float, hi: float, task: str = "t") -> dict:
    return {"task": task, "profile": "quick", "metric": "lds", "variant": "spearman",
            "split": "eval", "method_key": f"{stem}-0123abcd", "value": value,
            "ci_low": lo, "ci_high": hi}


def test_every_method_whose_ci_reaches_the_leaders_is_bold(monkeypatch):
    monkeypatch.setattr(scorecard, "CELLS", (("t", "t"),))
    df = pd.DataFrame([_lds("kernel_sm", 0.60, 0.58, 0.62),
                       _lds("linear_surrogate[fit_type=ridge]", 0.59, 0.57, 0.585),
                       _lds("trak", 0.30, 0.25, 0.57)])
    rows = {line.split(" | ")[0]: line for line in scorecard.headline(df).splitlines()}
    assert "**0.600" in rows["| KernelSM (CV)"]
    assert "**0.590" in rows["| Linear (ridge)"]  # its CI reaches the leader's lower end
    assert "**" not in rows["| TRAK (M=1)"]  # 0.57 < 0.58
    assert rows["| LOO"].endswith("| — |")  # not run on this cell


def test_the_line_in_words_follows_the_counts():
    def rows(*outcomes: str, where: str = "") -> pd.DataFrame:
        return pd.DataFrame({"outcome": outcomes, "task": [f"c{i}" for i in range(len(outcomes))],
                             "where": where})
    assert scorecard.in_words(rows("fails", "fails")) == "does not replicate"
    assert scorecard.in_words(rows("within noise", "fails")) == "not shown (within noise)"
    assert scorecard.in_words(rows("not applicable")) == "not applicable here"
    assert scorecard.in_words(rows("holds", "fails")).startswith("holds on 1 of 2 judged")
    assert "2 failing checks would hold" in scorecard.in_words(
        rows("fails", "fails", where="holds from n=300 (12.0K)"))


def test_the_blocks_are_rewritten_and_a_readme_without_markers_left_alone(tmp_path):
    df = claims.read(BOARD / "claims.csv")
    res = pd.read_csv(BOARD / "results.csv")
    marked = tmp_path / "marked.md"
    marked.write_text(f"intro\n{scorecard.SCORE_BEGIN}\nOLD TEXT\n{scorecard.SCORE_END}\n"
                      f"{scorecard.BOARD_BEGIN}\nOLD TEXT\n{scorecard.BOARD_END}\noutro\n")
    assert scorecard.update_readme(df, res, marked)
    text = marked.read_text()
    assert "OLD TEXT" not in text and text.startswith("intro\n") and text.endswith("outro\n")
    plain = tmp_path / "plain.md"
    plain.write_text("no markers\n")
    assert not scorecard.update_readme(df, res, plain) and plain.read_text() == "no markers\n"


def test_the_readme_rows_are_headline_rows_of_the_page():
    """The README's table and the page's default rows follow one rule: every README method
    that ran on a README cell is one of that task's headline keys (``headline.headline_keys``)."""
    from leaderboard.headline import headline_keys, key_stem

    results = pd.read_csv(BOARD / "results.csv")
    for task, _ in scorecard.CELLS:
        rows = results[(results.task == task) & (results.profile == "quick")]
        ran = {key_stem(k) for k in rows["method_key"]}
        shown = {key_stem(k) for k in headline_keys(rows)}
        missing = [stem for stem, _ in scorecard.HEADLINE if stem in ran and stem not in shown]
        assert not missing, f"{task}: README rows hidden on the page: {missing}"
