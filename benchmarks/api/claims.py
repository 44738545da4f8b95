"""A paper claim checked against our results, judged beyond measured noise.

Every check states its ``margin``: how far our number lies on the claim's side of its tolerance,
in the unit of the compared quantity (positive: the claim's side). Its ``noise`` is the larger
of the bootstrap CI half-width of the rows it reads and the machine-to-machine spread of their
metric measured by ``nox -s reproducibility`` (``bench.json``, ``spread_native``: pinned vs
native math on one task). The outcome is ``holds`` when the margin exceeds the noise, ``fails``
when it is below minus the noise and ``within noise`` otherwise. Where neither a CI nor a
spread exists for the quantity (selection losses, Hessian traces) the noise is ``NaN``, shown
as not measured, and the margin's sign alone decides. A check whose inputs are absent from the
results (a margin of ``NaN``) is ``missing``: it is shown, never dropped. A check made where the
paper's statement does not apply (``not_applicable`` names why, e.g. a first-order claim about
pretrained models on a model trained from scratch) is ``not applicable``, its numbers kept.
So is every check of a cell whose models are at chance (``AT_CHANCE``: the results rows carry
it where the ground-truth diagnostics were joined, ``groundtruth.diagnostics.with_at_chance``),
noted ``NOT_MEANINGFUL``: there is nothing to attribute in a model that did not learn.

Each check also names the ``source`` of the paper's figure (``SOURCES``; ``unverified`` where
it was not checked against the paper) and, where a check fails or is within noise, ``where``
the same check would hold (e.g. from which number of fitting subsets on the label curve).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from benchmarks.common.fsio import CorruptFileError
from benchmarks.common.groups import aggregate, group_of
from benchmarks.common.schema import CLAIM_COLUMNS as COLUMNS


@dataclass(frozen=True)
class ClaimRow:
    """One check of one claim on one task (see the module docstring for the outcome rule)."""

    claim: str
    task: str
    ours: str
    paper: str
    tolerance: str
    margin: float
    noise: float = math.nan
    regime: str = ""  # of the rows the check read (``results.csv``'s regime column)
    source: str = "unverified"  # where the paper's figure was read (one of ``SOURCES``)
    not_applicable: str = ""  # why the paper's statement does not apply here (empty: it does)
    where: str = ""  # where a failing check would hold (e.g. from n subsets on a label curve)

    @property
    def outcome(self) -> str:
        if self.not_applicable:
            return "not applicable"  # judged nowhere, numbers kept in ``ours``
        if self.margin != self.margin:
            return "missing"  # an input row is absent: the check is shown, never dropped
        noise = 0.0 if self.noise != self.noise else self.noise
        return "holds" if self.margin > noise else "fails" if self.margin < -noise \
            else "within noise"

    def as_dict(self) -> dict:
        """A row of ``claims.csv`` (columns ``schema.CLAIM_COLUMNS``)."""
        out = {"claim": self.claim, "task": self.task, "regime": self.regime,
               "ours": self.ours, "paper": self.paper, "source": self.source,
               "tolerance": self.tolerance, "margin": _round(self.margin),
               "noise": _round(self.noise), "outcome": self.outcome,
               "where": self.where, "note": self.not_applicable}
        return {c: out[c] for c in COLUMNS}


AT_CHANCE = "at_chance"  # results column: the row's cell has its models at chance
NOT_MEANINGFUL = "not meaningful: models at chance"


def any_at_chance(rows: pd.DataFrame) -> bool:
    """Whether any of these results rows belongs to a cell whose models are at chance (False
    where the rows carry no ``AT_CHANCE`` column: the diagnostics were not joined)."""
    return AT_CHANCE in rows.columns and bool(rows[AT_CHANCE].fillna(False).astype(bool).any())


def not_meaningful(checks: list[ClaimRow], rows: pd.DataFrame | bool) -> list[ClaimRow]:
    """``checks`` made on ``rows``, each ``not applicable`` (``NOT_MEANINGFUL``, any earlier
    reason kept after it) where a cell of ``rows`` has its models at chance (or where ``rows``
    is True: the caller decided)."""
    if not (rows if isinstance(rows, bool) else any_at_chance(rows)):
        return checks
    return [replace(c, not_applicable=NOT_MEANINGFUL + (f"; {c.not_applicable}"
                                                        if c.not_applicable else ""))
            for c in checks]


SOURCES = ("paper table", "paper text", "third-party summary", "authors' released code",
           "unverified")


def _round(x: float) -> float:
    return float(f"{x:.4g}") if x == x else math.nan


@dataclass(frozen=True)
class Noise:
    """Noise of a result row: max(its CI half-width, the measured spread of its metric)."""

    spread: dict[str, float] = field(default_factory=dict)  # "metric/variant" -> spread

    @classmethod
    def measured(cls, bench_json: Path) -> Noise:
        """The spreads of ``bench.json``'s ``reproducibility`` entry (none if the file is
        absent; a file that cannot be read as one is refused, naming it)."""
        path = Path(bench_json)
        if not path.exists():
            return cls()
        try:
            entry = json.loads(path.read_text()).get("reproducibility", {})
            spread: dict[str, float] = {}
            for key, value in entry.get("spread_native", {}).items():
                metric, variant = key.split(" ", 1)[1].split("/")[:2]  # "method metric/variant"
                name = f"{metric}/{variant}"
                spread[name] = max(spread.get(name, 0.0), float(value))
        except (OSError, ValueError, AttributeError, TypeError, IndexError) as err:
            raise CorruptFileError(f"{path}: cannot be read as the benchmark record "
                                   f"({err.__class__.__name__}); restore it from git or "
                                   f"regenerate it with `nox -s reproducibility`") from None
        return cls(spread)

    def of(self, *rows: pd.Series | None) -> float:
        """Largest noise over ``rows`` (NaN when none of them has a CI or a measured spread)."""
        return largest(*(x for row in rows if row is not None for x in (
            (float(row["ci_high"]) - float(row["ci_low"])) / 2,
            self.spread.get(f"{row['metric']}/{row['variant']}", math.nan))))


def largest(*xs: float) -> float:
    """The largest of the known (non-NaN) values, NaN if none is known."""
    known = [x for x in xs if x == x]
    return max(known) if known else math.nan


def ratio_noise(ratio: float, a: float, a_noise: float, b: float, b_noise: float) -> float:
    """First-order noise of ``ratio = a / b`` from the noises of ``a`` and ``b``."""
    if not (a and b) or a_noise != a_noise or b_noise != b_noise:
        return math.nan
    return abs(ratio) * (a_noise / abs(a) + b_noise / abs(b))


def row_of(df: pd.DataFrame, metric: str, variant: str, method_key: str | None = None
           ) -> pd.Series | None:
    """The first row of ``df`` with that metric and variant (and method key), or None."""
    sel = df[(df.metric == metric) & (df.variant == variant)]
    if method_key is not None:
        sel = sel[sel.method_key == method_key]
    return sel.iloc[0] if len(sel) else None


def value_of(row: pd.Series | None) -> float:
    return float(row["value"]) if row is not None else math.nan


def ran(df: pd.DataFrame, method_key: str) -> bool:
    """Whether ``df`` holds any row of the method (it is part of the cell)."""
    return bool((df.method_key == method_key).any())


def num(x: float, spec: str = ".3f") -> str:
    """``x`` formatted, or ``missing``."""
    return format(x, spec) if x == x else "missing"


def regime_of(member: pd.Series) -> str:
    """The regime of the results row ``member`` (blank where the table has no regime
    column)."""
    regime = member.get("regime", "")
    return str(regime) if regime == regime else ""


def in_regime(rows: list[ClaimRow], member: pd.Series) -> list[ClaimRow]:
    """``rows`` labelled with the regime of the results row ``member``."""
    return [replace(r, regime=regime_of(member)) for r in rows]


def claim_units(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame, pd.Series]]:
    """``(name, rows, a member row)`` per claim unit: each task, and each task group (an
    import's re-splits) once, by its mean rows over the splits."""
    grouped = df["task_params"].map(group_of).notna()
    out = [(task, g, g.iloc[0]) for task, g in df[~grouped].groupby("task", sort=True)]
    members = df[grouped]
    agg = aggregate(members)
    for group, g in (agg.groupby("group", sort=True) if not agg.empty else []):
        first = members[members.task_params.map(group_of) == group].iloc[0]
        out.append((f"{group} (mean of {int(g.n_splits.max())} splits)", g, first))
    return out
