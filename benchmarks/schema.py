"""The results table's schema, owned here: every stage writes rows with these columns, the
leaderboard and the figures read them. A leaf module (no imports), so any layer may use it."""

from __future__ import annotations

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


def regime(family: str) -> str:
    """``fine-tuned`` for a family's fine-tuning variant (or a fine-tuned-only family), else
    ``scratch``."""
    fine = family.endswith(FINETUNED_SUFFIX) or family in FINETUNED_ONLY
    return "fine-tuned" if fine else "scratch"
