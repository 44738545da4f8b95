"""One task's section of the page: its table (the headline methods; variants and ablations
behind a checkbox; rows whose values are all another's folded into it; each method's key in a
tooltip), a banner where its rows come from older code than the page's newest, a CSV of the
whole table, and the figures drawn for this task alone, each linked to its full-size file.
Also the suite's figures that belong to no task and no claim (``suite_figures``)."""

from __future__ import annotations

import pandas as pd

from .page_common import (
    FigureEntry,
    PageContext,
    attrs,
    csv_link,
    esc,
    figures_grid,
    method_family,
    slug,
)
from .sections import DASH, NA, Cell, Row, Section


def row_family(row: Row) -> str:
    """The method family a row is filtered by: its registered name."""
    return row.method or method_family(row.key)


def _method_cell(row: Row, ctx: PageContext) -> str:
    """The method's label (linking its file), its key in the tooltip, folded rows named."""
    name = method_family(row.key)
    label = esc(row.label)
    if ctx.methods_href is not None and name in ctx.method_files:
        label = (f'<a href="{esc(ctx.methods_href)}/{esc(name)}.py" '
                 f'title="definition and parameters">{label}</a>')
    same = ""
    if row.folded:
        names = "; ".join(f"{lab} ({key})" for lab, key in row.folded)
        same = (f' <small class="same" title="the same values: {esc(names)}">'
                f"+{len(row.folded)} identical</small>")
    kind = " <small>(variant)</small>" if not row.headline else ""
    return f'<th scope="row" title="{esc(row.key)}">{label}{kind}{same}</th>'


def _value_cell(cell: Cell) -> str:
    """A metric cell: the value (bold in the best set), its CI below, its flag or why n/a."""
    if cell.text == NA:
        return f'<td class="num na" title="{esc(cell.why_na)}">{NA}</td>'
    text = esc(cell.text) + (" †" if cell.flag else "")
    text = f"<strong>{text}</strong>" if cell.best else text
    ci = f"<small>{esc(cell.ci)}</small>" if cell.ci else ""
    classes = "num" + (" best" if cell.best else "") + (" flag" if cell.flag else "")
    title = f' title="{esc(cell.flag)}"' if cell.flag else ""
    return f'<td class="{classes}"{title}>{text}{ci}</td>'


def _row(row: Row, ctx: PageContext) -> str:
    kind = "headline" if row.headline else "variant"
    tds = [_method_cell(row, ctx), f"<td>{esc(row.labels if row.labels != 'none' else DASH)}</td>"]
    tds += [_value_cell(c) for c in row.cells]
    tds += [f'<td class="num">{esc(row.cost)}</td>', f'<td class="num">{esc(row.n_labels)}</td>']
    return f'<tr class="{kind}" data-method="{esc(row_family(row))}">' + "".join(tds) + "</tr>"


def table_frame(section: Section) -> pd.DataFrame:
    """The section's table as data (every row, folded ones too): values, intervals, cost."""
    records = []
    for row in section.rows:
        rec = {"method": row.label, "method_key": row.key, "labels": row.labels,
               "headline": row.headline, "same_as": row.same_as}
        for col, cell in zip(section.columns, row.cells, strict=True):
            name = f"{col.metric}/{col.variant}"
            rec |= {name: None if cell.text == NA else cell.value,
                    f"{name} low": cell.low, f"{name} high": cell.high}
        records.append(rec | {"cost_s": row.cost, "n_labels": row.n_labels,
                              "code": next((c.code for c in row.cells if c.code), "")})
    frame = pd.DataFrame(records)
    return frame.dropna(axis=1, how="all")


def _banner(section: Section, ctx: PageContext) -> str:
    """Where rows come from older code than the page's newest: which cells, from which code."""
    if not section.stale or not ctx.code[0]:
        return ""
    valued = sum(c.text != DASH for r in section.rows for c in r.cells)
    everything = sum(len(cols) for _, _, cols in section.stale) == valued
    codes = ", ".join(dict.fromkeys(c for _, c, _ in section.stale))
    if everything:
        which = "every cell of this table"
    else:
        parts = [f"{m}: {', '.join(cols)}" for m, _, cols in section.stale[:8]]
        more = len(section.stale) - 8
        which = "; ".join(parts) + (f"; and {more} more rows" if more > 0 else "")
    return (f'<p class="warning stale">Older code than the page: the newest rows come from '
            f"<code>{esc(ctx.code[0])}</code> ({esc(ctx.code[1])}); from <code>{esc(codes)}"
            f"</code>: {esc(which)}.</p>")


def task_figures(ctx: PageContext, task: str) -> tuple[list[FigureEntry], list[FigureEntry]]:
    """The figures drawn for ``task`` alone: (general ones, those bearing on claims)."""
    per_task = {e.figure for e in ctx.figures.values() if e.task}
    mine = [e for e in ctx.figures.values()
            if e.task == task or (not e.task and e.tasks == (task,) and e.figure not in per_task)]
    mine.sort(key=lambda e: e.file)
    return [e for e in mine if not e.claims], [e for e in mine if e.claims]


def _figures(ctx: PageContext, task: str) -> str:
    general, claimed = task_figures(ctx, task)
    out = figures_grid(general, ctx)
    if claimed:
        ids = ", ".join(dict.fromkeys(c for e in claimed for c in e.claims))
        out += (f'<details class="more-figs"><summary>{len(claimed)} more figures of this task '
                f"(claims {esc(ids)})</summary>{figures_grid(claimed, ctx)}</details>")
    return out


def _notes(section: Section, known_profiles: tuple[str, ...]) -> str:
    notes = []
    if section.profile not in known_profiles:
        notes.append(f"unknown profile {section.profile!r} (known: {', '.join(known_profiles)})")
    if not section.rows:
        notes.append("this task has no result rows")
    return "".join(f'<p class="warning">{esc(n)}</p>' for n in notes)


def _toggle(section: Section, shown: list[Row]) -> str:
    """The checkbox that shows the variants and ablations (none: no checkbox)."""
    variants = sum(not r.headline for r in shown)
    if not variants:
        return ""
    folded = sum(bool(r.same_as) for r in section.rows)
    fold = f"; {folded} rows with another's values are folded into it" if folded else ""
    return (f'<label class="variants"><input type="checkbox"> show {variants} variants and '
            f"ablations{fold}</label>")


def section(section: Section, ctx: PageContext, known_profiles: tuple[str, ...]) -> str:
    """One task table with its meta line, banners, CSV link and figures."""
    heads = ["Method", "Labels", *section.header[3:]]
    head = "".join(f'<th class="sortable{" num" if i >= 2 else ""}" scope="col">{esc(h)}</th>'
                   for i, h in enumerate(heads))
    shown = [r for r in section.rows if not r.same_as]
    body = "\n".join(_row(r, ctx) for r in shown)
    meta = " · ".join(f"{esc(k)}: <code>{esc(v)}</code>" for k, v in section.meta.items())
    return (f'<section id="{slug(section)}" {attrs(section)} data-task="{esc(section.task)}">\n'
            f"<h2>{esc(section.task)} · {esc(section.profile)}</h2>\n"
            f'<p class="meta">family: <code>{esc(section.family)}</code> · regime: '
            f"{esc(section.regime)} · {meta} · {csv_link(table_frame(section), slug(section))}"
            f"</p>{_notes(section, known_profiles)}{_banner(section, ctx)}\n"
            f"{_toggle(section, shown)}"
            f'<div class="scroll"><table class="methods">\n<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{body}\n</tbody>\n</table></div>\n{_figures(ctx, section.task)}"
            "</section>")


def suite_figures(ctx: PageContext, claim_rows: pd.DataFrame | None) -> str:
    """The whole-suite figures that neither a claim's checks nor a task's section show, and a
    link to each figure that is drawn per task as well, in one image for every task."""
    claimed = set() if claim_rows is None else {str(c).split()[0] for c in claim_rows["claim"]}
    loose = [e for e in ctx.figures.values() if not e.task and not e.per_task
             and len(e.tasks) != 1 and not set(e.claims) & claimed]
    whole = [e for e in ctx.figures.values() if e.per_task]
    links = "".join(f'<li><a href="{esc(ctx.figures_href)}/{esc(e.file)}">{esc(e.file)}</a>: '
                    f"{esc(e.title)}</li>" for e in sorted(whole, key=lambda e: e.file))
    if not loose and not links:
        return ""
    listed = (f"<p>Drawn per task above; every task in one image:</p><ul>{links}</ul>"
              if links else "")
    return (f'<section id="suite-figures">\n<h2>Suite figures</h2>\n'
            f"{figures_grid(sorted(loose, key=lambda e: e.file), ctx)}{listed}</section>")
