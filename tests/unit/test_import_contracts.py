"""The layering of docs/ARCHITECTURE.md, as import-linter contracts in ``pyproject.toml``: the real
import graph keeps them, and a wrong import injected into a copy of the tree breaks them (so
the contracts can fail)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("taskattr", "benchmarks", "methods", "leaderboard", "figures")
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
        "sys.exit(lint_imports_command())", "--no-cache"]


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(LINT, cwd=root, env=env, capture_output=True, text=True, timeout=600)


def test_the_tree_keeps_every_contract():
    out = _lint(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize("file, wrong", [
    ("benchmarks/common/fsio.py", "benchmarks.replicate"),  # a leaf importing the driver
    ("benchmarks/api/method.py", "methods.kernel_sm"),  # a contract importing a plug-in
    ("methods/grad_dot.py", "benchmarks.stages.selection"),  # a method importing a stage
    ("leaderboard/render.py", "benchmarks.groundtruth.store"),  # an output reading the cache
    ("benchmarks/training/engine.py", "benchmarks.groundtruth.fill"),  # training above gt
    ("benchmarks/api/context.py", "benchmarks.groundtruth.store"),  # a contract reaching gt
    ("benchmarks/api/task.py", "benchmarks.training.engine"),  # a contract reaching training
    ("benchmarks/runner.py", "taskattr.suite"),  # the suite importing its facade
], ids=["leaf-to-driver", "api-to-method", "method-to-stage", "output-to-store",
        "training-to-groundtruth", "api-to-groundtruth", "api-to-training", "suite-to-facade"])
def test_an_injected_wrong_import_breaks_a_contract(copy, file, wrong):
    path = copy / file
    original = path.read_text()
    path.write_text(original + f"\nimport {wrong}  # injected\n")
    try:
        out = _lint(copy)
    finally:
        path.write_text(original)
    assert out.returncode != 0 and "BROKEN" in out.stdout, out.stdout + out.stderr
    assert wrong in out.stdout
