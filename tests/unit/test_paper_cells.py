"""The paper module's cells: every method row of a cell has its own key and its own label."""

import pytest

from benchmarks.method import make_method
from benchmarks.papers import kernelsm


@pytest.mark.parametrize("profile", ["tiny", "quick"])
def test_method_rows_have_distinct_keys_and_labels(profile):
    for task, overrides in kernelsm.cells(profile):
        methods = [make_method(n, p) for n, p in kernelsm.methods_for(task, overrides)]
        labels = [m.display for m in methods]
        assert len(set(labels)) == len(labels), (task, overrides, labels)
        assert len({m.key for m in methods}) == len(methods)
