"""The wheel, installed away from the checkout: it holds the files read at run time (the page's
CSS/JS, the figures' manifest), the ``taskattr`` console script and the license, and renders
the leaderboard page from the committed CSVs into a folder of one's own.

The wheel is built from a copy of the sources (a build in the checkout would leave ``build/``,
whose stale files a later build would package). The venv is made from this interpreter with
``--system-site-packages``; as this interpreter is itself a venv, that exposes the base
Python's packages only, so a ``.pth`` file, written after the install (pip must not see the
checkout's editable install), appends this venv's site-packages for torch and the others.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
pytest.importorskip("setuptools", minversion="77")  # the build backend, used in place

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "taskattr", "benchmarks", "methods",
           "leaderboard", "figures")
BOARD = ("results.csv", "results.csv.manifest.json", "claims.csv", "claims.csv.manifest.json",
         "metrics.csv", "bench.json")
RUNTIME_DATA = ("leaderboard/page.css", "leaderboard/page.js", "figures/figures.json")


def _run(*cmd, cwd: Path, env: dict | None = None) -> str:
    out = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                         timeout=600, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    skip = shutil.ignore_patterns("__pycache__", "*.png", "*.csv", "*.lock", "*.manifest.json")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=skip)
        else:
            shutil.copy(path, src / name)
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", out,
         ".", cwd=src)
    (found,) = out.glob("taskattr-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed (``--no-deps``), seeing this venv's packages."""
    env_dir = tmp_path_factory.mktemp("venv")
    _run(sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", env_dir,
         cwd=env_dir)
    python = env_dir / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
         "--no-index", wheel, cwd=env_dir)
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                   cwd=env_dir).strip()
    Path(purelib, "zz_dev_site.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir


def test_the_wheel_holds_the_runtime_files_and_the_license(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for path in RUNTIME_DATA:
        assert path in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert any(n.startswith("taskattr/") for n in names)
    meta = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "taskattr = benchmarks.__main__:main" in zipfile.ZipFile(wheel).read(meta).decode()


def test_the_installed_package_renders_the_page_into_a_folder_of_ones_own(venv, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    python, script = venv / "bin" / "python", venv / "bin" / "taskattr"
    where = _run(python, "-c", "import benchmarks, taskattr; print(benchmarks.__file__); "
                 "print(taskattr.__version__)", cwd=tmp_path, env=env).split()
    assert Path(where[0]).is_relative_to(venv) and where[1] == "0.1.0"
    assert "leaderboard" in _run(script, "--help", cwd=tmp_path, env=env)
    _run(script, "leaderboard", "--help", cwd=tmp_path, env=env)
    board = tmp_path / "board"
    board.mkdir()
    for name in BOARD:
        shutil.copy(ROOT / "leaderboard" / name, board / name)
    # `taskattr leaderboard` also rewrites the checkout's README blocks, which a wheel lacks:
    # the page itself is rendered by the leaderboard's own entry point
    _run(python, "-m", "leaderboard.render", "--results", board / "results.csv", "--out",
         tmp_path / "site", cwd=tmp_path, env=env)
    page = (tmp_path / "site" / "index.html").read_text()
    css = (ROOT / "leaderboard" / "page.css").read_text().strip()
    assert css in page and "<style>" in page
    installed = Path(where[0]).parents[1] / "leaderboard"
    assert not list(installed.glob("*.html")) and not list(installed.glob("*.md"))
