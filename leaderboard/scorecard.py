"""The README's two generated tables: the claims scorecard and the headline leaderboard.

``scorecard(claims)`` gives one row per claim id of one profile's claims table (``claims.csv``
columns): the claim, what the paper reports (its most frequent figures and their source), our
counts of outcomes, and one line in words computed from those counts. ``headline(results)``
gives the headline methods (``HEADLINE``) × one cell per benchmark family (``CELLS``), LDS with
its 95% CI; every method tied with the leader is bold (the page's rule, ``cells.best_set``).
``update_readme`` writes both between their markers, so nothing in them is typed by hand.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .cells import best_set, format_value
from .headline import key_stem
from .md import escape, replace_block
from .sections import Cell
from .verdict import claim_id

README = Path("README.md")  # of the working directory (the checkout), like LEADERBOARD_DIR
SCORE_BEGIN = "<!-- scorecard:begin (generated from leaderboard/claims.csv; do not edit) -->"
SCORE_END = "<!-- scorecard:end -->"
BOARD_BEGIN = "<!-- headline:begin (generated from leaderboard/results.csv; do not edit) -->"
BOARD_END = "<!-- headline:end -->"
# (method key before its hash, column label): the methods the paper compares, at the settings
# it names; variants and ablations stay on the page and in LEADERBOARD.md
HEADLINE = (  # a subset of the page's headline rows (headline.headline_keys, PINNED)
    ("kernel_sm", "KernelSM (CV)"), ("linear_surrogate[fit_type=ridge]", "Linear (ridge)"),
    ("linear_surrogate[fit_type=minnorm]", "Linear (authors' min-norm)"),
    ("influence", "IF (exact GGN)"), ("tracin", "TracIn"), ("trak", "TRAK (M=1)"),
    ("gradex", "GradEx"), ("loo", "LOO"))
# (task, column label): one cell per family, the fine-tuned one where the family has it (the
# regime the paper's estimator is about)
CELLS = (("modular-addition-ft", "modular (ft)"), ("fmnist-class-ft", "images (ft)"),
         ("mt10", "RL MT10 (ft)"), ("icl-coin-flip", "ICL coin-flip"),
         ("digits-mlp", "digits (sample)"))
OUTCOMES = ("holds", "within noise", "fails", "not applicable")


def _counts(rows: pd.DataFrame) -> dict[str, int]:
    """Checks per outcome (missing ones counted with not applicable's neighbours)."""
    n = rows["outcome"].value_counts()
    return {o: int(n.get(o, 0)) for o in (*OUTCOMES, "missing")}


def in_words(rows: pd.DataFrame) -> str:
    """One line computed from a claim's outcomes: does it replicate, and where."""
    n = _counts(rows)
    judged = n["holds"] + n["within noise"] + n["fails"]
    if not judged:
        return "not applicable here" if n["not applicable"] else "not measured"
    where = rows["where"].fillna("").astype(str)
    later = int((~where.isin(("", "no curve")) & ~where.str.startswith("holds nowhere")).sum())
    tail = f"; {later} failing checks would hold elsewhere on their curve" if later else ""
    if n["holds"] == 0:
        head = "does not replicate" if n["within noise"] == 0 else "not shown (within noise)"
        return head + tail
    cells = list(dict.fromkeys(rows.loc[rows.outcome == "holds", "task"]))
    shown = ", ".join(cells[:2]) + (f" and {len(cells) - 2} more" if len(cells) > 2 else "")
    return f"holds on {n['holds']} of {judged} judged checks ({shown})" + tail


def scorecard(claims: pd.DataFrame, profile: str = "quick") -> str:
    """The claims scorecard of ``profile`` as a Markdown table (empty claims: one line)."""
    rows = claims[claims.profile == profile] if len(claims) else claims
    if not len(rows):
        return f"No claims of the {profile} profile yet: run `replicate`."
    ids = rows["claim"].map(claim_id)
    out = ["| claim | the paper | ours: holds / within noise / fails / n.a. | in one line |",
           "|---|---|---|---|"]
    for cid in sorted(ids.unique(), key=lambda c: (len(c), c)):
        g = rows[ids == cid]
        titles = list(dict.fromkeys(str(c)[len(cid):].strip(" :") for c in g["claim"]))
        title = titles[0] + (f" (+{len(titles) - 1} more readings)" if len(titles) > 1 else "")
        paper = "; ".join(str(p) for p in g["paper"].value_counts().index[:2])
        source = ", ".join(sorted(set(g["source"].fillna("").astype(str)) - {""}))
        n = _counts(g)
        counts = " / ".join(str(n[o]) for o in OUTCOMES)
        out.append(f"| **{cid}** {escape(title)} | {escape(paper)} ({escape(source)}) | "
                   f"{counts} | {escape(in_words(g))} |")
    return "\n".join(out)


def _lds(results: pd.DataFrame, profile: str) -> pd.DataFrame:
    """The headline cells' LDS rows (Spearman, held-out subsets) of ``profile``."""
    r = results[(results.profile == profile) & (results.metric == "lds")
                & (results.variant == "spearman") & (results.split == "eval")]
    return r.assign(stem=r["method_key"].map(key_stem))


def headline(results: pd.DataFrame, profile: str = "quick") -> str:
    """Headline methods × one cell per family: LDS [95% CI], the set tied with the leader
    (``cells.best_set``, the page's rule) in bold."""
    lds = _lds(results, profile)
    stems = [stem for stem, _ in HEADLINE]
    table = {task: _cells(lds[(lds.task == task) & lds.stem.isin(stems)]) for task, _ in CELLS}
    best = {task: best_set(cells, high=True) for task, cells in table.items()}
    out = ["| method | " + " | ".join(label for _, label in CELLS) + " |",
           "|---|" + "---:|" * len(CELLS)]
    for stem, label in HEADLINE:
        shown = [_shown(table[task].get(stem), stem in best[task]) for task, _ in CELLS]
        out.append(f"| {escape(label)} | " + " | ".join(shown) + " |")
    return "\n".join(out)


def _cells(rows: pd.DataFrame) -> dict[str, Cell]:
    """``{method key stem: Cell}`` of one task's headline LDS rows (value and its CI)."""
    return {str(r["stem"]): Cell(format_value(r["value"], r["ci_low"], r["ci_high"]),
                                 value=float(r["value"]), low=float(r["ci_low"]),
                                 high=float(r["ci_high"]))
            for r in rows.to_dict("records")}


def _shown(cell: Cell | None, tied: bool) -> str:
    """``0.898 [0.89, 0.90]``, bold when tied with the leader; a dash where not run."""
    if cell is None:
        return "—"
    return f"**{cell.text}**" if tied else cell.text


def update_readme(claims: pd.DataFrame, results: pd.DataFrame, readme: Path | None = None,
                  profile: str = "quick") -> bool:
    """Rewrite the README's scorecard and headline blocks; True if either changed (a README
    without the markers is left alone)."""
    path = README if readme is None else readme
    a = replace_block(path, SCORE_BEGIN, SCORE_END, scorecard(claims, profile))
    b = replace_block(path, BOARD_BEGIN, BOARD_END, headline(results, profile))
    return a or b
