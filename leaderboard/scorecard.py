"""The README's two generated tables: the claims scorecard and the headline leaderboard.

``scorecard(claims)`` gives one row per claim id of one profile's claims table (``claims.csv``
columns): the claim, what the paper reports (its most frequent figures and their source), our
counts of outcomes, and one line in words computed from those counts. ``headline(results)``
gives the headline methods (``HEADLINE``) × one cell per benchmark family (``CELLS``), LDS with
its 95% CI; every method whose CI reaches the leader's is bold (a tie, not a single winner).
``update_readme`` writes both between their markers, so nothing in them is typed by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .md import escape, replace_block
from .verdict import claim_id

README = Path("README.md")  # of the working directory (the checkout), like LEADERBOARD_DIR
SCORE_BEGIN = "<!-- scorecard:begin (generated from leaderboard/claims.csv; do not edit) -->"
SCORE_END = "<!-- scorecard:end -->"
BOARD_BEGIN = "<!-- headline:begin (generated from leaderboard/results.csv; do not edit) -->"
BOARD_END = "<!-- headline:end -->"
# (method key before its hash, column label): the methods the paper compares, at the settings
# it names; variants and ablations stay on the page and in LEADERBOARD.md
HEADLINE = (("kernel_sm", "KernelSM (CV)"), ("linear_surrogate[fit_type=ridge]", "Linear (ridge)"),
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


def _key_stem(key: str) -> str:
    """``linear_surrogate[fit_type=ridge]`` of ``linear_surrogate[fit_type=ridge]-dca35369``."""
    return re.sub(r"-[0-9a-f]{8}$", "", str(key))


def _lds(results: pd.DataFrame, profile: str) -> pd.DataFrame:
    """The headline cells' LDS rows (Spearman, held-out subsets) of ``profile``."""
    r = results[(results.profile == profile) & (results.metric == "lds")
                & (results.variant == "spearman") & (results.split == "eval")]
    return r.assign(stem=r["method_key"].map(_key_stem))


def headline(results: pd.DataFrame, profile: str = "quick") -> str:
    """Headline methods × one cell per family: LDS [95% CI], ties with the leader in bold."""
    lds = _lds(results, profile)
    head = "| method | " + " | ".join(label for _, label in CELLS) + " |"
    out = [head, "|---|" + "---:|" * len(CELLS)]
    best = {task: _tied(lds[lds.task == task]) for task, _ in CELLS}
    for stem, label in HEADLINE:
        cells = []
        for task, _ in CELLS:
            row = lds[(lds.task == task) & (lds.stem == stem)]
            cells.append(_cell(row, stem in best[task]))
        out.append(f"| {escape(label)} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _tied(rows: pd.DataFrame) -> set[str]:
    """Headline methods whose CI upper end reaches the leader's CI lower end."""
    rows = rows[rows.stem.isin([s for s, _ in HEADLINE])]
    if rows.empty:
        return set()
    leader = rows.loc[rows["value"].idxmax()]
    return set(rows.loc[rows["ci_high"] >= leader["ci_low"], "stem"])


def _cell(row: pd.DataFrame, tied: bool) -> str:
    """``0.898 [0.89, 0.90]``, bold when tied with the leader; a dash where not run."""
    if row.empty:
        return "—"
    r = row.iloc[0]
    text = f"{r['value']:.3f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
    return f"**{text}**" if tied else text


def update_readme(claims: pd.DataFrame, results: pd.DataFrame, readme: Path | None = None,
                  profile: str = "quick") -> bool:
    """Rewrite the README's scorecard and headline blocks; True if either changed (a README
    without the markers is left alone)."""
    path = README if readme is None else readme
    a = replace_block(path, SCORE_BEGIN, SCORE_END, scorecard(claims, profile))
    b = replace_block(path, BOARD_BEGIN, BOARD_END, headline(results, profile))
    return a or b
