"""What the page calls best, on a small synthetic results table: a set (every method whose
interval reaches the leader's), never a baseline, never a normalised error above 1 (worse than
predicting the mean), a relative error only for methods that predict F; the headline rows
decided from the keys that ran; identical variants folded; the ranking across tasks; the
banner on rows from older code; each table's CSV."""

from __future__ import annotations

import math
from io import StringIO
from urllib.parse import unquote

import pandas as pd

from leaderboard import cells, page_overview, ranking, render
from leaderboard.sections import Cell

# RIDGE: a variant of the linear family that is not pinned (headline.PINNED)
KSM, RIDGE, OLS = "kernel_sm-0123abcd", "linear_surrogate[alpha=0.1]-1111aaaa", \
    "linear_surrogate-2222bbbb"
TRAK, ALL, GRADEX = "trak-3333cccc", "all-units", "gradex-4444dddd"
KSM_M16, KSM_GX = "kernel_sm[max_labels=16]-5555eeee", "kernel_sm[labels=gradex]-6666ffff"
LABELS = {KSM_GX: ("KernelSM (CV) [gradex]", "gradex"), KSM: ("KernelSM (CV)", "retrain"),
          RIDGE: ("Linear (ridge)", "retrain"), OLS: ("Linear (OLS)", "retrain"),
          TRAK: ("TRAK", "none"), ALL: ("All units", "none"),
          GRADEX: ("GradEx", "none"), KSM_M16: ("KernelSM (CV) [m=16]", "retrain")}


def _row(key: str, metric: str, variant: str, value: float, lo: float = math.nan,
         hi: float = math.nan, task: str = "t", sha: str = "new", created: str = "2026-01-02",
         higher: bool = True) -> dict:
    label, labels = LABELS[key]
    method = "baseline" if key == ALL else key.split("-")[0].split("[")[0]
    return {"task": task, "task_key": f"{task}-key", "task_family": task, "task_params": "{}",
            "regime": "scratch", "method": method, "method_key": key, "method_label": label,
            "labels": labels, "metric": metric, "variant": variant, "split": "eval",
            "value": value, "ci_low": lo, "ci_high": hi, "n_targets": 10, "n_dropped": 0,
            "higher_is_better": higher, "profile": "quick", "cost_s": 1.0, "n_labels": 64,
            "git_sha": sha, "created": created}


def _table(task: str = "t", sha: str = "new") -> list[dict]:
    """KernelSM 0.585 [0.57, 0.60] and ridge 0.583 [0.57, 0.60] (a tie), TRAK far below;
    every NE above 1 but ridge's; the baseline's selection loss the lowest; KernelSM at m=16
    the same as KernelSM in every column."""
    lds = {KSM: (0.585, 0.57, 0.60), RIDGE: (0.583, 0.57, 0.60), OLS: (0.50, 0.48, 0.52),
           TRAK: (0.10, 0.08, 0.12), GRADEX: (0.30, 0.28, 0.32), KSM_M16: (0.585, 0.57, 0.60)}
    rows = [_row(k, "lds", "spearman", *v, task=task, sha=sha) for k, v in lds.items()]
    rows += [_row(k, "residual", "ne", v, task=task, sha=sha, higher=False)
             for k, v in {KSM: 1.3, RIDGE: 0.9, TRAK: 1.1, OLS: 1.2, GRADEX: 1.5, KSM_M16: 1.3
                          }.items()]
    rows += [_row(k, "relerr", "est", v, task=task, sha=sha, higher=False)
             for k, v in {KSM: 60.0, TRAK: 30.0, GRADEX: 50.0, KSM_M16: 60.0,
                          KSM_GX: 55.0}.items()]
    rows += [_row(k, "selection", "loss@k", v, task=task, sha=sha, higher=False)
             for k, v in {KSM: 0.5, ALL: 0.1, KSM_M16: 0.5}.items()]
    return rows


def _section(df: pd.DataFrame, task: str = "t"):
    return next(s for s in render.build_sections(df) if s.task == task)


def _best(section, title: str) -> set[str]:
    i = next(i for i, t in enumerate(section.titles) if t.startswith(title))
    return {r.key for r in section.rows if r.cells[i].best}


def test_best_is_every_method_whose_interval_reaches_the_leaders() -> None:
    section = _section(pd.DataFrame(_table()))
    assert _best(section, "lds/spearman") == {KSM, RIDGE, KSM_M16}  # a tie, not a winner
    md = render.render_markdown(pd.DataFrame(_table()))
    assert "**0.585 [0.57, 0.60]**" in md and "**0.583 [0.57, 0.60]**" in md
    assert "**0.100" not in md


def test_a_baseline_is_never_best() -> None:
    section = _section(pd.DataFrame(_table()))
    assert _best(section, "selection/loss@k") == {KSM, KSM_M16}  # All units: lower, context


def test_a_normalised_error_above_one_is_flagged_and_never_best() -> None:
    section = _section(pd.DataFrame(_table()))
    assert _best(section, "residual/ne") == {RIDGE}
    ksm = next(r for r in section.rows if r.key == KSM)
    i = next(i for i, t in enumerate(section.titles) if t.startswith("residual/ne"))
    assert ksm.cells[i].flag == cells.WORSE_THAN_MEAN
    worse = pd.DataFrame([r for r in _table() if r["method_key"] != RIDGE])
    html, text = page_overview.best_cell(_section(worse), "residual/ne")
    assert text.startswith("none beats the mean (best: TRAK 1.100")
    assert "worse than predicting" in html


def test_relative_error_is_shown_only_for_methods_that_predict_f() -> None:
    section = _section(pd.DataFrame(_table()))
    i = next(i for i, t in enumerate(section.titles) if t.startswith("relerr/est"))
    trak = next(r for r in section.rows if r.key == TRAK)
    assert trak.cells[i].text == "n/a" and trak.cells[i].why_na == cells.NOT_F
    assert _best(section, "relerr/est") == {GRADEX}  # a label source: KernelSM takes its labels
    assert pd.DataFrame(_table()).pipe(cells.label_sources) == {"retrain", "gradex"}


def test_the_headline_is_each_familys_default_key_and_references() -> None:
    df = pd.DataFrame(_table() + [_row(KSM_M16, "lds", "spearman_repo", 0.5)])
    section = _section(df)
    head = {r.key for r in section.rows if r.headline}
    assert head == {KSM, OLS, TRAK, GRADEX, ALL}  # ridge, m=16 and gradex labels: variants
    only_ridge = df[df.method_key != OLS]
    assert RIDGE in {r.key for r in _section(only_ridge).rows if r.headline}  # the family's one
    pinned = "linear_surrogate[fit_type=ridge]-7777abab"  # the baselines the claims judge by
    df = df.assign(method_key=df.method_key.replace(RIDGE, pinned))
    assert pinned in {r.key for r in _section(df).rows if r.headline}


def test_rows_with_all_the_same_values_are_folded_into_the_headline_row() -> None:
    section = _section(pd.DataFrame(_table()))
    m16 = next(r for r in section.rows if r.key == KSM_M16)
    assert m16.same_as == KSM
    assert next(r for r in section.rows if r.key == KSM).folded == [(m16.label, KSM_M16)]
    html = render.render_html(pd.DataFrame(_table()))
    assert f'title="{KSM_M16}"' not in html and "+1 identical" in html


def test_the_ranking_shares_ranks_between_methods_that_cannot_be_told_apart() -> None:
    df = pd.DataFrame(_table("a") + _table("b"))
    sections = render.build_sections(df)
    standings, used = ranking.ranking(sections, min_methods=4)
    by = {s.stem: s for s in standings}
    assert used == ["a", "b"]
    assert by["kernel_sm"].ranks == [1, 1] and by["kernel_sm"].win_rate == 1.0
    assert by["linear_surrogate"].ranks == [2, 2]  # OLS: only KernelSM lies wholly above
    assert by["gradex"].ranks == [3, 3] and by["trak"].ranks == [4, 4]
    assert by["trak"].won == [] and by["trak"].mean_rank == 4
    assert "all-units" not in by and standings[0].stem == "kernel_sm"
    assert ranking.ranking(sections)[1] == []  # 4 headline methods: fewer than MIN_METHODS


def test_better_needs_disjoint_intervals() -> None:
    a = Cell("0.6", value=0.6, low=0.55, high=0.65)
    b = Cell("0.5", value=0.5, low=0.45, high=0.56)
    assert not cells.better(a, b, True)
    assert cells.better(a, Cell("0.4", value=0.4, low=0.3, high=0.5), True)
    assert cells.better(Cell("0.2", value=0.2), Cell("0.3", value=0.3), False)


def test_rows_from_older_code_get_a_banner_naming_their_cells() -> None:
    df = pd.DataFrame(_table("a", sha="old") + _table("b") + [
        _row(TRAK, "lds", "spearman_repo", 0.2, task="b", sha="old", created="2025-01-01")])
    html = render.render_html(df)
    a = html.split('id="t-a-quick"')[1].split("</section>")[0]
    b = html.split('id="t-b-quick"')[1].split("</section>")[0]
    assert "Older code than the page" in a and "every cell of this table" in a
    assert "<code>new</code>" in a and "<code>old</code>" in a
    assert "TRAK: lds/spearman_repo" in b and "every cell" not in b
    assert "Older code" not in render.render_html(pd.DataFrame(_table("b")))


def test_each_table_downloads_as_csv_with_every_row() -> None:
    html = render.render_html(pd.DataFrame(_table()))
    section = html.split('id="t-t-quick"')[1]
    data = section.split('href="data:text/csv;charset=utf-8,')[1].split('"')[0]
    table = pd.read_csv(StringIO(unquote(data)))
    assert set(table["method_key"]) == {KSM, RIDGE, OLS, TRAK, GRADEX, KSM_M16, KSM_GX, ALL}
    ksm = table.set_index("method_key").loc[KSM]
    assert ksm["lds/spearman"] == 0.585 and ksm["lds/spearman low"] == 0.57
    for anchor in ('id="overview"', 'id="ranking"'):
        assert 'download="' in html.split(anchor)[1].split("</section>")[0]


def test_variants_sit_behind_a_checkbox_and_keys_in_tooltips() -> None:
    html = render.render_html(pd.DataFrame(_table()))
    section = html.split('id="t-t-quick"')[1].split("</section>")[0]
    assert '<input type="checkbox"> show 2 variants and ablations' in section
    assert section.count('<tr class="variant"') == 2  # ridge and gradex labels; m=16 folded
    assert f'<th scope="row" title="{KSM}">' in section
    assert f">{KSM}<" not in section  # the key is in the tooltip, not the cell
