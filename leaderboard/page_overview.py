"""Which method wins where: the overview (one row per task table, the best set of each
overview column: the leader's value and every method tied with it) and the ranking across
tasks (``ranking``). A column where no method beats predicting the mean says so instead of
naming a winner; a column that means nothing for a table's methods shows a dash."""

from __future__ import annotations

import math

import pandas as pd

from . import ranking
from .cells import WORSE_THAN_MEAN
from .page_common import attrs, csv_link, esc, slug
from .sections import ARROWS, DASH, NA, Row, Section

SHOWN = 3  # methods named in an overview cell before "+N more"


def _column(section: Section, title: str) -> int | None:
    """The index of the metric column titled ``title`` (with any arrow), if the table has it."""
    names = {title + a for a in ARROWS.values()}
    return next((i for i, t in enumerate(section.titles) if t in names), None)


def _leader(rows: list[Row], i: int, high: bool) -> Row:
    pick = max if high else min
    return pick(rows, key=lambda r: r.cells[i].value)


def best_cell(section: Section, title: str) -> tuple[str, str]:
    """``(html, plain text)`` of a table's best set in one column (see the module
    docstring)."""
    i = _column(section, title)
    if i is None:
        return DASH, DASH
    high = section.titles[i].endswith(ARROWS[True])
    best = [r for r in section.rows if r.cells[i].best and not r.same_as]
    valued = [r for r in section.rows if not math.isnan(r.cells[i].value)
              and r.cells[i].text != NA and not r.reference]
    if not best:
        flagged = [r for r in valued if r.cells[i].flag]
        if not flagged:
            return DASH, DASH
        top = _leader(flagged, i, high)
        text = f"none beats the mean (best: {top.label} {top.cells[i].text})"
        return (f'<td class="num flag" title="{esc(WORSE_THAN_MEAN)}">{esc(text)}</td>', text)
    lead = _leader(best, i, high).cells[i]
    names = list(dict.fromkeys(r.label for r in best if r.headline))
    variants = sum(not r.headline for r in best)
    if not names:  # only variants tie the leader: name them
        names, variants = list(dict.fromkeys(r.label for r in best)), 0
    shown = ", ".join(names[:SHOWN])
    if len(names) > SHOWN:
        extra = f" +{len(names) - SHOWN + variants} more"
    else:
        extra = f" +{variants} variant{'s' if variants > 1 else ''}" if variants else ""
    every = "; ".join(f"{r.label} ({r.key})" for r in best)
    ci = f" <small>{esc(lead.ci)}</small>" if lead.ci else ""
    html = (f'<td class="num best" title="tied with the leader: {esc(every)}">'
            f"<strong>{esc(lead.text)}</strong>{ci}<br>{esc(shown)}<small>{esc(extra)}</small>"
            "</td>")
    return html, f"{lead.text} {shown}{extra}"


def overview(sections: list[Section], titles: tuple[str, ...] = ()) -> str:
    """Tasks x the best set per overview column, each task linking to its table."""
    heads = "".join(f'<th class="sortable num" scope="col">{esc(h)}</th>' for h in titles)
    rows, records = [], []
    for s in sections:
        cells = [best_cell(s, t) for t in titles]
        tds = "".join(h if h.startswith("<td") else f'<td class="num">{esc(h)}</td>'
                      for h, _ in cells)
        where = " · ".join(x for x in (s.profile, s.regime) if x)
        rows.append(f'<tr {attrs(s)}><th scope="row"><a href="#{slug(s)}">{esc(s.task)}</a>'
                    f" <small>{esc(where)}</small></th>{tds}</tr>")
        records.append({"task": s.task, "profile": s.profile, "regime": s.regime}
                       | {t: text for t, (_, text) in zip(titles, cells, strict=True)})
    legend = ("Each cell: the leader's value (its 95% CI where the column shows one) and every "
              "headline method tied with it (intervals that overlap the leader's; +N: tied "
              "variants). Baselines never count; a normalised error above 1 is worse than "
              "predicting the mean and never best; relative error counts only methods that "
              "predict F.")
    return ('<section id="overview">\n<h2>Which method wins where? The best set per task'
            f"</h2>\n<p>{esc(legend)} {csv_link(pd.DataFrame(records), 'overview')}</p>\n"
            '<div class="scroll"><table class="overview">\n<thead><tr>'
            f'<th class="sortable" scope="col">Task</th>{heads}</tr></thead>\n<tbody>\n'
            + "\n".join(rows)
            + "\n</tbody>\n</table></div>\n</section>")


def ranking_section(sections: list[Section]) -> str:
    """The ranking across tasks as a table, with how it is computed."""
    standings, used = ranking.ranking(sections)
    column = next((s.titles[0] for s in sections if s.titles), "the first column")
    rows, records = [], []
    for st in standings:
        won = ", ".join(st.won[:4]) + (f" and {len(st.won) - 4} more" if len(st.won) > 4 else "")
        few = ' class="few"' if len(st.tasks) < ranking.MIN_TASKS else ""
        rows.append(f'<tr{few}><th scope="row" '
                    f'title="{esc(st.stem)}">{esc(st.label)}</th>'
                    f'<td class="num">{st.mean_rank:.2f}</td>'
                    f'<td class="num">{len(st.won)}/{len(st.tasks)} ({st.win_rate:.0%})</td>'
                    f"<td>{esc(won or DASH)}</td></tr>")
        records.append({"method": st.label, "key": st.stem, "mean_rank": st.mean_rank,
                        "wins": len(st.won), "tasks": len(st.tasks), "won": "; ".join(st.won)})
    text = (f"On {column}, over the {len(used)} task tables where at least "
            f"{ranking.MIN_METHODS} headline methods have a value: a method's rank on a task is "
            "1 + the number of methods whose 95% CI lies wholly above its own (methods that "
            "cannot be told apart share a rank); it wins a task where it is in the best set. "
            "Mean rank and wins count only the tasks where the method was run; methods run on "
            f"fewer than {ranking.MIN_TASKS} of them come last, greyed.")
    return ('<section id="ranking">\n<h2>Ranking across tasks</h2>\n'
            f"<p>{esc(text)} {csv_link(pd.DataFrame(records), 'ranking')}</p>\n"
            '<div class="scroll"><table class="ranking">\n<thead><tr>'
            '<th class="sortable" scope="col">Method</th>'
            '<th class="sortable num" scope="col">Mean rank ↓</th>'
            '<th class="sortable num" scope="col">Wins</th><th scope="col">Best set on</th>'
            "</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table></div>\n"
            "</section>")
