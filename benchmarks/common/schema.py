"""The suite's table schemas, owned here: every stage writes results rows with these columns,
the leaderboard and the figures read them; each table the suite writes beside ``results.csv``
that several modules read is declared here with its key (one row per key) and its numeric
columns (``benchmarks.common.tables`` checks both on every read). A leaf module (no suite
imports), so any layer may use it."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

PROFILES = ("tiny", "quick", "paper")  # also their display order

REGIMES = ("scratch", "fine-tuned")  # trained from scratch, or fine-tuned from a shared W0


@dataclass(frozen=True)
class ResultRow:
    """One row of ``results.csv``: every writer (the runner, every stage) builds this, so the
    columns have one owner. ``regime`` is written from the task's spec, never recovered from
    a name."""

    task: str
    task_key: str
    task_family: str
    task_params: str
    regime: str
    method: str
    method_key: str
    method_label: str
    labels: str
    metric: str
    variant: str
    split: str
    value: float
    ci_low: float
    ci_high: float
    n_targets: int
    n_dropped: int
    higher_is_better: bool
    profile: str
    cost_s: float
    n_labels: int
    git_sha: str
    bits: str
    created: str

    def __post_init__(self) -> None:
        if self.regime not in REGIMES:
            raise ValueError(f"regime {self.regime!r} is not one of {REGIMES}")

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


RESULT_COLUMNS = tuple(f.name for f in dataclasses.fields(ResultRow))
CLAIM_COLUMNS = ("claim", "task", "regime", "ours", "paper", "source", "tolerance", "margin",
                 "noise", "outcome", "where", "note")  # claims.csv (plus profile), display order
ROW_KEY = ["task_key", "method_key", "metric", "variant", "split", "profile"]  # one row per key
GROUP_KEY = ["task_key", "profile"]  # a run replaces every row of the groups it produced
PRED_KEY = ["task_key", "method_key"]
FINETUNED_SUFFIX = "-ft"  # a family's fine-tuning variant is named <family>-ft
_METHOD_KEY = re.compile(r"(?P<name>[^\[]+?)(?:\[(?P<inner>.*)\])?-[0-9a-f]{8}")
_KEY_FIELD = re.compile(r"([\w.]+)=(.*?)(?=,[\w.]+=|$)")


def parse_method_key(method_key: str) -> tuple[str, dict[str, str]]:
    """``name[k=v,...]-hash8`` -> ``(name, {k: v})``: the registered name and the non-default
    fields (as text, nested ones dotted) a results row's ``method_key`` names; a key of
    another form (a baseline's, e.g. ``random-k``) is its own name with no fields."""
    match = _METHOD_KEY.fullmatch(str(method_key))
    if match is None:
        return str(method_key), {}
    return match["name"], dict(_KEY_FIELD.findall(match["inner"] or ""))


@dataclass(frozen=True)
class TableSpec:
    """A table the suite writes: the columns that name a row (one row per key, never empty)
    and those that must hold numbers (or be empty)."""

    key: tuple[str, ...]
    numeric: tuple[str, ...] = ()


RESULTS = TableSpec(tuple(ROW_KEY), ("value", "ci_low", "ci_high", "n_targets", "n_dropped",
                                     "cost_s", "n_labels"))
PREDICTIONS = TableSpec((*PRED_KEY, "subset", "target"), ("subset", "target", "predicted",
                                                          "true"))
# ``cache``: "cold" where the run trained the task's ground truth, "warm" where it was cached,
# so a warm rerun is kept beside the cold measurement instead of replacing it
TIMINGS = TableSpec(("task", "stage", "profile", "cache"), ("wall_s", "cpu_s", "models", "gflop"))
METRIC_DEFINITIONS = TableSpec(("metric", "variant"), ("order",))


@dataclass(frozen=True)
class BoardColumn:
    """A leaderboard column of one (metric, variant), declared where the rows are made
    (``register_metric(..., columns={variant: BoardColumn(...)})``) and written to
    ``metrics.csv`` (``BOARD_FIELDS``) for the pages: its ``title``, its place (``order``,
    lowest first; the first column sorts a table), whether its cells show the 95% CI and
    whether the page's overview (best method per metric) shows it."""

    title: str
    order: int = 1000
    ci: bool = False
    overview: bool = False


BOARD_FIELDS = tuple(f.name for f in dataclasses.fields(BoardColumn))  # metrics.csv columns
