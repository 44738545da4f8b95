"""What the page's parts share: the page context, figure entries, escaping, anchors, filter
attributes, CSV links and figure markup (``page``, ``page_claims``, ``page_overview``,
``page_section``)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import quote

import pandas as pd

from .sections import Section

esc = html.escape


@dataclass(frozen=True)
class FigureEntry:
    """A drawn figure as ``figures/figures.json`` records it."""

    file: str  # relative to the figures folder: ``lds_by_method/modular-addition.png``
    title: str  # its caption
    tasks: tuple[str, ...] = ()  # the tasks it draws
    figure: str = ""  # the figure module's SLUG
    claims: tuple[str, ...] = ()  # the claim ids it bears on
    task: str = ""  # the one task of a per-task drawing
    per_task: bool = False  # (a whole-suite figure) also drawn once per task


@dataclass
class PageContext:
    """What the page shows beside the sections: figures (``{file: FigureEntry}`` with the
    folder's path relative to the page), links to method files, provenance, the code version
    sections are compared with (``(code, date)``: the newest row's), warnings."""

    figures: dict[str, FigureEntry] = field(default_factory=dict)
    figures_href: str = "../figures"
    methods_href: str | None = None  # folder of methods/<name>.py relative to the page
    method_files: frozenset[str] = frozenset()
    provenance: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    code: tuple[str, str] = ("", "")


def method_family(key: str) -> str:
    """The registry name a method key starts with (``name[...]-hash``)."""
    m = re.match(r"[^\[\-]+", key)
    return m.group(0) if m else key


def slug(section: Section) -> str:
    return "t-" + re.sub(r"[^a-z0-9]+", "-", f"{section.task}-{section.profile}".lower())


def attrs(section: Section) -> str:
    """The filter attributes of a section (and of its overview row)."""
    return (f'data-filterable data-family="{esc(section.family)}" '
            f'data-profile="{esc(section.profile)}" data-regime="{esc(section.regime)}"')


def csv_link(frame: pd.DataFrame, name: str) -> str:
    """A link downloading ``frame`` as ``<name>.csv`` (a ``data:`` URI: no file, no fetch)."""
    text = frame.to_csv(index=False, float_format="%.6g")
    return (f'<a class="csv" download="{esc(name)}.csv" '
            f'href="data:text/csv;charset=utf-8,{quote(text)}">CSV</a>')


def figure_html(entry: FigureEntry, ctx: PageContext) -> str:
    """A figure: its image linked to the full-size file, and its whole caption."""
    src = f"{esc(ctx.figures_href)}/{esc(entry.file)}"
    return (f'<figure data-figure="{esc(entry.figure)}" data-task="{esc(entry.task)}">'
            f'<a href="{src}" title="open the full-size image"><img src="{src}" '
            f'alt="{esc(entry.title)}" loading="lazy"></a>'
            f"<figcaption>{esc(entry.title)}</figcaption></figure>")


def figures_grid(entries: list[FigureEntry], ctx: PageContext) -> str:
    """Figures side by side where the page is wide, one under another where it is not."""
    if not entries:
        return ""
    return '<div class="figs">' + "".join(figure_html(e, ctx) for e in entries) + "</div>"
