"""The claims table in words: one sentence per claim (C1, C2, ..., whatever paper made it).

``verdict(table)`` reads one profile's claims (``claims.csv`` columns) and says, per claim id
(the ``C<n>`` that opens each ``claim``): how many checks hold, are within noise, fail, are
not applicable or missing; on which cells (and regimes) it holds; where it fails, by regime;
why it does not apply where it does not; and where a failing check would hold (``where``).
It knows no paper: C8 of the parameter-weighting paper reads as C2 of KernelSM does.
``markdown(df)`` is the verdict of every profile as a Markdown section (``verdict.md``); the
README's scorecard (``scorecard.py``) summarises the quick profile's.
"""

from __future__ import annotations

import re

import pandas as pd

from .md import escape

CLAIM_ID = re.compile(r"^\s*(C\d+)\b")
REGIME_WORDS = {"scratch": "from scratch", "fine-tuned": "fine-tuned", "": "regime unknown"}
CHECKS = {"scratch": ("check from scratch", "checks from scratch"),  # (one, several)
          "fine-tuned": ("fine-tuned check", "fine-tuned checks"),
          "": ("check of unknown regime", "checks of unknown regime")}
COUNT_WORDS = (("holds", "hold"), ("within noise", "within noise"), ("fails", "fail"),
               ("not applicable", "not applicable"), ("missing", "missing"))
SHOWN = 4  # cells named per list before "and N more"


def claim_id(claim: str) -> str:
    """``C2`` of ``C2 LDS KernelSM > linear`` (the whole text where it opens with no id)."""
    match = CLAIM_ID.match(str(claim))
    return match.group(1) if match else str(claim)


def verdict(table: pd.DataFrame) -> list[str]:
    """One sentence per claim id of one profile's claims table, in id order."""
    if table.empty:
        return []
    df = table.assign(**{c: table[c].fillna("").astype(str) if c in table else ""
                         for c in ("regime", "where", "note")})
    ids = df["claim"].map(claim_id)
    order = sorted(ids.unique(), key=lambda c: (len(c), c))
    return [sentence(cid, df[ids == cid]) for cid in order]


def sentence(cid: str, rows: pd.DataFrame) -> str:
    """The verdict of one claim's checks (see the module docstring)."""
    titles = dict.fromkeys(str(c)[len(cid):].strip(" :") or cid for c in rows["claim"])
    parts = [_counts(rows)]
    holds = rows[rows.outcome == "holds"]
    if len(holds):
        parts.append(f"holds on {_cells(holds)}")
    parts += _fails(rows)
    parts += _not_applicable(rows[rows.outcome == "not applicable"])
    parts += _elsewhere(rows)
    return f"{cid} ({' / '.join(titles)}): " + "; ".join(parts) + "."


def _counts(rows: pd.DataFrame) -> str:
    """``1 of 50 checks hold, 41 within noise, 8 fail`` (zero counts after the first left
    out)."""
    n = rows["outcome"].value_counts()
    first = f"{int(n.get('holds', 0))} of {len(rows)} checks hold"
    rest = [f"{int(n[o])} {w}" for o, w in COUNT_WORDS[1:] if n.get(o, 0)]
    return ", ".join([first, *rest])


def _cells(rows: pd.DataFrame) -> str:
    """The checks' cells, by regime: ``mt10 vs random k (fine-tuned); fmnist-class vs
    random k, ... and 4 more (from scratch)``."""
    parts = []
    for regime, g in rows.groupby("regime", sort=True):
        names = list(g["task"])
        more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
        words = REGIME_WORDS.get(regime, regime)
        parts.append(f"{', '.join(names[:SHOWN])}{more} ({words})")
    return "; ".join(parts)


def _fails(rows: pd.DataFrame) -> list[str]:
    """``fails on every check from scratch (12) and on 5 of 17 fine-tuned checks`` (of the
    checks judged: holds, within noise or fails)."""
    judged = rows[rows.outcome.isin(("holds", "within noise", "fails"))]
    parts = []
    for regime, g in judged.groupby("regime", sort=True):
        failed = int((g.outcome == "fails").sum())
        one, several = CHECKS.get(regime, (f"{regime} check", f"{regime} checks"))
        if failed == len(g):
            parts.append(f"every {one} ({failed})")
        elif failed:
            parts.append(f"{failed} of {len(g)} {several}")
    return [f"fails on {' and on '.join(parts)}"] if parts else []


def _not_applicable(rows: pd.DataFrame) -> list[str]:
    """``not applicable on 31 (not near-linear ×29, from scratch ×2)``: each note's reason
    (its text before the first colon)."""
    if rows.empty:
        return []
    reasons = rows["note"].map(lambda s: s.split(":")[0].strip() or "no reason given")
    counts = ", ".join(f"{r} ×{n}" for r, n in reasons.value_counts().items())
    return [f"not applicable on {len(rows)} ({counts})"]


def _elsewhere(rows: pd.DataFrame) -> list[str]:
    """Where failing checks would hold (their ``where``): the cells named, the ones that hold
    nowhere measured and those without a curve counted."""
    where = rows[rows["where"] != ""]
    if where.empty:
        return []
    nowhere = where["where"].str.startswith("holds nowhere")
    absent = where["where"] == "no curve"
    named = where[~nowhere & ~absent]
    parts = [f"{t} {w}" for t, w in zip(named["task"][:SHOWN], named["where"][:SHOWN],
                                        strict=True)]
    if len(named) > SHOWN:
        parts.append(f"{len(named) - SHOWN} more")
    if nowhere.any():
        parts.append(f"{int(nowhere.sum())} hold nowhere measured")
    if absent.any():
        parts.append(f"{int(absent.sum())} have no label curve")
    return [f"of the checks that fail or are within noise: {', '.join(parts)}"]


def markdown(df: pd.DataFrame) -> str:
    """The verdict of every profile of a claims table, as Markdown."""
    parts = ["## Verdict (computed from claims.csv)"]
    for profile, g in df.groupby("profile", sort=True):
        parts += ["", f"### {escape(str(profile))}", ""]
        parts += [f"* {escape(s)}" for s in verdict(g)]
    return "\n".join(parts) + "\n"
