"""The README's answer to "does the paper hold?" is the verdict generated from the committed
``leaderboard/claims.csv``, never a hand-copied one."""

from pathlib import Path

from leaderboard import claims, verdict

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_readme_carries_the_generated_verdict(tmp_path):
    copy = tmp_path / "README.md"
    copy.write_text((ROOT / "README.md").read_text())
    changed = verdict.update_readme(claims.read(ROOT / "leaderboard" / "claims.csv"), copy)
    assert not changed, "README verdict is stale: run `python -m benchmarks leaderboard`"
    block = copy.read_text().split(verdict.BEGIN, 1)[1].split(verdict.END, 1)[0]
    assert block.count("\n* C") >= 5  # one sentence per claim


def test_the_block_is_rewritten_and_a_readme_without_markers_left_alone(tmp_path):
    df = claims.read(ROOT / "leaderboard" / "claims.csv")
    marked = tmp_path / "marked.md"
    marked.write_text(f"intro\n{verdict.BEGIN}\nold text\n{verdict.END}\noutro\n")
    assert verdict.update_readme(df, marked)
    text = marked.read_text()
    assert "old text" not in text and text.startswith("intro\n") and text.endswith("outro\n")
    plain = tmp_path / "plain.md"
    plain.write_text("no markers\n")
    assert not verdict.update_readme(df, plain) and plain.read_text() == "no markers\n"
