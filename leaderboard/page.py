"""The leaderboard as a self-contained static web page (``index.html``): an overview (best
method per metric for every task table), the claims table with each check's regime, one
section per (task, profile) with sortable columns, its figures and links to each method's
definition, filters by task family, profile, regime and method family, and the provenance in
the footer. CSS and JS (``page.css``, ``page.js``) are inlined: nothing is fetched at view
time. Numbers come only from the sections ``render.build_sections`` builds from the CSVs.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import claims
from .sections import ARROWS, DASH, Section

HERE = Path(__file__).resolve().parent
esc = html.escape


@dataclass
class PageContext:
    """What the page shows beside the sections: figures (``{file: (title, tasks)}`` with the
    folder's path relative to the page), links to method files, provenance, warnings."""

    figures: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    figures_href: str = "../figures"
    methods_href: str | None = None  # folder of methods/<name>.py relative to the page
    method_files: frozenset[str] = frozenset()
    provenance: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def method_family(key: str) -> str:
    """The registry name a method key starts with (``name[...]-hash``)."""
    m = re.match(r"[^\[\-]+", key)
    return m.group(0) if m else key


def slug(section: Section) -> str:
    return "t-" + re.sub(r"[^a-z0-9]+", "-", f"{section.task}-{section.profile}".lower())


def _attrs(section: Section) -> str:
    return (f'data-filterable data-family="{esc(section.family)}" '
            f'data-profile="{esc(section.profile)}" data-regime="{esc(section.regime)}"')


def _method_cell(row, ctx: PageContext) -> str:
    name = method_family(row.key)
    label = esc(row.label)
    if ctx.methods_href is not None and name in ctx.method_files:
        label = (f'<a href="{esc(ctx.methods_href)}/{esc(name)}.py" '
                 f'title="definition and parameters">{label}</a>')
    return f"<td>{label}<br><small>{esc(row.key)}</small></td>"


def _section(section: Section, ctx: PageContext, known_profiles: tuple[str, ...]) -> str:
    """One task table with its meta line, warnings and figures."""
    heads = ["Method", "Labels"] + section.header[3:]
    head = "".join(f'<th class="sortable{" num" if i >= 2 else ""}" scope="col">{esc(h)}</th>'
                   for i, h in enumerate(heads))
    body = []
    for row in section.rows:
        tds = [_method_cell(row, ctx), f"<td>{esc(row.labels or DASH)}</td>"]
        tds += [f'<td class="num">{"<strong>" + esc(c) + "</strong>" if b else esc(c)}</td>'
                for c, b in zip(row.cells, row.bold, strict=True)]
        body.append(f'<tr data-method="{esc(method_family(row.key))}">' + "".join(tds) + "</tr>")
    meta = " · ".join(f"{esc(k)}: <code>{esc(v)}</code>" for k, v in section.meta.items())
    notes = []
    if section.profile not in known_profiles:
        notes.append(f"unknown profile {section.profile!r} (known: {', '.join(known_profiles)})")
    if not section.rows:
        notes.append("this task has no result rows")
    warn = "".join(f'<p class="warning">{esc(n)}</p>' for n in notes)
    figs = [f'<figure><img src="{esc(ctx.figures_href)}/{esc(f)}" alt="{esc(t)}" '
            f'loading="lazy"><figcaption><small>{esc(t)}</small></figcaption></figure>'
            for f, (t, tasks) in sorted(ctx.figures.items()) if section.task in tasks]
    fig_html = f'<div class="figs">{"".join(figs)}</div>' if figs else ""
    return (f'<section id="{slug(section)}" {_attrs(section)}>\n'
            f"<h2>{esc(section.task)} · {esc(section.profile)}</h2>\n"
            f'<p class="meta">family: <code>{esc(section.family)}</code> · regime: '
            f"{esc(section.regime)} · {meta}</p>{warn}\n"
            f'<div class="scroll"><table class="methods">\n<thead><tr>{head}</tr></thead>\n'
            "<tbody>\n" + "\n".join(body) + f"\n</tbody>\n</table></div>\n{fig_html}</section>")


def _best(section: Section, title: str) -> str:
    """``method: value`` of the best row of the column titled ``title`` (with its arrow)."""
    cols = [i for i, h in enumerate(section.header[3:]) if h in {title + a for a in
                                                                 ARROWS.values()}]
    if not cols:
        return DASH
    i = cols[0]
    best = [r for r in section.rows if r.bold[i]]
    return "; ".join(f"{r.label}: {r.cells[i].split(' [')[0]}" for r in best[:2]) or DASH


def overview(sections: list[Section], titles: tuple[str, ...] = ()) -> str:
    """Tasks x best method per metric (the columns titled ``titles``), each task linking to
    its table."""
    head = "".join(f'<th class="sortable" scope="col">{esc(h)}</th>'
                   for h in ("Task", "Profile", "Family", "Regime", *titles))
    rows = []
    for s in sections:
        cells = [f'<td><a href="#{slug(s)}">{esc(s.task)}</a></td>', f"<td>{esc(s.profile)}</td>",
                 f"<td>{esc(s.family)}</td>", f"<td>{esc(s.regime)}</td>"]
        cells += [f"<td>{esc(_best(s, t))}</td>" for t in titles]
        rows.append(f"<tr {_attrs(s)}>" + "".join(cells) + "</tr>")
    return ('<section id="overview">\n<h2>Overview: the best method per metric</h2>\n'
            '<div class="scroll"><table class="overview">\n'
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows)
            + "\n</tbody>\n</table></div>\n</section>")


def _filters(sections: list[Section]) -> str:
    options = {"family": sorted({s.family for s in sections}),
               "profile": sorted({s.profile for s in sections}),
               "regime": sorted({s.regime for s in sections if s.regime}),
               "method": sorted({method_family(r.key) for s in sections for r in s.rows})}
    parts = []
    for attr, values in options.items():
        opts = "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in values)
        parts.append(f'<label>{attr} <select id="f-{attr}" data-attr="{attr}">'
                     f'<option value="">all</option>{opts}</select></label>')
    return '<nav class="filters">' + "".join(parts) + '<small id="shown"></small></nav>'


def html_page(sections: list[Section], intro: str, claim_rows: pd.DataFrame | None = None,
              definitions_html: str = "", ctx: PageContext | None = None,
              known_profiles: tuple[str, ...] = ("tiny", "quick", "paper"),
              overview_titles: tuple[str, ...] = ()) -> str:
    """The whole page (see the module docstring); the overview shows the best method of
    each column titled in ``overview_titles``."""
    ctx = ctx or PageContext()
    warn = "".join(f'<p class="warning">{esc(w)}</p>' for w in ctx.warnings)
    content = ([overview(sections, overview_titles)] if sections
               else ["<p><em>No results yet.</em></p>"])
    if claim_rows is not None:
        content.append(claims.html_section(claim_rows))
    content += [_section(s, ctx, known_profiles) for s in sections]
    if definitions_html:
        content.append(definitions_html)
    prov = " · ".join(f"{esc(k)}: <code>{esc(v)}</code>" for k, v in ctx.provenance.items())
    css, js = (HERE / "page.css").read_text(), (HERE / "page.js").read_text()
    return ('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>taskattr leaderboard</title>\n<style>{css}</style>\n"
            f"<script>{js}</script>\n</head>\n<body>\n<h1>taskattr leaderboard</h1>\n"
            f"<p>{esc(intro)}</p>\n{warn}{_filters(sections)}\n" + "\n".join(content)
            + f"\n<footer>{prov}</footer>\n</body>\n</html>\n")
