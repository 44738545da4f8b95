"""Tests for leaderboard.render on a small synthetic results table."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from leaderboard import claims, render

METHODS = {
    "kernel_sm": ("kernel_sm[gamma=cv,lam=cv]-1a2b3c4d", "KernelSM (CV)", "retrain"),
    "linear_surrogate": ("linear_surrogate[ridge]-5e6f7a8b", "Linear (ridge+intercept)", "retrain"),
    "loo": ("loo-9c0d1e2f", "LOO <exact>", "none"),
}
LOO_MD = "LOO &lt;exact&gt;"  # the LOO label as escaped in Markdown
# (metric, variant, split, higher_is_better) -> per-method value, ci_low, ci_high
METRICS = {
    ("lds", "spearman", "eval", True): {
        "kernel_sm": (0.571, 0.52, 0.61),
        "linear_surrogate": (0.402, 0.35, 0.45),
        "loo": (0.120, 0.05, 0.19),
    },
    ("loo_corr", "pearson", "loo", True): {
        "kernel_sm": (0.30, None, None),
        "linear_surrogate": (0.45, None, None),
        "loo": (0.88, None, None),
    },
    ("residual", "ne", "eval", False): {
        "kernel_sm": (0.210, None, None),
        "linear_surrogate": (0.630, None, None),
    },
    ("residual", "repo", "eval", False): {
        "kernel_sm": (0.150, None, None),
        "linear_surrogate": (0.720, None, None),
    },
}


def _rows(task: str, params: dict, profile: str, shift: float = 0.0) -> list[dict]:
    """Result rows for one task and profile; ``shift`` perturbs the LDS values."""
    rows = []
    for (metric, variant, split, higher), per_method in METRICS.items():
        for method, (value, lo, hi) in per_method.items():
            key, label, labels = METHODS[method]
            bump = shift if metric == "lds" else 0.0
            lo, hi = (None, None) if lo is None else (lo + bump, hi + bump)
            rows.append(
                {
                    "task": task,
                    "task_key": f"{task}-{profile}-key",
                    "task_family": "modular-addition",
                    "task_params": json.dumps(params),
                    "method": method,
                    "method_key": key,
                    "method_label": label,
                    "labels": labels,
                    "metric": metric,
                    "variant": variant,
                    "split": split,
                    "value": value + bump,
                    "ci_low": lo,
                    "ci_high": hi,
                    "n_targets": 50,
                    "n_dropped": 0,
                    "higher_is_better": higher,
                    "profile": profile,
                    "cost_s": 12.5 if method == "loo" else 0.25,
                    "n_labels": 4096,
                    "git_sha": "abcdef1234567890",
                    "created": "2025-01-02T03:04:05",
                }
            )
    return rows


def results_frame() -> pd.DataFrame:
    """Two tasks at profile quick plus the first task at profile tiny."""
    rows = _rows("modular-addition", {}, "quick")
    rows += _rows("modular-addition[overlap=0.5]", {"overlap": 0.5}, "quick", shift=-0.2)
    rows += _rows("modular-addition", {}, "tiny", shift=-0.3)
    return pd.DataFrame(rows)


def _section(md: str, heading: str) -> str:
    """Text of the Markdown section whose heading line is exactly ``heading``."""
    parts = md.split("\n## ")
    matches = [p for p in parts if p.split("\n", 1)[0] == heading.removeprefix("## ")]
    assert len(matches) == 1, f"expected one section {heading!r}"
    return matches[0]


def _table(section: str) -> dict[str, list[str]]:
    """Body rows of a section table (header and rule skipped) keyed by method label."""
    lines = [ln for ln in section.splitlines() if ln.startswith("| ")][2:]
    cells = [[c.strip() for c in ln.strip("|").split(" | ")] for ln in lines]
    return {row[0]: row for row in cells}


def test_markdown_has_one_section_per_task_and_profile() -> None:
    md = render.render_markdown(results_frame())
    headings = [ln for ln in md.splitlines() if ln.startswith("## ")]
    assert headings == [
        "## modular-addition · quick",
        "## modular-addition · tiny",
        "## modular-addition[overlap=0.5] · quick",
    ]
    assert "profile: `quick`" in md and "git: `abcdef1234`" in md


def test_markdown_bolds_best_respecting_direction() -> None:
    md = render.render_markdown(results_frame())
    table = _table(_section(md, "## modular-addition · quick"))
    header_cols = 3
    ksm, lin, loo = table["KernelSM (CV)"], table["Linear (ridge+intercept)"], table[LOO_MD]
    assert ksm[header_cols] == "**0.571 [0.52, 0.61]**"
    assert lin[header_cols] == "0.402 [0.35, 0.45]"
    assert loo[header_cols + 1] == "**0.880**" and ksm[header_cols + 1] == "0.300"
    # Residuals are lower-is-better: the smaller KernelSM value wins.
    assert ksm[header_cols + 2] == "**0.210**" and lin[header_cols + 2] == "0.630"
    assert ksm[header_cols + 3] == "**0.150**" and lin[header_cols + 3] == "0.720"
    assert loo[header_cols + 2] == "—"
    assert loo[-2:] == ["12.5", "4,096"] and ksm[-2] == "0.250"
    assert list(table) == ["KernelSM (CV)", "Linear (ridge+intercept)", LOO_MD]


def test_markdown_keeps_latest_duplicate_row() -> None:
    df = results_frame()
    stale = df[(df["metric"] == "lds") & (df["method"] == "loo")].iloc[[0]].copy()
    stale["value"], stale["created"] = 0.999, "2024-01-01T00:00:00"
    md = render.render_markdown(pd.concat([df, stale], ignore_index=True))
    assert "0.999" not in md
    fresh = stale.assign(created="2026-01-01T00:00:00")
    md = render.render_markdown(pd.concat([df, fresh], ignore_index=True))
    table = _table(_section(md, "## modular-addition · quick"))
    assert table[LOO_MD][3] == "**0.999 [0.05, 0.19]**"


class _TagChecker(HTMLParser):
    """Checks that non-void tags nest and close properly; counts tables."""

    VOID = {"meta", "br", "link", "img", "hr", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tables = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tables += tag == "table"
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>"
        self.stack.pop()


def test_html_is_well_formed_with_one_table_per_section() -> None:
    page = render.render_html(results_frame())
    assert page.startswith("<!doctype html>")
    checker = _TagChecker()
    checker.feed(page)
    assert checker.stack == [] and checker.tables == 3 + 2  # sections, overview, ranking
    assert "<strong>0.571</strong><small>[0.52, 0.61]</small>" in page  # the CI below
    assert "<strong>0.210</strong>" in page and "<strong>0.630</strong>" not in page
    assert "LOO &lt;exact&gt;" in page and "<exact>" not in page
    assert "<script>" in page and "src=" not in page.split("<body>")[0]  # inline, no fetch


def test_write_all_and_main_write_both_files(tmp_path: Path) -> None:
    csv = tmp_path / "results.csv"
    results_frame().to_csv(csv, index=False)
    paths = render.write_all(csv, tmp_path / "out")
    assert [p.name for p in paths] == ["LEADERBOARD.md", "index.html"]
    assert "## modular-addition[overlap=0.5] · quick" in paths[0].read_text(encoding="utf-8")
    render.main(["--results", str(csv), "--out", str(tmp_path / "cli")])
    assert (tmp_path / "cli" / "index.html").read_text(encoding="utf-8").count(
        '<table class="methods">') == 3


def test_empty_results_render_placeholder(tmp_path: Path) -> None:
    csv = tmp_path / "results.csv"
    results_frame().iloc[:0].to_csv(csv, index=False)
    md_path, html_path = render.write_all(csv, tmp_path)
    assert "_No results yet._" in md_path.read_text(encoding="utf-8")
    assert "<table>" not in html_path.read_text(encoding="utf-8")


def test_claims_beside_results_end_both_pages(tmp_path: Path) -> None:
    """``claims.csv`` keeps other profiles' rows on rewrite; both pages end with the tables."""
    csv = tmp_path / "results.csv"
    results_frame().to_csv(csv, index=False)
    row = {"claim": "C2 LDS KernelSM > linear", "task": "t | x", "regime": "scratch",
           "ours": "0.6 vs 0.5",
           "paper": "0.8 vs 0.58", "tolerance": "gap > +0.02", "margin": 0.08, "noise": 0.01,
           "outcome": "holds"}
    fails = {**row, "margin": -0.05, "outcome": "fails"}
    unsure = {**row, "margin": 0.004, "noise": float("nan"), "outcome": "within noise"}
    claims.write(pd.DataFrame([row, fails, unsure]), "quick", tmp_path / "claims.csv")
    claims.write(pd.DataFrame([row]), "tiny", tmp_path / "claims.csv")
    claims.write(pd.DataFrame([fails]), "tiny", tmp_path / "claims.csv")
    md_path, html_path = render.write_all(csv, tmp_path / "out")
    md = md_path.read_text(encoding="utf-8")
    assert "### quick: 1 hold, 1 within noise, 1 fail, 0 missing (of 3 checks)" in md
    assert "### tiny: 0 hold, 0 within noise, 1 fail, 0 missing (of 1 checks)" in md
    assert "| +0.08 | 0.01 | holds |" in md and "| +0.004 | n/m | within noise |" in md
    assert "t \\| x" in md
    checker = _TagChecker()
    checker.feed(html_path.read_text(encoding="utf-8"))
    # sections, overview and ranking, and per profile the scorecard and one claim's checks
    assert checker.stack == [] and checker.tables == 3 + 2 + 2 * 2


def _group_frame() -> pd.DataFrame:
    """Three re-splits ``cf-split0..2`` of one import, LDS shifted by -0.1, 0, +0.1."""
    rows = []
    for i, shift in enumerate((-0.1, 0.0, 0.1)):
        params = {"kind": "icl", "group": "cf", "split_index": i}
        rows += _rows(f"cf-split{i}", params, "quick", shift=shift)
    df = pd.DataFrame(rows)
    return df.assign(task_key=df["task"] + "-key", task_family=df["task"])


def test_group_section_shows_mean_and_spread_over_splits() -> None:
    """A task group gets its own section: the mean over splits ± the sample sd."""
    md = render.render_markdown(_group_frame())
    headings = [ln for ln in md.splitlines() if ln.startswith("## ")]
    assert "## cf · mean ± sd over 3 splits · quick" in headings
    table = _table(_section(md, "## cf · mean ± sd over 3 splits · quick"))
    assert table["KernelSM (CV)"][3] == "**0.571 ± 0.100**"
    assert table["KernelSM (CV)"][5] == "**0.210 ± 0.000**"
    assert "cf · mean ± sd over 3 splits" in render.render_html(_group_frame())
    assert not any("mean ± sd" in h for h in render.render_markdown(results_frame())
                   .splitlines() if h.startswith("## "))


def test_metric_definitions_listed_for_shown_variants(tmp_path: Path) -> None:
    """``metrics.csv`` beside the results: each shown variant's definition on both pages."""
    csv = tmp_path / "results.csv"
    results_frame().to_csv(csv, index=False)
    pd.DataFrame([
        {"metric": "residual", "variant": "ne", "definition": "population form"},
        {"metric": "residual", "variant": "repo", "definition": "authors' form, var >= 0.1"},
        {"metric": "relerr", "variant": "est", "definition": "percent: not shown here"},
    ]).to_csv(tmp_path / "metrics.csv", index=False)
    md_path, html_path = render.write_all(csv, tmp_path / "out")
    md = md_path.read_text(encoding="utf-8")
    assert "* `residual/ne`: population form" in md
    assert "* `residual/repo`: authors' form, var &gt;= 0.1" in md and "not shown" not in md
    assert "<code>residual/repo</code>: authors&#x27; form, var &gt;= 0.1" in \
        html_path.read_text(encoding="utf-8")


def test_a_table_without_its_columns_is_said_on_the_page(tmp_path: Path, capsys) -> None:
    csv = tmp_path / "results.csv"
    results_frame().drop(columns=["ci_low", "labels"]).to_csv(csv, index=False)
    _, html_path = render.write_all(csv, tmp_path / "out")
    page = html_path.read_text(encoding="utf-8")
    warning = page.split('class="warning">')[1].split("</p>")[0]
    assert "lacks columns" in warning and "ci_low" in warning and "labels" in warning
    assert "lacks columns" in capsys.readouterr().err


def test_an_unknown_profile_is_flagged_in_its_section() -> None:
    page = render.render_html(results_frame().assign(profile="huge"))
    assert "unknown profile &#x27;huge&#x27;" in page


def test_sections_link_methods_and_embed_their_figures(tmp_path: Path) -> None:
    import json

    from leaderboard import site

    figs = tmp_path / "figs"
    figs.mkdir()
    (figs / "a.png").write_bytes(b"png")
    (figs / site.MANIFEST).write_text(json.dumps(
        {"a.png": {"title": "A figure", "tasks": ["modular-addition"]},
         "gone.png": {"title": "missing file", "tasks": ["modular-addition"]}}))
    df = results_frame()
    ctx = site.context(df, tmp_path / "out", figs, tmp_path / "results.csv")
    page = render.render_html(df, ctx=ctx)
    section = page.split('id="t-modular-addition-quick"')[1].split("</section>")[0]
    assert 'src="../figs/a.png"' in section and "gone.png" not in page
    href = section.split('<a href="')[1].split('"')[0]
    assert href.endswith("kernel_sm.py") and (tmp_path / "out" / href).resolve().is_file()
