"""The README's "Adding a method" snippet registers a working method (docs stay true)."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
CHECK = """
import numpy as np
from benchmarks.context import Context
from benchmarks.oracles.labels import LabelSet
from benchmarks.registry import METHODS
from benchmarks.method import make_method
rng = np.random.default_rng(0)
S = rng.random((4000, 6)) < 0.5
a = np.arange(6.0)[:, None]
F = S @ a + 1.0
m = make_method("mean_effect", {})
fitted = m.fit(Context(task=None, seed=0, fit=LabelSet(S, F, 4000.0)))
s = m.scores(fitted)[:, 0]
assert "mean_effect" in METHODS.names()
assert np.abs(s - a[:, 0]).max() < 0.5, s  # unbiased for additive F
print("ok")
"""


def _run_snippet(heading: str, check: str) -> None:
    """Run the first Python block under ``heading`` followed by ``check`` in a fresh process."""
    section = README.read_text().split(heading, 1)[1]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    proc = subprocess.run([sys.executable, "-c", snippet + check], capture_output=True,
                          text=True, cwd=README.parent)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok")


def test_readme_method_snippet_runs():
    _run_snippet("## Adding a method", CHECK)


METRIC_CHECK = """
import numpy as np
from benchmarks.evaluation import Evaluation
from benchmarks.registry import METRICS
F = np.arange(12.0).reshape(4, 3)
pred = F + np.array([[0.5], [-2.0], [0.0], [1.0]])
ev = Evaluation(np.ones((4, 2), bool), F, pred, np.zeros((2, 3)), None, "k")
(v,) = METRICS.get("max_abs_error")(ev)
assert METRICS.meta("max_abs_error")["definitions"]["max"]
assert v.variant == "max" and abs(v.value - 2.0) < 1e-12, v
print("ok")
"""


def test_readme_metric_snippet_runs():
    _run_snippet("## Adding a metric", METRIC_CHECK)
