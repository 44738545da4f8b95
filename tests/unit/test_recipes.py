"""The recipes of ``docs/extending/`` (a method, a metric, a task, a stage and a paper) run as
written."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "docs" / "extending"
CHECK = """
import numpy as np
from benchmarks.api.context import Context
from benchmarks.api.context import LabelSet
from benchmarks.api.registry import METHODS
from benchmarks.api.method import make_method
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


def _snippet(name: str) -> str:
    """The first Python block of the recipe ``docs/extending/<name>.md``."""
    section = (RECIPES / f"{name}.md").read_text()
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def _run_snippet(name: str, check: str, env: dict | None = None, prefix: str = "") -> None:
    """Run the first Python block of recipe ``name`` (after ``prefix``) followed by ``check`` in
    a fresh process."""
    code = prefix + "\n" + _snippet(name) + check
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok")


def test_readme_method_snippet_runs():
    _run_snippet("method", CHECK)


METRIC_CHECK = """
import numpy as np
from benchmarks.api.evaluation import Evaluation
from benchmarks.api.registry import METRICS
F = np.arange(12.0).reshape(4, 3)
pred = F + np.array([[0.5], [-2.0], [0.0], [1.0]])
ev = Evaluation(np.ones((4, 2), bool), F, pred, np.zeros((2, 3)), None, "k")
(v,) = METRICS.get("max_abs_error")(ev)
assert METRICS.meta("max_abs_error")["definitions"]["max"]
assert v.variant == "max" and abs(v.value - 2.0) < 1e-12, v
print("ok")
"""


def test_readme_metric_snippet_runs():
    _run_snippet("metric", METRIC_CHECK)


TASK_CHECK = """
from benchmarks.groundtruth.fill import open_store, run_ground_truth
from benchmarks.api.method import make_method
from benchmarks.runner import run_cell
from benchmarks.api.task import make_task
task = make_task("additive-toy", "tiny")
store = open_store(task)
run_ground_truth(task, store, progress=False)
record = run_cell(task, store, make_method("linear_surrogate", {}))
rows = {(r["metric"], r["variant"]): r["value"] for r in record["rows"]}
assert rows["residual", "ne"] < 1e-20, rows  # an additive F is recovered exactly
assert rows["loo_corr", "pearson"] > 1 - 1e-9, rows
print("ok")
"""


def test_readme_task_snippet_runs(tmp_path):
    _run_snippet("task", TASK_CHECK, {"TASKATTR_CACHE": str(tmp_path)})


PAPER_CHECK = """
import pandas as pd
from benchmarks.api.registry import PAPERS, STAGES
from benchmarks.replicate import replicate
assert "toy_paper" in PAPERS.names() and "score_norms" in STAGES.names()
claims = replicate("tiny", None, out_dir=OUT, figures=False, papers=["toy_paper"])
assert list(claims.claim) == ["KernelSM LDS > linear"], claims
assert claims.outcome.iloc[0] in ("holds", "within noise", "fails"), claims
norms = pd.read_csv(OUT / "score_norms.csv")
assert len(norms) == 2 and (norms.norm > 0).all(), norms
print("ok")
"""


def test_readme_stage_and_paper_snippets_run(tmp_path):
    stage = _snippet("stage")
    check = f"\nfrom pathlib import Path\nOUT = Path({str(tmp_path / 'out')!r})\n" + PAPER_CHECK
    _run_snippet("paper", check, {"TASKATTR_CACHE": str(tmp_path)}, prefix=stage)


def test_recipes_import_only_the_api_and_common():
    """A plug-in author needs ``benchmarks.api`` and ``benchmarks.common``, nothing else."""
    for name in ("method", "metric", "task", "stage", "paper"):
        mods = re.findall(r"^(?:from|import) (benchmarks[\w.]*)", _snippet(name), re.M)
        assert mods and all(m.startswith(("benchmarks.api.", "benchmarks.common."))
                            for m in mods), (name, mods)
