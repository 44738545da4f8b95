"""The paper claims table (ours / paper / tolerance / margin / noise / outcome) as a
leaderboard artefact; this module owns its columns and outcomes.

``replicate`` computes the claims from ``results.csv`` only and writes them to ``claims.csv``
(rows of other profiles are kept); the Markdown page ends with them and the web page opens
with them (``page_claims``: a scorecard, then each claim's checks). An outcome is
``holds``, ``within noise``, ``fails``, ``not applicable`` (``note`` says why) or ``missing``
(``benchmarks/api/claims.py`` says how); ``verdict.py`` puts the table in words.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmarks.common.fsio import atomic_write_text, locked
from benchmarks.common.schema import CLAIM_COLUMNS
from benchmarks.common.tables import read_table, write_table

from . import verdict
from .md import escape

COLUMNS = CLAIM_COLUMNS
ADDED = {"source": "unverified", "where": "", "note": ""}  # columns older tables lack


def write(table: pd.DataFrame, profile: str, path: Path) -> None:
    """Replace ``profile``'s rows of ``path`` with ``table`` (columns ``COLUMNS``; those added
    since a table was made are filled in, see ``_upgraded``)."""
    new = _upgraded(table.assign(profile=profile))
    with locked(path):
        if path.exists() and path.stat().st_size > 0:
            old = _upgraded(read_table(path))
            new = pd.concat([old[old.profile != profile], new], ignore_index=True)
        write_table(path, new.reindex(columns=[*COLUMNS, "profile"]))


def read(path: Path) -> pd.DataFrame | None:
    """The claims next to a results file (read strictly), or None."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    df = _upgraded(read_table(path))
    return None if df.empty else df


def _upgraded(df: pd.DataFrame) -> pd.DataFrame:
    """A table written before outcomes (a ``holds`` column), regimes, sources, ``where`` or
    notes existed, in today's columns (an unknown regime is left blank, an unknown source
    ``unverified``)."""
    if "outcome" not in df.columns and "holds" in df.columns:
        held = df.pop("holds").astype(str).str.lower().eq("true")
        df = df.assign(margin=float("nan"), noise=float("nan"),
                       outcome=held.map({True: "holds", False: "fails"}))
    if "regime" not in df.columns:
        df = df.assign(regime="")
    df = df.assign(**{c: v for c, v in ADDED.items() if c not in df.columns})
    return df.drop(columns=[c for c in df.columns if c not in (*COLUMNS, "profile")])


def count_text(df: pd.DataFrame) -> str:
    """``5 hold, 2 within noise, 3 fail, 0 missing (of 10 checks)``, with ``, 4 not
    applicable`` after the missing count where some are."""
    n = df["outcome"].value_counts()
    words = {"holds": "hold", "within noise": "within noise", "fails": "fail",
             "missing": "missing"}
    parts = [f"{int(n.get(o, 0))} {w}" for o, w in words.items()]
    if n.get("not applicable", 0):
        parts.append(f"{int(n['not applicable'])} not applicable")
    return ", ".join(parts) + f" (of {len(df)} checks)"


def cell(row: pd.Series, column: str) -> str:
    """Display text of one cell: margins signed, an unmeasured noise as ``n/m``."""
    value = row[column]
    if column == "margin":
        return "—" if pd.isna(value) else f"{float(value):+.3g}"
    if column == "noise":
        return "n/m" if pd.isna(value) else f"{float(value):.2g}"
    return "" if pd.isna(value) else str(value)


LEGEND = ("margin: how far our number lies past the tolerance, in the compared quantity's unit "
          "(positive: the claim's side). noise: the larger of the rows' bootstrap CI half-width "
          "and the metric's measured machine-to-machine spread (bench.json reproducibility); "
          "n/m: not measured, the margin's sign decides. A check holds when margin > noise, "
          "fails when margin < -noise, and is within noise otherwise; missing: an input row is "
          "absent from the results; not applicable: the paper's statement does not cover this "
          "cell (note says why; the numbers are kept). source: where the paper's figure was "
          "read. where: for a check that fails or is within noise, where the same rule would "
          "hold (e.g. from how many fitting subsets on the label curve).")


def markdown(df: pd.DataFrame) -> str:
    """One Markdown table per profile."""
    parts = ["## Paper claims (computed from the rows above)", "", LEGEND]
    for profile, g in df.groupby("profile", sort=True):
        parts += ["", f"### {escape(str(profile))}: {count_text(g)}", ""]
        parts += [f"* {escape(line)}" for line in verdict.verdict(g)] + [""]
        parts += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        parts += ["| " + " | ".join(escape(cell(r, c)) for c in COLUMNS) + " |"
                  for _, r in g.iterrows()]
    return "\n".join(parts)


def show(table: pd.DataFrame) -> str:
    """The claims table as plain text for a terminal."""
    if table.empty:
        return "no claims to check"
    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        return table.to_string(index=False)


def write_verdict(claims_csv: Path, out: Path) -> Path | None:
    """Write the verdict in words of every profile of ``claims_csv`` (``verdict.py``) to
    ``out`` (``verdict.md``); None, writing nothing, where there are no claims."""
    df = read(claims_csv)
    if df is None:
        return None
    atomic_write_text(Path(out), verdict.markdown(df))
    return Path(out)
