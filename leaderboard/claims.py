"""The paper claims table (ours / paper / tolerance / holds) as a leaderboard artefact.

``replicate`` computes the claims from ``results.csv`` only and writes them to ``claims.csv``
(rows of other profiles are kept); the Markdown and HTML pages end with them.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from benchmarks.fsio import atomic_write_text, locked

from .build import read_table

COLUMNS = ("claim", "task", "ours", "paper", "tolerance", "holds")


def write(table: pd.DataFrame, profile: str, path: Path) -> None:
    """Replace ``profile``'s rows of ``path`` with ``table`` (columns ``COLUMNS``)."""
    new = table.assign(profile=profile)
    with locked(path):
        if path.exists() and path.stat().st_size > 0:
            old = read_table(path, ["claim", "profile"])
            new = pd.concat([old[old.profile != profile], new], ignore_index=True)
        atomic_write_text(path, new.to_csv(index=False))


def read(path: Path) -> pd.DataFrame | None:
    """The claims next to a results file, or None."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    df = pd.read_csv(path)
    return None if df.empty else df


def _count(df: pd.DataFrame) -> str:
    holds = df["holds"].astype(str).str.lower().eq("true")
    return f"{int(holds.sum())} of {len(df)} checks hold"


def markdown(df: pd.DataFrame) -> str:
    """One Markdown table per profile."""
    parts = ["## Paper claims (computed from the rows above)"]
    for profile, g in df.groupby("profile", sort=True):
        parts += ["", f"### {profile}: {_count(g)}", "",
                  "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        parts += ["| " + " | ".join(str(r[c]).replace("|", "\\|") for c in COLUMNS) + " |"
                  for _, r in g.iterrows()]
    return "\n".join(parts)


def html_section(df: pd.DataFrame) -> str:
    """The same tables as an HTML ``<section>``."""
    esc = html.escape
    out = ["<section>\n<h2>Paper claims (computed from the rows above)</h2>"]
    for profile, g in df.groupby("profile", sort=True):
        head = "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
        body = "\n".join("<tr>" + "".join(f"<td>{esc(str(r[c]))}</td>" for c in COLUMNS)
                         + "</tr>" for _, r in g.iterrows())
        out.append(f"<h3>{esc(str(profile))}: {esc(_count(g))}</h3>\n<table>\n<thead><tr>"
                   f"{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>")
    return "\n".join(out) + "\n</section>"
