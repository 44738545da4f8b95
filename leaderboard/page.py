"""The leaderboard's static HTML page (one ``<section>`` per task and profile, then the claims),
rendered from the sections ``render.build_sections`` builds."""

from __future__ import annotations

import html

import pandas as pd

from . import claims
from .sections import DASH, Section

CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 2rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.7rem; text-align: left; }
th { background: #f4f4f4; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
small, .meta { color: #666; }
"""


def _html_section(section: Section) -> str:
    """A ``<section>`` with heading, header line and table."""
    esc = html.escape
    meta = " · ".join(f"{esc(k)}: <code>{esc(v)}</code>" for k, v in section.meta.items())
    heads = ["Method", "Labels"] + section.header[3:]
    head = "".join(
        f'<th class="num">{esc(h)}</th>' if i >= 2 else f"<th>{esc(h)}</th>"
        for i, h in enumerate(heads)
    )
    body = []
    for row in section.rows:
        tds = [
            f"<td>{esc(row.label)}<br><small>{esc(row.key)}</small></td>",
            f"<td>{esc(row.labels or DASH)}</td>",
        ]
        for cell, bold in zip(row.cells, row.bold, strict=True):
            text = f"<strong>{esc(cell)}</strong>" if bold else esc(cell)
            tds.append(f'<td class="num">{text}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return (
        f"<section>\n<h2>{esc(section.task)} · {esc(section.profile)}</h2>\n"
        f'<p class="meta">{meta}</p>\n<table>\n<thead><tr>{head}</tr></thead>\n'
        "<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>\n</section>"
    )


def html_page(sections: list[Section], intro: str, claim_rows: pd.DataFrame | None = None,
              definitions_html: str = "") -> str:
    """The leaderboard as one static HTML page with inline CSS and no scripts; the metric
    definitions section (``definitions_html``) comes before the claims."""
    content = [_html_section(s) for s in sections] or ["<p><em>No results yet.</em></p>"]
    if definitions_html:
        content.append(definitions_html)
    if claim_rows is not None:
        content.append(claims.html_section(claim_rows))
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>taskattr leaderboard</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<h1>taskattr leaderboard</h1>\n<p>{html.escape(intro)}</p>\n"
        + "\n".join(content)
        + "\n</body>\n</html>\n"
    )


