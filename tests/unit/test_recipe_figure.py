"""The figure recipe (``docs/extending/figure.md``) runs as written: its file, drawn by
``figures.render_all`` from a small results table written by the suite's table writer, gives a
PNG, and it imports only what a figure may (figures read files: ``benchmarks.common`` of the
suite, nothing above it)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

from benchmarks.common.schema import ROW_KEY, ResultRow
from benchmarks.common.tables import write_table

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "docs" / "extending" / "figure.md"
ALLOWED = ("__future__", "benchmarks.common", "numpy", "pandas", "matplotlib")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# the figure file, loaded from its path and drawn alone through the figures contract
DRAW = """
import importlib.util, json, sys
from pathlib import Path
import figures
from benchmarks.common.schema import RESULTS
from benchmarks.common.tables import read_table
spec = importlib.util.spec_from_file_location("fig_readme", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
figures.MODULES.clear()
figures.MODULES[module.SLUG] = module
paths = figures.render_all(Path(sys.argv[2]), None, Path(sys.argv[3]))
shown = module.select(read_table(Path(sys.argv[2]), RESULTS))
print(json.dumps({"pngs": [str(p) for p in paths], "keys": sorted(set(shown.method_key))}))
"""


def _snippet() -> str:
    """The first Python block of the figure recipe."""
    section = RECIPE.read_text()
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def _row(task: str, method: str, key: str, label: str, value: float) -> dict:
    """One LDS row of the results schema."""
    return ResultRow(task, f"{task}-0123456789ab", task, "{}", "scratch", method, key, label,
                     "retrain", "lds", "spearman", "eval", value, math.nan, math.nan, 4, 0, True,
                     "tiny", 0.1, 8, "abcdef1234", "", "2025-01-02T03:04:05").as_dict()


def _results(path: Path) -> None:
    """Two tasks, the two methods at their defaults, and rows the recipe must leave out: a
    method with a non-default field that carries a default's label, and another method."""
    rows = []
    for i, task in enumerate(("toy-a", "toy-b")):
        rows += [_row(task, "kernel_sm", "kernel_sm-0123abcd", "KernelSM (CV)", 0.6 + 0.1 * i),
                 _row(task, "linear_surrogate", "linear_surrogate-4567cdef", "Linear", 0.4),
                 _row(task, "kernel_sm", "kernel_sm[gamma=auto]-89ab0123", "KernelSM (CV)", 0.9),
                 _row(task, "trak", "trak-cdef4567", "TRAK", 0.2)]
    write_table(path, pd.DataFrame(rows), ROW_KEY)


def test_the_figure_recipe_imports_only_what_a_figure_may() -> None:
    names = [a or b for a, b in re.findall(r"^\s*(?:from\s+(\S+)\s+import|import\s+(\S+))",
                                            _snippet(), re.M)]
    assert names, "the figure recipe imports nothing?"
    bad = [n for n in names if not any(n == p or n.startswith(p + ".") for p in ALLOWED)]
    assert not bad, f"the figure recipe imports {bad}; a figure may import only {ALLOWED}"


def test_the_figure_recipe_draws_a_png_from_a_results_table(tmp_path: Path) -> None:
    figure, results, out = tmp_path / "fig_readme.py", tmp_path / "results.csv", tmp_path / "out"
    figure.write_text(_snippet())
    _results(results)
    proc = subprocess.run([sys.executable, "-c", DRAW, str(figure), str(results), str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    (png,) = map(Path, report["pngs"])
    assert png.parent == out and png.read_bytes().startswith(PNG_MAGIC)
    assert report["keys"] == ["kernel_sm-0123abcd", "linear_surrogate-4567cdef"]
    caption = json.loads((out / "figures.json").read_text())[png.name]["title"]
    assert caption == _snippet().split('"""')[1].splitlines()[0]
