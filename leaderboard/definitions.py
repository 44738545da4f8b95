"""Metric definitions on the leaderboard: one line per (metric, variant) shown.

``replicate`` writes ``metrics.csv`` (``metric, variant, definition``) next to ``results.csv``
from the metric modules' registered definitions (``benchmarks.api.evaluation.write_definitions``);
the pages list the definitions of the variants they show, so that e.g. the residual's ``ne``
and ``repo`` (the authors' form: Bessel variance and a held-out variance filter) are never
read as one quantity.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from benchmarks.common.schema import METRIC_DEFINITIONS
from benchmarks.common.tables import read_table

from .md import escape

TITLE = "Metric definitions"


def read(path: Path) -> pd.DataFrame | None:
    """The definitions file (read strictly), or None when absent or empty. It is rewritten
    from the metric modules before every render, so one without a manifest is not warned."""
    if not Path(path).is_file() or Path(path).stat().st_size == 0:
        return None
    df = read_table(path, METRIC_DEFINITIONS, warn_unrecorded=False)
    return None if df.empty else df


def shown(defs: pd.DataFrame | None, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(metric/variant, definition)`` for the shown ``(metric, variant)`` pairs, in order."""
    if defs is None:
        return []
    text = {(r.metric, r.variant): r.definition for r in defs.itertuples(index=False)}
    return [(f"{m}/{v}", text[(m, v)]) for m, v in dict.fromkeys(pairs) if (m, v) in text]


def markdown(items: list[tuple[str, str]]) -> str:
    """A ``##`` section with one bullet per definition (empty string when none)."""
    if not items:
        return ""
    return "\n".join([f"## {TITLE}", ""]
                     + [f"* {escape(k, code=True)}: {escape(v)}" for k, v in items])


def html_section(items: list[tuple[str, str]]) -> str:
    """The same list as an HTML ``<section>`` (empty string when none)."""
    if not items:
        return ""
    lis = "\n".join(f"<li><code>{html.escape(k)}</code>: {html.escape(v)}</li>"
                    for k, v in items)
    return f"<section>\n<h2>{TITLE}</h2>\n<ul>\n{lis}\n</ul>\n</section>"
