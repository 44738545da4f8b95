"""Does the paper hold? The claims scorecard that opens the page, per profile: a row per
claim reading, a column per regime (each check's outcome counted, and the median check's number
beside the paper's), the verdict sentence of each claim (``verdict.sentence``), and below it one
drill-down per claim (``<details>``) listing its checks, grouped by claim, with the figures that
bear on it."""

from __future__ import annotations

import pandas as pd

from . import claims, verdict
from .page_common import PageContext, csv_link, esc, figures_grid
from .sections import DASH

REGIMES = ("scratch", "fine-tuned")  # column order; a regime not listed follows them
OUTCOMES = ("holds", "within noise", "fails", "not applicable", "missing")
WORDS = {"holds": "hold", "within noise": "noise", "fails": "fail", "not applicable": "n.a.",
         "missing": "missing"}
DETAIL = ("task", "outcome", "margin", "noise", "ours", "paper", "tolerance", "regime",
          "source", "where", "note")  # a check's columns in the drill-down, numbers first
NUMERIC = ("margin", "noise")


def _ordered(ids: pd.Series) -> list[str]:
    return sorted(ids.unique(), key=lambda c: (len(c), c))


def _regimes(df: pd.DataFrame) -> list[str]:
    present = [r for r in dict.fromkeys(df["regime"].fillna("").astype(str))]
    return [r for r in REGIMES if r in present] + [r for r in present if r not in REGIMES]


def _chips(rows: pd.DataFrame) -> str:
    """``3 hold · 14 noise · 7 fail``, one coloured chip per outcome present."""
    n = rows["outcome"].value_counts()
    return " ".join(f'<span class="chip outcome-{esc(o.replace(" ", "-"))}">{int(n[o])} '
                    f"{WORDS[o]}</span>" for o in OUTCOMES if n.get(o, 0))


def _median_check(rows: pd.DataFrame) -> pd.Series | None:
    """The judged check with the median margin (the typical one), if any was judged."""
    judged = rows[rows["outcome"].isin(("holds", "within noise", "fails"))]
    judged = judged[pd.to_numeric(judged["margin"], errors="coerce").notna()]
    if judged.empty:
        return None
    order = pd.to_numeric(judged["margin"]).sort_values(kind="stable")
    return judged.loc[order.index[(len(order) - 1) // 2]]


def _regime_cell(rows: pd.DataFrame) -> str:
    """One reading's checks in one regime: outcome chips and the median check's numbers."""
    if rows.empty:
        return f'<td class="num">{DASH}</td>'
    mid = _median_check(rows)
    typical = "" if mid is None else (
        f'<br><small>median check: ours <b>{esc(str(mid["ours"]))}</b> · paper '
        f'<b>{esc(str(mid["paper"]))}</b> ({esc(str(mid["task"]))})</small>')
    return f'<td class="num">{_chips(rows)}{typical}</td>'


def _paper(rows: pd.DataFrame) -> str:
    """The paper's most frequent figures for a reading, and where they were read."""
    figures = "; ".join(str(p) for p in rows["paper"].value_counts().index[:2])
    sources = ", ".join(sorted(set(rows["source"].fillna("").astype(str)) - {""}))
    return f"<td>{esc(figures)}<br><small>{esc(sources)}</small></td>"


def _scorecard_table(df: pd.DataFrame, anchor: str) -> str:
    """The scorecard of one profile's claims."""
    regimes = _regimes(df)
    ids = df["claim"].map(verdict.claim_id)
    head = "".join(f'<th class="num" scope="col">{esc(verdict.REGIME_WORDS.get(r, r))}</th>'
                   for r in regimes)
    body = []
    for cid in _ordered(ids):
        rows = df[ids == cid]
        for reading, g in rows.groupby("claim", sort=False):
            cells = "".join(_regime_cell(g[g["regime"].fillna("") == r]) for r in regimes)
            body.append(f'<tr><th scope="row"><a href="#{anchor}-{esc(cid)}">{esc(cid)}</a> '
                        f"{esc(str(reading)[len(cid):].strip(' :'))}</th>{cells}{_paper(g)}"
                        "</tr>")
        body.append(f'<tr class="verdict"><td colspan="{len(regimes) + 2}">'
                    f"{esc(verdict.sentence(cid, _text(rows)))}</td></tr>")
    return ('<div class="scroll"><table class="scorecard">\n<thead><tr>'
            f'<th scope="col">Claim</th>{head}<th scope="col">The paper</th></tr></thead>\n'
            "<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table></div>")


def summary_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The scorecard as data: per claim reading and regime, the checks by outcome and the
    median check's numbers beside the paper's."""
    records = []
    for (reading, regime), g in df.groupby(["claim", df["regime"].fillna("")], sort=False):
        mid = _median_check(g)
        n = g["outcome"].value_counts()
        records.append({"claim": reading, "regime": regime, "checks": len(g)}
                       | {o: int(n.get(o, 0)) for o in OUTCOMES}
                       | {f"median check {c}": "" if mid is None else mid[c]
                          for c in ("task", "ours", "paper")})
    return pd.DataFrame(records)


def _text(rows: pd.DataFrame) -> pd.DataFrame:
    """Claims rows with their text columns as strings (as ``verdict`` reads them)."""
    return rows.assign(**{c: rows[c].fillna("").astype(str) for c in ("regime", "where", "note")})


def _checks(rows: pd.DataFrame, profile: str) -> str:
    """A claim's checks, one row each, numbers first."""
    head = "".join(f'<th class="sortable{" num" if c in NUMERIC else ""}" scope="col">'
                   f"{esc(c)}</th>" for c in DETAIL)
    body = []
    for _, r in rows.iterrows():
        tds = [f'<th scope="row">{esc(claims.cell(r, "task"))}</th>']
        for c in DETAIL[1:]:
            cls = f"outcome-{esc(str(r[c]).replace(' ', '-'))}" if c == "outcome" else (
                "num" if c in NUMERIC else "")
            tds.append(f'<td class="{cls}">{esc(claims.cell(r, c))}</td>')
        body.append(f'<tr data-filterable data-profile="{esc(profile)}" '
                    f'data-regime="{esc(claims.cell(r, "regime"))}">' + "".join(tds) + "</tr>")
    return ('<div class="scroll"><table class="checks">\n<thead><tr>'
            f"{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table></div>")


def _drilldowns(df: pd.DataFrame, anchor: str, profile: str, ctx: PageContext,
                with_figures: bool) -> str:
    """One closed ``<details>`` per claim: its verdict, its checks (and CSV), its figures."""
    ids = df["claim"].map(verdict.claim_id)
    out = []
    for cid in _ordered(ids):
        rows = df[ids == cid]
        figs = [e for e in ctx.figures.values() if not e.task and e.claims[:1] == (cid,)]
        grid = figures_grid(sorted(figs, key=lambda e: e.file), ctx) if with_figures else ""
        grid += _see_also(ctx, cid, anchor) if with_figures else ""
        name = f"claims-{profile}-{cid}"
        out.append(f'<details id="{anchor}-{esc(cid)}" class="claim"><summary><b>{esc(cid)}'
                   f"</b> · {len(rows)} checks {_chips(rows)}</summary>\n"
                   f"<p>{esc(verdict.sentence(cid, _text(rows)))} "
                   f"{csv_link(rows.reindex(columns=[*claims.COLUMNS]), name)}</p>\n"
                   f"{_checks(rows, profile)}\n{grid}</details>")
    return '<div class="drilldowns">' + "\n".join(out) + "</div>"


def _see_also(ctx: PageContext, cid: str, anchor: str) -> str:
    """Links to the figures that bear on ``cid`` but are shown with another claim's checks."""
    others = sorted((e for e in ctx.figures.values() if not e.task and cid in e.claims[1:]),
                    key=lambda e: e.file)
    links = ", ".join(f'<a href="#{anchor}-{esc(e.claims[0])}">{esc(e.figure)}</a> (with '
                      f"{esc(e.claims[0])})" for e in others)
    return f'<p class="see-also">Figures that bear on {esc(cid)} too: {links}.</p>' if links \
        else ""


LEGEND = ("Each claim of the paper is checked on many cells (task x compared method x "
          "regime); a regime's column counts its checks by outcome and shows the median "
          "check (by margin): our number beside the paper's. Below each claim, its verdict in "
          "words; its checks and figures open from the list under the table.")


def scorecard(df: pd.DataFrame, ctx: PageContext) -> str:
    """The scorecard section: per profile, the table and the claims' drill-downs."""
    out = ['<section id="scorecard">\n<h2>Does the paper hold? The claims scorecard</h2>',
           f"<p>{esc(LEGEND)}</p>",
           f"<details><summary>How a check is judged</summary><p>{esc(claims.LEGEND)}</p>"
           "</details>"]
    for i, (profile, g) in enumerate(df.groupby("profile", sort=True)):
        anchor = f"claim-{esc(str(profile))}"
        out.append(f"<h3>{esc(str(profile))}: {esc(claims.count_text(g))} "
                   f"{csv_link(summary_frame(g), f'scorecard-{profile}')}</h3>\n"
                   f"{_scorecard_table(g, anchor)}\n"
                   f"{_drilldowns(g, anchor, str(profile), ctx, i == 0)}")
    return "\n".join(out) + "\n</section>"
