"""The leaderboard's metric columns come from what the metrics and stages register (written to
``metrics.csv`` by ``write_definitions``), never from a list in the leaderboard package: a
metric registered here shows up on both pages without a change to ``leaderboard/``."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from benchmarks.api.evaluation import Evaluation, MetricValue, write_definitions
from benchmarks.api.registry import METRICS, register_metric
from benchmarks.common.schema import ROW_KEY, BoardColumn, ResultRow
from benchmarks.common.tables import write_table
from leaderboard import render
from leaderboard.build import LEADERBOARD_DIR
from leaderboard.definitions import declared

NAME = "toy_gap"  # registered for one test at a time, removed after it


@contextmanager
def _registered(**meta) -> Iterator[None]:
    """``toy_gap`` (variant ``abs``, lower is better) registered with ``meta`` for a block."""

    @register_metric(NAME, higher_is_better=False, definitions={"abs": "toy: mean |pred - F|"},
                     **meta)
    def toy_gap(ev: Evaluation) -> list[MetricValue]:
        return [MetricValue("abs", "eval", 0.0)]

    try:
        yield
    finally:
        METRICS._items.pop(NAME, None)
        METRICS._meta.pop(NAME, None)


def _row(key: str, metric: str, variant: str, value: float, higher: bool) -> dict:
    """One results row of task ``toy`` at profile tiny."""
    return ResultRow("toy", "toy-0123456789ab", "toy", "{}", "scratch", key.split("-")[0], key,
                     key.upper(), "none", metric, variant, "eval", value, math.nan, math.nan, 3,
                     0, higher, "tiny", 0.5, 0, "abcdef1234", "", "2025-01-02T03:04:05"
                     ).as_dict()


def _board(folder: Path) -> tuple[str, str]:
    """Results of two methods (LDS and the toy metric) and ``metrics.csv`` from the registry,
    rendered: the Markdown table's header line, and the web page."""
    rows = [_row(k, "lds", "spearman", lds, True) for k, lds in (("a-01", 0.5), ("b-02", 0.7))]
    rows += [_row(k, NAME, "abs", gap, False) for k, gap in (("a-01", 0.1), ("b-02", 0.3))]
    write_table(folder / "results.csv", pd.DataFrame(rows), ROW_KEY)
    write_definitions(folder / "metrics.csv")
    md, page = render.write_all(folder / "results.csv", folder / "out", folder / "figures")
    header = next(ln for ln in md.read_text().splitlines() if ln.startswith("| Method"))
    return header, page.read_text()


def test_a_registered_metric_gets_its_declared_column(tmp_path: Path) -> None:
    with _registered(columns={"abs": BoardColumn("Toy gap", 45, overview=True)}):
        header, page = _board(tmp_path)
    assert header == ("| Method | Key | Labels | LDS (Spearman) ↑ | Toy gap ↓ | Cost (s) | "
                      "F labels |")
    md = (tmp_path / "out" / "LEADERBOARD.md").read_text()
    assert "| **0.100** |" in md  # lower is better: a-01's gap is the best
    assert "* `toy_gap/abs`: toy: mean \\|pred - F\\|" in md
    overview = page.split('id="overview"')[1].split("</thead>")[0]
    assert "Toy gap</th>" in overview and "LDS (Spearman)</th>" in overview


def test_a_metric_declaring_no_columns_shows_each_variant(tmp_path: Path) -> None:
    with _registered():
        header, page = _board(tmp_path)
    assert "| LDS (Spearman) ↑ | toy\\_gap/abs ↓ |" in header  # escaped for Markdown
    assert "toy_gap/abs" not in page.split('id="overview"')[1].split("</thead>")[0]


def test_a_metric_may_keep_its_variants_off_the_board(tmp_path: Path) -> None:
    with _registered(columns={}):
        header, _ = _board(tmp_path)
    assert header == "| Method | Key | Labels | LDS (Spearman) ↑ | Cost (s) | F labels |"


def test_without_declared_columns_every_metric_variant_is_shown(tmp_path: Path) -> None:
    """No ``metrics.csv``: a column per (metric, variant) of the results, by name."""
    rows = [_row("a-01", "lds", "spearman", 0.5, True), _row("a-01", "zeta", "v", 2.0, True)]
    header = next(ln for ln in render.render_markdown(pd.DataFrame(rows)).splitlines()
                  if ln.startswith("| Method"))
    assert "| lds/spearman ↑ | zeta/v ↑ |" in header


def test_the_committed_metrics_csv_is_what_the_registry_writes(tmp_path: Path) -> None:
    """``leaderboard/metrics.csv`` declares today's columns (``python -m benchmarks
    leaderboard`` rewrites it), in the order of the committed pages."""
    written = write_definitions(tmp_path / "metrics.csv").read_text()
    assert written == (LEADERBOARD_DIR / "metrics.csv").read_text()
    titles = [c.title for c in declared(pd.read_csv(tmp_path / "metrics.csv"))]
    assert titles[:3] == ["LDS (Spearman)", "LDS repo (var filter)", "LOO Pearson"]
    assert NAME not in METRICS.names()
