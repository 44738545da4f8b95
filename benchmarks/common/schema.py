"""The suite's table schemas, owned here: every stage writes results rows with these columns,
the leaderboard and the figures read them; each table the suite writes beside ``results.csv``
that several modules read is declared here with its key (one row per key) and its numeric
columns (``benchmarks.common.tables`` checks both on every read). A leaf module (no suite
imports), so any layer may use it."""

from __future__ import annotations

from dataclasses import dataclass

PROFILES = ("tiny", "quick", "paper")  # also their display order

RESULT_COLUMNS = (
    "task", "task_key", "task_family", "task_params", "method", "method_key", "method_label",
    "labels", "metric", "variant", "split", "value", "ci_low", "ci_high", "n_targets",
    "n_dropped", "higher_is_better", "profile", "cost_s", "n_labels", "git_sha", "bits",
    "created",
)
ROW_KEY = ["task_key", "method_key", "metric", "variant", "split", "profile"]  # one row per key
GROUP_KEY = ["task_key", "profile"]  # a run replaces every row of the groups it produced
PRED_KEY = ["task_key", "method_key"]
FINETUNED_SUFFIX = "-ft"  # a family's fine-tuning variant is named <family>-ft
FINETUNED_ONLY = ("mt10", "mt10-sac")  # families that exist only fine-tuned from W0 (no suffix)


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
TIMINGS = TableSpec(("task", "stage", "profile"), ("wall_s", "cpu_s", "models", "gflop"))
METRIC_DEFINITIONS = TableSpec(("metric", "variant"))


def regime(family: str) -> str:
    """``fine-tuned`` for a family's fine-tuning variant (or a fine-tuned-only family), else
    ``scratch``."""
    fine = family.endswith(FINETUNED_SUFFIX) or family in FINETUNED_ONLY
    return "fine-tuned" if fine else "scratch"
