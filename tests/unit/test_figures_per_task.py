"""The figures drawn once per task (issue 32): each per-task entry of the committed manifest
names exactly its task, each panel is drawn from its task's rows (a regime pair's or an
ablation grid's panel from its pair or grid, said by the module's ``task_rows``), and the
committed page shows each panel in its task's sections only."""

from __future__ import annotations

import html
import json
import re

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import figures
from figures import fig_ablation, fig_regimes

BOARD = figures.PACKAGE_DIR.parent / "leaderboard"
MANIFEST = json.loads((figures.PACKAGE_DIR / figures.MANIFEST).read_text())
PER_TASK = sorted(slug for slug, m in figures.MODULES.items() if getattr(m, "PER_TASK", False))
NEW = ("label_curve", "interactions", "gradex_budget", "label_cost", "ablation", "regimes")
SECTION = re.compile(r'<section id="t-[^"]*" [^>]*data-task="([^"]*)">(.*?)</section>', re.S)


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    paths = figures._sources(BOARD / "results.csv", BOARD / "predictions.csv", None)
    sources = {figures.MODULES[slug].SOURCE for slug in NEW}
    return {s: figures._read(paths[s], figures.SPECS.get(s)) for s in sources}


def test_the_issues_figures_are_drawn_per_task_with_a_whole_sentence_caption():
    assert set(NEW) <= set(PER_TASK)
    for slug in NEW:
        caption = figures.task_caption(figures.MODULES[slug], "some-task")
        assert "some-task" in caption and caption.endswith("."), slug


@pytest.mark.parametrize("slug", PER_TASK)
def test_each_per_task_entry_lists_exactly_its_task(slug):
    entries = {f: e for f, e in MANIFEST.items() if e["figure"] == slug}
    suite = entries.pop(f"{slug}.png")
    assert suite["per_task"] and not suite.get("task")
    assert entries, f"{slug} has no per-task panels"
    for file, entry in entries.items():
        assert entry["tasks"] == [entry["task"]], file
        assert file == f"{slug}/{figures.task_file(entry['task'])}"
        assert entry["task"] in suite["tasks"]
    assert sorted(e["task"] for e in entries.values()) == suite["tasks"]  # a panel per task


def _panels(module, df: pd.DataFrame, tmp_path, monkeypatch) -> dict[str, pd.DataFrame]:
    """``{task: the rows its panel is drawn from}``, as ``render_all`` picks them."""
    drawn: dict[str, pd.DataFrame] = {}

    def record(make, rows: pd.DataFrame, extra: dict, path) -> str:
        drawn[path.name] = rows
        return ""

    monkeypatch.setattr(figures, "_draw", record)
    tasks = sorted(set(module.select(df)["task"].astype(str)))
    entries = figures._per_task(module, df, {}, tasks, tmp_path, {})
    return {e["task"]: drawn[figures.task_file(e["task"])] for e in entries.values()}


@pytest.mark.parametrize("slug", [s for s in NEW if not hasattr(figures.MODULES[s], "task_rows")])
def test_a_panel_is_drawn_from_its_tasks_rows_only(slug, frames, tmp_path, monkeypatch):
    module = figures.MODULES[slug]
    df = frames[module.SOURCE]
    for task, rows in _panels(module, df, tmp_path, monkeypatch).items():
        assert set(rows["task"]) == {task}
        assert len(rows) == (df["task"] == task).sum()


def test_a_regime_panel_is_drawn_from_its_task_and_its_pair(frames, tmp_path, monkeypatch):
    df = frames["results"]
    panels = _panels(fig_regimes, df, tmp_path, monkeypatch)
    assert "digits-mlp" in panels and "digits-mlp-ft" in panels
    for task, rows in panels.items():
        family = task.removesuffix("-ft")
        assert set(rows["task"]) == {family, family + "-ft"}
        assert set(rows["regime"]) == {"scratch", "fine-tuned"}


def test_an_ablation_panel_is_drawn_from_its_grid_with_its_own_cell_marked(
        frames, tmp_path, monkeypatch):
    df = frames["results"]
    panels = _panels(fig_ablation, df, tmp_path, monkeypatch)
    for task, rows in panels.items():
        assert set(rows.loc[rows["focus"], "task"]) == {task}
        assert rows["grid"].nunique() == 1  # one grid: the same task but recipe and length
        assert rows.groupby(["recipe", "steps"])["task"].nunique().max() == 1
    own = panels["modular-addition[sharpness=sam,steps=1000]"]
    assert sorted(set(own["steps"])) == [500, 1000, 2000]  # not the other grid's 4000


@pytest.mark.parametrize("slug", NEW)
def test_one_tasks_panel_draws(slug, frames):
    module = figures.MODULES[slug]
    df = frames[module.SOURCE]
    task = sorted(set(module.select(df)["task"].astype(str)))[0]
    rows = getattr(module, "task_rows", figures._of_task)(df, task)
    fig = getattr(module, "make_task", module.make)(rows)
    assert fig.axes
    plt.close(fig)


def test_the_page_shows_each_panel_in_its_tasks_sections_only():
    text = (BOARD / "index.html").read_text(encoding="utf-8")
    shown: dict[str, set[str]] = {}
    for task, body in SECTION.findall(text):
        for src in re.findall(r'<img src="[^"]*figures/([^"]+)"', body):
            shown.setdefault(html.unescape(src), set()).add(html.unescape(task))
    for file, entry in MANIFEST.items():
        if entry["figure"] in NEW and entry.get("task"):
            sections = {t for t, _ in SECTION.findall(text)}
            want = {entry["task"]} & {html.unescape(t) for t in sections}
            assert shown.get(file, set()) == want, file
