"""What ``metrics.csv`` says on the leaderboard: the metric columns, and the definitions of
the (metric, variant) pairs they show.

``replicate`` and ``python -m benchmarks leaderboard`` write ``metrics.csv`` beside
``results.csv`` from the registry (``benchmarks.api.evaluation.write_definitions``): each
variant's one-line definition, and for those that are columns, how (``BOARD_FIELDS`` of
``benchmarks.common.schema.BoardColumn``: title, order, whether the cells show the 95% CI,
whether the page's overview shows the column). The columns are declared where the rows are
made (a metric's or stage's registration), so a metric registered later shows up here without
a change to this package; a results table without such a ``metrics.csv`` (or one written
before columns were declared) shows every (metric, variant) it holds, titled
``metric/variant``, with its CI where one is known. The pages list the definitions of the
variants they show, so that e.g. the residual's ``ne`` and ``repo`` (the authors' form:
Bessel variance and a held-out variance filter) are never read as one quantity.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmarks.common.schema import BOARD_FIELDS, METRIC_DEFINITIONS, BoardColumn
from benchmarks.common.tables import read_table

from .md import escape

TITLE = "Metric definitions"
DEFAULT_ORDER = BoardColumn("").order


@dataclass(frozen=True)
class Column:
    """A table column: the (metric, variant) rows feeding it and how it is drawn."""

    metric: str
    variant: str
    title: str
    order: int = DEFAULT_ORDER
    ci: bool = False  # cells show the 95% CI
    overview: bool = False  # the page's overview shows the column's best method


def _flag(value: object) -> bool:
    """A ``True``/``False`` cell as written by pandas (empty or unknown: False)."""
    return str(value).strip().lower() in ("true", "1", "1.0")


def declared(defs: pd.DataFrame | None) -> list[Column] | None:
    """The columns a definitions table declares (rows with a ``title``), in order; None when
    it has no column fields (absent, or written before columns were declared)."""
    if defs is None or any(f not in defs.columns for f in BOARD_FIELDS):
        return None
    title = defs["title"].astype("string").str.strip()
    rows = defs[title.notna() & title.ne("")]
    order = pd.to_numeric(rows["order"], errors="coerce").fillna(DEFAULT_ORDER)
    cols = [Column(str(r.metric), str(r.variant), str(r.title).strip(), int(o), _flag(r.ci),
                   _flag(r.overview))
            for r, o in zip(rows.itertuples(index=False), order, strict=True)]
    return sorted(cols, key=lambda c: (c.order, c.metric, c.variant))


def present(df: pd.DataFrame) -> list[Column]:
    """Every (metric, variant) of a results table, by name, titled ``metric/variant``."""
    pairs = sorted(set(zip(df["metric"].astype(str), df["variant"].astype(str), strict=True)))
    return [Column(m, v, f"{m}/{v}", ci=True) for m, v in pairs]


def for_results(df: pd.DataFrame, defs: pd.DataFrame | None) -> list[Column]:
    """The columns the tables of ``df`` may show: those ``defs`` declares, else ``present``."""
    cols = declared(defs)
    return present(df) if cols is None else cols


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
    text = {(r.metric, r.variant): r.definition for r in defs.itertuples(index=False)
            if pd.notna(r.definition) and str(r.definition).strip()}  # a column without one
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
