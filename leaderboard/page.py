"""The leaderboard as a self-contained static web page (``index.html``), answering two
questions before anything else: does the paper hold (the claims scorecard, ``page_claims``)
and which method wins where (the overview of each task's best set and the ranking across
tasks, ``page_overview``). Then one section per (task, profile) (``page_section``): its
headline methods, the variants one click away, its own figures, a CSV of the table. Filters
pick a task family, profile, regime and method family; the footer gives the provenance. CSS
and JS (``page.css``, ``page.js``) are inlined and every table's CSV is a ``data:`` link:
nothing is fetched at view time. Numbers come only from the sections ``render.build_sections``
builds from the CSVs and from ``claims.csv``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import page_claims, page_overview, page_section
from .page_common import FigureEntry, PageContext, esc
from .sections import Section

HERE = Path(__file__).resolve().parent
__all__ = ["FigureEntry", "PageContext", "html_page"]


def _filters(sections: list[Section]) -> str:
    options = {"family": sorted({s.family for s in sections}),
               "profile": sorted({s.profile for s in sections}),
               "regime": sorted({s.regime for s in sections if s.regime}),
               "method": sorted({page_section.row_family(r) for s in sections for r in s.rows})}
    parts = []
    for attr, values in options.items():
        opts = "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in values)
        parts.append(f'<label>{attr} <select id="f-{attr}" data-attr="{attr}">'
                     f'<option value="">all</option>{opts}</select></label>')
    return '<nav class="filters">' + "".join(parts) + '<small id="shown"></small></nav>'


TOC = (("scorecard", "Does the paper hold?"), ("overview", "Which method wins where?"),
       ("ranking", "Ranking across tasks"), ("tasks", "Task tables"),
       ("suite-figures", "Suite figures"))


def html_page(sections: list[Section], intro: str, claim_rows: pd.DataFrame | None = None,
              definitions_html: str = "", ctx: PageContext | None = None,
              known_profiles: tuple[str, ...] = ("tiny", "quick", "paper"),
              overview_titles: tuple[str, ...] = ()) -> str:
    """The whole page (see the module docstring); the overview shows the best set of each
    column titled in ``overview_titles``."""
    ctx = ctx or PageContext()
    warn = "".join(f'<p class="warning">{esc(w)}</p>' for w in ctx.warnings)
    content = [page_claims.scorecard(claim_rows, ctx)] if claim_rows is not None else []
    if sections:
        content += [_filters(sections), page_overview.overview(sections, overview_titles),
                    page_overview.ranking_section(sections),
                    f'<h2 id="tasks">Task tables</h2>\n<p class="intro">{esc(intro)}</p>']
        content += [page_section.section(s, ctx, known_profiles) for s in sections]
    else:
        content.append("<p><em>No results yet.</em></p>")
    content.append(page_section.suite_figures(ctx, claim_rows))
    if definitions_html:
        content.append(definitions_html)
    toc = " · ".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in TOC)
    prov = " · ".join(f"{esc(k)}: <code>{esc(v)}</code>" for k, v in ctx.provenance.items())
    css, js = (HERE / "page.css").read_text(), (HERE / "page.js").read_text()
    return ('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>taskattr leaderboard</title>\n<style>{css}</style>\n"
            f"<script>{js}</script>\n</head>\n<body>\n<h1>taskattr leaderboard</h1>\n"
            f'<nav class="toc">{toc}</nav>\n{warn}' + "\n".join(content)
            + f"\n<footer>{prov}</footer>\n</body>\n</html>\n")
