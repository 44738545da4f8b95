"""The page drawn from the committed tables and figures answers "does the paper hold?" first
(the claims scorecard: a row per claim reading, a column per regime, the verdict in words, each
claim's checks one click away) and "which method wins where?" next (overview, ranking), then
the task tables, each with only its own figures; every image is linked to its full-size file,
shown once, and captioned with whole sentences."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from leaderboard import claims, render, verdict

ROOT = Path(__file__).resolve().parents[2]
BOARD, FIGURES = ROOT / "leaderboard", ROOT / "figures"
IMG = re.compile(r'<a href="([^"]+)" title="open the full-size image"><img src="([^"]+)"')


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("site")
    for name in ("results.csv", "claims.csv", "metrics.csv", "bench.json"):
        shutil.copy(BOARD / name, out / name)
    render.write_all(out / "results.csv", out, FIGURES)
    return (out / "index.html").read_text(encoding="utf-8"), out


@pytest.fixture(scope="module")
def quick() -> pd.DataFrame:
    df = claims.read(BOARD / "claims.csv")
    return df[df.profile == "quick"]


def _ids(df: pd.DataFrame) -> pd.Series:
    return df["claim"].map(verdict.claim_id)


def test_the_scorecard_comes_first_then_who_wins_where_then_the_tasks(page):
    text = page[0]
    order = [text.index(a) for a in ('id="scorecard"', 'id="overview"', 'id="ranking"',
                                      '<section id="t-')]
    assert order == sorted(order)


def test_the_scorecard_has_a_row_per_claim_reading_and_each_claims_verdict(page, quick):
    table = page[0].split('<table class="scorecard">')[1].split("</table>")[0]
    head = table.split("</thead>")[0]
    assert "from scratch" in head and "fine-tuned" in head and "The paper" in head
    for reading in quick["claim"].unique():
        cid = verdict.claim_id(reading)
        assert f"</a> {html.escape(reading[len(cid):].strip(' :'))}</th>" in table
    text = quick.assign(**{c: quick[c].fillna("").astype(str) for c in ("regime", "where",
                                                                        "note")})
    for cid in _ids(quick).unique():
        assert html.escape(verdict.sentence(cid, text[_ids(quick) == cid])) in table


def test_each_claims_checks_open_from_its_own_drilldown(page, quick):
    for cid, rows in quick.groupby(_ids(quick)):
        block = page[0].split(f'<details id="claim-quick-{cid}" class="claim">')[1]
        block = block.split("</details>")[0]
        assert block.count("<tr data-filterable") == len(rows)  # grouped by claim
        assert f'href="#claim-quick-{cid}"' in page[0]  # the scorecard links it


def test_every_image_links_its_full_size_file_once_with_a_whole_caption(page):
    text, out = page
    linked = IMG.findall(text)
    assert len(linked) == text.count("<img") > 0
    assert all(a == b for a, b in linked)
    sources = [b for _, b in linked]
    assert len(sources) == len(set(sources))  # no figure shown twice
    assert all((out / html.unescape(s)).resolve().is_file() for s in sources)
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", text, re.S)
    assert len(captions) == len(sources) and all(c.rstrip().endswith(".") for c in captions)


def test_a_sections_figures_are_drawn_for_its_task_alone(page):
    text, _ = page
    manifest = json.loads((FIGURES / "figures.json").read_text())
    sections = re.findall(r'<section id="t-[^"]*" [^>]*data-task="([^"]*)">(.*?)</section>',
                          text, re.S)
    assert sections
    for task, body in sections:
        for src in re.findall(r'<img src="([^"]+)"', body):
            entry = manifest[html.unescape(src).split("figures/", 1)[1]]
            assert entry["tasks"] == [html.unescape(task)], (task, src)
    with_figures = sum('<img src="' in body for _, body in sections)
    assert with_figures == len(sections)  # every task table has its own LDS bars


def test_the_suite_figures_sit_in_the_checks_of_their_claim(page):
    text, _ = page
    drill = text.split('<details id="claim-quick-C2" class="claim">')[1].split("</details>")[0]
    assert "interaction_gap.png" in drill  # drawn over every overlap cell: the C2 question
    ablation = text.split('<details id="claim-quick-C5" class="claim">')[1]
    assert "ablation.png" in ablation.split("</details>")[0]
