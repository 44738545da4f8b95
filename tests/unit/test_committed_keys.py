"""A move of code must not move a content key: every base task the committed leaderboard
reports is rebuilt from its name and profile with the key its rows carry."""

from pathlib import Path

import pandas as pd
import pytest

from benchmarks.api.registry import TASKS
from benchmarks.api.task import make_task

RESULTS = Path(__file__).resolve().parents[2] / "leaderboard" / "results.csv"


def _base_cells() -> list[tuple[str, str, str]]:
    df = pd.read_csv(RESULTS, usecols=["task_family", "task_params", "profile", "task_key"])
    base = df[df.task_params.fillna("{}") == "{}"].drop_duplicates()
    return [tuple(r) for r in base[["task_family", "profile", "task_key"]].itertuples(index=False)
            if r.task_family in TASKS.names()]


@pytest.mark.parametrize(("family", "profile", "key"), _base_cells())
def test_the_committed_key_is_rebuilt(family: str, profile: str, key: str) -> None:
    assert make_task(family, profile).spec.key == key
